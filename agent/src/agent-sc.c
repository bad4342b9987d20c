// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints: the hook path. A rewritten syscall site jumps to its
 * stub (rewrite/src/rw-syscall.h), which calls agent_sc_enter_entry before
 * the syscall and agent_sc_exit_entry after it, on the thread's stack below
 * its red zone (and one word of the stub's). The entries save the thread's
 * registers as the kernel's pt_regs (struct bpftime_regs) and call the C
 * handlers.
 *
 * What a program sees is the kernel's tracepoint record for the event
 * (tracefs events/<category>/<name>/format), read-only:
 *
 *   syscalls/sys_enter_X  0 common_type u16, 2 common_flags u8,
 *                         3 common_preempt_count u8, 4 common_pid s32,
 *                         8 __syscall_nr s32, 16 args u64 [6]
 *   syscalls/sys_exit_X   ... 8 __syscall_nr s32, 16 ret s64
 *   raw_syscalls/sys_enter  ... 8 id s64, 16 args[6] u64
 *   raw_syscalls/sys_exit   ... 8 id s64, 16 ret s64
 *
 * For a non-negative number an s64 id and an s32 nr followed by 4 zero
 * bytes are the same bytes, so one record serves both; common_type is the
 * event's id (the catalog's tp_id) and common_pid the thread's id, as the
 * kernel fills them. A sys_enter_X record is given with the 6 arguments
 * (the kernel's has only the syscall's own: a program the kernel accepts
 * reads no further).
 *
 * kprobes on a syscall's wrapper (__x64_sys_X, BPFTIME_CATALOG_KPROBE_SYSCALL)
 * run after the sys_enter programs, as the kernel calls the wrapper after
 * the sys_enter tracepoint; kretprobes on it (_KRETPROBE_SYSCALL) run before
 * the sys_exit programs. Their ctx is what the kernel's kprobe gets: the
 * wrapper's own (kernel) pt_regs, whose %rdi points to the user pt_regs the
 * syscall's arguments are read from (libbpf's PT_REGS_PARM1_CORE_SYSCALL,
 * BPF_KSYSCALL: bpf_probe_read_kernel). Here both are on the thread's
 * stack: a fake kernel pt_regs (cs __KERNEL_CS, orig_ax -1 as after an
 * int3, ip a made-up kernel address per number, ax the result for a
 * kretprobe) and the image of the user pt_regs at the syscall (the site's
 * registers, ax -ENOSYS, cx and r11 as the syscall sets them, orig_ax the
 * number), which the run registers as the one range bpf_probe_read_kernel
 * may read (agent-helpers.c).
 *
 * bpf_override_return() from a kprobe skips the syscall: the enter entry
 * returns 2 bytes past its return address, over the stub's `syscall`
 * (rw-syscall.h), with %rax = the value; the exit programs then see it as
 * the result, as the kernel's sys_exit sees the overridden wrapper's. Not
 * for clone, clone3, vfork and rt_sigreturn (the stubs run those plain),
 * where the override is logged once and ignored. On a kretprobe it changes
 * nothing.
 *
 * Links: a fixed table of link lists per syscall number and event, plus
 * the raw_syscalls lists, written by the follower with release stores,
 * read by hooks with acquire loads. Two byte tables (agent_sc_want_enter,
 * _exit) say which numbers have links on each side, and in which lists
 * (AGENT_SC_WANT_*: the handlers read only those); the entries look there first
 * and return at once, without saving the registers, when none has (a
 * window site runs every syscall of its code through the stub; a sys_exit
 * with only sys_enter links). Links run in attachment order (the order
 * the kernel registers them on the tracepoint). A link entry is reused
 * one second after it was unlinked, never freed.
 */
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sc.h"
#include "agent-sys.h"

#define SC_SLOTS      8 /* links per event */
#define SC_LINKS      512
#define LINK_REUSE_NS 1000000000ull
#define FRAME_TO_SP   152 /* the pushed %rsp to the site's %rsp: 8 + ret + 136 */
#define SYSCALL_LEN   2   /* 0f 05: what a skip steps over */
/* the wrapper's address a kprobe on syscall nr sees (ctx->ip, get_func_ip):
 * made up, in the kernel's text range, one per number */
#define FAKE_SYS_IP(nr) (0xffffffff81000000ull + ((uint64_t)(nr) << 4))
#define KERNEL_CS       0x10
#define KERNEL_DS       0x18

/* One event's links. @top is one past the highest slot in use, so a hook
 * reads only that many (usually one): the loop over empty slots cost
 * ~10 ns a traced syscall, whose branches the syscall leaves cold. Raised
 * after a slot is filled, lowered after trailing slots are emptied (both
 * release); a hook that read an old @top misses a link published after
 * it, or reads a slot that is NULL by now: both as if it ran a moment
 * earlier or later. */
struct sc_list {
	uint32_t top;
	struct agent_link *slot[SC_SLOTS];
};

struct sc_link {
	struct agent_link l; /* what helpers see */
	uint64_t tp_id;
	uint32_t in_use;
	uint32_t faults;
	struct sc_list *list; /* where it is published: list->slot[idx] */
	uint32_t idx;
	uint64_t freed_at;
};

/* the tracepoint record, both layouts (see above) */
struct sc_record {
	uint16_t type;
	uint8_t flags;
	uint8_t preempt_count;
	int32_t pid;
	int64_t id;
	uint64_t args[6]; /* sys_exit: args[0] is ret */
};

static struct {
	struct sc_list enter[AGENT_SC_NR];
	struct sc_list exit[AGENT_SC_NR];
	struct sc_list raw_enter;
	struct sc_list raw_exit;
	struct sc_list kprobe[AGENT_SC_NR];    /* __x64_sys_X */
	struct sc_list kretprobe[AGENT_SC_NR]; /* __x64_sys_X's return */
	uint32_t override_refused;             /* overrides on a plain number (logged once) */
	struct sc_link links[SC_LINKS];
	uint32_t nr_links;
} sc;

/* Per number: does a link want its enter / exit (raw_syscalls links
 * included), and which lists (AGENT_SC_WANT_*)? Read by the entries' fast path
 * (non-zero) and the handlers (the bits); written by the follower after
 * the links are published (publish_wants). */
uint8_t agent_sc_want_enter[AGENT_SC_WANT];
uint8_t agent_sc_want_exit[AGENT_SC_WANT];
/* the numbers whose sites count vforks (agent_sc_watch_vfork) */
static bool vfork_watched[AGENT_SC_NR];

#define CLONE_VFORK 0x4000ull

/* ---- the entries ---- */

/*
 * Stack at the call of the C handler (the stub lowered %rsp by 136 and
 * called us):
 *
 *   site %rsp - 136 - 8 ->  return address into the stub
 *                           ss, sp, flags, cs, ip (0), orig_ax (the number)
 *                           di si dx cx ax r8 r9 r10 r11 bx bp r12..r15
 *   %rbp (the regs)     ->  r15
 *                           [alignment]
 *
 * No vector register is saved: the agent is built -mgeneral-regs-only, so
 * nothing the handlers run touches them (as the uretprobe trampoline).
 */
/*
 * The fast path: an entry whose number no link wants returns at once,
 * before anything is saved. No flag is changed on the way (popfq costs
 * more than the rest of the check; a syscall keeps the flags, so code
 * after one may rely on them): the table is indexed by the number's low
 * 16 bits (movzwl) and tested with jrcxz. A number past AGENT_SC_NR
 * aliases an entry below: its byte is set when raw_syscalls links exist
 * (then every byte is), and a byte set for another number only sends it
 * to the slow path, which finds no link for it.
 *
 * Enter: %rax the number (kept); %rcx and %r11 are free (the syscall
 * clobbers both; the stub loaded the entry's address into %r11). The
 * fork check (agent-fork.c: a fork child's page reads 0, and the slow
 * path restarts the agent) comes after the table's.
 */
#define SC_FAST_ENTER                                                                              \
	"	leaq agent_sc_want_enter(%rip), %r11\n"                                                  \
	"	movzwl %ax, %ecx\n"                                                                      \
	"	movzbl (%r11,%rcx), %ecx\n"                                                              \
	"	jrcxz 2f\n"                                                                              \
	"	jmp 1f\n"                                                                                \
	"2:	movq agent_fork_here(%rip), %rcx\n"                                                    \
	"	jrcxz 3f\n"                                                                              \
	"	movl (%rcx), %ecx\n"                                                                     \
	"	jrcxz 1f\n"                                                                              \
	"3:	ret\n"                                                                                 \
	"1:\n"

/* Exit: %rcx the number, %rax the result (both kept); %r11 is free. */
#define SC_FAST_EXIT                                                                               \
	"	pushq %rcx\n"                                                                            \
	"	leaq agent_sc_want_exit(%rip), %r11\n"                                                   \
	"	movzwl %cx, %ecx\n"                                                                      \
	"	movzbl (%r11,%rcx), %ecx\n"                                                              \
	"	jrcxz 2f\n"                                                                              \
	"	popq %rcx\n"                                                                             \
	"	jmp 1f\n"                                                                                \
	"2:	popq %rcx\n"                                                                           \
	"	ret\n"                                                                                   \
	"1:\n"

/*
 * The flags without popfq where the CPU has LAHF/SAHF in 64-bit mode
 * (agent_sc_popf 0; every x86-64 CPU but the first Athlon 64s and
 * Pentium 4s), as the uprobe trampoline (rw-apply.c: popfq is microcoded,
 * ~2 ns of a traced syscall here): what the handler can change are the
 * arithmetic flags and DF (cld before the call). std puts back a set DF,
 * add %cl,%cl sets OF to the saved bit 11 (0x80 + 0x80 overflows, 0 + 0
 * does not; its other flags are overwritten by sahf), sahf puts back SF
 * ZF AF PF CF. Runs after the pops of r15..r8: %rsp points at the saved
 * ax, the flags are at 64(%rsp); %rax and %rcx are scratch until their
 * pops.
 */
#define SC_RESTORE_FLAGS                                                                           \
	"	movzbl agent_sc_popf(%rip), %ecx\n"                                                      \
	"	jrcxz 5f\n"                                                                              \
	"	popq %rax\n	popq %rcx\n	popq %rdx\n	popq %rsi\n	popq %rdi\n"                             \
	"	leaq 24(%rsp), %rsp\n" /* orig_ax, ip, cs */                                       \
	"	popfq\n"                                                                                 \
	"	leaq 16(%rsp), %rsp\n" /* sp, ss */                                                \
	"	ret\n"                                                                                   \
	"5:	testb $0x04, 65(%rsp)\n"                                                               \
	"	jz 6f\n"                                                                                 \
	"	std\n"                                                                                   \
	"6:	movb 65(%rsp), %cl\n"                                                                  \
	"	shlb $4, %cl\n"                                                                          \
	"	andb $0x80, %cl\n"                                                                       \
	"	addb %cl, %cl\n"                                                                         \
	"	movb 64(%rsp), %ah\n"                                                                    \
	"	sahf\n"                                                                                  \
	"	popq %rax\n	popq %rcx\n	popq %rdx\n	popq %rsi\n	popq %rdi\n"                             \
	"	leaq 48(%rsp), %rsp\n" /* orig_ax, ip, cs, flags, sp, ss */                        \
	"	ret\n"

#define SC_ENTRY(name, handler, nr_reg, fast)                                                      \
	__asm__(".text\n"                                                                          \
		".globl " #name "\n"                                                               \
		".hidden " #name "\n"                                                              \
		".type " #name ",@function\n"                                                      \
		".p2align 4\n" #name ":\n" fast "	pushq $0x2b\n"                                   \
		"	pushq %rsp\n"                                                                    \
		"	pushfq\n"                                                                        \
		"	pushq $0x33\n"                                                                   \
		"	pushq $0\n"                                                                      \
		"	pushq %" nr_reg "\n"                                                       \
		"	pushq %rdi\n	pushq %rsi\n	pushq %rdx\n	pushq %rcx\n"                             \
		"	pushq %rax\n	pushq %r8\n	pushq %r9\n	pushq %r10\n"                               \
		"	pushq %r11\n	pushq %rbx\n	pushq %rbp\n	pushq %r12\n"                             \
		"	pushq %r13\n	pushq %r14\n	pushq %r15\n"                                          \
		"	movq %rsp, %rbp\n"                                                               \
		"	andq $-16, %rsp\n"                                                               \
		"	cld\n"                                                                           \
		"	movq %rbp, %rdi\n"                                                               \
		"	call " #handler "\n"                                                       \
		"	movq %rbp, %rsp\n"                                                               \
		"	popq %r15\n	popq %r14\n	popq %r13\n	popq %r12\n"                                 \
		"	popq %rbp\n	popq %rbx\n	popq %r11\n	popq %r10\n"                                 \
		"	popq %r9\n	popq %r8\n" SC_RESTORE_FLAGS ".size " #name ", .-" #name   \
		"\n")

/* 1: restore the flags with popfq (no LAHF/SAHF in 64-bit mode). Set by
 * the follower before the first link is published (sahf_check). */
__attribute__((used, visibility("hidden"))) uint8_t agent_sc_popf;

__attribute__((used, visibility("hidden"))) void agent_sc_enter_c(struct bpftime_regs *regs);
__attribute__((used, visibility("hidden"))) void agent_sc_exit_c(struct bpftime_regs *regs);

SC_ENTRY(agent_sc_enter_entry, agent_sc_enter_c, "rax", SC_FAST_ENTER);
SC_ENTRY(agent_sc_exit_entry, agent_sc_exit_c, "rcx", SC_FAST_EXIT);

/* ---- running ---- */

/* Append the links of @list to @out[0..n), keeping @out sorted by
 * attachment id. @return the new count. */
static int collect(const struct sc_list *list, struct agent_link **out, int n)
{
	/* pairs with the follower's release store of top (after the slot's) */
	uint32_t top = __atomic_load_n(&list->top, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < top; i++) {
		/* pairs with the follower's release store */
		struct agent_link *l = __atomic_load_n(&list->slot[i], __ATOMIC_ACQUIRE);
		int j = n++;

		if (!l) {
			n--;
			continue;
		}
		for (; j > 0 && out[j - 1]->attach_id > l->attach_id; j--)
			out[j] = out[j - 1];
		out[j] = l;
	}
	return n;
}

/* The tracepoint links of number @nr on one side (@ev its syscalls/ lists,
 * @raw the raw_syscalls list), given its byte @want of the fast path's
 * table: only the lists it names are read (a list published after the
 * byte was read is seen on the next syscall). @return how many. */
static int collect_tp(uint64_t nr, uint8_t want, const struct sc_list *ev,
		      const struct sc_list *raw, struct agent_link **out)
{
	int n = 0;

	if (nr < AGENT_SC_NR && (want & AGENT_SC_WANT_EVENT))
		n = collect(&ev[nr], out, 0);
	if (want & AGENT_SC_WANT_RAW)
		n = collect(raw, out, n);
	return n;
}

/* The kprobe (or kretprobe) links of @nr in @lists, when @want says any. */
static int collect_kp(uint64_t nr, uint8_t want, const struct sc_list *lists,
		      struct agent_link **out)
{
	if (nr >= AGENT_SC_NR || !(want & AGENT_SC_WANT_KPROBE))
		return 0;
	return collect(&lists[nr], out, 0);
}

/*
 * One hit's run. The run proper (agent_run_begin: the CPU slot, and the
 * site's %rsp and ip in the regs) is begun before the first program that
 * calls out (agent_prog.calls_out), as a uprobe's (agent-hook.c): only
 * helpers see the slot and the regs (bpf_get_stack reads ip, sp and bp;
 * a tracepoint program's ctx is the record), and the site's ip is a
 * search over the stubs (agent_sc_site_ip). The thread id is taken at
 * once: the record's common_pid is read by programs without calls too.
 */
struct sc_hit {
	struct agent_run ar;
	struct bpftime_regs *regs;
	struct bpftime_map_region *r;
	uint32_t tid;
	bool exact; /* the TID from the kernel, not the thread's cache */
	bool begun;
};

/* The syscalls every vfork child makes for itself, in our memory and its
 * parent's TCB, where the thread's cached TID names the parent
 * (agent-tid.c): execve, execveat, exit and exit_group are rare enough to
 * ask the kernel every time. (The pid of a syscall hit always comes from
 * the kernel: agent-run.h.) */
static bool ids_exact(uint64_t nr)
{
	return nr == 59 || nr == 322 || nr == 60 || nr == 231;
}

static void hit_init(struct sc_hit *h, struct bpftime_regs *regs, struct bpftime_map_region *r,
		     uint64_t nr)
{
	h->regs = regs;
	h->r = r;
	h->exact = ids_exact(nr);
	/* as a uprobe's: without a syscall */
	h->tid = h->exact ? (uint32_t)agent_sys_gettid() : agent_tid();
	h->begun = false;
}

/* Point the regs at the site (the thread's %rsp there and the address
 * after its syscall) and take the CPU slot. */
static void hit_begin(struct sc_hit *h)
{
	struct bpftime_regs *regs = h->regs;

	if (h->begun)
		return;
	regs->sp += FRAME_TO_SP;
	regs->ip = agent_sc_site_ip(*(uint64_t *)(regs + 1));
	agent_run_begin(&h->ar, h->r, regs, h->tid);
	h->begun = true;
}

static void hit_end(struct sc_hit *h)
{
	if (h->begun)
		bpftime_map_region__cpu_put(h->r, h->ar.cpu);
}

static void run_tp(struct sc_hit *h, struct agent_link **links, int n, struct sc_record *rec,
		   uint64_t rec_len)
{
	rec->pid = (int32_t)h->tid;
	for (int i = 0; i < n; i++) {
		struct sc_link *sl = (struct sc_link *)links[i];

		if (sl->l.prog->calls_out)
			hit_begin(h);
		rec->type = (uint16_t)sl->tp_id;
		agent_run_prog(&h->ar, &sl->l, rec, rec_len, &sl->faults,
			       " on a syscall tracepoint");
	}
}

/* The record's fixed part: every field stored once (a memset of it cost
 * a call and a loop per hit). */
static void rec_init(struct sc_record *rec, uint64_t nr)
{
	rec->type = 0;
	rec->flags = 0;
	rec->preempt_count = 0;
	rec->pid = 0;
	rec->id = (int64_t)nr;
}

/* The user pt_regs of syscall @nr as the kernel saved them at its entry
 * (entry_SYSCALL_64): cx the return address, r11 the flags, ax -ENOSYS
 * until the syscall sets it (@ax on the way out). */
static void user_image(struct bpftime_regs *img, const struct bpftime_regs *regs, uint64_t nr,
		       uint64_t ax)
{
	*img = *regs;
	img->orig_ax = nr;
	img->ax = ax;
	img->cx = regs->ip;
	img->r11 = regs->flags;
}

/* Run the kprobe (or kretprobe) links @links[0..n) of syscall @nr with the
 * wrapper's fake kernel pt_regs, whose di points to the image of the user
 * pt_regs (ax @ax). Their ctx points into the user registers: the run is
 * begun first. */
static void run_kprobes(struct sc_hit *h, struct agent_link **links, int n, uint64_t nr,
			uint64_t ax)
{
	struct agent_run *ar = &h->ar;
	struct bpftime_regs k, img;

	hit_begin(h);
	user_image(&img, h->regs, nr, ax);
	memset(&k, 0, sizeof(k));
	k.di = (uint64_t)(uintptr_t)&img; /* __x64_sys_X(const struct pt_regs *regs) */
	k.ax = img.ax;                    /* a kretprobe's result */
	k.orig_ax = ~0ull;
	k.ip = FAKE_SYS_IP(nr);
	k.cs = KERNEL_CS;
	k.ss = KERNEL_DS;
	k.flags = img.flags;
	ar->kmem = &img;
	ar->kmem_len = sizeof(img);
	for (int i = 0; i < n; i++) {
		struct sc_link *sl = (struct sc_link *)links[i];

		agent_run_prog(ar, &sl->l, &k, sizeof(k), &sl->faults, " on a syscall kprobe");
	}
	ar->kmem = NULL;
	ar->kmem_len = 0;
}

/* bpf_override_return() from a kprobe: skip the syscall (see the top). */
static void skip_syscall(struct bpftime_regs *regs, uint64_t nr, uint64_t rc)
{
	uint64_t *ret = (uint64_t *)(regs + 1);
	const uint8_t *next = (const uint8_t *)(uintptr_t)*ret;

	if (nr != 15 && nr != 56 && nr != 58 && nr != 435 && next[0] == 0x0f && next[1] == 0x05) {
		regs->ax = rc;
		*ret += SYSCALL_LEN;
		return;
	}
	if (!__atomic_fetch_add(&sc.override_refused, 1, __ATOMIC_RELAXED))
		agent_log(
		    agent_session_dir(),
		    "bpf_override_return() on a syscall kprobe ignored: clone, clone3, vfork "
		    "and rt_sigreturn always run, as does a syscall whose stub has no syscall "
		    "right after its enter call (later ones are not logged)",
		    NULL);
}

/* Does syscall @nr with @regs make a child that runs on our TCB until it
 * execs or exits? vfork always; clone and clone3 with CLONE_VFORK, as
 * posix_spawn's (the flags of clone3's struct clone_args are read with
 * process_vm_readv: a bad pointer fails the syscall, not us). The same
 * answer before and after the syscall: the registers are kept. */
static bool vforks(uint64_t nr, const struct bpftime_regs *regs)
{
	uint64_t flags = 0;

	if (nr == AGENT_NR_VFORK)
		return true;
	if (nr == AGENT_NR_CLONE)
		return regs->di & CLONE_VFORK;
	if (nr == AGENT_NR_CLONE3 && regs->si >= sizeof(flags)) {
		struct agent_iovec l = {&flags, sizeof(flags)};
		struct agent_iovec r = {(void *)(uintptr_t)regs->di, sizeof(flags)};

		return agent_process_vm_readv(agent_getpid(), &l, 1, &r, 1) ==
			   (long)sizeof(flags) &&
		       (flags & CLONE_VFORK);
	}
	return false;
}

void agent_sc_enter_c(struct bpftime_regs *regs)
{
	struct agent_link *links[2 * SC_SLOTS], *kp[SC_SLOTS];
	struct bpftime_map_region *r;
	uint64_t nr = regs->orig_ax;
	struct sc_record rec;
	struct sc_hit h;
	uint8_t want;
	int n, nk;

	/* a fork child's first syscall restarts the agent for it (agent-fork.c) */
	agent_fork_check();
	/* pairs with publish_wants' release: the lists it names are published */
	want = __atomic_load_n(&agent_sc_want_enter[(uint16_t)nr], __ATOMIC_ACQUIRE);
	/* the child will run on our TCB: its hits must not take our ids */
	if ((want & AGENT_SC_WANT_VFORK) && vforks(nr, regs))
		agent_tid_vfork(1);
	r = agent_rt_region();
	if (!r)
		return;
	/* numbers past the table: raw_syscalls only, as the kernel's */
	n = collect_tp(nr, want, sc.enter, &sc.raw_enter, links);
	nk = collect_kp(nr, want, sc.kprobe, kp);
	if (!n && !nk)
		return;
	hit_init(&h, regs, r, nr);
	if (n) {
		rec_init(&rec, nr);
		rec.args[0] = regs->di;
		rec.args[1] = regs->si;
		rec.args[2] = regs->dx;
		rec.args[3] = regs->r10;
		rec.args[4] = regs->r8;
		rec.args[5] = regs->r9;
		run_tp(&h, links, n, &rec, sizeof(rec));
	}
	if (nk)
		run_kprobes(&h, kp, nk, nr, (uint64_t)-ENOSYS);
	hit_end(&h);
	/* an override came from a helper: the run was begun */
	if (nk && h.ar.override)
		skip_syscall(regs, nr, h.ar.override_rc);
}

void agent_sc_exit_c(struct bpftime_regs *regs)
{
	struct agent_link *links[2 * SC_SLOTS], *kp[SC_SLOTS];
	struct bpftime_map_region *r;
	uint64_t nr = regs->orig_ax;
	struct sc_record rec;
	struct sc_hit h;
	uint8_t want;
	int n, nk;

	want = __atomic_load_n(&agent_sc_want_exit[(uint16_t)nr], __ATOMIC_ACQUIRE);
	/* the parent runs again: the child exec'd or exited (it skips this
	 * exit call, rw-syscall.h) */
	if ((want & AGENT_SC_WANT_VFORK) && vforks(nr, regs))
		agent_tid_vfork(-1);
	r = agent_rt_region();
	if (!r)
		return;
	n = collect_tp(nr, want, sc.exit, &sc.raw_exit, links);
	nk = collect_kp(nr, want, sc.kretprobe, kp);
	if (!n && !nk)
		return;
	hit_init(&h, regs, r, nr);
	if (nk) /* the wrapper returns before the sys_exit tracepoint */
		run_kprobes(&h, kp, nk, nr, regs->ax);
	if (n) {
		rec_init(&rec, nr);
		rec.args[0] = regs->ax;
		/* past the 24 bytes the programs see; not left undefined */
		for (int i = 1; i < 6; i++)
			rec.args[i] = 0;
		run_tp(&h, links, n, &rec, 24);
	}
	hit_end(&h);
}

/* ---- links (follower thread) ---- */

bool agent_sc_linked(uint32_t attach_id)
{
	for (int i = 0; i < SC_LINKS; i++)
		if (sc.links[i].in_use && sc.links[i].l.attach_id == attach_id)
			return true;
	return false;
}

uint32_t agent_sc_nr_links(void)
{
	return sc.nr_links;
}

bool agent_sc_nr_wanted(uint64_t nr)
{
	if (nr < AGENT_SC_NR)
		return agent_sc_want_enter[nr] || agent_sc_want_exit[nr];
	return sc.raw_enter.top || sc.raw_exit.top;
}

/* Trailing slots are emptied as links go (list_trim): a list has links
 * exactly when its top is not 0. */
static bool any(const struct sc_list *list)
{
	return list->top != 0;
}

/* Recompute the fast path's tables from the slots, after a link was
 * published (a hook that sees the byte set sees the link) or taken away
 * (a hook that still saw the byte finds no link and returns). */
static void publish_wants(void)
{
	uint8_t raw_enter = any(&sc.raw_enter) ? AGENT_SC_WANT_RAW : 0;
	uint8_t raw_exit = any(&sc.raw_exit) ? AGENT_SC_WANT_RAW : 0;

	for (uint32_t nr = 0; nr < AGENT_SC_WANT; nr++) {
		uint8_t e = raw_enter, x = raw_exit;

		if (nr < AGENT_SC_NR && vfork_watched[nr]) {
			e |= AGENT_SC_WANT_VFORK;
			x |= AGENT_SC_WANT_VFORK;
		}
		if (nr < AGENT_SC_NR) {
			e |= (any(&sc.enter[nr]) ? AGENT_SC_WANT_EVENT : 0) |
			     (any(&sc.kprobe[nr]) ? AGENT_SC_WANT_KPROBE : 0);
			x |= (any(&sc.exit[nr]) ? AGENT_SC_WANT_EVENT : 0) |
			     (any(&sc.kretprobe[nr]) ? AGENT_SC_WANT_KPROBE : 0);
		}
		/* only what changes: the tables' pages stay untouched (zero)
		 * until raw_syscalls links need them */
		if (agent_sc_want_enter[nr] != e)
			__atomic_store_n(&agent_sc_want_enter[nr], e, __ATOMIC_RELEASE);
		if (agent_sc_want_exit[nr] != x)
			__atomic_store_n(&agent_sc_want_exit[nr], x, __ATOMIC_RELEASE);
	}
}
void agent_sc_watch_vfork(uint32_t nr, bool on)
{
	if (nr >= AGENT_SC_NR)
		return;
	vfork_watched[nr] = on;
	publish_wants();
}

static int name_is(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* The list of event @a, or NULL when it is no syscall event. */
static struct sc_list *list_of(const struct bpftime_catalog_attach *a)
{
	bool exit = a->flags & BPFTIME_CATALOG_ATTACH_SYS_EXIT;
	char cat[sizeof(a->tp_category) + 1];

	if (a->kind == BPFTIME_CATALOG_KPROBE_SYSCALL ||
	    a->kind == BPFTIME_CATALOG_KRETPROBE_SYSCALL) {
		if (a->syscall_nr < 0 || a->syscall_nr >= AGENT_SC_NR)
			return NULL;
		return a->kind == BPFTIME_CATALOG_KPROBE_SYSCALL ? &sc.kprobe[a->syscall_nr]
								 : &sc.kretprobe[a->syscall_nr];
	}
	memcpy(cat, a->tp_category, sizeof(a->tp_category));
	cat[sizeof(a->tp_category)] = '\0';
	if (name_is(cat, "raw_syscalls") && a->syscall_nr == -1)
		return exit ? &sc.raw_exit : &sc.raw_enter;
	if (name_is(cat, "syscalls") && a->syscall_nr >= 0 && a->syscall_nr < AGENT_SC_NR)
		return exit ? &sc.exit[a->syscall_nr] : &sc.enter[a->syscall_nr];
	return NULL;
}

/* LAHF/SAHF in 64-bit mode: CPUID 0x80000001 ECX bit 0. */
static bool have_sahf(void)
{
	uint32_t a = 0x80000000u, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (a < 0x80000001u)
		return false;
	a = 0x80000001u;
	c = 0;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c & 1;
}

/* Set agent_sc_popf once, before the first link is published (the
 * entries' slow path runs only after that). */
static void sahf_check(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	__atomic_store_n(&agent_sc_popf, have_sahf() ? 0 : 1, __ATOMIC_RELEASE);
}

int agent_sc_link(const struct bpftime_catalog_attach *a, struct agent_prog *p)
{
	struct sc_list *list = list_of(a);
	uint64_t now = agent_sys_now_ns();
	struct sc_link *sl = NULL;
	int slot = -1;

	if (!list)
		return -EINVAL;
	sahf_check();
	for (int i = 0; i < SC_SLOTS && slot < 0; i++)
		if (!list->slot[i])
			slot = i;
	for (int i = 0; i < SC_LINKS && slot >= 0 && !sl; i++) {
		struct sc_link *c = &sc.links[i];

		/* a hook that loaded this entry a moment ago may still read it */
		if (!c->in_use && (!c->freed_at || now - c->freed_at > LINK_REUSE_NS))
			sl = c;
	}
	if (!sl)
		return -ENOSPC;
	memset(&sl->l, 0, sizeof(sl->l));
	sl->l.attach_id = a->id;
	sl->l.kind = a->kind;
	sl->l.cookie = a->cookie;
	sl->l.prog = p;
	if (a->kind == BPFTIME_CATALOG_KPROBE_SYSCALL ||
	    a->kind == BPFTIME_CATALOG_KRETPROBE_SYSCALL)
		sl->l.func_ip = FAKE_SYS_IP(a->syscall_nr);
	sl->tp_id = a->tp_id;
	sl->faults = 0;
	sl->list = list;
	sl->idx = (uint32_t)slot;
	sl->in_use = 1;
	sc.nr_links++;
	/* publishes the link's fields: pairs with the hooks' acquire */
	__atomic_store_n(&list->slot[slot], &sl->l, __ATOMIC_RELEASE);
	if ((uint32_t)slot >= list->top)
		__atomic_store_n(&list->top, (uint32_t)slot + 1, __ATOMIC_RELEASE);
	publish_wants();
	return 0;
}

/* Lower @list's top past its trailing empty slots. */
static void list_trim(struct sc_list *list)
{
	uint32_t top = list->top;

	while (top && !list->slot[top - 1])
		top--;
	if (top != list->top)
		__atomic_store_n(&list->top, top, __ATOMIC_RELEASE);
}

void agent_sc_unlink_others(const uint32_t *ids, uint32_t n)
{
	bool gone = false;

	for (int i = 0; i < SC_LINKS; i++) {
		struct sc_link *sl = &sc.links[i];
		bool keep = false;

		if (!sl->in_use)
			continue;
		for (uint32_t k = 0; k < n && !keep; k++)
			keep = ids[k] == sl->l.attach_id;
		if (keep)
			continue;
		__atomic_store_n(&sl->list->slot[sl->idx], NULL, __ATOMIC_RELEASE);
		list_trim(sl->list);
		sl->in_use = 0;
		sl->freed_at = agent_sys_now_ns();
		sc.nr_links--;
		gone = true;
	}
	if (gone)
		publish_wants();
}
