// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-maps (see bench-maps.h): for each map type and operation,
 * from one thread and from two at once, the median ns per operation of our
 * program side, our syscall side and the kernel's bpf(2), in one table.
 * --quick runs a few operations of each: a smoke test that every engine
 * works, never a timing.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include "bench-maps.h"

#define SAMPLE_NS 20000000ull /* 20 ms */
#define SAMPLES   5

static const struct bench_map maps[] = {
    {"array", BPF_MAP_TYPE_ARRAY, 0},       {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 0},
    {"hash", BPF_MAP_TYPE_HASH, 0},         {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 0},
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH, 0}, {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 0},
};
static const char *const op_names[OP__COUNT] = {"lookup", "update", "delete"};
static const char *const eng_names[ENG__COUNT] = {"ours (program side)", "ours (syscall side)",
						  "kernel bpf(2)"};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct job {
	struct bench_target *t;
	enum bench_op op;
	uint64_t iters;
	unsigned thread;
	pthread_barrier_t *start;
	int err;
	uint64_t ns; /* this thread's own time: the main thread may not run meanwhile */
};

static void *worker(void *arg)
{
	struct job *j = arg;
	uint64_t t0;

	pthread_barrier_wait(j->start);
	t0 = now_ns();
	j->err = j->t->run(j->t, j->op, j->iters, j->thread);
	j->ns = now_ns() - t0;
	return NULL;
}

/* The slowest of @threads threads doing @iters operations each, together. */
static int timed(struct bench_target *t, enum bench_op op, uint64_t iters, unsigned threads,
		 uint64_t *ns)
{
	pthread_barrier_t start;
	struct job jobs[2];
	pthread_t th[2];
	int err = 0;

	pthread_barrier_init(&start, NULL, threads + 1);
	for (unsigned i = 0; i < threads; i++) {
		jobs[i] = (struct job){t, op, iters, i, &start, 0, 0};
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	}
	pthread_barrier_wait(&start);
	*ns = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].err && !err)
			err = jobs[i].err;
		if (jobs[i].ns > *ns)
			*ns = jobs[i].ns;
	}
	pthread_barrier_destroy(&start);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per operation (per thread), or NAN with *err set. */
static double measure(struct bench_target *t, enum bench_op op, unsigned threads, bool quick,
		      int *err)
{
	uint64_t iters = op == OP_DELETE ? BENCH_KEYS : 1000, ns;
	double s[SAMPLES];
	int n = quick ? 1 : SAMPLES;

	if (op != OP_DELETE && !quick) {
		/* grow until one sample takes about SAMPLE_NS */
		for (;;) {
			*err = timed(t, op, iters, threads, &ns);
			if (*err)
				return NAN;
			if (ns >= SAMPLE_NS / 4 || iters >= (1ull << 32))
				break;
			iters *= 4;
		}
		iters = iters * SAMPLE_NS / (ns ? ns : 1) + 1;
	}
	for (int i = 0; i < n; i++) {
		*err = timed(t, op, iters, threads, &ns);
		if (!*err && op == OP_DELETE)
			*err = t->refill(t);
		if (*err)
			return NAN;
		s[i] = (double)ns / (double)iters;
	}
	qsort(s, (size_t)n, sizeof(s[0]), cmp_double);
	return s[n / 2];
}

static struct bench_target *open_engine(const struct bench_map *m, enum bench_engine e, char *why,
					unsigned len)
{
	if (e == ENG_KERNEL)
		return bench_kernel_open(m, why, len);
	return bench_ours_open(m, e == ENG_PROG, why, len);
}

static void print_cell(double v)
{
	if (isnan(v))
		printf(" %12s |", "n/a");
	else
		printf(" %12.1f |", v);
}

/* One map: every op, 1 and 2 threads, every engine. Returns failures. */
static int bench_map(const struct bench_map *m, bool quick)
{
	struct bench_target *t[ENG__COUNT];
	char why[ENG__COUNT][160];
	double v[OP__COUNT][2][ENG__COUNT];
	int failures = 0;

	for (int e = 0; e < ENG__COUNT; e++) {
		why[e][0] = '\0';
		t[e] = open_engine(m, (enum bench_engine)e, why[e], sizeof(why[e]));
	}
	for (int op = 0; op < OP__COUNT; op++)
		for (unsigned th = 1; th <= 2; th++)
			for (int e = 0; e < ENG__COUNT; e++) {
				int err = 0;
				bool arr = m->type == BPF_MAP_TYPE_ARRAY ||
					   m->type == BPF_MAP_TYPE_PERCPU_ARRAY;

				v[op][th - 1][e] = NAN;
				/* elements of arrays cannot be deleted */
				if (!t[e] || (op == OP_DELETE && arr))
					continue;
				v[op][th - 1][e] =
				    measure(t[e], (enum bench_op)op, th, quick, &err);
				if (err) {
					fprintf(stderr, "%s %s %s: %s\n", m->name, op_names[op],
						eng_names[e], strerror(-err));
					failures++;
				}
			}
	for (int op = 0; op < OP__COUNT; op++)
		for (unsigned th = 1; th <= 2; th++) {
			double ours = v[op][th - 1][ENG_PROG], k = v[op][th - 1][ENG_KERNEL];

			if (isnan(ours) && isnan(v[op][th - 1][ENG_SYS]) && isnan(k))
				continue;
			printf("| %-15s | %-6s | %u |", m->name, op_names[op], th);
			for (int e = 0; e < ENG__COUNT; e++)
				print_cell(v[op][th - 1][e]);
			if (!isnan(ours) && !isnan(k))
				printf(" %9.0fx |\n", k / ours);
			else
				printf(" %10s |\n", "n/a");
		}
	for (int e = 0; e < ENG__COUNT; e++) {
		if (t[e])
			t[e]->close(t[e]);
		else
			printf("<!-- %s / %s: %s -->\n", m->name, eng_names[e], why[e]);
	}
	return failures;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	bool quick = false;
	int c, failures = 0;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		if (c == 'q') {
			quick = true;
		} else {
			printf("usage: %s [--quick]\n  ns per map operation: ours (program side, "
			       "syscall side) and the kernel's bpf(2) (root)\n",
			       argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (quick)
		printf("--quick: a few operations per cell; the figures mean nothing\n\n");
	printf("| map | op | threads | %s ns | %s ns | %s ns | kernel / ours (program) |\n",
	       eng_names[0], eng_names[1], eng_names[2]);
	printf("|---|---|--:|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		failures += bench_map(&maps[i], quick);
	failures += bench_ringbuf(BENCH_RINGBUF_OBJ, quick);
	return failures ? 1 : 0;
}
