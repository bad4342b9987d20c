// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_prog_load(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_prog_bind_map(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			    uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

void emul_prog_release(struct bpftime_emul *e, struct emul_obj *o)
{
}

int emul_prog_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_prog_info *info, uint32_t *len)
{
	return -EINVAL;
}
