// SPDX-License-Identifier: MIT
/*
 * bpf_loop() callbacks: the address of a .text function in an ld_imm64
 * (BPF_PSEUDO_FUNC), and a callback that stops the loop early.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct acc {
	__u64 sum;
	__u64 limit;
};

static long add_square(__u32 i, void *ctx)
{
	struct acc *a = ctx;

	a->sum += (__u64)i * i;
	return 0;
}

static long add_until(__u32 i, void *ctx)
{
	struct acc *a = ctx;

	if (i >= a->limit)
		return 1;
	a->sum += i;
	return 0;
}

/* sum of i^2 for i < in[0], times 1000, plus bpf_loop's return value */
SEC("uprobe/loop")
__u64 loop_squares(__u64 *in)
{
	struct acc a = {0, 0};
	long n = bpf_loop(in[0], add_square, &a, 0);

	return a.sum * 1000 + n;
}

/* sum of i for i < in[1] (stopped by the callback), times 1000, plus n */
SEC("uprobe/loop_stop")
__u64 loop_stop(__u64 *in)
{
	struct acc a = {0, in[1]};
	long n = bpf_loop(in[0], add_until, &a, 0);

	return a.sum * 1000 + n;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
