// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH, UPDATE_BATCH and
 * DELETE_BATCH, as bpf_map_do_batch() and the generic_map_*_batch() /
 * __htab_map_lookup_and_delete_batch() functions answer (probed on 6.18):
 *
 *   CHECK_ATTR, the fd, read access for lookups and write access for the
 *   others (-EPERM), then the maps module's checks (the command missing
 *   for the type: -ENOTSUPP; elem_flags other than BPF_F_LOCK: -EINVAL;
 *   hash maps also refuse batch.flags), then count 0 answers 0 and touches
 *   nothing, then count is set to 0 in the caller (-EFAULT) before any
 *   element moves;
 *   lookups: in_batch is read (-EFAULT), the elements are copied out, then
 *   the hash maps write out_batch and count, the generic walk (arrays)
 *   count and, when it found any element, out_batch; the last batch is
 *   -ENOENT together with its elements (what syscount relies on);
 *   updates and deletes: element by element until the first failure,
 *   including a key or value that cannot be read (-EFAULT); count is
 *   written back with the number done, also on error.
 *
 * Elements are read from the caller in chunks (one read per array) and,
 * when a chunk cannot be read whole, element by element, so that the
 * elements before an unreadable one are done as in the kernel.
 * Lookups copy the elements out after the maps module has gathered them:
 * a keys or values array that cannot be written gives -EFAULT with count
 * 0 as in the kernel, but what was written of the arrays may differ.
 */
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"

#define BPF_MAP_BATCH_LAST_FIELD batch.flags
#define CHUNK_BYTES              (256u << 10)

static uint64_t count_addr(uint64_t uattr)
{
	return uattr + offsetof(union bpf_attr, batch.count);
}

static int put_count(struct bpftime_caller *c, uint64_t uattr, uint32_t n)
{
	return emul_write(c, count_addr(uattr), &n, sizeof(n)) ? -EFAULT : 0;
}

/* The types whose batches are the hash table's (bucket tokens). */
static bool htab_batch(uint32_t type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/* bpf_map_do_batch() up to the type's function: the map and the access. */
static struct emul_obj *batch_map(struct bpftime_emul *e, struct bpftime_caller *c,
				  const union bpf_attr *attr, bool read, bool write, int *err)
{
	unsigned fmode = 0;
	struct emul_obj *o;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_BATCH_LAST_FIELD)) {
		*err = -EINVAL;
		return NULL;
	}
	o = emul_map_from_fd(e, c, (int)attr->batch.map_fd, err, &fmode);
	if (o)
		*err = emul_map_perm(fmode, read, write);
	return *err ? NULL : o;
}

/* ---- lookups ---- */

struct lookup_buf {
	uint8_t *keys, *values, *in, *out;
	uint32_t n, ks, vs, ts;
};

static void lookup_buf_free(struct lookup_buf *b)
{
	free(b->keys);
	free(b->values);
	free(b->in);
	free(b->out);
}

/* Room for what one call can return: no more elements than the map
 * holds, so a huge count costs no more than the map's size. */
static int lookup_buf_alloc(struct bpftime_map *m, uint32_t count, struct lookup_buf *b)
{
	uint32_t max = bpftime_map__attr(m)->max_entries;

	memset(b, 0, sizeof(*b));
	b->n = count < max ? count : max;
	b->ks = bpftime_map__attr(m)->key_size;
	b->vs = bpftime_map__value_size(m);
	b->ts = bpftime_map__batch_token_size(m);
	b->keys = malloc((size_t)b->n * b->ks + 1);
	b->values = malloc((size_t)b->n * b->vs + 1);
	b->in = calloc(1, b->ts + 1);
	b->out = calloc(1, b->ts + 1);
	return b->keys && b->values && b->in && b->out ? 0 : -ENOMEM;
}

/* The kernel's order of copy-outs after the walk (see the top). */
static int lookup_copy_out(struct bpftime_caller *c, const union bpf_attr *attr, uint64_t uattr,
			   uint32_t type, const struct lookup_buf *b, bool early_end, uint32_t n)
{
	if (emul_write(c, attr->batch.keys, b->keys, (size_t)n * b->ks) ||
	    emul_write(c, attr->batch.values, b->values, (size_t)n * b->vs))
		return -EFAULT;
	if (htab_batch(type)) {
		/* htab: a token past the buckets ends before anything is written */
		if (early_end)
			return 0;
		if (emul_write(c, attr->batch.out_batch, b->out, b->ts))
			return -EFAULT;
		return put_count(c, uattr, n);
	}
	if (put_count(c, uattr, n))
		return -EFAULT;
	if (n && emul_write(c, attr->batch.out_batch, b->out, b->ts))
		return -EFAULT;
	return 0;
}

/* A hash of maps' deleted entries drop the inner maps they named. */
static void put_deleted_inner(struct bpftime_emul *e, struct emul_obj *o,
			      const struct lookup_buf *b, uint32_t n)
{
	uint32_t id;

	for (uint32_t i = 0; i < n; i++) {
		memcpy(&id, b->values + (size_t)i * b->vs, sizeof(id));
		emul_obj_put(e, emul_obj_by_id(e, EMUL_OBJ_MAP, id));
	}
}

static long lookup_batch(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 uint64_t uattr, bool and_delete)
{
	struct lookup_buf b;
	struct emul_obj *o;
	uint32_t n = 0, type, tok;
	bool early_end = false;
	int err;

	o = batch_map(e, c, attr, true, and_delete, &err);
	if (!o)
		return err;
	type = bpftime_map__attr(o->map.m)->map_type;
	/* the maps module's checks, with nothing to do */
	err = bpftime_map__lookup_batch(o->map.m, NULL, NULL, NULL, NULL, &n,
					attr->batch.elem_flags, and_delete);
	/* __htab_map_lookup_and_delete_batch(): batch.flags must be 0 */
	if (!err && htab_batch(type) && attr->batch.flags)
		err = -EINVAL;
	if (err || !attr->batch.count)
		return err;
	if (put_count(c, uattr, 0))
		return -EFAULT;
	err = lookup_buf_alloc(o->map.m, attr->batch.count, &b);
	if (!err && attr->batch.in_batch &&
	    emul_read(c, b.in, attr->batch.in_batch, htab_batch(type) ? sizeof(tok) : b.ks))
		err = -EFAULT;
	if (err) {
		lookup_buf_free(&b);
		return err;
	}
	if (htab_batch(type) && attr->batch.in_batch) {
		memcpy(&tok, b.in, sizeof(tok));
		early_end = tok >= roundup_pow2(bpftime_map__attr(o->map.m)->max_entries);
	}
	n = b.n;
	err = bpftime_map__lookup_batch(o->map.m, attr->batch.in_batch ? b.in : NULL, b.out, b.keys,
					b.values, &n, attr->batch.elem_flags, and_delete);
	if (and_delete && type == BPF_MAP_TYPE_HASH_OF_MAPS)
		put_deleted_inner(e, o, &b, n);
	if (lookup_copy_out(c, attr, uattr, type, &b, early_end, n))
		err = -EFAULT;
	lookup_buf_free(&b);
	return err;
}

long emul_cmd_map_lookup_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return lookup_batch(e, c, attr, uattr, false);
}

long emul_cmd_map_lookup_and_delete_batch(struct bpftime_emul *e, struct bpftime_caller *c,
					  union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return lookup_batch(e, c, attr, uattr, true);
}

/* ---- updates and deletes, chunk by chunk ---- */

struct chunk {
	uint8_t *keys, *values;
	uint32_t ks, vs; /* bytes per element; vs 0: deletes */
	uint32_t per;    /* elements per chunk */
	uint32_t got;    /* elements read into this chunk */
	bool short_read; /* an element of the chunk could not be read */
};

static int chunk_alloc(struct bpftime_map *m, bool with_values, struct chunk *k)
{
	uint32_t elem;

	memset(k, 0, sizeof(*k));
	k->ks = bpftime_map__attr(m)->key_size;
	k->vs = with_values ? bpftime_map__value_size(m) : 0;
	elem = k->ks + k->vs ?: 1;
	k->per = CHUNK_BYTES / elem ?: 1;
	k->keys = malloc((size_t)k->per * k->ks + 1);
	k->values = malloc((size_t)k->per * k->vs + 1);
	return k->keys && k->values ? 0 : -ENOMEM;
}

static void chunk_free(struct chunk *k)
{
	free(k->keys);
	free(k->values);
}

static int read_elem(struct bpftime_caller *c, const union bpf_attr *attr, struct chunk *k,
		     uint64_t i, uint32_t slot)
{
	if (emul_read(c, k->keys + (size_t)slot * k->ks, attr->batch.keys + i * k->ks, k->ks))
		return -EFAULT;
	if (k->vs &&
	    emul_read(c, k->values + (size_t)slot * k->vs, attr->batch.values + i * k->vs, k->vs))
		return -EFAULT;
	return 0;
}

/* Read elements [@first, @first + n) in one go, else one by one up to the
 * first that cannot be read. */
static void chunk_read(struct bpftime_caller *c, const union bpf_attr *attr, struct chunk *k,
		       uint32_t first, uint32_t n)
{
	k->got = n;
	k->short_read = false;
	if (!emul_read(c, k->keys, attr->batch.keys + (uint64_t)first * k->ks, (size_t)n * k->ks) &&
	    (!k->vs || !emul_read(c, k->values, attr->batch.values + (uint64_t)first * k->vs,
				  (size_t)n * k->vs)))
		return;
	for (k->got = 0; k->got < n; k->got++)
		if (read_elem(c, attr, k, (uint64_t)first + k->got, k->got))
			break;
	k->short_read = k->got < n;
}

typedef int (*chunk_fn)(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			struct chunk *k, uint64_t elem_flags, uint32_t *done);

/* Run @fn over the caller's elements; *@done counts those done. */
static int run_chunks(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		      const union bpf_attr *attr, bool with_values, chunk_fn fn, uint32_t *done)
{
	uint32_t count = attr->batch.count;
	struct chunk k;
	int err = chunk_alloc(o->map.m, with_values, &k);

	*done = 0;
	while (!err && *done < count) {
		uint32_t n = count - *done < k.per ? count - *done : k.per, did = 0;

		chunk_read(c, attr, &k, *done, n);
		err = fn(e, c, o, &k, attr->batch.elem_flags, &did);
		*done += did;
		if (!err && k.short_read)
			err = -EFAULT; /* copy_from_user() of the next element */
	}
	chunk_free(&k);
	return err;
}

static int update_chunk(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			struct chunk *k, uint64_t elem_flags, uint32_t *done)
{
	int err = 0;

	if (!emul_map_fd_valued(o)) {
		*done = k->got;
		return bpftime_map__update_batch(o->map.m, k->keys, k->values, done, elem_flags);
	}
	/* fds in the values: one by one, each resolved as update_elem does */
	for (*done = 0; !err && *done < k->got; (*done)++) {
		err = emul_map_update_fd_value(e, c, o, k->keys + (size_t)*done * k->ks,
					       k->values + (size_t)*done * k->vs, elem_flags, true);
		if (err)
			break;
	}
	return err;
}

static int delete_chunk(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			struct chunk *k, uint64_t elem_flags, uint32_t *done)
{
	bool refs = emul_map_fd_valued(o);
	int err = 0;

	if (!refs) {
		*done = k->got;
		return bpftime_map__delete_batch(o->map.m, k->keys, done, elem_flags);
	}
	for (*done = 0; *done < k->got; (*done)++) {
		const uint8_t *key = k->keys + (size_t)*done * k->ks;
		struct emul_obj *old = emul_map_slot_get(e, o, key);
		uint32_t one = 1;

		err = bpftime_map__delete_batch(o->map.m, key, &one, elem_flags);
		if (err)
			break;
		emul_map_slot_set(e, o, key, NULL, old);
	}
	return err;
}

static long write_batch(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			uint64_t uattr, bool update)
{
	uint32_t zero = 0, done;
	struct emul_obj *o;
	int err;

	o = batch_map(e, c, attr, false, true, &err);
	if (!o)
		return err;
	err = update
		  ? bpftime_map__update_batch(o->map.m, NULL, NULL, &zero, attr->batch.elem_flags)
		  : bpftime_map__delete_batch(o->map.m, NULL, &zero, attr->batch.elem_flags);
	if (err || !attr->batch.count)
		return err;
	if (put_count(c, uattr, 0))
		return -EFAULT;
	err = run_chunks(e, c, o, attr, update, update ? update_chunk : delete_chunk, &done);
	if (put_count(c, uattr, done))
		err = -EFAULT;
	return err;
}

long emul_cmd_map_update_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return write_batch(e, c, attr, uattr, true);
}

long emul_cmd_map_delete_batch(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	return write_batch(e, c, attr, uattr, false);
}
