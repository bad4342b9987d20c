// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: creation checks, the
 * syscall side (with bpf(2)'s errno for each refusal), the program side,
 * BPF_F_MMAPABLE and the generic batches. The expected errnos are the
 * answers of Linux 6.18 (test_maps_kernel_diff.c compares the two at
 * random; these are the cases written out).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "maps-test.h"

#define NCPUS 4

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

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t type, key_size, value_size, max_entries, flags, numa;
	uint64_t extra;
	const char *name;
	int err;
};

#define A  BPF_MAP_TYPE_ARRAY
#define PA BPF_MAP_TYPE_PERCPU_ARRAY

static const struct create_case create_cases[] = {
    {"plain", A, 4, 8, 16, 0, 0, 0, "ok_name.1", 0},
    {"percpu", PA, 4, 12, 16, 0, 0, 0, "", 0},
    {"max_entries 0", A, 4, 8, 0, 0, 0, 0, "", -EINVAL},
    {"key_size 8", A, 8, 8, 4, 0, 0, 0, "", -EINVAL},
    {"key_size 0", PA, 0, 8, 4, 0, 0, 0, "", -EINVAL},
    {"value_size 0", A, 4, 0, 4, 0, 0, 0, "", -EINVAL},
    {"unknown flag", A, 4, 8, 4, BPF_F_NO_PREALLOC, 0, 0, "", -EINVAL},
    {"rdonly and wronly prog", A, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, 0, 0, "",
     -EINVAL},
    {"rdonly and wronly fd", A, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY, 0, 0, "", -EINVAL},
    {"percpu on a numa node", PA, 4, 8, 4, BPF_F_NUMA_NODE, 0, 0, "", -EINVAL},
    {"percpu, numa flag, no node", PA, 4, 8, 4, BPF_F_NUMA_NODE, UINT32_MAX, 0, "", 0},
    {"numa node 0", A, 4, 8, 4, BPF_F_NUMA_NODE, 0, 0, "", 0},
    {"numa node offline", A, 4, 8, 4, BPF_F_NUMA_NODE, 4000, 0, "", -EINVAL},
    {"percpu mmapable", PA, 4, 8, 4, BPF_F_MMAPABLE, 0, 0, "", -EINVAL},
    {"percpu inner map", PA, 4, 8, 4, BPF_F_INNER_MAP, 0, 0, "", -EINVAL},
    {"preserve elems", A, 4, 8, 4, BPF_F_PRESERVE_ELEMS, 0, 0, "", -EINVAL},
    {"mmapable", A, 4, 8, 4, BPF_F_MMAPABLE, 0, 0, "", 0},
    {"map_extra", A, 4, 8, 4, 0, 0, 1, "", -EINVAL},
    {"bad name", A, 4, 8, 4, 0, 0, 0, "a-b", -EINVAL},
    {"value_size > INT_MAX", A, 4, (uint32_t)INT_MAX + 1, 1, 0, 0, 0, "", -E2BIG},
    {"percpu value 32 KiB", PA, 4, 32768, 1, 0, 0, 0, "", 0},
    {"percpu value > 32 KiB", PA, 4, 32769, 1, 0, 0, 0, "", -E2BIG},
    /* refused by the type before the name is looked at */
    {"too big, bad name", A, 4, (uint32_t)INT_MAX + 1, 1, 0, 0, 0, "a b", -E2BIG},
    /* 32 GiB: more than the region reserves (the kernel: more than vmalloc gives) */
    {"32 GiB of values", A, 4, 1u << 20, 32768, 0, 0, 0, "", -ENOMEM},
};

static void test_create_checks(void **state)
{
	struct bpftime_map_region *r = *state;

	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    mt_attr(c->type, c->key_size, c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err;

		a.numa_node = c->numa;
		a.map_extra = c->extra;
		snprintf(a.map_name, sizeof(a.map_name), "%s", c->name);
		err = bpftime_map__create(r, &a, &id);
		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(r, id), 0);
	}
}

static void test_name_of_sixteen_chars_is_refused(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 8, 1, 0);
	uint32_t id;

	memset(a.map_name, 'x', sizeof(a.map_name)); /* no NUL */
	assert_int_equal(bpftime_map__create(*state, &a, &id), -EINVAL);
}

/* ---- syscall side ---- */

static void test_lookup_update_and_their_refusals(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 12, 8, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint8_t v[12], got[12], zero[12] = {0};
	uint32_t k = 3, out = 8, huge = UINT32_MAX;

	memset(v, 0x5c, sizeof(v));
	assert_int_equal(bpftime_map__value_size(m), 12);
	/* every element exists from the start, zeroed */
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_memory_equal(got, zero, sizeof(got));
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_memory_equal(got, v, sizeof(v));
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_EXIST), 0);
	/* array_map_update_elem(): elements always exist */
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_NOEXIST), -EEXIST);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, 3), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_F_LOCK | BPF_EXIST), -EINVAL);
	/* flags are checked before the index */
	assert_int_equal(bpftime_map__update_elem(m, &out, v, 3), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(m, &out, v, BPF_ANY), -E2BIG);
	assert_int_equal(bpftime_map__update_elem(m, &huge, v, BPF_NOEXIST), -E2BIG);
	assert_int_equal(bpftime_map__lookup_elem(m, &out, got, 0), -ENOENT);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, BPF_F_LOCK), -EINVAL);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, BPF_EXIST), -EINVAL);
	/* elements of an array are never deleted */
	assert_int_equal(bpftime_map__delete_elem(m, &k), -EINVAL);
	assert_int_equal(bpftime_map__delete_elem(m, &out), -EINVAL);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, got, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, got, BPF_EXIST), -EINVAL);
}

static void test_get_next_key(void **state)
{
	struct bpftime_map_attr a = mt_attr(PA, 4, 8, 5, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint32_t next = 77, k;

	assert_int_equal(bpftime_map__get_next_key(m, NULL, &next), 0);
	assert_int_equal(next, 0);
	k = 0;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	assert_int_equal(next, 1);
	k = 3;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	assert_int_equal(next, 4);
	k = 4;
	next = 77;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), -ENOENT);
	assert_int_equal(next, 77);
	/* a key past the end starts over */
	k = 5;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	assert_int_equal(next, 0);
	k = UINT32_MAX;
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	assert_int_equal(next, 0);
}

static void test_freeze(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 8, 4, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint64_t v = 9, got = 0;
	uint32_t k = 1, n = 1, next;
	uint64_t *p;

	assert_false(bpftime_map__frozen(m));
	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__freeze(m), 0);
	assert_true(bpftime_map__frozen(m));
	/* the fd lost its write permission: a second freeze is -EPERM */
	assert_int_equal(bpftime_map__freeze(m), -EPERM);
	/* the permission check comes before every other check */
	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_ANY), -EPERM);
	assert_int_equal(bpftime_map__update_elem(m, &k, &v, BPF_F_LOCK), -EPERM);
	assert_int_equal(bpftime_map__delete_elem(m, &k), -EPERM);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &k, &got, 0), -EPERM);
	assert_int_equal(bpftime_map__update_batch(m, &k, &v, &n, 0), -EPERM);
	assert_int_equal(n, 1);
	assert_int_equal(bpftime_map__delete_batch(m, &k, &n, BPF_F_LOCK), -EPERM);
	/* reads go on */
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, 0), 0);
	assert_int_equal(got, 9);
	assert_int_equal(bpftime_map__get_next_key(m, &k, &next), 0);
	/* programs may still write: freezing is for the syscall side */
	assert_int_equal(bpftime_map__prog_update(m, &k, &(uint64_t){10}, BPF_ANY, 0), 0);
	p = bpftime_map__prog_lookup(m, &k, 0);
	assert_non_null(p);
	*p += 1;
	assert_int_equal(bpftime_map__lookup_elem(m, &k, &got, 0), 0);
	assert_int_equal(got, 11);
}

/* ---- per-CPU values ---- */

static void test_percpu_value_layout(void **state)
{
	/* 12 bytes: each CPU's value takes a 16-byte slot, padding included */
	struct bpftime_map_attr a = mt_attr(PA, 4, 12, 3, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint8_t vals[NCPUS * 16], got[NCPUS * 16], one[12];
	uint32_t k = 2;
	uint8_t *slot;

	assert_int_equal(bpftime_map__value_size(m), NCPUS * 16);
	for (unsigned i = 0; i < sizeof(vals); i++)
		vals[i] = (uint8_t)(i + 1);
	assert_int_equal(bpftime_map__update_elem(m, &k, vals, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	/* bpf_percpu_array_copy() copies whole slots: padding comes back */
	assert_memory_equal(got, vals, sizeof(vals));
	for (uint32_t cpu = 0; cpu < NCPUS; cpu++) {
		slot = bpftime_map__prog_lookup(m, &k, cpu);
		assert_non_null(slot);
		assert_memory_equal(slot, vals + cpu * 16, 12);
	}
	assert_null(bpftime_map__prog_lookup(m, &k, NCPUS));

	/* a program updates its own CPU's value only (value_size bytes) */
	memset(one, 0xee, sizeof(one));
	assert_int_equal(bpftime_map__prog_update(m, &k, one, BPF_ANY, 2), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	memcpy(vals + 2 * 16, one, sizeof(one));
	assert_memory_equal(got, vals, sizeof(vals));
	/* and writes through its pointer reach that slot alone */
	slot = bpftime_map__prog_lookup(m, &k, 1);
	slot[0] = 0x42;
	vals[16] = 0x42;
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	assert_memory_equal(got, vals, sizeof(vals));
}

/* ---- program side ---- */

static void test_prog_side(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 16, 4, 0);
	struct bpftime_map_attr ro = mt_attr(A, 4, 8, 4, BPF_F_RDONLY_PROG);
	struct bpftime_map *m = mt_map_new(*state, &a), *mro = mt_map_new(*state, &ro);
	uint8_t v[16], got[16];
	uint32_t k = 3, out = 4;
	uint8_t *p;

	p = bpftime_map__prog_lookup(m, &k, 0);
	assert_non_null(p);
	assert_null(bpftime_map__prog_lookup(m, &out, 0));
	/* the program's pointer is the map's memory */
	memset(p, 0x31, 16);
	assert_int_equal(bpftime_map__lookup_elem(m, &k, got, 0), 0);
	memset(v, 0x31, sizeof(v));
	assert_memory_equal(got, v, sizeof(v));
	memset(v, 0x77, sizeof(v));
	assert_int_equal(bpftime_map__update_elem(m, &k, v, BPF_ANY), 0);
	assert_memory_equal(p, v, sizeof(v));
	/* the helpers' answers */
	assert_int_equal(bpftime_map__prog_update(m, &k, v, BPF_NOEXIST, 0), -EEXIST);
	assert_int_equal(bpftime_map__prog_update(m, &out, v, BPF_ANY, 0), -E2BIG);
	assert_int_equal(bpftime_map__prog_update(m, &k, v, 3, 0), -EINVAL);
	assert_int_equal(bpftime_map__prog_update(m, &k, v, BPF_F_LOCK, 0), -EINVAL);
	assert_int_equal(bpftime_map__prog_delete(m, &k, 0), -EINVAL);
	assert_int_equal(bpftime_map__prog_push(m, v, 0), -MT_ENOTSUPP);
	/* a map programs may only read */
	assert_int_equal(bpftime_map__prog_update(mro, &k, v, BPF_ANY, 0), -EPERM);
	assert_non_null(bpftime_map__prog_lookup(mro, &k, 0));
}

/* ---- BPF_F_MMAPABLE ---- */

/* In a second process: map the file as a tool would, check what the
 * program side wrote at element 5, write element 6. */
static int tool_process(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	uint64_t *vals;

	if (fd < 0)
		return 10;
	vals = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (vals == MAP_FAILED)
		return 11;
	if (vals[5] != 0x5555aaaa5555aaaaull)
		return 12;
	vals[6] = 0x6666;
	munmap(vals, size);
	return 0;
}

static void test_mmapable_file_is_the_values(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 8, 1000, BPF_F_MMAPABLE);
	struct bpftime_map_attr plain = mt_attr(A, 4, 8, 1000, 0);
	struct bpftime_map *m = mt_map_new(*state, &a), *mp = mt_map_new(*state, &plain);
	const char *path = bpftime_map__file(m);
	uint32_t k5 = 5, k6 = 6;
	uint64_t *p, got = 0;
	struct stat st;
	pid_t pid;

	assert_null(bpftime_map__file(mp));
	assert_non_null(path);
	assert_int_equal(stat(path, &st), 0);
	/* array_map_mmap(): the values, 8000 bytes, in whole pages */
	assert_int_equal(st.st_size, 8192);
	p = bpftime_map__prog_lookup(m, &k5, 0);
	assert_non_null(p);
	*p = 0x5555aaaa5555aaaaull;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(tool_process(path, (size_t)st.st_size));
	assert_int_equal(mt_wait(pid), 0);
	assert_int_equal(bpftime_map__lookup_elem(m, &k6, &got, 0), 0);
	assert_int_equal(got, 0x6666);
	assert_int_equal(*(uint64_t *)bpftime_map__prog_lookup(m, &k6, 0), 0x6666);
}

/* ---- batches ---- */

static void test_lookup_batch(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 8, 10, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint32_t keys[16], in, out = 0, count;
	uint64_t vals[16];

	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(bpftime_map__update_elem(m, &i, &(uint64_t){100 + i}, 0), 0);
	assert_int_equal(bpftime_map__batch_token_size(m), 4);
	count = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &out, keys, vals, &count, 0, false), 0);
	assert_int_equal(count, 4);
	assert_int_equal(out, 3);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(keys[i], i);
		assert_int_equal(vals[i], 100 + i);
	}
	in = out;
	count = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, &in, &out, keys, vals, &count, 0, false), 0);
	assert_int_equal(keys[0], 4);
	assert_int_equal(out, 7);
	/* the last batch: its elements come with -ENOENT */
	in = out;
	count = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, &in, &out, keys, vals, &count, 0, false),
			 -ENOENT);
	assert_int_equal(count, 2);
	assert_int_equal(keys[1], 9);
	assert_int_equal(vals[1], 109);
	assert_int_equal(out, 9);
	in = out;
	count = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, &in, &out, keys, vals, &count, 0, false),
			 -ENOENT);
	assert_int_equal(count, 0);
	/* count 0 asks for nothing; flags are checked first */
	count = 0;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &out, keys, vals, &count, 0, false), 0);
	count = 4;
	assert_int_equal(
	    bpftime_map__lookup_batch(m, NULL, &out, keys, vals, &count, BPF_F_LOCK, false),
	    -EINVAL);
	assert_int_equal(count, 4);
	/* arrays have no lookup_and_delete batch (ENOTSUPP before the flags) */
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &out, keys, vals, &count, 1, true),
			 -MT_ENOTSUPP);
}

static void test_percpu_lookup_batch_layout(void **state)
{
	struct bpftime_map_attr a = mt_attr(PA, 4, 4, 3, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	/* room for one more than there is: the walk finds the end */
	uint32_t keys[4], out, count = 4;
	uint64_t vals[4 * NCPUS];
	uint32_t k = 1;

	/* slot 2 of element 1, from a program */
	assert_int_equal(bpftime_map__prog_update(m, &k, &(uint32_t){0xabcd}, 0, 2), 0);
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &out, keys, vals, &count, 0, false),
			 -ENOENT);
	assert_int_equal(count, 3);
	/* element i's CPU c at vals[i * NCPUS + c], 8 bytes each */
	for (uint32_t i = 0; i < 3 * NCPUS; i++)
		assert_int_equal(vals[i], i == 1 * NCPUS + 2 ? 0xabcd : 0);
}

static void test_update_and_delete_batch(void **state)
{
	struct bpftime_map_attr a = mt_attr(A, 4, 8, 4, 0);
	struct bpftime_map *m = mt_map_new(*state, &a);
	uint32_t keys[4] = {1, 2, 9, 3}, count = 4;
	uint64_t vals[4] = {11, 22, 99, 33}, got;

	/* stops at the first failure: key 9 is out of range */
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &count, 0), -E2BIG);
	assert_int_equal(count, 2);
	assert_int_equal(bpftime_map__lookup_elem(m, &keys[1], &got, 0), 0);
	assert_int_equal(got, 22);
	assert_int_equal(bpftime_map__lookup_elem(m, &keys[3], &got, 0), 0);
	assert_int_equal(got, 0);
	/* elem_flags: BPF_F_LOCK alone is meaningful, and refused */
	count = 2;
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &count, BPF_NOEXIST), -EINVAL);
	assert_int_equal(count, 2);
	count = 0;
	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &count, 0), 0);
	/* array_map_ops has no delete batch */
	count = 2;
	assert_int_equal(bpftime_map__delete_batch(m, keys, &count, 0), -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__delete_batch(m, keys, &count, BPF_F_LOCK), -MT_ENOTSUPP);
	assert_int_equal(count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_name_of_sixteen_chars_is_refused),
	    cmocka_unit_test(test_lookup_update_and_their_refusals),
	    cmocka_unit_test(test_get_next_key),
	    cmocka_unit_test(test_freeze),
	    cmocka_unit_test(test_percpu_value_layout),
	    cmocka_unit_test(test_prog_side),
	    cmocka_unit_test(test_mmapable_file_is_the_values),
	    cmocka_unit_test(test_lookup_batch),
	    cmocka_unit_test(test_percpu_lookup_batch_layout),
	    cmocka_unit_test(test_update_and_delete_batch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
