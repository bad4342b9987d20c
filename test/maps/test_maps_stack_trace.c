// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_STACK_TRACE: creation checks, bpftime_map__stackid() with
 * bpf_get_stackid()'s semantics (ids as Linux computes them, skip, depth,
 * collisions, BPF_F_REUSE_STACKID, BPF_F_FAST_STACK_CMP, build ids), the
 * syscall side, threads, a child that joins by path and holders killed
 * mid-operation. Expected answers are Linux 6.18's (probed: a raw_tp
 * program calling bpf_get_stackid under BPF_PROG_TEST_RUN).
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
#include "map-internal.h"

#define ST BPF_MAP_TYPE_STACK_TRACE

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

static struct bpftime_map *new_stackmap(void **state, uint32_t frames, uint32_t max, uint32_t flags)
{
	uint32_t unit = (flags & BPF_F_STACK_BUILD_ID) ? 32 : 8;
	struct bpftime_map_attr a = mt_attr(ST, 4, frames * unit, max, flags);

	return mt_map_new(*state, &a);
}

/* A made-up stack: @n frames, distinct for each @seed. */
static void make_stack(uint64_t *ips, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		ips[i] = 0x400000ull + (uint64_t)seed * 0x1000 + i * 0x10;
}

/* kernel.perf_event_max_stack, which bounds value_size / 8 at creation. */
static uint32_t max_stack(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_stack", "r");
	unsigned v = 127;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 127;
		fclose(f);
	}
	return v;
}

/* ---- creation ---- */

static void test_create_checks(void **state)
{
	uint32_t ms = max_stack();
	const struct {
		const char *what;
		uint32_t key_size, value_size, max_entries, flags;
		int err;
	} cases[] = {
	    {"plain", 4, 8, 4, 0, 0},
	    {"key_size 8", 8, 8, 4, 0, -EINVAL},
	    {"value not a multiple of 8", 4, 12, 4, 0, -EINVAL},
	    {"value_size 0", 4, 0, 4, 0, -EINVAL},
	    {"max_entries 0", 4, 8, 0, 0, -EINVAL},
	    {"deepest stack", 4, ms * 8, 4, 0, 0},
	    {"one frame too deep", 4, (ms + 1) * 8, 4, 0, -EINVAL},
	    {"build ids", 4, 32, 4, BPF_F_STACK_BUILD_ID, 0},
	    {"build ids, not a multiple of 32", 4, 40, 4, BPF_F_STACK_BUILD_ID, -EINVAL},
	    {"build ids, deepest", 4, ms * 32, 4, BPF_F_STACK_BUILD_ID, 0},
	    {"build ids, too deep", 4, (ms + 1) * 32, 4, BPF_F_STACK_BUILD_ID, -EINVAL},
	    {"numa node 0", 4, 8, 4, BPF_F_NUMA_NODE, 0},
	    {"rdonly fd", 4, 8, 4, BPF_F_RDONLY, 0},
	    {"wronly fd", 4, 8, 4, BPF_F_WRONLY, 0},
	    {"rdonly prog", 4, 8, 4, BPF_F_RDONLY_PROG, -EINVAL},
	    {"no prealloc", 4, 8, 4, BPF_F_NO_PREALLOC, -EINVAL},
	    {"zero seed", 4, 8, 4, BPF_F_ZERO_SEED, -EINVAL},
	    {"flags before sizes", 0, 8, 4, BPF_F_NO_PREALLOC, -EINVAL},
	    {"max_entries 2^31 + 1", 4, 8, (1u << 31) + 1, 0, -E2BIG},
	    {"max_entries 2^31 (no memory, the kernel neither)", 4, 8, 1u << 31, 0, -ENOMEM},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct bpftime_map_attr a = mt_attr(ST, cases[i].key_size, cases[i].value_size,
						    cases[i].max_entries, cases[i].flags);
		uint32_t id = 0;
		int err = bpftime_map__create(*state, &a, &id);

		if (err != cases[i].err)
			fail_msg("%s: got %d, want %d", cases[i].what, err, cases[i].err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
	}
}

/* ---- bpf_get_stackid() ---- */

/* Stacks bpf_get_stackid() recorded on Linux 6.18 and the ids it gave them
 * (value_size 128, max_entries 16384): the id is jhash2(ips) & 16383. */
static void test_ids_are_the_kernels(void **state)
{
	static const uint64_t ips[] = {0xffffffffc0025be2, 0xffffffff81f0582a, 0xffffffff81f07797,
				       0xffffffff814dbd61, 0xffffffff814de1cd, 0xffffffff821ecc51,
				       0xffffffff81000130};
	struct bpftime_map *m = new_stackmap(state, 16, 1u << 14, 0);

	assert_int_equal(bpftime_map__stackid(m, ips, 7, 0), 15145);
	/* skip 1 and 2: the same walk, hashed from the second and third frame */
	assert_int_equal(bpftime_map__stackid(m, ips, 7, 1), 8000);
	assert_int_equal(bpftime_map__stackid(m, ips, 7, 2), 13584);
}

static void test_skip_depth_and_flags(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 4, 64, 0);
	uint64_t ips[200], got[4];
	uint32_t id;
	long ret;

	make_stack(ips, 200, 1);
	/* bpf_get_stackid(): flags beyond skip, user stack, fast cmp and reuse */
	assert_int_equal(bpftime_map__stackid(m, ips, 10, BPF_F_USER_BUILD_ID), -EINVAL);
	assert_int_equal(bpftime_map__stackid(m, ips, 10, 1ull << 12), -EINVAL);
	/* skipping the whole collected stack (value / 8 + skip frames) */
	assert_int_equal(bpftime_map__stackid(m, ips, 3, 3), -EFAULT);
	assert_int_equal(bpftime_map__stackid(m, ips, 0, 0), -EFAULT);
	assert_int_equal(bpftime_map__stackid(m, ips, 200, 255), -EFAULT);
	/* depth: value_size / 8 frames are kept, after the skipped ones */
	ret = bpftime_map__stackid(m, ips, 10, 2 | BPF_F_USER_STACK);
	assert_true(ret >= 0);
	id = (uint32_t)ret;
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
	assert_memory_equal(got, ips + 2, sizeof(got));
	/* a short stack: its frames, then zeros */
	ret = bpftime_map__stackid(m, ips + 100, 2, BPF_F_REUSE_STACKID);
	assert_true(ret >= 0);
	id = (uint32_t)ret;
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
	assert_true(got[0] == ips[100] && got[1] == ips[101] && got[2] == 0 && got[3] == 0);
	/* another map type */
	{
		struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);

		assert_int_equal(bpftime_map__stackid(mt_map_new(*state, &a), ips, 4, 0), -EINVAL);
	}
}

/* The depth is capped by kernel.perf_event_max_stack, skipped frames included. */
static void test_depth_capped_by_the_sysctl(void **state)
{
	uint32_t ms = max_stack(), id;
	struct bpftime_map *m = new_stackmap(state, ms, 8, 0);
	uint64_t *ips = calloc(ms + 50, 8), *got = calloc(ms, 8);
	long ret;

	assert_non_null(ips);
	assert_non_null(got);
	make_stack(ips, ms + 50, 2);
	ret = bpftime_map__stackid(m, ips, ms + 50, 10);
	assert_true(ret >= 0);
	id = (uint32_t)ret;
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
	/* ms frames collected, 10 skipped: ms - 10 kept, then zeros */
	assert_memory_equal(got, ips + 10, (ms - 10) * 8);
	for (uint32_t i = ms - 10; i < ms; i++)
		assert_int_equal(got[i], 0);
	free(ips);
	free(got);
}

/* Seeds of made-up stacks whose ids, in a map of @max_entries, are all
 * different: @n of them into @seeds. */
static void distinct_buckets(void **state, uint32_t max, uint32_t n, uint32_t *seeds)
{
	struct bpftime_map *scratch = new_stackmap(state, 4, max, 0);
	bool used[64] = {false};
	uint32_t found = 0, key;
	uint64_t ips[4];

	assert_true(max <= 64);
	for (uint32_t seed = 100; found < n; seed++) {
		long id;

		make_stack(ips, 4, seed);
		id = bpftime_map__stackid(scratch, ips, 4, 0);
		assert_true(id >= 0 && id < 64);
		key = (uint32_t)id;
		assert_int_equal(bpftime_map__delete_elem(scratch, &key), 0);
		if (!used[id]) {
			used[id] = true;
			seeds[found++] = seed;
		}
		assert_true(seed < 100000);
	}
	bpftime_map__destroy(*state, bpftime_map__id(scratch));
}

/* Two stacks in one bucket: the first stays, unless reused. */
static void test_collisions_and_reuse(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 4, 4, 0);
	uint64_t a[4], b[4], got[4];
	long ida, idb;
	uint32_t seed, key;

	make_stack(a, 4, 1);
	ida = bpftime_map__stackid(m, a, 4, 0);
	assert_true(ida >= 0 && ida < 4);
	assert_int_equal(bpftime_map__stackid(m, a, 4, 0), ida);
	/* 4 buckets: a stack that lands in a's comes soon; fast cmp compares
	 * hashes only, and these differ: a collision all the same */
	for (seed = 2;; seed++) {
		make_stack(b, 4, seed);
		idb = bpftime_map__stackid(m, b, 4, BPF_F_FAST_STACK_CMP);
		if (idb == -EEXIST)
			break;
		assert_true(idb >= 0 && idb != ida);
		key = (uint32_t)idb;
		assert_int_equal(bpftime_map__delete_elem(m, &key), 0);
	}
	assert_int_equal(bpftime_map__stackid(m, b, 4, 0), -EEXIST);
	assert_int_equal(bpftime_map__stackid(m, a, 4, BPF_F_FAST_STACK_CMP), ida);
	assert_int_equal(bpftime_map__stackid(m, b, 4, BPF_F_REUSE_STACKID), ida);
	key = (uint32_t)ida;
	assert_int_equal(bpftime_map__lookup_elem(m, &key, got, 0), 0);
	assert_memory_equal(got, b, sizeof(got));
	assert_int_equal(bpftime_map__stackid(m, a, 4, 0), -EEXIST);
}

/* max_entries elements for roundup_pow_of_two(max_entries) buckets. */
static void test_elements_run_out(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 4, 3, 0);
	uint32_t seeds[4], key;
	uint64_t ips[4];

	distinct_buckets(state, 3, 4, seeds);
	for (uint32_t i = 0; i < 3; i++) {
		make_stack(ips, 4, seeds[i]);
		assert_true(bpftime_map__stackid(m, ips, 4, 0) >= 0);
	}
	make_stack(ips, 4, seeds[3]);
	assert_int_equal(bpftime_map__stackid(m, ips, 4, 0), -ENOMEM);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, &key), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &key), 0);
	assert_true(bpftime_map__stackid(m, ips, 4, 0) >= 0);
}

static void test_build_id_map_stores_ips(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 3, 16, BPF_F_STACK_BUILD_ID);
	struct bpf_stack_build_id got[3];
	uint64_t ips[8];
	uint32_t id;
	long ret;

	make_stack(ips, 8, 9);
	ret = bpftime_map__stackid(m, ips, 2, 0);
	assert_true(ret >= 0);
	assert_int_equal(bpftime_map__stackid(m, ips, 2, 0), ret);
	id = (uint32_t)ret;
	memset(got, 0xaa, sizeof(got));
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(got[i].status, BPF_STACK_BUILD_ID_IP);
		assert_int_equal(got[i].ip, ips[i]);
		for (int j = 0; j < BPF_BUILD_ID_SIZE; j++)
			assert_int_equal(got[i].build_id[j], 0);
	}
	assert_int_equal(got[2].status, BPF_STACK_BUILD_ID_EMPTY);
	assert_int_equal(got[2].ip, 0);
}

/* ---- syscall side ---- */

static void test_syscall_side(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 2, 5, 0); /* 8 buckets */
	uint64_t ips[2], got[2];
	uint32_t id, big = 8, next = 77, n = 1;
	uint8_t tok[4];
	long ret;

	assert_int_equal(bpftime_map__get_next_key(m, NULL, &next), -ENOENT);
	make_stack(ips, 2, 5);
	ret = bpftime_map__stackid(m, ips, 2, 0);
	assert_true(ret >= 0 && ret < 8);
	id = (uint32_t)ret;
	assert_int_equal(bpftime_map__lookup_elem(m, &big, got, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
	assert_memory_equal(got, ips, sizeof(got));
	/* stacks come from programs only */
	assert_int_equal(bpftime_map__update_elem(m, &id, got, 0), -EINVAL);
	/* get_next_key: from NULL, after an id, restart after a missing one */
	assert_int_equal(bpftime_map__get_next_key(m, NULL, &next), 0);
	assert_int_equal(next, id);
	assert_int_equal(bpftime_map__get_next_key(m, &id, &next), -ENOENT);
	assert_int_equal(bpftime_map__get_next_key(m, &big, &next), 0);
	assert_int_equal(next, id);
	/* lookup_and_delete: the stack, then gone */
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &id, got, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &id, got, 0), 0);
	assert_memory_equal(got, ips, sizeof(got));
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &id, got, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &big, got, 0), -ENOENT);
	/* delete: past the buckets -E2BIG, empty -ENOENT */
	assert_int_equal(bpftime_map__stackid(m, ips, 2, 0), id);
	assert_int_equal(bpftime_map__delete_elem(m, &big), -E2BIG);
	assert_int_equal(bpftime_map__delete_elem(m, &id), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &id), -ENOENT);
	/* no batches; programs see nothing but bpf_get_stackid */
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &id, got, &n, 0, false),
			 -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__update_batch(m, &id, got, &n, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__delete_batch(m, &id, &n, 0), -MT_ENOTSUPP);
	assert_null(bpftime_map__prog_lookup(m, &id, 0));
	/* frozen: deletes are -EPERM, stacks still come */
	assert_int_equal(bpftime_map__freeze(m), 0);
	assert_int_equal(bpftime_map__stackid(m, ips, 2, 0), id);
	assert_int_equal(bpftime_map__delete_elem(m, &id), -EPERM);
	assert_int_equal(bpftime_map__lookup_elem(m, &id, got, 0), 0);
}

/* ---- threads ---- */

#define NSTACKS 8

struct thr {
	struct bpftime_map *m;
	const uint32_t *seeds;
	uint32_t id;
	uint32_t bad;
};

/* Same stacks from every thread: always the same id, never -EEXIST. */
static void *same_stacks(void *p)
{
	struct thr *t = p;
	uint64_t ips[4];

	for (uint32_t round = 0; round < 2000; round++) {
		uint32_t s = (round + t->id) % NSTACKS;
		long id;

		make_stack(ips, 4, t->seeds[s]);
		id = bpftime_map__stackid(t->m, ips, 4, 0);
		t->bad += id < 0;
	}
	return NULL;
}

/* Colliding stacks replacing each other: a lookup sees one whole stack. */
static void *replacer(void *p)
{
	struct thr *t = p;
	uint64_t ips[16], got[16];
	uint32_t key = 0;

	for (uint32_t round = 0; round < 3000; round++) {
		make_stack(ips, 16, t->id * 7 + round % 5);
		bpftime_map__stackid(t->m, ips, 16, BPF_F_REUSE_STACKID);
		if (bpftime_map__lookup_elem(t->m, &key, got, 0) == 0) {
			uint32_t seed = (uint32_t)((got[0] - 0x400000) >> 12);

			make_stack(ips, 16, seed);
			t->bad += memcmp(ips, got, sizeof(got)) != 0;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	uint32_t seeds[NSTACKS], key, next, n = 0;
	struct bpftime_map *m = new_stackmap(state, 4, 64, 0);
	struct bpftime_map *one = new_stackmap(state, 16, 1, 0); /* one bucket */
	struct thr ts[4];
	pthread_t th[4];

	distinct_buckets(state, 64, NSTACKS, seeds);
	for (uint32_t i = 0; i < 4; i++) {
		ts[i] = (struct thr){.m = i < 2 ? m : one, .seeds = seeds, .id = i};
		assert_int_equal(
		    pthread_create(&th[i], NULL, i < 2 ? same_stacks : replacer, &ts[i]), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ts[i].bad, 0);
	}
	for (void *prev = NULL; bpftime_map__get_next_key(m, prev, &next) == 0; prev = &key) {
		key = next;
		n++;
	}
	assert_int_equal(n, NSTACKS);
}

/* ---- processes ---- */

static void test_child_joins_by_path(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 4, 16, 0);
	const char *path = bpftime_map_region__path(*state);
	uint32_t mid = bpftime_map__id(m), key;
	uint64_t ips[4], got[4];
	pid_t pid;
	long id;

	make_stack(ips, 4, 11);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *cm = r ? bpftime_map__get(r, mid) : NULL;

		if (!cm)
			_exit(200);
		id = bpftime_map__stackid(cm, ips, 4, 0);
		_exit(id >= 0 && id < 16 ? (int)id : 201);
	}
	id = mt_wait(pid);
	assert_true(id >= 0 && id < 16);
	key = (uint32_t)id;
	assert_int_equal(bpftime_map__lookup_elem(m, &key, got, 0), 0);
	assert_memory_equal(got, ips, sizeof(got));
	assert_int_equal(bpftime_map__stackid(m, ips, 4, 0), id);
}

/*
 * A child replaces and deletes stacks and is killed holding the lock; the
 * next locker rebuilds the free elements from the buckets: after emptying
 * the map, all max_entries elements can be used again.
 */
static void test_killed_holder_is_repaired(void **state)
{
	struct bpftime_map *m = new_stackmap(state, 4, 8, 0);
	const char *path = bpftime_map_region__path(*state);
	uint32_t mid = bpftime_map__id(m), seeds[8], key, next;
	unsigned seed = 5, caught = 0;
	uint64_t ips[4];

	distinct_buckets(state, 8, 8, seeds);
	mt_log_capture();
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct bpftime_map_region *r = mt_region_join(path);
			struct bpftime_map *cm = r ? bpftime_map__get(r, mid) : NULL;
			unsigned s = (unsigned)round;

			while (cm) {
				uint32_t x = (uint32_t)rand_r(&s), k = x % 8;

				make_stack(ips, 4, x % 64);
				if (x % 4)
					bpftime_map__stackid(cm, ips, 4, BPF_F_REUSE_STACKID);
				else
					bpftime_map__delete_elem(cm, &k);
			}
			_exit(2);
		}
		caught += mt_kill_in_lock(pid, &m->d->lock, 200, &seed);
		while (bpftime_map__get_next_key(m, NULL, &next) == 0) {
			key = next;
			assert_int_equal(bpftime_map__delete_elem(m, &key), 0);
		}
		for (uint32_t i = 0; i < 8; i++) {
			make_stack(ips, 4, seeds[i]);
			assert_true(bpftime_map__stackid(m, ips, 4, 0) >= 0);
		}
	}
	print_message("killed holding the lock in %u of 6 rounds\n", caught);
	assert_true(caught > 0);
	assert_non_null(mt_log_find("stack_trace): lock holder died"));
	mt_log_release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_ids_are_the_kernels),
	    cmocka_unit_test(test_skip_depth_and_flags),
	    cmocka_unit_test(test_depth_capped_by_the_sysctl),
	    cmocka_unit_test(test_collisions_and_reuse),
	    cmocka_unit_test(test_elements_run_out),
	    cmocka_unit_test(test_build_id_map_stores_ips),
	    cmocka_unit_test(test_syscall_side),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_child_joins_by_path),
	    cmocka_unit_test(test_killed_holder_is_repaired),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
