// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints (syscalls/sys_{enter,exit}_*, raw_syscalls/sys_{enter,
 * exit}) and kprobes / kretprobes on syscall wrappers (__x64_sys_*) in this
 * process: the follower's side. Each wanted attachment
 * becomes a link of the hook path (agent-sc.c); while any link exists,
 * the process's syscall sites are patched (agent-sc-sites.c): every
 * WINDOW site, and each `mov $nr,%eax; syscall` site only while a link
 * wants its number (so an untraced syscall with a known number pays
 * nothing); files mapped later are patched on later passes (the follower
 * calls us on every pass); with no link, every site is put back.
 */
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sc.h"

#define MAX_TP 1024

void agent_tp_apply(const struct bpftime_catalog_attach *const *w, uint32_t n)
{
	static uint32_t ids[MAX_TP];
	static const struct bpftime_catalog_attach *linked[MAX_TP];
	uint32_t nr_ids = 0, nr_linked = 0;

	for (uint32_t i = 0; i < n && nr_ids < MAX_TP; i++)
		ids[nr_ids++] = w[i]->id;
	agent_sc_unlink_others(ids, nr_ids);
	for (uint32_t i = 0; i < n; i++) {
		const struct bpftime_catalog_attach *a = w[i];
		struct agent_prog *p;
		int err;

		if (agent_sc_linked(a->id))
			continue;
		p = agent_rt_prog(a->prog_id, &err);
		if (!p) {
			if (err != -ESTALE)
				agent_rt_refuse(a, "cannot load its program", err, NULL);
			continue;
		}
		err = agent_sc_link(a, p);
		if (err == -EINVAL)
			agent_rt_refuse(a, "not a syscall event", err, a->tp_name);
		else if (err)
			agent_rt_refuse(a, "too many links on one syscall event", err, a->tp_name);
		else if (nr_linked < MAX_TP)
			linked[nr_linked++] = a;
	}
	if (agent_sc_nr_links())
		agent_sc_sites_sync();
	else
		agent_sc_sites_disable();
	/* "hooked" once the sites of its number are patched (the sync above):
	 * from then on every such syscall of this process runs it, and a
	 * tool (or test) that waits for the line may start the workload */
	for (uint32_t i = 0; i < nr_linked; i++)
		agent_rt_refuse(linked[i], "hooked", 0, linked[i]->tp_name);
}
