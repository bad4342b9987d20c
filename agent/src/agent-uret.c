// SPDX-License-Identifier: MIT
/*
 * uretprobes: programs that run when a probed function returns.
 *
 * As the kernel does it (kernel/events/uprobes.c, prepare_uretprobe and
 * handle_trampoline): at the function's entry the hook (agent-hook.c)
 * keeps the return address at the top of the stack in a per-thread list of
 * "return instances", with the stack pointer it was found at, and puts
 * the address of a return trampoline in its place. When the function
 * returns into the trampoline, the instance whose stack pointer is the one
 * just popped is taken off, the uretprobe programs of its site run with
 * the registers of the return (ax is the return value, ip the original
 * return address, as the kernel sets it before the handlers), and the
 * trampoline returns to the original address.
 *
 * Per-thread state without TLS: a table of threads keyed by TID (the hook
 * has it already), open-addressed in a window of WINDOW slots from the
 * hash. A thread takes a slot when it pushes its first instance and keeps
 * it (its next push finds it at once); slots of threads that are gone are
 * taken over when a window is full. A thread may only write its own slot.
 *
 * The return address is not overwritten in place but by a call: the
 * entry's trampoline pops it and calls the rest of the function through a
 * gate of ours (rewrite.h, handler return 2), so the function's ret comes
 * back to the gate as the CPU's return stack buffer predicts, and the gate
 * returns to the kept address with a ret that the buffer predicts too (the
 * caller's own call is next on it). A return address overwritten in place
 * costs two mispredicted returns and leaves the buffer off by one for
 * every return above it.
 *
 * The return needs no TID: there is one gate per slot (agent_uret_gates:
 * gate k at 16 * k; after its call it pushes k), so the return says
 * which slot the thread that pushed has. The slot is still that thread's
 * when it returns (only slots of threads that are gone are taken over),
 * so the instance at the exact stack slot is found there; when it is not
 * (a fork child whose slot was taken over meanwhile, see below), the TID
 * lookup decides.
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
 * fork: the child has the parent's table (a copy) but another TID. Its
 * returns from functions entered before the fork find their instances in
 * the slot their trampoline names (the child's copy); its pushes take a
 * slot of its own. Should that copy have been taken over meanwhile (its
 * TID, the parent's, does not exist in the child), the return is looked
 * up by TID and then by stack pointer, and the slot found is taken over.
 * A vfork child returning from a probed function that its parent entered
 * would take the parent's instance: not supported.
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

/* The gates (below): gate k (k < THREADS) at agent_uret_gates +
 * GATE_STRIDE * k, for slot k. */
#define GATE_STRIDE 16
extern char agent_uret_gates[];

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

/* The slot of thread @tid (0: not known yet), taken if it has none; NULL
 * when the table is full there. */
static struct uret_thread *slot_of(struct uret_thread *tab, uint32_t tid)
{
	struct uret_thread *t;

	if (!tid)
		tid = agent_tid();
	t = find(tab, tid);
	return t ? t : claim(tab, tid);
}

bool agent_uret_push(uint32_t tid, struct bpftime_regs *regs, struct agent_site *site)
{
	struct uret_thread *tab = __atomic_load_n(&table, __ATOMIC_ACQUIRE), *t;
	const uint64_t *slot = (const uint64_t *)(uintptr_t)regs->sp;
	uint32_t d;

	if (!tab)
		return false;
	t = slot_of(tab, tid);
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
	/* the trampoline pops *slot and enters the gate (handler return 2) */
	regs->ip = (uint64_t)(uintptr_t)(agent_uret_gates + GATE_STRIDE * (uint64_t)(t - tab));
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

/* The newest instance of @t at stack slot @sp, or -1; those above it were
 * skipped by a longjmp or an exception. */
static int frame_at(const struct uret_thread *t, uint64_t sp)
{
	int d;

	for (d = (int)t->depth - 1; d >= 0 && t->f[d].sp != sp; d--)
		;
	return d;
}

/* Called by the trampoline with the registers of the return and, in the
 * stack slot above them, the index of the slot the trampoline entry was
 * for; gives the address to return to. */
uint64_t agent_uret_fire(struct bpftime_regs *regs);
uint64_t agent_uret_fire(struct bpftime_regs *regs)
{
	struct uret_thread *tab = __atomic_load_n(&table, __ATOMIC_ACQUIRE), *t = NULL;
	uint64_t k = *(const uint64_t *)(regs + 1);
	uint64_t sp = regs->sp - 8; /* where the return address was */
	struct uret_frame f;
	uint32_t tid = 0;
	int d = -1;

	if (!tab)
		lost(sp);
	if (k < THREADS) {
		t = &tab[k];
		d = frame_at(t, sp);
	}
	if (d < 0) {
		/* not in the slot the entry named: by TID, else by stack slot
		 * (a fork child, whose slot the copy of the table has under
		 * its parent's TID) */
		tid = agent_tid();
		t = find(tab, tid);
		if (!t || (d = frame_at(t, sp)) < 0)
			t = adopt(tab, tid, sp);
		if (!t || (d = frame_at(t, sp)) < 0)
			lost(sp);
	}
	f = t->f[d];
	t->depth = (uint32_t)d;
	regs->ip = f.ret;
	agent_hook_ret(f.site, regs, tid);
	return f.ret;
}

/*
 * The gates and the return trampoline. Gate k is entered by a jmp from
 * the entry's trampoline (rewrite.h, handler return 2) with the return
 * address popped and the displaced instructions' address at -16(%rsp);
 * it calls them, which puts its return address where the popped one was.
 * The probed function's ret comes back after that call, with %rsp 8
 * above where the return address was and only rax, rdx, xmm0, xmm1 (and
 * the x87 stack, which C code here does not touch) carrying values. It
 * pushes k into that stack slot (agent_uret_fire reads it there) and goes
 * to the common part, which builds a struct bpftime_regs (the kernel's
 * pt_regs order) under the slot, calls agent_uret_fire, puts its answer
 * in the slot, restores and returns there. Neither the flags nor
 * xmm0/xmm1 are saved: no flag lives across a return (SysV ABI), and the
 * agent is built -mgeneral-regs-only, so nothing here touches the SSE
 * return registers.
 */
_Static_assert(GATE_STRIDE == 16 && THREADS == 1024, "spelled out in the asm below");
__asm__(".text\n"
	".globl agent_uret_gates\n"
	".hidden agent_uret_gates\n"
	".type agent_uret_gates, @function\n"
	".balign 16\n"
	"agent_uret_gates:\n"
	".set agent_uret_k, 0\n"
	".rept 1024\n"
	"\t.balign 16\n" /* gate k: at most 14 bytes */
	"\tcall *-16(%rsp)\n"
	"\tpush $agent_uret_k\n"
	"\tjmp agent_uret_common\n"
	"\t.set agent_uret_k, agent_uret_k + 1\n"
	".endr\n"
	"agent_uret_common:\n"
	"\tpush $0x2b\n" /* ss */
	"\tpush $0\n"    /* sp: set below (an xchg with memory would lock) */
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
	"\tlea 176(%rsp), %rax\n" /* sp at entry: above the regs and the slot */
	"\tmov %rax, 152(%rsp)\n"
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
	"\tlea 48(%rsp), %rsp\n" /* orig_ax, ip, cs, flags, sp, ss */
	"\tret\n"
	".size agent_uret_gates, .-agent_uret_gates\n");
