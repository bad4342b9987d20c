// SPDX-License-Identifier: MIT
/*
 * The calling thread's id, for every hook, without a gettid() each time
 * (a syscall costs more than a whole probe should) and without TLS.
 *
 * Key: the thread's %fs base, read with RDFSBASE (when the kernel enables
 * FSGSBASE for user space: AT_HWCAP2 bit 1, Linux 5.9+). Every glibc and
 * musl thread has its own, but a thread's TCB, and so its %fs, is reused
 * for later threads. Hence the check: the word the kernel clears when the
 * thread exits (its clear_child_tid, PR_GET_TID_ADDRESS) is glibc's
 * struct pthread.tid, which holds the TID while the thread lives and is
 * rewritten for the next thread that gets the same TCB. An entry is used
 * only while that word still holds the TID it recorded; it lies in the
 * TCB at our own %fs, so it is mapped. Where the word does not hold the
 * TID (musl keeps other state there), or %fs is 0 (a static program
 * before its TLS is set up), or there is no RDFSBASE, it is gettid().
 *
 * Slots are a hash table with a sequence word each: a writer takes an even
 * sequence to odd with a compare-and-swap (so two threads never write one
 * slot at once), readers retry nothing: a slot that is odd or changed
 * under them is a miss.
 *
 * A slot holds the process id too (bpf_get_current_pid_tgid's upper half:
 * getpid() costs 100-200 ns here, a whole probe ~20): it is the pid of
 * the thread the slot was filled for, right as long as the TID is. A fork
 * child empties the table (agent_tid_forked), so a child of a raw fork,
 * whose TCB still holds the parent's TID, is not taken for its parent. A
 * vfork child shares our memory and its parent's TCB, where the cache
 * would name the parent: while a vfork is in flight (counted by the stubs
 * of the C library's vfork, clone and clone3 sites, agent-forkwatch.c: the
 * parent's enter hook before the syscall, its exit hook once the child
 * exec'd or exited), every thread asks the kernel. A vfork made where no
 * site is watched (a raw syscall outside those functions) is not counted:
 * there a hit names the parent, so syscall hits take the exact pid
 * (agent-run.h), and those of execve and exit the exact TID (agent-sc.c).
 */
#include <stdbool.h>
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

#define SLOTS              512
#define AT_HWCAP2          26
#define HWCAP2_FSGSBASE    (1u << 1)
#define PR_GET_TID_ADDRESS 40

struct slot {
	uint32_t seq;
	uint32_t tid;
	uint64_t fs;
	uint32_t *word;
	uint32_t pid;
};

static struct slot slots[SLOTS];
static int usable;             /* 1: RDFSBASE works here */
static uint32_t vfork_flights; /* vforks in flight (agent_tid_vfork) */

void agent_tid_init(void)
{
	usable = (agent_auxv(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
}

static uint64_t fs_base(void)
{
	uint64_t fs;

	__asm__ volatile("rdfsbase %0" : "=r"(fs));
	return fs;
}

static struct slot *slot_of(uint64_t fs)
{
	return &slots[(fs >> 12 ^ fs >> 21) % SLOTS];
}

/* The miss path, out of line: the hit path stays a leaf with no saved
 * registers (it runs on every hook). @return the TID, *@pid the pid. */
static __attribute__((noinline, cold)) uint32_t remember(uint64_t fs, uint32_t *pid)
{
	uint32_t tid = (uint32_t)agent_sys_gettid(), *word = NULL, seq;
	struct slot *s = slot_of(fs);

	*pid = (uint32_t)agent_getpid();
	if (agent_sys6(__NR_prctl, PR_GET_TID_ADDRESS, (long)&word, 0, 0, 0, 0) || !word ||
	    __atomic_load_n(word, __ATOMIC_RELAXED) != tid)
		return tid; /* not glibc's layout: no cache for this thread */
	seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	if ((seq & 1) || !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
						      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return tid;
	__atomic_store_n(&s->fs, fs, __ATOMIC_RELAXED);
	__atomic_store_n(&s->word, word, __ATOMIC_RELAXED);
	__atomic_store_n(&s->tid, tid, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pid, *pid, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
	return tid;
}

static __attribute__((noinline, cold)) uint32_t ids_syscall(uint32_t *pid)
{
	*pid = (uint32_t)agent_getpid();
	return (uint32_t)agent_sys_gettid();
}

/* The TID, and in *@pid the pid, from the thread's slot when it holds. */
static inline uint32_t ids(uint32_t *pid)
{
	uint64_t fs;
	struct slot *s;
	uint32_t seq, tid, *word;

	if (__builtin_expect(!usable, 0) ||
	    __builtin_expect(__atomic_load_n(&vfork_flights, __ATOMIC_RELAXED) != 0, 0) ||
	    __builtin_expect(!(fs = fs_base()), 0))
		return ids_syscall(pid);
	s = slot_of(fs);
	seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (__builtin_expect(!(seq & 1) && __atomic_load_n(&s->fs, __ATOMIC_RELAXED) == fs, 1)) {
		tid = __atomic_load_n(&s->tid, __ATOMIC_RELAXED);
		word = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
		*pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__builtin_expect(__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq &&
					 __atomic_load_n(word, __ATOMIC_RELAXED) == tid,
				     1))
			return tid;
	}
	return remember(fs, pid);
}

uint32_t agent_tid(void)
{
	uint32_t pid;

	return ids(&pid);
}

uint32_t agent_pid(void)
{
	uint32_t pid;

	ids(&pid);
	return pid;
}

void agent_tid_vfork(int delta)
{
	uint32_t n = __atomic_load_n(&vfork_flights, __ATOMIC_RELAXED);

	/* never below 0: an exit hook whose enter ran before the watch began */
	do {
		if (delta < 0 && !n)
			return;
	} while (!__atomic_compare_exchange_n(&vfork_flights, &n, n + (uint32_t)delta, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void agent_tid_forked(void)
{
	/* none of our vforks is in flight in a fork child */
	__atomic_store_n(&vfork_flights, 0, __ATOMIC_RELAXED);
	/* one thread here, ours: nobody reads the table meanwhile */
	for (int i = 0; i < SLOTS; i++) {
		slots[i].seq = 0;
		slots[i].fs = 0;
	}
}
