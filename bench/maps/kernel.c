// SPDX-License-Identifier: MIT
/* bpftime-bench-maps: the kernel's maps through bpf(2), via libbpf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench-maps.h"

struct kmap {
	struct bench_target t;
	int fd;
	bool lru;
	uint64_t *val; /* one u64 per possible CPU */
};

static int kernel_run(struct bench_target *t, enum bench_op op, uint64_t iters, unsigned thread)
{
	struct kmap *k = (struct kmap *)t;
	uint64_t val[1024] = {0};
	int err = 0;

	for (uint64_t i = 0; i < iters && !err; i++) {
		uint32_t key = (uint32_t)((i + thread * 7) % BENCH_KEYS);

		val[0] = i;
		switch (op) {
		case OP_LOOKUP:
			err = bpf_map_lookup_elem(k->fd, &key, val);
			break;
		case OP_UPDATE:
			err = bpf_map_update_elem(k->fd, &key, val, BPF_ANY);
			break;
		default:
			err = bpf_map_delete_elem(k->fd, &key);
			if (err == -ENOENT)
				err = 0;
		}
		/* the kernel's LRU evicts while a map fills (per-CPU free lists) */
		if (k->lru && err == -ENOENT)
			err = 0;
	}
	return err;
}

static int kernel_refill(struct bench_target *t)
{
	struct kmap *k = (struct kmap *)t;

	for (uint32_t key = 0; key < BENCH_KEYS; key++) {
		int err = bpf_map_update_elem(k->fd, &key, k->val, BPF_ANY);

		if (err)
			return err;
	}
	return 0;
}

static void kernel_close(struct bench_target *t)
{
	struct kmap *k = (struct kmap *)t;

	if (k->fd >= 0)
		close(k->fd);
	free(k->val);
	free(k);
}

struct bench_target *bench_kernel_open(const struct bench_map *m, char *why, unsigned why_len)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m->flags);
	struct kmap *k = calloc(1, sizeof(*k));
	int ncpu = libbpf_num_possible_cpus(), err;

	if (!k)
		return NULL;
	k->t = (struct bench_target){
	    .run = kernel_run, .refill = kernel_refill, .close = kernel_close};
	k->val = calloc(ncpu > 0 ? ncpu : 1, sizeof(uint64_t));
	k->lru = m->type == BPF_MAP_TYPE_LRU_HASH || m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	k->fd = bpf_map_create(m->type, m->name, 4, 8, BENCH_KEYS, &opts);
	if (k->fd < 0) {
		snprintf(why, why_len, "bpf(BPF_MAP_CREATE): %s%s", strerror(-k->fd),
			 geteuid() ? " (needs root)" : "");
		kernel_close(&k->t);
		return NULL;
	}
	err = kernel_refill(&k->t);
	if (err) {
		snprintf(why, why_len, "fill: %s", strerror(-err));
		kernel_close(&k->t);
		return NULL;
	}
	return &k->t;
}
