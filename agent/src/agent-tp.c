// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints (syscalls/sys_{enter,exit}_*, raw_syscalls/sys_{enter,exit}) in this
 * process. Not served yet: each attachment is refused once, with the
 * reason, in agent.log.
 */
#include "agent-internal.h"
#include "agent-runtime.h"

void agent_tp_apply(const struct bpftime_catalog_attach *const *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		agent_rt_refuse(w[i], "syscall tracepoints are not hooked in targets yet",
				-EOPNOTSUPP, NULL);
}
