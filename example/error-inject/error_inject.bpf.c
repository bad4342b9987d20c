// SPDX-License-Identifier: MIT
/*
 * Error injection in user space: a uprobe on a function's entry that calls
 * bpf_override_return(), so that the function is not run and its caller
 * sees @rc instead. Counts the overrides in an ARRAY map for the loader
 * (error_inject.c).
 *
 * bpftime only: the kernel refuses to attach a program that calls
 * bpf_override_return() to a uprobe (perf_event_attach_bpf_prog: -EINVAL);
 * it allows it on kprobes of ALLOW_ERROR_INJECTION functions only.
 *
 * The program never reads its struct pt_regs, so that struct need not be
 * defined (no vmlinux.h, no CO-RE).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Set by the loader before load. */
const volatile __u32 target_pid = 0; /* 0: every process */
const volatile __s64 rc = -12;       /* -ENOMEM */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} overrides SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(inject)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	__u64 *n;

	if (target_pid && pid != target_pid)
		return 0;
	bpf_override_return(ctx, (__u64)rc);
	n = bpf_map_lookup_elem(&overrides, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
