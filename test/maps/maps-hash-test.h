/* SPDX-License-Identifier: MIT */
/*
 * Helpers for test_maps_hash.c and test_maps_lru.c: whole-map consistency
 * checks, one through the API (a get_next_key walk) and one that looks
 * inside the table (map-hash.h) for what the API cannot show: duplicates
 * between chains and freelists, and elements lost to killed processes.
 * Both are for maps nobody else is changing.
 */
#ifndef BPFTIME_MAPS_HASH_TEST_H
#define BPFTIME_MAPS_HASH_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-hash.h"

/* u32 keys, u64 values: what most cases use. */
static inline int ht_update(struct bpftime_map *m, uint32_t key, uint64_t value, uint64_t flags)
{
	return bpftime_map__update_elem(m, &key, &value, flags);
}

static inline int ht_lookup(struct bpftime_map *m, uint32_t key, uint64_t *value)
{
	return bpftime_map__lookup_elem(m, &key, value, 0);
}

static inline bool ht_has(struct bpftime_map *m, uint32_t key)
{
	uint8_t value[BPFTIME_MAP_MAX_CPUS * 8];

	return bpftime_map__value_size(m) <= sizeof(value) &&
	       bpftime_map__lookup_elem(m, &key, value, 0) == 0;
}

/*
 * Walk from NULL with get_next_key to -ENOENT. Fails on a key seen twice or
 * a walk longer than max_entries; returns the number of keys visited.
 */
static inline uint32_t ht_walk(struct bpftime_map *m)
{
	const struct bpftime_map_attr *a = bpftime_map__attr(m);
	uint32_t ks = a->key_size, n = 0;
	uint8_t *seen = calloc((size_t)a->max_entries + 1, ks), *cur = NULL;
	int err;

	assert_non_null(seen);
	for (;;) {
		uint8_t *next = seen + (size_t)n * ks;

		err = bpftime_map__get_next_key(m, cur, next);
		if (err == -ENOENT)
			break;
		assert_int_equal(err, 0);
		for (uint32_t i = 0; i < n; i++)
			assert_memory_not_equal(seen + (size_t)i * ks, next, ks);
		cur = next;
		n++;
		assert_true(n <= a->max_entries);
	}
	free(seen);
	return n;
}

static inline void ht_mark_freelist(struct htab *h, const struct map_freelist *fl, uint8_t *mark,
				    uint32_t first, uint32_t size)
{
	uint32_t cur = (uint32_t)fl->head;

	while (cur) {
		assert_in_range(cur - 1, first, first + size - 1);
		assert_int_equal(mark[cur - 1], 0);
		mark[cur - 1] = 2;
		cur = htab_fnext(h)[cur - 1];
	}
}

/*
 * Every element of the pool in one place at most: a chain (of the bucket
 * its hash names) or a freelist (of its own LRU list). Locks every bucket
 * first, which repairs those whose holder was killed. Returns the number of
 * elements in no place: lost to killed processes. *@linked: in chains.
 */
static inline uint32_t ht_check_pool(struct bpftime_map *m, uint32_t *linked)
{
	struct htab *h = htab_of(m);
	uint8_t *mark = calloc(h->nr_elems, 1);
	uint32_t lost = 0, n = 0;

	assert_non_null(mark);
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		struct htab_bucket *b = htab_bucket(h, i);

		bpftime_map_htab_lock(h, b, mt_tid());
		assert_int_equal(b->seq % 2, 0);
		assert_int_equal(b->add, 0);
		assert_int_equal(b->del, 0);
		for (uint32_t cur = b->head; cur; cur = htab_elem(h, cur - 1)->next) {
			assert_in_range(cur, 1, h->nr_elems);
			assert_int_equal(mark[cur - 1], 0);
			mark[cur - 1] = 1;
			assert_int_equal(htab_elem(h, cur - 1)->hash & (h->n_buckets - 1), i);
			assert_int_equal(htab_elem(h, cur - 1)->linked, 1);
			n++;
		}
		bpftime_map_htab_unlock(b);
	}
	if (h->nr_lists) {
		for (uint32_t i = 0; i < h->nr_lists; i++) {
			struct htab_lru_list *l = htab_list(h, i);

			ht_mark_freelist(h, &l->free, mark, l->first, l->size);
		}
	} else {
		ht_mark_freelist(h, &h->free, mark, 0, h->nr_elems);
		ht_mark_freelist(h, &h->spare, mark, 0, h->nr_elems);
	}
	for (uint32_t i = 0; i < h->nr_elems; i++)
		lost += !mark[i];
	free(mark);
	if (linked)
		*linked = n;
	return lost;
}

/* Elements on a HASH map's freelist (not the spares). */
static inline uint32_t ht_free_count(struct bpftime_map *m)
{
	struct htab *h = htab_of(m);
	uint32_t n = 0;

	for (uint32_t cur = (uint32_t)h->free.head; cur; cur = htab_fnext(h)[cur - 1])
		n++;
	return n;
}

/* A TID no task has: a child that exited and was reaped. */
static inline uint32_t ht_dead_tid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(mt_wait(pid), 0);
	return (uint32_t)pid;
}

#endif /* BPFTIME_MAPS_HASH_TEST_H */
