// SPDX-License-Identifier: MIT
/*
 * What the two bpftime columns (engine-interp.c, engine-jit.c) share: the
 * object read by bpftime_obj (each program linked with its bpf_loop
 * callbacks), one vm per program with bpf_loop registered as helper 181 and
 * global data resolved to the obj's own copy of .bss, that copy filled with
 * the runner's input bytes, and the timed loop of bpftime_vm__run(). Both
 * columns time exactly the same call; only what the vm runs differs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpftime/obj.h>
#include <bpftime/vm.h>
#include "bench-vm.h"

#define HELPER_BPF_LOOP 181 /* BPF_FUNC_loop */

struct bpftime_obj *bpftime_bench_vm__open(const char *engine, const char *obj_path)
{
	char msg[256] = "";
	struct bpftime_obj *obj = bpftime_obj__open(obj_path, msg, sizeof(msg));
	int err = errno;

	if (!obj) {
		fprintf(stderr, "%s: %s\n", engine, msg);
		errno = err;
	}
	return obj;
}

struct bpftime_vm *bpftime_bench_vm__load(struct bpftime_obj *obj, const char *engine,
					  const char *name, bool checked)
{
	BPFTIME_VM_OPTS(opts, .bounds_check = checked, .host = obj,
			.resolve_ldimm64 = bpftime_obj__resolve_ldimm64);
	const struct bpf_insn *insns;
	struct bpftime_vm *vm;
	size_t cnt;
	int idx, err;

	idx = bpftime_obj__prog_find(obj, name);
	if (idx < 0) {
		fprintf(stderr, "%s: no program '%s' in the object\n", engine, name);
		return NULL;
	}
	insns = bpftime_obj__prog_insns(obj, (size_t)idx, &cnt);
	vm = bpftime_vm__new(&opts);
	if (!vm) {
		fprintf(stderr, "%s: prog '%s': bpftime_vm__new: %s\n", engine, name,
			strerror(errno));
		return NULL;
	}
	err = bpftime_vm__register_helper(vm, HELPER_BPF_LOOP, "bpf_loop", bpftime_vm_helper_loop);
	if (!err)
		err = bpftime_vm__load(vm, insns, cnt);
	if (!err && checked)
		err = bpftime_obj__add_regions(obj, vm);
	if (err) {
		fprintf(stderr, "%s: prog '%s' (%zu insns): load: %s: %s\n", engine, name, cnt,
			strerror(-err), bpftime_vm__last_error(vm));
		bpftime_vm__free(vm);
		return NULL;
	}
	return vm;
}

int bpftime_bench_vm__prepare(const char *engine, const char *obj_path, unsigned mask,
			      const struct bench_vm_data *img, struct bpftime_obj **obj,
			      int (*load)(void *ctx, unsigned mask), void *ctx)
{
	int err;

	*obj = bpftime_bench_vm__open(engine, obj_path);
	if (!*obj)
		return -errno;
	err = load(ctx, mask);
	return err ? err : bpftime_bench_vm__write_inputs(*obj, engine, img);
}

/* The copy of .bss exists once a program that uses it is loaded; every
 * program of the obj shares it. */
int bpftime_bench_vm__write_inputs(struct bpftime_obj *obj, const char *engine,
				   const struct bench_vm_data *img)
{
	for (size_t i = 0; i < bpftime_obj__map_cnt(obj); i++) {
		const struct bpftime_obj_map *m = bpftime_obj__map(obj, i);
		void *data;

		if (strcmp(m->name, ".bss") != 0)
			continue;
		if (m->value_size != sizeof(*img)) {
			fprintf(stderr,
				"%s: .bss is %u bytes, struct bench_vm_data %zu: "
				"bench_data must be its only variable\n",
				engine, m->value_size, sizeof(*img));
			return -EINVAL;
		}
		data = bpftime_obj__global_data(obj, i);
		if (!data) {
			fprintf(stderr, "%s: no copy of .bss after load\n", engine);
			return -ENOENT;
		}
		memcpy(data, img, sizeof(*img));
		return 0;
	}
	fprintf(stderr, "%s: the object has no .bss\n", engine);
	return -ENOENT;
}

static void report_fault(const char *engine, enum bench_wl wl, const struct bpftime_vm_run *run,
			 int err)
{
	char msg[256];

	bpftime_vm_fault__format(&run->fault, msg, sizeof(msg));
	fprintf(stderr, "%s: prog '%s': run failed: %s (%s)\n", engine,
		bpftime_bench_workloads[wl].prog, strerror(-err), msg);
}

/* The ctx is a dummy packet the programs never read. */
static void prepare_run(struct bpftime_vm_run *run)
{
	static unsigned char pkt[BENCH_PKT_SIZE];

	run->ctx = pkt;
	run->ctx_len = sizeof(pkt);
}

/* The timed loop is bpftime_vm__run() alone: ctx and ctx_len stay set. */
int bpftime_bench_vm__measure(const struct bpftime_vm *vm, const char *engine, enum bench_wl wl,
			      uint64_t repeat, double *ns_per_run, uint32_t *ret)
{
	struct bpftime_vm_run run = {0};
	uint64_t t0, t1;
	int err = 0;

	if (!repeat)
		return -EINVAL;
	if (!vm)
		return -ENOEXEC; /* failed to load, reported then */
	prepare_run(&run);
	t0 = bpftime_bench_cpu_ns();
	for (uint64_t i = 0; i < repeat && !err; i++)
		err = bpftime_vm__run(vm, &run);
	t1 = bpftime_bench_cpu_ns();
	if (err) {
		report_fault(engine, wl, &run, err);
		return err;
	}
	*ns_per_run = (double)(t1 - t0) / (double)repeat;
	*ret = (uint32_t)run.r0; /* XDP programs return a u32, as the kernel reports it */
	return 0;
}

int bpftime_bench_vm__count(const struct bpftime_vm *vm, const char *engine, enum bench_wl wl,
			    uint64_t *insns, uint32_t *ret)
{
	struct bpftime_vm_run run = {0};
	int err;

	if (!vm)
		return -ENOEXEC;
	prepare_run(&run);
	err = bpftime_vm__run(vm, &run);
	if (err) {
		report_fault(engine, wl, &run, err);
		return err;
	}
	*insns = run.insns;
	*ret = (uint32_t)run.r0;
	return 0;
}
