// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_LPM_TRIE: creation checks, longest-prefix lookups, exact
 * updates and deletes with their errnos, get_next_key in the kernel's
 * post-order, the helpers, generic batches, a model check, threads (a
 * lock-free reader under writers), a child that joins by path and holders
 * killed mid-operation. The expected answers are Linux 6.18's (probed with
 * libbpf; the same random sequences were compared key by key, walk order
 * included, against the kernel while writing this).
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

#define L BPF_MAP_TYPE_LPM_TRIE
#define N BPF_F_NO_PREALLOC

struct k4 {
	uint32_t prefixlen;
	uint8_t d[4];
};

static struct k4 K(uint32_t plen, int a, int b, int c, int d) {
	struct k4 k = {plen, {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d}};

	return k;
}

static int
setup(void **state)
{
	*state = mt_region_create(4, 0);
	return 0;
}

static int teardown(void **state)
{
	mt_region_destroy(*state);
	return 0;
}

static struct bpftime_map *new_trie(void **state, uint32_t max_entries)
{
	struct bpftime_map_attr a = mt_attr(L, 8, 4, max_entries, N);

	return mt_map_new(*state, &a);
}

static int upd(struct bpftime_map *m, struct k4 k, uint32_t v, uint64_t flags)
{
	return bpftime_map__update_elem(m, &k, &v, flags);
}

static int del(struct bpftime_map *m, struct k4 k)
{
	return bpftime_map__delete_elem(m, &k);
}

/* The value found for @k, or -errno. */
static int64_t find(struct bpftime_map *m, struct k4 k)
{
	uint32_t v;
	int err = bpftime_map__lookup_elem(m, &k, &v, 0);

	return err ? err : (int64_t)v;
}

/* The whole get_next_key walk as "a.b.c.d/len ..." into @buf. */
static const char *walk(struct bpftime_map *m, char *buf, size_t size)
{
	struct k4 k, nk;
	void *prev = NULL;
	size_t off = 0;

	buf[0] = '\0';
	while (bpftime_map__get_next_key(m, prev, &nk) == 0) {
		off += (size_t)snprintf(buf + off, size - off, "%s%u.%u.%u.%u/%u", off ? " " : "",
					nk.d[0], nk.d[1], nk.d[2], nk.d[3], nk.prefixlen);
		k = nk;
		prev = &k;
		assert_true(off < size);
	}
	return buf;
}

/* ---- creation ---- */

struct create_case {
	const char *what;
	uint32_t key_size, value_size, max_entries, flags;
	int err;
};

static const struct create_case create_cases[] = {
    {"ipv4", 8, 4, 4, N, 0},
    {"without BPF_F_NO_PREALLOC", 8, 4, 4, 0, -EINVAL},
    {"no data", 4, 4, 4, N, -EINVAL},
    {"1 byte of data", 5, 4, 4, N, 0},
    {"256 bytes of data", 260, 4, 4, N, 0},
    {"257 bytes of data", 261, 4, 4, N, -EINVAL},
    {"value_size 0", 8, 0, 4, N, -EINVAL},
    {"max_entries 0", 8, 4, 0, N, -EINVAL},
    /* LPM_VAL_SIZE_MAX: KMALLOC_MAX_SIZE - 256 - sizeof(lpm_trie_node) (24) */
    {"largest value", 8, 4194024, 1, N, 0},
    {"value one byte too big", 8, 4194025, 1, N, -EINVAL},
    {"numa node 0", 8, 4, 4, N | BPF_F_NUMA_NODE, 0},
    {"rdonly prog", 8, 4, 4, N | BPF_F_RDONLY_PROG, 0},
    {"rdonly and wronly prog", 8, 4, 4, N | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, -EINVAL},
    {"zero seed", 8, 4, 4, N | BPF_F_ZERO_SEED, -EINVAL},
    {"inner map", 8, 4, 4, N | BPF_F_INNER_MAP, -EINVAL},
    /* the kernel allocates nodes lazily and accepts this; we preallocate
     * 2 * max_entries nodes, which do not fit the region */
    {"max_entries U32_MAX (a limit of ours)", 8, 4, UINT32_MAX, N, -ENOMEM},
};

static void test_create_checks(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bpftime_map_attr a =
		    mt_attr(L, c->key_size, c->value_size, c->max_entries, c->flags);
		uint32_t id = 0;
		int err = bpftime_map__create(*state, &a, &id);

		if (err != c->err)
			fail_msg("%s: got %d, want %d", c->what, err, c->err);
		if (!err)
			assert_int_equal(bpftime_map__destroy(*state, id), 0);
	}
}

/* ---- syscall side ---- */

static void test_update_flags_and_limits(void **state)
{
	struct bpftime_map *m = new_trie(state, 3);

	/* trie_update_elem(): flags, then the prefix length */
	assert_int_equal(upd(m, K(33, 1, 2, 3, 4), 1, 3), -EINVAL);
	assert_int_equal(upd(m, K(33, 1, 2, 3, 4), 1, 0), -EINVAL);
	assert_int_equal(upd(m, K(16, 192, 168, 7, 7), 16, BPF_EXIST), -ENOENT);
	assert_int_equal(upd(m, K(16, 192, 168, 7, 7), 16, BPF_NOEXIST), 0);
	assert_int_equal(upd(m, K(16, 192, 168, 9, 9), 17, BPF_NOEXIST), -EEXIST);
	assert_int_equal(upd(m, K(24, 192, 168, 0, 0), 24, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 1, 0), 241, 0), 0);
	/* full: a new prefix is -ENOSPC, a present one can still change */
	assert_int_equal(upd(m, K(24, 192, 168, 128, 0), 242, 0), -ENOSPC);
	assert_int_equal(upd(m, K(24, 192, 168, 1, 0), 243, BPF_EXIST), 0);
	assert_int_equal(upd(m, K(23, 192, 168, 0, 0), 23, BPF_EXIST), -ENOENT);
	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 160, BPF_F_LOCK), -EINVAL);
}

static void test_lookup_is_longest_prefix(void **state)
{
	struct bpftime_map *m = new_trie(state, 8);

	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 16, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 1, 0), 24, 0), 0);
	assert_int_equal(upd(m, K(32, 192, 168, 1, 5), 32, 0), 0);
	assert_int_equal(find(m, K(32, 192, 168, 1, 5)), 32);
	assert_int_equal(find(m, K(32, 192, 168, 1, 6)), 24);
	assert_int_equal(find(m, K(32, 192, 168, 2, 6)), 16);
	assert_int_equal(find(m, K(32, 10, 0, 0, 1)), -ENOENT);
	/* the key's own prefix length bounds the match */
	assert_int_equal(find(m, K(20, 192, 168, 1, 5)), 16);
	assert_int_equal(find(m, K(15, 192, 168, 1, 5)), -ENOENT);
	/* trie_lookup_elem(): a prefix longer than the trie's finds nothing */
	assert_int_equal(find(m, K(33, 192, 168, 1, 5)), -ENOENT);
	/* a default route catches everything */
	assert_int_equal(upd(m, K(0, 0, 0, 0, 0), 0, 0), 0);
	assert_int_equal(find(m, K(32, 10, 0, 0, 1)), 0);
	assert_int_equal(find(m, K(0, 99, 0, 0, 1)), 0);
	{
		struct k4 k = K(32, 10, 0, 0, 1);
		uint32_t v;

		assert_int_equal(bpftime_map__lookup_elem(m, &k, &v, BPF_F_LOCK), -EINVAL);
	}
}

static void test_delete_shapes(void **state)
{
	struct bpftime_map *m = new_trie(state, 8);
	char buf[256];

	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 16, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 0, 0), 240, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 1, 0), 241, 0), 0);
	assert_int_equal(del(m, K(33, 192, 168, 0, 0)), -EINVAL);
	assert_int_equal(del(m, K(24, 10, 168, 1, 0)), -ENOENT);
	assert_int_equal(del(m, K(8, 192, 0, 0, 0)), -ENOENT);
	/* two children: the node stays as an intermediate one */
	assert_int_equal(del(m, K(16, 192, 168, 0, 0)), 0);
	assert_int_equal(del(m, K(16, 192, 168, 0, 0)), -ENOENT);
	assert_int_equal(find(m, K(32, 192, 168, 1, 9)), 241);
	assert_int_equal(find(m, K(32, 192, 168, 2, 9)), -ENOENT);
	assert_string_equal(walk(m, buf, sizeof(buf)), "192.168.0.0/24 192.168.1.0/24");
	/* an intermediate node can be made an entry again */
	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 161, BPF_EXIST), -ENOENT);
	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 161, BPF_NOEXIST), 0);
	assert_int_equal(find(m, K(32, 192, 168, 2, 9)), 161);
	assert_int_equal(del(m, K(16, 192, 168, 0, 0)), 0);
	/* a leaf under an intermediate node: both go, the sibling moves up */
	assert_int_equal(del(m, K(24, 192, 168, 1, 0)), 0);
	assert_string_equal(walk(m, buf, sizeof(buf)), "192.168.0.0/24");
	/* one child: it takes the node's place */
	assert_int_equal(upd(m, K(8, 192, 0, 0, 0), 8, 0), 0);
	assert_int_equal(del(m, K(8, 192, 0, 0, 0)), 0);
	assert_int_equal(find(m, K(32, 192, 168, 0, 1)), 240);
	assert_int_equal(del(m, K(24, 192, 168, 0, 0)), 0);
	assert_string_equal(walk(m, buf, sizeof(buf)), "");
}

/* The kernel's own example (lpm_trie.c) and the order it documents. */
static void test_get_next_key_is_the_kernels_post_order(void **state)
{
	struct bpftime_map *m = new_trie(state, 8);
	struct k4 nk, k, first;
	char buf[256];

	assert_int_equal(bpftime_map__get_next_key(m, NULL, &nk), -ENOENT);
	assert_int_equal(upd(m, K(16, 192, 168, 0, 0), 1, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 0, 0), 2, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 1, 0), 3, 0), 0);
	assert_int_equal(upd(m, K(24, 192, 168, 128, 0), 4, 0), 0);
	assert_string_equal(walk(m, buf, sizeof(buf)),
			    "192.168.0.0/24 192.168.1.0/24 192.168.128.0/24 192.168.0.0/16");
	/* a key not in the trie (or too long) restarts at the first */
	first = K(24, 192, 168, 0, 0);
	k = K(8, 7, 0, 0, 0);
	assert_int_equal(bpftime_map__get_next_key(m, &k, &nk), 0);
	assert_memory_equal(&nk, &first, sizeof(nk));
	k = K(40, 192, 168, 0, 0);
	assert_int_equal(bpftime_map__get_next_key(m, &k, &nk), 0);
	assert_memory_equal(&nk, &first, sizeof(nk));
	k = K(16, 192, 168, 0, 0);
	assert_int_equal(bpftime_map__get_next_key(m, &k, &nk), -ENOENT);
	/* the bits past the prefix come back as they were given */
	assert_int_equal(upd(m, K(8, 10, 7, 7, 7), 5, 0), 0);
	assert_int_equal(upd(m, K(0, 1, 2, 3, 4), 6, 0), 0);
	assert_int_equal(upd(m, K(1, 0x80, 0, 0, 0), 7, 0), 0);
	assert_string_equal(walk(m, buf, sizeof(buf)),
			    "10.7.7.7/8 192.168.0.0/24 192.168.1.0/24 192.168.128.0/24 "
			    "192.168.0.0/16 128.0.0.0/1 1.2.3.4/0");
}

/* More specific keys come before their prefixes, each key once. */
static void test_random_ops_against_a_model(void **state)
{
	enum { MAX = 40, SPACE = 64 };
	struct bpftime_map *m = new_trie(state, MAX);
	int64_t model[33][SPACE]; /* [len][top 6 bits]: value, or -1 */
	unsigned seed = 1, count = 0;

	memset(model, 0xff, sizeof(model));
	for (int step = 0; step < 6000; step++) {
		uint32_t len = rand_r(&seed) % 7, top = rand_r(&seed) % SPACE, v = rand_r(&seed);
		uint8_t b0 = (uint8_t)(top << 2), mask = (uint8_t)(len ? 0xff << (8 - len) : 0);
		struct k4 k = K(len, b0 & mask, 0, 0, 0);
		uint32_t slot = (b0 & mask) >> 2;
		int op = rand_r(&seed) % 3, err;

		if (op < 2) {
			err = upd(m, k, v, 0);
			if (model[len][slot] < 0 && count == MAX) {
				assert_int_equal(err, -ENOSPC);
				continue;
			}
			assert_int_equal(err, 0);
			count += model[len][slot] < 0;
			model[len][slot] = v;
		} else {
			err = del(m, k);
			assert_int_equal(err, model[len][slot] < 0 ? -ENOENT : 0);
			count -= model[len][slot] >= 0;
			model[len][slot] = -1;
		}
		/* the longest stored prefix of a random full-length address */
		{
			uint8_t a = (uint8_t)((unsigned)rand_r(&seed) << 2);
			int64_t want = -ENOENT;

			for (int l = 0; l <= 6; l++) {
				uint8_t ml = (uint8_t)(l ? 0xff << (8 - l) : 0);

				if (model[l][(a & ml) >> 2] >= 0)
					want = model[l][(a & ml) >> 2];
			}
			assert_int_equal(find(m, K(32, a, 1, 2, 3)), want);
		}
	}
	{
		struct k4 seen[MAX], nk;
		void *prev = NULL;
		unsigned n = 0;

		while (bpftime_map__get_next_key(m, prev, &nk) == 0) {
			assert_true(n < MAX);
			for (unsigned i = 0; i < n; i++) {
				/* no key twice; no key after one of its prefixes */
				uint8_t ml = (uint8_t)(0xff << (8 - seen[i].prefixlen));

				assert_memory_not_equal(&seen[i], &nk, sizeof(nk));
				assert_false(seen[i].prefixlen < nk.prefixlen &&
					     (nk.d[0] & ml) == seen[i].d[0]);
			}
			seen[n++] = nk;
			prev = &seen[n - 1];
		}
		assert_int_equal(n, count);
	}
}

static void test_batches(void **state)
{
	struct bpftime_map *m = new_trie(state, 8);
	struct k4 keys[4] = {K(24, 192, 168, 0, 0), K(24, 192, 168, 1, 0), K(16, 192, 168, 0, 0)};
	uint32_t vals[4] = {1, 2, 3}, n = 3;
	struct k4 tok, out[4];
	uint32_t outv[4];

	assert_int_equal(bpftime_map__update_batch(m, keys, vals, &n, 0), 0);
	assert_int_equal(n, 3);
	/* the generic batch walks with get_next_key: post-order */
	n = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &tok, out, outv, &n, 0, false),
			 -ENOENT);
	assert_int_equal(n, 3);
	assert_memory_equal(out, keys, 3 * sizeof(struct k4));
	assert_memory_equal(outv, vals, sizeof(uint32_t) * 3);
	/* trie_map_ops has no lookup_and_delete batch; lookup_and_delete
	 * of one element is -ENOTSUPP too */
	n = 4;
	assert_int_equal(bpftime_map__lookup_batch(m, NULL, &tok, out, outv, &n, 0, true),
			 -MT_ENOTSUPP);
	assert_int_equal(bpftime_map__lookup_and_delete_elem(m, &keys[0], outv, 0), -MT_ENOTSUPP);
	n = 3;
	assert_int_equal(bpftime_map__delete_batch(m, keys, &n, 0), 0);
	n = 1;
	assert_int_equal(bpftime_map__delete_batch(m, keys, &n, 0), -ENOENT);
	assert_int_equal(n, 0);
}

/* ---- program side ---- */

static void test_helpers(void **state)
{
	struct bpftime_map_attr a = mt_attr(L, 8, 8, 4, N | BPF_F_RDONLY_PROG);
	struct bpftime_map *m = new_trie(state, 4), *ro = mt_map_new(*state, &a);
	struct k4 k = K(24, 10, 1, 2, 0), probe = K(32, 10, 1, 2, 3);
	uint32_t v = 5, *p;

	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_NOEXIST, 1), 0);
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, BPF_NOEXIST, 1), -EEXIST);
	p = bpftime_map__prog_lookup(m, &probe, 2);
	assert_non_null(p);
	assert_int_equal(*p, 5);
	/* the pointer is the map's value */
	*p = 6;
	assert_int_equal(find(m, probe), 6);
	assert_null(bpftime_map__prog_lookup(m, &(struct k4){32, {11, 0, 0, 0}}, 0));
	assert_int_equal(bpftime_map__prog_delete(m, &k, 3), 0);
	assert_int_equal(bpftime_map__prog_delete(m, &k, 3), -ENOENT);
	assert_null(bpftime_map__prog_lookup(m, &probe, 0));
	/* a slot number past the CPUs still works (the caller's TID is used) */
	assert_int_equal(bpftime_map__prog_update(m, &k, &v, 0, 9999), 0);
	/* programs may not write a BPF_F_RDONLY_PROG map (the verifier says so) */
	assert_int_equal(bpftime_map__prog_update(ro, &k, &v, 0, 0), -EPERM);
	assert_int_equal(bpftime_map__prog_delete(ro, &k, 0), -EPERM);
}

/* Fill, empty, fill again in other shapes: nodes are never lost. */
static void test_churn_never_runs_out_of_nodes(void **state)
{
	enum { MAX = 50 };
	struct bpftime_map *m = new_trie(state, MAX);

	for (uint32_t round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < MAX; i++) {
			uint32_t x = (i * 2654435761u) ^ (round * 40503u);

			assert_int_equal(upd(m, K(8 + (x % 25), x >> 24, x >> 16, x >> 8, x), i, 0),
					 0);
		}
		assert_int_equal(upd(m, K(32, 255, 255, 255, 255), 0, 0), -ENOSPC);
		for (uint32_t i = 0; i < MAX; i++) {
			uint32_t x = (i * 2654435761u) ^ (round * 40503u);

			assert_int_equal(del(m, K(8 + (x % 25), x >> 24, x >> 16, x >> 8, x)), 0);
		}
		assert_int_equal(bpftime_map__get_next_key(m, NULL, &(struct k4){0, {0, 0, 0, 0}}),
				 -ENOENT);
	}
}

/* ---- threads ---- */

struct thr {
	struct bpftime_map *m;
	uint32_t id;
	volatile bool *stop;
	uint32_t wrong; /* readers: lookups that did not give the stable answer */
	uint32_t fails; /* writers: unexpected errors */
};

/* Each writer owns a /8 and churns /24s in it. */
static void *writer(void *p)
{
	struct thr *t = p;
	uint8_t net = (uint8_t)(20 + t->id);

	for (uint32_t round = 0; round < 300; round++) {
		for (uint32_t i = 0; i < 8; i++)
			t->fails += upd(t->m, K(24, net, (int)i, (int)round, 0), i, 0) != 0;
		for (uint32_t i = 0; i < 8; i++)
			t->fails += del(t->m, K(24, net, (int)i, (int)round, 0)) != 0;
	}
	for (uint32_t i = 0; i < 8; i++)
		t->fails += upd(t->m, K(24, net, (int)i, 7, 0), 100 + i, 0) != 0;
	return NULL;
}

/* Program-side lookups, lock-free, of prefixes nobody changes. */
static void *reader(void *p)
{
	struct thr *t = p;

	while (!*t->stop) {
		struct k4 a = K(32, 10, 1, 2, 3), b = K(32, 10, 9, 9, 9), c = K(32, 20, 1, 1, 1);
		uint32_t *va = bpftime_map__prog_lookup(t->m, &a, t->id);
		uint32_t *vb = bpftime_map__prog_lookup(t->m, &b, t->id);
		uint32_t *vc = bpftime_map__prog_lookup(t->m, &c, t->id);

		t->wrong += !va || *va != 16 || !vb || *vb != 8 || !vc || *vc != 1;
	}
	return NULL;
}

static void test_threads_readers_see_stable_prefixes_under_writers(void **state)
{
	struct bpftime_map *m = new_trie(state, 64);
	volatile bool stop = false;
	struct thr ts[4];
	pthread_t th[4];
	char buf[1024];

	assert_int_equal(upd(m, K(8, 10, 0, 0, 0), 8, 0), 0);
	assert_int_equal(upd(m, K(16, 10, 1, 0, 0), 16, 0), 0);
	assert_int_equal(upd(m, K(4, 16, 0, 0, 0), 1, 0), 0); /* 16.0.0.0/4 covers 20/8, 21/8 */
	for (uint32_t i = 0; i < 4; i++) {
		ts[i] = (struct thr){.m = m, .id = i, .stop = &stop};
		assert_int_equal(pthread_create(&th[i], NULL, i < 2 ? writer : reader, &ts[i]), 0);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	stop = true;
	pthread_join(th[2], NULL);
	pthread_join(th[3], NULL);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(ts[i].fails, 0);
		assert_int_equal(ts[i].wrong, 0);
	}
	walk(m, buf, sizeof(buf));
	assert_string_equal(buf, "10.1.0.0/16 10.0.0.0/8 20.0.7.0/24 20.1.7.0/24 20.2.7.0/24 "
				 "20.3.7.0/24 20.4.7.0/24 20.5.7.0/24 20.6.7.0/24 20.7.7.0/24 "
				 "21.0.7.0/24 21.1.7.0/24 21.2.7.0/24 21.3.7.0/24 21.4.7.0/24 "
				 "21.5.7.0/24 21.6.7.0/24 21.7.7.0/24 16.0.0.0/4");
	assert_int_equal(find(m, K(32, 21, 3, 7, 1)), 103);
}

/* ---- processes ---- */

static void test_child_joins_by_path_and_updates(void **state)
{
	struct bpftime_map *m = new_trie(state, 128);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpftime_map_region *r = mt_region_join(path);
		struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;

		if (!cm)
			_exit(2);
		for (uint32_t i = 0; i < 100; i++)
			if (upd(cm, K(16 + i % 8, 172, (int)i, 0, 0), i, 0))
				_exit(3);
		_exit(0);
	}
	assert_int_equal(mt_wait(pid), 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(find(m, K(16 + i % 8, 172, (int)i, 0, 0)), i);
}

/*
 * A child churns a full-ish trie and is killed holding the lock; the next
 * locker repairs the node pool and the entry count: the trie then holds
 * what a walk shows, empties completely and fills to max_entries again.
 */
static void test_killed_holder_is_repaired(void **state)
{
	enum { MAX = 48 };
	struct bpftime_map *m = new_trie(state, MAX);
	const char *path = bpftime_map_region__path(*state);
	uint32_t id = bpftime_map__id(m);
	unsigned seed = 3, caught = 0;

	mt_log_capture();
	for (int round = 0; round < 6; round++) {
		struct k4 keys[MAX], nk;
		uint32_t n = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct bpftime_map_region *r = mt_region_join(path);
			struct bpftime_map *cm = r ? bpftime_map__get(r, id) : NULL;
			unsigned s = (unsigned)round;

			while (cm) {
				uint32_t x = (uint32_t)rand_r(&s);
				struct k4 k = K(8 + x % 25, x >> 24, x >> 16, x >> 8, x);

				if (x % 3)
					upd(cm, k, x, 0);
				else
					del(cm, k);
			}
			_exit(2);
		}
		caught += mt_kill_in_lock(pid, &m->d->lock, 200, &seed);
		while (bpftime_map__get_next_key(m, n ? &keys[n - 1] : NULL, &nk) == 0) {
			assert_true(n < MAX);
			keys[n++] = nk;
		}
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(del(m, keys[i]), 0);
		for (uint32_t i = 0; i < MAX; i++)
			assert_int_equal(upd(m, K(32, 1, 2, 3, (int)i), i, 0), 0);
		assert_int_equal(upd(m, K(32, 1, 2, 4, 0), 0, 0), -ENOSPC);
		for (uint32_t i = 0; i < MAX; i++)
			assert_int_equal(del(m, K(32, 1, 2, 3, (int)i)), 0);
	}
	print_message("killed holding the lock in %u of 6 rounds\n", caught);
	assert_true(caught > 0);
	assert_non_null(mt_log_find("lpm_trie): lock holder died"));
	mt_log_release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_update_flags_and_limits),
	    cmocka_unit_test(test_lookup_is_longest_prefix),
	    cmocka_unit_test(test_delete_shapes),
	    cmocka_unit_test(test_get_next_key_is_the_kernels_post_order),
	    cmocka_unit_test(test_random_ops_against_a_model),
	    cmocka_unit_test(test_batches),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_churn_never_runs_out_of_nodes),
	    cmocka_unit_test(test_threads_readers_see_stable_prefixes_under_writers),
	    cmocka_unit_test(test_child_joins_by_path_and_updates),
	    cmocka_unit_test(test_killed_holder_is_repaired),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
