// SPDX-License-Identifier: MIT
/*
 * The maps framework: the region (create, join, header checks, growth in
 * place, exhaustion), map ids, handles, CPU slots, the robust lock and the
 * log. Map contents are ARRAY maps throughout: the framework is what is
 * under test here, test_maps_array.c covers the type.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"

static struct bpftime_map_attr array_attr(uint32_t value_size, uint32_t max_entries)
{
	return mt_attr(BPF_MAP_TYPE_ARRAY, 4, value_size, max_entries, 0);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- create and join ---- */

static void test_join_by_path_sees_maps_and_data(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(4, 0), *r2;
	struct bpftime_map_attr a = array_attr(8, 4);
	struct bpftime_map *m1 = mt_map_new(r1, &a), *m2;
	uint64_t v = 0x1122334455667788ull, got = 0;
	uint32_t key = 2;
	struct stat st;

	r2 = mt_region_join(bpftime_map_region__path(r1));
	assert_non_null(r2);
	assert_string_equal(bpftime_map_region__path(r2), bpftime_map_region__path(r1));
	assert_int_equal(bpftime_map_region__nr_cpus(r2), 4);
	m2 = bpftime_map__get(r2, bpftime_map__id(m1));
	assert_non_null(m2);
	assert_ptr_not_equal(m2, m1);
	assert_memory_equal(bpftime_map__attr(m2), &a, sizeof(a));
	assert_int_equal(bpftime_map__update_elem(m1, &key, &v, BPF_ANY), 0);
	assert_int_equal(bpftime_map__lookup_elem(m2, &key, &got, 0), 0);
	assert_int_equal(got, v);
	/* the region holds shared state only its owner may touch */
	assert_int_equal(stat(bpftime_map_region__path(r1), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	bpftime_map_region__close(r2);
	mt_region_destroy(r1);
}

static void test_join_by_session(void **state)
{
	struct bpftime_map_region_opts o = {.sz = sizeof(o), .create = true, .nr_cpus = 2};
	struct bpftime_map_region *r1, *r2;
	struct bpftime_map_attr a = array_attr(4, 1);
	char session[64], want[160], dir[128];
	struct stat st;
	uint32_t id;

	snprintf(session, sizeof(session), "mt-session-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "/dev/shm/bpftime-%s", session);
	snprintf(want, sizeof(want), "%s/maps", dir);
	o.session = session;
	r1 = bpftime_map_region__open(&o);
	assert_non_null(r1);
	assert_string_equal(bpftime_map_region__path(r1), want);
	assert_int_equal(bpftime_map__create(r1, &a, &id), 0);
	o.create = false;
	o.nr_cpus = 0;
	r2 = bpftime_map_region__open(&o);
	assert_non_null(r2);
	assert_int_equal(bpftime_map_region__nr_cpus(r2), 2);
	assert_non_null(bpftime_map__get(r2, id));
	bpftime_map_region__close(r2);
	/* unlink removes the session directory with the file */
	assert_int_equal(bpftime_map_region__unlink(r1), 0);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	bpftime_map_region__close(r1);
}

static void test_join_missing_region_is_enoent(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/shm/bpftime-test-none-%d/maps", (int)getpid());
	mt_log_capture();
	assert_null(mt_region_join(path));
	assert_int_equal(errno, ENOENT);
	assert_non_null(mt_log_find(path));
	assert_int_equal(mt_log_find(path)->level, BPFTIME_MAP_WARN);
	mt_log_release();
}

static void test_open_checks_opts(void **state)
{
	struct {
		struct bpftime_map_region_opts o;
		uint64_t tail;
	} big = {.o = {.sz = sizeof(big)}};
	struct bpftime_map_region_opts small = {
	    .sz = offsetof(struct bpftime_map_region_opts, max_size)};

	assert_null(bpftime_map_region__open(NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(bpftime_map_region__open(&small));
	assert_int_equal(errno, EINVAL);
	/* a newer caller's options we do not know about must be zero */
	big.tail = 1;
	assert_null(bpftime_map_region__open(&big.o));
	assert_int_equal(errno, E2BIG);
}

/* Write @len bytes of @fill (or a region header copy) to a fresh file. */
static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void expect_join_einval(const char *path, const char *msg)
{
	mt_log_capture();
	assert_null(mt_region_join(path));
	assert_int_equal(errno, EINVAL);
	if (!mt_log_find(msg))
		fail_msg("no log message containing \"%s\"", msg);
	mt_log_release();
}

static void test_join_refuses_a_file_that_is_not_a_region(void **state)
{
	char path[128];
	static uint8_t zeros[sizeof(struct region_hdr)];

	snprintf(path, sizeof(path), "/dev/shm/bpftime-test-notregion-%d", (int)getpid());
	write_file(path, "hello, world\n", 13);
	expect_join_einval(path, "not a bpftime map region");
	write_file(path, "", 0);
	expect_join_einval(path, "not a bpftime map region");
	write_file(path, zeros, sizeof(zeros));
	expect_join_einval(path, "not a bpftime map region");
	unlink(path);
}

/* Patch a 32-bit header field of a closed region's file. */
static void patch_u32(const char *path, size_t off, uint32_t v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)off), (ssize_t)sizeof(v));
	close(fd);
}

static void test_join_refuses_another_version(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	const char *path = bpftime_map_region__path(r);

	patch_u32(path, offsetof(struct region_hdr, version), REGION_VERSION + 1);
	expect_join_einval(path, "version");
	patch_u32(path, offsetof(struct region_hdr, version), REGION_VERSION);
	patch_u32(path, offsetof(struct region_hdr, hdr_size), sizeof(struct region_hdr) + 64);
	expect_join_einval(path, "version");
	patch_u32(path, offsetof(struct region_hdr, hdr_size), sizeof(struct region_hdr));
	patch_u32(path, offsetof(struct region_hdr, nr_cpus), 0);
	expect_join_einval(path, "corrupt");
	mt_region_destroy(r);
}

/* ---- growth ---- */

/* ~1 MiB of values: the region grows by 4 MiB steps. */
#define BIG_VALUE   4096
#define BIG_ENTRIES 240
#define GROW_MAPS   20

static uint8_t pattern(uint32_t map_id, uint32_t idx)
{
	return (uint8_t)(map_id * 7 + idx * 13 + 1);
}

/* The child of test_growth_in_place: joined before the growth, it learns
 * the new maps' ids after it, checks what the parent wrote to element 0 of
 * each and writes element 1. Exit status 0 when all held. */
static int child_after_growth(const char *path, int ready_fd, int ids_fd)
{
	struct bpftime_map_region *r = mt_region_join(path);
	static uint8_t buf[BIG_VALUE];
	uint32_t ids[GROW_MAPS], k0 = 0, k1 = 1;

	if (!r || mt_pipe_put(ready_fd, 'r'))
		return 10;
	if (read(ids_fd, ids, sizeof(ids)) != (ssize_t)sizeof(ids))
		return 11;
	for (unsigned i = 0; i < GROW_MAPS; i++) {
		struct bpftime_map *m = bpftime_map__get(r, ids[i]);

		if (!m || bpftime_map__lookup_elem(m, &k0, buf, 0))
			return 12;
		for (unsigned b = 0; b < BIG_VALUE; b++)
			if (buf[b] != pattern(ids[i], 0))
				return 13;
		memset(buf, pattern(ids[i], 1), sizeof(buf));
		if (bpftime_map__update_elem(m, &k1, buf, BPF_ANY))
			return 14;
	}
	bpftime_map_region__close(r);
	return 0;
}

static void create_big_maps(struct bpftime_map_region *r, uint32_t *ids, unsigned n)
{
	struct bpftime_map_attr a = array_attr(BIG_VALUE, BIG_ENTRIES);
	static uint8_t buf[BIG_VALUE];
	uint32_t k0 = 0;

	for (unsigned i = 0; i < n; i++) {
		struct bpftime_map *m = mt_map_new(r, &a);

		ids[i] = bpftime_map__id(m);
		memset(buf, pattern(ids[i], 0), sizeof(buf));
		assert_int_equal(bpftime_map__update_elem(m, &k0, buf, BPF_ANY), 0);
	}
}

/* What the child wrote, and the parent's values, through handle set @r. */
static void check_big_maps(struct bpftime_map_region *r, const uint32_t *ids, uint32_t idx)
{
	for (unsigned i = 0; i < GROW_MAPS; i++) {
		struct bpftime_map *m = bpftime_map__get(r, ids[i]);
		uint8_t *e;

		assert_non_null(m);
		e = bpftime_map__prog_lookup(m, &idx, 0);
		assert_non_null(e);
		assert_int_equal(e[0], pattern(ids[i], idx));
		assert_int_equal(e[BIG_VALUE - 1], pattern(ids[i], idx));
	}
}

static void test_growth_in_place(void **state)
{
	struct bpftime_map_region *r1 = mt_region_create(2, 256ull << 20), *r2;
	struct bpftime_map_attr a = array_attr(8, 4);
	struct bpftime_map *m1 = mt_map_new(r1, &a), *m2;
	const char *path = bpftime_map_region__path(r1);
	uint64_t before = file_size(path), got = 0;
	uint32_t ids[GROW_MAPS], key = 3;
	int ready[2], idp[2];
	uint64_t *p1, *p2;
	pid_t pid;
	char c;

	r2 = mt_region_join(path);
	assert_non_null(r2);
	m2 = bpftime_map__get(r2, bpftime_map__id(m1));
	p1 = bpftime_map__prog_lookup(m1, &key, 0);
	p2 = bpftime_map__prog_lookup(m2, &key, 0);
	assert_non_null(p1);
	assert_non_null(p2);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(idp, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_after_growth(path, ready[1], idp[0]));
	assert_int_equal(mt_pipe_get(ready[0], &c), 0);

	create_big_maps(r1, ids, GROW_MAPS);
	assert_true(file_size(path) >= 4 * before);
	/* addresses handed out before the growth stay valid and the same */
	assert_ptr_equal(bpftime_map__prog_lookup(m1, &key, 0), p1);
	assert_ptr_equal(bpftime_map__prog_lookup(m2, &key, 0), p2);
	assert_ptr_equal(bpftime_map__get(r2, bpftime_map__id(m1)), m2);
	*p1 = 0xfeedull;
	assert_int_equal(bpftime_map__lookup_elem(m2, &key, &got, 0), 0);
	assert_int_equal(got, 0xfeedull);
	/* the second handle set of this process sees maps created after it */
	check_big_maps(r2, ids, 0);

	assert_int_equal(write(idp[1], ids, sizeof(ids)), (ssize_t)sizeof(ids));
	assert_int_equal(mt_wait(pid), 0);
	check_big_maps(r1, ids, 1);
	check_big_maps(r2, ids, 1);
	close(ready[0]);
	close(ready[1]);
	close(idp[0]);
	close(idp[1]);
	bpftime_map_region__close(r2);
	mt_region_destroy(r1);
}

static void test_full_region_is_enomem(void **state)
{
	/* 8 MiB: the header, then room for a few 1 MiB arrays */
	struct bpftime_map_region *r = mt_region_create(2, 8ull << 20);
	struct bpftime_map_attr a = array_attr(BIG_VALUE, BIG_ENTRIES);
	uint32_t ids[16], id = 0, k = 0;
	const struct mt_log_entry *e;
	unsigned n = 0;
	int err;

	mt_log_capture();
	while (n < ARRAY_LEN(ids) && !(err = bpftime_map__create(r, &a, &ids[n])))
		n++;
	assert_int_equal(err, -ENOMEM);
	assert_true(n >= 4);
	e = mt_log_find("max_size");
	assert_non_null(e);
	assert_int_equal(e->level, BPFTIME_MAP_WARN);
	mt_log_release();
	/* small maps may still fit; the maps made before are untouched */
	for (unsigned i = 0; i < n; i++)
		assert_non_null(bpftime_map__prog_lookup(bpftime_map__get(r, ids[i]), &k, 0));
	/* a destroyed map's memory serves the next creation */
	assert_int_equal(bpftime_map__destroy(r, ids[1]), 0);
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	mt_log_capture();
	assert_int_equal(bpftime_map__create(r, &a, &id), -ENOMEM);
	mt_log_release();
	mt_region_destroy(r);
}

/* ---- map ids ---- */

static void test_ids_are_cyclic_and_reused_after_destroy(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0), *r2;
	struct bpftime_map_attr small = array_attr(8, 1), other = array_attr(24, 3);
	uint32_t id = 0, first;
	unsigned n = 0;
	int err;

	assert_int_equal(bpftime_map__create(r, &small, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(bpftime_map__create(r, &small, &id), 0);
	assert_int_equal(id, 2);
	/* as the kernel's idr_alloc_cyclic: a freed id is not the next one */
	assert_int_equal(bpftime_map__destroy(r, 2), 0);
	assert_int_equal(bpftime_map__destroy(r, 2), -ENOENT);
	assert_null(bpftime_map__get(r, 2));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(bpftime_map__create(r, &small, &id), 0);
	assert_int_equal(id, 3);
	assert_null(bpftime_map__get(r, 0));
	assert_null(bpftime_map__get(r, BPFTIME_MAP_MAX_MAPS));

	/* fill the table: 4095 small maps take a few MiB and milliseconds */
	mt_log_capture();
	while (!(err = bpftime_map__create(r, &small, &id)))
		n++;
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(n, BPFTIME_MAP_MAX_MAPS - 1 - 2);
	assert_non_null(mt_log_find("no free map id"));
	mt_log_release();

	/* a second process-level handle caches id 100, which is then reused */
	r2 = mt_region_join(bpftime_map_region__path(r));
	assert_non_null(r2);
	assert_int_equal(bpftime_map__attr(bpftime_map__get(r2, 100))->value_size, 8);
	assert_int_equal(bpftime_map__destroy(r, 100), 0);
	assert_int_equal(bpftime_map__create(r, &other, &id), 0);
	assert_int_equal(id, 100);
	assert_int_equal(bpftime_map__attr(bpftime_map__get(r2, 100))->value_size, 24);
	assert_int_equal(bpftime_map__value_size(bpftime_map__get(r2, 100)), 24);
	bpftime_map_region__close(r2);
	mt_region_destroy(r);
}

/* ---- handles ---- */

#define GET_THREADS 8
#define GET_MAPS    64

struct get_arg {
	struct bpftime_map_region *r;
	pthread_barrier_t *start;
	unsigned seed;
	struct bpftime_map *got[GET_MAPS + 1];
};

static void *get_all(void *p)
{
	struct get_arg *a = p;

	pthread_barrier_wait(a->start);
	/* each thread in its own order, so first uses collide */
	for (unsigned i = 0; i < GET_MAPS; i++) {
		uint32_t id = (i * a->seed) % GET_MAPS + 1;

		a->got[id] = bpftime_map__get(a->r, id);
	}
	return NULL;
}

static void test_concurrent_get_on_fresh_handle(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0), *fresh;
	static struct get_arg args[GET_THREADS];
	pthread_t th[GET_THREADS];
	pthread_barrier_t start;

	for (uint32_t i = 1; i <= GET_MAPS; i++) {
		struct bpftime_map_attr a = array_attr(8 * i, i);

		mt_map_new(r, &a);
	}
	fresh = mt_region_join(bpftime_map_region__path(r));
	assert_non_null(fresh);
	pthread_barrier_init(&start, NULL, GET_THREADS);
	for (unsigned t = 0; t < GET_THREADS; t++) {
		/* odd multipliers are permutations of 0..63 */
		args[t] = (struct get_arg){.r = fresh, .start = &start, .seed = 2 * t + 1};
		assert_int_equal(pthread_create(&th[t], NULL, get_all, &args[t]), 0);
	}
	for (unsigned t = 0; t < GET_THREADS; t++)
		pthread_join(th[t], NULL);
	for (uint32_t id = 1; id <= GET_MAPS; id++) {
		assert_non_null(args[0].got[id]);
		assert_int_equal(bpftime_map__id(args[0].got[id]), id);
		assert_int_equal(bpftime_map__attr(args[0].got[id])->max_entries, id);
		for (unsigned t = 1; t < GET_THREADS; t++)
			assert_ptr_equal(args[t].got[id], args[0].got[id]);
	}
	pthread_barrier_destroy(&start);
	bpftime_map_region__close(fresh);
	mt_region_destroy(r);
}

/* ---- CPU slots ---- */

#define SLOT_CPUS 4

struct slot_arg {
	struct bpftime_map_region *r;
	pthread_barrier_t *start, *done;
	uint32_t hint, slot;
	bool hold; /* keep the slot until @done */
	volatile bool got;
};

static void *take_slot(void *p)
{
	struct slot_arg *a = p;

	if (a->start)
		pthread_barrier_wait(a->start);
	a->slot = bpftime_map_region__cpu_get(a->r, a->hint, mt_tid());
	__atomic_store_n(&a->got, true, __ATOMIC_RELEASE);
	if (a->done)
		pthread_barrier_wait(a->done);
	if (!a->hold)
		bpftime_map_region__cpu_put(a->r, a->slot);
	return NULL;
}

static void test_cpu_slots_are_exclusive(void **state)
{
	struct bpftime_map_region *r = mt_region_create(SLOT_CPUS, 0);
	struct slot_arg args[SLOT_CPUS], extra = {.r = r};
	pthread_barrier_t start, done;
	pthread_t th[SLOT_CPUS], xt;
	bool seen[SLOT_CPUS] = {0};

	pthread_barrier_init(&start, NULL, SLOT_CPUS);
	pthread_barrier_init(&done, NULL, SLOT_CPUS + 1);
	for (unsigned t = 0; t < SLOT_CPUS; t++) {
		/* all want the same CPU at the same time */
		args[t] = (struct slot_arg){.r = r, .start = &start, .done = &done};
		assert_int_equal(pthread_create(&th[t], NULL, take_slot, &args[t]), 0);
	}
	for (unsigned t = 0; t < SLOT_CPUS; t++)
		while (!__atomic_load_n(&args[t].got, __ATOMIC_ACQUIRE))
			sleep_ms(1);
	/* a fifth thread waits while every slot is held */
	assert_int_equal(pthread_create(&xt, NULL, take_slot, &extra), 0);
	sleep_ms(100);
	assert_false(__atomic_load_n(&extra.got, __ATOMIC_ACQUIRE));
	pthread_barrier_wait(&done);
	for (unsigned t = 0; t < SLOT_CPUS; t++) {
		pthread_join(th[t], NULL);
		assert_true(args[t].slot < SLOT_CPUS);
		assert_false(seen[args[t].slot]);
		seen[args[t].slot] = true;
	}
	pthread_join(xt, NULL);
	assert_true(extra.got);
	assert_true(extra.slot < SLOT_CPUS);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	mt_region_destroy(r);
}

static void test_cpu_hint_is_honoured_when_free(void **state)
{
	struct bpftime_map_region *r = mt_region_create(8, 0);
	uint32_t a, b;

	assert_int_equal(bpftime_map_region__cpu_get(r, 5, 1000001), 5);
	b = bpftime_map_region__cpu_get(r, 5, 1000002);
	assert_int_not_equal(b, 5);
	assert_true(b < 8);
	bpftime_map_region__cpu_put(r, 5);
	a = bpftime_map_region__cpu_get(r, 5, 1000003);
	assert_int_equal(a, 5);
	bpftime_map_region__cpu_put(r, a);
	bpftime_map_region__cpu_put(r, b);
	mt_region_destroy(r);
}

static void test_cpu_slot_of_dead_thread_is_taken_over(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct slot_arg dead = {.r = r, .hint = 1, .hold = true}, next = {.r = r, .hint = 1};
	pthread_t th;
	uint32_t mine = bpftime_map_region__cpu_get(r, 0, mt_tid());

	assert_int_equal(mine, 0);
	/* a thread exits holding slot 1: its TID no longer exists */
	assert_int_equal(pthread_create(&th, NULL, take_slot, &dead), 0);
	pthread_join(th, NULL);
	assert_int_equal(dead.slot, 1);
	assert_int_equal(pthread_create(&th, NULL, take_slot, &next), 0);
	pthread_join(th, NULL);
	assert_int_equal(next.slot, 1);
	bpftime_map_region__cpu_put(r, mine);
	mt_region_destroy(r);
}

static void test_cpu_slot_of_killed_process_is_taken_over(void **state)
{
	struct bpftime_map_region *r = mt_region_create(1, 0);
	const char *path = bpftime_map_region__path(r);
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *cr = mt_region_join(path);

		if (!cr)
			_exit(1);
		bpftime_map_region__cpu_get(cr, 0, mt_tid());
		mt_pipe_put(ready[1], 'r');
		pause();
		_exit(2);
	}
	assert_int_equal(mt_pipe_get(ready[0], &c), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(mt_wait(pid), 128 + SIGKILL);
	assert_int_equal(bpftime_map_region__cpu_get(r, 0, mt_tid()), 0);
	bpftime_map_region__cpu_put(r, 0);
	close(ready[0]);
	close(ready[1]);
	mt_region_destroy(r);
}

/* ---- the robust lock ---- */

static uint32_t *shared_word(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* A child takes @lock, says so, then unlocks when told (or is killed). */
static pid_t lock_holder(uint32_t *lock, int ready_fd, int go_fd)
{
	pid_t pid = fork();
	char c;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (bpftime_map_lock(lock, mt_tid()) != 0 || mt_pipe_put(ready_fd, 'r') ||
		    mt_pipe_get(go_fd, &c))
			_exit(1);
		bpftime_map_unlock(lock);
		_exit(0);
	}
	return pid;
}

static void test_lock_of_killed_holder_is_taken_over(void **state)
{
	uint32_t *lock = shared_word();
	int ready[2], go[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = lock_holder(lock, ready[1], go[0]);
	assert_int_equal(mt_pipe_get(ready[0], &c), 0);
	assert_int_equal(*lock, (uint32_t)pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(mt_wait(pid), 128 + SIGKILL);
	/* 1: taken over, the data under the lock may need repair */
	assert_int_equal(bpftime_map_lock(lock, mt_tid()), 1);
	assert_int_equal(*lock, mt_tid());
	bpftime_map_unlock(lock);
	assert_int_equal(bpftime_map_lock(lock, mt_tid()), 0);
	bpftime_map_unlock(lock);
	munmap(lock, 4096);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

struct lock_arg {
	uint32_t *lock;
	volatile int ret;
	volatile bool got;
};

static void *lock_thread(void *p)
{
	struct lock_arg *a = p;

	a->ret = bpftime_map_lock(a->lock, mt_tid());
	__atomic_store_n(&a->got, true, __ATOMIC_RELEASE);
	bpftime_map_unlock(a->lock);
	return NULL;
}

static void test_lock_of_live_holder_is_waited_for(void **state)
{
	struct lock_arg arg = {.lock = shared_word(), .ret = -1};
	int ready[2], go[2];
	pthread_t th;
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = lock_holder(arg.lock, ready[1], go[0]);
	assert_int_equal(mt_pipe_get(ready[0], &c), 0);
	assert_int_equal(pthread_create(&th, NULL, lock_thread, &arg), 0);
	/* long enough for many liveness probes */
	sleep_ms(200);
	assert_false(__atomic_load_n(&arg.got, __ATOMIC_ACQUIRE));
	assert_int_equal(mt_pipe_put(go[1], 'g'), 0);
	pthread_join(th, NULL);
	assert_int_equal(mt_wait(pid), 0);
	assert_true(arg.got);
	assert_int_equal(arg.ret, 0);
	munmap(arg.lock, 4096);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* A process killed inside the allocator's critical section does not stop
 * the others from creating maps. */
static void test_allocator_survives_a_killed_holder(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	const char *path = bpftime_map_region__path(r);
	struct bpftime_map_attr a = array_attr(8, 8);
	int ready[2];
	uint32_t id;
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *cr = mt_region_join(path);

		if (!cr || bpftime_map_lock(&cr->hdr->alloc_lock, mt_tid()))
			_exit(1);
		mt_pipe_put(ready[1], 'r');
		pause();
		_exit(2);
	}
	assert_int_equal(mt_pipe_get(ready[0], &c), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(mt_wait(pid), 128 + SIGKILL);
	assert_int_equal(bpftime_map__create(r, &a, &id), 0);
	assert_non_null(bpftime_map__get(r, id));
	close(ready[0]);
	close(ready[1]);
	mt_region_destroy(r);
}

/* ---- log ---- */

static void test_log_levels_and_errno(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map_attr bad = array_attr(0, 4);
	const struct mt_log_entry *e;
	uint32_t id;

	unsetenv("BPFTIME_LOG_LEVEL");
	mt_log_capture();
	/* a refused creation is INFO: not shown by default */
	errno = 777;
	assert_int_equal(bpftime_map__create(r, &bad, &id), -EINVAL);
	assert_int_equal(errno, 777);
	assert_int_equal(mt_log_count(), 0);

	setenv("BPFTIME_LOG_LEVEL", "info", 1);
	assert_int_equal(bpftime_map__create(r, &bad, &id), -EINVAL);
	/* the sink set errno to EIO; the module put it back */
	assert_int_equal(errno, 777);
	e = mt_log_find("value_size 0");
	assert_non_null(e);
	assert_int_equal(e->level, BPFTIME_MAP_INFO);
	assert_non_null(strstr(e->msg, "refused"));
	unsetenv("BPFTIME_LOG_LEVEL");

	/* WARN always arrives, and the errno the caller is told survives */
	assert_null(mt_region_join("/dev/shm/bpftime-test-nowhere/maps"));
	assert_int_equal(errno, ENOENT);
	e = mt_log_find("bpftime-test-nowhere");
	assert_non_null(e);
	assert_int_equal(e->level, BPFTIME_MAP_WARN);
	/* set_log hands back the sink it replaces; NULL restores stderr */
	assert_ptr_not_equal(bpftime_map_set_log(NULL), NULL);
	mt_region_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_by_path_sees_maps_and_data),
	    cmocka_unit_test(test_join_by_session),
	    cmocka_unit_test(test_join_missing_region_is_enoent),
	    cmocka_unit_test(test_open_checks_opts),
	    cmocka_unit_test(test_join_refuses_a_file_that_is_not_a_region),
	    cmocka_unit_test(test_join_refuses_another_version),
	    cmocka_unit_test(test_growth_in_place),
	    cmocka_unit_test(test_full_region_is_enomem),
	    cmocka_unit_test(test_ids_are_cyclic_and_reused_after_destroy),
	    cmocka_unit_test(test_concurrent_get_on_fresh_handle),
	    cmocka_unit_test(test_cpu_slots_are_exclusive),
	    cmocka_unit_test(test_cpu_hint_is_honoured_when_free),
	    cmocka_unit_test(test_cpu_slot_of_dead_thread_is_taken_over),
	    cmocka_unit_test(test_cpu_slot_of_killed_process_is_taken_over),
	    cmocka_unit_test(test_lock_of_killed_holder_is_taken_over),
	    cmocka_unit_test(test_lock_of_live_holder_is_waited_for),
	    cmocka_unit_test(test_allocator_survives_a_killed_holder),
	    cmocka_unit_test(test_log_levels_and_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
