// SPDX-License-Identifier: MIT
/*
 * The native baseline: workloads.h compiled by the host compiler (always at
 * -O2, see CMakeLists.txt), on a private copy of the inputs that the runner
 * fills at run time.
 *
 * What keeps the compiler honest: the inputs are unknown at compile time;
 * each workload is a noinline function called once per run, and between
 * runs an empty asm that clobbers memory and takes the result, so no run can
 * be hoisted out of the timing loop or dropped. Inside a run the compiler may
 * do anything it would do to any C loop (inline the callback, vectorise the
 * copy): that is the baseline.
 */
#include <errno.h>
#include <string.h>
#include "bench-vm.h"

static struct bench_vm_data native_data;

#define BENCH_VM_DATA native_data
#include "progs/workloads.h"

typedef __u32 (*native_fn)(void);

#define NATIVE_WORKLOAD(NAME)                                                                      \
	static __attribute__((noinline)) __u32 native_##NAME(void)                                 \
	{                                                                                          \
		return bench_##NAME##_run();                                                       \
	}
NATIVE_WORKLOAD(log2)
NATIVE_WORKLOAD(prime)
NATIVE_WORKLOAD(memcpy)
NATIVE_WORKLOAD(strcmp)
NATIVE_WORKLOAD(switch)
NATIVE_WORKLOAD(simple)
#undef NATIVE_WORKLOAD

static const native_fn native_fns[BENCH_WL__COUNT] = {
    [BENCH_WL_LOG2] = native_log2,     [BENCH_WL_PRIME] = native_prime,
    [BENCH_WL_MEMCPY] = native_memcpy, [BENCH_WL_STRCMP] = native_strcmp,
    [BENCH_WL_SWITCH] = native_switch, [BENCH_WL_SIMPLE] = native_simple,
};

static int native_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
			  uint32_t *ret)
{
	native_fn fn = native_fns[wl];
	uint64_t t0, t1;
	__u32 r = 0;

	if (!repeat)
		return -EINVAL;
	t0 = bpftime_bench_cpu_ns();
	for (uint64_t i = 0; i < repeat; i++) {
		r = fn();
		__asm__ volatile("" : : "r"(r) : "memory");
	}
	t1 = bpftime_bench_cpu_ns();
	*ns_per_run = (double)(t1 - t0) / (double)repeat;
	*ret = r;
	return 0;
}

int bpftime_bench_native__init(struct bench_engine *e, const struct bench_vm_data *img)
{
	memcpy(&native_data, img, sizeof(native_data));
	e->name = "native";
	e->ctx = NULL;
	e->measure = native_measure;
	e->available = true;
	return 0;
}
