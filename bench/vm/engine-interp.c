// SPDX-License-Identifier: MIT
/*
 * The interpreter column: a fast-mode vm per program (engine-vm.c), run by
 * the bpftime interpreter.
 *
 * A second, bounds-checked vm per program counts the instructions one run
 * executes (bpftime_vm_run.insns), for ns per instruction, and checks that
 * the checked mode computes the same result.
 */
#include <errno.h>
#include <stdlib.h>
#include <bpftime/obj.h>
#include <bpftime/vm.h>
#include "bench-vm.h"

#define ENGINE "interp"

struct interp_ctx {
	struct bpftime_obj *obj;
	struct bpftime_vm *fast[BENCH_WL__COUNT];
	struct bpftime_vm *checked[BENCH_WL__COUNT];
};

static int interp_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
			  uint32_t *ret)
{
	struct interp_ctx *c = ctx;

	return bpftime_bench_vm__measure(c->fast[wl], ENGINE, wl, repeat, ns_per_run, ret);
}

int bpftime_bench_interp__count(struct bench_engine *e, enum bench_wl wl, uint64_t *insns,
				uint32_t *ret)
{
	struct interp_ctx *c = e->ctx;

	if (!c)
		return -ENOEXEC;
	return bpftime_bench_vm__count(c->checked[wl], ENGINE, wl, insns, ret);
}

/* A program that fails to load is reported and left out (its row fails);
 * the others still run, so that one run shows every failure. */
static int load_all(void *ctx, unsigned mask)
{
	struct interp_ctx *c = ctx;
	int loaded = 0;

	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		const char *name = bpftime_bench_workloads[wl].prog;

		if (!((mask >> wl) & 1))
			continue;
		c->fast[wl] = bpftime_bench_vm__load(c->obj, ENGINE, name, false);
		c->checked[wl] = bpftime_bench_vm__load(c->obj, ENGINE, name, true);
		if (c->fast[wl] && c->checked[wl]) {
			loaded++;
			continue;
		}
		bpftime_vm__free(c->fast[wl]);
		bpftime_vm__free(c->checked[wl]);
		c->fast[wl] = c->checked[wl] = NULL;
	}
	return loaded ? 0 : -ENOENT;
}

int bpftime_bench_interp__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			       const struct bench_vm_data *img)
{
	struct interp_ctx *c;
	int err;

	e->name = ENGINE;
	e->measure = interp_measure;
	e->ctx = c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = bpftime_bench_vm__prepare(ENGINE, obj_path, mask, img, &c->obj, load_all, c);
	if (err) {
		bpftime_bench_interp__fini(e);
		return err;
	}
	e->available = true;
	return 0;
}

void bpftime_bench_interp__fini(struct bench_engine *e)
{
	struct interp_ctx *c = e->ctx;

	if (!c)
		return;
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		bpftime_vm__free(c->fast[wl]);
		bpftime_vm__free(c->checked[wl]);
	}
	bpftime_obj__free(c->obj);
	free(c);
	e->ctx = NULL;
}
