// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY, as kernel/bpf/arraymap.c.
 *
 * Values are round_up(value_size, 8) bytes apart. An ARRAY created with
 * BPF_F_MMAPABLE keeps its values in its own file (offset 0 = element 0, as
 * the kernel's array_map_mmap() shows them), so the tool's mmap of the map
 * and the programs' lookups are the same memory. A per-CPU array keeps
 * nr_cpus values per element, consecutive, indexed by CPU slot.
 *
 * An ARRAY's values may hold a bpf_spin_lock (map-spin-lock.c): copies go
 * around its word, and BPF_F_LOCK updates and lookups hold it, as
 * array_map_update_elem() and bpf_map_copy_value() do. The lock word of a
 * BPF_F_MMAPABLE array lives in its file too, which bpf-emul then refuses
 * to let tools map (bpf_map_mmap(): -ENOTSUPP).
 */
#include <errno.h>
#include <limits.h>
#include "map-internal.h"

#define PCPU_MIN_UNIT_SIZE (32 << 10) /* the kernel's largest per-CPU value */
#define MAP_PAGE_SIZE      4096

#define ARRAY_CREATE_FLAG_MASK                                                                     \
	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG |      \
	 BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP)

static bool percpu(const struct bpftime_map_attr *a)
{
	return a->map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* As array_map_alloc_check(). */
static int array_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	bool numa = map_numa_pinned(a);

	if (a->max_entries == 0 || a->key_size != 4 || a->value_size == 0 ||
	    (a->map_flags & ~ARRAY_CREATE_FLAG_MASK) ||
	    ((a->map_flags & BPF_F_RDONLY_PROG) && (a->map_flags & BPF_F_WRONLY_PROG)) ||
	    (percpu(a) && numa))
		return -EINVAL;
	if (a->map_type != BPF_MAP_TYPE_ARRAY &&
	    (a->map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)))
		return -EINVAL;
	if (a->map_flags & BPF_F_PRESERVE_ELEMS)
		return -EINVAL;
	if (a->value_size > INT_MAX)
		return -E2BIG;
	if (percpu(a) && map_round8(a->value_size) > PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	/* No limit on the total size: since the memlock accounting went (5.11)
	 * array_map_alloc() allocates arrays of 4 GiB and more (checked on
	 * 6.18); a size the region cannot hold fails there with -ENOMEM. */
	return 0;
}

static uint64_t values_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (uint64_t)a->max_entries * map_round8(a->value_size) * (percpu(a) ? nr_cpus : 1);
}

static uint64_t array_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (a->map_flags & BPF_F_MMAPABLE) ? 0 : values_size(a, nr_cpus);
}

static uint64_t array_file_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint64_t n = values_size(a, nr_cpus);

	return (a->map_flags & BPF_F_MMAPABLE)
		   ? (n + MAP_PAGE_SIZE - 1) / MAP_PAGE_SIZE * MAP_PAGE_SIZE
		   : 0;
}

static uint8_t *values(const struct bpftime_map *m)
{
	return m->file_mem ? m->file_mem : m->data;
}

/* The value of element @idx (of CPU slot @cpu for per-CPU arrays). */
static uint8_t *elem(const struct bpftime_map *m, uint32_t idx, uint32_t cpu)
{
	uint64_t es = map_round8(m->d->attr.value_size);

	if (percpu(&m->d->attr))
		return values(m) + ((uint64_t)idx * m->d->nr_cpus + cpu) * es;
	return values(m) + (uint64_t)idx * es;
}

static int index_of(const struct bpftime_map *m, const void *key, uint32_t *idx)
{
	uint32_t i;

	map_copy(&i, key, sizeof(i));
	*idx = i;
	return i < m->d->attr.max_entries ? 0 : -ENOENT;
}

static int array_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	uint32_t idx, es = map_round8(m->d->attr.value_size);

	if (index_of(m, key, &idx))
		return -ENOENT;
	if (!percpu(&m->d->attr)) {
		bpftime_map_value_read(value, elem(m, idx, 0), m->d->attr.value_size,
				       m->d->attr.spin_lock_off, flags, 0);
		return 0;
	}
	/* bpf_percpu_array_copy(): every CPU's value, 8-byte aligned slots */
	for (uint32_t cpu = 0; cpu < m->d->nr_cpus; cpu++)
		map_copy((uint8_t *)value + (uint64_t)cpu * es, elem(m, idx, cpu), es);
	return 0;
}

/* array_map_update_elem()'s checks, in its order: flags, index, NOEXIST,
 * then BPF_F_LOCK without a lock (which the syscall side refuses before). */
static int update_checks(const struct bpftime_map *m, const void *key, uint64_t flags,
			 uint32_t *idx)
{
	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	if (index_of(m, key, idx))
		return -E2BIG;
	if (flags & BPF_NOEXIST)
		return -EEXIST;
	if ((flags & BPF_F_LOCK) && !map_has_lock(&m->d->attr))
		return -EINVAL;
	return 0;
}

/* As array_map_update_elem() / bpf_percpu_array_update(). */
static int array_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t idx, es = map_round8(m->d->attr.value_size);
	int err = update_checks(m, key, flags, &idx);

	if (err)
		return err;
	if (!percpu(&m->d->attr)) {
		bpftime_map_value_write(elem(m, idx, 0), value, m->d->attr.value_size,
					m->d->attr.spin_lock_off, flags, 0);
		return 0;
	}
	for (uint32_t cpu = 0; cpu < m->d->nr_cpus; cpu++)
		map_copy(elem(m, idx, cpu), (const uint8_t *)value + (uint64_t)cpu * es, es);
	return 0;
}

/* Elements of an array cannot be deleted (array_map_delete_elem). */
static int array_delete(struct bpftime_map *m, const void *key)
{
	return -EINVAL;
}

/* As array_map_get_next_key(): a missing or NULL key restarts at 0. */
static int array_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
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

static void *array_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	uint32_t idx;

	if (index_of(m, key, &idx) || cpu >= m->d->nr_cpus)
		return NULL;
	return elem(m, idx, cpu);
}

/* From a program, a per-CPU array updates this CPU's value only. */
static long array_prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu)
{
	uint32_t idx;
	int err;

	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM; /* the verifier refuses such calls */
	err = update_checks(m, key, flags, &idx);
	if (err)
		return err;
	if (cpu >= m->d->nr_cpus)
		return -EINVAL;
	/* the helper calls the same array_map_update_elem(): BPF_F_LOCK too */
	bpftime_map_value_write(elem(m, idx, cpu), value, m->d->attr.value_size,
				m->d->attr.spin_lock_off, flags,
				(flags & BPF_F_LOCK) ? bpftime_map_prog_tid(m, cpu) : 0);
	return 0;
}

static long array_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	return -EINVAL;
}

#define ARRAY_OPS(NAME)                                                                            \
	{                                                                                          \
		.name = NAME, .check = array_check, .data_size = array_data_size,                  \
		.file_size = array_file_size, .lookup = array_lookup, .update = array_update,      \
		.delete = array_delete, .get_next_key = array_get_next_key,                        \
		.prog_lookup = array_prog_lookup, .prog_update = array_prog_update,                \
		.prog_delete = array_prog_delete,                                                  \
		.no_batch = MAP_NO_DELETE_BATCH, /* array_map_ops: no map_delete_batch */          \
	}

const struct map_ops bpftime_map_array_ops = ARRAY_OPS("array");
const struct map_ops bpftime_map_percpu_array_ops = ARRAY_OPS("percpu_array");
