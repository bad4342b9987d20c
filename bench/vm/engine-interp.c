// SPDX-License-Identifier: MIT
/*
 * The interpreter column: bpftime_obj reads bench_vm.bpf.o (linking each
 * program with its bpf_loop callbacks), a fast-mode bpftime_vm runs each
 * program with bpf_loop registered as helper 181, and global data resolves
 * to the obj's own copy of .bss, which gets the same input bytes as the
 * kernel's map. The ctx is a dummy packet the programs never read.
 *
 * A second, bounds-checked vm per program counts the instructions one run
 * executes (bpftime_vm_run.insns), for ns per instruction, and checks that
 * the checked mode computes the same result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/obj.h>
#include <bpftime/vm.h>
#include "bench-vm.h"

#define HELPER_BPF_LOOP 181 /* BPF_FUNC_loop */

struct interp_ctx {
	struct bpftime_obj *obj;
	struct bpftime_vm *fast[BENCH_WL__COUNT];
	struct bpftime_vm *checked[BENCH_WL__COUNT];
	unsigned char pkt[BENCH_PKT_SIZE];
};

static void prepare_run(struct interp_ctx *c, struct bpftime_vm_run *run)
{
	run->ctx = c->pkt;
	run->ctx_len = sizeof(c->pkt);
}

static void report_fault(enum bench_wl wl, const struct bpftime_vm_run *run, int err)
{
	char msg[256];

	bpftime_vm_fault__format(&run->fault, msg, sizeof(msg));
	fprintf(stderr, "interp: prog '%s': run failed: %s (%s)\n",
		bpftime_bench_workloads[wl].prog, strerror(-err), msg);
}

/* The timed loop is bpftime_vm__run() alone: ctx and ctx_len stay set. */
static int interp_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
			  uint32_t *ret)
{
	struct interp_ctx *c = ctx;
	const struct bpftime_vm *vm = c->fast[wl];
	struct bpftime_vm_run run = {0};
	uint64_t t0, t1;
	int err = 0;

	if (!repeat)
		return -EINVAL;
	if (!vm)
		return -ENOEXEC; /* failed to load, reported then */
	prepare_run(c, &run);
	t0 = bpftime_bench_cpu_ns();
	for (uint64_t i = 0; i < repeat && !err; i++)
		err = bpftime_vm__run(vm, &run);
	t1 = bpftime_bench_cpu_ns();
	if (err) {
		report_fault(wl, &run, err);
		return err;
	}
	*ns_per_run = (double)(t1 - t0) / (double)repeat;
	*ret = (uint32_t)run.r0; /* XDP programs return a u32, as the kernel reports it */
	return 0;
}

int bpftime_bench_interp__count(struct bench_engine *e, enum bench_wl wl, uint64_t *insns,
				uint32_t *ret)
{
	struct interp_ctx *c = e->ctx;
	struct bpftime_vm_run run = {0};
	int err;

	if (!c || !c->checked[wl])
		return -ENOEXEC;
	prepare_run(c, &run);
	err = bpftime_vm__run(c->checked[wl], &run);
	if (err) {
		report_fault(wl, &run, err);
		return err;
	}
	*insns = run.insns;
	*ret = (uint32_t)run.r0;
	return 0;
}

static struct bpftime_vm *load_vm(struct interp_ctx *c, const char *name, bool checked)
{
	BPFTIME_VM_OPTS(opts, .bounds_check = checked, .host = c->obj,
			.resolve_ldimm64 = bpftime_obj__resolve_ldimm64);
	const struct bpf_insn *insns;
	struct bpftime_vm *vm;
	size_t cnt;
	int idx, err;

	idx = bpftime_obj__prog_find(c->obj, name);
	if (idx < 0) {
		fprintf(stderr, "interp: no program '%s' in the object\n", name);
		return NULL;
	}
	insns = bpftime_obj__prog_insns(c->obj, (size_t)idx, &cnt);
	vm = bpftime_vm__new(&opts);
	if (!vm) {
		fprintf(stderr, "interp: prog '%s': bpftime_vm__new: %s\n", name, strerror(errno));
		return NULL;
	}
	err = bpftime_vm__register_helper(vm, HELPER_BPF_LOOP, "bpf_loop", bpftime_vm_helper_loop);
	if (!err)
		err = bpftime_vm__load(vm, insns, cnt);
	if (!err && checked)
		err = bpftime_obj__add_regions(c->obj, vm);
	if (err) {
		fprintf(stderr, "interp: prog '%s' (%zu insns): load: %s: %s\n", name, cnt,
			strerror(-err), bpftime_vm__last_error(vm));
		bpftime_vm__free(vm);
		return NULL;
	}
	return vm;
}

/* The copy of .bss exists once a program that uses it is loaded; every
 * program of the obj shares it. */
static int write_inputs(struct interp_ctx *c, const struct bench_vm_data *img)
{
	for (size_t i = 0; i < bpftime_obj__map_cnt(c->obj); i++) {
		const struct bpftime_obj_map *m = bpftime_obj__map(c->obj, i);
		void *data;

		if (strcmp(m->name, ".bss") != 0)
			continue;
		if (m->value_size != sizeof(*img)) {
			fprintf(stderr,
				"interp: .bss is %u bytes, struct bench_vm_data %zu: "
				"bench_data must be its only variable\n",
				m->value_size, sizeof(*img));
			return -EINVAL;
		}
		data = bpftime_obj__global_data(c->obj, i);
		if (!data) {
			fprintf(stderr, "interp: no copy of .bss after load\n");
			return -ENOENT;
		}
		memcpy(data, img, sizeof(*img));
		return 0;
	}
	fprintf(stderr, "interp: the object has no .bss\n");
	return -ENOENT;
}

/* A program that fails to load is reported and left out (its row fails);
 * the others still run, so that one run shows every failure. */
static int load_all(struct interp_ctx *c, unsigned mask)
{
	int loaded = 0;

	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		const char *name = bpftime_bench_workloads[wl].prog;

		if (!((mask >> wl) & 1))
			continue;
		c->fast[wl] = load_vm(c, name, false);
		c->checked[wl] = load_vm(c, name, true);
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
	char msg[256] = "";
	struct interp_ctx *c;
	int err;

	e->name = "interp";
	e->measure = interp_measure;
	e->ctx = c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->obj = bpftime_obj__open(obj_path, msg, sizeof(msg));
	if (!c->obj) {
		err = -errno;
		fprintf(stderr, "interp: %s\n", msg);
		goto err_free;
	}
	err = load_all(c, mask);
	if (!err)
		err = write_inputs(c, img);
	if (err)
		goto err_free;
	e->available = true;
	return 0;

err_free:
	bpftime_bench_interp__fini(e);
	return err;
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
