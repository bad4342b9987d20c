// SPDX-License-Identifier: MIT
/*
 * The runtime side of an object: the live copies of its global data, which
 * programs reach through BPF_PSEUDO_MAP_IDX_VALUE ld_imm64s.
 *
 * A copy is made on the first ld_imm64 that needs it, from the section's
 * bytes (zeroes for .bss), and shared by every vm loaded from the obj, as
 * the kernel shares one array map between the programs of an object.
 * Copies are made while loading, which is therefore not thread-safe for
 * the vms of one obj; running them is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "obj-internal.h"

static int make_copy(struct obj_map *m)
{
	/* calloc: 16-byte aligned, so every BPF access size is aligned as the
	 * program expects, and .bss (no init) comes out zeroed */
	m->data = calloc(1, m->pub.value_size);
	if (!m->data)
		return -ENOMEM;
	if (m->pub.init)
		memcpy(m->data, m->pub.init, m->pub.init_size);
	return 0;
}

int bpftime_obj__resolve_ldimm64(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct bpftime_obj *obj = host;
	struct obj_map *m;
	int err;

	if (!obj || !req || !value)
		return -EINVAL;
	if (req->src != BPF_PSEUDO_MAP_IDX_VALUE && req->src != BPF_PSEUDO_MAP_IDX)
		return -EOPNOTSUPP;
	/* the index names one of our maps (the kernel: fd_array bounds) */
	if (req->imm < 0 || (size_t)req->imm >= obj->nr_maps)
		return -EINVAL;
	m = &obj->maps[req->imm];
	if (!m->pub.global_data || req->src != BPF_PSEUDO_MAP_IDX_VALUE)
		return -EOPNOTSUPP;
	/* as array_map_direct_value_addr(): off >= value_size -> -EINVAL */
	if (req->next_imm < 0 || (uint32_t)req->next_imm >= m->pub.value_size)
		return -EINVAL;
	if (!m->data) {
		err = make_copy(m);
		if (err)
			return err;
	}
	*value = (uint64_t)(uintptr_t)m->data + (uint32_t)req->next_imm;
	return 0;
}

int bpftime_obj__add_regions(struct bpftime_obj *obj, struct bpftime_vm *vm)
{
	int err;

	if (!obj || !vm)
		return -EINVAL;
	for (size_t i = 0; i < obj->nr_maps; i++) {
		const struct obj_map *m = &obj->maps[i];
		unsigned flags = BPFTIME_VM_REGION_READ;

		if (!m->data)
			continue;
		if (!(m->pub.map_flags & BPF_F_RDONLY_PROG))
			flags |= BPFTIME_VM_REGION_WRITE;
		err = bpftime_vm__add_region(vm, m->data, m->pub.value_size, flags);
		if (err)
			return err;
	}
	return 0;
}

void *bpftime_obj__global_data(struct bpftime_obj *obj, size_t idx)
{
	if (!obj || idx >= obj->nr_maps)
		return NULL;
	return obj->maps[idx].data;
}
