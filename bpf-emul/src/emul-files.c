// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written. */
#include "emul-internal.h"

long bpftime_emul__openat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			  uint64_t upath, int flags, unsigned int mode)
{
	return BPFTIME_EMUL_CONTINUE;
}

long bpftime_emul__faccessat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			     uint64_t upath, int mode, int flags)
{
	return BPFTIME_EMUL_CONTINUE;
}
