// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS, as
 * kernel/bpf/map_in_map.c with arraymap.c and hashtab.c.
 *
 * Values are inner map ids of this region (bpf-emul turns the fds bpf(2)
 * gets into ids). At creation, attr.inner_map_id names a template map; its
 * meta (type, sizes, flags, max_entries) is copied, as bpf_map_meta_alloc()
 * copies it, so the template may be destroyed afterwards (libbpf does so).
 * An update accepts only maps equal to the meta as bpf_map_meta_equal()
 * and array_map_meta_equal() decide: same type, key and value sizes and
 * flags (but for the fd's BPF_F_RDONLY/BPF_F_WRONLY), the same spin lock
 * (btf_record_equal(): a template with a lock takes only inner maps with
 * the lock at the same offset, one without only maps without; probed on
 * 6.18), and for arrays the same max_entries unless the template has
 * BPF_F_INNER_MAP.
 *
 *   ARRAY_OF_MAPS data: | struct mim_meta (64) | u32 id[max_entries] (0: empty) |
 *   HASH_OF_MAPS data:  | the HASH type's table (map-hash.c) | struct mim_meta |
 *
 * An array slot is one 32-bit word, read and swapped atomically (the
 * kernel's READ_ONCE/xchg): no lock, nothing a killed process leaves
 * half-done. HASH_OF_MAPS is a BPF_MAP_TYPE_HASH with 4-byte values (the
 * kernel shares htab code the same way), with its locking and repair.
 *
 * Both sides:
 *   syscall lookup       the inner map's id (bpf_map_fd_sys_lookup_elem)
 *   syscall update       array: only BPF_ANY; the id is checked first
 *                        (-EBADF: no such map; -EINVAL: not equal to meta)
 *   lookup_and_delete    -ENOTSUPP; array delete batches too (the kernel's
 *                        array_of_maps has only lookup and update batches)
 *   program lookup       the inner map's handle (struct bpftime_map *), to
 *                        be passed to other helpers; NULL when empty
 * Programs cannot update or delete (the verifier allows only lookups).
 *
 * Limit: the kernel's outer map holds a reference on each inner map; here
 * bpf-emul must keep an inner map alive while an outer map names it (a
 * destroyed inner map makes program lookups return NULL, or a map that
 * reused the id).
 */
#include <errno.h>
#include "map-hash.h"
#include "map-internal.h"

#define AOM_CREATE_FLAG_MASK (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)
#define MIM_META_SIZE        64
#define MAP_ENOTSUPP         524 /* the kernel's ENOTSUPP, not in the UAPI */

extern const struct map_ops bpftime_map_hash_ops;

/* What bpf_map_meta_equal() compares; written by init, read-only after. */
struct mim_meta {
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t map_flags; /* without BPF_F_RDONLY / BPF_F_WRONLY */
	uint32_t max_entries;
	uint32_t spin_lock_off; /* the btf_record bpf_map_meta_equal() compares */
	uint32_t reserved[10];
};
_Static_assert(sizeof(struct mim_meta) == MIM_META_SIZE, "map-in-map meta layout");

static bool is_hash(const struct bpftime_map_attr *a)
{
	return a->map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

static uint64_t hash_part(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (bpftime_map_hash_ops.data_size(a, nr_cpus) + 63) & ~63ull;
}

static struct mim_meta *meta(const struct bpftime_map *m)
{
	if (is_hash(&m->d->attr))
		return (struct mim_meta *)(m->data + hash_part(&m->d->attr, m->d->nr_cpus));
	return (struct mim_meta *)m->data;
}

static uint32_t *ids(const struct bpftime_map *m)
{
	return (uint32_t *)(m->data + MIM_META_SIZE);
}

/* ---- creation ---- */

/*
 * As fd_array_map_alloc_check() + array_map_alloc_check() (arrays), or
 * fd_htab_map_alloc_check() + htab_map_alloc_check() (hashes): attr alone.
 */
static int mim_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->value_size != sizeof(uint32_t))
		return -EINVAL;
	if (is_hash(a))
		/* with a max_entries of 1 only htab_map_alloc_check() can
		 * refuse: htab_map_alloc()'s size checks come after the
		 * template, in mim_check_region() */
		return bpftime_map_htab_check(a, 1);
	if ((a->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) || a->max_entries == 0 ||
	    a->key_size != 4 || (a->map_flags & ~AOM_CREATE_FLAG_MASK))
		return -EINVAL;
	return 0;
}

/*
 * As bpf_map_meta_alloc(): the template must exist (-EBADF, as a closed
 * fd), must not itself hold maps (-EINVAL) and must be of a type that can
 * be compared (-ENOTSUPP: the kernel's types without map_meta_equal).
 */
static int template_meta(struct bpftime_map_region *r, const struct bpftime_map_attr *a,
			 struct mim_meta *out)
{
	struct bpftime_map *t = a->inner_map_id ? bpftime_map__get(r, a->inner_map_id) : NULL;
	const struct bpftime_map_attr *ta;

	if (!t)
		return bpftime_map_err(-EBADF, "map '%.16s': inner_map_id %u names no map",
				       a->map_name, a->inner_map_id);
	ta = &t->d->attr;
	switch (ta->map_type) {
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return bpftime_map_err(-EINVAL, "map '%.16s': inner map %u holds maps itself",
				       a->map_name, a->inner_map_id);
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_CGROUP_STORAGE:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
	case BPF_MAP_TYPE_STRUCT_OPS:
		return bpftime_map_err(-MAP_ENOTSUPP,
				       "map '%.16s': inner map %u: type %u cannot be an inner map",
				       a->map_name, a->inner_map_id, ta->map_type);
	}
	out->map_type = ta->map_type;
	out->key_size = ta->key_size;
	out->value_size = ta->value_size;
	out->map_flags = ta->map_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY);
	out->max_entries = ta->max_entries;
	out->spin_lock_off = ta->spin_lock_off;
	return 0;
}

/* The template, then (hashes) htab_map_alloc()'s size checks, in the
 * kernel's order. */
static int mim_check_region(struct bpftime_map_region *r, const struct bpftime_map_attr *a)
{
	struct mim_meta mm;
	int err = template_meta(r, a, &mm);

	if (err)
		return err;
	return is_hash(a) ? bpftime_map_htab_check(a, a->max_entries) : 0;
}

static uint64_t mim_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (is_hash(a))
		return hash_part(a, nr_cpus) + MIM_META_SIZE;
	return MIM_META_SIZE + 4ull * a->max_entries;
}

static int mim_init(struct bpftime_map *m)
{
	int err = template_meta(m->r, &m->d->attr, meta(m));

	if (!err && is_hash(&m->d->attr))
		err = bpftime_map_hash_ops.init(m);
	return err;
}

/* ---- inner maps ---- */

/* As bpf_map_meta_equal(), and array_map_meta_equal() for arrays. */
static bool meta_equal(const struct mim_meta *mm, const struct bpftime_map_attr *in)
{
	if (mm->map_type != in->map_type || mm->key_size != in->key_size ||
	    mm->value_size != in->value_size ||
	    mm->map_flags != (in->map_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY)) ||
	    mm->spin_lock_off != in->spin_lock_off)
		return false;
	if (mm->map_type == BPF_MAP_TYPE_ARRAY || mm->map_type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return (mm->map_flags & BPF_F_INNER_MAP) || mm->max_entries == in->max_entries;
	return true;
}

/* As bpf_map_fd_get_ptr(): the map @value names, if it fits the meta. */
static int inner_id(struct bpftime_map *m, const void *value, uint32_t *id)
{
	struct bpftime_map *in;

	map_copy(id, value, sizeof(*id));
	if (!*id || bpftime_map_handle(m->r, *id, &in))
		return -EBADF;
	return meta_equal(meta(m), &in->d->attr) ? 0 : -EINVAL;
}

/* bpf_map_lookup_elem from a program: the handle of the map @id names. */
static void *handle_of(struct bpftime_map *m, uint32_t id)
{
	struct bpftime_map *in;

	return id && !bpftime_map_handle(m->r, id, &in) ? in : NULL;
}

/* ---- ARRAY_OF_MAPS ---- */

static int aom_index(const struct bpftime_map *m, const void *key, uint32_t *idx)
{
	map_copy(idx, key, sizeof(*idx));
	return *idx < m->d->attr.max_entries ? 0 : -1;
}

/* As bpf_fd_array_map_lookup_elem() with bpf_map_fd_sys_lookup_elem(). */
static int aom_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	uint32_t idx, id;

	if (aom_index(m, key, &idx))
		return -ENOENT;
	/* Pairs with the exchange in aom_update(). */
	id = __atomic_load_n(&ids(m)[idx], __ATOMIC_ACQUIRE);
	if (!id)
		return -ENOENT;
	map_copy(value, &id, sizeof(id));
	return 0;
}

/* As bpf_fd_array_map_update_elem(): flags, index, then the map. */
static int aom_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t idx, id;
	int err;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (aom_index(m, key, &idx))
		return -E2BIG;
	err = inner_id(m, value, &id);
	if (err)
		return err;
	__atomic_exchange_n(&ids(m)[idx], id, __ATOMIC_ACQ_REL);
	return 0;
}

/* As fd_array_map_delete_elem(). */
static int aom_delete(struct bpftime_map *m, const void *key)
{
	uint32_t idx;

	if (aom_index(m, key, &idx))
		return -E2BIG;
	return __atomic_exchange_n(&ids(m)[idx], 0, __ATOMIC_ACQ_REL) ? 0 : -ENOENT;
}

/* As array_map_get_next_key(): a missing or NULL key restarts at 0. */
static int aom_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
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

/* As array_of_map_lookup_elem(). */
static void *aom_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	uint32_t idx;

	if (aom_index(m, key, &idx))
		return NULL;
	return handle_of(m, __atomic_load_n(&ids(m)[idx], __ATOMIC_ACQUIRE));
}

/* ---- HASH_OF_MAPS: the HASH type's table with u32 values ---- */

/* As bpf_fd_htab_map_update_elem(): the map first, then the hash's flags. */
static int hom_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t id;
	int err = inner_id(m, value, &id);

	if (err)
		return err;
	return bpftime_map_hash_ops.update(m, key, &id, flags);
}

/* map_lookup_and_delete_elem(): only for the four plain hash types. */
static int hom_lookup_and_delete(struct bpftime_map *m, const void *key, void *value,
				 uint64_t flags)
{
	return -MAP_ENOTSUPP;
}

/* As htab_of_map_lookup_elem(). */
static void *hom_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	const uint32_t *v = bpftime_map_hash_ops.prog_lookup(m, key, cpu);

	return v ? handle_of(m, __atomic_load_n(v, __ATOMIC_ACQUIRE)) : NULL;
}

static int hom_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	return bpftime_map_hash_ops.lookup(m, key, value, flags);
}

static int hom_delete(struct bpftime_map *m, const void *key)
{
	return bpftime_map_hash_ops.delete(m, key);
}

static int hom_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	return bpftime_map_hash_ops.get_next_key(m, key, next_key);
}

/* The bucket-based batches of the hash, values being ids. */
static int hom_lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
			    void *keys, void *values, uint32_t *count, uint64_t elem_flags,
			    bool and_delete)
{
	return bpftime_map_hash_ops.lookup_batch(m, in_batch, out_batch, keys, values, count,
						 elem_flags, and_delete);
}

const struct map_ops bpftime_map_array_of_maps_ops = {
    .name = "array_of_maps",
    .check = mim_check,
    .check_region = mim_check_region,
    .data_size = mim_data_size,
    .init = mim_init,
    .lookup = aom_lookup,
    .update = aom_update,
    .delete = aom_delete,
    .get_next_key = aom_get_next_key,
    .no_batch = MAP_NO_DELETE_BATCH,
    .prog_lookup = aom_prog_lookup,
};

const struct map_ops bpftime_map_hash_of_maps_ops = {
    .name = "hash_of_maps",
    .check = mim_check,
    .check_region = mim_check_region,
    .data_size = mim_data_size,
    .init = mim_init,
    .lookup = hom_lookup,
    .update = hom_update,
    .delete = hom_delete,
    .get_next_key = hom_get_next_key,
    .lookup_and_delete = hom_lookup_and_delete,
    .batch_token_size = sizeof(uint32_t),
    .lookup_batch = hom_lookup_batch,
    .prog_lookup = hom_prog_lookup,
};
