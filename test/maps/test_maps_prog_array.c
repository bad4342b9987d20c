// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_PROG_ARRAY and BPF_MAP_TYPE_CGROUP_ARRAY (the kernel's fd
 * arrays, holding the u32 bpf-emul resolves fds to): creation checks, the
 * syscall side with bpf(2)'s errnos (Linux 6.18, probed with libbpf),
 * bpftime_map__prog_array_get() for tail calls, threads and a child that
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

#define PA BPF_MAP_TYPE_PROG_ARRAY
#define CA BPF_MAP_TYPE_CGROUP_ARRAY

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

static struct bpftime_map *new_array(void **state, uint32_t type, uint32_t max)
{
	struct bpftime_map_attr a = mt_attr(type, 4, 4, max, 0);

	return mt_map_new(*state, &a);
}

static int set(struct bpftime_map *m, uint32_t idx, uint32_t v, uint64_t flags)
{
	return bpftime_map__update_elem(m, &idx, &v, flags);
}

/* ---- creation ---- */

static void test_create_checks(void **state)
{
	static const struct {
		const char *what;
		uint32_t key_size, value_size, max_entries, flags;
		int err;
	} cases[] = {
	    {"plain", 4, 4, 4, 0, 0},
	    {"key_size 8", 8, 4, 4, 0, -EINVAL},
	    {"value_size 8", 4, 8, 4, 0, -EINVAL},
	    {"value_size 0", 4, 0, 4, 0, -EINVAL},
	    {"max_entries 0", 4, 4, 0, 0, -EINVAL},
	    {"numa node 0", 4, 4, 4, BPF_F_NUMA_NODE, 0},
	    {"rdonly fd", 4, 4, 4, BPF_F_RDONLY, 0},
	    {"wronly fd", 4, 4, 4, BPF_F_WRONLY, 0},
	    {"rdonly prog", 4, 4, 4, BPF_F_RDONLY_PROG, -EINVAL},
	    {"wronly prog", 4, 4, 4, BPF_F_WRONLY_PROG, -EINVAL},
	    {"mmapable", 4, 4, 4, BPF_F_MMAPABLE, -EINVAL},
	    {"inner map", 4, 4, 4, BPF_F_INNER_MAP, -EINVAL},
	    {"preserve elems", 4, 4, 4, BPF_F_PRESERVE_ELEMS, -EINVAL},
	    {"no prealloc", 4, 4, 4, BPF_F_NO_PREALLOC, -EINVAL},
	    {"max_entries U32_MAX", 4, 4, UINT32_MAX, 0, -ENOMEM},
	};
	uint32_t types[] = {PA, CA};

	for (size_t t = 0; t < ARRAY_LEN(types); t++)
		for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
			struct bpftime_map_attr a =
			    mt_attr(types[t], cases[i].key_size, cases[i].value_size,
				    cases[i].max_entries, cases[i].flags);
			uint32_t id = 0;
			int err = bpftime_map__create(*state, &a, &id);

			if (err != cases[i].err)
				fail_msg("type %u, %s: got %d, want %d", types[t], cases[i].what,
					 err, cases[i].err);
			if (!err)
				assert_int_equal(bpftime_map__destroy(*state, id), 0);
		}
}

/* ---- syscall side ---- */

static void test_prog_array_syscall_side(void **state)
{
	struct bpftime_map *m = new_array(state, PA, 3);
	uint32_t k = 0, v = 0, far = 5, next = 9, n = 1;
	uint8_t tok[4];

	assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_elem(m, &far, &v, 0), -ENOENT);
	/* bpf_fd_array_map_update_elem(): flags first, then the index */
	assert_int_equal(set(m, 0, 1584, BPF_ANY), 0);
	assert_int_equal(set(m, 0, 1584, BPF_NOEXIST), -EINVAL);
	assert_int_equal(set(m, 0, 1584, BPF_EXIST), -EINVAL);
	assert_int_equal(set(m, 5, 1584, BPF_EXIST), -EINVAL);
	assert_int_equal(set(m, 5, 1584, BPF_ANY), -E2BIG);
	assert_int_equal(set(m, 0, 1584, BPF_F_LOCK), -EINVAL);
	/* no program has id 0 */
	assert_int_equal(set(m, 1, 0, BPF_ANY), -EINVAL);
	/* prog_fd_array_sys_lookup_elem(): the program's id */
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, 0), 0);
	assert_int_equal(v, 1584);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, BPF_F_LOCK), -EINVAL);
	/* array_map_get_next_key() */
	assert_int_equal(bpftime_map__get_next_key(m, NULL, &next), 0);
	assert_int_equal(next, 0);
	k = 2;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), -ENOENT);
	assert_int_equal(bpftime_map__get_next_key(m, &far, &next), 0);
	assert_int_equal(next, 0);
	k = 0;
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &v, 0), -MT_ENOTSUPP);
	/* fd_array_map_delete_elem() */
	k = 2;
	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	assert_int_equal(bpftime_map__delete_elem(m, &far), -E2BIG);
	k = 0;
	assert_int_equal(bpftime_map__delete_elem(m, &k), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	/* no batches at all */
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &k, &v, &n, 0, false),
			 -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__update_batch(m, &k, &v, &n, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__delete_batch(m, &k, &n, 0), -MT_ENOTSUPP);
	/* the verifier lets programs tail-call only */
	assert_null(bpftime_map__prog_lookup(m, &k, 0));
	assert_int_equal(bpftime_map__freeze(m), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -EPERM);
	assert_int_equal(set(m, 0, 1, 0), -EPERM);
}

static void test_cgroup_array_syscall_side(void **state)
{
	struct bpftime_map *m = new_array(state, CA, 3);
	uint32_t k = 1, v = 0, far = 7;

	/* no map_fd_sys_lookup_elem: -ENOTSUPP, before the index is looked at */
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__lookup_elem(m, &far, &v, 0), -MT_ENOTSUPP);
	assert_int_equal(set(m, 1, 42, BPF_NOEXIST), -EINVAL);
	assert_int_equal(set(m, 7, 42, BPF_ANY), -E2BIG);
	assert_int_equal(set(m, 1, 42, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__prog_array_get(m, 1), 42);
	/* any u32 is stored, 0 included */
	assert_int_equal(set(m, 2, 0, BPF_ANY), 0);
	k = 2;
	assert_int_equal(bpftime_map__delete_elem(m, &k), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -ENOENT);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &v, 0), -MT_ENOTSUPP);
}

/* ---- program side ---- */

static void test_prog_array_get(void **state)
{
	struct bpftime_map *m = new_array(state, PA, 4);
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	struct bpftime_map *plain = mt_map_new(*state, &a);
	uint32_t k = 3;

	assert_int_equal(bpftime_map__prog_array_get(m, 3), 0);
	assert_int_equal(set(m, 3, 77, 0), 0);
	assert_int_equal(bpftime_map__prog_array_get(m, 3), 77);
	assert_int_equal(bpftime_map__prog_array_get(m, 4), 0);
	assert_int_equal(bpftime_map__prog_array_get(m, UINT32_MAX), 0);
	assert_int_equal(bpftime_map__delete_elem(m, &k), 0);
	assert_int_equal(bpftime_map__prog_array_get(m, 3), 0);
	/* not an fd array: nothing to call */
	assert_int_equal(bpftime_map__update_elem(plain, &k, &k, 0), 0);
	assert_int_equal(bpftime_map__prog_array_get(plain, 3), 0);
}

/* ---- threads and processes ---- */

struct thr {
	struct bpftime_map *m;
	uint32_t id;
	uint32_t bad;
};

/* Each thread rewrites its slot and reads all of them: a slot is empty or
 * holds a value its owner wrote. */
static void *slot_writer(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 1; i <= 5000; i++) {
		if (i % 7 == 0) {
			uint32_t k = t->id;

			bpftime_map__delete_elem(t->m, &k);
		} else {
			t->bad += set(t->m, t->id, t->id << 16 | i, 0) != 0;
		}
		for (uint32_t s = 0; s < 4; s++) {
			uint32_t v = bpftime_map__prog_array_get(t->m, s);

			t->bad += v != 0 && (v >> 16 != s || (v & 0xffff) == 0);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct bpftime_map *m = new_array(state, PA, 4);
	struct thr ts[4];
	pthread_t th[4];

	for (uint32_t i = 0; i < 4; i++) {
		ts[i] = (struct thr){.m = m, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, slot_writer, &ts[i]), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ts[i].bad, 0);
		/* 5000 is not a multiple of 7: the last write stays */
		assert_int_equal(bpftime_map__prog_array_get(m, i), i << 16 | 5000);
	}
}

static void test_child_joins_by_path(void **state)
{
	struct bpftime_map *m = new_array(state, PA, 8);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;

		if (!cm)
			_exit(2);
		for (uint32_t i = 0; i < 8; i++)
			if (set(cm, i, 100 + i, 0))
				_exit(3);
		_exit(0);
	}
	assert_int_equal(mt_wait(pid), 0);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(bpftime_map__prog_array_get(m, i), 100 + i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_prog_array_syscall_side),
	    cmocka_unit_test(test_cgroup_array_syscall_side),
	    cmocka_unit_test(test_prog_array_get),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_child_joins_by_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
