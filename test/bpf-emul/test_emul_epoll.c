// SPDX-License-Identifier: MIT
/*
 * epoll_ctl on objects (emul-epoll.c): a real epoll instance of this
 * process gets EPOLLIN with its own data when a record is produced, and
 * times out when none is; the kernel's errors (probed on 6.18); a consumer
 * of a ring buffer that reads as libbpf's ring_buffer does keeps up with a
 * fast producer.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "emul-pf-test.h"

static int setup(void **state)
{
	static struct emul_test t;

	pf_setup(&t, "");
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	pf_teardown(*state);
	return 0;
}

static long ctl(struct emul_test *t, int ep, int op, int fd, struct epoll_event *ev)
{
	return bpftime_emul__epoll_ctl(t->e, &t->caller, ep, op, fd, ptr_to_u64(ev));
}

/* A mmap'd BPF_OUTPUT event (wakeup_events 1) and a PERF_EVENT_ARRAY
 * handle naming its buffer at slot 0. */
static long output_event_pages(struct emul_test *t, void **mem, uint32_t *pea, size_t len)
{
	struct bpftime_map_attr ma = {.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
				      .key_size = 4,
				      .value_size = 4,
				      .max_entries = 1};
	struct perf_event_attr a;
	uint32_t key = 0, id;
	long fd;

	pf_output_attr(&a, 0);
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pf_mmap_check(t, (int)fd, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	*mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	assert_ptr_not_equal(*mem, MAP_FAILED);
	id = (uint32_t)emul_perf_buffer_id(t->e, pf_obj(t, (int)fd));
	assert_int_equal(bpftime_map__create(t->e->region, &ma, pea), 0);
	assert_int_equal(
	    bpftime_map__update_elem(bpftime_map__get(t->e->region, *pea), &key, &id, 0), 0);
	return fd;
}

static long output_event(struct emul_test *t, void **mem, uint32_t *pea)
{
	return output_event_pages(t, mem, pea, 3 * 4096);
}

static void test_perf_buffer_wakes_epoll(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234}, out[2];
	struct bpftime_map *pea;
	uint32_t pea_id;
	void *mem;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long fd = output_event(t, &mem, &pea_id);

	pea = bpftime_map__get(t->e->region, pea_id);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	/* nothing produced: epoll_wait times out */
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 0x1234);
	assert_true(out[0].events & EPOLLIN);
	/* once per wake-up, as perf_poll() */
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	/* MOD keeps it, with new data; DEL stops it */
	ev.data.u64 = 0x5678;
	assert_int_equal(ctl(t, ep, EPOLL_CTL_MOD, (int)fd, &ev), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 0x5678);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_DEL, (int)fd, NULL), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 200), 0);
	bpftime_map__destroy(t->e->region, pea_id);
	munmap(mem, 3 * 4096);
	close((int)fd);
	close(ep);
}

static void test_errors(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC), p[2];
	struct perf_event_attr a;
	long fd;

	pf_output_attr(&a, sizeof(a));
	fd = pf_open_event(t, &a, -1, 0, 0); /* not mmap'd: no buffer yet */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), -EEXIST);
	/* another epoll instance is another set */
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_DEL, (int)fd, NULL), -ENOENT);
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_MOD, (int)fd, &ev), -ENOENT);
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	assert_int_equal(ctl(t, ep, 9, (int)fd, &ev), -EINVAL);
	assert_int_equal(ctl(t, p[0], EPOLL_CTL_ADD, (int)fd, &ev), -EINVAL); /* not an epoll */
	assert_int_equal(ctl(t, 555, EPOLL_CTL_ADD, (int)fd, &ev), -EBADF);
	assert_int_equal(bpftime_emul__epoll_ctl(t->e, &t->caller, ep, EPOLL_CTL_ADD, (int)fd,
						 emul_test_bad_ptr()),
			 -EFAULT);
	/* DEL reads no event */
	assert_int_equal(bpftime_emul__epoll_ctl(t->e, &t->caller, ep, EPOLL_CTL_DEL, (int)fd,
						 emul_test_bad_ptr()),
			 0);
	/* fds that are not ours: the kernel's */
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, p[0], &ev), BPFTIME_EMUL_CONTINUE);
	/* a perf event without a buffer reports nothing (6.18) */
	assert_int_equal(epoll_wait(ep2, &ev, 1, 50), 0);
	/* the caller's exit drops its registrations */
	bpftime_emul__caller_gone(t->e, getpid());
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_DEL, (int)fd, NULL), -ENOENT);
	close((int)fd);
	close(p[0]);
	close(p[1]);
	close(ep);
	close(ep2);
}

/* Maps: ring buffers wake the epoll; other maps report EPOLLERR
 * (bpf_map_poll); programs cannot be polled (-EPERM). */
static void test_maps(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[2];
	int rb = pf_map_create(t, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	int hash = pf_map_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, 0);
	int prog = pf_prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC);
	struct bpftime_map *m;

	if (rb < 0 || hash < 0)
		skip(); /* BPF_MAP_CREATE is not there yet */
	m = pf_obj(t, rb)->map.m;
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, rb, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__ringbuf_output(m, "abcd", 4, 0, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 7);
	assert_true(out[0].events & EPOLLIN);
	ev.data.u64 = 8;
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, hash, &ev), 0);
	assert_int_equal(epoll_wait(ep2, out, 2, 100), 1);
	assert_int_equal(out[0].events, EPOLLERR);
	assert_int_equal(out[0].data.u64, 8);
	if (prog >= 0) {
		assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, prog, &ev), -EPERM);
		close(prog);
	}
	close(rb);
	close(hash);
	close(ep);
	close(ep2);
}

/* ---- a ring buffer consumer keeps up ---- */

#define KU_RING    (1u << 20) /* as bench/hooks' */
#define KU_RECORDS 300000u
#define KU_NS      1000 /* the producer's pace: 1 M records/s */

struct ku_producer {
	struct bpftime_map *m;
	bool perf;      /* m is a PERF_EVENT_ARRAY: bpf_perf_event_output() */
	uint64_t fulls; /* outputs that found the ring full (then retried) */
	int stop;       /* the consumer gave up */
};

static int64_t ku_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* 0, or non-zero when the buffer is full (perf: the sample is counted lost,
 * and a PERF_RECORD_LOST goes before the next one) */
static long ku_output(struct ku_producer *p, const void *rec, uint64_t size)
{
	if (p->perf)
		return bpftime_map__perf_event_output(p->m, 0, 0, rec, size, 0) == -ENOSPC;
	return bpftime_map__ringbuf_output(p->m, rec, size, 0, 0) == -EAGAIN;
}

/* 16-byte records {seq, ~seq} at KU_NS each, as bench/hooks' ring program;
 * a full ring is counted, and the record retried rather than dropped. */
static void *ku_produce(void *arg)
{
	struct ku_producer *p = arg;
	int64_t start = ku_now_ns();

	for (uint64_t seq = 0; seq < KU_RECORDS; seq++) {
		uint64_t rec[2] = {seq, ~seq};

		if (seq % 256 == 0) {
			int64_t ahead = start + (int64_t)seq * KU_NS - ku_now_ns();

			if (ahead > 0) {
				struct timespec ts = {0, ahead};

				nanosleep(&ts, NULL);
			}
		}
		if (ku_output(p, rec, sizeof(rec))) {
			p->fulls++;
			while (ku_output(p, rec, sizeof(rec))) {
				if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
					return NULL;
				sched_yield();
			}
		}
	}
	return NULL;
}

/* libbpf's ringbuf_process_ring(), on the map's file: every record up to
 * producer_pos, again while there were new ones; stops at a busy one. */
static void ku_consume(uint8_t *mem, uint64_t *next)
{
	uint64_t *cons_pos = (uint64_t *)mem, *prod_pos = (uint64_t *)(mem + 4096);
	uint8_t *data = mem + 2 * 4096;
	uint64_t cons = __atomic_load_n(cons_pos, __ATOMIC_ACQUIRE);
	bool got;

	do {
		uint64_t prod = __atomic_load_n(prod_pos, __ATOMIC_ACQUIRE);

		got = false;
		while (cons < prod) {
			uint8_t *h = data + (cons & (KU_RING - 1));
			uint32_t len = __atomic_load_n((uint32_t *)h, __ATOMIC_ACQUIRE);
			uint64_t rec[2];

			if (len & BPF_RINGBUF_BUSY_BIT)
				break;
			got = true;
			cons += (len + 8 + 7) & ~7u;
			assert_int_equal(len, sizeof(rec));
			memcpy(rec, h + 8, sizeof(rec));
			if (rec[0] != *next || rec[1] != ~*next)
				fail_msg("record %llu where %llu was due",
					 (unsigned long long)rec[0], (unsigned long long)*next);
			++*next;
			__atomic_store_n(cons_pos, cons, __ATOMIC_RELEASE);
		}
	} while (got);
}

/* A producer thread outputs at ~1 M records/s into a 1 MiB ring while we
 * read it as libbpf's ring_buffer__poll does: epoll_wait on the map fd, then
 * every record. The waiter must tell us of each submit we caught up to (and
 * nothing else needs to): no epoll_wait waits out its second, the ring
 * never fills (22 ms of records would have to wait unread), every record
 * arrives in order. Then, idle, one record wakes us within a few ms. */
static void test_ring_consumer_keeps_up(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 9}, out[2];
	int rb = pf_map_create(t, BPF_MAP_TYPE_RINGBUF, 0, 0, KU_RING, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	size_t len = 2 * 4096 + 2 * KU_RING;
	struct ku_producer p = {0};
	uint64_t next = 0, wakes = 0, stalls = 0;
	int64_t worst = 0;
	uint8_t *mem;
	pthread_t th;
	int fd;

	if (rb < 0)
		skip();
	p.m = pf_obj(t, rb)->map.m;
	/* the file a tool maps (we need no read-only mapping here) */
	fd = open(bpftime_map__file(p.m), O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(mem, MAP_FAILED);
	close(fd);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, rb, &ev), 0);
	assert_int_equal(pthread_create(&th, NULL, ku_produce, &p), 0);
	while (next < KU_RECORDS && stalls < 5) {
		int n = epoll_wait(ep, out, 2, 1000);

		if (n == 0) {
			stalls++;
			continue;
		}
		assert_int_equal(n, 1);
		assert_int_equal(out[0].data.u64, 9);
		wakes++;
		ku_consume(mem, &next);
	}
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	print_message("ring: %llu records in %llu wake-ups; %llu stalls, %llu full\n",
		      (unsigned long long)next, (unsigned long long)wakes,
		      (unsigned long long)stalls, (unsigned long long)p.fulls);
	assert_int_equal(stalls, 0);
	assert_int_equal(next, KU_RECORDS);
	assert_int_equal(p.fulls, 0);
	/* idle: each record wakes the sleeping consumer at once */
	while (epoll_wait(ep, out, 2, 20) > 0)
		ku_consume(mem, &next);
	for (int i = 0; i < 20; i++) {
		uint64_t rec[2] = {next, ~next};
		int64_t t0 = ku_now_ns();

		assert_int_equal(bpftime_map__ringbuf_output(p.m, rec, sizeof(rec), 0, 0), 0);
		assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
		if (ku_now_ns() - t0 > worst)
			worst = ku_now_ns() - t0;
		ku_consume(mem, &next);
		usleep(2000);
	}
	print_message("ring: idle consumer woken within %lld us at worst\n",
		      (long long)(worst / 1000));
	/* a few ms when idle; generous for a loaded machine */
	assert_true(worst < 200 * 1000000LL);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_DEL, rb, NULL), 0);
	munmap(mem, len);
	close(rb);
	close(ep);
}

/* The same with a perf buffer (wakeup_events 1) of 1 MiB, read as libbpf's
 * perf_buffer__poll does: every sample arrives, none is lost. */
static void test_perf_consumer_keeps_up(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 10}, out[2];
	size_t len = 4096 + KU_RING;
	struct perf_event_mmap_page *pg;
	uint64_t next = 0, wakes = 0, stalls = 0, tail;
	struct ku_producer p = {0};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint32_t pea_id;
	pthread_t th;
	uint8_t *data;
	void *mem;
	long fd = output_event_pages(t, &mem, &pea_id, len);

	p.m = bpftime_map__get(t->e->region, pea_id);
	p.perf = true;
	pg = mem;
	data = (uint8_t *)mem + 4096;
	tail = pg->data_tail;
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	assert_int_equal(pthread_create(&th, NULL, ku_produce, &p), 0);
	while (next < KU_RECORDS && stalls < 5) {
		int n = epoll_wait(ep, out, 2, 1000);
		uint64_t head;

		if (n == 0) {
			stalls++;
			continue;
		}
		assert_int_equal(n, 1);
		assert_int_equal(out[0].data.u64, 10);
		wakes++;
		head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
		while (tail < head) {
			struct perf_event_header h;
			uint64_t rec[2];
			uint32_t size;

			memcpy(&h, data + (tail & (KU_RING - 1)), sizeof(h));
			tail += h.size;
			if (h.type == PERF_RECORD_LOST)
				continue; /* the producer retried them: counted as full */
			assert_int_equal(h.type, PERF_RECORD_SAMPLE);
			/* 32-byte records in a 1 MiB buffer: none wraps */
			memcpy(&size, data + ((tail - h.size) & (KU_RING - 1)) + 8, 4);
			assert_int_equal(size, sizeof(rec) + 4);
			memcpy(rec, data + ((tail - h.size) & (KU_RING - 1)) + 12, sizeof(rec));
			if (rec[0] != next || rec[1] != ~next)
				fail_msg("sample %llu where %llu was due",
					 (unsigned long long)rec[0], (unsigned long long)next);
			next++;
		}
		__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&p.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	print_message("perf: %llu samples in %llu wake-ups; %llu stalls, %llu full\n",
		      (unsigned long long)next, (unsigned long long)wakes,
		      (unsigned long long)stalls, (unsigned long long)p.fulls);
	assert_int_equal(stalls, 0);
	assert_int_equal(next, KU_RECORDS);
	assert_int_equal(p.fulls, 0);
	assert_int_equal(bpftime_map__perfbuf_lost_samples(bpftime_map__get(
			     t->e->region, emul_perf_buffer_id(t->e, pf_obj(t, (int)fd)))),
			 0);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_DEL, (int)fd, NULL), 0);
	bpftime_map__destroy(t->e->region, pea_id);
	munmap(mem, len);
	close((int)fd);
	close(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_buffer_wakes_epoll),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_maps),
	    cmocka_unit_test(test_ring_consumer_keeps_up),
	    cmocka_unit_test(test_perf_consumer_keeps_up),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
