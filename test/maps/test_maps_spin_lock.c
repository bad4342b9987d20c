// SPDX-License-Identifier: MIT
/*
 * Values that hold a struct bpf_spin_lock (attr.spin_lock_off,
 * maps/src/map-spin-lock.c): the creation checks in their order, BPF_F_LOCK
 * on the syscall side (lookups, updates, batches) and in the helpers,
 * lookups that show the lock word as 0 and updates that never write it,
 * freeze, program-side holders against syscall-side BPF_F_LOCK users in
 * threads, a holder killed inside its critical section, and map-in-map
 * templates. Expected answers are Linux 6.18's (probed with real BTF:
 * test_maps_kernel_spin.c compares the two at random).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "maps-test.h"
#include "maps-test-kill.h"

#define NCPUS 8

#define H   BPF_MAP_TYPE_HASH
#define A   BPF_MAP_TYPE_ARRAY
#define PH  BPF_MAP_TYPE_PERCPU_HASH
#define PA  BPF_MAP_TYPE_PERCPU_ARRAY
#define LH  BPF_MAP_TYPE_LRU_HASH
#define LPH BPF_MAP_TYPE_LRU_PERCPU_HASH
#define Q   BPF_MAP_TYPE_QUEUE
#define S   BPF_MAP_TYPE_STACK
#define AOM BPF_MAP_TYPE_ARRAY_OF_MAPS
#define HOM BPF_MAP_TYPE_HASH_OF_MAPS

/* BTF ids as bpf-emul passes them through: any non-zero ones will do */
#define KEY_ID   1
#define VALUE_ID 2

static int setup(void **state)
{
	*state = mt_region_create(NCPUS, 0);
	return 0;
}

static int teardown(void **state)
{
	mt_region_destroy(*state);
	return 0;
}

/* Attributes of a map whose value has its lock at byte @off (-1: none),
 * with a key type (@key_id) and a value type. */
static struct bpftime_map_attr lock_attr(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max,
					 uint32_t flags, int off, uint32_t key_id)
{
	struct bpftime_map_attr a = mt_attr(type, ks, vs, max, flags);

	if (off >= 0) {
		a.spin_lock_off = (uint32_t)off + 1;
		a.btf_key_type_id = key_id;
		a.btf_value_type_id = VALUE_ID;
	}
	return a;
}

static struct bpftime_map *lock_map(void **state, uint32_t type, uint32_t vs, uint32_t max, int off)
{
	struct bpftime_map_attr a = lock_attr(type, 4, vs, max, 0, off, KEY_ID);

	return mt_map_new(*state, &a);
}

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t type, ks, vs, max, flags;
	int off;         /* the lock's byte offset; -1: no lock */
	uint32_t key_id; /* 0: a void key */
	const char *name;
	int err;
};

static const struct create_case create_cases[] = {
    {"hash", H, 4, 16, 4, 0, 0, KEY_ID, "", 0},
    {"hash, lock last", H, 4, 16, 4, 0, 12, KEY_ID, "", 0},
    {"hash, lock is the value", H, 8, 4, 4, 0, 0, KEY_ID, "", 0},
    {"hash, no prealloc", H, 4, 16, 4, BPF_F_NO_PREALLOC, 8, KEY_ID, "", 0},
    {"hash, zero seed", H, 4, 16, 4, BPF_F_ZERO_SEED, 8, KEY_ID, "", 0},
    {"array", A, 4, 16, 4, 0, 4, KEY_ID, "", 0},
    {"array, mmapable", A, 4, 16, 4, BPF_F_MMAPABLE, 4, KEY_ID, "", 0},
    {"array, inner map", A, 4, 16, 4, BPF_F_INNER_MAP, 4, KEY_ID, "", 0},
    {"array, numa node 0", A, 4, 16, 4, BPF_F_NUMA_NODE, 4, KEY_ID, "", 0},
    {"array, read-only fd", A, 4, 16, 4, BPF_F_RDONLY, 4, KEY_ID, "", 0},
    /* global data: an ARRAY of one element may have a void key */
    {"array, void key, one element", A, 4, 16, 1, 0, 0, 0, "", 0},
    /* the lock word must lie inside the value, 4-byte aligned */
    {"misaligned", H, 4, 16, 4, 0, 2, KEY_ID, "", -EINVAL},
    {"misaligned by one", A, 4, 16, 4, 0, 1, KEY_ID, "", -EINVAL},
    {"just outside", H, 4, 16, 4, 0, 16, KEY_ID, "", -EINVAL},
    {"half outside", A, 4, 14, 4, 0, 12, KEY_ID, "", -EINVAL},
    {"far outside", A, 4, 16, 4, 0, 4096, KEY_ID, "", -EINVAL},
    {"value smaller than a lock", H, 4, 3, 4, 0, 0, KEY_ID, "", -EINVAL},
    /* ... before anything else about the lock */
    {"misaligned, read-only prog", H, 4, 16, 4, BPF_F_RDONLY_PROG, 2, KEY_ID, "", -EINVAL},
    {"misaligned, percpu hash", PH, 4, 16, 4, 0, 6, KEY_ID, "", -EINVAL},
    {"outside, void key queue", Q, 0, 8, 4, 0, 8, 0, "", -EINVAL},
    /* a void key in a type whose ops have no map_check_btf */
    {"hash, void key", H, 4, 16, 4, 0, 0, 0, "", -EINVAL},
    {"percpu hash, void key", PH, 4, 16, 4, 0, 0, 0, "", -EINVAL},
    {"lru hash, void key", LH, 4, 16, 4, 0, 0, 0, "", -EINVAL},
    {"prog array, void key", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, 0, "", -EINVAL},
    {"queue", Q, 0, 8, 4, 0, 0, 0, "", -EINVAL},
    {"stack", S, 0, 8, 4, 0, 4, 0, "", -EINVAL},
    {"queue, read-only prog", Q, 0, 8, 4, BPF_F_RDONLY_PROG, 0, 0, "", -EINVAL},
    {"hash, void key, write-only prog", H, 4, 16, 4, BPF_F_WRONLY_PROG, 0, 0, "", -EINVAL},
    /* program-side access flags */
    {"hash, read-only prog", H, 4, 16, 4, BPF_F_RDONLY_PROG, 0, KEY_ID, "", -EACCES},
    {"hash, write-only prog", H, 4, 16, 4, BPF_F_WRONLY_PROG, 0, KEY_ID, "", -EACCES},
    {"array, read-only prog", A, 4, 16, 4, BPF_F_RDONLY_PROG, 0, KEY_ID, "", -EACCES},
    {"array, write-only prog", A, 4, 16, 4, BPF_F_WRONLY_PROG, 8, KEY_ID, "", -EACCES},
    {"array, void key, read-only prog", A, 4, 16, 4, BPF_F_RDONLY_PROG, 0, 0, "", -EACCES},
    {"percpu hash, read-only prog", PH, 4, 16, 4, BPF_F_RDONLY_PROG, 0, KEY_ID, "", -EACCES},
    {"percpu array, void key, write-only prog", PA, 4, 16, 4, BPF_F_WRONLY_PROG, 0, 0, "", -EACCES},
    /* with an empty struct as key type, a queue gets this far */
    {"queue, empty key, read-only prog", Q, 0, 8, 4, BPF_F_RDONLY_PROG, 0, KEY_ID, "", -EACCES},
    /* types that cannot have a lock */
    {"percpu hash", PH, 4, 16, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"lru hash", LH, 4, 16, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"lru percpu hash", LPH, 4, 16, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"percpu array", PA, 4, 16, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"percpu array, void key", PA, 4, 16, 4, 0, 0, 0, "", -EOPNOTSUPP},
    {"queue, empty key", Q, 0, 8, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"stack, empty key", S, 0, 8, 4, 0, 4, KEY_ID, "", -EOPNOTSUPP},
    {"bloom filter", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 0, 0, "", -EOPNOTSUPP},
    {"lpm trie", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 0, KEY_ID, "", -EOPNOTSUPP},
    {"stack trace", BPF_MAP_TYPE_STACK_TRACE, 4, 16, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"prog array", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    {"perf event array, void key", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, 0, 0, "",
     -EOPNOTSUPP},
    {"cgroup array", BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 4, 0, 0, KEY_ID, "", -EOPNOTSUPP},
    /* array_map_check_btf(), last: a void key is for global data only */
    {"array, void key", A, 4, 16, 4, 0, 0, 0, "", -EINVAL},
    /* the type's own checks and the name come first */
    {"hash, max_entries 0, read-only prog", H, 4, 16, 0, BPF_F_RDONLY_PROG, 0, KEY_ID, "", -EINVAL},
    {"hash, too big, misaligned", H, 4, 4194252, 1, 0, 2, KEY_ID, "", -E2BIG},
    {"array, too big, read-only prog", A, 4, (uint32_t)INT32_MAX + 1, 1, BPF_F_RDONLY_PROG, 0,
     KEY_ID, "", -E2BIG},
    {"lru, bad flag", LH, 4, 16, 4, BPF_F_MMAPABLE, 0, KEY_ID, "", -EINVAL},
    {"percpu hash, bad name", PH, 4, 16, 4, 0, 0, KEY_ID, "a-b", -EINVAL},
    {"hash, read-only prog, bad name", H, 4, 16, 4, BPF_F_RDONLY_PROG, 0, KEY_ID, "a b", -EINVAL},
    {"hash, good name", H, 4, 16, 4, 0, 0, KEY_ID, "spin.lock_1", 0},
};

static void test_create_checks(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    lock_attr(c->type, c->ks, c->vs, c->max, c->flags, c->off, c->key_id);
		uint32_t id = 0;
		int err;

		snprintf(a.map_name, sizeof(a.map_name), "%s", c->name);
		err = bpftime_map__create(*state, &a, &id);
		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err) {
			assert_int_equal(
			    bpftime_map__attr(bpftime_map__get(*state, id))->spin_lock_off,
			    (uint32_t)c->off + 1);
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
		}
	}
}

static void test_create_refusal_is_logged(void **state)
{
	struct bpftime_map_attr a = lock_attr(PH, 4, 16, 4, 0, 8, KEY_ID);
	const struct mt_log_entry *e;
	uint32_t id;

	/* refusals are logged at the info level */
	setenv("BPFTIME_LOG_LEVEL", "info", 1);
	mt_log_capture();
	errno = 0;
	assert_int_equal(bpftime_map__create(*state, &a, &id), -EOPNOTSUPP);
	assert_int_equal(errno, 0);
	e = mt_log_find("spin_lock_off 9 refused");
	mt_log_release();
	unsetenv("BPFTIME_LOG_LEVEL");
	assert_non_null(e);
}

static void test_reserved_field(void **state)
{
	struct bpftime_map_attr a = lock_attr(H, 4, 16, 4, 0, 0, KEY_ID);
	uint32_t id;

	a.reserved = 1;
	assert_int_equal(bpftime_map__create(*state, &a, &id), -EINVAL);
}

/* ---- BPF_F_LOCK on the syscall side ---- */

struct val {
	uint64_t a;
	uint32_t lock; /* byte 8 */
	uint32_t tag;
	uint64_t b;
};
#define VAL_LOCK 8

static void test_lock_flag_refused_without_a_lock(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, -1),
				      lock_map(state, A, sizeof(struct val), 8, -1)};

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct bpftime_map *m = maps[i];
		struct val v = {.a = 1, .b = 1}, got[4];
		uint32_t k = 1, keys[4] = {0, 1, 2, 3}, n = 1, cpu = 0;
		uint8_t token[8];

		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK), -EINVAL);
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | BPF_EXIST),
				 -EINVAL);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, got, BPF_F_LOCK), -EINVAL);
		assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, got, BPF_F_LOCK),
				 -EINVAL);
		assert_int_equal(
		    bpftime_map__lookup_batch(m, NULL, token, keys, got, &n, BPF_F_LOCK, false),
		    -EINVAL);
		assert_int_equal(n, 1);
		assert_int_equal(bpftime_map__update_batch(m, keys, got, &n, BPF_F_LOCK), -EINVAL);
		/* arrays have no delete batch: that answer comes first */
		assert_int_equal(bpftime_map__delete_batch(m, keys, &n, BPF_F_LOCK),
				 i == 0 ? -EINVAL : -MT_ENOTSUPP);
		/* the helper too */
		assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_F_LOCK, cpu), -EINVAL);
	}
}

static void test_lock_flag_accepted_with_a_lock(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, A, sizeof(struct val), 8, VAL_LOCK)};

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct bpftime_map *m = maps[i];
		bool hash = i == 0;
		struct val v = {.a = 7, .lock = 0xdead, .tag = 3, .b = 7}, got;
		uint32_t k = 2, missing = 5;

		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK), 0);
		memset(&got, 0xff, sizeof(got));
		assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
		assert_int_equal(got.a, 7);
		assert_int_equal(got.b, 7);
		assert_int_equal(got.tag, 3);
		assert_int_equal(got.lock, 0);
		/* the other flags keep their meaning next to BPF_F_LOCK */
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | BPF_EXIST), 0);
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | BPF_NOEXIST),
				 -EEXIST);
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | 3), -EINVAL);
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | 8), -EINVAL);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK | 1), -EINVAL);
		if (hash) {
			/* BPF_F_LOCK on a new key is a plain insert */
			assert_int_equal(
			    bpftime_map__update_elem(m, &missing, &v, BPF_F_LOCK | BPF_EXIST),
			    -ENOENT);
			assert_int_equal(
			    bpftime_map__update_elem(m, &missing, &v, BPF_F_LOCK | BPF_NOEXIST), 0);
			memset(&got, 0xff, sizeof(got));
			assert_int_equal(
			    bpftime_map__lookup_and_delete_elem(m, &missing, &got, BPF_F_LOCK), 0);
			assert_int_equal(got.a, 7);
			assert_int_equal(got.lock, 0);
			assert_int_equal(bpftime_map__lookup_elem(m, &missing, &got, BPF_F_LOCK),
					 -ENOENT);
		} else {
			/* arrays have no lookup_and_delete: the flag passes, the op does not */
			assert_int_equal(
			    bpftime_map__lookup_and_delete_elem(m, &k, &got, BPF_F_LOCK),
			    -MT_ENOTSUPP);
			assert_int_equal(bpftime_map__lookup_elem(m, &missing, &got, BPF_F_LOCK),
					 0);
			missing = 8;
			assert_int_equal(bpftime_map__update_elem(m, &missing, &v, BPF_F_LOCK),
					 -E2BIG);
		}
	}
}

/* The helper: bpf_map_update_elem() with BPF_F_LOCK (array_map_update_elem,
 * htab_map_update_elem) copies holding the value's lock. */
static void test_prog_update_with_lock_flag(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, A, sizeof(struct val), 8, VAL_LOCK)};
	uint32_t cpu = bpftime_map_region__cpu_get(*state, 0, mt_tid());

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct val v = {.a = 4, .lock = 77, .b = 4}, *p;
		uint32_t k = 1;

		assert_int_equal(bpftime_map__prog_update(maps[i], &k, &v, BPF_F_LOCK, cpu), 0);
		v.a = v.b = 5;
		assert_int_equal(bpftime_map__prog_update(maps[i], &k, &v, BPF_F_LOCK, cpu), 0);
		p = bpftime_map__prog_lookup(maps[i], &k, cpu);
		assert_non_null(p);
		assert_int_equal(p->a, 5);
		assert_int_equal(p->b, 5);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), 0);
	}
	bpftime_map_region__cpu_put(*state, cpu);
}

/* ---- the lock word: 0 in what lookups return, never written by updates ---- */

static void test_lookup_shows_a_held_lock_as_free(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, A, sizeof(struct val), 8, VAL_LOCK)};
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(*state, 0, tid);

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct bpftime_map *m = maps[i];
		struct val v = {.a = 11, .tag = 12, .b = 13}, got[8], *p;
		uint32_t k = 3, keys[8], n = 8;
		uint8_t token[8];
		int err;

		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
		p = bpftime_map__prog_lookup(m, &k, cpu);
		assert_non_null(p);
		bpftime_map__spin_lock(&p->lock, tid);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);
		p->a = 21; /* the holder's write, seen by lookups without the flag */

		memset(got, 0xff, sizeof(got));
		assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
		assert_int_equal(got[0].lock, 0);
		assert_int_equal(got[0].a, 21);
		assert_int_equal(got[0].tag, 12);
		assert_int_equal(got[0].b, 13);

		memset(got, 0xff, sizeof(got));
		err = bpftime_map__lookup_batch(m, NULL, token, keys, got, &n, 0, false);
		assert_true(err == 0 || err == -ENOENT);
		for (uint32_t j = 0; j < n; j++)
			assert_int_equal(got[j].lock, 0);
		/* the map's word is the holder's still */
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);
		bpftime_map__spin_unlock(&p->lock);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), 0);
	}
	bpftime_map_region__cpu_put(*state, cpu);
}

static void test_update_never_writes_the_lock_word(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, A, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, H, sizeof(struct val), 8, VAL_LOCK)};
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(*state, 0, tid);

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct bpftime_map *m = maps[i];
		bool array = i == 0;
		struct val v = {.a = 1, .lock = 0, .b = 1}, got, *p, *q;
		uint32_t k = 4, keys[2] = {4, 5}, n = 2;
		struct val vals[2] = {{.a = 3, .lock = 0xfeed, .b = 3},
				      {.a = 4, .lock = 0xfeed, .b = 4}};

		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
		p = bpftime_map__prog_lookup(m, &k, cpu);
		assert_non_null(p);
		bpftime_map__spin_lock(&p->lock, tid);

		/* syscall-side updates with garbage, and a free lock, in the word */
		v.a = v.b = 2;
		v.lock = 0x12345678;
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);
		v.lock = 0;
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_EXIST), 0);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);
		assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, 0), 0);
		assert_int_equal(n, 2);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);
		/* and the helper without BPF_F_LOCK */
		assert_int_equal(bpftime_map__prog_update(m, &k, &vals[1], BPF_ANY, cpu), 0);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_RELAXED), tid);

		assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, 0), 0);
		assert_int_equal(got.a, 4);
		assert_int_equal(got.b, 4);
		assert_int_equal(got.lock, 0);
		q = bpftime_map__prog_lookup(m, &k, cpu);
		if (array) {
			/* arrays update in place: the holder's value is the one */
			assert_ptr_equal(p, q);
			assert_int_equal(p->a, 4);
		} else {
			/* a hash update puts a new element in place (the kernel's too):
			 * its word is free, the holder's element keeps its own */
			assert_int_equal(__atomic_load_n(&q->lock, __ATOMIC_RELAXED),
					 q == p ? tid : 0);
		}
		bpftime_map__spin_unlock(&p->lock);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
		assert_int_equal(got.a, 4);
	}
	bpftime_map_region__cpu_put(*state, cpu);
}

/* A BPF_F_LOCK update of an existing hash key rewrites it in place. */
static void test_hash_lock_update_in_place(void **state)
{
	struct bpftime_map *m = lock_map(state, H, sizeof(struct val), 8, VAL_LOCK);
	uint32_t cpu = bpftime_map_region__cpu_get(*state, 0, mt_tid()), k = 6;
	struct val v = {.a = 1, .b = 1}, *p;

	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_NOEXIST), 0);
	p = bpftime_map__prog_lookup(m, &k, cpu);
	for (uint64_t i = 2; i < 100; i++) {
		v.a = v.b = i;
		assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK), 0);
		assert_ptr_equal(bpftime_map__prog_lookup(m, &k, cpu), p);
		assert_int_equal(p->a, i);
	}
	bpftime_map_region__cpu_put(*state, cpu);
}

/* A syscall-side BPF_F_LOCK lookup waits for a program-side holder. */
struct waiter {
	struct bpftime_map *m;
	uint32_t key;
	struct val got;
	int err;
	bool done;
};

static void *lookup_locked(void *arg)
{
	struct waiter *w = arg;

	w->err = bpftime_map__lookup_elem(w->m, &w->key, &w->got, BPF_F_LOCK);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_lock_flag_lookup_waits_for_the_holder(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, A, sizeof(struct val), 8, VAL_LOCK)};
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(*state, 0, tid);

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct waiter w = {.m = maps[i], .key = 1};
		struct val v = {.a = 1, .b = 1}, *p;
		pthread_t th;

		assert_int_equal(bpftime_map__update_elem(w.m, &w.key, &v, BPF_ANY), 0);
		p = bpftime_map__prog_lookup(w.m, &w.key, cpu);
		bpftime_map__spin_lock(&p->lock, tid);
		p->a = 2; /* half-way through the critical section */
		assert_int_equal(pthread_create(&th, NULL, lookup_locked, &w), 0);
		mt_sleep_us(50000);
		assert_false(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
		p->b = 2;
		bpftime_map__spin_unlock(&p->lock);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(w.err, 0);
		assert_int_equal(w.got.a, 2);
		assert_int_equal(w.got.b, 2);
		assert_int_equal(w.got.lock, 0);
	}
	bpftime_map_region__cpu_put(*state, cpu);
}

/* ---- batches with BPF_F_LOCK ---- */

static void check_lock_batches(void **state, uint32_t type)
{
	struct bpftime_map *m = lock_map(state, type, sizeof(struct val), 16, VAL_LOCK);
	struct val vals[16], got[16];
	uint32_t keys[16], okeys[16], n = 16, seen = 0, cpu;
	uint8_t token[8];
	int err;

	for (uint32_t i = 0; i < 16; i++) {
		keys[i] = i;
		vals[i] = (struct val){.a = i, .lock = 0xabcd0000 | i, .tag = i, .b = i};
	}
	/* hash: new keys inserted; then every key rewritten in place */
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, BPF_F_LOCK), 0);
	assert_int_equal(n, 16);
	for (uint32_t i = 0; i < 16; i++)
		vals[i].a = vals[i].b = 100 + i;
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, BPF_F_LOCK), 0);
	assert_int_equal(n, 16);
	/* no lock word was written */
	cpu = bpftime_map_region__cpu_get(*state, 0, mt_tid());
	for (uint32_t i = 0; i < 16; i++) {
		struct val *p = bpftime_map__prog_lookup(m, &keys[i], cpu);

		assert_non_null(p);
		assert_int_equal(p->lock, 0);
	}
	bpftime_map_region__cpu_put(*state, cpu);
	/* a whole walk with BPF_F_LOCK: values as written, lock words 0 */
	memset(got, 0xff, sizeof(got));
	n = 16;
	err = bpftime_map__lookup_batch(m, NULL, token, okeys, got, &n, BPF_F_LOCK, false);
	assert_true(err == 0 || err == -ENOENT);
	assert_int_equal(n, 16);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(got[i].a, 100 + okeys[i]);
		assert_int_equal(got[i].b, 100 + okeys[i]);
		assert_int_equal(got[i].tag, okeys[i]);
		assert_int_equal(got[i].lock, 0);
		seen |= 1u << okeys[i];
	}
	assert_int_equal(seen, 0xffff);
	/* bad elem_flags next to BPF_F_LOCK */
	n = 16;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, token, okeys, got, &n,
						   BPF_F_LOCK | BPF_EXIST, false),
			 -EINVAL);
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, BPF_F_LOCK | BPF_NOEXIST),
			 -EINVAL);
	if (type == A) {
		/* arrays: no lookup_and_delete batch, no delete batch */
		assert_int_equal(
		    bpftime_map__lookup_batch(m, NULL, token, okeys, got, &n, BPF_F_LOCK, true),
		    -MT_ENOTSUPP);
		assert_int_equal(bpftime_map__delete_batch(m, keys, &n, BPF_F_LOCK), -MT_ENOTSUPP);
		return;
	}
	assert_int_equal(bpftime_map__delete_batch(m, keys, &n, BPF_F_LOCK), 0);
	assert_int_equal(n, 16);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, okeys), -ENOENT);
	n = 16;
	vals[3].a = vals[3].b = 3;
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, BPF_F_LOCK), 0);
	memset(got, 0xff, sizeof(got));
	err = bpftime_map__lookup_batch(m, NULL, token, okeys, got, &n, BPF_F_LOCK, true);
	assert_true(err == 0 || err == -ENOENT);
	assert_int_equal(n, 16);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(got[i].a, okeys[i] == 3 ? 3 : 100 + okeys[i]);
		assert_int_equal(got[i].lock, 0);
	}
	assert_int_equal(bpftime_map__get_next_key(m, NULL, okeys), -ENOENT);
}

static void test_batches_with_lock_flag(void **state)
{
	check_lock_batches(state, H);
	check_lock_batches(state, A);
}

/* ---- freeze ---- */

static void test_freeze_is_refused(void **state)
{
	struct bpftime_map *maps[] = {lock_map(state, H, sizeof(struct val), 8, VAL_LOCK),
				      lock_map(state, A, sizeof(struct val), 8, VAL_LOCK)};
	struct bpftime_map *plain = lock_map(state, A, sizeof(struct val), 8, -1);

	for (size_t i = 0; i < ARRAY_LEN(maps); i++) {
		struct val v = {.a = 1};
		uint32_t k = 0;

		assert_int_equal(bpftime_map__freeze(maps[i]), -MT_ENOTSUPP);
		assert_int_equal(bpftime_map__freeze(maps[i]), -MT_ENOTSUPP);
		assert_false(bpftime_map__frozen(maps[i]));
		assert_int_equal(bpftime_map__update_elem(maps[i], &k, &v, BPF_ANY), 0);
	}
	/* a map without a lock freezes */
	assert_int_equal(bpftime_map__freeze(plain), 0);
	assert_true(bpftime_map__frozen(plain));
}

/* ---- program-side holders against syscall-side BPF_F_LOCK users ---- */

#define C_THREADS 4
#define C_ITERS   20000

/*
 * A value the holders change field by field under the lock: a torn copy
 * shows as fields that differ. 64 bytes, the lock in the middle.
 */
struct cval {
	uint64_t a;
	uint64_t f[2];
	uint32_t pad;
	uint32_t lock; /* byte 28 */
	uint64_t g[3];
	uint64_t b;
};
#define CVAL_LOCK 28
_Static_assert(sizeof(struct cval) == 64, "cval layout");

static bool cval_even(const struct cval *v)
{
	return v->a == v->b && v->f[0] == v->a && v->f[1] == v->a && v->g[0] == v->a &&
	       v->g[1] == v->a && v->g[2] == v->a;
}

struct c_shared {
	struct bpftime_map_region *r;
	struct bpftime_map *m;
	bool stop;
	unsigned torn_syscall, torn_prog, lookups, updates, errors;
};

struct c_arg {
	struct c_shared *s;
	uint32_t id;
};

static void c_pause(void)
{
	for (int i = 0; i < 64; i++)
		__asm__ volatile("" ::: "memory");
}

/* A program: lock; every field of key 0 ++; unlock; and a reader of key 1,
 * which the syscall side rewrites with BPF_F_LOCK. */
static void *c_prog(void *arg)
{
	struct c_arg *c = arg;
	struct c_shared *s = c->s;
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(s->r, c->id, tid);
	uint32_t k0 = 0, k1 = 1;

	/* start together with the syscall side, even on a loaded machine */
	while (!__atomic_load_n(&s->lookups, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&s->errors, __ATOMIC_ACQUIRE))
		sched_yield();
	for (uint32_t i = 0; i < C_ITERS; i++) {
		struct cval *p = bpftime_map__prog_lookup(s->m, &k0, cpu);
		struct cval *q = bpftime_map__prog_lookup(s->m, &k1, cpu);
		uint64_t qa;

		if (!p || !q) {
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
			break;
		}
		/* a critical section long enough for an unlocked copy to tear */
		bpftime_map__spin_lock(&p->lock, tid);
		p->a++;
		c_pause();
		p->f[0]++;
		p->f[1]++;
		p->g[0]++;
		p->g[1]++;
		p->g[2]++;
		c_pause();
		p->b++;
		bpftime_map__spin_unlock(&p->lock);
		bpftime_map__spin_lock(&q->lock, tid);
		qa = __atomic_load_n(&q->a, __ATOMIC_RELAXED);
		c_pause();
		if (!cval_even(q) || q->a != qa)
			__atomic_fetch_add(&s->torn_prog, 1, __ATOMIC_RELAXED);
		bpftime_map__spin_unlock(&q->lock);
	}
	bpftime_map_region__cpu_put(s->r, cpu);
	return NULL;
}

/* The syscall side: BPF_F_LOCK lookups of key 0, updates of key 1. */
static void *c_syscall(void *arg)
{
	struct c_shared *s = arg;
	uint32_t k0 = 0, k1 = 1;
	uint64_t last = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct cval v;

		if (bpftime_map__lookup_elem(s->m, &k0, &v, BPF_F_LOCK)) {
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELEASE);
			break;
		}
		__atomic_fetch_add(&s->lookups, 1, __ATOMIC_RELEASE);
		/* never half an increment, never going back */
		if (!cval_even(&v) || v.lock || v.a < last)
			s->torn_syscall++;
		last = v.a;
		memset(&v, 0, sizeof(v));
		v.a = v.b = v.f[0] = v.f[1] = v.g[0] = v.g[1] = v.g[2] = s->updates + 1;
		v.lock = 0xffffffff; /* never stored */
		if (bpftime_map__update_elem(s->m, &k1, &v, BPF_F_LOCK | BPF_EXIST)) {
			__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELEASE);
			break;
		}
		s->updates++;
	}
	return NULL;
}

static void check_concurrency(void **state, uint32_t type)
{
	struct c_shared s = {.r = *state};
	struct bpftime_map_attr at =
	    lock_attr(type, 4, sizeof(struct cval), 4, 0, CVAL_LOCK, KEY_ID);
	struct c_arg args[C_THREADS];
	pthread_t th[C_THREADS], sys;
	struct cval v = {0}, got;
	uint32_t k0 = 0, k1 = 1;

	s.m = mt_map_new(*state, &at);
	assert_int_equal(bpftime_map__update_elem(s.m, &k0, &v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__update_elem(s.m, &k1, &v, BPF_ANY), 0);
	assert_int_equal(pthread_create(&sys, NULL, c_syscall, &s), 0);
	for (uint32_t i = 0; i < C_THREADS; i++) {
		args[i] = (struct c_arg){.s = &s, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, c_prog, &args[i]), 0);
	}
	for (uint32_t i = 0; i < C_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(sys, NULL), 0);
	print_message("%s: %u BPF_F_LOCK lookups and %u updates against %u program threads\n",
		      type == H ? "hash" : "array", s.lookups, s.updates, C_THREADS);
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.torn_syscall, 0);
	assert_int_equal(s.torn_prog, 0);
	assert_true(s.lookups > 0);
	/* every increment landed */
	assert_int_equal(bpftime_map__lookup_elem(s.m, &k0, &got, BPF_F_LOCK), 0);
	assert_true(cval_even(&got));
	assert_int_equal(got.a, (uint64_t)C_THREADS * C_ITERS);
	assert_int_equal(got.lock, 0);
	/* the last update is what key 1 holds */
	assert_int_equal(bpftime_map__lookup_elem(s.m, &k1, &got, BPF_F_LOCK), 0);
	assert_true(cval_even(&got));
	assert_int_equal(got.a, s.updates);
	assert_int_equal(got.lock, 0);
}

static void test_concurrent_holders_and_lock_flag(void **state)
{
	check_concurrency(state, A);
	check_concurrency(state, H);
}

/* ---- a holder killed inside its critical section ---- */

/* The child: take key 0's lock, write half, tell the parent, wait to die. */
__attribute__((noreturn)) static void die_holding(struct bpftime_map_region *r,
						  struct bpftime_map *m, int fd)
{
	uint32_t k = 0, tid = mt_tid(), cpu = bpftime_map_region__cpu_get(r, 1, tid);
	struct val *p = bpftime_map__prog_lookup(m, &k, cpu);

	if (!p)
		_exit(1);
	bpftime_map__spin_lock(&p->lock, tid);
	p->a = 99; /* b not yet: killed half-way */
	mt_pipe_put(fd, 'l');
	for (;;)
		pause();
}

/* Fork a child that dies holding key 0's lock; return its pid (reaped). */
static pid_t kill_holder(void **state, struct bpftime_map *m, const struct val *held)
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		die_holding(*state, m, fds[1]);
	assert_int_equal(mt_pipe_get(fds[0], &c), 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(__atomic_load_n(&held->lock, __ATOMIC_ACQUIRE), (uint32_t)pid);
	kill(pid, SIGKILL);
	/* reaped at once: a zombie still answers kill(tid, 0) */
	assert_int_equal(mt_wait(pid), 128 + SIGKILL);
	return pid;
}

static void check_killed_holder(void **state, uint32_t type)
{
	struct bpftime_map *m = lock_map(state, type, sizeof(struct val), 4, VAL_LOCK);
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(*state, 0, tid), k = 0;
	struct val v = {.a = 1, .b = 1}, got, *p;

	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
	p = bpftime_map__prog_lookup(m, &k, cpu);
	assert_non_null(p);

	/* a BPF_F_LOCK lookup takes the lock over: the value as the holder
	 * left it, half-updated */
	kill_holder(state, m, p);
	memset(&got, 0xff, sizeof(got));
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
	assert_int_equal(got.a, 99);
	assert_int_equal(got.b, 1);
	assert_int_equal(got.lock, 0);
	assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), 0);

	/* so does a BPF_F_LOCK update (in place for both types) */
	kill_holder(state, m, p);
	v.a = v.b = 5;
	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK | BPF_EXIST), 0);
	assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
	assert_int_equal(got.a, 5);
	assert_int_equal(got.b, 5);

	/* and a BPF_F_LOCK batch */
	kill_holder(state, m, p);
	{
		uint32_t keys[4], n = 4;
		struct val vals[4];
		uint8_t token[8];
		int err =
		    bpftime_map__lookup_batch(m, NULL, token, keys, vals, &n, BPF_F_LOCK, false);

		assert_true(err == 0 || err == -ENOENT);
		assert_true(n >= 1);
	}
	assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), 0);

	/* and a program */
	kill_holder(state, m, p);
	bpftime_map__spin_lock(&p->lock, tid);
	assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), tid);
	p->b = p->a;
	bpftime_map__spin_unlock(&p->lock);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
	assert_int_equal(got.a, 99);
	assert_int_equal(got.b, 99);
	bpftime_map_region__cpu_put(*state, cpu);
}

static void test_killed_holder_is_taken_over(void **state)
{
	check_killed_holder(state, A);
	check_killed_holder(state, H);
}

/*
 * The same, killed at a random moment: a child runs a program that
 * increments a, writes the middle, increments b, in a loop, until it is
 * caught holding the lock (maps-test-kill.h) and killed. Then the
 * syscall side's BPF_F_LOCK operations complete, and see a == b or one
 * increment half-done.
 */
__attribute__((noreturn)) static void hammer(struct bpftime_map_region *r, struct bpftime_map *m,
					     int fd)
{
	uint32_t k = 0, tid = mt_tid(), cpu = bpftime_map_region__cpu_get(r, 1, tid);
	struct cval *p = bpftime_map__prog_lookup(m, &k, cpu);

	if (!p)
		_exit(1);
	mt_pipe_put(fd, 'r');
	for (;;) {
		bpftime_map__spin_lock(&p->lock, tid);
		p->a++;
		for (int i = 0; i < 200; i++)
			__atomic_store_n(&p->g[i % 3], p->a, __ATOMIC_RELAXED);
		p->f[0] = p->f[1] = p->a;
		p->b++;
		bpftime_map__spin_unlock(&p->lock);
		for (int i = 0; i < 200; i++)
			__asm__ volatile("" ::: "memory");
	}
}

static void test_holder_killed_at_random(void **state)
{
	struct bpftime_map_attr at = lock_attr(A, 4, sizeof(struct cval), 1, 0, CVAL_LOCK, KEY_ID);
	struct bpftime_map *m = mt_map_new(*state, &at);
	uint32_t cpu = bpftime_map_region__cpu_get(*state, 0, mt_tid()), k = 0;
	struct cval *p = bpftime_map__prog_lookup(m, &k, cpu), got, v;
	unsigned seed = 7, caught = 0;

	assert_non_null(p);
	for (unsigned round = 0; round < 20 && caught < 3; round++) {
		int fds[2];
		pid_t pid;
		char c;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			hammer(*state, m, fds[1]);
		assert_int_equal(mt_pipe_get(fds[0], &c), 0);
		close(fds[0]);
		close(fds[1]);
		if (!mt_kill_in_lock(pid, &p->lock, 200, &seed))
			continue;
		caught++;
		/* the lock word still names the dead child until taken over */
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), (uint32_t)pid);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, BPF_F_LOCK), 0);
		assert_int_equal(got.lock, 0);
		assert_true(got.a == got.b || got.a == got.b + 1);
		assert_int_equal(__atomic_load_n(&p->lock, __ATOMIC_ACQUIRE), 0);
		/* repair it as a tool would, holding the lock */
		got.b = got.a;
		got.f[0] = got.f[1] = got.g[0] = got.g[1] = got.g[2] = got.a;
		assert_int_equal(bpftime_map__update_elem(m, &k, &got, BPF_F_LOCK), 0);
		assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, BPF_F_LOCK), 0);
		assert_true(cval_even(&v));
	}
	print_message("holder killed inside its critical section %u time(s)\n", caught);
	assert_true(caught > 0);
	bpftime_map_region__cpu_put(*state, cpu);
}

/* ---- map-in-map: templates and inner maps agree on the lock ---- */

static uint32_t map_id(void **state, uint32_t type, uint32_t max, int off)
{
	return bpftime_map__id(lock_map(state, type, sizeof(struct val), max, off));
}

static void test_map_in_map_templates(void **state)
{
	static const uint32_t outers[] = {AOM, HOM};
	static const uint32_t types[] = {A, H};

	for (size_t o = 0; o < ARRAY_LEN(outers); o++) {
		for (size_t t = 0; t < ARRAY_LEN(types); t++) {
			uint32_t type = types[t];
			uint32_t tpl = map_id(state, type, 4, VAL_LOCK);
			uint32_t plain_tpl = map_id(state, type, 4, -1);
			struct bpftime_map_attr oa = mt_attr(outers[o], 4, 4, 4, 0);
			struct bpftime_map *om, *plain_om;
			uint32_t k = 0, id;

			oa.inner_map_id = tpl;
			om = mt_map_new(*state, &oa);
			oa.inner_map_id = plain_tpl;
			plain_om = mt_map_new(*state, &oa);
			/* the template's meta was copied: it may go */
			assert_int_equal(bpftime_map__destroy(*state, tpl), 0);

			/* the same lock offset fits, another or none does not */
			id = map_id(state, type, 4, VAL_LOCK);
			assert_int_equal(bpftime_map__update_elem(om, &k, &id, BPF_ANY), 0);
			id = map_id(state, type, 4, 0);
			assert_int_equal(bpftime_map__update_elem(om, &k, &id, BPF_ANY), -EINVAL);
			id = map_id(state, type, 4, 16);
			assert_int_equal(bpftime_map__update_elem(om, &k, &id, BPF_ANY), -EINVAL);
			id = map_id(state, type, 4, -1);
			assert_int_equal(bpftime_map__update_elem(om, &k, &id, BPF_ANY), -EINVAL);
			/* a template without a lock takes no map with one */
			assert_int_equal(bpftime_map__update_elem(plain_om, &k, &id, BPF_ANY), 0);
			id = map_id(state, type, 4, VAL_LOCK);
			assert_int_equal(bpftime_map__update_elem(plain_om, &k, &id, BPF_ANY),
					 -EINVAL);
			/* other sizes: arrays compare max_entries, hash maps do not */
			id = map_id(state, type, 8, VAL_LOCK);
			assert_int_equal(bpftime_map__update_elem(om, &k, &id, BPF_ANY),
					 type == A ? -EINVAL : 0);
		}
	}
}

/* A program reaches an inner map's lock through the outer map. */
static void test_lock_through_an_inner_map(void **state)
{
	uint32_t tpl = map_id(state, A, 4, VAL_LOCK), inner = map_id(state, A, 4, VAL_LOCK);
	struct bpftime_map_attr oa = mt_attr(AOM, 4, 4, 2, 0);
	uint32_t tid = mt_tid(), cpu = bpftime_map_region__cpu_get(*state, 0, tid), k = 1;
	struct bpftime_map *om, *im;
	struct val got, *p;

	oa.inner_map_id = tpl;
	om = mt_map_new(*state, &oa);
	assert_int_equal(bpftime_map__update_elem(om, &k, &inner, BPF_ANY), 0);
	im = bpftime_map__prog_lookup(om, &k, cpu);
	assert_non_null(im);
	assert_int_equal(bpftime_map__id(im), inner);
	p = bpftime_map__prog_lookup(im, &k, cpu);
	assert_non_null(p);
	bpftime_map__spin_lock(&p->lock, tid);
	p->a = p->b = 42;
	bpftime_map__spin_unlock(&p->lock);
	assert_int_equal(
	    bpftime_map__lookup_elem(bpftime_map__get(*state, inner), &k, &got, BPF_F_LOCK), 0);
	assert_int_equal(got.a, 42);
	assert_int_equal(got.lock, 0);
	bpftime_map_region__cpu_put(*state, cpu);
}

/* ---- the helpers themselves ---- */

static void test_spin_lock_words(void **state)
{
	uint32_t word = 0, tid = mt_tid();

	bpftime_map__spin_lock(&word, tid);
	assert_int_equal(word, tid);
	bpftime_map__spin_unlock(&word);
	assert_int_equal(word, 0);
	/* tid 0: looked up */
	bpftime_map__spin_lock(&word, 0);
	assert_int_equal(word, tid);
	bpftime_map__spin_unlock(&word);
	assert_int_equal(word, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_checks),
	    T(test_create_refusal_is_logged),
	    T(test_reserved_field),
	    T(test_lock_flag_refused_without_a_lock),
	    T(test_lock_flag_accepted_with_a_lock),
	    T(test_prog_update_with_lock_flag),
	    T(test_lookup_shows_a_held_lock_as_free),
	    T(test_update_never_writes_the_lock_word),
	    T(test_hash_lock_update_in_place),
	    T(test_lock_flag_lookup_waits_for_the_holder),
	    T(test_batches_with_lock_flag),
	    T(test_freeze_is_refused),
	    T(test_concurrent_holders_and_lock_flag),
	    T(test_killed_holder_is_taken_over),
	    T(test_holder_killed_at_random),
	    T(test_map_in_map_templates),
	    T(test_lock_through_an_inner_map),
	    T(test_spin_lock_words),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
