// SPDX-License-Identifier: MIT
/*
 * uretprobes: programs that run when a probed function returns.
 *
 * As the kernel does it (kernel/events/uprobes.c, prepare_uretprobe and
 * handle_trampoline): at the function's entry the hook (agent-hook.c)
 * replaces the return address at the top of the stack with the address of
 * a return trampoline and keeps the original in a per-thread list of
 * "return instances", with the stack pointer it was found at. When the
 * function returns into the trampoline, the instance whose stack pointer
 * is the one just popped is taken off, the uretprobe programs of its site
 * run with the registers of the return (ax is the return value, ip the
 * original return address, as the kernel sets it before the handlers), and
 * the trampoline returns to the original address.
 *
 * Per-thread state without TLS: a table of threads keyed by TID (the hook
 * has it already), open-addressed in a window of WINDOW slots from the
 * hash. A thread takes a slot when it pushes its first instance and keeps
 * it (its next push finds it at once); slots of threads that are gone are
 * taken over when a window is full. A thread may only write its own slot.
 *
 * Recursion: instances stack up (at most DEPTH per thread, as the kernel's
 * MAX_URETPROBE_DEPTH; past it the return is not probed, as there).
 * longjmp and C++ exceptions: frames that were skipped never return
 * through the trampoline; the next return finds its own instance by exact
 * stack pointer below them and drops the skipped ones (whose stack
 * pointers are lower: the kernel's "chained" cleanup does the same). An
 * exception unwound *through* the trampoline is not supported: the
 * unwinder finds no unwind information for it (as with the kernel's
 * uretprobes, whose trampoline has none either).
 * fork: the child has the parent's table (a copy) but another TID; a miss
 * by TID is looked up by stack pointer, and the slot is taken over (the
 * child's copy is its own). A vfork child returning from a probed function
 * that its parent entered would take the parent's instance: not supported.
 *
 * The table is mapped when the first uretprobe is hooked and never
 * unmapped: instances may be pending when the session goes.
 */
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

#define THREADS 1024 /* slots: threads inside probed functions at once */
#define WINDOW  16   /* slots probed from a TID's hash */
#define DEPTH   64   /* MAX_URETPROBE_DEPTH */

struct uret_frame {
	uint64_t ret; /* the original return address */
	uint64_t sp;  /* where it was on the stack */
	struct agent_site *site;
};

struct uret_thread {
	uint32_t tid; /* 0: free */
	uint32_t depth;
	struct uret_frame f[DEPTH];
};

_Static_assert(sizeof(struct bpftime_regs) == 168, "the trampoline's frame layout");

static struct uret_thread *table; /* THREADS entries, set once (release) */

/* The return trampoline (below): what hijacked returns land in. */
extern char agent_uret_tramp[];

int agent_uret_init(void)
{
	struct uret_thread *t;

	if (__atomic_load_n(&table, __ATOMIC_ACQUIRE))
		return 0;
	t = agent_sys_mmap(NULL, THREADS * sizeof(*t), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!t)
		return -ENOMEM;
	/* pairs with the hooks' acquire: a hook that sees the table sees it zeroed */
	__atomic_store_n(&table, t, __ATOMIC_RELEASE);
	return 0;
}

static uint32_t hash(uint32_t tid)
{
	return (tid * 2654435761u) % THREADS;
}

static struct uret_thread *find(struct uret_thread *tab, uint32_t tid)
{
	for (uint32_t i = 0, h = hash(tid); i < WINDOW; i++) {
		struct uret_thread *t = &tab[(h + i) % THREADS];

		if (__atomic_load_n(&t->tid, __ATOMIC_RELAXED) == tid)
			return t;
	}
	return NULL;
}

/* A thread's slot stays its own after its last return (the next push
 * finds it at once); a full window takes over the slot of a thread that
 * no longer exists (a syscall, only then). */
static struct uret_thread *claim(struct uret_thread *tab, uint32_t tid)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0, h = hash(tid); i < WINDOW; i++) {
			struct uret_thread *t = &tab[(h + i) % THREADS];
			uint32_t old = __atomic_load_n(&t->tid, __ATOMIC_RELAXED);

			if (pass == 1 && (!old || agent_sys6(__NR_tgkill, agent_getpid(), old, 0, 0,
							     0, 0) != -ESRCH))
				continue;
			if (pass == 0 && old)
				continue;
			if (__atomic_compare_exchange_n(&t->tid, &old, tid, false, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED)) {
				t->depth = 0;
				return t;
			}
		}
	return NULL;
}

bool agent_uret_push(uint32_t tid, struct bpftime_regs *regs, struct agent_site *site)
{
	struct uret_thread *tab = __atomic_load_n(&table, __ATOMIC_ACQUIRE), *t;
	uint64_t *slot = (uint64_t *)(uintptr_t)regs->sp;
	uint32_t d;

	if (!tab)
		return false;
	t = find(tab, tid);
	if (!t)
		t = claim(tab, tid);
	if (!t)
		return false;
	/* instances at or below this stack slot are dead: their frames were
	 * left by longjmp (the kernel's cleanup_return_instances with
	 * RP_CHECK_CALL: alive only while sp < the instance's) */
	while (t->depth && t->f[t->depth - 1].sp <= regs->sp)
		t->depth--;
	if (t->depth == DEPTH)
		return false; /* as the kernel past MAX_URETPROBE_DEPTH: not probed */
	/* Reserve the entry before filling it: a signal handler that runs a
	 * probed function on this thread in between must push above it, not
	 * onto it. The sentinel sp (highest) survives the cleanup above. */
	d = t->depth;
	t->f[d].sp = UINT64_MAX;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->depth = d + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->f[d].ret = *slot;
	t->f[d].site = site;
	t->f[d].sp = regs->sp;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	*slot = (uint64_t)(uintptr_t)agent_uret_tramp;
	return true;
}

/* A fork child: its instances are in the slot of the thread that forked. */
static struct uret_thread *adopt(struct uret_thread *tab, uint32_t tid, uint64_t sp)
{
	for (uint32_t i = 0; i < THREADS; i++) {
		struct uret_thread *t = &tab[i];

		if (!t->tid || t->tid == tid)
			continue;
		for (uint32_t d = 0; d < t->depth; d++)
			if (t->f[d].sp == sp) {
				t->tid = tid;
				return t;
			}
	}
	return NULL;
}

/* No instance for this return: nowhere to go back to. */
static __attribute__((noreturn)) void lost(uint64_t sp)
{
	char line[160];
	struct agent_buf b;

	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, "uretprobe: no return address for the frame at 0x");
	agent_buf_hex(&b, sp);
	agent_buf_str(&b, "; aborting the process");
	agent_log(agent_session_dir(), line, NULL);
	for (;;) {
		agent_sys_kill(agent_getpid(), 6 /* SIGABRT */);
		agent_sys6(__NR_exit_group, 134, 0, 0, 0, 0, 0);
	}
}

/* Called by the trampoline with the registers of the return; gives the
 * address to return to. */
uint64_t agent_uret_fire(struct bpftime_regs *regs);
uint64_t agent_uret_fire(struct bpftime_regs *regs)
{
	struct uret_thread *tab = __atomic_load_n(&table, __ATOMIC_ACQUIRE), *t;
	uint32_t tid = agent_tid();
	uint64_t sp = regs->sp - 8; /* where the return address was */
	struct uret_frame f;
	int d;

	if (!tab)
		lost(sp);
	t = find(tab, tid);
	if (!t || !t->depth)
		t = adopt(tab, tid, sp);
	if (!t)
		lost(sp);
	/* the newest instance at this exact stack slot; those above it were
	 * skipped by a longjmp or an exception */
	for (d = (int)t->depth - 1; d >= 0 && t->f[d].sp != sp; d--)
		;
	if (d < 0)
		lost(sp);
	f = t->f[d];
	t->depth = (uint32_t)d;
	regs->ip = f.ret;
	agent_hook_ret(f.site, regs, tid);
	return f.ret;
}

/*
 * The return trampoline. Entered by the probed function's ret, so %rsp is
 * 8 above where the return address was, and only rax, rdx, xmm0, xmm1 (and
 * the x87 stack, which C code here does not touch) carry values. Builds a
 * struct bpftime_regs (the kernel's pt_regs order) under a slot for the
 * real return address, calls agent_uret_fire, puts its answer in the slot,
 * restores and returns there. Neither the flags nor xmm0/xmm1 are saved:
 * no flag lives across a return (SysV ABI), and the agent is built
 * -mgeneral-regs-only, so nothing here touches the SSE return registers.
 */
__asm__(".text\n"
	".globl agent_uret_tramp\n"
	".hidden agent_uret_tramp\n"
	".type agent_uret_tramp, @function\n"
	"agent_uret_tramp:\n"
	"\tsub $8, %rsp\n" /* the slot for the real return address */
	"\tpush $0x2b\n"   /* ss */
	"\tpush %rax\n"    /* sp: the value at entry, rsp + 24 now */
	"\tlea 24(%rsp), %rax\n"
	"\txchg %rax, (%rsp)\n"
	"\tpushfq\n"     /* flags */
	"\tpush $0x33\n" /* cs */
	"\tpush $0\n"    /* ip: set by agent_uret_fire */
	"\tpush $-1\n"   /* orig_ax */
	"\tpush %rdi\n"
	"\tpush %rsi\n"
	"\tpush %rdx\n"
	"\tpush %rcx\n"
	"\tpush %rax\n"
	"\tpush %r8\n"
	"\tpush %r9\n"
	"\tpush %r10\n"
	"\tpush %r11\n"
	"\tpush %rbx\n"
	"\tpush %rbp\n"
	"\tpush %r12\n"
	"\tpush %r13\n"
	"\tpush %r14\n"
	"\tpush %r15\n"
	"\tmov %rsp, %rbx\n" /* the regs; rbx is saved above and callee-saved */
	"\tand $-16, %rsp\n"
	"\tmov %rbx, %rdi\n"
	"\tcall agent_uret_fire\n"
	"\tmov %rbx, %rsp\n"
	"\tmov %rax, 168(%rsp)\n" /* sizeof(struct bpftime_regs): the slot */
	"\tpop %r15\n"
	"\tpop %r14\n"
	"\tpop %r13\n"
	"\tpop %r12\n"
	"\tpop %rbp\n"
	"\tpop %rbx\n"
	"\tpop %r11\n"
	"\tpop %r10\n"
	"\tpop %r9\n"
	"\tpop %r8\n"
	"\tpop %rax\n"
	"\tpop %rcx\n"
	"\tpop %rdx\n"
	"\tpop %rsi\n"
	"\tpop %rdi\n"
	"\tadd $48, %rsp\n" /* orig_ax, ip, cs, flags, sp, ss */
	"\tret\n"
	".size agent_uret_tramp, .-agent_uret_tramp\n");
