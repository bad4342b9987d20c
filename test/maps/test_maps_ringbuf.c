// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_RINGBUF: creation checks and helper answers as Linux 6.18
 * gives them (probed as root; the expected values below are the kernel's,
 * and the creation table is compared with the running kernel when it can),
 * the file layout a tool mmaps, wake-up flags, records that wrap at every
 * offset, many producer threads in several processes, producers killed
 * mid-record or holding the lock, and libbpf's ring_buffer reading records
 * that another process produced.
 *
 * The consumer here reads the map's file as a tool does: consumer page RW at
 * offset 0, [PAGE_SIZE, PAGE_SIZE + 2 * size) RO from PAGE_SIZE.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"
#ifdef BPFTIME_HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps-test-libbpf.h"
#endif

#define PAGE      4096u
#define PG_OFF0   3u /* pg_off of a header in data page 0, as 6.18 writes it */
#define BUSY      BPF_RINGBUF_BUSY_BIT
#define DISCARD   BPF_RINGBUF_DISCARD_BIT
#define ENOTSUPP_ 524
/* struct rb_state (map-ringbuf.c): where a test looks at the wake-up word */
#define ST_LOCK     0
#define ST_PROD     8
#define ST_WAKE_SEQ 64
#define ST_WAITERS  68

static uint64_t rec_len(uint64_t len)
{
	return (len + 8 + 7) & ~7ull;
}

static struct bpftime_map *rb_new(struct bpftime_map_region *r, uint32_t size)
{
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, size, 0);

	return mt_map_new(r, &a);
}

static uint32_t *state_u32(struct bpftime_map *m, unsigned off)
{
	return (uint32_t *)(m->data + off);
}

/* ---- a tool's view of the file ---- */

struct view {
	uint64_t *cons;       /* consumer page, RW */
	const uint64_t *prod; /* producer page */
	const uint8_t *data;  /* 2 * size: data, then what the second mapping shows */
	uint64_t size;
	size_t prod_len;
};

static void view_open(struct view *v, struct bpftime_map *m)
{
	int fd = open(bpftime_map__file(m), O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	v->size = bpftime_map__attr(m)->max_entries;
	v->prod_len = PAGE + 2 * v->size;
	v->cons = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	v->prod = mmap(NULL, v->prod_len, PROT_READ, MAP_SHARED, fd, PAGE);
	close(fd);
	assert_true(v->cons != MAP_FAILED && v->prod != MAP_FAILED);
	v->data = (const uint8_t *)v->prod + PAGE;
}

static void view_close(struct view *v)
{
	munmap(v->cons, PAGE);
	munmap((void *)v->prod, v->prod_len);
}

static uint64_t hdr_at(const struct view *v, uint64_t pos)
{
	return __atomic_load_n((const uint64_t *)(v->data + (pos & (v->size - 1))),
			       __ATOMIC_ACQUIRE);
}

/*
 * Read the record at consumer_pos as libbpf does (sample through the second
 * copy), check that reading it by hand with wrap-around gives the same
 * bytes, and advance. Returns the sample length, -1 when there is nothing
 * to read (empty, or busy), -2 for a discarded record (skipped).
 */
static int64_t view_read(struct view *v, void *buf, size_t room)
{
	uint64_t cons = __atomic_load_n(v->cons, __ATOMIC_ACQUIRE), mask = v->size - 1;
	uint64_t prod = __atomic_load_n(&v->prod[0], __ATOMIC_ACQUIRE);
	uint32_t len, flags;
	uint64_t off, first;

	if (cons == prod)
		return -1;
	len = (uint32_t)hdr_at(v, cons);
	if (len & BUSY)
		return -1;
	flags = len & (BUSY | DISCARD);
	len &= ~(BUSY | DISCARD);
	off = (cons & mask) + 8;
	if (!flags) {
		uint8_t *tmp = malloc(len + 1);

		assert_true(len <= room);
		memcpy(buf, v->data + off, len); /* libbpf: contiguous, via the mirror */
		first = off < v->size ? v->size - off : 0;
		if (first > len)
			first = len;
		memcpy(tmp, v->data + off, first); /* by hand: wrap at the end */
		memcpy(tmp + first, v->data + ((off + first) & mask), len - first);
		assert_memory_equal(tmp, buf, len);
		free(tmp);
	}
	__atomic_store_n(v->cons, cons + rec_len(len), __ATOMIC_RELEASE);
	return flags ? -2 : (int64_t)len;
}

/* ---- creation and the syscall side ---- */

struct create_case {
	const char *name;
	uint32_t key_size, value_size, max_entries, flags;
	int err; /* Linux 6.18 */
};

static const struct create_case create_cases[] = {
    {"4096", 0, 0, 4096, 0, 0},
    {"8192", 0, 0, 8192, 0, 0},
    {"max_entries 0", 0, 0, 0, 0, -EINVAL},
    {"below a page", 0, 0, 2048, 0, -EINVAL},
    {"not a power of 2", 0, 0, 12288, 0, -EINVAL},
    {"not page aligned", 0, 0, 4097, 0, -EINVAL},
    {"key_size 4", 4, 0, 4096, 0, -EINVAL},
    {"value_size 4", 0, 4, 4096, 0, -EINVAL},
    {"BPF_F_NUMA_NODE", 0, 0, 4096, BPF_F_NUMA_NODE, 0},
    {"BPF_F_RDONLY", 0, 0, 4096, BPF_F_RDONLY, -EINVAL},
    {"BPF_F_WRONLY", 0, 0, 4096, BPF_F_WRONLY, -EINVAL},
    {"BPF_F_RDONLY_PROG", 0, 0, 4096, BPF_F_RDONLY_PROG, -EINVAL},
    {"BPF_F_MMAPABLE", 0, 0, 4096, BPF_F_MMAPABLE, -EINVAL},
    {"BPF_F_NO_PREALLOC", 0, 0, 4096, BPF_F_NO_PREALLOC, -EINVAL},
    {"BPF_F_INNER_MAP", 0, 0, 4096, BPF_F_INNER_MAP, -EINVAL},
    {"key_size 4, max_entries 0", 4, 0, 0, 0, -EINVAL},
};

/* The running kernel's answer, or 1 when it cannot be asked. */
static int kernel_create(const struct create_case *c)
{
#ifdef BPFTIME_HAVE_LIBBPF
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = c->flags);
	int fd;

	if (geteuid() != 0)
		return 1;
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, c->key_size, c->value_size, c->max_entries,
			    &o);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -errno;
#else
	return 1;
#endif
}

static void create_checks_match_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	bool kernel = kernel_create(&create_cases[0]) == 0;

	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_RINGBUF, c->key_size,
						    c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err = bpftime_map__create(r, &a, &id);

		if (err != c->err)
			fail_msg("%s: %d, expected %d", c->name, err, c->err);
		if (kernel && kernel_create(c) != c->err)
			fail_msg("%s: the kernel says %d, the table %d", c->name, kernel_create(c),
				 c->err);
		if (!err)
			bpftime_map__destroy(r, id);
	}
	if (!kernel)
		print_message("(kernel not asked: needs root and eBPF)\n");
	mt_region_destroy(r);
}

/* Probed: lookup, update, delete, next key, lookup-and-delete are -ENOTSUPP;
 * freeze works. The file is 2 pages + twice the data. */
static void syscall_side_is_enotsupp(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, 8192);
	uint8_t v[8];

	assert_int_equal(bpftime_map__lookup_elem(m, NULL, v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__update_elem(m, NULL, v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__delete_elem(m, NULL), -ENOTSUPP_);
	assert_int_equal(bpftime_map__get_next_key(m, NULL, v), -ENOTSUPP_);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, NULL, v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__freeze(m), 0);
	assert_int_equal(m->file_size, 2 * PAGE + 2 * 8192);
	assert_non_null(bpftime_map__file(m));
	mt_region_destroy(r);
}

/* ---- helpers and layout: the probe sequence, answer for answer ---- */

/* The rest of the probe: from there, 102 records of 40 bytes fit, then
 * -EAGAIN; a consumer_pos far ahead is no room either. */
static void fills_as_the_kernel(struct bpftime_map_region *r, struct bpftime_map *m, struct view *v)
{
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
	struct bpftime_map *arr = mt_map_new(r, &a);
	uint8_t src[32] = {0};
	long err;
	int n = 0;

	*v->cons = v->prod[0];
	while ((err = bpftime_map__ringbuf_output(m, src, 32, 0, 0)) == 0)
		n++;
	assert_int_equal(err, -EAGAIN);
	assert_int_equal(n, 102);
	assert_int_equal(v->prod[0], 4192);
	assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_AVAIL_DATA), 4080);
	*v->cons = 1ull << 40;
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 32, 0, 0), -EAGAIN);
	/* not a ring buffer */
	assert_null(bpftime_map__ringbuf_reserve(arr, 8, 0, 0));
	assert_int_equal(bpftime_map__ringbuf_output(arr, src, 8, 0, 0), -EINVAL);
	assert_int_equal(bpftime_map__ringbuf_ready(arr), -EINVAL);
}

static void helpers_and_layout_match_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	uint8_t src[32] = {0x44}, *s;
	struct view v;
	void *dp;

	view_open(&v, m);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 5, 0, 0), 0);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 32, 3, 0), 0);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 4, 0), -EINVAL);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 0, 0, 0), 0);
	assert_null(bpftime_map__ringbuf_reserve(m, 16, 1, 0));
	s = bpftime_map__ringbuf_reserve(m, 16, 0, 0);
	assert_non_null(s);
	memset(s, 0, 16);
	assert_int_equal(bpftime_map__ringbuf_submit(m, s, 0xff), 0);
	/* a record as large as the ring never fits (prod + len - cons > mask) */
	assert_null(bpftime_map__ringbuf_reserve(m, PAGE - 8, 0, 0));
	assert_null(bpftime_map__ringbuf_reserve(m, PAGE - 7, 0, 0));
	assert_int_equal(bpftime_map__ringbuf_reserve_dynptr(m, 16, 1, 0, &dp), -EINVAL);
	assert_int_equal(bpftime_map__ringbuf_reserve_dynptr(m, 1 << 24, 0, 0, &dp), -E2BIG);
	assert_int_equal(bpftime_map__ringbuf_reserve_dynptr(m, (1 << 24) - 1, 0, 0, &dp), -EINVAL);
	assert_null(dp);
	assert_int_equal(bpftime_map__ringbuf_reserve_dynptr(m, PAGE - 7, 0, 0, &dp), -EINVAL);
	assert_int_equal(bpftime_map__ringbuf_reserve_dynptr(m, 16, 0, 0, &dp), 0);
	assert_int_equal(bpftime_map__ringbuf_discard(m, dp, 0), 0);
	assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_AVAIL_DATA), 112);
	assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_RING_SIZE), PAGE);
	assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_CONS_POS), 0);
	assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_PROD_POS), 112);
	assert_int_equal(bpftime_map__ringbuf_query(m, 4), 0);
	assert_int_equal(bpftime_map__ringbuf_query(m, UINT64_MAX), 0);
	/* what 6.18 shows in the producer page and the headers */
	assert_int_equal(v.prod[0], 112);
	assert_int_equal(v.prod[1], 88); /* pending_pos */
	assert_int_equal(hdr_at(&v, 0), (uint64_t)PG_OFF0 << 32 | 5);
	assert_int_equal(hdr_at(&v, 16), (uint64_t)PG_OFF0 << 32 | 32);
	assert_int_equal(hdr_at(&v, 56), (uint64_t)PG_OFF0 << 32 | 0);
	assert_int_equal(hdr_at(&v, 64), (uint64_t)PG_OFF0 << 32 | 16);
	assert_int_equal(hdr_at(&v, 88), (uint64_t)PG_OFF0 << 32 | DISCARD | 16);
	assert_int_equal(v.data[8], 0x44);
	/* not a sample of this ring */
	assert_int_equal(bpftime_map__ringbuf_submit(m, src, 0), -EINVAL);
	assert_int_equal(bpftime_map__ringbuf_submit(m, (void *)(v.data + 8), 0), -EINVAL);
	assert_false(bpftime_map__ringbuf_owns(m, src));
	fills_as_the_kernel(r, m, &v);
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- wake-ups ---- */

static uint32_t wakes(struct bpftime_map *m)
{
	return __atomic_load_n(state_u32(m, ST_WAKE_SEQ), __ATOMIC_ACQUIRE);
}

/* bpf_ringbuf_commit(): wake when the consumer caught up with the record,
 * unless BPF_RB_NO_WAKEUP; always with BPF_RB_FORCE_WAKEUP. Wake-ups are
 * counted whether or not a consumer waits (only the futex call is skipped
 * then): bpftime_map__ringbuf_wait_wakeup sees those it was not waiting for. */
static void wakeup_flags_follow_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	uint8_t src[8] = {0};
	struct view v;
	uint32_t w, seen;

	view_open(&v, m);
	w = wakes(m);
	seen = bpftime_map__ringbuf_wakeups(m);
	assert_int_equal(seen, w);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, BPF_RB_FORCE_WAKEUP, 0), 0);
	assert_int_equal(wakes(m), w + 1); /* nobody waits: counted all the same */
	*state_u32(m, ST_WAITERS) = 1;     /* a consumer waits */
	*v.cons = v.prod[0];
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
	assert_int_equal(wakes(m), w + 2); /* caught up: woken */
	*v.cons = v.prod[0];
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, BPF_RB_NO_WAKEUP, 0), 0);
	assert_int_equal(wakes(m), w + 2);
	/* consumer behind: the record it waits for is not this one */
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
	assert_int_equal(wakes(m), w + 2);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, BPF_RB_FORCE_WAKEUP, 0), 0);
	assert_int_equal(wakes(m), w + 3);
	/* a discard wakes as a submit does */
	*v.cons = v.prod[0];
	void *s = bpftime_map__ringbuf_reserve(m, 8, 0, 0);
	assert_int_equal(bpftime_map__ringbuf_discard(m, s, 0), 0);
	assert_int_equal(wakes(m), w + 4);
	*state_u32(m, ST_WAITERS) = 0;
	/* the four wake-ups made while this one was not waiting: one answer */
	assert_int_equal(bpftime_map__ringbuf_wait_wakeup(m, &seen, 0), 1);
	assert_int_equal(seen, w + 4);
	assert_int_equal(bpftime_map__ringbuf_wait_wakeup(m, &seen, 0), 0);
	assert_int_equal(bpftime_map__ringbuf_wakeups(NULL), 0);
	assert_int_equal(bpftime_map__ringbuf_wait_wakeup(NULL, &seen, 0), -EINVAL);
	view_close(&v);
	mt_region_destroy(r);
}

struct waiter {
	struct bpftime_map *m;
	int timeout, ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = bpftime_map__ringbuf_wait(w->m, w->timeout);
	return NULL;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_blocks_until_a_record(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	struct waiter w = {.m = m, .timeout = 10000};
	uint8_t src[8] = {1};
	pthread_t t;
	int64_t t0 = ms_now();

	/* nothing: times out with 0 */
	assert_int_equal(bpftime_map__ringbuf_wait(m, 30), 0);
	assert_true(ms_now() - t0 >= 30);
	assert_int_equal(bpftime_map__ringbuf_ready(m), 0);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	while (!__atomic_load_n(state_u32(m, ST_WAITERS), __ATOMIC_ACQUIRE))
		usleep(100);
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, 1);
	assert_int_equal(bpftime_map__ringbuf_ready(m), 1);
	assert_int_equal(bpftime_map__ringbuf_wait(m, 0), 1);
	/* a reserved, not yet submitted record is not ready */
	{
		struct view v;
		void *s;

		view_open(&v, m);
		*v.cons = v.prod[0];
		s = bpftime_map__ringbuf_reserve(m, 8, 0, 0);
		assert_int_equal(bpftime_map__ringbuf_ready(m), 0);
		assert_int_equal(bpftime_map__ringbuf_query(m, BPF_RB_AVAIL_DATA), 16);
		bpftime_map__ringbuf_submit(m, s, 0);
		assert_int_equal(bpftime_map__ringbuf_ready(m), 1);
		view_close(&v);
	}
	mt_region_destroy(r);
}

struct wakeup_waiter {
	struct bpftime_map *m;
	uint32_t seen;
	int ret;
	int64_t woken_ms;
};

static void *wait_wakeup_thread(void *arg)
{
	struct wakeup_waiter *w = arg;

	w->ret = bpftime_map__ringbuf_wait_wakeup(w->m, &w->seen, 10000);
	w->woken_ms = ms_now();
	return NULL;
}

/* The edge-triggered wait: a timeout with no wake-up, even with records
 * unread; woken (within a few ms) by a submit the consumer caught up to,
 * not by one it has not. */
static void wait_wakeup_is_woken_by_a_submit(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	struct wakeup_waiter w = {.m = m};
	uint8_t src[8] = {1};
	int64_t t0 = ms_now(), sent;
	struct view v;
	pthread_t t;

	view_open(&v, m);
	/* unread, and woken for before the wait began: not an edge of its */
	assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
	w.seen = bpftime_map__ringbuf_wakeups(m);
	assert_int_equal(bpftime_map__ringbuf_wait_wakeup(m, &w.seen, 30), 0);
	assert_true(ms_now() - t0 >= 30);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(pthread_create(&t, NULL, wait_wakeup_thread, &w), 0);
		while (!__atomic_load_n(state_u32(m, ST_WAITERS), __ATOMIC_ACQUIRE))
			usleep(100);
		usleep(1000); /* in the futex by now, most likely */
		/* the consumer is behind this record: no wake-up */
		if (i == 0) {
			assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
			assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
			usleep(20000);
			assert_int_equal(__atomic_load_n(&w.ret, __ATOMIC_ACQUIRE), 0);
			*v.cons = v.prod[0]; /* caught up */
		}
		sent = ms_now();
		assert_int_equal(bpftime_map__ringbuf_output(m, src, 8, 0, 0), 0);
		pthread_join(t, NULL);
		assert_int_equal(w.ret, 1);
		/* generous for a loaded machine; ~0.1 ms when idle */
		assert_true(w.woken_ms - sent < 200);
		*v.cons = v.prod[0];
		w.ret = 0;
	}
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- wrap-around ---- */

/* Move the producer to @pos (mod size) with records the consumer eats. */
static void move_to(struct bpftime_map *m, struct view *v, uint64_t pos)
{
	uint64_t mask = v->size - 1, d = (pos - v->prod[0]) & mask;
	uint8_t zero[PAGE] = {0};

	if (d == 8)
		d += v->size;
	while (d) {
		uint64_t f = d > 2048 ? 2048 : d;

		if (d - f == 8)
			f -= 16;
		assert_int_equal(bpftime_map__ringbuf_output(m, zero, f - 8, 0, 0), 0);
		assert_int_equal(view_read(v, zero, sizeof(zero)), (int64_t)(f - 8));
		d -= f;
	}
	assert_int_equal(v->prod[0] & mask, pos & mask);
}

static void fill(uint8_t *p, uint64_t n, uint64_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + 1);
}

/* A record whose header sits at every 8-byte offset, crossing the end by
 * 1, 7 and 100 bytes: written contiguously, read back through the mirror
 * (libbpf) and by hand with wrap-around (view_read checks both). */
static void records_wrap_at_every_offset(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	static uint8_t want[PAGE], got[PAGE];
	static const unsigned over[] = {1, 7, 100};
	struct view v;
	unsigned cases = 0;

	view_open(&v, m);
	for (uint64_t h = 0; h < PAGE; h += 8) {
		for (size_t k = 0; k < ARRAY_LEN(over); k++) {
			uint64_t s = PAGE - h - 8 + over[k];
			uint8_t *p;

			if (rec_len(s) > PAGE - 8)
				continue;
			move_to(m, &v, h);
			fill(want, s, h + k);
			if (k == 1) {
				assert_int_equal(bpftime_map__ringbuf_output(m, want, s, 0, 0), 0);
			} else {
				p = bpftime_map__ringbuf_reserve(m, s, 0, 0);
				assert_ptr_equal(p, m->file_mem + 2 * PAGE + h + 8);
				assert_true(bpftime_map__ringbuf_owns(m, p));
				memcpy(p, want, s);
				assert_int_equal(bpftime_map__ringbuf_submit(m, p, 0), 0);
			}
			assert_int_equal(hdr_at(&v, h), (uint64_t)(PG_OFF0 + h / PAGE) << 32 | s);
			assert_int_equal(view_read(&v, got, sizeof(got)), (int64_t)s);
			assert_memory_equal(got, want, s);
			cases++;
		}
	}
	assert_true(cases > 1000);
	view_close(&v);
	mt_region_destroy(r);
}

/* pg_off of records in later data pages, as the kernel computes it */
static void pg_off_counts_pages(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, 4 * PAGE);
	uint8_t buf[PAGE] = {0};
	struct view v;

	view_open(&v, m);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(bpftime_map__ringbuf_output(m, buf, 2000, 0, 0), 0);
		assert_int_equal(view_read(&v, buf, sizeof(buf)), 2000);
	}
	for (uint64_t pos = 0; pos < 7 * rec_len(2000); pos += rec_len(2000))
		assert_int_equal(hdr_at(&v, pos) >> 32, PG_OFF0 + pos / PAGE);
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- many producers ---- */

#define MP_PROCS   3
#define MP_THREADS 4
#define MP_RECORDS 3000

struct mp_rec {
	uint16_t proc, thread;
	uint32_t seq;
};

struct mp_thread {
	struct bpftime_map *m;
	uint16_t proc, thread;
	int bad;
};

static uint32_t mp_len(uint32_t seq, uint16_t thread)
{
	return sizeof(struct mp_rec) + (seq * 7 + thread * 13) % 150;
}

/* Commit record @seq: half by output, half by reserve + submit, with a
 * discarded record now and then that the consumer must never see. */
static void mp_produce(struct mp_thread *t, uint32_t seq, uint32_t tid)
{
	uint8_t buf[256];
	struct mp_rec h = {t->proc, t->thread, seq};
	uint32_t len = mp_len(seq, t->thread);
	bool discarded = false;
	uint8_t *s;

	memcpy(buf, &h, sizeof(h));
	fill(buf + sizeof(h), len - sizeof(h), seq ^ t->thread);
	for (;;) {
		if (seq % 2 == 0) {
			if (bpftime_map__ringbuf_output(
				t->m, buf, len, seq % 8 ? 0 : BPF_RB_FORCE_WAKEUP, tid) == 0)
				return;
		} else if ((s = bpftime_map__ringbuf_reserve(t->m, len, 0, tid))) {
			memcpy(s, buf, len);
			if (seq % 5 == 1 && !discarded) { /* discard one, then commit */
				bpftime_map__ringbuf_discard(t->m, s, 0);
				discarded = true;
				continue;
			}
			bpftime_map__ringbuf_submit(t->m, s, 0);
			return;
		}
		sched_yield();
	}
}

static void *mp_thread_main(void *arg)
{
	struct mp_thread *t = arg;
	uint32_t tid = (uint32_t)gettid();

	for (uint32_t seq = 0; seq < MP_RECORDS; seq++)
		mp_produce(t, seq, tid);
	return NULL;
}

/* A producer process: joins the region by path, threads produce. */
static int mp_child(const char *path, uint32_t id, uint16_t proc)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct mp_thread t[MP_THREADS];
	pthread_t th[MP_THREADS];
	struct bpftime_map *m;

	if (!r || !(m = bpftime_map__get(r, id)))
		return 2;
	for (uint16_t i = 0; i < MP_THREADS; i++) {
		t[i] = (struct mp_thread){m, proc, i, 0};
		if (pthread_create(&th[i], NULL, mp_thread_main, &t[i]))
			return 3;
	}
	for (int i = 0; i < MP_THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static void check_mp_record(const uint8_t *buf, int64_t len, uint32_t next[][MP_THREADS])
{
	struct mp_rec h;
	uint8_t want[256];

	assert_true(len >= (int64_t)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_true(h.proc < MP_PROCS && h.thread < MP_THREADS);
	if (h.seq != next[h.proc][h.thread])
		fail_msg("proc %u thread %u: seq %u, expected %u", h.proc, h.thread, h.seq,
			 next[h.proc][h.thread]);
	assert_int_equal(len, mp_len(h.seq, h.thread));
	fill(want, len - sizeof(h), h.seq ^ h.thread);
	assert_memory_equal(buf + sizeof(h), want, len - sizeof(h));
	next[h.proc][h.thread]++;
}

static void many_producers_one_consumer(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, 4 * PAGE);
	uint32_t next[MP_PROCS][MP_THREADS] = {{0}};
	uint64_t total = 0, discarded = 0;
	int64_t deadline = ms_now() + 60000;
	pid_t pid[MP_PROCS];
	uint8_t buf[256];
	struct view v;

	view_open(&v, m);
	for (uint16_t p = 0; p < MP_PROCS; p++) {
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] == 0)
			_exit(mp_child(bpftime_map_region__path(r), bpftime_map__id(m), p));
	}
	while (total < (uint64_t)MP_PROCS * MP_THREADS * MP_RECORDS) {
		int64_t len = view_read(&v, buf, sizeof(buf));

		if (len == -2) {
			discarded++;
		} else if (len >= 0) {
			check_mp_record(buf, len, next);
			total++;
		} else {
			assert_true(ms_now() < deadline);
			bpftime_map__ringbuf_wait(m, 100);
		}
	}
	for (int p = 0; p < MP_PROCS; p++)
		assert_int_equal(mt_wait(pid[p]), 0);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), -1);
	assert_true(discarded > 0);
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- producers that die ---- */

/* A child that reserves @size bytes, writes half, tells us, and waits to
 * be killed. Returns its pid, once the record is reserved. */
static pid_t reserve_and_hang(struct bpftime_map_region *r, struct bpftime_map *m, uint64_t size)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *cr = mt_region_join(bpftime_map_region__path(r));
		struct bpftime_map *cm = cr ? bpftime_map__get(cr, bpftime_map__id(m)) : NULL;
		uint8_t *s = cm ? bpftime_map__ringbuf_reserve(cm, size, 0, 0) : NULL;

		if (!s)
			_exit(2);
		memset(s, 0xee, size / 2);
		mt_pipe_put(p[1], 'r');
		for (;;)
			pause();
	}
	assert_int_equal(mt_pipe_get(p[0], &c), 0);
	close(p[0]);
	close(p[1]);
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(mt_wait(pid), 128 + SIGKILL);
}

/* The consumer side finds the dead producer's busy record at consumer_pos
 * and discards it; the records behind it flow again. */
static void producer_killed_mid_record(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	uint8_t after[16] = "after", buf[64];
	struct waiter w = {.m = m, .timeout = 10000};
	struct view v;
	pthread_t t;
	pid_t pid;

	view_open(&v, m);
	pid = reserve_and_hang(r, m, 100);
	assert_int_equal(bpftime_map__ringbuf_output(m, after, sizeof(after), 0, 0), 0);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), -1); /* busy: stuck, as the kernel */
	assert_int_equal(bpftime_map__ringbuf_ready(m), 0);    /* its producer is alive */
	/* a consumer blocked in wait notices the death within a slice */
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	kill_and_reap(pid);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, 1);
	assert_int_equal(hdr_at(&v, 0), (uint64_t)PG_OFF0 << 32 | DISCARD | 100);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), -2);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), (int64_t)sizeof(after));
	assert_memory_equal(buf, after, sizeof(after));
	view_close(&v);
	mt_region_destroy(r);
}

/* A producer that finds the ring full because of a dead producer's record
 * discards it itself; once the consumer skips it there is room. */
static void producer_killed_ring_full(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	static uint8_t big[2000], buf[4096];
	struct view v;

	view_open(&v, m);
	kill_and_reap(reserve_and_hang(r, m, 3000));
	assert_int_equal(hdr_at(&v, 0) & BUSY, BUSY);
	assert_int_equal(bpftime_map__ringbuf_output(m, big, sizeof(big), 0, 0), -EAGAIN);
	assert_int_equal(hdr_at(&v, 0), (uint64_t)PG_OFF0 << 32 | DISCARD | 3000);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), -2);
	assert_int_equal(bpftime_map__ringbuf_output(m, big, sizeof(big), 0, 0), 0);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), (int64_t)sizeof(big));
	view_close(&v);
	mt_region_destroy(r);
}

/* A TID that no longer exists. */
static uint32_t dead_tid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_int_equal(mt_wait(pid), 0);
	return (uint32_t)pid;
}

/* A producer killed holding the lock, after it moved producer_pos in the
 * region but before the file: the next producer takes the lock over,
 * republishes the position, and the dead record is recovered. */
static void producer_killed_holding_the_lock(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, PAGE);
	uint8_t mine[24] = "mine", buf[64];
	uint32_t dead = dead_tid();
	uint64_t *hdr = (uint64_t *)(m->file_mem + 2 * PAGE);
	struct view v;

	view_open(&v, m);
	*hdr = (uint64_t)dead << 32 | BUSY | 16;
	*(uint64_t *)(m->data + ST_PROD) = 24;
	*state_u32(m, ST_LOCK) = dead;
	assert_int_equal(bpftime_map__ringbuf_output(m, mine, sizeof(mine), 0, 0), 0);
	assert_int_equal(v.prod[0], 24 + rec_len(sizeof(mine)));
	assert_int_equal(*state_u32(m, ST_LOCK), 0);
	assert_int_equal(bpftime_map__ringbuf_ready(m), 1);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), -2);
	assert_int_equal(view_read(&v, buf, sizeof(buf)), (int64_t)sizeof(mine));
	assert_memory_equal(buf, mine, sizeof(mine));
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- libbpf's ring_buffer as the consumer ---- */

#ifdef BPFTIME_HAVE_LIBBPF
#define LB_RECORDS 3000

struct lb_ctx {
	uint32_t next;
	int bad;
};

static int lb_len(uint32_t seq)
{
	return 4 + (int)(seq * 37 % 700);
}

static int lb_sample(void *ctx, void *data, size_t size)
{
	struct lb_ctx *c = ctx;
	uint8_t want[800];
	uint32_t seq;

	memcpy(&seq, data, 4);
	fill(want, size - 4, seq);
	if (seq != c->next || (int)size != lb_len(seq) ||
	    memcmp(want, (uint8_t *)data + 4, size - 4))
		c->bad++;
	c->next = seq + 1;
	return 0;
}

/* Another process: waits for 'g', then produces LB_RECORDS records of
 * 4..703 bytes (wrapping often in 8 KiB) and some discarded ones. */
static int lb_child(const char *path, uint32_t id, int go)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct bpftime_map *m = r ? bpftime_map__get(r, id) : NULL;
	uint32_t tid = (uint32_t)gettid();
	uint8_t buf[800];
	char c;

	if (!m || mt_pipe_get(go, &c))
		return 2;
	for (uint32_t seq = 0; seq < LB_RECORDS; seq++) {
		int len = lb_len(seq);
		void *s;

		memcpy(buf, &seq, 4);
		fill(buf + 4, len - 4, seq);
		while (!(s = bpftime_map__ringbuf_reserve(m, len, 0, tid)))
			sched_yield();
		memcpy(s, buf, len);
		bpftime_map__ringbuf_submit(m, s, seq % 3 ? 0 : BPF_RB_NO_WAKEUP);
		if (seq % 10 == 0 && (s = bpftime_map__ringbuf_reserve(m, 16, 0, tid)))
			bpftime_map__ringbuf_discard(m, s, 0);
	}
	return 0;
}

static void libbpf_ring_buffer_reads_our_records(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *m = rb_new(r, 2 * PAGE);
	struct lb_ctx ctx = {0};
	int64_t deadline = ms_now() + 30000;
	struct ring_buffer *rb;
	int go[2], fd;
	pid_t pid;

	assert_int_equal(pipe(go), 0);
	pid = fork(); /* before libbpf starts threads */
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(lb_child(bpftime_map_region__path(r), bpftime_map__id(m), go[0]));
	fd = shim_register(m, SHIM_MAP);
	assert_true(fd >= 0);
	rb = ring_buffer__new(fd, lb_sample, &ctx, NULL);
	assert_non_null(rb);
	assert_int_equal(mt_pipe_put(go[1], 'g'), 0);
	while (ctx.next < LB_RECORDS && ms_now() < deadline)
		assert_true(ring_buffer__poll(rb, 100) >= 0);
	assert_int_equal(mt_wait(pid), 0);
	assert_int_equal(ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
	shim_reset();
	close(fd);
	assert_int_equal(ctx.bad, 0);
	assert_int_equal(ctx.next, LB_RECORDS);
	mt_region_destroy(r);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_checks_match_the_kernel),
	    cmocka_unit_test(syscall_side_is_enotsupp),
	    cmocka_unit_test(helpers_and_layout_match_the_kernel),
	    cmocka_unit_test(wakeup_flags_follow_the_kernel),
	    cmocka_unit_test(wait_blocks_until_a_record),
	    cmocka_unit_test(wait_wakeup_is_woken_by_a_submit),
	    cmocka_unit_test(records_wrap_at_every_offset),
	    cmocka_unit_test(pg_off_counts_pages),
	    cmocka_unit_test(many_producers_one_consumer),
	    cmocka_unit_test(producer_killed_mid_record),
	    cmocka_unit_test(producer_killed_ring_full),
	    cmocka_unit_test(producer_killed_holding_the_lock),
#ifdef BPFTIME_HAVE_LIBBPF
	    cmocka_unit_test(libbpf_ring_buffer_reads_our_records),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
