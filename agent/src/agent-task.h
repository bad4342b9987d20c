/* SPDX-License-Identifier: MIT */
/*
 * "current" as kernel memory (agent-task.c): bpf_get_current_task() gives
 * the address of a per-thread image of struct task_struct laid out at the
 * host's offsets (bpftime/task-layout.h), and bpf_probe_read_kernel()
 * reads the images, nothing else. Freestanding; hook path.
 */
#ifndef BPFTIME_AGENT_TASK_H
#define BPFTIME_AGENT_TASK_H

#include <stdint.h>

/* The images live at made-up addresses in the kernel's direct map, so that
 * a program never holds a pointer it could use without the helpers, and a
 * user-memory read of one fails as on the kernel. */
#define AGENT_TASK_BASE 0xffff888000000000ull

/* bpf_get_current_task() for thread @tid of process @pid: its image's
 * address, refreshed (pid, tgid now; comm, the parent, the leader and the
 * mount namespace when read). Without a layout (no session file, a full
 * table) an address every read refuses, as before images existed. */
uint64_t agent_task_current(uint32_t tid, uint32_t pid);

/* Where [@addr, @addr + 1) lies in an image, filling the fields from
 * there to @addr + @len first when thread @tid owns it: the host address
 * and, in *@avail, the bytes readable from there to the image's end
 * (0 and NULL: not image memory). */
const void *agent_task_span(uint64_t addr, uint32_t len, uint32_t tid, uint32_t *avail);

#endif /* BPFTIME_AGENT_TASK_H */
