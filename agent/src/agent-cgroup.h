/* SPDX-License-Identifier: MIT */
/*
 * bpf_get_current_cgroup_id() (agent-cgroup.c): the process's cgroup v2 id,
 * read once per process. Freestanding; hook path after the first call.
 */
#ifndef BPFTIME_AGENT_CGROUP_H
#define BPFTIME_AGENT_CGROUP_H

#include <stdint.h>

uint64_t agent_cgroup_id(void);

#endif /* BPFTIME_AGENT_CGROUP_H */
