// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_BLOOM_FILTER: creation checks, the kernel's sizing, the
 * syscall side (lookup = peek with the value as input, update = push),
 * the helpers, the kernel's hash (a BPF_F_ZERO_SEED filter answers the
 * same false positives as Linux 6.18), threads and a child process that
 * joins by path.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"

#define B BPF_MAP_TYPE_BLOOM_FILTER

static int setup(void **state)
{
	*state = mt_region_create(4, 0);
	return 0;
}

static int teardown(void **state)
{
	mt_region_destroy(*state);
	return 0;
}

static struct bpftime_map *new_bloom(void **state, uint32_t vs, uint32_t max, uint32_t flags,
				     uint64_t nr_hashes)
{
	struct bpftime_map_attr a = mt_attr(B, 0, vs, max, flags);

	a.map_extra = nr_hashes;
	return mt_map_new(*state, &a);
}

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t key_size, value_size, max_entries, flags;
	uint64_t extra;
	int err;
};

static const struct create_case create_cases[] = {
    {"default", 0, 4, 4, 0, 0, 0},
    {"15 hashes", 0, 4, 4, 0, 15, 0},
    {"16 hashes", 0, 4, 4, 0, 16, -EINVAL},
    {"map_extra high bits", 0, 4, 4, 0, 1ull << 32, -EINVAL},
    {"key_size 4", 4, 4, 4, 0, 0, -EINVAL},
    {"value_size 0", 0, 0, 4, 0, 0, -EINVAL},
    {"max_entries 0", 0, 4, 0, 0, 0, -EINVAL},
    {"zero seed", 0, 4, 4, BPF_F_ZERO_SEED, 0, 0},
    {"no prealloc", 0, 4, 4, BPF_F_NO_PREALLOC, 0, -EINVAL},
    {"inner map", 0, 4, 4, BPF_F_INNER_MAP, 0, -EINVAL},
    {"numa node 0", 0, 4, 4, BPF_F_NUMA_NODE, 0, 0},
    {"rdonly prog", 0, 4, 4, BPF_F_RDONLY_PROG, 0, 0},
    {"rdonly and wronly prog", 0, 4, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, 0, -EINVAL},
    {"value 4 MiB", 0, 4u << 20, 1, 0, 0, 0},
    {"value 4 MiB + 1", 0, (4u << 20) + 1, 1, 0, 0, -E2BIG},
    /* bloom_map_alloc_check() runs before the attribute checks */
    {"too big beats key_size", 4, (4u << 20) + 1, 1, 0, 0, -E2BIG},
};

static void test_create_checks(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    mt_attr(B, c->key_size, c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err;

		a.map_extra = c->extra;
		err = bpftime_map__create(*state, &a, &id);
		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
	}
}

/* bloom_map_alloc(): n * k * 7 / 5 bits, at least 64, a power of two. */
static void test_bitset_is_sized_as_the_kernel_sizes_it(void **state)
{
	static const struct {
		uint32_t max_entries;
		uint64_t hashes, bitset_bytes;
	} cases[] = {
	    {1, 1, 8},               /* 1 * 1 / 5 * 7 = 0: one long */
	    {9, 5, 8},               /* 63 bits */
	    {10, 5, 16},             /* 70 bits: 128 */
	    {100, 0, 128},           /* 5 hashes by default: 700 bits: 1024 */
	    {1000, 15, 4096},        /* 21000 bits: 32768 */
	    {1u << 20, 3, 1u << 20}, /* 4404015 bits: 2^23 */
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct bpftime_map *m =
		    new_bloom(state, 4, cases[i].max_entries, 0, cases[i].hashes);

		/* the 64-byte header, then the bitset */
		assert_int_equal(m->d->data_size, 64 + cases[i].bitset_bytes);
		bpftime_map__destroy(*state, bpftime_map__id(m));
	}
}

/* ---- syscall side ---- */

static void test_syscall_side(void **state)
{
	struct bpftime_map *m = new_bloom(state, 8, 100, BPF_F_ZERO_SEED, 0);
	uint64_t in = 0x1234, out = 0x5678, v = in;
	uint32_t key = 0, n = 1;
	uint8_t tok[4];

	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), -ENOENT);
	assert_int_equal(bpftime_map__update_elem(m, NULL, &in, BPF_NOEXIST), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, NULL, &in, BPF_EXIST), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, NULL, &in, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, NULL, &in, BPF_ANY), 0);
	/* the value is the input of a lookup, and is left as it was */
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
	assert_int_equal(v, in);
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &out, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, BPF_F_LOCK), -EINVAL);
	/* key_size 0: a key pointer is -EINVAL before anything else */
	assert_int_equal(bpftime_map__update_elem(m, &key, &in, 0), -EINVAL);
	assert_int_equal(bpftime_map__lookup_elem(m, &key, &in, 0), -EINVAL);
	assert_int_equal(bpftime_map__delete_elem(m, &key), -EINVAL);
	assert_int_equal(bpftime_map__get_next_key(m, &key, &key), -EINVAL);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &key, &v, 0), -EINVAL);
	/* bloom_map_delete_elem(), _get_next_key(): -EOPNOTSUPP;
	 * map_lookup_and_delete_elem(): -ENOTSUPP for this type */
	assert_int_equal(bpftime_map__delete_elem(m, NULL), -EOPNOTSUPP);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, &key), -EOPNOTSUPP);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, NULL, &v, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &key, &v, &n, 0, false),
			 -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__update_batch(m, &key, &v, &n, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__delete_batch(m, &key, &n, 0), -MT_ENOTSUPP);
	/* frozen: no more pushes; tests go on */
	assert_int_equal(bpftime_map__freeze(m), 0);
	assert_int_equal(bpftime_map__update_elem(m, NULL, &out, 0), -EPERM);
	assert_int_equal(bpftime_map__delete_elem(m, NULL), -EPERM);
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
}

static void test_helpers(void **state)
{
	struct bpftime_map *m = new_bloom(state, 4, 16, 0, 3);
	uint32_t v = 77, key = 0;

	assert_int_equal(bpftime_map__prog_peek(m, &v), -ENOENT);
	assert_int_equal(bpftime_map__prog_push(m, &v, BPF_EXIST), -EINVAL);
	assert_int_equal(bpftime_map__prog_push(m, &v, 0), 0);
	assert_int_equal(bpftime_map__prog_peek(m, &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(bpftime_map__prog_pop(m, &v), -EOPNOTSUPP);
	assert_null(bpftime_map__prog_lookup(m, &key, 0));
	assert_int_equal(bpftime_map__prog_update(m, &key, &v, 0, 0), -EINVAL);
	assert_int_equal(bpftime_map__prog_delete(m, &key, 0), -EOPNOTSUPP);
}

/*
 * Zero-seed filters hash as the kernel does (jhash, seed + hash index): the
 * false positives among 20000 values are the kernel's, counted on Linux
 * 6.18 with the same pushes and probes.
 */
static void test_zero_seed_answers_as_the_kernel(void **state)
{
	static const struct {
		uint32_t value_size, max_entries;
		uint64_t hashes;
		uint32_t kernel_positives;
	} cases[] = {
	    {4, 50, 3, 2042}, /* jhash2 path */
	    {6, 64, 0, 521},  /* jhash with a byte tail, 5 hashes */
	    {8, 200, 7, 114},
	};

	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		uint32_t vs = cases[c].value_size, pos = 0;
		struct bpftime_map *m =
		    new_bloom(state, vs, cases[c].max_entries, BPF_F_ZERO_SEED, cases[c].hashes);
		uint8_t v[8];

		for (uint32_t i = 0; i < cases[c].max_entries; i++) {
			memset(v, 0, sizeof(v));
			memcpy(v, &i, 4);
			assert_int_equal(bpftime_map__update_elem(m, NULL, v, 0), 0);
		}
		for (uint32_t i = 1000; i < 21000; i++) {
			memset(v, 0, sizeof(v));
			memcpy(v, &i, 4);
			v[vs - 1] ^= 0x5a;
			pos += bpftime_map__lookup_elem(m, NULL, v, 0) == 0;
		}
		assert_int_equal(pos, cases[c].kernel_positives);
	}
}

/* ---- threads and processes ---- */

#define THREADS    4
#define PER_THREAD 2000

struct thr {
	struct bpftime_map *m;
	uint32_t id;
	uint32_t misses; /* own values that peeked absent after their push */
};

static void *pusher(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 0; i < PER_THREAD; i++) {
		uint64_t v = (uint64_t)t->id << 32 | i;

		bpftime_map__prog_push(t->m, &v, 0);
		/* bits are only ever set: what is in stays in */
		v = (uint64_t)t->id << 32 | (i / 2);
		t->misses += bpftime_map__prog_peek(t->m, &v) != 0;
	}
	return NULL;
}

static void test_threads_lose_no_value(void **state)
{
	struct bpftime_map *m = new_bloom(state, 8, THREADS * PER_THREAD, 0, 0);
	struct thr ts[THREADS];
	pthread_t th[THREADS];

	for (uint32_t i = 0; i < THREADS; i++) {
		ts[i] = (struct thr){.m = m, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, pusher, &ts[i]), 0);
	}
	for (uint32_t i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ts[i].misses, 0);
	}
	for (uint64_t t = 0; t < THREADS; t++)
		for (uint64_t i = 0; i < PER_THREAD; i++) {
			uint64_t v = t << 32 | i;

			assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
		}
}

static void test_child_joins_by_path_and_pushes(void **state)
{
	struct bpftime_map *m = new_bloom(state, 4, 1000, 0, 0);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m), absent = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;

		if (!cm)
			_exit(2);
		for (uint32_t i = 0; i < 500; i++)
			if (bpftime_map__update_elem(cm, NULL, &i, 0))
				_exit(3);
		_exit(0);
	}
	assert_int_equal(mt_wait(pid), 0);
	for (uint32_t i = 0; i < 500; i++)
		assert_int_equal(bpftime_map__prog_peek(m, &i), 0);
	/* 1000 entries' worth of bits hold 500: most other values are absent */
	for (uint32_t i = 100000; i < 101000; i++)
		absent += bpftime_map__prog_peek(m, &i) == -ENOENT;
	assert_true(absent > 900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_bitset_is_sized_as_the_kernel_sizes_it),
	    cmocka_unit_test(test_syscall_side),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_zero_seed_answers_as_the_kernel),
	    cmocka_unit_test(test_threads_lose_no_value),
	    cmocka_unit_test(test_child_joins_by_path_and_pushes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
