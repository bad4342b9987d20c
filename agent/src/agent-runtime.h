/* SPDX-License-Identifier: MIT */
/*
 * The agent's runtime: the follower thread that keeps this process's hooks
 * equal to what the session's catalog asks for (agent-runtime.c), the
 * programs it loads (agent-prog.c) and the hook that runs them
 * (agent-hook.c).
 */
#ifndef BPFTIME_AGENT_RUNTIME_H
#define BPFTIME_AGENT_RUNTIME_H

#include <stdint.h>
#include <bpftime/catalog.h>
#include <bpftime/rewrite.h>
#include "agent-run.h"

#define AGENT_SITE_LINKS 8 /* links (perf events) sharing one patched site */

/* One patched instruction of this process. The trampoline is kept once
 * made (a thread may still be in it); the site is re-patched when a link
 * wants it again. links[] is what the hook runs: slots are written by the
 * follower with release stores, read by hooks with acquire loads. */
struct agent_site {
	uint64_t addr; /* 0: a free entry */
	uint64_t dev, ino, offset;
	struct bpftime_rw_hook hook;
	struct agent_link *links[AGENT_SITE_LINKS];
	/* which kinds links[] has (1 << BPFTIME_CATALOG_UPROBE, ...): a hook
	 * skips a pass that has nothing to run (a uretprobe alone runs no
	 * entry pass). Rewritten by the follower after links[], read
	 * relaxed: a link a hook misses this way is one just made. */
	uint32_t kinds;
	uint32_t faults;   /* runs that failed (logged once) */
	bool func_entry;   /* push %rbp or endbr64: is_uprobe_at_func_entry() */
	uint8_t patch_len; /* bytes the jmp displaces (the plan's orig_len) */
};

/* Start following the session in @session (copied by the caller, lives as
 * long as the agent); @first_pass: hook what is attached already before
 * returning (the dynamic loader's constructor); @started: the process was
 * started with the agent (`bpftime start`), not attached to: its fork
 * children are watched from the start (agent-forkwatch.c, before the
 * program runs; an attached process's from the follower's first moment),
 * and the agent stays mapped. @return 0 or -errno. */
int agent_rt_start(const char *session, bool first_pass, bool started);

/* Stop following: unpatch every site and end the thread. @return 1 when
 * no hook was ever installed (the agent's code may be unmapped), 0 when
 * trampolines may still lead into it. */
int agent_rt_stop(void);

/* After fork, in the child: start a follower for this process, from the
 * state copied from the parent. @return 0 or -errno. */
int agent_rt_forked(void);

/* agent-fork.c: mark this process so that its fork children can be told
 * apart (once, before the first hook); then agent_fork_check() on every
 * hook restarts the agent in a child (agent_main_forked). */
int agent_fork_init(void);
void agent_fork_check(void);

/* agent-forkwatch.c: patch, for good, the syscall every fork child of libc
 * makes first (in _Fork), so that a child forked before any hook restarts
 * the agent too; once per process image, after agent_fork_init(). undo
 * puts the bytes back (detach) and @return whether any was patched (the
 * agent must then stay mapped). site: is @addr such a site? */
void agent_forkwatch_init(void);
bool agent_forkwatch_undo(void);
bool agent_forkwatch_site(uint64_t addr);

/* The word agent_fork_check() reads, or NULL (read by agent-sc.c's entries). */
extern uint32_t *agent_fork_here;

/* agent-main.c: the agent in a fork child: its proof of life, a follower. */
void agent_main_forked(void);

/* agent-park.c: bpftime_rw__patch(@hook) while every other running thread
 * is parked clear of (lo, hi), the bytes the jmp replaces. Follower only.
 * -EAGAIN, nothing written: a thread blocked outside a system call (a
 * ptrace stop, a page fault) sits inside; try again on a later pass. */
int agent_park_patch(struct bpftime_rw_hook *hook, uint64_t lo, uint64_t hi);
/* The pieces, for patching many sites in one park: begin parks every other
 * running thread (false: some could not be, or no signal was free; patch
 * anyway at that risk); inside tells whether a parked thread, or one
 * blocked outside a system call, sits strictly inside (lo, hi); end lets
 * them go. */
bool agent_park_begin(void);
/* In a fork child, before anything else: forget a park in progress. */
void agent_park_forked(void);
bool agent_park_inside(uint64_t lo, uint64_t hi);
void agent_park_end(void);

/* agent-tid.c: the calling thread's id, and its process's (cached per
 * thread where that is safe, else gettid() and getpid()).
 * agent_tid_init() once, before any hook; agent_tid_forked() in a fork
 * child before its first hook. */
void agent_tid_init(void);
uint32_t agent_tid(void);
uint32_t agent_pid(void);
void agent_tid_forked(void);
/* A vfork begins (@delta 1: the parent's enter hook) or ends (-1: its exit
 * hook, once the child has exec'd or exited). While one is in flight the
 * ids come from the kernel: the child runs on its parent's TCB. */
void agent_tid_vfork(int delta);

/* The maps region of the session followed now (NULL before the first). */
struct bpftime_map_region *agent_rt_region(void);

/* The loaded program with catalog id @id, loading it on first use
 * (follower thread only). NULL with *@err: -ENOENT not in the catalog,
 * -ESTALE it went meanwhile, or its load error (logged once). */
struct agent_prog *agent_rt_prog(uint32_t id, int *err);

/* Say once in agent.log that attachment @a cannot be served here, and why
 * (follower thread only). */
void agent_rt_refuse(const struct bpftime_catalog_attach *a, const char *what, int err,
		     const char *detail);

/* agent-tp.c: make this process's syscall hooks run exactly the
 * attachments @w[0..n) (kind BPFTIME_CATALOG_TRACEPOINT, _KPROBE_SYSCALL
 * or _KRETPROBE_SYSCALL, enabled, for this process); n == 0 removes every
 * syscall hook. Follower thread only. */
void agent_tp_apply(const struct bpftime_catalog_attach *const *w, uint32_t n);

/* agent-exec.c: run the sys_exit links of the execve that started this
 * image (the constructor's first pass, once linked). */
void agent_exec_returned(void);

/* agent-prog.c: load catalog program @cp (entry @idx) into @p. Follower
 * thread only. @return 0 or -errno (logged). */
int agent_prog_load(struct agent_prog *p, const struct bpftime_catalog_view *cat, uint32_t idx,
		    const struct bpftime_catalog_prog *cp);

/* agent-hook.c: the trampolines' handler; @ctx is the struct agent_site.
 * @return 1 when a program called bpf_override_return() (ax set: the
 * trampoline returns from the function), 2 when the function's return is
 * probed (it is called through regs->ip, agent-uret.c), else 0
 * (bpftime_rw_handler_fn). */
int agent_hook_fire(void *ctx, struct bpftime_regs *regs);

/* agent-hook.c: start a run of programs on this thread (@run zeroed and
 * filled, a CPU slot taken: give it back with bpftime_map_region__cpu_put
 * (r, run->cpu)), and run link @l's program on @ctx; the first failed run
 * counted in *@faults is logged, naming @where ("" or " on ..."). */
void agent_run_begin(struct agent_run *run, struct bpftime_map_region *r, struct bpftime_regs *regs,
		     uint32_t tid);
void agent_run_prog(struct agent_run *run, const struct agent_link *l, void *ctx, uint64_t ctx_len,
		    uint32_t *faults, const char *where);

/* agent-hook.c: run @s's uretprobe links with the registers of a return
 * (from agent-uret.c's trampoline) on thread @tid (0: not known yet). */
void agent_hook_ret(struct agent_site *s, struct bpftime_regs *regs, uint32_t tid);

/* agent-uret.c: map the per-thread return instances (follower, before the
 * first uretprobe is hooked). @return 0 or -ENOMEM. */
int agent_uret_init(void);

/* agent-uret.c: on a hit at a function's entry by thread @tid (0: not
 * known yet), make its return go through the return trampoline: regs->ip
 * is then the gate to call the function through (the hook returns 2,
 * rewrite.h). @return false when it could not (no table, no slot for the
 * thread, DEPTH instances already). */
bool agent_uret_push(uint32_t tid, struct bpftime_regs *regs, struct agent_site *site);

#endif /* BPFTIME_AGENT_RUNTIME_H */
