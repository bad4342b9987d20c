// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH (maps/src/map-hash.c).
 * Expected errnos are the kernel's, probed on 6.18 with libbpf (the probe
 * results are quoted next to the cases); concurrency from threads and
 * processes, and the repair of buckets whose lock holder was killed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include "maps-hash-test.h"

#define NR_CPUS 4

static struct bpftime_map *new_map(struct bpftime_map_region *r, uint32_t type, uint32_t vs,
				   uint32_t max, uint32_t flags)
{
	struct bpftime_map_attr a = mt_attr(type, 4, vs, max, flags);

	return mt_map_new(r, &a);
}

/* ---- create-time checks: htab_map_alloc_check() and htab_map_alloc() ---- */

struct create_case {
	uint32_t type, ks, vs, max, flags;
	int err;
};

#define H  BPF_MAP_TYPE_HASH
#define PH BPF_MAP_TYPE_PERCPU_HASH

static const struct create_case create_cases[] = {
    {H, 4, 4, 1, 0, 0},
    {H, 0, 4, 1, 0, -EINVAL},
    {H, 4, 0, 1, 0, -EINVAL},
    {H, 4, 4, 0, 0, -EINVAL},
    {H, 4, 4, 3, BPF_F_NO_PREALLOC, 0},
    {H, 4, 4, 3, BPF_F_NO_COMMON_LRU, -EINVAL}, /* LRU only */
    {H, 4, 4, 3, BPF_F_ZERO_SEED, 0},
    {H, 4, 4, 3, BPF_F_NUMA_NODE, 0},
    {H, 4, 4, 3, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE, 0},
    {H, 4, 4, 3, BPF_F_RDONLY_PROG, 0},
    {H, 4, 4, 3, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, -EINVAL},
    {H, 4, 4, 3, BPF_F_RDONLY | BPF_F_WRONLY, -EINVAL},
    {H, 4, 4, 3, BPF_F_MMAPABLE, -EINVAL},
    {H, 4, 4, 3, BPF_F_INNER_MAP, -EINVAL},
    {H, 4, 4, 3, BPF_F_PRESERVE_ELEMS, -EINVAL},
    {H, 4, 4, 3, BPF_F_STACK_BUILD_ID, -EINVAL},
    {H, 4, 4, 3, 1u << 20, -EINVAL},
    {H, 0, 4, 1, BPF_F_MMAPABLE, -EINVAL},
    /* key + value must stay below 4 MiB - 48: 4 + 4194251 is the largest */
    {H, 4, 4194251, 1, 0, 0},
    {H, 4, 4194252, 1, 0, -E2BIG},
    {H, 1, 4194255, 1, 0, -E2BIG},
    {H, 1u << 20, 4, 3, 0, 0},
    {H, 0, 1u << 23, 1, 0, -EINVAL}, /* sizes are checked before E2BIG */
    {H, 4, 1u << 23, 0, 0, -EINVAL},
    /* n_buckets (a power of two) * 16 must fit a u32: max_entries <= 2^27 */
    {H, 4, 4, (1u << 27) + 1, BPF_F_NO_PREALLOC, -E2BIG},
    {H, 4, 4, 1u << 31, BPF_F_NO_PREALLOC, -E2BIG},
    {H, 4, 4, 0xffffffffu, 0, -E2BIG},
    {PH, 4, 4, 1, 0, 0},
    {PH, 4, 4, 3, BPF_F_NUMA_NODE, -EINVAL},
    {PH, 4, 4, 3, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE, -EINVAL},
    {PH, 4, 4, 3, BPF_F_NO_COMMON_LRU, -EINVAL},
    /* per-CPU values: round_up(value_size, 8) <= 32 KiB */
    {PH, 4, 32768, 1, 0, 0},
    {PH, 4, 32761, 1, 0, 0},
    {PH, 4, 32769, 1, 0, -E2BIG},
    {PH, 4, 4194204, 1, 0, -E2BIG},
    {PH, 4, 4, (1u << 27) + 1, BPF_F_NO_PREALLOC, -E2BIG},
};

static void test_create_checks(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);

	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a = mt_attr(c->type, c->ks, c->vs, c->max, c->flags);
		uint32_t id = 0;
		int err = bpftime_map__create(r, &a, &id);

		if (err != c->err)
			fail_msg("case %zu: type %u ks %u vs %u max %u flags 0x%x: %d, want %d", i,
				 c->type, c->ks, c->vs, c->max, c->flags, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(r, id), 0);
	}
	mt_region_destroy(r);
}

/*
 * bpf_map_attr_numa_node(): with BPF_F_NUMA_NODE, numa_node -1 is still
 * NUMA_NO_NODE, which per-CPU maps accept (found by the differential test);
 * a node that does not exist is refused by map_create() for every type.
 */
static void test_create_numa_node(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map_attr a = mt_attr(PH, 4, 4, 3, BPF_F_NUMA_NODE);
	uint32_t id;

	assert_int_equal(bpftime_map__create(r, &a, &id), -EINVAL);
	a.numa_node = UINT32_MAX;
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	a = mt_attr(H, 4, 4, 3, BPF_F_NUMA_NODE);
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	a.numa_node = 4096;
	assert_int_equal(bpftime_map__create(r, &a, &id), -EINVAL);
	mt_region_destroy(r);
}

/* ---- update flags, full maps, lookup, delete ---- */

static void check_update_flags(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 8, 4, 0);
	uint64_t v[NR_CPUS] = {7, 7, 7, 7}, got[NR_CPUS];
	uint32_t k = 1;

	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_EXIST), -ENOENT);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, 3), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, 8), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, 1ull << 32), -EINVAL);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), -ENOENT);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), 0);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), -EEXIST);
	v[0] = 8;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_EXIST), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_int_equal(got[0], 8);
	v[0] = 9;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_int_equal(got[0], 9);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 1), -EINVAL);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, BPF_F_LOCK), -EINVAL);
	mt_region_destroy(r);
}

static void test_update_flags(void **state)
{
	check_update_flags(H);
	check_update_flags(PH);
}

/* Probed: a full map refuses new keys with E2BIG whatever the flag (but
 * BPF_EXIST says ENOENT first), and still replaces existing ones. */
static void check_full_map(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 8, 4, 0);
	uint64_t v[NR_CPUS] = {0}, got[NR_CPUS];
	uint32_t k, linked;

	for (k = 1; k <= 4; k++)
		assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), 0);
	k = 5;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), -E2BIG);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), -E2BIG);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_EXIST), -ENOENT);
	/* replacements cycle through the spares; none may leak into the pool */
	for (uint32_t i = 0; i < 1000; i++) {
		k = 1 + i % 4;
		v[0] = i;
		assert_int_equal(bpftime_map__update_elem(m, &k, v, i % 2 ? BPF_ANY : BPF_EXIST),
				 0);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
		assert_int_equal(got[0], i);
	}
	k = 1;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), -EEXIST);
	k = 5;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), -E2BIG);
	assert_int_equal(ht_walk(m), 4);
	assert_int_equal(ht_check_pool(m, &linked), 0);
	assert_int_equal(linked, 4);
	k = 2;
	assert_int_equal(bpftime_map__delete_elem(m, &k), 0);
	k = 5;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), 0);
	k = 6;
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), -E2BIG);
	mt_region_destroy(r);
}

static void test_full_map(void **state)
{
	check_full_map(H);
	check_full_map(PH);
}

static void test_delete_and_lookup_and_delete(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 8, 0);
	uint64_t got = 0;
	uint32_t k = 3;

	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, 0), -ENOENT);
	assert_int_equal(ht_update(m, 3, 33, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, 1), -EINVAL);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, 0), 0);
	assert_int_equal(got, 33);
	assert_int_equal(ht_lookup(m, 3, &got), -ENOENT);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, 0), -ENOENT);
	assert_int_equal(ht_update(m, 3, 34, BPF_NOEXIST), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	assert_int_equal(ht_walk(m), 0);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	assert_int_equal(ht_free_count(m), 8);
	mt_region_destroy(r);
}

static void test_get_next_key(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 64, 0);
	uint32_t k = 7, first, next, last = 0;

	assert_int_equal(bpftime_map__get_next_key(m, NULL, &next), -ENOENT);
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), -ENOENT);
	for (k = 100; k < 150; k++)
		assert_int_equal(ht_update(m, k, k, BPF_ANY), 0);
	assert_int_equal(ht_walk(m), 50);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, &first), 0);
	/* a missing key restarts the walk, as htab_map_get_next_key() */
	k = 7;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	assert_int_equal(next, first);
	for (uint32_t *cur = NULL; bpftime_map__get_next_key(m, cur, &next) == 0; cur = &last)
		last = next;
	assert_int_equal(bpftime_map__get_next_key(m, &last, &next), -ENOENT);
	mt_region_destroy(r);
}

/* ---- batches: __htab_map_lookup_and_delete_batch() ---- */

/* The first key from @start whose bucket is @bucket (BPF_F_ZERO_SEED maps). */
static uint32_t key_in_bucket(struct bpftime_map *m, uint32_t bucket, uint32_t start)
{
	struct htab *h = htab_of(m);

	for (uint32_t k = start;; k++)
		if ((bpftime_map_htab_hash(h, &k) & (h->n_buckets - 1)) == bucket)
			return k;
}

struct batch_buf {
	uint32_t in, out;
	uint32_t keys[16];
	uint64_t values[16 * NR_CPUS];
};

static int batch(struct bpftime_map *m, struct batch_buf *b, bool from_start, uint32_t count,
		 uint32_t *got, bool and_delete)
{
	int err;

	*got = count;
	b->out = 0xdead;
	err = bpftime_map__lookup_batch(m, from_start ? NULL : &b->in, &b->out, b->keys, b->values,
					got, 0, and_delete);
	b->in = b->out;
	return err;
}

/*
 * Buckets 2 (keys a, b) and 5 (key c) of 8. Probed on the kernel with the
 * same shape: count 1 is -ENOSPC with the token at the full bucket; a batch
 * ends on a bucket boundary; the last batch is -ENOENT with its elements
 * and the token n_buckets.
 */
static void test_lookup_batch_bucket_boundaries(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 8, BPF_F_ZERO_SEED);
	uint32_t a = key_in_bucket(m, 2, 1), b = key_in_bucket(m, 2, a + 1);
	uint32_t c = key_in_bucket(m, 5, 1), got, nb = 8;
	struct batch_buf buf;

	assert_int_equal(bpftime_map__batch_token_size(m), sizeof(uint32_t));
	assert_int_equal(ht_update(m, a, 10, BPF_ANY), 0);
	assert_int_equal(ht_update(m, b, 20, BPF_ANY), 0);
	assert_int_equal(ht_update(m, c, 30, BPF_ANY), 0);
	/* count 0: nothing happens */
	assert_int_equal(batch(m, &buf, true, 0, &got, false), 0);
	assert_int_equal(got, 0);
	assert_int_equal(buf.out, 0xdead);
	assert_int_equal(batch(m, &buf, true, 1, &got, false), -ENOSPC);
	assert_int_equal(got, 0);
	assert_int_equal(buf.out, 2);
	assert_int_equal(batch(m, &buf, true, 2, &got, false), 0);
	assert_int_equal(got, 2);
	assert_int_equal(buf.out, 5);
	assert_true(
	    (buf.keys[0] == a && buf.values[0] == 10 && buf.keys[1] == b && buf.values[1] == 20) ||
	    (buf.keys[0] == b && buf.values[0] == 20 && buf.keys[1] == a && buf.values[1] == 10));
	assert_int_equal(batch(m, &buf, false, 2, &got, false), -ENOENT);
	assert_int_equal(got, 1);
	assert_int_equal(buf.keys[0], c);
	assert_int_equal(buf.values[0], 30);
	assert_int_equal(buf.out, nb);
	/* past the end: -ENOENT, nothing copied, the token left alone */
	buf.in = nb;
	assert_int_equal(batch(m, &buf, false, 4, &got, false), -ENOENT);
	assert_int_equal(got, 0);
	assert_int_equal(buf.out, 0xdead);
	/* all at once: the final elements come with -ENOENT */
	assert_int_equal(batch(m, &buf, true, 16, &got, false), -ENOENT);
	assert_int_equal(got, 3);
	assert_int_equal(buf.out, nb);
	/* flags: BPF_F_LOCK (no spin lock in our values) and unknown ones */
	got = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &buf.out, buf.keys, buf.values, &got,
						   BPF_F_LOCK, false),
			 -EINVAL);
	assert_int_equal(
	    bpftime_map__lookup_batch(m, NULL, &buf.out, buf.keys, buf.values, &got, 1, false),
	    -EINVAL);
	/* and_delete: the same boundaries, and the elements go */
	assert_int_equal(batch(m, &buf, true, 1, &got, true), -ENOSPC);
	assert_int_equal(ht_walk(m), 3);
	assert_int_equal(batch(m, &buf, true, 2, &got, true), 0);
	assert_int_equal(got, 2);
	assert_false(ht_has(m, a) || ht_has(m, b));
	assert_true(ht_has(m, c));
	assert_int_equal(batch(m, &buf, false, 2, &got, true), -ENOENT);
	assert_int_equal(got, 1);
	assert_int_equal(ht_walk(m), 0);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	assert_int_equal(ht_free_count(m), 8);
	mt_region_destroy(r);
}

/* A tool's walk with small batches sees every element once. */
static void check_batch_walk(uint32_t type, bool and_delete)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 8, 256, BPF_F_ZERO_SEED);
	uint32_t ncpu = type == PH ? NR_CPUS : 1, got, seen = 0, calls = 0;
	uint8_t mark[200] = {0};
	struct batch_buf buf;
	int err;

	for (uint32_t k = 0; k < 200; k++) {
		uint64_t v[NR_CPUS] = {k, k + 1, k + 2, k + 3};

		assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), 0);
	}
	do {
		err = batch(m, &buf, calls++ == 0, 12, &got, and_delete);
		assert_true(err == 0 || err == -ENOENT);
		for (uint32_t i = 0; i < got; i++) {
			uint32_t k = buf.keys[i];

			assert_true(k < 200 && !mark[k]);
			mark[k] = 1;
			for (uint32_t c = 0; c < ncpu; c++)
				assert_int_equal(buf.values[i * ncpu + c], k + c);
			seen++;
		}
	} while (err == 0);
	assert_int_equal(seen, 200);
	assert_int_equal(ht_walk(m), and_delete ? 0 : 200);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	mt_region_destroy(r);
}

static void test_batch_walks(void **state)
{
	check_batch_walk(H, false);
	check_batch_walk(H, true);
	check_batch_walk(PH, false);
	check_batch_walk(PH, true);
}

/* ---- per-CPU values and the program side ---- */

static void test_percpu_values(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, PH, 4, 8, 0);
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(r, 2, tid), k = 1, v4;
	uint8_t in[NR_CPUS * 8], out[NR_CPUS * 8];
	uint32_t *p;

	assert_int_equal(cpu, 2);
	assert_int_equal(bpftime_map__value_size(m), NR_CPUS * 8);
	/* bpf(2): one 8-byte slot per CPU, padding included (probed) */
	memset(in, 0xff, sizeof(in));
	for (uint32_t c = 0; c < NR_CPUS; c++)
		in[c * 8] = (uint8_t)(c + 1);
	assert_int_equal(bpftime_map__update_elem(m, &k, in, BPF_ANY), 0);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(bpftime_map__lookup_elem(m, &k, out, 0), 0);
	assert_memory_equal(out, in, sizeof(in));
	/* a program sees and changes its CPU's slot only */
	p = bpftime_map__prog_lookup(m, &k, cpu);
	assert_non_null(p);
	assert_int_equal(*p, 0xffffff03);
	*p = 0x1234;
	assert_int_equal(bpftime_map__lookup_elem(m, &k, out, 0), 0);
	assert_int_equal(out[16], 0x34);
	assert_int_equal(out[8], 2);
	v4 = 0x55;
	assert_int_equal(bpftime_map__prog_update(m, &k, &v4, BPF_EXIST, cpu), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, out, 0), 0);
	assert_int_equal(out[16], 0x55);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[24], 4);
	/* a new element from a program is zero on the other CPUs (pcpu_init_value) */
	k = 2;
	assert_int_equal(bpftime_map__prog_update(m, &k, &v4, BPF_NOEXIST, cpu), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, out, 0), 0);
	for (uint32_t c = 0; c < NR_CPUS; c++) {
		memcpy(&v4, out + c * 8, 4);
		assert_int_equal(v4, c == cpu ? 0x55 : 0);
	}
	assert_null(bpftime_map__prog_lookup(m, &k, NR_CPUS));
	assert_int_equal(bpftime_map__prog_update(m, &k, &v4, BPF_ANY, NR_CPUS), -EINVAL);
	assert_int_equal(bpftime_map__prog_delete(m, &k, cpu), 0);
	assert_null(bpftime_map__prog_lookup(m, &k, cpu));
	assert_int_equal(bpftime_map__prog_delete(m, &k, cpu), -ENOENT);
	bpftime_map_region__cpu_put(r, cpu);
	mt_region_destroy(r);
}

static void test_prog_lookup_pointer_is_the_value(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 8, 0);
	uint32_t cpu = bpftime_map_region__cpu_get(r, 0, mt_tid()), k = 4;
	uint64_t v = 40, got, *p;

	assert_null(bpftime_map__prog_lookup(m, &k, cpu));
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_NOEXIST, cpu), 0);
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_NOEXIST, cpu), -EEXIST);
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_F_LOCK, cpu), -EINVAL);
	p = bpftime_map__prog_lookup(m, &k, cpu);
	assert_non_null(p);
	assert_int_equal(*p, 40);
	assert_int_equal((uintptr_t)p % 8, 0); /* programs do atomics on values */
	__atomic_fetch_add(p, 2, __ATOMIC_RELAXED);
	assert_int_equal(ht_lookup(m, k, &got), 0);
	assert_int_equal(got, 42);
	/* a syscall-side replacement is what the next program lookup sees */
	assert_int_equal(ht_update(m, k, 50, BPF_EXIST), 0);
	p = bpftime_map__prog_lookup(m, &k, cpu);
	assert_int_equal(*p, 50);
	bpftime_map_region__cpu_put(r, cpu);
	mt_region_destroy(r);
}

static void test_rdonly_prog(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 8, BPF_F_RDONLY_PROG);
	uint32_t cpu = bpftime_map_region__cpu_get(r, 0, mt_tid()), k = 1;
	uint64_t v = 1;

	assert_int_equal(ht_update(m, k, v, BPF_ANY), 0);
	assert_non_null(bpftime_map__prog_lookup(m, &k, cpu));
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_ANY, cpu), -EPERM);
	assert_int_equal(bpftime_map__prog_delete(m, &k, cpu), -EPERM);
	bpftime_map_region__cpu_put(r, cpu);
	mt_region_destroy(r);
}

static void test_long_keys(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map_attr a = mt_attr(H, 13, 3, 16, 0);
	struct bpftime_map *m = mt_map_new(r, &a);
	uint8_t key[13] = {0}, next[13], v[3] = {1, 2, 3}, got[3];

	for (uint8_t i = 0; i < 16; i++) {
		key[12] = i; /* keys that differ in their tail only */
		v[0] = i;
		assert_int_equal(bpftime_map__update_elem(m, key, v, BPF_NOEXIST), 0);
	}
	assert_int_equal(bpftime_map__update_elem(m, key, v, BPF_NOEXIST), -EEXIST);
	for (uint8_t i = 0; i < 16; i++) {
		key[12] = i;
		assert_int_equal(bpftime_map__lookup_elem(m, key, got, 0), 0);
		assert_int_equal(got[0], i);
	}
	assert_int_equal(ht_walk(m), 16);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, next), 0);
	mt_region_destroy(r);
}

/* ---- threads: exact totals ---- */

#define T_THREADS 4
#define T_KEYS    64
#define T_OPS     4000

struct t_arg {
	struct bpftime_map *m;
	uint32_t id;
	uint64_t model[T_KEYS]; /* 0: absent */
	unsigned errors;
};

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Values carry their key, so that a reader can tell a foreign value. */
static uint64_t val_of(uint32_t key, uint32_t version)
{
	return (uint64_t)key << 32 | version;
}

static int expect(struct t_arg *t, int got, int want)
{
	if (got != want)
		t->errors++;
	return got;
}

/* One random operation on one of our keys, checked against our model. */
static void t_step(struct t_arg *t, uint32_t *seed, uint32_t op, uint32_t cpu)
{
	uint32_t i = next_rand(seed) % T_KEYS, key = t->id * T_KEYS + i;
	uint64_t v = val_of(key, op + 1), *p;
	uint64_t vals[NR_CPUS] = {v, v, v, v};
	bool had = t->model[i] != 0;

	switch (next_rand(seed) % 5) {
	case 0:
		if (!expect(t, bpftime_map__update_elem(t->m, &key, vals, BPF_NOEXIST),
			    had ? -EEXIST : 0))
			t->model[i] = v;
		break;
	case 1:
		if (!expect(t, bpftime_map__update_elem(t->m, &key, vals, BPF_EXIST),
			    had ? 0 : -ENOENT))
			t->model[i] = v;
		break;
	case 2:
		expect(t, bpftime_map__update_elem(t->m, &key, vals, BPF_ANY), 0);
		t->model[i] = v;
		break;
	case 3:
		expect(t, bpftime_map__delete_elem(t->m, &key), had ? 0 : -ENOENT);
		t->model[i] = 0;
		break;
	default:
		p = bpftime_map__prog_lookup(t->m, &key, cpu);
		if ((p != NULL) != had || (p && *p != t->model[i]))
			t->errors++;
	}
	/* someone else's key, lock-free: the element may be reused under the
	 * pointer (as in the kernel), so only a value of some key */
	key = next_rand(seed) % (T_THREADS * T_KEYS);
	p = bpftime_map__prog_lookup(t->m, &key, cpu);
	if (p && *p >> 32 >= T_THREADS * T_KEYS)
		t->errors++;
	/* someone else's key: absent, or a value of that key */
	key = next_rand(seed) % (T_THREADS * T_KEYS);
	if (bpftime_map__lookup_elem(t->m, &key, vals, 0) == 0 && vals[0] >> 32 != key)
		t->errors++;
}

static void *t_run(void *arg)
{
	struct t_arg *t = arg;
	struct bpftime_map_region *r = t->m->r;
	uint32_t seed = t->id + 1, cpu = bpftime_map_region__cpu_get(r, t->id, mt_tid());

	for (uint32_t op = 0; op < T_OPS; op++)
		t_step(t, &seed, op, cpu);
	bpftime_map_region__cpu_put(r, cpu);
	return NULL;
}

/* Exactly as many elements as keys: any leak or duplicate shows. */
static void check_threads(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 8, T_THREADS * T_KEYS, 0);
	struct t_arg args[T_THREADS];
	pthread_t th[T_THREADS];
	uint32_t present = 0, linked;

	for (uint32_t i = 0; i < T_THREADS; i++) {
		args[i] = (struct t_arg){.m = m, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, t_run, &args[i]), 0);
	}
	for (uint32_t i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (uint32_t i = 0; i < T_THREADS; i++) {
		assert_int_equal(args[i].errors, 0);
		for (uint32_t k = 0; k < T_KEYS; k++) {
			uint64_t got[NR_CPUS];
			int err = ht_lookup(m, i * T_KEYS + k, got);

			assert_int_equal(err, args[i].model[k] ? 0 : -ENOENT);
			if (!err)
				assert_int_equal(got[0], args[i].model[k]);
			present += args[i].model[k] != 0;
		}
	}
	assert_int_equal(ht_walk(m), present);
	assert_int_equal(ht_check_pool(m, &linked), 0);
	assert_int_equal(linked, present);
	mt_region_destroy(r);
}

static void test_threads_exact_totals(void **state)
{
	check_threads(H);
	check_threads(PH);
}

/*
 * A key that is replaced all along is never missed by lock-free lookups:
 * the new element takes the old one's place in one store, and readers
 * retry when the bucket's seq moved (the kernel's lookups can miss it).
 */
struct r_arg {
	struct bpftime_map *m;
	uint32_t cpu;
	bool stop;
	unsigned misses, reads;
};

static void *r_reader(void *arg)
{
	struct r_arg *a = arg;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
		for (uint32_t k = 0; k < 8; k++) {
			a->misses += !bpftime_map__prog_lookup(a->m, &k, a->cpu);
			__atomic_fetch_add(&a->reads, 1, __ATOMIC_RELAXED);
		}
	return NULL;
}

static void check_no_miss(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 8, 64, 0);
	struct r_arg a = {.m = m};
	pthread_t th;

	a.cpu = bpftime_map_region__cpu_get(r, 1, mt_tid());
	for (uint32_t k = 0; k < 8; k++)
		assert_int_equal(ht_update(m, k, k, BPF_NOEXIST), 0);
	assert_int_equal(pthread_create(&th, NULL, r_reader, &a), 0);
	/* until the reader has overlapped a good many replacements */
	for (uint32_t i = 0; i < 20000 || __atomic_load_n(&a.reads, __ATOMIC_RELAXED) < 100000; i++)
		assert_int_equal(ht_update(m, i % 8, i, BPF_EXIST), 0);
	__atomic_store_n(&a.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.misses, 0);
	bpftime_map_region__cpu_put(r, a.cpu);
	mt_region_destroy(r);
}

static void test_prog_lookup_never_misses_a_replaced_key(void **state)
{
	check_no_miss(H);
	check_no_miss(BPF_MAP_TYPE_LRU_HASH);
}

/* ---- processes ---- */

#define P_KEYS 200

/* Insert, update and delete keys [base, base + P_KEYS): 0 when all went as expected. */
static int proc_work(struct bpftime_map *m, uint32_t base)
{
	int bad = 0;

	for (uint32_t round = 0; round < 20; round++)
		for (uint32_t k = base; k < base + P_KEYS; k++) {
			uint64_t v = val_of(k, round);

			bad |= ht_update(m, k, v, round ? BPF_EXIST : BPF_NOEXIST) != 0;
		}
	for (uint32_t k = base + 1; k < base + P_KEYS; k += 2)
		bad |= bpftime_map__delete_elem(m, &k) != 0;
	return bad;
}

static void test_two_processes(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, H, 8, 2 * P_KEYS, 0);
	char path[PATH_MAX];
	pid_t pid;

	snprintf(path, sizeof(path), "%s", bpftime_map_region__path(r));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r2 = mt_region_join(path);
		struct bpftime_map *m2 = r2 ? bpftime_map__get(r2, bpftime_map__id(m)) : NULL;

		_exit(!m2 || proc_work(m2, P_KEYS));
	}
	assert_int_equal(proc_work(m, 0), 0);
	assert_int_equal(mt_wait(pid), 0);
	for (uint32_t k = 0; k < 2 * P_KEYS; k++) {
		uint64_t got;
		int err = ht_lookup(m, k, &got);

		assert_int_equal(err, k % 2 ? -ENOENT : 0);
		if (!err)
			assert_int_equal(got, val_of(k, 19));
	}
	assert_int_equal(ht_walk(m), P_KEYS);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	mt_region_destroy(r);
}

/* ---- killed holders ---- */

/*
 * Killed-process tests use 1 KiB values: the copy under the bucket lock
 * makes it likely that some kills land inside a locked section.
 */
#define K_VS 1024

static int k_update(struct bpftime_map *m, uint32_t k, uint64_t v)
{
	uint64_t buf[K_VS / 8 * NR_CPUS] = {v};

	for (uint32_t c = 1; c < NR_CPUS; c++)
		buf[c * K_VS / 8] = v; /* slot c of a per-CPU value */
	return bpftime_map__update_elem(m, &k, buf, BPF_ANY);
}

/*
 * The child: hammer keys [base, base + n) from the program side until
 * killed. Programs make no system call per operation, so kills land
 * anywhere in it (a syscall per operation would draw them to its return).
 */
__attribute__((noreturn)) static void hammer(const char *path, uint32_t id, uint32_t base,
					     uint32_t n, int ready_fd)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct bpftime_map *m = r ? bpftime_map__get(r, id) : NULL;
	uint32_t seed = (uint32_t)getpid(), cpu;
	static uint64_t buf[K_VS / 8];

	if (!m)
		_exit(1);
	cpu = bpftime_map_region__cpu_get(r, 1, mt_tid());
	mt_pipe_put(ready_fd, 'r');
	for (uint32_t i = 0;; i++) {
		uint32_t k = base + next_rand(&seed) % n;

		buf[0] = val_of(k, i);
		if (next_rand(&seed) % 4 == 0)
			bpftime_map__prog_delete(m, &k, cpu);
		else
			bpftime_map__prog_update(m, &k, buf, BPF_ANY, cpu);
	}
}

/* Whether a bucket is locked by @tid (a killed child nobody has taken over from yet). */
static bool held_by(struct bpftime_map *m, uint32_t tid)
{
	struct htab *h = htab_of(m);

	for (uint32_t i = 0; i < h->n_buckets; i++)
		if (__atomic_load_n(&htab_bucket(h, i)->lock, __ATOMIC_RELAXED) == tid)
			return true;
	return false;
}

/* One child, killed while the parent updates keys [0, 32); true if killed inside a lock. */
static bool kill_round(struct bpftime_map *m, const char *path, uint32_t kill_at)
{
	bool in_lock = false, bad = false;
	int fds[2], status = -1;
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		hammer(path, bpftime_map__id(m), 32, 16, fds[1]);
	assert_int_equal(mt_pipe_get(fds[0], &c), 0);
	/* no assert until the child is dead: a failed one would leave it running */
	for (uint32_t i = 0; i < 1000; i++) {
		bad |= k_update(m, i % 32, val_of(i % 32, i)) != 0;
		if (i == kill_at) {
			/* reaped at once: a zombie still answers kill(tid, 0) */
			kill(pid, SIGKILL);
			status = mt_wait(pid);
			in_lock = held_by(m, (uint32_t)pid);
		}
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(status, 128 + SIGKILL);
	assert_false(bad);
	return in_lock;
}

/* The parent's keys intact, each key once in a walk, no element in two places. */
static uint32_t check_after_kill(struct bpftime_map *m)
{
	uint32_t present = 0, linked, lost;

	for (uint32_t k = 0; k < 32; k++) {
		uint64_t got[K_VS / 8 * NR_CPUS];

		assert_int_equal(ht_lookup(m, k, got), 0);
		assert_int_equal(got[0] >> 32, k);
	}
	for (uint32_t k = 32; k < 48; k++)
		present += ht_has(m, k);
	assert_int_equal(ht_walk(m), 32 + present);
	lost = ht_check_pool(m, &linked);
	assert_int_equal(linked, 32 + present);
	return lost;
}

/*
 * A child hammering the map is SIGKILLed, at times inside a bucket lock;
 * the parent, which updates its own keys all along, must then finish
 * without deadlock and find a consistent map. Rounds go on until a few
 * kills landed inside a lock (bounded: a few seconds at most).
 */
static void check_sigkill(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	/* a small table: chains of several elements */
	struct bpftime_map *m = new_map(r, type, K_VS, 64, 0);
	uint32_t lost = 0, seed = 1, in_lock = 0, round;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", bpftime_map_region__path(r));
	alarm(60); /* a deadlock fails the test instead of hanging it */
	for (round = 0; round < 200 && (round < 8 || in_lock < 3); round++) {
		in_lock += kill_round(m, path, 50 + next_rand(&seed) % 900);
		lost = check_after_kill(m);
	}
	alarm(0);
	print_message("%s: %u processes killed, %u inside a bucket lock; %u element(s) lost\n",
		      type == H ? "hash" : "percpu_hash", round, in_lock, lost);
	assert_true(in_lock > 0);
	mt_region_destroy(r);
}

static void test_sigkill_while_hammering(void **state)
{
	check_sigkill(H);
	check_sigkill(PH);
}

/*
 * Each state a killed holder can leave, built by hand in a bucket whose
 * lock names a dead TID; the next locker repairs it (htab_repair()).
 */
struct repair_fx {
	struct bpftime_map_region *r;
	struct bpftime_map *m;
	struct htab *h;
	struct htab_bucket *b;
	uint32_t key; /* a key of bucket b */
};

static void repair_setup(struct repair_fx *f)
{
	f->r = mt_region_create(NR_CPUS, 0);
	f->m = new_map(f->r, H, 8, 4, BPF_F_ZERO_SEED);
	f->h = htab_of(f->m);
	f->key = key_in_bucket(f->m, 1, 1);
	f->b = htab_bucket(f->h, 1);
}

/* Lock the bucket for a dead holder, seq odd, as it was killed. */
static void die_holding(struct repair_fx *f)
{
	f->b->lock = ht_dead_tid();
	f->b->seq |= 1;
}

static struct htab_elem *pop_elem(struct htab *h, struct map_freelist *fl)
{
	int64_t idx = map_freelist_pop(fl, htab_fnext(h), h->nr_elems);

	assert_true(idx >= 0);
	return htab_elem(h, (uint32_t)idx);
}

/* After repair: nothing lost, and the map holds exactly max_entries. */
static void check_repaired(struct repair_fx *f)
{
	uint32_t n = 0;

	assert_int_equal(ht_check_pool(f->m, NULL), 0);
	for (uint32_t k = 1000; n < 8; k++) {
		int err = ht_update(f->m, k, k, BPF_NOEXIST);

		if (err == -E2BIG)
			break;
		assert_int_equal(err, 0);
		n++;
	}
	assert_int_equal(ht_walk(f->m), 4);
	mt_region_destroy(f->r);
}

static void test_repair_insert_before_link(void **state)
{
	struct repair_fx f;
	struct htab_elem *n;

	repair_setup(&f);
	n = pop_elem(f.h, &f.h->free);
	htab_claim(f.h, f.b, n, false);
	htab_set_key(f.h, n, bpftime_map_htab_hash(f.h, &f.key), &f.key);
	die_holding(&f);
	assert_false(ht_has(f.m, f.key)); /* takes the lock over, repairs */
	assert_int_equal(f.b->lock, 0);
	check_repaired(&f);
}

static void test_repair_insert_after_link(void **state)
{
	struct repair_fx f;
	uint64_t got;

	repair_setup(&f);
	assert_int_equal(ht_update(f.m, f.key, 5, BPF_ANY), 0);
	/* killed just before clearing the add intent */
	f.b->add = f.b->head;
	die_holding(&f);
	assert_int_equal(ht_lookup(f.m, f.key, &got), 0);
	assert_int_equal(got, 5);
	check_repaired(&f);
}

static void test_repair_delete_after_unlink(void **state)
{
	struct repair_fx f;
	uint32_t idx;

	repair_setup(&f);
	assert_int_equal(ht_update(f.m, f.key, 5, BPF_ANY), 0);
	idx = f.b->head;
	f.b->del = idx;
	f.b->head = htab_elem(f.h, idx - 1)->next;
	die_holding(&f);
	assert_false(ht_has(f.m, f.key));
	check_repaired(&f);
}

/* @swapped: killed after the store that puts the new element in place. */
static void check_repair_replace(bool swapped)
{
	struct repair_fx f;
	struct htab_elem *o, *n;
	uint32_t hash;
	uint64_t got, nv = 6;

	repair_setup(&f);
	hash = bpftime_map_htab_hash(f.h, &f.key);
	assert_int_equal(ht_update(f.m, f.key, 5, BPF_ANY), 0);
	o = htab_elem(f.h, f.b->head - 1);
	n = pop_elem(f.h, &f.h->spare);
	htab_claim(f.h, f.b, n, true);
	htab_set_key(f.h, n, hash, &f.key);
	memcpy(htab_value(f.h, n), &nv, 8);
	f.b->del = (htab_idx(f.h, o) + 1) | HTAB_SPARE_BIT;
	n->next = o->next;
	n->linked = 1;
	if (swapped)
		f.b->head = htab_idx(f.h, n) + 1;
	die_holding(&f);
	assert_int_equal(ht_lookup(f.m, f.key, &got), 0);
	assert_int_equal(got, swapped ? 6 : 5);
	check_repaired(&f);
}

static void test_repair_replace(void **state)
{
	check_repair_replace(false);
	check_repair_replace(true);
}

/* A killed holder also leaves the lock-free readers a way out. */
static void test_prog_lookup_after_killed_holder(void **state)
{
	struct repair_fx f;
	uint32_t cpu;
	uint64_t *p;

	repair_setup(&f);
	cpu = bpftime_map_region__cpu_get(f.r, 0, mt_tid());
	assert_int_equal(ht_update(f.m, f.key, 5, BPF_ANY), 0);
	die_holding(&f);
	p = bpftime_map__prog_lookup(f.m, &f.key, cpu);
	assert_non_null(p);
	assert_int_equal(*p, 5);
	assert_int_equal(f.b->seq % 2, 0);
	bpftime_map_region__cpu_put(f.r, cpu);
	check_repaired(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_create_numa_node),
	    cmocka_unit_test(test_update_flags),
	    cmocka_unit_test(test_full_map),
	    cmocka_unit_test(test_delete_and_lookup_and_delete),
	    cmocka_unit_test(test_get_next_key),
	    cmocka_unit_test(test_lookup_batch_bucket_boundaries),
	    cmocka_unit_test(test_batch_walks),
	    cmocka_unit_test(test_percpu_values),
	    cmocka_unit_test(test_prog_lookup_pointer_is_the_value),
	    cmocka_unit_test(test_rdonly_prog),
	    cmocka_unit_test(test_long_keys),
	    cmocka_unit_test(test_threads_exact_totals),
	    cmocka_unit_test(test_prog_lookup_never_misses_a_replaced_key),
	    cmocka_unit_test(test_two_processes),
	    cmocka_unit_test(test_sigkill_while_hammering),
	    cmocka_unit_test(test_repair_insert_before_link),
	    cmocka_unit_test(test_repair_insert_after_link),
	    cmocka_unit_test(test_repair_delete_after_unlink),
	    cmocka_unit_test(test_repair_replace),
	    cmocka_unit_test(test_prog_lookup_after_killed_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
