// SPDX-License-Identifier: MIT
/*
 * The bench/vm workloads as XDP programs: BPF_PROG_TEST_RUN on XDP takes
 * `repeat` and reports the mean duration, so the kernel times its JIT
 * without syscall overhead. The programs ignore their ctx and work on .bss
 * (see workloads.h), so the bpftime interpreter runs them with a dummy ctx.
 * Return values are u32 checksums: an XDP test run reports r0 as a __u32.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench-vm-data.h"

/* The only .bss variable: the runner fills it with the same bytes in every
 * engine and checks that the section is exactly this size. */
struct bench_vm_data bench_data;

#define BENCH_VM_DATA bench_data
#include "workloads.h"

SEC("xdp")
int bench_log2(struct xdp_md *ctx)
{
	return bench_log2_run();
}

SEC("xdp")
int bench_prime(struct xdp_md *ctx)
{
	return bench_prime_run();
}

SEC("xdp")
int bench_memcpy(struct xdp_md *ctx)
{
	return bench_memcpy_run();
}

SEC("xdp")
int bench_strcmp(struct xdp_md *ctx)
{
	return bench_strcmp_run();
}

SEC("xdp")
int bench_switch(struct xdp_md *ctx)
{
	return bench_switch_run();
}

SEC("xdp")
int bench_simple(struct xdp_md *ctx)
{
	return bench_simple_run();
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
