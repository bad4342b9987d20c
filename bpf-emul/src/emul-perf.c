// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written. */
#include "emul-internal.h"

long bpftime_emul__perf_event_open(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t uattr,
				   int pid, int cpu, int group_fd, unsigned long flags)
{
	return -ENOENT;
}

long bpftime_emul__ioctl(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
			 unsigned long req, uint64_t arg)
{
	return BPFTIME_EMUL_CONTINUE;
}

void emul_perf_release(struct bpftime_emul *e, struct emul_obj *o)
{
}

long emul_mmap(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t addr, uint64_t len,
	       int prot, int flags, int fd, uint64_t off)
{
	return BPFTIME_EMUL_CONTINUE;
}
