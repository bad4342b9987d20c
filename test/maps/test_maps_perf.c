// SPDX-License-Identifier: MIT
/*
 * Perf buffers and BPF_MAP_TYPE_PERF_EVENT_ARRAY: creation checks and the
 * syscall side as Linux 6.18 answers (probed as root; the creation table is
 * compared with the running kernel when it can be), bpf_perf_event_output's
 * errors, the mmap page and record format, PERF_RECORD_LOST, the kernel's
 * wake-up pattern for wakeup_events and watermarks (sequences probed on
 * 6.18), wrap-around at every offset, many producers in several processes,
 * producers killed while writing, and libbpf's perf_buffer reading records
 * that another process wrote.
 *
 * Records are read as libbpf's perf_event_read_simple reads them: from
 * data_tail to data_head, a record that wraps copied out first.
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
#include <linux/perf_event.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"
#ifdef BPFTIME_HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps-test-libbpf.h"
#endif

#define PAGE      4096u
#define ENOTSUPP_ 524
#define CUR       BPF_F_CURRENT_CPU
/* struct pb_state (map-perf.c) */
#define ST_LOCK 0
#define ST_HEAD 8

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill(uint8_t *p, uint64_t n, uint64_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + 1);
}

static struct bpftime_map *pb_new(struct bpftime_map_region *r, uint32_t pages, uint32_t cpu,
				  uint32_t wakeup, bool watermark)
{
	struct bpftime_map_perfbuf_opts o = {.sz = sizeof(o),
					     .page_cnt = pages,
					     .cpu = cpu,
					     .wakeup = wakeup,
					     .watermark = watermark};
	uint32_t id;

	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), 0);
	return bpftime_map__get(r, id);
}

static struct bpftime_map *array_new(struct bpftime_map_region *r, uint32_t n)
{
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, n, 0);

	return mt_map_new(r, &a);
}

static void put(struct bpftime_map *arr, uint32_t idx, struct bpftime_map *pb)
{
	uint32_t id = bpftime_map__id(pb);

	assert_int_equal(bpftime_map__update_elem(arr, &idx, &id, 0), 0);
}

/* ---- a tool's view ---- */

struct view {
	struct perf_event_mmap_page *pg;
	const uint8_t *data;
	uint64_t size; /* of the data area */
};

static void view_open(struct view *v, struct bpftime_map *pb)
{
	int fd = open(bpftime_map__file(pb), O_RDWR | O_CLOEXEC);
	uint64_t pages = bpftime_map__attr(pb)->max_entries;

	assert_true(fd >= 0);
	v->pg = mmap(NULL, (pages + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(v->pg != MAP_FAILED);
	v->data = (const uint8_t *)v->pg + PAGE;
	v->size = pages * PAGE;
}

static void view_close(struct view *v)
{
	munmap(v->pg, v->size + PAGE);
}

static void copy_out(const struct view *v, uint64_t pos, void *dst, uint64_t n)
{
	uint64_t off = pos & (v->size - 1), first = v->size - off < n ? v->size - off : n;

	memcpy(dst, v->data + off, first);
	memcpy((uint8_t *)dst + first, v->data, n - first);
}

struct rec {
	uint16_t type, size;
	uint32_t raw;        /* SAMPLE: the u32 size */
	uint64_t id, lost;   /* LOST */
	uint8_t data[65536]; /* SAMPLE: raw bytes */
};

/* The record at data_tail, copied out (wrap-aware), tail advanced. 1, or 0
 * when there is none. Checks what every record must satisfy. */
static int view_read(struct view *v, struct rec *r)
{
	uint64_t head = __atomic_load_n(&v->pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = v->pg->data_tail;
	struct perf_event_header h;

	if (tail == head)
		return 0;
	copy_out(v, tail, &h, sizeof(h));
	assert_true(h.size >= 16 && h.size % 8 == 0 && h.size <= head - tail);
	r->type = h.type;
	r->size = h.size;
	if (h.type == PERF_RECORD_SAMPLE) {
		assert_int_equal(h.misc, PERF_RECORD_MISC_USER);
		copy_out(v, tail + 8, &r->raw, 4);
		assert_int_equal(r->raw, h.size - 12);
		copy_out(v, tail + 12, r->data, r->raw);
	} else {
		assert_int_equal(h.type, PERF_RECORD_LOST);
		assert_int_equal(h.size, 24);
		assert_int_equal(h.misc, 0);
		copy_out(v, tail + 8, &r->id, 8);
		copy_out(v, tail + 16, &r->lost, 8);
	}
	__atomic_store_n(&v->pg->data_tail, tail + h.size, __ATOMIC_RELEASE);
	return 1;
}

static void consume_all(struct view *v)
{
	v->pg->data_tail = v->pg->data_head;
}

/* ---- creation, syscall side ---- */

struct create_case {
	const char *name;
	uint32_t key_size, value_size, max_entries, flags;
	int err; /* Linux 6.18 */
};

static const struct create_case create_cases[] = {
    {"ok", 4, 4, 2, 0, 0},
    {"max_entries 0", 4, 4, 0, 0, -EINVAL},
    {"key_size 8", 8, 4, 2, 0, -EINVAL},
    {"key_size 0", 0, 4, 2, 0, -EINVAL},
    {"value_size 8", 4, 8, 2, 0, -EINVAL},
    {"value_size 0", 4, 0, 2, 0, -EINVAL},
    {"BPF_F_NUMA_NODE", 4, 4, 2, BPF_F_NUMA_NODE, 0},
    {"BPF_F_RDONLY", 4, 4, 2, BPF_F_RDONLY, 0},
    {"BPF_F_WRONLY", 4, 4, 2, BPF_F_WRONLY, 0},
    {"BPF_F_RDONLY_PROG", 4, 4, 2, BPF_F_RDONLY_PROG, -EINVAL},
    {"BPF_F_WRONLY_PROG", 4, 4, 2, BPF_F_WRONLY_PROG, -EINVAL},
    {"BPF_F_MMAPABLE", 4, 4, 2, BPF_F_MMAPABLE, -EINVAL},
    {"BPF_F_PRESERVE_ELEMS", 4, 4, 2, BPF_F_PRESERVE_ELEMS, 0},
    {"BPF_F_INNER_MAP", 4, 4, 2, BPF_F_INNER_MAP, -EINVAL},
    {"BPF_F_NO_PREALLOC", 4, 4, 2, BPF_F_NO_PREALLOC, -EINVAL},
    {"BPF_F_ZERO_SEED", 4, 4, 2, BPF_F_ZERO_SEED, -EINVAL},
    {"RDONLY|WRONLY", 4, 4, 2, BPF_F_RDONLY | BPF_F_WRONLY, -EINVAL},
    {"key 0 value 0", 0, 0, 2, 0, -EINVAL},
};

static int kernel_create(const struct create_case *c)
{
#ifdef BPFTIME_HAVE_LIBBPF
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = c->flags);
	int fd;

	if (geteuid() != 0)
		return 1;
	fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, NULL, c->key_size, c->value_size,
			    c->max_entries, &o);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -errno;
#else
	return 1;
#endif
}

static void array_create_checks_match_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	bool kernel = kernel_create(&create_cases[0]) == 0;

	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, c->key_size,
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

static void perfbuf_create_checks(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map_perfbuf_opts o = {.sz = sizeof(o), .page_cnt = 1};
	struct {
		struct bpftime_map_perfbuf_opts o;
		uint64_t tail;
	} big = {.o = {.sz = sizeof(big), .page_cnt = 1}, .tail = 1};
	struct bpftime_map_attr a = {.map_type = BPFTIME_MAP_TYPE_PERF_BUFFER, .max_entries = 1};
	uint32_t id;

	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), 0);
	o.page_cnt = 0;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), 0);
	o.page_cnt = 3;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), -EINVAL);
	o.page_cnt = 1u << 21;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), -ENOMEM);
	o.page_cnt = 1;
	o.cpu = 2;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), -EINVAL);
	o.cpu = BPFTIME_PERFBUF_ANY_CPU;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), 0);
	o.sz = 8;
	assert_int_equal(bpftime_map__perfbuf_create(r, &o, &id), -EINVAL);
	assert_int_equal(bpftime_map__perfbuf_create(r, &big.o, &id), -E2BIG);
	big.tail = 0;
	assert_int_equal(bpftime_map__perfbuf_create(r, &big.o, &id), 0);
	/* bpf(2) cannot make one */
	assert_int_equal(bpftime_map__create(r, &a, &id), -EINVAL);
	mt_region_destroy(r);
}

/* As probed: lookup -ENOTSUPP, update flags / index / not a perf event,
 * delete of an empty slot, get_next_key as arrays, freeze then update. */
static void array_syscall_side_matches_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 2), *pb = pb_new(r, 1, 0, 1, false);
	struct bpftime_map_attr ha = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	struct bpftime_map *other = mt_map_new(r, &ha);
	uint32_t k = 0, v = 0, nk, id = bpftime_map__id(pb), oid = bpftime_map__id(other);

	assert_int_equal(bpftime_map__lookup_elem(arr, &k, &v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__get_next_key(arr, NULL, &nk), 0);
	assert_int_equal(nk, 0);
	k = 1;
	assert_int_equal(bpftime_map__get_next_key(arr, &k, &nk), -ENOENT);
	k = 5;
	assert_int_equal(bpftime_map__get_next_key(arr, &k, &nk), 0);
	assert_int_equal(nk, 0);
	k = 0;
	assert_int_equal(bpftime_map__delete_elem(arr, &k), -ENOENT);
	k = 2;
	assert_int_equal(bpftime_map__delete_elem(arr, &k), -E2BIG);
	k = 0;
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, BPF_NOEXIST), -EINVAL);
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, BPF_EXIST), -EINVAL);
	k = 2;
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, 0), -E2BIG);
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, 5), -EINVAL);
	k = 0;
	assert_int_equal(bpftime_map__update_elem(arr, &k, &v, 0), -EBADF);   /* id 0 */
	assert_int_equal(bpftime_map__update_elem(arr, &k, &oid, 0), -EBADF); /* not a perf event */
	v = 4000;
	assert_int_equal(bpftime_map__update_elem(arr, &k, &v, 0), -EBADF);
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, 0), 0);
	assert_int_equal(bpftime_map__lookup_elem(arr, &k, &v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(arr, &k, &v, 0), -ENOTSUPP_);
	assert_int_equal(bpftime_map__delete_elem(arr, &k), 0);
	assert_int_equal(bpftime_map__delete_elem(arr, &k), -ENOENT);
	assert_int_equal(bpftime_map__freeze(arr), 0);
	assert_int_equal(bpftime_map__update_elem(arr, &k, &id, 0), -EPERM);
	mt_region_destroy(r);
}

/* ---- output: errors, format, loss ---- */

static void output_errors_match_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 3), *pb0 = pb_new(r, 1, 0, 1, false);
	struct bpftime_map *pb1 = pb_new(r, 0, 1, 1, false),
			   *any = pb_new(r, 1, UINT32_MAX, 1, false);
	static uint8_t big[70000];
	struct view v;

	view_open(&v, pb0);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, CUR, big, 5, 0), -ENOENT);
	put(arr, 0, pb0);
	put(arr, 1, pb1);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, CUR, big, 5, 0), 0);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 4, 0), 0);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 0, 0), 0);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 1, big, 4, 0), -EOPNOTSUPP);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 3, big, 4, 0), -E2BIG);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 2, big, 4, 0), -ENOENT);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 1ull << 32, big, 4, 0), -EINVAL);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, (1ull << 32) | CUR, big, 4, 0),
			 -EINVAL);
	/* no data pages: -ENOSPC, nothing lost (the kernel's paused rb) */
	assert_int_equal(bpftime_map__perf_event_output(arr, 1, CUR, big, 4, 0), -ENOSPC);
	assert_int_equal(bpftime_map__perfbuf_lost_samples(pb1), 0);
	/* the sizes 6.18 wrote for 5, 4, 0 bytes */
	assert_int_equal(v.pg->data_head, 56);
	/* disabled, enabled, paused (lost, then reported), unpaused */
	bpftime_map__perfbuf_enable(pb0, false);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 8, 0), -EOPNOTSUPP);
	bpftime_map__perfbuf_enable(pb0, true);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 8, 0), 0);
	bpftime_map__perfbuf_pause(pb0, true);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 8, 0), -ENOSPC);
	assert_int_equal(bpftime_map__perfbuf_lost_samples(pb0), 1);
	bpftime_map__perfbuf_pause(pb0, false);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, big, 8, 0), 0);
	assert_int_equal(v.pg->data_head, 56 + 24 + 24 + 24); /* sample, lost, sample */
	/* a record whose size does not fit header.size: refused (see maps.h) */
	put(arr, 2, any);
	assert_int_equal(bpftime_map__perf_event_output(arr, 1, 2, big, 65517, 0), -E2BIG);
	assert_int_equal(bpftime_map__perf_event_output(arr, 1, 2, big, 65516, 0), -ENOSPC);
	/* any CPU slot may write a buffer opened for no CPU */
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 2, big, 8, 0), 0);
	assert_int_equal(bpftime_map__perf_event_output(arr, 1, 2, big, 8, 0), 0);
	/* not a perf event array; not a perf buffer */
	assert_int_equal(bpftime_map__perf_event_output(pb0, 0, 0, big, 8, 0), -EINVAL);
	assert_int_equal(bpftime_map__perfbuf_enable(arr, true), -EINVAL);
	assert_int_equal(bpftime_map__perfbuf_poll(arr), -EINVAL);
	/* a perf buffer destroyed under the array: a stale id */
	bpftime_map__destroy(r, bpftime_map__id(any));
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 2, big, 8, 0), -ENOENT);
	view_close(&v);
	mt_region_destroy(r);
}

/* The page as perf_event_init_userpage() shows it (probed), and records of
 * every small size: raw size round_up(n + 4, 8) - 4, zero padded. */
static void page_and_record_format(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 2, 0, 1, false);
	static struct rec rec;
	uint8_t src[64];
	struct view v;

	view_open(&v, pb);
	assert_int_equal(v.pg->version, 0);
	assert_int_equal(v.pg->compat_version, 0);
	assert_int_equal(v.pg->index, 0);
	assert_int_equal(v.pg->capabilities, 2); /* cap_bit0_is_deprecated */
	assert_int_equal(v.pg->size, 96);
	assert_int_equal(v.pg->data_offset, PAGE);
	assert_int_equal(v.pg->data_size, 2 * PAGE);
	assert_int_equal(v.pg->data_head, 0);
	put(arr, 0, pb);
	fill(src, sizeof(src), 9);
	for (uint32_t n = 0; n <= 40; n++) {
		uint64_t head = v.pg->data_head;

		assert_int_equal(bpftime_map__perf_event_output(arr, 0, CUR, src, n, 0), 0);
		assert_int_equal(view_read(&v, &rec), 1);
		assert_int_equal(rec.type, PERF_RECORD_SAMPLE);
		assert_int_equal(rec.raw, ((n + 4 + 7) & ~7u) - 4);
		assert_int_equal(v.pg->data_head - head, 8 + rec.raw + 4);
		assert_memory_equal(rec.data, src, n);
		for (uint32_t i = n; i < rec.raw; i++)
			assert_int_equal(rec.data[i], 0);
	}
	view_close(&v);
	mt_region_destroy(r);
}

/* The probe: 5, 4, 0 bytes, then 100-byte samples until full (36 fit,
 * data_head 4088), 3 lost; once consumed, an 8-byte sample comes after a
 * PERF_RECORD_LOST {id, 3} that wraps at the end (4088 .. 4112). */
static void full_buffer_loses_and_reports(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 1, 0, 1, false);
	static struct rec rec;
	uint8_t src[100] = {0};
	struct view v;
	long err;
	int n = 0;

	view_open(&v, pb);
	put(arr, 0, pb);
	bpftime_map__perf_event_output(arr, 0, 0, src, 5, 0);
	bpftime_map__perf_event_output(arr, 0, 0, src, 4, 0);
	bpftime_map__perf_event_output(arr, 0, 0, src, 0, 0);
	while ((err = bpftime_map__perf_event_output(arr, 0, 0, src, 100, 0)) == 0)
		n++;
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(n, 36);
	assert_int_equal(v.pg->data_head, 4088);
	bpftime_map__perf_event_output(arr, 0, 0, src, 100, 0);
	bpftime_map__perf_event_output(arr, 0, 0, src, 100, 0);
	assert_int_equal(bpftime_map__perfbuf_lost_samples(pb), 3);
	consume_all(&v);
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, src, 8, 0), 0);
	assert_int_equal(v.pg->data_head, 4136);
	assert_int_equal(view_read(&v, &rec), 1);
	assert_int_equal(rec.type, PERF_RECORD_LOST);
	assert_int_equal(rec.id, bpftime_map__id(pb));
	assert_int_equal(rec.lost, 3);
	assert_int_equal(view_read(&v, &rec), 1);
	assert_int_equal(rec.type, PERF_RECORD_SAMPLE);
	assert_int_equal(rec.raw, 12);
	assert_int_equal(view_read(&v, &rec), 0);
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- wake-ups: the sequences 6.18 gave ---- */

struct wake_case {
	bool watermark;
	uint32_t wakeup;
	bool consume;
	const char *expect; /* the outputs (1..200, 16-byte samples) after which poll fires */
};

static const struct wake_case wake_cases[] = {
    {false, 3, true,
     "3 6 9 12 15 18 21 24 27 30 33 36 39 42 45 48 51 54 57 60 63 65 66 69 72 75 78 81 84 87 "
     "90 93 96 99 102 105 108 111 114 117 120 123 126 129 130 132 135 138 141 144 147 150 153 "
     "156 159 162 165 168 171 174 177 180 183 186 189 192 195 198 "},
    {true, 200, true,
     "7 13 19 26 32 38 44 51 57 63 69 76 82 88 94 101 107 113 119 126 132 138 144 151 157 163 "
     "169 176 182 188 194 "},
    {false, 0, true, "65 129 193 "},
    {true, 0, true, "65 129 193 "},
    {true, 5000, true, "129 "},
    {false, 0, false, "65 "},
    {true, 100, false,
     "4 7 10 13 16 19 22 26 29 32 35 38 41 44 47 51 54 57 60 63 66 69 72 76 79 82 85 88 91 94 "
     "97 101 104 107 110 113 116 119 122 126 "},
};

static void wakeups_follow_the_kernel(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1);
	uint8_t src[16] = {0};

	for (size_t c = 0; c < ARRAY_LEN(wake_cases); c++) {
		const struct wake_case *w = &wake_cases[c];
		struct bpftime_map *pb = pb_new(r, 1, 0, w->wakeup, w->watermark);
		char got[1024] = "";
		struct view v;

		view_open(&v, pb);
		put(arr, 0, pb);
		for (int i = 1; i <= 200; i++) {
			bpftime_map__perf_event_output(arr, 0, 0, src, sizeof(src), 0);
			if (bpftime_map__perfbuf_poll(pb) == 1)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%d ", i);
			if (w->consume)
				consume_all(&v);
		}
		assert_string_equal(got, w->expect);
		view_close(&v);
	}
	/* wakeup_events 1 (libbpf's choice): every sample */
	{
		struct bpftime_map *pb = pb_new(r, 1, 0, 1, false);

		put(arr, 0, pb);
		bpftime_map__perf_event_output(arr, 0, 0, src, sizeof(src), 0);
		assert_int_equal(bpftime_map__perfbuf_poll(pb), 1);
		assert_int_equal(bpftime_map__perfbuf_poll(pb), 0); /* consumed */
		assert_int_equal(bpftime_map__perfbuf_wait(pb, 20), 0);
		bpftime_map__perf_event_output(arr, 0, 0, src, sizeof(src), 0);
		assert_int_equal(bpftime_map__perfbuf_wait(pb, -1), 1);
	}
	mt_region_destroy(r);
}

struct waiter {
	struct bpftime_map *pb;
	int ret;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = bpftime_map__perfbuf_wait(w->pb, 10000);
	return NULL;
}

static void wait_is_woken_by_a_sample(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 1, 0, 1, false);
	struct waiter w = {.pb = pb};
	uint8_t src[8] = {0};
	pthread_t t;
	int64_t t0;

	put(arr, 0, pb);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	usleep(20000);
	t0 = ms_now();
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, src, sizeof(src), 0), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, 1);
	/* woken, not found by a time slice (those are 1 s) */
	assert_true(ms_now() - t0 < 900);
	mt_region_destroy(r);
}

/* ---- wrap-around ---- */

/* Move data_head to @pos (mod size) with samples the consumer eats. */
static void move_to(struct bpftime_map *arr, struct view *v, uint64_t pos)
{
	uint64_t d = (pos - v->pg->data_head) & (v->size - 1);
	uint8_t zero[2048] = {0};

	if (d == 8)
		d += v->size;
	while (d) {
		uint64_t f = d > 2048 ? 2048 : d;

		if (d - f == 8)
			f -= 16;
		/* a record of f bytes carries f - 12 raw bytes */
		assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, zero, f - 12, 0), 0);
		consume_all(v);
		d -= f;
	}
	assert_int_equal(v->pg->data_head & (v->size - 1), pos & (v->size - 1));
}

/* A sample whose header sits at every 8-byte offset, its data crossing
 * the end by 1, 4 and 100 bytes, and a 20-byte one (at 4088 its size field
 * wraps too), read back as libbpf reads it. */
static void records_wrap_at_every_offset(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 1, 0, 1, false);
	static uint8_t want[PAGE];
	static struct rec rec;
	unsigned cases = 0;
	struct view v;

	view_open(&v, pb);
	put(arr, 0, pb);
	for (int64_t h = 0; h < PAGE; h += 8) {
		const int64_t sizes[] = {PAGE - h - 12 + 1, PAGE - h - 12 + 4, PAGE - h - 12 + 100,
					 20};

		for (size_t k = 0; k < ARRAY_LEN(sizes); k++) {
			int64_t n = sizes[k];

			/* a sample the empty buffer holds (at most size - 8 bytes) */
			if (n < 0 || 8 + ((n + 4 + 7) & ~7ll) > PAGE - 8)
				continue;
			move_to(arr, &v, (uint64_t)h);
			fill(want, (uint64_t)n, (uint64_t)h * 3 + k);
			assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, want, n, 0), 0);
			assert_int_equal(view_read(&v, &rec), 1);
			assert_int_equal(rec.type, PERF_RECORD_SAMPLE);
			assert_memory_equal(rec.data, want, n);
			cases++;
		}
	}
	assert_true(cases > 1500);
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- many producers ---- */

#define MP_PROCS   3
#define MP_THREADS 2
#define MP_SAMPLES 3000
#define MP_CPUS    4
#define MP_ANY     MP_CPUS /* array index of the buffer for any CPU */

struct mp_rec {
	uint16_t proc, thread;
	uint32_t seq;
};

struct mp_shared {
	uint64_t failed; /* outputs that returned -ENOSPC (each one a lost sample) */
};

struct mp_thread {
	struct bpftime_map_region *r;
	struct bpftime_map *arr;
	struct mp_shared *sh;
	uint16_t proc, thread;
};

static uint32_t mp_len(uint32_t seq)
{
	return sizeof(struct mp_rec) + seq * 11 % 90;
}

/* Each thread holds one CPU slot for its life and writes its own CPU's
 * buffer and the shared one in turn: per producer, per buffer, in order. */
static void *mp_thread_main(void *arg)
{
	struct mp_thread *t = arg;
	uint32_t tid = (uint32_t)gettid();
	uint32_t cpu = bpftime_map_region__cpu_get(t->r, t->thread, tid);
	uint8_t buf[128];

	for (uint32_t seq = 0; seq < MP_SAMPLES; seq++) {
		struct mp_rec h = {t->proc, t->thread, seq};
		uint64_t flags = seq % 2 ? CUR : MP_ANY;
		long err;

		memcpy(buf, &h, sizeof(h));
		fill(buf + sizeof(h), mp_len(seq) - sizeof(h), seq + t->thread);
		while ((err = bpftime_map__perf_event_output(t->arr, cpu, flags, buf, mp_len(seq),
							     tid)) == -ENOSPC) {
			__atomic_add_fetch(&t->sh->failed, 1, __ATOMIC_RELAXED);
			sched_yield();
		}
		if (err)
			abort();
	}
	bpftime_map_region__cpu_put(t->r, cpu);
	return NULL;
}

static int mp_child(const char *path, uint32_t arr_id, uint16_t proc, struct mp_shared *sh)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct mp_thread t[MP_THREADS];
	pthread_t th[MP_THREADS];
	struct bpftime_map *arr;

	if (!r || !(arr = bpftime_map__get(r, arr_id)))
		return 2;
	for (uint16_t i = 0; i < MP_THREADS; i++) {
		t[i] = (struct mp_thread){r, arr, sh, proc, i};
		if (pthread_create(&th[i], NULL, mp_thread_main, &t[i]))
			return 3;
	}
	for (int i = 0; i < MP_THREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}

struct mp_check {
	uint32_t next[MP_CPUS + 1][MP_PROCS][MP_THREADS]; /* by buffer */
	uint64_t samples, lost;
};

static void mp_take(struct mp_check *c, int buf, const struct rec *rec)
{
	struct mp_rec h;
	uint8_t want[128];
	uint32_t *next;

	if (rec->type == PERF_RECORD_LOST) {
		c->lost += rec->lost;
		return;
	}
	memcpy(&h, rec->data, sizeof(h));
	assert_true(h.proc < MP_PROCS && h.thread < MP_THREADS && h.seq < MP_SAMPLES);
	next = &c->next[buf][h.proc][h.thread];
	/* per buffer, a producer's samples come in order (odd ones to its
	 * CPU's buffer, even ones to the shared one) */
	if (*next && h.seq <= *next - 1)
		fail_msg("buffer %d proc %u thread %u: seq %u after %u", buf, h.proc, h.thread,
			 h.seq, *next - 1);
	assert_int_equal(h.seq % 2, buf == MP_ANY ? 0 : 1);
	*next = h.seq + 1;
	fill(want, mp_len(h.seq) - sizeof(h), h.seq + h.thread);
	assert_memory_equal(rec->data + sizeof(h), want, mp_len(h.seq) - sizeof(h));
	c->samples++;
}

static void many_producers_in_many_processes(void **state)
{
	struct bpftime_map_region *r = mt_region_create(MP_CPUS, 0);
	struct bpftime_map *arr = array_new(r, MP_CPUS + 1), *pb[MP_CPUS + 1];
	struct mp_shared *sh =
	    mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static struct mp_check c;
	static struct rec rec;
	struct view v[MP_CPUS + 1];
	int64_t deadline = ms_now() + 60000;
	pid_t pid[MP_PROCS];
	int live = MP_PROCS;

	memset(&c, 0, sizeof(c));
	for (uint32_t i = 0; i <= MP_CPUS; i++) {
		pb[i] = pb_new(r, 2, i == MP_ANY ? UINT32_MAX : i, 1, false);
		put(arr, i, pb[i]);
		view_open(&v[i], pb[i]);
	}
	for (uint16_t p = 0; p < MP_PROCS; p++) {
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] == 0)
			_exit(mp_child(bpftime_map_region__path(r), bpftime_map__id(arr), p, sh));
	}
	for (;;) {
		bool any = false;

		for (int i = 0; i <= MP_CPUS; i++)
			while (view_read(&v[i], &rec)) {
				mp_take(&c, i, &rec);
				any = true;
			}
		if (c.samples == (uint64_t)MP_PROCS * MP_THREADS * MP_SAMPLES && !live)
			break;
		for (int p = 0; p < MP_PROCS; p++)
			if (pid[p] > 0 && waitpid(pid[p], NULL, WNOHANG) == pid[p])
				pid[p] = 0, live--;
		assert_true(ms_now() < deadline);
		if (!any)
			usleep(200);
	}
	/* every failed output was reported by a PERF_RECORD_LOST: each
	 * producer's retry on the same buffer came after it */
	assert_int_equal(c.lost, sh->failed);
	for (int i = 0; i <= MP_CPUS; i++)
		view_close(&v[i]);
	munmap(sh, PAGE);
	mt_region_destroy(r);
}

/* ---- producers that die ---- */

static uint32_t dead_tid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_int_equal(mt_wait(pid), 0);
	return (uint32_t)pid;
}

/* Killed holding the lock after moving head in the region but not in the
 * page: the next producer takes over and publishes head. */
static void producer_killed_holding_the_lock(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 1, 0, 1, false);
	struct perf_event_header h = {
	    .type = PERF_RECORD_SAMPLE, .misc = PERF_RECORD_MISC_USER, .size = 24};
	uint32_t raw = 12, dead = dead_tid();
	uint8_t src[8] = "mine";
	static struct rec rec;
	struct view v;

	view_open(&v, pb);
	put(arr, 0, pb);
	/* the dead holder's complete record at 0, head moved to 24 */
	memcpy(pb->file_mem + PAGE, &h, 8);
	memcpy(pb->file_mem + PAGE + 8, &raw, 4);
	memset(pb->file_mem + PAGE + 12, 0x55, 12);
	*(uint64_t *)(pb->data + ST_HEAD) = 24;
	*(uint32_t *)(pb->data + ST_LOCK) = dead;
	assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, src, sizeof(src), 0), 0);
	assert_int_equal(v.pg->data_head, 48);
	assert_int_equal(view_read(&v, &rec), 1);
	assert_int_equal(rec.data[0], 0x55);
	assert_int_equal(view_read(&v, &rec), 1);
	assert_memory_equal(rec.data, src, sizeof(src));
	view_close(&v);
	mt_region_destroy(r);
}

/* Read what is there: every record parses (view_read checks), samples of
 * the round's producer come in increasing order (gaps where it lost some).
 * Returns the number of samples. */
static unsigned read_round(struct view *v, uint32_t *next)
{
	static struct rec rec;
	unsigned n = 0;

	while (view_read(v, &rec)) {
		uint32_t seq;

		if (rec.type != PERF_RECORD_SAMPLE)
			continue;
		memcpy(&seq, rec.data, 4);
		assert_true(seq >= *next);
		*next = seq + 1;
		n++;
	}
	return n;
}

/* A producer process SIGKILLed at a random point of a stream of outputs,
 * five times: every record in the buffer parses, the samples come in
 * order, and the next output (perhaps taking the lock over) goes through. */
static void producer_killed_while_writing(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 1), *pb = pb_new(r, 4, UINT32_MAX, 1, false);
	uint32_t marker = UINT32_MAX;
	static struct rec rec;
	struct view v;

	view_open(&v, pb);
	put(arr, 0, pb);
	for (int round = 0; round < 5; round++) {
		uint32_t next = 0;
		unsigned n = 0;
		int p[2];
		pid_t pid;
		char c;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct bpftime_map_region *cr = mt_region_join(bpftime_map_region__path(r));
			struct bpftime_map *ca =
			    cr ? bpftime_map__get(cr, bpftime_map__id(arr)) : NULL;
			uint32_t tid = (uint32_t)gettid();

			if (!ca)
				_exit(2);
			for (uint32_t seq = 0;; seq++) {
				while (bpftime_map__perf_event_output(ca, 0, 0, &seq, 4, tid))
					;
				if (seq == 0)
					mt_pipe_put(p[1], 'r');
			}
		}
		assert_int_equal(mt_pipe_get(p[0], &c), 0);
		close(p[0]);
		close(p[1]);
		for (int64_t until = ms_now() + 3 + round * 2; ms_now() < until;)
			n += read_round(&v, &next); /* read while it writes */
		kill(pid, SIGKILL);
		assert_int_equal(mt_wait(pid), 128 + SIGKILL);
		n += read_round(&v, &next);
		assert_true(n > 0);
		assert_int_equal(bpftime_map__perf_event_output(arr, 0, 0, &marker, 4, 0), 0);
		/* a record the producer had written but not yet published
		 * when it died is published by the output that takes the
		 * lock over (its head had moved): it may come before the
		 * marker, once, in order */
		for (int early = 0;; early++) {
			uint32_t seq;

			rec.type = 0;
			while (view_read(&v, &rec) && rec.type != PERF_RECORD_SAMPLE)
				;
			assert_int_equal(rec.type, PERF_RECORD_SAMPLE);
			if (!memcmp(rec.data, &marker, 4))
				break;
			assert_int_equal(early, 0);
			memcpy(&seq, rec.data, 4);
			assert_true(seq >= next);
		}
		assert_int_equal(view_read(&v, &rec), 0);
	}
	view_close(&v);
	mt_region_destroy(r);
}

/* ---- libbpf's perf_buffer as the consumer ---- */

#ifdef BPFTIME_HAVE_LIBBPF
#define LB_SAMPLES 4000

struct lb_ctx {
	uint32_t next[2];
	uint64_t samples, lost;
	int bad;
};

static uint32_t lb_len(uint32_t seq)
{
	return 8 + seq * 29 % 600;
}

static void lb_sample(void *ctx, int cpu, void *data, __u32 size)
{
	struct lb_ctx *c = ctx;
	uint8_t want[700];
	uint32_t hdr[2];

	memcpy(hdr, data, sizeof(hdr));
	fill(want, lb_len(hdr[1]) - 8, hdr[1]);
	/* libbpf passes the raw size, padding included */
	if (cpu < 0 || cpu > 1 || hdr[0] != (uint32_t)cpu || hdr[1] != c->next[cpu] ||
	    size != ((lb_len(hdr[1]) + 4 + 7) & ~7u) - 4 ||
	    memcmp((uint8_t *)data + 8, want, lb_len(hdr[1]) - 8))
		c->bad++;
	c->next[cpu & 1] = hdr[1] + 1;
	c->samples++;
}

static void lb_lost(void *ctx, int cpu, __u64 cnt)
{
	((struct lb_ctx *)ctx)->lost += cnt;
}

/* Another process: two threads, one per CPU slot, LB_SAMPLES each through
 * BPF_F_CURRENT_CPU into 2-page buffers, retrying what does not fit. */
static void *lb_thread(void *arg)
{
	struct mp_thread *t = arg;
	uint32_t tid = (uint32_t)gettid(), cpu = bpftime_map_region__cpu_get(t->r, t->thread, tid);
	uint8_t buf[700];

	for (uint32_t seq = 0; seq < LB_SAMPLES; seq++) {
		uint32_t hdr[2] = {cpu, seq};

		memcpy(buf, hdr, sizeof(hdr));
		fill(buf + 8, lb_len(seq) - 8, seq);
		while (bpftime_map__perf_event_output(t->arr, cpu, CUR, buf, lb_len(seq), tid) ==
		       -ENOSPC) {
			__atomic_add_fetch(&t->sh->failed, 1, __ATOMIC_RELAXED);
			sched_yield();
		}
	}
	bpftime_map_region__cpu_put(t->r, cpu);
	return NULL;
}

static int lb_child(const char *path, uint32_t arr_id, int go, struct mp_shared *sh)
{
	struct bpftime_map_region *r = mt_region_join(path);
	struct mp_thread t[2];
	pthread_t th[2];
	char c;

	if (!r || mt_pipe_get(go, &c))
		return 2;
	for (uint16_t i = 0; i < 2; i++) {
		t[i] = (struct mp_thread){r, bpftime_map__get(r, arr_id), sh, 0, i};
		if (!t[i].arr || pthread_create(&th[i], NULL, lb_thread, &t[i]))
			return 3;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static void libbpf_perf_buffer_reads_our_samples(void **state)
{
	struct bpftime_map_region *r = mt_region_create(2, 0);
	struct bpftime_map *arr = array_new(r, 2);
	struct mp_shared *sh =
	    mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct lb_ctx ctx;
	int64_t deadline = ms_now() + 30000;
	struct perf_buffer *pbuf;
	int go[2], fd;
	pid_t pid;

	memset(&ctx, 0, sizeof(ctx));
	if (libbpf_num_possible_cpus() != 2)
		skip(); /* libbpf opens one buffer per possible CPU: the region has 2 */
	assert_int_equal(pipe(go), 0);
	pid = fork(); /* before libbpf starts threads */
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(lb_child(bpftime_map_region__path(r), bpftime_map__id(arr), go[0], sh));
	shim_region = r;
	shim_perf_pages = 2;
	fd = shim_register(arr, SHIM_MAP);
	pbuf = perf_buffer__new(fd, 2, lb_sample, lb_lost, &ctx, NULL);
	assert_non_null(pbuf);
	assert_int_equal(mt_pipe_put(go[1], 'g'), 0);
	while ((ctx.samples < 2 * LB_SAMPLES || ctx.lost < sh->failed) && ms_now() < deadline)
		assert_true(perf_buffer__poll(pbuf, 100) >= 0);
	assert_int_equal(mt_wait(pid), 0);
	assert_int_equal(perf_buffer__consume(pbuf), 0);
	perf_buffer__free(pbuf);
	shim_reset();
	close(fd);
	assert_int_equal(ctx.bad, 0);
	assert_int_equal(ctx.samples, 2 * LB_SAMPLES);
	assert_int_equal(ctx.lost, sh->failed);
	/* perf_buffer__free deleted the array's entries */
	{
		uint32_t k = 0;

		assert_int_equal(bpftime_map__delete_elem(arr, &k), -ENOENT);
	}
	munmap(sh, PAGE);
	mt_region_destroy(r);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(array_create_checks_match_the_kernel),
	    cmocka_unit_test(perfbuf_create_checks),
	    cmocka_unit_test(array_syscall_side_matches_the_kernel),
	    cmocka_unit_test(output_errors_match_the_kernel),
	    cmocka_unit_test(page_and_record_format),
	    cmocka_unit_test(full_buffer_loses_and_reports),
	    cmocka_unit_test(wakeups_follow_the_kernel),
	    cmocka_unit_test(wait_is_woken_by_a_sample),
	    cmocka_unit_test(records_wrap_at_every_offset),
	    cmocka_unit_test(many_producers_in_many_processes),
	    cmocka_unit_test(producer_killed_holding_the_lock),
	    cmocka_unit_test(producer_killed_while_writing),
#ifdef BPFTIME_HAVE_LIBBPF
	    cmocka_unit_test(libbpf_perf_buffer_reads_our_samples),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
