// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_PROG_ARRAY and BPF_MAP_TYPE_CGROUP_ARRAY: the kernel's fd
 * arrays (kernel/bpf/arraymap.c, fd_array_map_*), which hold references to
 * objects given to bpf(2) as fds. Here bpf-emul resolves the fd and hands
 * us the object's u32: a program id for a prog array, whatever it uses to
 * name a cgroup for a cgroup array.
 *
 *   data: u64 slot[max_entries]: 0 = empty, else (1 << 32) | value
 *
 * One 64-bit word per slot, read and swapped atomically (the kernel's
 * READ_ONCE/xchg on its pointer array), so there is no lock and nothing a
 * killed process can leave half-done. The presence bit lets a cgroup array
 * hold any u32, 0 included.
 *
 * Syscall side, as bpf(2) answers for these types:
 *   lookup   prog array: the program id (prog_fd_array_sys_lookup_elem);
 *            cgroup array: -ENOTSUPP (no map_fd_sys_lookup_elem)
 *   update   only BPF_ANY (-EINVAL), index < max_entries (-E2BIG)
 *   delete   -E2BIG past the end, -ENOENT when empty
 *   others   get_next_key as an array; lookup_and_delete and batches
 *            -ENOTSUPP
 * Program side: bpftime_map__prog_array_get(), for bpf_tail_call (and the
 * cgroup helpers); bpf_map_lookup_elem on these maps is refused by the
 * verifier (NULL here).
 */
#include <errno.h>
#include <limits.h>
#include "map-internal.h"

#define FD_ARRAY_CREATE_FLAG_MASK (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)
#define SLOT_PRESENT              (1ull << 32)
#define MAP_ENOTSUPP              524 /* the kernel's ENOTSUPP, not in the UAPI */

static uint64_t *slots(const struct bpftime_map *m)
{
	return (uint64_t *)m->data;
}

/*
 * As fd_array_map_alloc_check() then array_map_alloc_check(): 4-byte
 * values, no program-side access flags, none of the flags only an ARRAY
 * (BPF_F_MMAPABLE, BPF_F_INNER_MAP) or a perf event array
 * (BPF_F_PRESERVE_ELEMS) may carry.
 */
static int fd_array_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->value_size != sizeof(uint32_t) ||
	    (a->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)))
		return -EINVAL;
	if (a->max_entries == 0 || a->key_size != 4 || (a->map_flags & ~FD_ARRAY_CREATE_FLAG_MASK))
		return -EINVAL;
	return 0;
}

static uint64_t fd_array_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (uint64_t)a->max_entries * sizeof(uint64_t);
}

static int index_of(const struct bpftime_map *m, const void *key, uint32_t *idx)
{
	map_copy(idx, key, sizeof(*idx));
	return *idx < m->d->attr.max_entries ? 0 : -1;
}

static bool is_prog_array(const struct bpftime_map *m)
{
	return m->d->attr.map_type == BPF_MAP_TYPE_PROG_ARRAY;
}

/* As bpf_fd_array_map_lookup_elem(). */
static int fd_array_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	uint32_t idx, v;
	uint64_t s;

	if (!is_prog_array(m))
		return -MAP_ENOTSUPP; /* before the index is looked at */
	if (index_of(m, key, &idx))
		return -ENOENT;
	s = __atomic_load_n(&slots(m)[idx], __ATOMIC_ACQUIRE);
	if (!s)
		return -ENOENT;
	v = (uint32_t)s;
	map_copy(value, &v, sizeof(v));
	return 0;
}

/* As bpf_fd_array_map_update_elem(); map_fd_get_ptr is bpf-emul's part. */
static int fd_array_update(struct bpftime_map *m, const void *key, const void *value,
			   uint64_t flags)
{
	uint32_t idx, v;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (index_of(m, key, &idx))
		return -E2BIG;
	map_copy(&v, value, sizeof(v));
	/* no program has id 0 (the kernel: an fd that is not a program) */
	if (is_prog_array(m) && v == 0)
		return -EINVAL;
	/* Pairs with the acquire loads of lookups and tail calls. */
	__atomic_exchange_n(&slots(m)[idx], SLOT_PRESENT | v, __ATOMIC_ACQ_REL);
	return 0;
}

/* As fd_array_map_delete_elem(). */
static int fd_array_delete(struct bpftime_map *m, const void *key)
{
	uint32_t idx;

	if (index_of(m, key, &idx))
		return -E2BIG;
	return __atomic_exchange_n(&slots(m)[idx], 0, __ATOMIC_ACQ_REL) ? 0 : -ENOENT;
}

/* As array_map_get_next_key(): a missing or NULL key restarts at 0. */
static int fd_array_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	uint32_t idx = UINT32_MAX, next;

	if (key)
		map_copy(&idx, key, sizeof(idx));
	if (idx >= m->d->attr.max_entries)
		next = 0;
	else if (idx == m->d->attr.max_entries - 1)
		return -ENOENT;
	else
		next = idx + 1;
	map_copy(next_key, &next, sizeof(next));
	return 0;
}

uint32_t bpftime_map__prog_array_get(struct bpftime_map *m, uint32_t index)
{
	uint32_t t = m->d->attr.map_type;

	if ((t != BPF_MAP_TYPE_PROG_ARRAY && t != BPF_MAP_TYPE_CGROUP_ARRAY) ||
	    index >= m->d->attr.max_entries)
		return 0;
	/* Pairs with the exchange in fd_array_update(). */
	return (uint32_t)__atomic_load_n(&slots(m)[index], __ATOMIC_ACQUIRE);
}

#define FD_ARRAY_OPS(NAME)                                                                         \
	{                                                                                          \
		.name = NAME, .check = fd_array_check, .data_size = fd_array_data_size,            \
		.lookup = fd_array_lookup, .update = fd_array_update, .delete = fd_array_delete,   \
		.get_next_key = fd_array_get_next_key, .no_batch = MAP_NO_BATCH,                   \
	}

const struct map_ops bpftime_map_prog_array_ops = FD_ARRAY_OPS("prog_array");
const struct map_ops bpftime_map_cgroup_array_ops = FD_ARRAY_OPS("cgroup_array");
