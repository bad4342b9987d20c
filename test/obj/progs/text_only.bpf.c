// SPDX-License-Identifier: MIT
/*
 * No program sections: everything is in .text, and the program is its
 * first function, which calls another one (an unrelocated call inside
 * .text, redirected to the appended copy).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u64 triple(__u64 x);

/* 3 * in[0] + 1 */
__u64 entry(__u64 *in)
{
	return triple(in[0]) + 1;
}

static __noinline __u64 triple(__u64 x)
{
	return x * 3;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
