// SPDX-License-Identifier: MIT
/*
 * Parking the target's running threads while a site is patched.
 *
 * The jmp that replaces a site's first instructions is 5 bytes; when the
 * first instruction is shorter, there are instruction boundaries inside
 * those bytes. A thread preempted at one of them (a hot loop calling a
 * small function is preempted there often) would, once the jmp is
 * written, resume in the middle of the jmp's rel32 and run garbage. The
 * kernel's uprobes write a one-byte int3 and never meet this.
 *
 * So before writing, every other thread that is running or runnable is
 * sent a signal whose handler records where the thread was and waits
 * until we are done. If one of them sits strictly inside the bytes about
 * to be replaced, we let them all go and try again a moment later (it
 * will have moved on); otherwise the jmp is written while they wait.
 * Threads asleep in a system call are not signalled (a signal would end
 * some sleeps with EINTR): they are in the kernel, and their user ip is
 * after a syscall instruction, which no patch covers (the uprobe planner
 * refuses one under its jmp, and syscall windows keep theirs). Threads
 * that are blocked but not in a system call (a page fault waiting for
 * I/O, a ptrace stop) are not signalled either (the signal would wait for
 * them): /proc/self/task/<tid>/syscall gives their user ip ("-1 sp pc"),
 * which is checked as a parked thread's.
 *
 * The signal is one whose default action is to ignore it (SIGURG, else
 * SIGWINCH) and that the target has not taken (its disposition is SIG_DFL
 * or SIG_IGN); it is restored afterwards, so a delivery that comes late
 * (a thread that had it blocked) is ignored as before. When the target
 * took both (Go's runtime takes every signal, SIGURG for its preemption;
 * terminal programs take SIGWINCH), SIGURG is borrowed: our handler is
 * installed with the target's SA_ONSTACK and SA_RESTART, tells ours from
 * the target's by their siginfo (SI_QUEUE from this process with a magic
 * in si_value) and passes every other delivery to the target's handler,
 * so the target misses none of its own. For threads that do not answer
 * within PARK_WAIT_NS, the patch is written unparked (logged).
 *
 * Follower thread only (one park at a time); the handler is freestanding.
 */
#include <stdbool.h>
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

#define MAX_PARKED   1024
#define PARK_WAIT_NS 20000000ull /* 20 ms for every signalled thread to answer */
#define SIGURG_NR    23
#define SIGWINCH_NR  28
#define SA_SIGINFO_  0x4
#define SA_RESTART_  0x10000000
#define SA_RESTORER_ 0x04000000
/* ucontext_t on x86-64: uc_flags, uc_link, uc_stack (24 bytes), then
 * mcontext's gregs[], of which REG_RIP is 16 */
#define UC_RIP_OFF (8 + 8 + 24 + 16 * 8)
/* siginfo_t of SI_QUEUE: signo, errno, code, pad, pid, uid, then si_value */
#define SI_VALUE_OFF 24
#define SI_CODE_OFF  8
#define SI_PID_OFF   16
#define SI_QUEUE_    (-1)
#define SA_ONSTACK_  0x08000000
/* si_value's high half on our signals: "BPTM" */
#define PARK_MAGIC 0x4250544dull

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#define MAX_BLOCKED 64

static struct {
	uint32_t active;   /* a park is in progress: handlers record and wait */
	uint32_t cur;      /* its number (grows across parks) */
	uint32_t arrived;  /* threads that recorded their ip */
	uint32_t released; /* futex: the last park whose threads may go */
	uint64_t ips[MAX_PARKED];
	/* user ips of threads blocked outside a syscall (follower only) */
	uint64_t blocked[MAX_BLOCKED];
	uint32_t nr_blocked;
	/* the signal's disposition before ours: where the target's own
	 * deliveries go while we hold it (read by handlers) */
	struct kernel_sigaction chain;
	int pid; /* the sender of our signals: this process */
} park;

void agent_park_restorer(void);
__asm__(".text\n"
	".type agent_park_restorer, @function\n"
	"agent_park_restorer:\n"
	"\tmov $15, %eax\n" /* rt_sigreturn */
	"\tsyscall\n"
	"\tud2\n"
	".size agent_park_restorer, .-agent_park_restorer\n");

/* A delivery that is not one of our park signals: the target's own (on a
 * borrowed signal) goes to its handler, as if ours were not there. */
static void chain(int sig, void *info, void *uc)
{
	void *h = __atomic_load_n(&park.chain.handler, __ATOMIC_RELAXED);

	if (h == (void *)0 || h == (void *)1)
		return; /* SIG_DFL or SIG_IGN of a default-ignored signal */
	if (park.chain.flags & SA_SIGINFO_)
		((void (*)(int, void *, void *))h)(sig, info, uc);
	else
		((void (*)(int))h)(sig);
}

static bool ours(const void *info)
{
	const char *i = info;

	return *(const int32_t *)(i + SI_CODE_OFF) == SI_QUEUE_ &&
	       *(const int32_t *)(i + SI_PID_OFF) == park.pid &&
	       *(const uint64_t *)(i + SI_VALUE_OFF) >> 32 == PARK_MAGIC;
}

static void park_handler(int sig, void *info, void *uc)
{
	/* the park this signal was sent for: its si_value (SI_QUEUE) */
	uint32_t gen = *(const uint32_t *)((const char *)info + SI_VALUE_OFF), n, rel;

	if (!ours(info)) {
		chain(sig, info, uc);
		return;
	}
	/* late (the thread had the signal blocked, or we gave up on it) or
	 * for an earlier park: nothing to wait for, and not to be counted in
	 * the park in progress */
	if (!__atomic_load_n(&park.active, __ATOMIC_SEQ_CST) ||
	    gen != __atomic_load_n(&park.cur, __ATOMIC_SEQ_CST))
		return;
	n = __atomic_load_n(&park.arrived, __ATOMIC_RELAXED);
	/* record the ip first, count after: the patcher reads ips[0..arrived) */
	for (;;) {
		if (n >= MAX_PARKED)
			break;
		if (__atomic_compare_exchange_n(&park.arrived, &n, n + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED)) {
			__atomic_store_n(&park.ips[n], *(uint64_t *)((char *)uc + UC_RIP_OFF),
					 __ATOMIC_SEQ_CST);
			break;
		}
	}
	while ((int32_t)((rel = __atomic_load_n(&park.released, __ATOMIC_ACQUIRE)) - gen) < 0)
		agent_sys_futex_wait(&park.released, rel, 1000000u, 1);
}

static int sigaction_raw(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old)
{
	return (int)agent_sys6(__NR_rt_sigaction, sig, (long)act, (long)old, 8, 0, 0);
}

/* A default-ignored signal the target does not handle, else SIGURG
 * borrowed (*borrowed set); 0 when none can be read. */
static int free_signal(struct kernel_sigaction *old, bool *borrowed)
{
	static const int candidates[] = {SIGURG_NR, SIGWINCH_NR};

	*borrowed = false;
	for (unsigned i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (sigaction_raw(candidates[i], NULL, old))
			continue;
		if (old->handler == (void *)0 || old->handler == (void *)1) /* DFL, IGN */
			return candidates[i];
	}
	if (sigaction_raw(SIGURG_NR, NULL, old))
		return 0;
	*borrowed = true;
	return SIGURG_NR;
}

/* 'R' in /proc/self/task/<tid>/stat: running or runnable in user space
 * (or about to return there) */
/* /proc/self/task/<tid>/<file> into @buf (NUL-terminated); its length,
 * or <= 0 when it cannot be read. */
static long read_task_file(int tid, const char *file, char *buf, size_t len)
{
	char path[48];
	struct agent_buf b;
	long n;
	int fd;

	agent_buf_init(&b, path, sizeof(path));
	agent_buf_str(&b, "/proc/self/task/");
	agent_buf_num(&b, tid);
	agent_buf_str(&b, "/");
	agent_buf_str(&b, file);
	fd = agent_openat(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	n = agent_read(fd, buf, len - 1);
	agent_close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static bool running(int tid)
{
	char buf[128];
	long n = read_task_file(tid, "stat", buf, sizeof(buf));

	/* "tid (comm) S ...": the state follows the last ')' */
	for (long i = n - 1; i > 0; i--)
		if (buf[i] == ')')
			return i + 2 < n && buf[i + 2] == 'R';
	return false;
}

static uint64_t parse_hex(const char *p, const char **end)
{
	uint64_t v = 0;

	if (p[0] == '0' && p[1] == 'x')
		p += 2;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9'   ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
						 : -1;

		if (d < 0)
			break;
		v = v * 16 + (uint64_t)d;
	}
	*end = p;
	return v;
}

/* A thread that is not running: if it is blocked outside a system call,
 * remember its user ip ("-1 <sp> <pc>" in /proc/self/task/<tid>/syscall;
 * a syscall number first when it is in one, "running" when it ran). */
static void note_blocked(int tid)
{
	char buf[96];
	const char *p;
	uint64_t pc;
	long n = read_task_file(tid, "syscall", buf, sizeof(buf));

	if (n < 3 || buf[0] != '-' || buf[1] != '1' || buf[2] != ' ')
		return;
	parse_hex(buf + 3, &p); /* sp */
	if (*p != ' ')
		return;
	pc = parse_hex(p + 1, &p);
	if (pc && park.nr_blocked < MAX_BLOCKED)
		park.blocked[park.nr_blocked++] = pc;
}

/* Signal every other running thread with park @gen in the si_value
 * (note the user ips of the others that are blocked outside a system
 * call); @return how many were signalled. */
static uint32_t signal_running(int sig, int self, uint32_t gen)
{
	struct linux_dirent64 {
		uint64_t ino;
		int64_t off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	} * d;
	char buf[4096];
	uint32_t sent = 0;
	int pid = agent_getpid();
	int fd = agent_openat("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	long n;

	if (fd < 0)
		return 0;
	while ((n = agent_sys6(__NR_getdents64, fd, (long)buf, sizeof(buf), 0, 0, 0)) > 0) {
		for (long off = 0; off < n; off += d->reclen) {
			int tid = 0;

			d = (struct linux_dirent64 *)(buf + off);
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == self)
				continue;
			if (!running(tid)) {
				note_blocked(tid);
				continue;
			}
			uint32_t info[32] = {0}; /* siginfo_t: 128 bytes */

			info[0] = (uint32_t)sig;
			info[SI_CODE_OFF / 4] = (uint32_t)SI_QUEUE_;
			info[SI_PID_OFF / 4] = (uint32_t)pid;
			info[SI_VALUE_OFF / 4] = gen;
			info[SI_VALUE_OFF / 4 + 1] = (uint32_t)PARK_MAGIC;
			if (!agent_sys6(__NR_rt_tgsigqueueinfo, pid, tid, sig, (long)info, 0, 0))
				sent++;
		}
	}
	agent_close(fd);
	return sent;
}

/* Wait until @sent threads arrived (or PARK_WAIT_NS); @return how many. */
static uint32_t wait_arrivals(uint32_t sent)
{
	uint64_t until = agent_sys_now_ns() + PARK_WAIT_NS;
	uint32_t got;

	while ((got = __atomic_load_n(&park.arrived, __ATOMIC_SEQ_CST)) < sent &&
	       agent_sys_now_ns() < until)
		agent_sys6(__NR_sched_yield, 0, 0, 0, 0, 0, 0);
	return got;
}

/* Whether a parked thread (ips[0..got)) sits strictly inside (lo, hi). The
 * ip is written just after the count moves, hence the 0 skip: such a
 * thread is re-read until its ip is there. */
static bool any_inside(uint32_t got, uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < got && i < MAX_PARKED; i++) {
		uint64_t ip;

		while (!(ip = __atomic_load_n(&park.ips[i], __ATOMIC_SEQ_CST)))
			;
		if (ip > lo && ip < hi)
			return true;
	}
	return false;
}

/* Whether a thread blocked outside a system call sits strictly inside
 * (lo, hi): it may stay there for long (a ptrace stop), so a patch waits
 * for a later pass rather than for it. */
static bool blocked_inside(uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < park.nr_blocked; i++)
		if (park.blocked[i] > lo && park.blocked[i] < hi)
			return true;
	return false;
}

static void release_all(uint32_t gen)
{
	__atomic_store_n(&park.active, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&park.released, gen, __ATOMIC_SEQ_CST);
	agent_sys_futex_wake(&park.released, MAX_PARKED, 1);
}

/* The park in progress (follower only): its signal and old disposition. */
static struct {
	int sig;
	struct kernel_sigaction old;
	uint32_t gen, sent, got;
} cur;

bool agent_park_begin(void)
{
	struct kernel_sigaction act = {0};
	bool borrowed;

	cur.sig = free_signal(&cur.old, &borrowed);
	if (!cur.sig)
		return false; /* no signal to park with */
	/* before our handler can run: where the target's deliveries go */
	park.chain = cur.old;
	park.pid = agent_getpid();
	act.handler = (void *)park_handler;
	act.flags = SA_SIGINFO_ | SA_RESTORER_ |
		    (borrowed ? cur.old.flags & (SA_ONSTACK_ | SA_RESTART_) : SA_RESTART_);
	act.restorer = agent_park_restorer;
	act.mask = ~0ull; /* nothing else runs on a parked thread */
	if (sigaction_raw(cur.sig, &act, NULL)) {
		cur.sig = 0;
		return false;
	}
	cur.gen = __atomic_load_n(&park.cur, __ATOMIC_RELAXED) + 1;
	for (uint32_t i = 0; i < MAX_PARKED; i++)
		__atomic_store_n(&park.ips[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&park.arrived, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&park.cur, cur.gen, __ATOMIC_SEQ_CST);
	__atomic_store_n(&park.active, 1, __ATOMIC_SEQ_CST);
	park.nr_blocked = 0;
	cur.sent = signal_running(cur.sig, agent_sys_gettid(), cur.gen);
	cur.got = wait_arrivals(cur.sent);
	return cur.got == cur.sent;
}

void agent_park_forked(void)
{
	/* fork while a park was in progress: the child's copy must not hold
	 * its (only) thread in our handler later */
	__atomic_store_n(&park.active, 0, __ATOMIC_SEQ_CST);
	cur.sig = 0;
}

bool agent_park_inside(uint64_t lo, uint64_t hi)
{
	return cur.sig && (any_inside(cur.got, lo, hi) || blocked_inside(lo, hi));
}

void agent_park_end(void)
{
	if (!cur.sig)
		return;
	release_all(cur.gen);
	sigaction_raw(cur.sig, &cur.old, NULL);
	cur.sig = 0;
}

/* Why a patch is written unparked, for the log. */
static const char *unparked_why(bool all, bool inside)
{
	if (!cur.sig)
		return "no signal to park threads with";
	if (!all)
		return "a thread did not answer the parking signal (it blocks it, or the "
		       "machine is too busy)";
	return inside ? "a thread stayed inside the bytes replaced" : NULL;
}

int agent_park_patch(struct bpftime_rw_hook *hook, uint64_t lo, uint64_t hi)
{
	int err = 0;

	for (int attempt = 0;; attempt++) {
		bool all = agent_park_begin(), inside = agent_park_inside(lo, hi);
		/* a thread inside moves on at once; one that did not answer
		 * may be starved on a busy machine: a few tries (each waits
		 * PARK_WAIT_NS for it), not forever (it may block the signal) */
		bool last = attempt == 50 || (!all && attempt == 5);
		const char *why;

		if (cur.sig && blocked_inside(lo, hi)) {
			agent_park_end();
			return -EAGAIN;
		}
		if ((!inside && all) || last)
			err = bpftime_rw__patch(hook);
		why = unparked_why(all, inside);
		agent_park_end();
		if ((!inside && all) || last) {
			if (why)
				agent_log(agent_session_dir(), "patched a site unparked: ", why);
			break;
		}
		agent_sys_nap(200000); /* 0.2 ms: the thread moves on */
	}
	return err;
}
