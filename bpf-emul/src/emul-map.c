// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_map_create(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_lookup_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_update_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_delete_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_get_next_key(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_lookup_and_delete_elem(struct bpftime_emul *e, struct bpftime_caller *c,
					 union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_freeze(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_lookup_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_lookup_and_delete_batch(struct bpftime_emul *e, struct bpftime_caller *c,
					  union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_update_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

long emul_cmd_map_delete_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}

void emul_map_release(struct bpftime_emul *e, struct emul_obj *o)
{
}
