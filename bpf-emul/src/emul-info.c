// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_obj_get_info_by_fd(struct bpftime_emul *e, struct bpftime_caller *c,
				 union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_get_next_id(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			  uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_get_fd_by_id(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			   uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

int emul_map_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_map_info *info, uint32_t *len)
{
	return -EINVAL;
}
