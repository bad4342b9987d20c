/* SPDX-License-Identifier: MIT */
/*
 * bpftime-bench-vm: one run compares the same BPF workloads (progs/) in four
 * engines: native C built from the same source, the kernel's JIT through
 * BPF_PROG_TEST_RUN, the bpftime interpreter and the bpftime JIT.
 *
 *   main.c            options, calibration, medians, the table, the verdict
 *   inputs.c          the input bytes, identical in every engine; the clock
 *   engine-native.c   the workloads compiled by the host compiler
 *   engine-kernel.c   libbpf: load bench_vm.bpf.o, BPF_PROG_TEST_RUN(repeat)
 *   engine-vm.c       what the two bpftime engines share: bpftime_obj, one
 *                     vm per program, the inputs, the bpftime_vm__run loop
 *   engine-interp.c   the interpreter, fast mode; plus one bounds-checked
 *                     run to count executed instructions
 *   engine-jit.c      the same fast-mode vms compiled by bpftime_jit__load
 *                     (a stub saying why when the build has no JIT)
 *
 * Every engine measures a workload through the same ops (struct
 * bench_engine): run it @repeat times, report ns per run and the u32 result.
 */
#ifndef BENCH_VM_H
#define BENCH_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "progs/bench-vm-data.h"

enum bench_wl {
	BENCH_WL_LOG2,
	BENCH_WL_PRIME,
	BENCH_WL_MEMCPY,
	BENCH_WL_STRCMP,
	BENCH_WL_SWITCH,
	BENCH_WL_SIMPLE,
	BENCH_WL__COUNT
};

struct bench_workload {
	const char *name; /* in the table and for --filter */
	const char *prog; /* the program's function name in bench_vm.bpf.o */
};

/* Indexed by enum bench_wl (main.c). */
extern const struct bench_workload bpftime_bench_workloads[BENCH_WL__COUNT];

/* The XDP test packet and the interpreter's dummy ctx: the programs ignore
 * it, but XDP test runs want at least an Ethernet header. */
#define BENCH_PKT_SIZE 64

/* Run workload @wl @repeat times: ns per run and the (last) result. */
typedef int (*bench_measure_fn)(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
				uint32_t *ret);

struct bench_engine {
	const char *name;
	void *ctx;
	bench_measure_fn measure;
	bool available;
	char reason[256]; /* why not available */
};

/* inputs.c: fill @d deterministically (fixed seed). */
void bpftime_bench_inputs__fill(struct bench_vm_data *d);

/* engine-*.c: set up @e for the workloads in @mask (bit per enum bench_wl)
 * with input bytes @img. Return 0 (e->available says whether the engine can
 * run here, e->reason why not) or -errno for a failure that is a bug. */
int bpftime_bench_native__init(struct bench_engine *e, const struct bench_vm_data *img);
int bpftime_bench_kernel__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			       const struct bench_vm_data *img);
int bpftime_bench_interp__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			       const struct bench_vm_data *img);
int bpftime_bench_jit__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			    const struct bench_vm_data *img);
void bpftime_bench_kernel__fini(struct bench_engine *e);
void bpftime_bench_interp__fini(struct bench_engine *e);
void bpftime_bench_jit__fini(struct bench_engine *e);

/* One bounds-checked interpreter run of @wl: instructions executed and r0. */
int bpftime_bench_interp__count(struct bench_engine *e, enum bench_wl wl, uint64_t *insns,
				uint32_t *ret);

/* Wall time the JIT spent compiling and binding the programs, in ms. */
double bpftime_bench_jit__compile_ms(const struct bench_engine *e);

/* engine-vm.c, for the interp and jit engines (@engine names them in
 * messages on stderr). */
struct bpftime_obj;
struct bpftime_vm;
/* bpftime_obj__open; NULL with errno set. */
struct bpftime_obj *bpftime_bench_vm__open(const char *engine, const char *obj_path);
/* A vm of program @name with bpf_loop; bounds-checked with the obj's
 * regions when @checked. NULL after a message. */
struct bpftime_vm *bpftime_bench_vm__load(struct bpftime_obj *obj, const char *engine,
					  const char *name, bool checked);
/* The input bytes into the obj's copy of .bss (after a load made it). */
int bpftime_bench_vm__write_inputs(struct bpftime_obj *obj, const char *engine,
				   const struct bench_vm_data *img);
/* An engine's set-up: *@obj opened from @obj_path, the programs of @mask
 * loaded by @load(@ctx, @mask) (which reads *@obj), the input bytes
 * written. 0 or -errno; the caller's fini frees what was made. */
int bpftime_bench_vm__prepare(const char *engine, const char *obj_path, unsigned mask,
			      const struct bench_vm_data *img, struct bpftime_obj **obj,
			      int (*load)(void *ctx, unsigned mask), void *ctx);
/* bench_measure_fn for one vm; -ENOEXEC when @vm is NULL. */
int bpftime_bench_vm__measure(const struct bpftime_vm *vm, const char *engine, enum bench_wl wl,
			      uint64_t repeat, double *ns_per_run, uint32_t *ret);
/* One run: instructions executed (bounds-checked vms count them) and r0. */
int bpftime_bench_vm__count(const struct bpftime_vm *vm, const char *engine, enum bench_wl wl,
			    uint64_t *insns, uint32_t *ret);

/* inputs.c: this thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID). */
uint64_t bpftime_bench_cpu_ns(void);

#endif /* BENCH_VM_H */
