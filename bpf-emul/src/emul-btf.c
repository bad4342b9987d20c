// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_btf_load(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
		       uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

void emul_btf_release(struct bpftime_emul *e, struct emul_obj *o)
{
}

int emul_btf_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_btf_info *info, uint32_t *len)
{
	return -EINVAL;
}
