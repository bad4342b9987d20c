// SPDX-License-Identifier: MIT
/*
 * bench/maps ring buffer rows: 16-byte records delivered per second, with a
 * consumer reading concurrently, ours next to the kernel's.
 *
 * One consumer serves both: it reads the ring through mmap in the kernel's
 * layout (consumer page, producer page, data mapped twice), as libbpf's
 * ring_buffer does; our ring buffer's file has that layout (with a mirror
 * for the second copy), so the same code reads both. Producers never retry
 * a full ring: a record without room is counted as dropped, like
 * bpf_ringbuf_output() failing in a program.
 *
 *   ours     threads calling bpftime_map__ringbuf_output()
 *   kernel   an XDP program run by BPF_PROG_TEST_RUN, RB_BATCH
 *            bpf_ringbuf_output() per run through bpf_loop (root only)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpftime/maps.h>
#include "bench-maps.h"

#define RB_SIZE    (1u << 20)
#define RB_PAGE    4096u
#define RB_BATCH   4096 /* as progs/ringbuf.bpf.c */
#define RB_BUSY    (1u << 31)
#define RB_DISCARD (1u << 30)

struct consumer {
	uint8_t *cons_page; /* consumer_pos at 0 (read-write) */
	uint8_t *prod_area; /* producer_pos at 0, data (twice) from RB_PAGE */
	volatile bool stop; /* producers finished: drain and return */
	uint64_t records;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Consume what is there; the number of records read. */
static uint64_t drain(struct consumer *c)
{
	uint64_t *cons_pos = (uint64_t *)c->cons_page;
	uint64_t cons = __atomic_load_n(cons_pos, __ATOMIC_RELAXED), n = 0;
	/* Pairs with the producers' release of producer_pos. */
	uint64_t prod = __atomic_load_n((uint64_t *)c->prod_area, __ATOMIC_ACQUIRE);
	uint8_t *data = c->prod_area + RB_PAGE;

	while (cons < prod) {
		uint32_t *hdr = (uint32_t *)(data + (cons & (RB_SIZE - 1)));
		/* Pairs with the release that cleared the busy bit at submit. */
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

		if (len & RB_BUSY)
			break;
		if (!(len & RB_DISCARD))
			n++;
		cons += ((len & ~(RB_BUSY | RB_DISCARD)) + 8 + 7) & ~7ull;
		/* Pairs with the producers' acquire of consumer_pos. */
		__atomic_store_n(cons_pos, cons, __ATOMIC_RELEASE);
	}
	return n;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;

	while (!c->stop)
		c->records += drain(c);
	c->records += drain(c);
	return NULL;
}

/* ---- ours ---- */

struct producer {
	struct bpftime_map *m;
	uint64_t n, dropped;
};

static void *produce_ours(void *arg)
{
	struct producer *p = arg;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	uint64_t rec[2] = {0, 0x5a5a5a5a};

	for (uint64_t i = 0; i < p->n; i++) {
		rec[0] = i;
		if (bpftime_map__ringbuf_output(p->m, rec, sizeof(rec), 0, tid))
			p->dropped++;
	}
	return NULL;
}

static int map_file(const char *path, struct consumer *c)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	c->cons_page = mmap(NULL, RB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	c->prod_area = mmap(NULL, RB_PAGE + 2 * RB_SIZE, PROT_READ, MAP_SHARED, fd, RB_PAGE);
	close(fd);
	return c->cons_page == MAP_FAILED || c->prod_area == MAP_FAILED ? -ENOMEM : 0;
}

static int rate_ours(unsigned threads, uint64_t per_thread, double *rate, double *drop)
{
	char path[64];
	struct bpftime_map_region_opts ro = {.sz = sizeof(ro), .path = path, .create = true};
	struct bpftime_map_attr a = {.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = RB_SIZE};
	struct producer p[2] = {{0}};
	struct consumer c = {0};
	pthread_t pt[2], ct;
	struct bpftime_map_region *r;
	uint64_t t0, dropped = 0;
	uint32_t id;
	int err;

	snprintf(path, sizeof(path), "/dev/shm/bpftime-bench-rb-%d", (int)getpid());
	r = bpftime_map_region__open(&ro);
	if (!r)
		return -errno;
	err = bpftime_map__create(r, &a, &id);
	if (!err)
		err = map_file(bpftime_map__file(bpftime_map__get(r, id)), &c);
	if (!err) {
		pthread_create(&ct, NULL, consume, &c);
		t0 = now_ns();
		for (unsigned i = 0; i < threads; i++) {
			p[i] = (struct producer){bpftime_map__get(r, id), per_thread, 0};
			pthread_create(&pt[i], NULL, produce_ours, &p[i]);
		}
		for (unsigned i = 0; i < threads; i++) {
			pthread_join(pt[i], NULL);
			dropped += p[i].dropped;
		}
		c.stop = true;
		pthread_join(ct, NULL);
		*rate = (double)c.records * 1e9 / (double)(now_ns() - t0);
		*drop = (double)dropped / (double)(threads * per_thread);
		err = c.records + dropped == threads * per_thread ? 0 : -EIO;
	}
	bpftime_map_region__unlink(r);
	bpftime_map_region__close(r);
	return err;
}

/* ---- kernel ---- */

struct kproducer {
	int prog_fd;
	uint64_t runs;
	int err;
};

static void *produce_kernel(void *arg)
{
	struct kproducer *p = arg;
	char pkt[64] = {0};

	for (uint64_t i = 0; i < p->runs && !p->err; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .repeat = 1);
		p->err = bpf_prog_test_run_opts(p->prog_fd, &o);
	}
	return NULL;
}

static int rate_kernel(const char *obj_path, unsigned threads, uint64_t per_thread, double *rate,
		       double *drop)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	struct kproducer p[2] = {{0}};
	struct consumer c = {0};
	pthread_t pt[2], ct;
	uint64_t t0, dropped = 0, total;
	int err, rb_fd, bss_fd, zero = 0;

	if (!obj)
		return -errno;
	err = bpf_object__load(obj);
	if (err)
		goto out;
	rb_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "rb"));
	bss_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "ringbuf.bss"));
	c.cons_page = mmap(NULL, RB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rb_fd, 0);
	c.prod_area = mmap(NULL, RB_PAGE + 2 * RB_SIZE, PROT_READ, MAP_SHARED, rb_fd, RB_PAGE);
	if (c.cons_page == MAP_FAILED || c.prod_area == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	pthread_create(&ct, NULL, consume, &c);
	t0 = now_ns();
	for (unsigned i = 0; i < threads; i++) {
		p[i].prog_fd =
		    bpf_program__fd(bpf_object__find_program_by_name(obj, "bench_ringbuf"));
		p[i].runs = per_thread / RB_BATCH;
		pthread_create(&pt[i], NULL, produce_kernel, &p[i]);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(pt[i], NULL);
		err = err ? err : p[i].err;
	}
	c.stop = true;
	pthread_join(ct, NULL);
	total = threads * (per_thread / RB_BATCH) * RB_BATCH;
	*rate = (double)c.records * 1e9 / (double)(now_ns() - t0);
	if (!err)
		err = bpf_map_lookup_elem(bss_fd, &zero, &dropped);
	*drop = (double)dropped / (double)total;
out:
	bpf_object__close(obj);
	return err;
}

int bench_ringbuf(const char *obj_path, bool quick)
{
	uint64_t per_thread = quick ? 2 * RB_BATCH : 512 * RB_BATCH;
	int failures = 0;

	printf("\n| ring buffer, 16-byte records | producer threads | records/s delivered | "
	       "dropped (ring full) |\n|---|--:|--:|--:|\n");
	for (unsigned th = 1; th <= 2; th++) {
		double rate = 0, drop = 0;
		int err = rate_ours(th, per_thread, &rate, &drop);

		if (err) {
			fprintf(stderr, "ringbuf ours: %s\n", strerror(-err));
			failures++;
		} else {
			printf("| ours (bpftime_map__ringbuf_output) | %u | %.3g | %.1f%% |\n", th,
			       rate, drop * 100);
		}
		err = rate_kernel(obj_path, th, per_thread, &rate, &drop);
		if (err)
			printf("| kernel (bpf_ringbuf_output, BPF_PROG_TEST_RUN) | %u | n/a (%s) | "
			       "|\n",
			       th, strerror(-err));
		else
			printf(
			    "| kernel (bpf_ringbuf_output, BPF_PROG_TEST_RUN) | %u | %.3g | %.1f%% "
			    "|\n",
			    th, rate, drop * 100);
	}
	return failures;
}
