/* SPDX-License-Identifier: MIT */
/*
 * What a program run inside a target sees: the link it runs for, the
 * program and its maps, and the state of one run. Shared by the runtime
 * (agent-runtime.c, agent-hook.c: who builds runs) and the helpers
 * (agent-helpers.c: who reads them through bpftime_vm_call__cookie()).
 *
 * Freestanding like the rest of the agent: no libc, no TLS, no allocation
 * on the hook path.
 */
#ifndef BPFTIME_AGENT_RUN_H
#define BPFTIME_AGENT_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <bpftime/maps.h>
#include <bpftime/rewrite.h>
#include <bpftime/vm.h>

#define AGENT_PROG_MAX_MAPS 64 /* maps one program names (ld_imm64) */

/* One program of the catalog, loaded on this process's vm. Built by the
 * follower thread, read-only once published; never freed while the
 * process runs (a hook may still be running it: see agent-runtime.c). */
struct agent_prog {
	uint32_t id; /* the catalog's (bpf_prog_info.id) */
	uint32_t type;
	char name[16];
	/* it has a call that is not to one of its own functions (a helper,
	 * a tail call, a kfunc, callx): only those see the run's CPU slot and
	 * TID, which a hook takes only for such programs (agent-hook.c) */
	bool calls_out;
	struct bpftime_vm *vm;
	uint32_t nr_maps;
	struct bpftime_map *maps[AGENT_PROG_MAX_MAPS]; /* those it names */
};

/* One attachment (perf event) running a program in this process. */
struct agent_link {
	uint32_t attach_id; /* the catalog's (perf event id) */
	uint32_t kind;      /* enum bpftime_catalog_attach_kind */
	uint64_t cookie;    /* bpf_get_attach_cookie() */
	uint64_t func_ip;   /* bpf_get_func_ip(): the probed address here */
	struct agent_prog *prog;
	/* the probed instruction is push %rbp or endbr64 (the plan's orig[]):
	 * the return address is still at *%rsp, and user stacks get it, as
	 * the kernel's is_uprobe_at_func_entry() (6.12) */
	bool func_entry;
};

/* agent_run.flags: the pid may be the thread's cached one (agent-tid.c):
 * set for uprobe hits. Not for syscall hits, which pay a syscall anyway:
 * there a vfork child, which borrows its parent's TCB and so its cached
 * ids, makes most of the calls it makes for itself. */
#define AGENT_RUN_PID_CACHED (1u << 0)

/*
 * One run (on the hooked thread's stack). The helpers' view of "current".
 * pid and tid are filled lazily by the helpers that need them (0: not yet
 * asked): a getpid()/gettid() per hit would cost more than most programs.
 */
struct agent_run {
	struct bpftime_regs *regs;     /* the ctx: the thread's registers at the site */
	const struct agent_link *link; /* what runs */
	struct bpftime_map_region *region;
	uint32_t cpu;   /* the CPU slot held for this run (per-CPU maps, perf output) */
	uint32_t tid;   /* the thread's id, as gettid() */
	uint32_t pid;   /* 0 until a helper asked */
	uint32_t flags; /* AGENT_RUN_* */
	/* bpf_override_return(): set by the helper, honoured by the hook */
	uint64_t override_rc;
	bool override;
	/* the run's own range of kernel memory for bpf_probe_read_kernel()
	 * (NULL: none): a syscall kprobe's image of the user pt_regs its
	 * ctx->di points to (agent-sc.c). The other ranges it reads are the
	 * per-thread images of "current" (agent-task.c), found by address. */
	const void *kmem;
	uint64_t kmem_len;
};

/* agent-helpers.c: make every helper the agent provides callable on @vm
 * (before bpftime_vm__load). @return 0 or -errno of the registration. */
int agent_helpers_register(struct bpftime_vm *vm);

/* agent-helpers.c: bpf_tail_call target lookup for opts.tail_call (host is
 * the struct agent_prog of the vm). */
const struct bpftime_vm *agent_helpers_tail_call(void *host, uint64_t map, uint64_t index);

/* agent-runtime.c: the loaded program with catalog id @id, NULL when this
 * process has none (yet). Lock-free; for tail calls on the hook path. */
const struct agent_prog *agent_prog_find(uint32_t id);

/* The session directory (for bpf_trace_printk's output). Set once by
 * bpftime_agent_main() before any hook can run. */
const char *agent_session_dir(void);

#endif /* BPFTIME_AGENT_RUN_H */
