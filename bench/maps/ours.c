// SPDX-License-Identifier: MIT
/* bpftime-bench-maps: our maps, program side and syscall side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpftime/maps.h>
#include "bench-maps.h"

struct ours {
	struct bench_target t;
	struct bpftime_map_region *r;
	struct bpftime_map *m;
	bool prog_side;
	bool lru;
	uint32_t nr_cpus;
};

static int one_op(struct ours *o, enum bench_op op, uint32_t key, uint64_t *val, uint32_t cpu)
{
	if (o->prog_side) {
		switch (op) {
		case OP_LOOKUP: {
			uint64_t *p = bpftime_map__prog_lookup(o->m, &key, cpu);

			if (!p)
				return -ENOENT;
			/* use the value as a program would: an atomic add */
			__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
			return 0;
		}
		case OP_UPDATE:
			return (int)bpftime_map__prog_update(o->m, &key, val, BPF_ANY, cpu);
		default:
			return (int)bpftime_map__prog_delete(o->m, &key, cpu);
		}
	}
	switch (op) {
	case OP_LOOKUP:
		return bpftime_map__lookup_elem(o->m, &key, val, 0);
	case OP_UPDATE:
		return bpftime_map__update_elem(o->m, &key, val, BPF_ANY);
	default:
		return bpftime_map__delete_elem(o->m, &key);
	}
}

static int ours_run(struct bench_target *t, enum bench_op op, uint64_t iters, unsigned thread)
{
	struct ours *o = (struct ours *)t;
	uint64_t val[BPFTIME_MAP_MAX_CPUS] = {0};
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	uint32_t cpu = bpftime_map_region__cpu_get(o->r, thread, tid);
	int err = 0;

	for (uint64_t i = 0; i < iters && !err; i++) {
		val[0] = i;
		err = one_op(o, op, (uint32_t)((i + thread * 7) % BENCH_KEYS), val, cpu);
		/* two threads deleting the same keys: one of them finds it gone;
		 * an LRU map may have evicted a key while it was filled */
		if ((op == OP_DELETE || o->lru) && err == -ENOENT)
			err = 0;
	}
	bpftime_map_region__cpu_put(o->r, cpu);
	return err;
}

static int ours_refill(struct bench_target *t)
{
	struct ours *o = (struct ours *)t;
	uint64_t val[BPFTIME_MAP_MAX_CPUS] = {0};

	for (uint32_t k = 0; k < BENCH_KEYS; k++) {
		int err = bpftime_map__update_elem(o->m, &k, val, BPF_ANY);

		if (err)
			return err;
	}
	return 0;
}

static void ours_close(struct bench_target *t)
{
	struct ours *o = (struct ours *)t;

	if (o->r) {
		bpftime_map_region__unlink(o->r);
		bpftime_map_region__close(o->r);
	}
	free(o);
}

struct bench_target *bench_ours_open(const struct bench_map *bm, bool prog_side, char *why,
				     unsigned why_len)
{
	char path[64];
	struct bpftime_map_region_opts ro = {.sz = sizeof(ro), .path = path, .create = true};
	struct bpftime_map_attr a = {.map_type = bm->type,
				     .key_size = 4,
				     .value_size = 8,
				     .max_entries = BENCH_KEYS,
				     .map_flags = bm->flags};
	struct ours *o = calloc(1, sizeof(*o));
	uint32_t id;
	int err;

	snprintf(path, sizeof(path), "/dev/shm/bpftime-bench-maps-%d", (int)getpid());
	if (!o)
		return NULL;
	o->t = (struct bench_target){.run = ours_run, .refill = ours_refill, .close = ours_close};
	o->prog_side = prog_side;
	o->lru = bm->type == BPF_MAP_TYPE_LRU_HASH || bm->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	o->r = bpftime_map_region__open(&ro);
	if (!o->r) {
		snprintf(why, why_len, "region: %s", strerror(errno));
		goto fail;
	}
	err = bpftime_map__create(o->r, &a, &id);
	if (err) {
		snprintf(why, why_len, "not implemented yet (%s)", strerror(-err));
		goto fail;
	}
	o->m = bpftime_map__get(o->r, id);
	err = ours_refill(&o->t);
	if (err) {
		snprintf(why, why_len, "fill: %s", strerror(-err));
		goto fail;
	}
	return &o->t;
fail:
	ours_close(&o->t);
	return NULL;
}
