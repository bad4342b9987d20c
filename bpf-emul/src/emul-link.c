// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_link_create(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			  uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

void emul_link_release(struct bpftime_emul *e, struct emul_obj *o)
{
}

int emul_link_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_link_info *info, uint32_t *len)
{
	return -EINVAL;
}
