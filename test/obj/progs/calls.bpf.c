// SPDX-License-Identifier: MIT
/*
 * Programs in several sections (two in one section) and BPF-to-BPF calls:
 * a global .text function calling another global one (a relocated call
 * inside .text) and a static one (an unrelocated call inside .text).
 * The input is an array of __u64; results are checked by test_obj.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

__noinline __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

__noinline __u64 twice_sum_squares(__u64 a, __u64 b)
{
	return 2 * sum_squares(a, b);
}

/* in[0] + in[1]: no subprogram, nothing appended */
SEC("uprobe/calls")
__u64 add_inputs(__u64 *in)
{
	return in[0] + in[1];
}

/* same section: in[0]^2 + in[1]^2 */
SEC("uprobe/calls")
__u64 sum_of_squares(__u64 *in)
{
	return sum_squares(in[0], in[1]);
}

/* 2 (in[0]^2 + in[1]^2) + in[2]^2 - in[3] */
SEC("xdp")
__u64 nested_calls(__u64 *in)
{
	return twice_sum_squares(in[0], in[1]) + square(in[2]) - in[3];
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
