// SPDX-License-Identifier: MIT
/*
 * openat(2) calls with their results: sys_enter_openat remembers the path
 * pointer of each thread's call in flight (a HASH keyed by tid), and
 * sys_exit_openat sends pid, comm, return value and path through a RINGBUF.
 * The path is read at exit, as the kernel has copied it in by then (it may
 * not be paged in at entry).
 *
 * Needs no kernel BTF: the tracepoint records are declared below as the
 * kernel lays them out (include/trace/events/syscalls.h and the
 * format files under /sys/kernel/tracing/events/syscalls/).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "opensnoop.h"

/* struct trace_event_raw_sys_enter: 8 bytes of common fields, id, args. */
struct sys_enter_ctx {
	__u64 common;
	long id;
	unsigned long args[6];
};

/* struct trace_event_raw_sys_exit: 8 bytes of common fields, id, ret. */
struct sys_exit_ctx {
	__u64 common;
	long id;
	long ret;
};

/* Set by the loader before load: trace only this pid, 0 for all. */
const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* the user pointer to the path */
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct sys_enter_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 path = ctx->args[1];

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	bpf_map_update_elem(&inflight, &tid, &path, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct sys_exit_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct opensnoop_event *e;
	__u64 *path;

	path = bpf_map_lookup_elem(&inflight, &tid);
	if (!path)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->tid = tid;
		e->ret = ctx->ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		if (bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)*path) < 0)
			e->path[0] = '\0';
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
