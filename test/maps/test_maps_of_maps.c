// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS: creation checks
 * (with the template named by inner_map_id, in the kernel's order), which
 * inner maps fit the template (bpf_map_meta_equal), the syscall side (ids
 * in, ids out), program-side lookups giving handles, batches, threads, a
 * child that joins by path and a holder killed mid-update. Expected
 * answers are Linux 6.18's (probed with libbpf; fds there, ids here).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "maps-test.h"
#include "maps-test-kill.h"
#include "map-hash.h"

#define AOM BPF_MAP_TYPE_ARRAY_OF_MAPS
#define HOM BPF_MAP_TYPE_HASH_OF_MAPS
#define A   BPF_MAP_TYPE_ARRAY
#define H   BPF_MAP_TYPE_HASH

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

static uint32_t new_id(void **state, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max,
		       uint32_t flags)
{
	struct bpftime_map_attr a = mt_attr(type, ks, vs, max, flags);

	return bpftime_map__id(mt_map_new(*state, &a));
}

static struct bpftime_map *new_outer(void **state, uint32_t type, uint32_t ks, uint32_t max,
				     uint32_t flags, uint32_t inner)
{
	struct bpftime_map_attr a = mt_attr(type, ks, 4, max, flags);

	a.inner_map_id = inner;
	return mt_map_new(*state, &a);
}

static int set(struct bpftime_map *m, uint32_t key, uint32_t inner, uint64_t flags)
{
	return bpftime_map__update_elem(m, &key, &inner, flags);
}

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t type, key_size, value_size, max_entries, flags;
	int inner; /* 1: a fitting template, 0: id 0, -1: an id no map has */
	int err;
};

static const struct create_case create_cases[] = {
    {"array of maps", AOM, 4, 4, 4, 0, 1, 0},
    {"no template", AOM, 4, 4, 4, 0, 0, -EBADF},
    {"template id unused", AOM, 4, 4, 4, 0, -1, -EBADF},
    /* fd_array_map_alloc_check() before the template */
    {"key_size 8, no template", AOM, 8, 4, 4, 0, -1, -EINVAL},
    {"value_size 8, no template", AOM, 4, 8, 4, 0, -1, -EINVAL},
    {"max_entries 0, no template", AOM, 4, 4, 0, 0, -1, -EINVAL},
    {"no prealloc", AOM, 4, 4, 4, BPF_F_NO_PREALLOC, 1, -EINVAL},
    {"rdonly prog", AOM, 4, 4, 4, BPF_F_RDONLY_PROG, 1, -EINVAL},
    {"wronly prog", AOM, 4, 4, 4, BPF_F_WRONLY_PROG, 1, -EINVAL},
    {"inner map flag", AOM, 4, 4, 4, BPF_F_INNER_MAP, 1, -EINVAL},
    {"mmapable", AOM, 4, 4, 4, BPF_F_MMAPABLE, 1, -EINVAL},
    {"numa node 0", AOM, 4, 4, 4, BPF_F_NUMA_NODE, 1, 0},
    /* the template before array_map_alloc() */
    {"huge, no template", AOM, 4, 4, UINT32_MAX, 0, -1, -EBADF},
    {"huge", AOM, 4, 4, UINT32_MAX, 0, 1, -ENOMEM},
    {"hash of maps", HOM, 4, 4, 4, 0, 1, 0},
    {"hash, no template", HOM, 4, 4, 4, 0, 0, -EBADF},
    {"hash, key_size 8", HOM, 8, 4, 4, 0, 1, 0},
    {"hash, key_size 3", HOM, 3, 4, 4, 0, 1, 0},
    {"hash, key_size 8, no template", HOM, 8, 4, 4, 0, -1, -EBADF},
    {"hash, key_size 0", HOM, 0, 4, 4, 0, 1, -EINVAL},
    {"hash, value_size 8, no template", HOM, 4, 8, 4, 0, -1, -EINVAL},
    {"hash, max_entries 0, no template", HOM, 4, 4, 0, 0, -1, -EINVAL},
    {"hash, no prealloc", HOM, 4, 4, 4, BPF_F_NO_PREALLOC, 1, 0},
    {"hash, rdonly prog", HOM, 4, 4, 4, BPF_F_RDONLY_PROG, 1, 0},
    {"hash, zero seed", HOM, 4, 4, 4, BPF_F_ZERO_SEED, 1, 0},
    {"hash, inner map flag", HOM, 4, 4, 4, BPF_F_INNER_MAP, 1, -EINVAL},
    {"hash, no common lru", HOM, 4, 4, 4, BPF_F_NO_COMMON_LRU, 1, -EINVAL},
    /* key + value >= KMALLOC_MAX_SIZE - sizeof(struct htab_elem) */
    {"hash, key too big", HOM, 4194252, 4, 4, 0, -1, -E2BIG},
    /* htab_map_alloc()'s size checks come after the template */
    {"hash, huge", HOM, 4, 4, UINT32_MAX, 0, 1, -E2BIG},
    {"hash, huge, no template", HOM, 4, 4, UINT32_MAX, 0, -1, -EBADF},
    {"hash, 2^27 + 1", HOM, 4, 4, (1u << 27) + 1, BPF_F_NO_PREALLOC, 1, -E2BIG},
};

static void test_create_checks(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 10, 0);

	mt_log_capture();
	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    mt_attr(c->type, c->key_size, c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err;

		a.inner_map_id = c->inner > 0 ? tpl : c->inner == 0 ? 0 : 4000;
		err = bpftime_map__create(*state, &a, &id);
		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
	}
	assert_non_null(mt_log_find("inner_map_id 4000 names no map"));
	mt_log_release();
}

/* bpf_map_meta_alloc(): maps of maps cannot nest; some types cannot be inner. */
static void test_template_types(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 10, 0);
	struct bpftime_map *aom = new_outer(state, AOM, 4, 2, 0, tpl);
	struct bpftime_map_attr a = mt_attr(AOM, 4, 4, 2, 0);
	uint32_t id;

	mt_log_capture();
	a.inner_map_id = bpftime_map__id(aom);
	assert_int_equal(bpftime_map__create(*state, &a, &id), -EINVAL);
	assert_non_null(mt_log_find("holds maps itself"));
	a.map_type = HOM;
	assert_int_equal(bpftime_map__create(*state, &a, &id), -EINVAL);
	a.inner_map_id = new_id(state, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, 0);
	assert_int_equal(bpftime_map__create(*state, &a, &id), -MT_ENOTSUPP);
	assert_non_null(mt_log_find("type 3 cannot be an inner map"));
	mt_log_release();
	/* queues, stacks, tries and stack maps can be inner maps */
	a.inner_map_id = new_id(state, BPF_MAP_TYPE_QUEUE, 0, 4, 2, 0);
	assert_int_equal(bpftime_map__create(*state, &a, &id), 0);
	a.inner_map_id = new_id(state, BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC);
	a.map_type = AOM;
	assert_int_equal(bpftime_map__create(*state, &a, &id), 0);
}

/* The meta is copied: the template may go (libbpf closes it at once). */
static void test_template_may_be_destroyed(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 10, 0);
	struct bpftime_map *o = new_outer(state, AOM, 4, 2, 0, tpl);
	uint32_t in = new_id(state, A, 4, 8, 10, 0), in2 = new_id(state, A, 4, 8, 11, 0);

	assert_int_equal(bpftime_map__destroy(*state, tpl), 0);
	assert_int_equal(set(o, 0, in, 0), 0);
	assert_int_equal(set(o, 1, in2, 0), -EINVAL);
}

/* ---- which maps fit ---- */

static void test_array_meta_equal(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 10, 0);
	uint32_t tpl_inner = new_id(state, A, 4, 8, 10, BPF_F_INNER_MAP);
	struct bpftime_map *o = new_outer(state, AOM, 4, 2, 0, tpl);
	struct bpftime_map *oi = new_outer(state, AOM, 4, 2, 0, tpl_inner);

	assert_int_equal(set(o, 0, new_id(state, A, 4, 8, 10, 0), 0), 0);
	assert_int_equal(set(o, 0, new_id(state, A, 4, 8, 11, 0), 0), -EINVAL);
	assert_int_equal(set(o, 0, new_id(state, A, 4, 16, 10, 0), 0), -EINVAL);
	assert_int_equal(set(o, 0, new_id(state, A, 4, 8, 10, BPF_F_RDONLY_PROG), 0), -EINVAL);
	assert_int_equal(set(o, 0, new_id(state, A, 4, 8, 11, BPF_F_INNER_MAP), 0), -EINVAL);
	/* the fd's read/write-only flags are not the map's */
	assert_int_equal(set(o, 0, new_id(state, A, 4, 8, 10, BPF_F_RDONLY), 0), 0);
	assert_int_equal(set(o, 0, new_id(state, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 10, 0), 0),
			 -EINVAL);
	assert_int_equal(set(o, 0, new_id(state, H, 4, 8, 10, 0), 0), -EINVAL);
	assert_int_equal(set(o, 0, bpftime_map__id(o), 0), -EINVAL);
	/* BPF_F_INNER_MAP template: any max_entries, but the flag must match */
	assert_int_equal(set(oi, 0, new_id(state, A, 4, 8, 99, BPF_F_INNER_MAP), 0), 0);
	assert_int_equal(set(oi, 0, new_id(state, A, 4, 8, 10, 0), 0), -EINVAL);
}

static void test_hash_meta_equal(void **state)
{
	uint32_t tpl = new_id(state, H, 4, 8, 10, 0);
	struct bpftime_map *o = new_outer(state, HOM, 4, 4, 0, tpl);

	/* hashes: max_entries may differ, flags may not */
	assert_int_equal(set(o, 1, new_id(state, H, 4, 8, 99, 0), 0), 0);
	assert_int_equal(set(o, 1, new_id(state, H, 4, 8, 10, BPF_F_NO_PREALLOC), 0), -EINVAL);
	assert_int_equal(set(o, 1, new_id(state, H, 8, 8, 10, 0), 0), -EINVAL);
	assert_int_equal(set(o, 1, new_id(state, A, 4, 8, 10, 0), 0), -EINVAL);
}

/* ---- syscall side ---- */

static void test_array_of_maps_syscall_side(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 10, 0);
	struct bpftime_map *o = new_outer(state, AOM, 4, 3, 0, tpl);
	uint32_t in = new_id(state, A, 4, 8, 10, 0), k = 0, v = 0, far = 3, n, keys[3], vals[3],
		 tok;

	/* bpf_fd_array_map_update_elem(): flags, index, then the map */
	assert_int_equal(set(o, 0, in, BPF_NOEXIST), -EINVAL);
	assert_int_equal(set(o, 3, in, BPF_ANY), -E2BIG);
	assert_int_equal(set(o, 1, 4000, BPF_ANY), -EBADF);
	assert_int_equal(set(o, 1, 0, BPF_ANY), -EBADF);
	assert_int_equal(set(o, 0, in, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(o, &k, &v, 0), 0);
	assert_int_equal(v, in);
	k = 1;
	assert_int_equal(bpftime_map__lookup_elem(o, &k, &v, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_elem(o, &far, &v, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(o, &k, &v, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__get_next_key(o, &far, &v), 0);
	assert_int_equal(v, 0);
	/* generic lookup and update batches; no delete batch */
	n = 3;
	assert_int_equal(bpftime_map__lookup_batch(o, NULL, &tok, keys, vals, &n, 0, false),
			 -ENOENT);
	assert_int_equal(n, 1);
	assert_int_equal(vals[0], in);
	keys[0] = 2;
	vals[0] = in;
	n = 1;
	assert_int_equal(bpftime_map__update_batch(o, keys, vals, &n, 0), 0);
	n = 1;
	assert_int_equal(bpftime_map__delete_batch(o, keys, &n, 0), -MT_ENOTSUPP);
	n = 3;
	assert_int_equal(bpftime_map__lookup_batch(o, NULL, &tok, keys, vals, &n, 0, true),
			 -MT_ENOTSUPP);
	/* fd_array_map_delete_elem() */
	k = 2;
	assert_int_equal(bpftime_map__delete_elem(o, &k), 0);
	assert_int_equal(bpftime_map__delete_elem(o, &k), -ENOENT);
	assert_int_equal(bpftime_map__delete_elem(o, &far), -E2BIG);
}

static void test_hash_of_maps_syscall_side(void **state)
{
	uint32_t tpl = new_id(state, H, 4, 8, 10, 0);
	struct bpftime_map *o = new_outer(state, HOM, 4, 2, 0, tpl);
	uint32_t in = new_id(state, H, 4, 8, 99, 0), k = 5, v = 0, n, keys[4], vals[4], tok;

	assert_int_equal(set(o, 5, in, 0), 0);
	assert_int_equal(set(o, 5, in, BPF_NOEXIST), -EEXIST);
	assert_int_equal(set(o, 5, in, BPF_EXIST), 0);
	/* the map is checked before the hash's flags */
	assert_int_equal(set(o, 5, 4000, BPF_NOEXIST), -EBADF);
	assert_int_equal(set(o, 5, 4000, 3), -EBADF);
	assert_int_equal(set(o, 5, in, 3), -EINVAL);
	assert_int_equal(set(o, 5, in, BPF_F_LOCK), -EINVAL);
	assert_int_equal(set(o, 6, in, BPF_EXIST), -ENOENT);
	assert_int_equal(set(o, 6, in, 0), 0);
	assert_int_equal(set(o, 7, in, 0), -E2BIG);
	assert_int_equal(set(o, 7, in, BPF_NOEXIST), -E2BIG);
	assert_int_equal(bpftime_map__lookup_elem(o, &k, &v, 0), 0);
	assert_int_equal(v, in);
	k = 7;
	assert_int_equal(bpftime_map__lookup_elem(o, &k, &v, 0), -ENOENT);
	/* only the four plain hash types have lookup_and_delete */
	k = 5;
	assert_int_equal(bpftime_map__lookup_and_delete_elem(o, &k, &v, 0), -MT_ENOTSUPP);
	/* a missing key walks from the start */
	k = 7;
	assert_int_equal(bpftime_map__get_next_key(o, &k, &v), 0);
	assert_true(v == 5 || v == 6);
	/* bucket batches, values are ids; and-delete empties the map */
	n = 0;
	assert_int_equal(bpftime_map__lookup_batch(o, NULL, &tok, keys, vals, &n, 0, false), 0);
	n = 4;
	assert_int_equal(bpftime_map__lookup_batch(o, NULL, &tok, keys, vals, &n, 0, true),
			 -ENOENT);
	assert_int_equal(n, 2);
	assert_true(vals[0] == in && vals[1] == in);
	assert_true((keys[0] == 5 && keys[1] == 6) || (keys[0] == 6 && keys[1] == 5));
	k = 6;
	assert_int_equal(bpftime_map__delete_elem(o, &k), -ENOENT);
	assert_int_equal(bpftime_map__get_next_key(o, NULL, &v), -ENOENT);
}

/* ---- program side ---- */

static void test_program_lookup_gives_the_inner_handle(void **state)
{
	uint32_t atpl = new_id(state, A, 4, 8, 4, 0), htpl = new_id(state, H, 4, 8, 4, 0);
	struct bpftime_map *aom = new_outer(state, AOM, 4, 2, 0, atpl);
	struct bpftime_map *hom = new_outer(state, HOM, 4, 2, 0, htpl);
	uint32_t ain = new_id(state, A, 4, 8, 4, 0), hin = new_id(state, H, 4, 8, 4, 0);
	uint32_t k = 1, ik = 2;
	uint64_t v = 0xabcdef, got = 0;
	struct bpftime_map *inner;

	assert_null(bpftime_map__prog_lookup(aom, &k, 0));
	assert_null(bpftime_map__prog_lookup(hom, &k, 0));
	assert_int_equal(set(aom, 1, ain, 0), 0);
	assert_int_equal(set(hom, 1, hin, 0), 0);
	inner = bpftime_map__prog_lookup(aom, &k, 0);
	assert_ptr_equal(inner, bpftime_map__get(*state, ain));
	/* which a program hands on to the other helpers */
	assert_int_equal(bpftime_map__prog_update(inner, &ik, &v, 0, 0), 0);
	assert_int_equal(bpftime_map__lookup_elem(bpftime_map__get(*state, ain), &ik, &got, 0), 0);
	assert_int_equal(got, v);
	inner = bpftime_map__prog_lookup(hom, &k, 3);
	assert_ptr_equal(inner, bpftime_map__get(*state, hin));
	assert_int_equal(bpftime_map__prog_update(inner, &ik, &v, 0, 3), 0);
	k = 5;
	assert_null(bpftime_map__prog_lookup(aom, &k, 0));
	assert_null(bpftime_map__prog_lookup(hom, &k, 0));
	/* programs only look maps up */
	assert_int_equal(bpftime_map__prog_update(aom, &k, &ain, 0, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__prog_delete(hom, &k, 0), -MT_ENOTSUPP);
}

/* ---- threads and processes ---- */

struct thr {
	struct bpftime_map *m;
	const uint32_t *inner;
	struct bpftime_map *const *handles;
	uint32_t id;
	uint32_t bad;
};

/* Swap inner maps in the array's slots while looking them up. */
static void *swapper(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 0; i < 4000; i++) {
		uint32_t k = (i + t->id) % 4;
		struct bpftime_map *h;

		t->bad += set(t->m, k, t->inner[(i * 7 + t->id) % 4], 0) != 0;
		h = bpftime_map__prog_lookup(t->m, &k, t->id);
		t->bad += h != t->handles[0] && h != t->handles[1] && h != t->handles[2] &&
			  h != t->handles[3];
	}
	return NULL;
}

/* Each thread owns keys t * 1000 + i of the hash of maps. */
static void *inserter(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 0; i < 200; i++) {
		uint32_t k = t->id * 1000 + i;

		t->bad += set(t->m, k, t->inner[(k / 7) % 4], BPF_NOEXIST) != 0;
		t->bad += bpftime_map__prog_lookup(t->m, &k, t->id) != t->handles[(k / 7) % 4];
		if (i % 3 == 0)
			t->bad += bpftime_map__delete_elem(t->m, &k) != 0;
	}
	return NULL;
}

static void test_threads(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 4, 0), htpl = new_id(state, A, 4, 8, 4, 0);
	struct bpftime_map *aom = new_outer(state, AOM, 4, 4, 0, tpl);
	struct bpftime_map *hom = new_outer(state, HOM, 4, 1024, 0, htpl);
	uint32_t inner[4], n = 0, key, next;
	struct bpftime_map *handles[4];
	struct thr ts[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		inner[i] = new_id(state, A, 4, 8, 4, 0);
		handles[i] = bpftime_map__get(*state, inner[i]);
		assert_int_equal(set(aom, (uint32_t)i, inner[i], 0), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		ts[i] = (struct thr){
		    .m = i < 2 ? aom : hom, .inner = inner, .handles = handles, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, i < 2 ? swapper : inserter, &ts[i]),
				 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ts[i].bad, 0);
	}
	for (void *prev = NULL; bpftime_map__get_next_key(hom, prev, &next) == 0; prev = &key) {
		uint32_t v;

		key = next;
		assert_true(key % 1000 % 3 != 0);
		assert_int_equal(bpftime_map__lookup_elem(hom, &key, &v, 0), 0);
		assert_int_equal(v, inner[(key / 7) % 4]);
		n++;
	}
	assert_int_equal(n, 2 * 133);
}

static void test_child_joins_by_path(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 4, 0), in = new_id(state, A, 4, 8, 4, 0), k = 0;
	struct bpftime_map *o = new_outer(state, AOM, 4, 2, 0, tpl);
	const char *path = bpftime_map_region__path(*state);
	uint32_t oid = bpftime_map__id(o);
	uint64_t v = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *co = r ? bpftime_map__get(r, oid) : NULL, *ci;
		uint32_t ik = 3;
		uint64_t val = 4242;

		if (!co || set(co, 0, in, 0))
			_exit(2);
		/* through the child's own handle of the inner map */
		ci = bpftime_map__prog_lookup(co, &k, 0);
		if (ci != bpftime_map__get(r, in) || bpftime_map__prog_update(ci, &ik, &val, 0, 0))
			_exit(3);
		_exit(0);
	}
	assert_int_equal(mt_wait(pid), 0);
	k = 3;
	assert_int_equal(
	    bpftime_map__lookup_elem(bpftime_map__prog_lookup(o, &(uint32_t){0}, 0), &k, &v, 0), 0);
	assert_int_equal(v, 4242);
}

/*
 * A child updating the hash of maps is killed holding the bucket lock of
 * its key: the next locker takes over and the map goes on working. (The
 * hash table's own tests cover its repair; it may lose an element killed
 * between its freelist pop and its claim, a documented limit of
 * map-hash.c, hence room for more than the keys used here.)
 */
static void test_hash_of_maps_survives_a_killed_holder(void **state)
{
	uint32_t tpl = new_id(state, A, 4, 8, 4, 0), in = new_id(state, A, 4, 8, 4, 0);
	struct bpftime_map *o = new_outer(state, HOM, 4, 8, 0, tpl);
	const char *path = bpftime_map_region__path(*state);
	uint32_t oid = bpftime_map__id(o), key = 0, next, v;
	struct htab *h = htab_of(o);
	struct htab_bucket *b = htab_bucket_of(h, bpftime_map_htab_hash(h, &key));
	unsigned seed = 9, caught = 0;

	for (int round = 0; round < 4; round++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct bpftime_map_region *r = mt_region_join(path);
			struct bpftime_map *co = r ? bpftime_map__get(r, oid) : NULL;
			uint32_t k = 0;

			while (co) {
				set(co, k, in, 0);
				bpftime_map__delete_elem(co, &k);
			}
			_exit(2);
		}
		caught += mt_kill_in_lock(pid, &b->lock, 200, &seed);
		while (bpftime_map__get_next_key(o, NULL, &next) == 0) {
			key = next;
			assert_int_equal(bpftime_map__delete_elem(o, &key), 0);
		}
		for (uint32_t k = 0; k < 3; k++)
			assert_int_equal(set(o, k, in, 0), 0);
		key = 0;
		assert_int_equal(bpftime_map__lookup_elem(o, &key, &v, 0), 0);
		assert_int_equal(v, in);
		for (key = 0; key < 3; key++)
			assert_int_equal(bpftime_map__delete_elem(o, &key), 0);
	}
	print_message("killed holding the lock in %u of 4 rounds\n", caught);
	assert_true(caught > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_template_types),
	    cmocka_unit_test(test_template_may_be_destroyed),
	    cmocka_unit_test(test_array_meta_equal),
	    cmocka_unit_test(test_hash_meta_equal),
	    cmocka_unit_test(test_array_of_maps_syscall_side),
	    cmocka_unit_test(test_hash_of_maps_syscall_side),
	    cmocka_unit_test(test_program_lookup_gives_the_inner_handle),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_child_joins_by_path),
	    cmocka_unit_test(test_hash_of_maps_survives_a_killed_holder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
