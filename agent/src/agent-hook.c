// SPDX-License-Identifier: MIT
/*
 * The hook path: what a patched instruction runs, on the hooked thread,
 * through the trampoline (rewrite.h), before the displaced instructions.
 *
 * For a kernel uprobe, every BPF program attached to the probe runs with
 * the thread's pt_regs (read-only to the program) and "current" is the
 * thread; the same here. One CPU slot is held for the run (per-CPU maps and
 * perf buffers are indexed by it; see maps.h), taken near the CPU the
 * thread is on.
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

/* Run the links of @s of @kind with @regs as ctx; @run is filled but for
 * the link. */
static void run_links(struct agent_site *s, uint32_t kind, struct bpftime_regs *regs,
		      struct agent_run *run)
{
	for (int i = 0; i < AGENT_SITE_LINKS; i++) {
		/* pairs with the follower's release store of the slot */
		struct agent_link *l = __atomic_load_n(&s->links[i], __ATOMIC_ACQUIRE);

		if (l && l->kind == kind)
			agent_run_prog(run, l, regs, sizeof(*regs), &s->faults, "");
	}
}

void agent_run_begin(struct agent_run *run, struct bpftime_map_region *r, struct bpftime_regs *regs,
		     uint32_t tid)
{
	memset(run, 0, sizeof(*run));
	run->regs = regs;
	run->region = r;
	run->tid = tid;
	/* the TID as the hint: threads spread over the slots, and a thread
	 * finds its slot free again on its next hit (RDTSCP's CPU number
	 * cost ~18 ns a hit; slots are not CPUs anyway, see maps.h) */
	run->cpu = bpftime_map_region__cpu_get(r, tid, tid);
}

/* Which kinds of links @s has now (a hint: the slots may change under us;
 * a link seen here and gone by the run is simply not run). */
static void kinds_of(struct agent_site *s, bool *entry, bool *ret)
{
	*entry = *ret = false;
	for (int i = 0; i < AGENT_SITE_LINKS; i++) {
		struct agent_link *l = __atomic_load_n(&s->links[i], __ATOMIC_ACQUIRE);

		if (l) {
			*entry |= l->kind == BPFTIME_CATALOG_UPROBE;
			*ret |= l->kind == BPFTIME_CATALOG_URETPROBE;
		}
	}
}

int agent_hook_fire(void *ctx, struct bpftime_regs *regs)
{
	struct agent_site *s = ctx;
	struct bpftime_map_region *r = agent_rt_region();
	struct agent_run run;
	bool entry, ret_links;
	uint32_t tid;

	if (!r)
		return 0;
	agent_fork_check();
	tid = agent_tid();
	kinds_of(s, &entry, &ret_links);
	/* a uretprobe alone needs no run (and no CPU slot) at the entry */
	if (entry) {
		agent_run_begin(&run, r, regs, tid);
		run_links(s, BPFTIME_CATALOG_UPROBE, regs, &run);
		bpftime_map_region__cpu_put(r, run.cpu);
		/* bpf_override_return(): return rc from the function now,
		 * skipping it (rewrite.h: meaningful at a function's entry, as
		 * the kernel's override for kprobes at the entry; the
		 * catalog's offset is a function symbol's start). Nothing
		 * returns through a uretprobe then. */
		if (run.override) {
			regs->ax = run.override_rc;
			return 1;
		}
	}
	if (ret_links)
		agent_uret_push(tid, regs, s);
	return 0;
}

void agent_hook_ret(struct agent_site *s, struct bpftime_regs *regs, uint32_t tid)
{
	struct bpftime_map_region *r = agent_rt_region();
	struct agent_run run;

	if (!r)
		return;
	agent_run_begin(&run, r, regs, tid);
	run_links(s, BPFTIME_CATALOG_URETPROBE, regs, &run);
	bpftime_map_region__cpu_put(r, run.cpu);
}
