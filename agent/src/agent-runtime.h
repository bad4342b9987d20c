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
	uint32_t kind; /* BPFTIME_CATALOG_UPROBE */
	struct bpftime_rw_hook hook;
	struct agent_link *links[AGENT_SITE_LINKS];
	uint32_t faults; /* runs that failed (logged once) */
	bool func_entry; /* push %rbp or endbr64: is_uprobe_at_func_entry() */
};

/* Start following the session in @session (copied by the caller, lives as
 * long as the agent). @return 0 or -errno. */
int agent_rt_start(const char *session);

/* Stop following: unpatch every site and end the thread. @return 1 when
 * no hook was ever installed (the agent's code may be unmapped), 0 when
 * trampolines may still lead into it. */
int agent_rt_stop(void);

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

/* agent-tp.c: make this process's syscall hooks run exactly the tracepoint
 * attachments @w[0..n) (kind BPFTIME_CATALOG_TRACEPOINT, enabled, for this
 * process); n == 0 removes every syscall hook. Follower thread only. */
void agent_tp_apply(const struct bpftime_catalog_attach *const *w, uint32_t n);

/* agent-prog.c: load catalog program @cp (entry @idx) into @p. Follower
 * thread only. @return 0 or -errno (logged). */
int agent_prog_load(struct agent_prog *p, const struct bpftime_catalog_view *cat, uint32_t idx,
		    const struct bpftime_catalog_prog *cp);

/* agent-hook.c: the trampolines' handler; @ctx is the struct agent_site. */
void agent_hook_fire(void *ctx, struct bpftime_regs *regs);

#endif /* BPFTIME_AGENT_RUNTIME_H */
