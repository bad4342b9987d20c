// SPDX-License-Identifier: MIT
/*
 * Counts calls of libc's malloc() per process: a uprobe on malloc's entry
 * adds one to a HASH map keyed by the caller's pid (the thread group id).
 * The loader (malloc_counter.c) attaches it and prints the map.
 *
 * Needs no kernel BTF: no CO-RE relocations, and the program never reads
 * its struct pt_regs context, so that struct need not be defined.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "malloc_counter.h"

/* Set by the loader before load: count only this pid, 0 for all. */
const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MALLOC_COUNTER_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(malloc_enter)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count;

	if (target_pid && pid != target_pid)
		return 0;
	count = bpf_map_lookup_elem(&counts, &pid);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* Another thread of the process may have inserted it meanwhile. */
	if (bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST) == 0)
		return 0;
	count = bpf_map_lookup_elem(&counts, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
