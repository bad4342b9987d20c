// SPDX-License-Identifier: MIT
/*
 * Joining a region without libc (map-join.c, for the agent):
 * bpftime_map_region__join_raw / __leave_raw, bpftime_map__handle and
 * bpftime_map_region__contains, against a region created the usual way.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"

#define RB_SIZE (4096 * 4)

static void test_join_raw_shares_maps(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(2, 0), *r2 = NULL;
	struct bpftime_map_attr ha = mt_attr(BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
	struct bpftime_map_attr ra = mt_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0);
	struct bpftime_map *h1 = mt_map_new(r1, &ha), *rb1 = mt_map_new(r1, &ra);
	struct bpftime_map *h2 = NULL, *rb2 = NULL, *m = NULL;
	uint64_t v = 0x1122334455667788ull, got = 0, *pv;
	uint32_t key = 7, key2 = 9;
	int on_stack = 0;
	void *s;

	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	assert_non_null(r2);
	/* the libc functions that only read a region work on it */
	assert_int_equal(bpftime_map_region__nr_cpus(r2), 2);
	assert_string_equal(bpftime_map_region__path(r2), bpftime_map_region__path(r1));
	assert_string_equal(r2->dir, r1->dir);

	assert_int_equal(bpftime_map__handle(r2, bpftime_map__id(h1), &h2), 0);
	assert_non_null(h2);
	assert_ptr_not_equal(h2, h1);
	assert_memory_equal(bpftime_map__attr(h2), &ha, sizeof(ha));
	assert_int_equal(bpftime_map__handle(r2, bpftime_map__id(rb1), &rb2), 0);
	assert_non_null(bpftime_map__file(rb2));
	assert_int_equal(bpftime_map__handle(r2, 4000, &m), -ENOENT);
	assert_int_equal(bpftime_map__handle(r2, 0, &m), -ENOENT);

	/* creator -> joiner */
	assert_int_equal(bpftime_map__update_elem(h1, &key, &v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(h2, &key, &got, 0), 0);
	assert_int_equal(got, v);
	/* joiner -> creator, through the program side */
	v = 42;
	assert_int_equal(bpftime_map__prog_update(h2, &key2, &v, BPF_ANY, 0), 0);
	assert_int_equal(bpftime_map__lookup_elem(h1, &key2, &got, 0), 0);
	assert_int_equal(got, 42);
	pv = bpftime_map__prog_lookup(h2, &key, 1);
	assert_non_null(pv);
	assert_int_equal(*pv, 0x1122334455667788ull);

	/* contains: region memory, ring buffer file memory, not the stack */
	assert_true(bpftime_map_region__contains(r2, (uint64_t)pv, sizeof(*pv)));
	assert_true(bpftime_map_region__contains(r2, (uint64_t)r2->base, 1));
	assert_false(bpftime_map_region__contains(r2, (uint64_t)r2->base - 1, 2));
	assert_false(bpftime_map_region__contains(r2, (uint64_t)r2->base + r2->mapped, 1));
	assert_false(bpftime_map_region__contains(r2, (uint64_t)r2->base + r2->mapped - 4, 8));
	assert_false(bpftime_map_region__contains(r2, (uint64_t)&on_stack, sizeof(on_stack)));
	assert_false(bpftime_map_region__contains(r2, UINT64_MAX - 2, 8));
	s = bpftime_map__ringbuf_reserve(rb2, 16, 0, 0);
	assert_non_null(s);
	assert_true(bpftime_map_region__contains(r2, (uint64_t)s, 16));
	assert_true(bpftime_map_region__contains(r2, (uint64_t)rb2->file_mem, rb2->file_size));
	assert_false(bpftime_map_region__contains(r2, (uint64_t)rb2->file_mem, rb2->file_size + 1));
	memset(s, 0xab, 16);
	assert_int_equal(bpftime_map__ringbuf_submit(rb2, s, 0), 0);
	/* the creator's consumer side sees the record */
	assert_int_equal(bpftime_map__ringbuf_query(rb1, BPF_RB_AVAIL_DATA), 24);
	assert_int_equal(r2->max_handle_id, bpftime_map__id(rb1));

	bpftime_map_region__leave_raw(r2);
	mt_region_destroy(r1);
}

/* Maps created after the join, in memory the region grew into since. */
static void test_join_raw_follows_growth(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(1, 0), *r2 = NULL;
	struct bpftime_map_attr big = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 4096, 4096, 0);
	struct bpftime_map *a1, *a2 = NULL;
	uint32_t key = 4095;
	uint64_t mapped;
	char v[4096], got[4096];
	void *p;

	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	mapped = r2->mapped;
	a1 = mt_map_new(r1, &big);
	memset(v, 0x5a, sizeof(v));
	assert_int_equal(bpftime_map__update_elem(a1, &key, v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__handle(r2, bpftime_map__id(a1), &a2), 0);
	assert_true(r2->mapped > mapped);
	assert_int_equal(bpftime_map__lookup_elem(a2, &key, got, 0), 0);
	assert_memory_equal(got, v, sizeof(v));
	p = bpftime_map__prog_lookup(a2, &key, 0);
	assert_non_null(p);
	assert_true(bpftime_map_region__contains(r2, (uint64_t)p, sizeof(v)));
	bpftime_map_region__leave_raw(r2);
	mt_region_destroy(r1);
}

/* The target closed our region fd and reused its number for a file of its
 * own: growth opens the region again by path and leaves that file alone. */
static void test_join_raw_survives_a_reused_fd(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(1, 0), *r2 = NULL;
	struct bpftime_map_attr big = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 4096, 4096, 0);
	struct bpftime_map *a1, *a2 = NULL;
	char tmpl[] = "/tmp/bpftime-joinfd.XXXXXX", buf[16] = "";
	uint32_t key = 4095;
	char v[4096], got[4096];
	int other;

	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	other = mkstemp(tmpl);
	assert_true(other >= 0);
	assert_int_equal(write(other, "theirs", 6), 6);
	assert_int_equal(dup2(other, r2->fd), r2->fd); /* the target's file now */
	a1 = mt_map_new(r1, &big);
	memset(v, 0x3c, sizeof(v));
	assert_int_equal(bpftime_map__update_elem(a1, &key, v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__handle(r2, bpftime_map__id(a1), &a2), 0);
	assert_int_equal(bpftime_map__lookup_elem(a2, &key, got, 0), 0);
	assert_memory_equal(got, v, sizeof(v));
	assert_int_equal(pread(other, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "theirs", 6);
	close(other);
	unlink(tmpl);
	bpftime_map_region__leave_raw(r2);
	mt_region_destroy(r1);
}

/* The agent's region fd takes no number the target would get next: a
 * target's open() after the join returns what it returned before, as in a
 * process without the agent; with RLIMIT_NOFILE too low to move it, the
 * fd stays where open() put it and the join still works. */
static void test_join_raw_keeps_low_fds_free(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(1, 0), *r2 = NULL;
	struct rlimit old, low;
	int before, after;

	before = open("/dev/null", O_RDONLY);
	assert_true(before >= 0);
	close(before);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	after = open("/dev/null", O_RDONLY);
	assert_int_equal(after, before);
	close(after);
	if (old.rlim_cur >= 256) {
		assert_true(r2->fd >= 256);
		assert_true((rlim_t)r2->fd < old.rlim_cur);
		assert_true(r2->fd < 1024);
	}
	bpftime_map_region__leave_raw(r2);

	low = old;
	low.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	r2 = NULL;
	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	assert_true(r2->fd < 100);
	bpftime_map_region__leave_raw(r2);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	mt_region_destroy(r1);
}

static void test_join_raw_errors(void **state)
{
	struct bpftime_map_region *r = (void *)1;
	char path[128], longpath[400];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/bpftime-test-none-%d/maps", (int)getpid());
	assert_int_equal(bpftime_map_region__join_raw(path, &r), -ENOENT);
	assert_null(r);

	/* a file that is not a region: too short, then long but no magic */
	snprintf(path, sizeof(path), "/dev/shm/bpftime-test-notregion-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(bpftime_map_region__join_raw(path, &r), -EINVAL);
	assert_null(r);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(bpftime_map_region__join_raw(path, &r), -EINVAL);
	close(fd);
	unlink(path);

	/* a directory of more than 200 bytes, as bpftime_map_region__open */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[250] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(bpftime_map_region__join_raw(longpath, &r), -ENAMETOOLONG);
	assert_int_equal(bpftime_map_region__join_raw(NULL, &r), -EINVAL);
	bpftime_map_region__leave_raw(NULL);
}

static void test_join_raw_checks_version(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(1, 0), *r2 = NULL;
	uint32_t version = r1->hdr->version;

	r1->hdr->version = REGION_VERSION + 1;
	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), -EINVAL);
	r1->hdr->version = version;
	r1->hdr->nr_cpus = 0;
	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), -EINVAL);
	r1->hdr->nr_cpus = 1;
	assert_int_equal(bpftime_map_region__join_raw(bpftime_map_region__path(r1), &r2), 0);
	bpftime_map_region__leave_raw(r2);
	mt_region_destroy(r1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_raw_shares_maps),
	    cmocka_unit_test(test_join_raw_follows_growth),
	    cmocka_unit_test(test_join_raw_survives_a_reused_fd),
	    cmocka_unit_test(test_join_raw_keeps_low_fds_free),
	    cmocka_unit_test(test_join_raw_errors),
	    cmocka_unit_test(test_join_raw_checks_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
