// SPDX-License-Identifier: MIT
/*
 * The hook path: what a patched instruction runs, on the hooked thread,
 * through the trampoline (rewrite.h), before the displaced instructions.
 *
 * For a kernel uprobe, every BPF program attached to the probe runs with
 * the thread's pt_regs (read-only to the program) and "current" is the
 * thread; the same here. One CPU slot is held for the run (per-CPU maps and
 * perf buffers are indexed by it; see maps.h), taken near the CPU the
 * thread is on, from before the first program that calls a helper to the
 * end of the run: a program without calls cannot tell it ran without.
 *
 * Nothing here allocates, locks or calls libc: the thread may be in the
 * middle of malloc (the probed function itself) or hold any lock.
 */
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

void agent_run_prog(struct agent_run *run, const struct agent_link *l, void *ctx, uint64_t ctx_len,
		    uint32_t *faults, const char *where)
{
	struct bpftime_vm_run vr;
	char line[300], msg[200];
	struct agent_buf b;

	/* the run's inputs; outputs are written by the vm */
	vr.ctx = ctx;
	vr.ctx_len = ctx_len;
	vr.cookie = run;
	vr.flags = BPFTIME_VM_RUN_CTX_RDONLY;
	run->link = l;
	if (!bpftime_vm__run(l->prog->vm, &vr))
		return;
	/* the first failed run of a site's links is logged; the rest counted */
	if (__atomic_fetch_add(faults, 1, __ATOMIC_RELAXED))
		return;
	bpftime_vm_fault__format(&vr.fault, msg, sizeof(msg));
	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, "prog '");
	agent_buf_str(&b, l->prog->name);
	agent_buf_str(&b, "' stopped");
	agent_buf_str(&b, where);
	agent_buf_str(&b, " (later failures are not logged): ");
	agent_buf_str(&b, msg);
	agent_log(agent_session_dir(), line, NULL);
}

/* Every field, one store each: a compound literal or memset becomes
 * `rep stos` (~10 ns a hit: microcoded start-up). */
static inline void run_init(struct agent_run *run, struct bpftime_map_region *r,
			    struct bpftime_regs *regs, uint32_t cpu, uint32_t tid)
{
	_Static_assert(sizeof(struct agent_run) == 72, "a field to initialise here");
	run->regs = regs;
	run->link = NULL;
	run->region = r;
	run->cpu = cpu;
	run->tid = tid;
	run->pid = 0;
	run->flags = 0;
	run->override_rc = 0;
	run->override = false;
	run->kmem = NULL;
	run->kmem_len = 0;
}

void agent_run_begin(struct agent_run *run, struct bpftime_map_region *r, struct bpftime_regs *regs,
		     uint32_t tid)
{
	run_init(run, r, regs, UINT32_MAX, tid);
	/* the TID as the hint: threads spread over the slots, and a thread
	 * finds its slot free again on its next hit (RDTSCP's CPU number
	 * cost ~18 ns a hit; slots are not CPUs anyway, see maps.h) */
	run->cpu = bpftime_map_region__cpu_get(r, tid, tid);
}

/* Run the links of @s of @kind with @regs as ctx, in slot order. The
 * CPU slot and the TID are taken before the first program that calls out
 * (agent_prog.calls_out): only helpers see them, and a program without
 * one, e.g. an empty one, runs without both. @return whether any ran,
 * *@other whether @s has links of the other kind (a hint: the slots may
 * change under us; a link seen here and gone by the run is not run). */
static bool run_links(struct agent_site *s, uint32_t kind, struct bpftime_regs *regs,
		      struct bpftime_map_region *r, uint32_t *tid, struct agent_run *run,
		      bool *other)
{
	bool ran = false, begun = false;

	*other = false;
	for (int i = 0; i < AGENT_SITE_LINKS; i++) {
		/* pairs with the follower's release store of the slot */
		struct agent_link *l = __atomic_load_n(&s->links[i], __ATOMIC_ACQUIRE);

		if (!l)
			continue;
		if (l->kind != kind) {
			*other = true;
			continue;
		}
		if (!ran) {
			/* no CPU slot yet: cpu_put ignores an index past nr_cpus */
			run_init(run, r, regs, UINT32_MAX, 0);
			ran = true;
		}
		if (!begun && l->prog->calls_out) {
			if (!*tid)
				*tid = agent_tid();
			agent_run_begin(run, r, regs, *tid);
			run->flags |= AGENT_RUN_PID_CACHED;
			begun = true;
		}
		agent_run_prog(run, l, regs, sizeof(*regs), &s->faults, "");
	}
	if (begun)
		bpftime_map_region__cpu_put(r, run->cpu);
	return ran;
}

int agent_hook_fire(void *ctx, struct bpftime_regs *regs)
{
	struct agent_site *s = ctx;
	struct bpftime_map_region *r = agent_rt_region();
	struct agent_run run;
	uint32_t tid = 0, kinds;
	bool ret_links, other;

	if (!r)
		return 0;
	agent_fork_check();
	kinds = __atomic_load_n(&s->kinds, __ATOMIC_RELAXED);
	ret_links = kinds & (1u << BPFTIME_CATALOG_URETPROBE);
	/* a uretprobe alone needs no run (and no CPU slot) at the entry */
	if ((kinds & (1u << BPFTIME_CATALOG_UPROBE)) &&
	    run_links(s, BPFTIME_CATALOG_UPROBE, regs, r, &tid, &run, &other) && run.override) {
		/* bpf_override_return(): return rc from the function now,
		 * skipping it (rewrite.h: meaningful at a function's entry, as
		 * the kernel's override for kprobes at the entry; the
		 * catalog's offset is a function symbol's start). Nothing
		 * returns through a uretprobe then. */
		regs->ax = run.override_rc;
		return 1;
	}
	/* the function is called through the gate agent_uret_push() put in
	 * regs->ip (rewrite.h: handler return 2) */
	if (ret_links && agent_uret_push(tid, regs, s))
		return 2;
	return 0;
}

void agent_hook_ret(struct agent_site *s, struct bpftime_regs *regs, uint32_t tid)
{
	struct bpftime_map_region *r = agent_rt_region();
	struct agent_run run;
	bool entry_links;

	if (r)
		run_links(s, BPFTIME_CATALOG_URETPROBE, regs, r, &tid, &run, &entry_links);
}
