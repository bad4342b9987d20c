// SPDX-License-Identifier: MIT
/*
 * The JIT column: the same fast-mode vms as the interpreter's (engine-vm.c,
 * on the obj's own copy of .bss), each compiled by bpftime_jit__load() with
 * the default options before the first run, then timed through the same
 * bpftime_vm__run() loop: the column is what a host calling the vm pays,
 * entry included.
 *
 * Without the JIT in the build (no LLVM >= 16 at configure time) the engine
 * is a stub that says so, and its column reads n/a.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpftime/obj.h>
#include <bpftime/vm.h>
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#endif
#include "bench-vm.h"

#define ENGINE "jit"

struct jit_ctx {
	struct bpftime_obj *obj;
	struct bpftime_vm *vm[BENCH_WL__COUNT];
	double compile_ms;
};

#ifdef BPFTIME_HAVE_JIT
static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int jit_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
		       uint32_t *ret)
{
	struct jit_ctx *c = ctx;

	return bpftime_bench_vm__measure(c->vm[wl], ENGINE, wl, repeat, ns_per_run, ret);
}

/* A load or compile failure is a bug of the JIT: reported, and its row
 * fails, while the other programs still run. */
static struct bpftime_vm *compile_one(struct jit_ctx *c, const char *name)
{
	struct bpftime_vm *vm = bpftime_bench_vm__load(c->obj, ENGINE, name, false);
	double t0 = wall_ms();
	int err;

	if (!vm)
		return NULL;
	err = bpftime_jit__load(vm, NULL);
	if (!err && !bpftime_vm__is_native(vm))
		err = -ENOEXEC;
	if (err) {
		fprintf(stderr, "%s: prog '%s': %s: %s\n", ENGINE, name, strerror(-err),
			bpftime_vm__last_error(vm));
		bpftime_vm__free(vm);
		return NULL;
	}
	c->compile_ms += wall_ms() - t0;
	return vm;
}

static int compile_all(void *ctx, unsigned mask)
{
	struct jit_ctx *c = ctx;
	int loaded = 0;

	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		if (!((mask >> wl) & 1))
			continue;
		c->vm[wl] = compile_one(c, bpftime_bench_workloads[wl].prog);
		loaded += c->vm[wl] != NULL;
	}
	return loaded ? 0 : -ENOENT;
}

int bpftime_bench_jit__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			    const struct bench_vm_data *img)
{
	struct jit_ctx *c;
	int err;

	e->name = ENGINE;
	e->measure = jit_measure;
	if (!bpftime_jit__available()) {
		snprintf(e->reason, sizeof(e->reason), "the JIT compiles for x86-64 only");
		return 0;
	}
	e->ctx = c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = bpftime_bench_vm__prepare(ENGINE, obj_path, mask, img, &c->obj, compile_all, c);
	if (err) {
		bpftime_bench_jit__fini(e);
		return err;
	}
	e->available = true;
	return 0;
}
#else
int bpftime_bench_jit__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			    const struct bench_vm_data *img)
{
	(void)obj_path;
	(void)mask;
	(void)img;
	e->name = ENGINE;
	snprintf(e->reason, sizeof(e->reason),
		 "built without the JIT (LLVM >= 16 was not found at configure time)");
	return 0;
}
#endif

double bpftime_bench_jit__compile_ms(const struct bench_engine *e)
{
	const struct jit_ctx *c = e->ctx;

	return c ? c->compile_ms : 0;
}

void bpftime_bench_jit__fini(struct bench_engine *e)
{
	struct jit_ctx *c = e->ctx;

	if (!c)
		return;
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++)
		bpftime_vm__free(c->vm[wl]);
	bpftime_obj__free(c->obj);
	free(c);
	e->ctx = NULL;
}
