// SPDX-License-Identifier: MIT
/*
 * Stress: several processes (children that join the region by path), each
 * with several threads, hammer one HASH map and one RINGBUF map at once,
 * as programs in several target processes would:
 *   - atomic adds on shared counters through program-side pointers, plus a
 *     per-process counter only that process adds to;
 *   - update / lookup / delete of keys private to each thread;
 *   - one ring buffer record every few iterations, read by the parent the
 *     way libbpf reads a ring buffer's mmap.
 * The totals must be exact and every record must arrive exactly once, in
 * order per thread. A second run SIGKILLs one writer process mid-run: the
 * others must finish (no deadlock on a lock it held), their totals and
 * records must still be exact, and the map must stay consistent.
 *
 * Skips (77) while HASH or RINGBUF are missing from our registry.
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
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>
#include "maps-test.h"

#define PROCS     3
#define THREADS   2
#define ITERS     200000
#define COUNTERS  8    /* keys 0..7: added to by every thread */
#define PROC_KEY  100  /* key 100 + p: added to by process p only */
#define PRIV_KEY  1000 /* keys of one thread: 1000 + 8 * (p * THREADS + t) + 0..7 */
#define REC_EVERY 4
#define RB_SIZE   (64u << 10)
#define PAGE      4096u
#define DEADLINE  30 /* seconds: beyond this, something is stuck */

/* The kernel's ring buffer record header bits (uapi BPF_RINGBUF_*). */
#define RB_BUSY    (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR     8u

struct record {
	uint32_t proc, thread, seq, check;
};

struct stress {
	struct bpftime_map_region *r;
	const char *path;
	uint32_t hash_id, rb_id;
	/* consumer state: the next sequence number expected per thread */
	uint32_t next[PROCS][THREADS];
	uint8_t *rb; /* the ring buffer file, as a tool maps it */
	size_t rb_len;
};

/* ---- the writers (child processes; no cmocka in there) ---- */

struct writer {
	struct bpftime_map_region *r;
	struct bpftime_map *hash, *rb;
	uint32_t proc, thread;
	uint32_t iters; /* UINT32_MAX: until killed */
	int err;        /* the first failure: a line number */
};

#define WFAIL(w)                                                                                   \
	do {                                                                                       \
		if (!(w)->err)                                                                     \
			(w)->err = __LINE__;                                                       \
		return;                                                                            \
	} while (0)

/* One "program run": counters, a private key's life, maybe a record. */
static void run_once(struct writer *w, uint32_t i, uint32_t slot, uint32_t tid, uint32_t *seq)
{
	uint32_t key = i % COUNTERS, pkey = PROC_KEY + w->proc;
	uint64_t *v, val = i;

	v = bpftime_map__prog_lookup(w->hash, &key, slot);
	if (!v)
		WFAIL(w);
	__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
	v = bpftime_map__prog_lookup(w->hash, &pkey, slot);
	if (!v)
		WFAIL(w);
	__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
	if (i % 8 == 0) {
		key = PRIV_KEY + 8 * (w->proc * THREADS + w->thread) + (i / 8) % 8;
		if (bpftime_map__prog_update(w->hash, &key, &val, BPF_NOEXIST, slot))
			WFAIL(w);
		v = bpftime_map__prog_lookup(w->hash, &key, slot);
		if (!v || *v != val)
			WFAIL(w);
		if (bpftime_map__prog_delete(w->hash, &key, slot) ||
		    bpftime_map__prog_lookup(w->hash, &key, slot))
			WFAIL(w);
	}
	if (i % REC_EVERY == 0) {
		struct record rec = {w->proc, w->thread, *seq, *seq ^ 0xdeadbeef};

		/* a full ring: wait for the consumer, as a program would drop */
		while (bpftime_map__ringbuf_output(w->rb, &rec, sizeof(rec), 0, tid) == -EAGAIN)
			sched_yield();
		(*seq)++;
	}
}

static void *writer_thread(void *p)
{
	struct writer *w = p;
	uint32_t tid = mt_tid(), seq = 0, slot = 0;

	for (uint32_t i = 0; i < w->iters && !w->err; i++) {
		/* a CPU slot per burst of runs, as the agent takes one per run */
		if (i % 64 == 0)
			slot = bpftime_map_region__cpu_get(w->r, w->thread, tid);
		run_once(w, i, slot, tid, &seq);
		if (i % 64 == 63 || i == w->iters - 1)
			bpftime_map_region__cpu_put(w->r, slot);
	}
	return NULL;
}

static int writer_process(const struct stress *s, uint32_t proc, uint32_t iters)
{
	struct bpftime_map_region *r = mt_region_join(s->path);
	struct writer w[THREADS];
	pthread_t th[THREADS];

	if (!r)
		return 100;
	for (uint32_t t = 0; t < THREADS; t++) {
		w[t] = (struct writer){.r = r, .proc = proc, .thread = t, .iters = iters};
		w[t].hash = bpftime_map__get(r, s->hash_id);
		w[t].rb = bpftime_map__get(r, s->rb_id);
		if (!w[t].hash || !w[t].rb)
			return 101;
	}
	for (uint32_t t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, writer_thread, &w[t]))
			return 102;
	for (uint32_t t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (uint32_t t = 0; t < THREADS; t++)
		if (w[t].err) {
			fprintf(stderr, "stress: process %u thread %u failed at line %d\n", proc, t,
				w[t].err);
			return 1;
		}
	bpftime_map_region__close(r);
	return 0;
}

/* ---- the consumer (the parent) ---- */

/* The writers of the running test, for the teardown to kill when a check
 * failed half-way (they would spin on a ring nobody drains). */
static pid_t writers[PROCS];

static void start_writers(const struct stress *s, uint32_t victim_iters)
{
	for (uint32_t p = 0; p < PROCS; p++) {
		writers[p] = fork();
		assert_true(writers[p] >= 0);
		if (writers[p] == 0)
			_exit(writer_process(s, p, p == 0 ? victim_iters : ITERS));
	}
}

/* The run under way, for the teardown after a failed check. */
static struct stress *current;

static void stress_teardown(struct stress *s);

static int kill_writers(void **state)
{
	for (uint32_t p = 0; p < PROCS; p++)
		if (writers[p] > 0) {
			kill(writers[p], SIGKILL);
			mt_wait(writers[p]);
			writers[p] = 0;
		}
	if (current)
		stress_teardown(current);
	return 0;
}

/* Read every complete record, as libbpf's ringbuf_process_ring does; the
 * number read. */
static unsigned consume(struct stress *s)
{
	uint64_t *cons = (uint64_t *)s->rb, *prod = (uint64_t *)(s->rb + PAGE);
	uint8_t *data = s->rb + 2 * PAGE;
	uint64_t c = __atomic_load_n(cons, __ATOMIC_ACQUIRE), p;
	unsigned n = 0;

	/* Pairs with the producers' release of producer_pos. */
	p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
	while (c < p) {
		uint32_t *hdr = (uint32_t *)(data + (c & (RB_SIZE - 1)));
		/* Pairs with the release of the header at submit. */
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		const struct record *rec = (const void *)(hdr + 2);

		if (len & RB_BUSY)
			break;
		if (!(len & RB_DISCARD)) {
			assert_int_equal(len, sizeof(*rec));
			assert_true(rec->proc < PROCS && rec->thread < THREADS);
			assert_int_equal(rec->check, rec->seq ^ 0xdeadbeef);
			/* exactly once, in order per thread */
			assert_int_equal(rec->seq, s->next[rec->proc][rec->thread]);
			s->next[rec->proc][rec->thread]++;
			n++;
		}
		c += (RB_HDR + (len & ~(RB_BUSY | RB_DISCARD)) + 7) / 8 * 8;
		/* Pairs with the producers' acquire of consumer_pos. */
		__atomic_store_n(cons, c, __ATOMIC_RELEASE);
	}
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Consume until every child has exited and the ring is drained. */
static void consume_until_done(struct stress *s, int *status, bool kill_victim, unsigned kill_after)
{
	pid_t *pids = writers, victim = kill_victim ? writers[0] : 0;
	struct bpftime_map *rb = bpftime_map__get(s->r, s->rb_id);
	double end = now() + DEADLINE;
	unsigned live = PROCS, got = 0;

	while (live || bpftime_map__ringbuf_ready(rb) > 0) {
		got += consume(s);
		if (victim > 0 && got >= kill_after) {
			assert_int_equal(kill(victim, SIGKILL), 0);
			victim = 0;
		}
		for (unsigned i = 0; i < PROCS; i++) {
			int st;

			if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				pids[i] = 0;
				live--;
			}
		}
		if (now() > end) {
			for (unsigned i = 0; i < PROCS; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			fail_msg("stuck: %u writer processes still running after %d s", live,
				 DEADLINE);
		}
		/* wakes on a record; also discards records whose producer died */
		bpftime_map__ringbuf_wait(rb, 10);
	}
	got += consume(s);
}

/* ---- setup and checks ---- */

static void stress_setup(struct stress *s)
{
	struct bpftime_map_attr ha = mt_attr(BPF_MAP_TYPE_HASH, 4, 8, 256, 0);
	struct bpftime_map_attr ra = mt_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, RB_SIZE, 0);
	struct bpftime_map *h, *rb;
	uint64_t zero = 0;
	int fd;

	memset(s, 0, sizeof(*s));
	current = s;
	s->r = mt_region_create(4, 0);
	s->path = bpftime_map_region__path(s->r);
	h = mt_map_new(s->r, &ha);
	rb = mt_map_new(s->r, &ra);
	s->hash_id = bpftime_map__id(h);
	s->rb_id = bpftime_map__id(rb);
	for (uint32_t k = 0; k < COUNTERS; k++)
		assert_int_equal(bpftime_map__update_elem(h, &k, &zero, BPF_NOEXIST), 0);
	for (uint32_t p = 0; p < PROCS; p++)
		assert_int_equal(bpftime_map__update_elem(h, &(uint32_t){PROC_KEY + p}, &zero, 0),
				 0);
	assert_non_null(bpftime_map__file(rb));
	fd = open(bpftime_map__file(rb), O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	s->rb_len = 2 * PAGE + 2 * RB_SIZE;
	s->rb = mmap(NULL, s->rb_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(s->rb != MAP_FAILED);
}

static void stress_teardown(struct stress *s)
{
	if (s->rb)
		munmap(s->rb, s->rb_len);
	mt_region_destroy(s->r);
	current = NULL;
}

static uint64_t value_of(struct bpftime_map *h, uint32_t key)
{
	uint64_t v = 0;

	assert_int_equal(bpftime_map__lookup_elem(h, &key, &v, 0), 0);
	return v;
}

/* Walk the map: each key once, each walked key found; the private keys
 * left (a killed thread may leave the one it was between update and
 * delete) belong to @dead_proc. */
static void check_walk(struct bpftime_map *h, int dead_proc)
{
	uint32_t key, prev = 0, seen[512], n = 0, priv = 0;
	uint64_t v;

	while (bpftime_map__get_next_key(h, n ? &prev : NULL, &key) == 0) {
		assert_true(n < ARRAY_LEN(seen));
		for (uint32_t i = 0; i < n; i++)
			assert_int_not_equal(seen[i], key);
		seen[n++] = key;
		assert_int_equal(bpftime_map__lookup_elem(h, &key, &v, 0), 0);
		if (key >= PRIV_KEY) {
			uint32_t owner = (key - PRIV_KEY) / 8 / THREADS;

			assert_int_equal(owner, dead_proc);
			priv++;
		}
		prev = key;
	}
	assert_int_equal(n, COUNTERS + PROCS + priv);
	assert_true(priv <= THREADS);
}

static void test_hash_and_ringbuf_under_load(void **state)
{
	struct stress s;
	int status[PROCS];
	struct bpftime_map *h;
	uint64_t total = 0;

	stress_setup(&s);
	start_writers(&s, ITERS);
	consume_until_done(&s, status, false, 0);
	h = bpftime_map__get(s.r, s.hash_id);
	for (uint32_t p = 0; p < PROCS; p++) {
		assert_int_equal(status[p], 0);
		assert_int_equal(value_of(h, PROC_KEY + p), (uint64_t)THREADS * ITERS);
		for (uint32_t t = 0; t < THREADS; t++)
			assert_int_equal(s.next[p][t], ITERS / REC_EVERY);
	}
	for (uint32_t k = 0; k < COUNTERS; k++) {
		assert_int_equal(value_of(h, k), (uint64_t)PROCS * THREADS * ITERS / COUNTERS);
		total += value_of(h, k);
	}
	assert_int_equal(total, (uint64_t)PROCS * THREADS * ITERS);
	check_walk(h, -1);
	stress_teardown(&s);
}

/* After the kill: the map still takes every operation, and fills to within
 * a few elements of max_entries (a killed thread may lose the element it
 * had taken from the free list: see map-sync.h). */
static void check_usable(struct bpftime_map *h)
{
	uint32_t n = 0, live = 0, key, prev;
	uint64_t v = 7;
	int err = 0;

	for (key = 5000; !err; key++, n++)
		err = bpftime_map__update_elem(h, &key, &v, BPF_NOEXIST);
	assert_int_equal(err, -E2BIG);
	for (bool first = true; bpftime_map__get_next_key(h, first ? NULL : &prev, &key) == 0;
	     first = false, prev = key)
		live++;
	assert_true(live + THREADS >= 256);
	for (key = 5000; key < 5000 + n - 1; key++)
		assert_int_equal(bpftime_map__delete_elem(h, &key), 0);
}

/* One run in which process 0, which writes until killed, is killed after
 * @tenths tenths of the others' records. */
static void killed_run(unsigned tenths)
{
	struct stress s;
	int status[PROCS];
	struct bpftime_map *h;

	stress_setup(&s);
	start_writers(&s, UINT32_MAX);
	consume_until_done(&s, status, true,
			   (PROCS - 1) * THREADS * ITERS / REC_EVERY / 10 * tenths);
	h = bpftime_map__get(s.r, s.hash_id);
	assert_int_equal(status[0], 128 + SIGKILL);
	for (uint32_t p = 1; p < PROCS; p++) {
		assert_int_equal(status[p], 0);
		assert_int_equal(value_of(h, PROC_KEY + p), (uint64_t)THREADS * ITERS);
		for (uint32_t t = 0; t < THREADS; t++)
			assert_int_equal(s.next[p][t], ITERS / REC_EVERY);
	}
	/* the victim's records came in order, as far as it got (consume checks) */
	check_walk(h, 0);
	check_usable(h);
	stress_teardown(&s);
}

/* Kills at several points: each has a chance to land inside a critical
 * section (a bucket lock, a ring buffer reservation). */
static void test_writer_killed_mid_run(void **state)
{
	for (unsigned tenths = 1; tenths <= 9; tenths += 2)
		killed_run(tenths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hash_and_ringbuf_under_load, kill_writers),
	    cmocka_unit_test_teardown(test_writer_killed_mid_run, kill_writers),
	};

	if (!mt_type_present(BPF_MAP_TYPE_HASH) || !mt_type_present(BPF_MAP_TYPE_RINGBUF)) {
		printf("stress: HASH or RINGBUF not in the registry yet: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
