// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK: creation checks, the syscall
 * side (update = push, lookup = peek, lookup_and_delete = pop), the
 * helpers, BPF_EXIST overwriting the oldest element, threads, a child
 * process that joins by path, and holders killed mid-operation. Expected
 * errnos are Linux 6.18's answers (probed with libbpf).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "maps-test.h"
#include "maps-test-kill.h"
#include "map-internal.h"

#define Q BPF_MAP_TYPE_QUEUE
#define S BPF_MAP_TYPE_STACK

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

static struct bpftime_map *new_map(void **state, uint32_t type, uint32_t vs, uint32_t max)
{
	struct bpftime_map_attr a = mt_attr(type, 0, vs, max, 0);

	return mt_map_new(*state, &a);
}

static int push(struct bpftime_map *m, uint32_t v, uint64_t flags)
{
	return bpftime_map__update_elem(m, NULL, &v, flags);
}

static int pop(struct bpftime_map *m, uint32_t *v)
{
	return bpftime_map__lookup_and_delete_elem(m, NULL, v, 0);
}

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t type, key_size, value_size, max_entries, flags;
	uint64_t extra;
	int err;
};

static const struct create_case create_cases[] = {
    {"queue", Q, 0, 4, 4, 0, 0, 0},
    {"stack", S, 0, 4, 4, 0, 0, 0},
    {"key_size 4", Q, 4, 4, 4, 0, 0, -EINVAL},
    {"value_size 0", Q, 0, 0, 4, 0, 0, -EINVAL},
    {"max_entries 0", S, 0, 4, 0, 0, 0, -EINVAL},
    {"no prealloc", Q, 0, 4, 4, BPF_F_NO_PREALLOC, 0, -EINVAL},
    {"zero seed", S, 0, 4, 4, BPF_F_ZERO_SEED, 0, -EINVAL},
    {"inner map", Q, 0, 4, 4, BPF_F_INNER_MAP, 0, -EINVAL},
    {"rdonly prog", Q, 0, 4, 4, BPF_F_RDONLY_PROG, 0, 0},
    {"wronly prog", S, 0, 4, 4, BPF_F_WRONLY_PROG, 0, 0},
    {"rdonly and wronly prog", Q, 0, 4, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, 0, -EINVAL},
    {"rdonly fd", Q, 0, 4, 4, BPF_F_RDONLY, 0, 0},
    {"numa node 0", Q, 0, 4, 4, BPF_F_NUMA_NODE, 0, 0},
    {"map_extra", Q, 0, 4, 4, 0, 1, -EINVAL},
    {"value 4 MiB", Q, 0, 4u << 20, 1, 0, 0, 0},
    {"value 4 MiB + 1", S, 0, (4u << 20) + 1, 1, 0, 0, -E2BIG},
    {"value too big beats key_size", S, 4, (4u << 20) + 1, 1, 0, 0, -EINVAL},
    /* 16 GiB of slots: the kernel's vmalloc fails, our region too */
    {"max_entries U32_MAX", Q, 0, 4, UINT32_MAX, 0, 0, -ENOMEM},
};

static void test_create_checks(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    mt_attr(c->type, c->key_size, c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err;

		a.map_extra = c->extra;
		err = bpftime_map__create(*state, &a, &id);
		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
	}
}

/* ---- syscall side ---- */

static void test_queue_is_fifo_and_exist_drops_the_oldest(void **state)
{
	struct bpftime_map *m = new_map(state, Q, 4, 3);
	uint32_t v = 99;

	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), -ENOENT);
	assert_int_equal(pop(m, &v), -ENOENT);
	assert_int_equal(v, 99); /* the syscall side leaves the buffer alone */
	for (uint32_t i = 1; i <= 3; i++)
		assert_int_equal(push(m, i, BPF_ANY), 0);
	assert_int_equal(push(m, 4, BPF_ANY), -E2BIG);
	assert_int_equal(push(m, 4, BPF_EXIST), 0); /* drops 1 */
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
	assert_int_equal(v, 2);
	for (uint32_t i = 2; i <= 4; i++) {
		assert_int_equal(pop(m, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(pop(m, &v), -ENOENT);
}

static void test_stack_is_lifo_and_exist_drops_the_oldest(void **state)
{
	struct bpftime_map *m = new_map(state, S, 4, 3);
	uint32_t v = 0;

	for (uint32_t i = 1; i <= 3; i++)
		assert_int_equal(push(m, i, BPF_ANY), 0);
	assert_int_equal(push(m, 4, BPF_ANY), -E2BIG);
	assert_int_equal(push(m, 4, BPF_EXIST), 0); /* drops 1, the bottom */
	assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
	assert_int_equal(v, 4);
	for (uint32_t i = 4; i >= 2; i--) {
		assert_int_equal(pop(m, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(pop(m, &v), -ENOENT);
}

static void test_refusals(void **state)
{
	uint32_t types[] = {Q, S}, key = 0, v = 1;

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		struct bpftime_map *m = new_map(state, types[i], 4, 2);
		uint32_t n = 1;
		uint8_t tok[4];

		/* queue_stack_map_push_elem(): BPF_NOEXIST and unknown flags */
		assert_int_equal(push(m, 1, BPF_NOEXIST), -EINVAL);
		assert_int_equal(push(m, 1, 3), -EINVAL);
		assert_int_equal(push(m, 1, BPF_F_LOCK), -EINVAL);
		/* key_size 0: a key pointer is refused before anything else */
		assert_int_equal(bpftime_map__update_elem(m, &key, &v, BPF_EXIST), -EINVAL);
		assert_int_equal(bpftime_map__lookup_elem(m, &key, &v, 0), -EINVAL);
		assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &key, &v, 0), -EINVAL);
		assert_int_equal(bpftime_map__delete_elem(m, &key), -EINVAL);
		assert_int_equal(bpftime_map__delete_elem(m, NULL), -EINVAL);
		assert_int_equal(bpftime_map__get_next_key(m, NULL, &key), -EINVAL);
		assert_int_equal(bpftime_map__get_next_key(m, &key, &key), -EINVAL);
		assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, BPF_F_LOCK), -EINVAL);
		assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 1), -EINVAL);
		/* map_lookup_and_delete_elem(): no flags at all for these types */
		assert_int_equal(bpftime_map__lookup_and_delete_elem(m, NULL, &v, BPF_F_LOCK),
				 -EINVAL);
		/* no batch op: -ENOTSUPP, whatever the flags */
		assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &key, &v, &n, 0, false),
				 -MT_ENOTSUPP);
		assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &key, &v, &n, 1, true),
				 -MT_ENOTSUPP);
		assert_int_equal(bpftime_map__update_batch(m, &key, &v, &n, 0), -MT_ENOTSUPP);
		assert_int_equal(bpftime_map__delete_batch(m, &key, &n, BPF_F_LOCK), -MT_ENOTSUPP);
		/* frozen: writes are -EPERM, peeks go on */
		assert_int_equal(push(m, 7, BPF_ANY), 0);
		assert_int_equal(bpftime_map__freeze(m), 0);
		assert_int_equal(push(m, 8, BPF_ANY), -EPERM);
		assert_int_equal(bpftime_map__lookup_elem(m, NULL, &v, 0), 0);
		assert_int_equal(v, 7);
		assert_int_equal(pop(m, &v), -EPERM);
		assert_int_equal(bpftime_map__update_batch(m, &key, &v, &n, 0), -EPERM);
		assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &key, &v, &n, 0, true),
				 -EPERM);
		assert_int_equal(bpftime_map__lookup_batch(m, NULL, tok, &key, &v, &n, 0, false),
				 -MT_ENOTSUPP);
	}
}

/* Many laps around the ring, odd value size, against a model. */
static void test_wraparound_against_a_model(void **state)
{
	uint32_t types[] = {Q, S};

	for (size_t t = 0; t < ARRAY_LEN(types); t++) {
		struct bpftime_map *m = new_map(state, types[t], 7, 5);
		uint8_t model[5][7], v[7], got[7];
		unsigned n = 0, seed = 7;

		for (unsigned step = 0; step < 4000; step++) {
			bool is_push = rand_r(&seed) % 2, exist = rand_r(&seed) % 2;

			memset(v, (int)step, sizeof(v));
			v[0] = (uint8_t)(step >> 8);
			if (is_push) {
				int err =
				    bpftime_map__update_elem(m, NULL, v, exist ? BPF_EXIST : 0);

				if (n == 5 && !exist) {
					assert_int_equal(err, -E2BIG);
					continue;
				}
				assert_int_equal(err, 0);
				if (n == 5) { /* the oldest goes */
					memmove(model[0], model[1], 4 * 7);
					n--;
				}
				memcpy(model[n++], v, 7);
				continue;
			}
			if (n == 0) {
				assert_int_equal(
				    bpftime_map__lookup_and_delete_elem(m, NULL, got, 0), -ENOENT);
				continue;
			}
			assert_int_equal(bpftime_map__lookup_and_delete_elem(m, NULL, got, 0), 0);
			if (types[t] == Q) {
				assert_memory_equal(got, model[0], 7);
				memmove(model[0], model[1], (size_t)(n - 1) * 7);
			} else {
				assert_memory_equal(got, model[n - 1], 7);
			}
			n--;
		}
	}
}

/* ---- program side ---- */

static void test_helpers(void **state)
{
	uint32_t types[] = {Q, S};

	for (size_t t = 0; t < ARRAY_LEN(types); t++) {
		struct bpftime_map *m = new_map(state, types[t], 8, 2);
		uint64_t v = 0x1122334455667788ull, got = 1;
		uint32_t key = 0;

		/* empty: -ENOENT, and the helpers zero the value */
		assert_int_equal(bpftime_map__prog_peek(m, &got), -ENOENT);
		assert_int_equal(got, 0);
		got = 1;
		assert_int_equal(bpftime_map__prog_pop(m, &got), -ENOENT);
		assert_int_equal(got, 0);
		assert_int_equal(bpftime_map__prog_push(m, &v, BPF_NOEXIST), -EINVAL);
		assert_int_equal(bpftime_map__prog_push(m, &v, 0), 0);
		v++;
		assert_int_equal(bpftime_map__prog_push(m, &v, 0), 0);
		assert_int_equal(bpftime_map__prog_push(m, &v, 0), -E2BIG);
		assert_int_equal(bpftime_map__prog_peek(m, &got), 0);
		assert_int_equal(got, types[t] == Q ? v - 1 : v);
		assert_int_equal(bpftime_map__prog_pop(m, &got), 0);
		assert_int_equal(got, types[t] == Q ? v - 1 : v);
		/* what the verifier refuses answers as the kernel's ops would */
		assert_null(bpftime_map__prog_lookup(m, &key, 0));
		assert_int_equal(bpftime_map__prog_update(m, &key, &v, 0, 0), -EINVAL);
		assert_int_equal(bpftime_map__prog_delete(m, &key, 0), -EINVAL);
	}
}

/* ---- threads ---- */

#define PRODUCERS    2
#define CONSUMERS    2
#define PER_PRODUCER 4000

struct thr {
	struct bpftime_map *m;
	uint32_t id;
	uint32_t *taken;   /* consumers: total taken, shared */
	uint32_t *seen;    /* consumers: count per value */
	bool order_broken; /* consumers: a producer's values out of order; pushers: a failure */
};

static void *producer(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		uint32_t v = t->id << 20 | i;

		while (bpftime_map__prog_push(t->m, &v, 0) == -E2BIG)
			;
	}
	return NULL;
}

static void *consumer(void *p)
{
	struct thr *t = p;
	uint32_t last[PRODUCERS];

	memset(last, 0xff, sizeof(last));
	while (__atomic_load_n(t->taken, __ATOMIC_RELAXED) < PRODUCERS * PER_PRODUCER) {
		uint32_t v, who, seq;

		if (bpftime_map__prog_pop(t->m, &v))
			continue;
		__atomic_fetch_add(t->taken, 1, __ATOMIC_RELAXED);
		who = v >> 20;
		seq = v & 0xfffff;
		__atomic_fetch_add(&t->seen[who * PER_PRODUCER + seq], 1, __ATOMIC_RELAXED);
		/* FIFO: one consumer sees a producer's values in order */
		if (last[who] != UINT32_MAX && seq <= last[who])
			t->order_broken = true;
		last[who] = seq;
	}
	return NULL;
}

static void test_threads_queue_every_value_once_in_order(void **state)
{
	struct bpftime_map *m = new_map(state, Q, 4, 16);
	uint32_t *seen = calloc(PRODUCERS * PER_PRODUCER, sizeof(*seen)), taken = 0;
	struct thr ts[PRODUCERS + CONSUMERS];
	pthread_t th[PRODUCERS + CONSUMERS];

	assert_non_null(seen);
	for (uint32_t i = 0; i < PRODUCERS + CONSUMERS; i++) {
		ts[i] = (struct thr){.m = m, .id = i, .taken = &taken, .seen = seen};
		assert_int_equal(
		    pthread_create(&th[i], NULL, i < PRODUCERS ? producer : consumer, &ts[i]), 0);
	}
	for (uint32_t i = 0; i < PRODUCERS + CONSUMERS; i++)
		pthread_join(th[i], NULL);
	for (uint32_t i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		assert_int_equal(seen[i], 1);
	for (uint32_t i = PRODUCERS; i < PRODUCERS + CONSUMERS; i++)
		assert_false(ts[i].order_broken);
	free(seen);
}

static void *stack_pusher(void *p)
{
	struct thr *t = p;

	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		if (push(t->m, t->id << 20 | i, 0))
			t->order_broken = true; /* no cmocka asserts off the main thread */
	}
	return NULL;
}

static void *stack_popper(void *p)
{
	struct thr *t = p;
	uint32_t v;

	while (pop(t->m, &v) == 0)
		__atomic_fetch_add(&t->seen[(v >> 20) * PER_PRODUCER + (v & 0xfffff)], 1,
				   __ATOMIC_RELAXED);
	return NULL;
}

static void test_threads_stack_every_value_once(void **state)
{
	struct bpftime_map *m = new_map(state, S, 4, 4 * PER_PRODUCER);
	uint32_t *seen = calloc(4 * PER_PRODUCER, sizeof(*seen));
	struct thr ts[4];
	pthread_t th[4];

	assert_non_null(seen);
	for (uint32_t i = 0; i < 4; i++) {
		ts[i] = (struct thr){.m = m, .id = i, .seen = seen};
		assert_int_equal(pthread_create(&th[i], NULL, stack_pusher, &ts[i]), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_false(ts[i].order_broken);
	}
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stack_popper, &ts[i]), 0);
	for (uint32_t i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (uint32_t i = 0; i < 4 * PER_PRODUCER; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
}

/* ---- processes ---- */

static void test_child_joins_by_path_and_pushes(void **state)
{
	struct bpftime_map *m = new_map(state, Q, 4, 128);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m), v;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;

		if (!cm)
			_exit(2);
		for (uint32_t i = 0; i < 100; i++)
			if (push(cm, 1000 + i, 0))
				_exit(3);
		bpftime_map_region__close(r);
		_exit(0);
	}
	assert_int_equal(mt_wait(pid), 0);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(pop(m, &v), 0);
		assert_int_equal(v, 1000 + i);
	}
	assert_int_equal(pop(m, &v), -ENOENT);
}

/*
 * A child pushes an increasing counter (overwriting when full) and pops,
 * and is killed while it holds the lock; then the queue must still be a
 * run of increasing values no longer than max_entries, and work normally.
 */
static void test_killed_holder_leaves_a_consistent_queue(void **state)
{
	struct bpftime_map *m = new_map(state, Q, 4, 64);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m);
	unsigned seed = 42, caught = 0;

	for (int round = 0; round < 6; round++) {
		uint32_t v, prev = 0, n = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct bpftime_map_region *r = mt_region_join(path);
			struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;

			if (!cm)
				_exit(2);
			for (uint32_t i = 1;; i++) {
				push(cm, i, BPF_EXIST);
				if (i % 3 == 0)
					pop(cm, &v);
			}
		}
		caught += mt_kill_in_lock(pid, &m->d->lock, 200, &seed);
		while (pop(m, &v) == 0) {
			assert_true(v > prev);
			prev = v;
			n++;
		}
		assert_true(n <= 64);
		for (uint32_t i = 0; i < 64; i++)
			assert_int_equal(push(m, i, 0), 0);
		assert_int_equal(push(m, 64, 0), -E2BIG);
		for (uint32_t i = 0; i < 64; i++) {
			assert_int_equal(pop(m, &v), 0);
			assert_int_equal(v, i);
		}
	}
	print_message("killed holding the lock in %u of 6 rounds\n", caught);
	assert_true(caught > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_queue_is_fifo_and_exist_drops_the_oldest),
	    cmocka_unit_test(test_stack_is_lifo_and_exist_drops_the_oldest),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_wraparound_against_a_model),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_threads_queue_every_value_once_in_order),
	    cmocka_unit_test(test_threads_stack_every_value_once),
	    cmocka_unit_test(test_child_joins_by_path_and_pushes),
	    cmocka_unit_test(test_killed_holder_leaves_a_consistent_queue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
