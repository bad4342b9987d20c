// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH (maps/src/map-lru.c).
 *
 * The expected sequences are what the 6.18 kernel showed, probed through
 * bpf(2) pinned to CPU 0 of a 2-CPU machine, with program-side lookups
 * made by a socket filter run through BPF_PROG_TEST_RUN; the regions here
 * have 2 CPU slots to match (target_free depends on the CPU count).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include "maps-hash-test.h"

#define NR_CPUS 2
#define L       BPF_MAP_TYPE_LRU_HASH
#define PL      BPF_MAP_TYPE_LRU_PERCPU_HASH

static struct bpftime_map *new_map(struct bpftime_map_region *r, uint32_t type, uint32_t max,
				   uint32_t flags)
{
	struct bpftime_map_attr a = mt_attr(type, 4, 8, max, flags);

	return mt_map_new(r, &a);
}

/* Keys of [1, hi] present, as a bitmask (bit k). */
static uint64_t present(struct bpftime_map *m, uint32_t hi)
{
	uint64_t mask = 0;

	for (uint32_t k = 1; k <= hi; k++)
		if (ht_has(m, k))
			mask |= 1ull << k;
	return mask;
}

/* Bits lo..hi. */
static uint64_t keys(uint32_t lo, uint32_t hi)
{
	uint64_t mask = 0;

	for (uint32_t k = lo; k <= hi; k++)
		mask |= 1ull << k;
	return mask;
}

static int upd(struct bpftime_map *m, uint32_t k, uint64_t flags)
{
	uint64_t v[NR_CPUS] = {k, k};

	return bpftime_map__update_elem(m, &k, v, flags);
}

/* ---- create ---- */

struct create_case {
	uint32_t type, ks, vs, max, flags;
	int err;
};

static const struct create_case create_cases[] = {
    {L, 4, 4, 1, 0, 0},
    {L, 0, 4, 1, 0, -EINVAL},
    {L, 4, 4, 0, 0, -EINVAL},
    /* no lazy allocation for LRU maps: ENOTSUPP, before the size checks */
    {L, 4, 4, 3, BPF_F_NO_PREALLOC, -MT_ENOTSUPP},
    {L, 0, 4, 1, BPF_F_NO_PREALLOC, -MT_ENOTSUPP},
    {L, 4, 4, (1u << 31) + 1, BPF_F_NO_PREALLOC, -MT_ENOTSUPP},
    {L, 4, 4, 3, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE, -MT_ENOTSUPP},
    {L, 4, 4, 3, BPF_F_NO_COMMON_LRU | BPF_F_NO_PREALLOC, -MT_ENOTSUPP},
    {L, 4, 4, 3, BPF_F_NUMA_NODE, 0},
    {L, 4, 4, 3, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU, -EINVAL},
    {L, 0, 4, 1, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU, -EINVAL},
    {L, 4, 4, 3, BPF_F_ZERO_SEED, 0},
    {L, 4, 4, 3, BPF_F_MMAPABLE, -EINVAL},
    {L, 4, 4, 3, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, -EINVAL},
    {L, 4, 4194251, 1, 0, 0},
    {L, 4, 4194252, 1, 0, -E2BIG},
    {L, 4, 4, (1u << 27) + 1, 0, -E2BIG},
    /* rounding max_entries up to the CPUs overflows: rounded down, too big */
    {L, 4, 4, 0xffffffffu, BPF_F_NO_COMMON_LRU, -E2BIG},
    {PL, 4, 4, 1, 0, 0},
    {PL, 4, 4, 3, BPF_F_NUMA_NODE, -EINVAL},
    {PL, 4, 32768, 1, 0, 0},
    {PL, 4, 32769, 1, 0, -E2BIG},
    {PL, 4, 4, 3, BPF_F_NO_COMMON_LRU, 0},
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

/* With BPF_F_NUMA_NODE, numa_node -1 is NUMA_NO_NODE: no conflict with per-CPU lists. */
static void test_create_numa_no_node(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map_attr a = mt_attr(L, 4, 4, 3, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU);
	uint32_t id;

	assert_int_equal(bpftime_map__create(r, &a, &id), -EINVAL);
	a.numa_node = UINT32_MAX;
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	a = mt_attr(PL, 4, 4, 3, BPF_F_NUMA_NODE);
	a.numa_node = UINT32_MAX;
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	mt_region_destroy(r);
}

/* htab_map_alloc(): probed max_entries 1, 3, 5 -> 2, 4, 6 on 2 CPUs. */
static void test_no_common_lru_rounds_max_entries(void **state)
{
	static const uint32_t cases[][3] = {
	    {2, 1, 2}, {2, 3, 4}, {2, 5, 6}, {2, 6, 6}, {4, 5, 8}, {4, 1, 4},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct bpftime_map_region *r = mt_region_create(cases[i][0], 0);
		struct bpftime_map *m = new_map(r, L, cases[i][1], BPF_F_NO_COMMON_LRU);
		struct bpftime_map *c = new_map(r, PL, cases[i][1], 0);

		assert_int_equal(bpftime_map__attr(m)->max_entries, cases[i][2]);
		assert_int_equal(bpftime_map__attr(c)->max_entries, cases[i][1]);
		mt_region_destroy(r);
	}
}

/* ---- eviction ---- */

/*
 * Probed step by step on a map of 4 (target_free 1): updates never fail
 * for room; the element is taken before the key is looked at, so failed
 * updates still evict; LRU_PERCPU_HASH takes none for BPF_EXIST.
 */
static void check_full_map_evicts(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 4, 0);
	bool pc = type == PL;

	assert_int_equal(upd(m, 1, BPF_NOEXIST), 0);
	for (uint32_t k = 2; k <= 4; k++)
		assert_int_equal(upd(m, k, BPF_ANY), 0);
	assert_int_equal(present(m, 10), keys(1, 4));
	assert_int_equal(upd(m, 5, BPF_ANY), 0);
	assert_int_equal(present(m, 10), keys(2, 5));
	assert_int_equal(upd(m, 6, BPF_NOEXIST), 0);
	assert_int_equal(present(m, 10), keys(3, 6));
	assert_int_equal(upd(m, 7, BPF_EXIST), -ENOENT);
	assert_int_equal(present(m, 10), pc ? keys(3, 6) : keys(4, 6));
	assert_int_equal(upd(m, 8, BPF_ANY), 0);
	assert_int_equal(present(m, 10), keys(4, 6) | keys(8, 8));
	assert_int_equal(upd(m, 8, BPF_NOEXIST), -EEXIST);
	assert_int_equal(present(m, 10), keys(5, 6) | keys(8, 8));
	assert_int_equal(upd(m, 8, BPF_EXIST), 0);
	assert_int_equal(present(m, 10), keys(5, 6) | keys(8, 8));
	assert_int_equal(upd(m, 9, BPF_ANY), 0);
	assert_int_equal(present(m, 10), keys(5, 6) | keys(8, 9));
	assert_int_equal(ht_check_pool(m, NULL), 0);
	mt_region_destroy(r);
}

static void test_full_map_evicts(void **state)
{
	check_full_map_evicts(L);
	check_full_map_evicts(PL);
}

/* Probed: a shrink evicts target_free = clamp(max / cpus / 2, 1, 128) at once. */
static void test_eviction_batches(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m10 = new_map(r, L, 10, 0), *m100 = new_map(r, PL, 100, 0);
	static const uint32_t want10[] = {9, 10, 9, 10, 9, 10};
	uint32_t k;

	for (k = 1; k <= 10; k++)
		assert_int_equal(upd(m10, k, BPF_ANY), 0);
	assert_int_equal(ht_walk(m10), 10);
	for (uint32_t i = 0; i < ARRAY_LEN(want10); i++, k++) {
		assert_int_equal(upd(m10, k, BPF_ANY), 0);
		assert_int_equal(ht_walk(m10), want10[i]);
	}
	for (k = 1; k <= 100; k++)
		assert_int_equal(upd(m100, k, BPF_ANY), 0);
	assert_int_equal(ht_walk(m100), 100);
	assert_int_equal(upd(m100, k++, BPF_ANY), 0);
	assert_int_equal(ht_walk(m100), 76);
	assert_false(ht_has(m100, 25) || ht_has(m100, 1));
	assert_true(ht_has(m100, 26));
	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(upd(m100, k++, BPF_ANY), 0);
	assert_int_equal(ht_walk(m100), 88);
	mt_region_destroy(r);
}

/*
 * Probed with a program doing the lookups: on a map of 10 (target_free 2),
 * keys a program looked up outlive later inserts; syscall lookups protect
 * nothing (htab_lru_map_lookup_elem_sys).
 */
static void check_program_lookups_protect(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 10, 0), *s = new_map(r, type, 10, 0);
	uint32_t cpu = bpftime_map_region__cpu_get(r, 0, mt_tid()), k;
	uint64_t got[NR_CPUS];

	for (k = 1; k <= 10; k++) {
		assert_int_equal(upd(m, k, BPF_ANY), 0);
		assert_int_equal(upd(s, k, BPF_ANY), 0);
	}
	for (k = 1; k <= 5; k++) {
		assert_non_null(bpftime_map__prog_lookup(m, &k, cpu));
		assert_int_equal(bpftime_map__lookup_elem(s, &k, got, 0), 0);
	}
	assert_int_equal(upd(m, 11, BPF_ANY), 0);
	assert_int_equal(present(m, 20), keys(1, 5) | keys(8, 11));
	assert_int_equal(upd(m, 12, BPF_ANY), 0);
	assert_int_equal(upd(m, 13, BPF_ANY), 0);
	assert_int_equal(present(m, 20), keys(1, 5) | keys(10, 13));
	for (k = 14; k <= 19; k++)
		assert_int_equal(upd(m, k, BPF_ANY), 0);
	assert_int_equal(present(m, 20), keys(1, 5) | keys(16, 19));
	assert_int_equal(upd(s, 11, BPF_ANY), 0);
	assert_int_equal(present(s, 20), keys(3, 11));
	bpftime_map_region__cpu_put(r, cpu);
	mt_region_destroy(r);
}

static void test_program_lookups_protect(void **state)
{
	check_program_lookups_protect(L);
	check_program_lookups_protect(PL);
}

/*
 * Probed on maps of 10 holding 1..10: BPF_EXIST updates of 1 and 2. LRU_HASH
 * takes an element first, which evicts 1 and 2 themselves: -ENOENT.
 * LRU_PERCPU_HASH updates in place and marks them: then 3, 4 go first.
 */
static void test_exist_update_of_oldest(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, L, 10, 0), *p = new_map(r, PL, 10, 0);

	for (uint32_t k = 1; k <= 10; k++) {
		assert_int_equal(upd(m, k, BPF_ANY), 0);
		assert_int_equal(upd(p, k, BPF_ANY), 0);
	}
	assert_int_equal(upd(m, 1, BPF_EXIST), -ENOENT);
	assert_int_equal(upd(m, 2, BPF_EXIST), -ENOENT);
	assert_int_equal(present(m, 20), keys(3, 10));
	assert_int_equal(upd(p, 1, BPF_EXIST), 0);
	assert_int_equal(upd(p, 2, BPF_EXIST), 0);
	assert_int_equal(upd(p, 11, BPF_ANY), 0);
	assert_int_equal(present(p, 20), keys(1, 2) | keys(5, 11));
	mt_region_destroy(r);
}

/* ---- BPF_F_NO_COMMON_LRU: each CPU evicts from its own share ---- */

static void test_no_common_lru_per_cpu_share(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, L, 8, BPF_F_NO_COMMON_LRU);
	struct bpftime_map *big = new_map(r, PL, 100, BPF_F_NO_COMMON_LRU);
	uint32_t tid = mt_tid(), c0 = bpftime_map_region__cpu_get(r, 0, tid);
	uint32_t c1 = bpftime_map_region__cpu_get(r, 1, tid);
	uint64_t v[NR_CPUS] = {1, 1};

	assert_int_equal(c0, 0);
	assert_int_equal(c1, 1);
	/* probed: 8 inserts on one CPU leave that CPU's 4, the last ones */
	for (uint32_t k = 1; k <= 8; k++)
		assert_int_equal(bpftime_map__prog_update(m, &k, v, BPF_ANY, c0), 0);
	assert_int_equal(present(m, 20), keys(5, 8));
	for (uint32_t k = 9; k <= 16; k++)
		assert_int_equal(bpftime_map__prog_update(m, &k, v, BPF_ANY, c1), 0);
	assert_int_equal(present(m, 20), keys(5, 8) | keys(13, 16));
	/* probed: 100 inserts on one CPU of a per-CPU LRU of 100 leave 48 */
	for (uint32_t k = 1; k <= 100; k++)
		assert_int_equal(bpftime_map__prog_update(big, &k, v, BPF_ANY, c1), 0);
	assert_int_equal(ht_walk(big), 48);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	assert_int_equal(ht_check_pool(big, NULL), 0);
	bpftime_map_region__cpu_put(r, c0);
	bpftime_map_region__cpu_put(r, c1);
	mt_region_destroy(r);
}

/* The syscall side takes from the share of the CPU it runs on (probed pinned). */
static void test_no_common_lru_syscall_uses_this_cpu(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, L, 16, BPF_F_NO_COMMON_LRU);
	cpu_set_t old, one;

	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		skip();
	for (uint32_t k = 1; k <= 16; k++)
		assert_int_equal(upd(m, k, BPF_ANY), 0);
	assert_int_equal(present(m, 20), keys(9, 16));
	sched_setaffinity(0, sizeof(old), &old);
	mt_region_destroy(r);
}

/* ---- per-CPU values and the program side ---- */

static void test_percpu_values_and_pointers(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, PL, 8, 0), *n = new_map(r, L, 8, 0);
	uint32_t cpu = bpftime_map_region__cpu_get(r, 1, mt_tid()), k = 3;
	uint64_t v[NR_CPUS] = {10, 11}, got[NR_CPUS], one = 99, *p;

	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), 0);
	p = bpftime_map__prog_lookup(m, &k, cpu);
	assert_non_null(p);
	assert_int_equal(*p, 11);
	*p = 12;
	assert_int_equal(bpftime_map__prog_update(m, &k, &one, BPF_EXIST, 0), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_int_equal(got[0], 99);
	assert_int_equal(got[1], 12);
	k = 4;
	assert_int_equal(bpftime_map__prog_update(m, &k, &one, BPF_EXIST, cpu), -ENOENT);
	assert_int_equal(bpftime_map__prog_update(m, &k, &one, BPF_NOEXIST, cpu), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 99);
	assert_null(bpftime_map__prog_lookup(m, &k, NR_CPUS));
	/* LRU_HASH: the pointer is the value */
	assert_int_equal(bpftime_map__prog_update(n, &k, &one, BPF_ANY, cpu), 0);
	p = bpftime_map__prog_lookup(n, &k, cpu);
	assert_non_null(p);
	*p = 7;
	assert_int_equal(bpftime_map__lookup_elem(n, &k, got, 0), 0);
	assert_int_equal(got[0], 7);
	assert_int_equal(bpftime_map__prog_update(n, &k, &one, BPF_F_LOCK, cpu), -EINVAL);
	assert_int_equal(bpftime_map__prog_delete(n, &k, cpu), 0);
	assert_int_equal(bpftime_map__prog_delete(n, &k, cpu), -ENOENT);
	bpftime_map_region__cpu_put(r, cpu);
	mt_region_destroy(r);
}

static void test_delete_and_batches(void **state)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, PL, 64, 0);
	uint32_t ks[64], count = 64, out = 0, k = 5;
	uint64_t vs[64 * NR_CPUS], got[NR_CPUS];

	for (k = 1; k <= 40; k++)
		assert_int_equal(upd(m, k, BPF_ANY), 0);
	k = 5;
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, got, 0), 0);
	assert_int_equal(got[0], 5);
	assert_int_equal(got[1], 5);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &out, ks, vs, &count, 0, true),
			 -ENOENT);
	assert_int_equal(count, 39);
	assert_int_equal(out, 64);
	for (uint32_t i = 0; i < count; i++)
		assert_int_equal(vs[i * NR_CPUS + 1], ks[i]);
	assert_int_equal(ht_walk(m), 0);
	assert_int_equal(ht_check_pool(m, NULL), 0);
	/* everything is back on the freelist: 64 inserts without eviction */
	for (k = 1; k <= 64; k++)
		assert_int_equal(upd(m, k, BPF_NOEXIST), 0);
	assert_int_equal(ht_walk(m), 64);
	mt_region_destroy(r);
}

/* ---- threads ---- */

#define T_THREADS 4
#define T_OPS     4000

struct t_arg {
	struct bpftime_map *m;
	uint32_t id;
	bool percpu;
	unsigned errors;
};

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Values carry their key: a value found under another key is an error. */
static void t_step(struct t_arg *t, uint32_t *seed, uint32_t cpu)
{
	uint32_t key = next_rand(seed) % 256, op = next_rand(seed) % 4;
	uint64_t v[4] = {key, key, key, key}, *p;
	int err;

	if (op == 0) {
		err = bpftime_map__delete_elem(t->m, &key);
		t->errors += err && err != -ENOENT;
	} else if (op == 1) {
		/* the element may be evicted and reused under the pointer, as
		 * in the kernel: a value of some key, never a torn one */
		p = bpftime_map__prog_lookup(t->m, &key, cpu);
		t->errors += p && *p >= 256;
	} else if (op == 2) {
		err = bpftime_map__lookup_elem(t->m, &key, v, 0);
		/* per-CPU: slots other CPUs never wrote are zero */
		for (uint32_t c = 0; !err && c < (t->percpu ? T_THREADS : 1); c++)
			t->errors += v[c] != key && (!t->percpu || v[c] != 0);
	} else {
		/* never short of room: eviction makes it */
		err = bpftime_map__prog_update(t->m, &key, v, BPF_ANY, cpu);
		t->errors += err != 0;
	}
}

static void *t_run(void *arg)
{
	struct t_arg *t = arg;
	uint32_t seed = t->id + 7, cpu = bpftime_map_region__cpu_get(t->m->r, t->id, mt_tid());

	for (uint32_t i = 0; i < T_OPS; i++)
		t_step(t, &seed, cpu);
	bpftime_map_region__cpu_put(t->m->r, cpu);
	return NULL;
}

static void check_threads(uint32_t type, uint32_t flags)
{
	struct bpftime_map_region *r = mt_region_create(T_THREADS, 0);
	struct bpftime_map *m = new_map(r, type, 64, flags);
	struct t_arg args[T_THREADS];
	pthread_t th[T_THREADS];
	uint32_t linked, n;

	for (uint32_t i = 0; i < T_THREADS; i++) {
		args[i] = (struct t_arg){.m = m, .id = i, .percpu = type == PL};
		assert_int_equal(pthread_create(&th[i], NULL, t_run, &args[i]), 0);
	}
	for (uint32_t i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (uint32_t i = 0; i < T_THREADS; i++)
		assert_int_equal(args[i].errors, 0);
	n = ht_walk(m);
	assert_int_equal(ht_check_pool(m, &linked), 0);
	assert_int_equal(linked, n);
	assert_true(n > 0 && n <= 64);
	mt_region_destroy(r);
}

static void test_threads(void **state)
{
	check_threads(L, 0);
	check_threads(PL, 0);
	check_threads(L, BPF_F_NO_COMMON_LRU);
}

/* ---- a killed process ---- */

__attribute__((noreturn)) static void hammer(const char *path, uint32_t id, int ready_fd)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct bpftime_map *m = r ? bpftime_map__get(r, id) : NULL;
	uint32_t seed = (uint32_t)getpid(), cpu;

	if (!m)
		_exit(1);
	cpu = bpftime_map_region__cpu_get(r, 1, mt_tid());
	mt_pipe_put(ready_fd, 'r');
	for (;;) {
		uint32_t k = next_rand(&seed) % 96;
		uint64_t v[NR_CPUS] = {k, k};

		if (next_rand(&seed) % 8 == 0)
			bpftime_map__prog_delete(m, &k, cpu);
		else if (next_rand(&seed) % 2)
			bpftime_map__prog_lookup(m, &k, cpu);
		else
			bpftime_map__prog_update(m, &k, v, BPF_ANY, cpu);
	}
}

static bool held_by(struct bpftime_map *m, uint32_t tid)
{
	struct htab *h = htab_of(m);

	for (uint32_t i = 0; i < h->n_buckets; i++)
		if (__atomic_load_n(&htab_bucket(h, i)->lock, __ATOMIC_RELAXED) == tid)
			return true;
	return __atomic_load_n(&htab_list(h, 0)->lock, __ATOMIC_RELAXED) == tid;
}

/* One child hammering a small LRU (evicting all along) is killed; true if inside a lock. */
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
		hammer(path, bpftime_map__id(m), fds[1]);
	assert_int_equal(mt_pipe_get(fds[0], &c), 0);
	/* no assert until the child is dead: a failed one would leave it running */
	for (uint32_t i = 0; i < 1000; i++) {
		bad |= upd(m, 100 + i % 32, BPF_ANY) != 0;
		if (i == kill_at) {
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

static void check_sigkill(uint32_t type)
{
	struct bpftime_map_region *r = mt_region_create(NR_CPUS, 0);
	struct bpftime_map *m = new_map(r, type, 32, 0);
	uint32_t lost = 0, seed = 3, in_lock = 0, round, linked, n;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", bpftime_map_region__path(r));
	alarm(60);
	for (round = 0; round < 200 && (round < 8 || in_lock < 3); round++) {
		in_lock += kill_round(m, path, 50 + next_rand(&seed) % 900);
		n = ht_walk(m);
		lost = ht_check_pool(m, &linked);
		assert_int_equal(linked, n);
		/* the parent's last 16 updates are the newest: still there */
		assert_true(ht_has(m, 100 + 999 % 32));
	}
	alarm(0);
	print_message("%s: %u processes killed, %u inside a lock; %u element(s) lost\n",
		      type == L ? "lru_hash" : "lru_percpu_hash", round, in_lock, lost);
	assert_true(in_lock > 0);
	mt_region_destroy(r);
}

static void test_sigkill_while_hammering(void **state)
{
	check_sigkill(L);
	check_sigkill(PL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_create_numa_no_node),
	    cmocka_unit_test(test_no_common_lru_rounds_max_entries),
	    cmocka_unit_test(test_full_map_evicts),
	    cmocka_unit_test(test_eviction_batches),
	    cmocka_unit_test(test_program_lookups_protect),
	    cmocka_unit_test(test_exist_update_of_oldest),
	    cmocka_unit_test(test_no_common_lru_per_cpu_share),
	    cmocka_unit_test(test_no_common_lru_syscall_uses_this_cpu),
	    cmocka_unit_test(test_percpu_values_and_pointers),
	    cmocka_unit_test(test_delete_and_batches),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_sigkill_while_hammering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
