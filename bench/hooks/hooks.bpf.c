// SPDX-License-Identifier: MIT
/*
 * The programs of bench/hooks, one per case; the tool loads only the one
 * it runs. No CO-RE, no kernel BTF: a uprobe's context is read as the
 * kernel's x86-64 struct pt_regs, by offset.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* struct pt_regs on x86-64, in u64 slots */
#define REGS_DI 14
#define REGS_IP 16

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* (a) the cost of a hit itself */
SEC("uprobe")
int empty(void *ctx)
{
	return 0;
}

static __always_inline int count_hit(void)
{
	__u32 key = 0;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST) == 0)
		return 0;
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

/* (b) a counter: one hash lookup and an atomic add per hit */
SEC("uprobe")
int hash_count(void *ctx)
{
	return count_hit();
}

/* (b') the same behind a pid predicate, as bpftrace's /pid == N/ and the
 * libbpf-tools' -p filters: bpf_get_current_pid_tgid() on every hit */
const volatile __u32 target_pid = 0;

SEC("uprobe")
int pid_count(void *ctx)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	return count_hit();
}

/* (c) a 16-byte record per hit: the first argument and the probed address */
SEC("uprobe")
int ring(void *ctx)
{
	__u64 rec[2];

	rec[0] = ((__u64 *)ctx)[REGS_DI];
	rec[1] = ((__u64 *)ctx)[REGS_IP];
	bpf_ringbuf_output(&events, rec, sizeof(rec), 0);
	return 0;
}

/* (d) the cost of a return probe */
SEC("uretprobe")
int uret(void *ctx)
{
	return 0;
}

/* (e) the cost of a traced syscall: the kernel's tracepoint, or the
 * agent's rewritten syscall site in the target */
SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
