// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written. */
#include "emul-internal.h"

long bpftime_emul__epoll_ctl(struct bpftime_emul *e, struct bpftime_caller *c, int epfd, int op,
			     int fd, uint64_t uevent)
{
	return BPFTIME_EMUL_CONTINUE;
}

void bpftime_emul__caller_gone(struct bpftime_emul *e, pid_t pid)
{
}
