// SPDX-License-Identifier: MIT
/*
 * The BPF side of the agent end-to-end test tool (e2e_tool.c). The loader
 * turns on only the programs of its mode (bpf_program__set_autoload()):
 *
 *   count_calls    uprobe: calls of the probed function per process
 *   read_probe     uprobe on the target's probe_me(str, &good, bad,
 *                  edge, idx): bpf_probe_read_user() and _str() on good and
 *                  bad addresses, return values into "results"
 *   hostile_*      uprobes on probe_me that dereference wild pointers
 *                  directly, as the kernel's verifier would never allow;
 *                  only ever loaded under bpftime, whose checked
 *                  interpreter must stop them
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "e2e.h"

/* x86-64 struct pt_regs, as far as these programs read it */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
	unsigned long orig_ax, ip, cs, flags, sp, ss;
};

#define ARG1(ctx) ((ctx)->di)
#define ARG2(ctx) ((ctx)->si)
#define ARG3(ctx) ((ctx)->dx)
#define ARG4(ctx) ((ctx)->cx)
#define ARG5(ctx) ((ctx)->r8)

/* Set by the loader before load: count only this pid, 0 for all. */
const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, E2E_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, E2E_NR_SLOTS);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

/* the map whose value hostile_map writes past */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scratch SEC(".maps");

static __always_inline int skip(void)
{
	return target_pid && (__u32)(bpf_get_current_pid_tgid() >> 32) != target_pid;
}

static __always_inline void set(__u32 slot, __s64 v)
{
	__s64 *p = bpf_map_lookup_elem(&results, &slot);

	if (p)
		*p = v;
}

static __always_inline void bump(__u32 slot)
{
	__s64 *p = bpf_map_lookup_elem(&results, &slot);

	if (p)
		__sync_fetch_and_add(p, 1);
}

SEC("uprobe")
int count_calls(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count;

	if (skip())
		return 0;
	count = bpf_map_lookup_elem(&counts, &pid);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	if (bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST) == 0)
		return 0;
	count = bpf_map_lookup_elem(&counts, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("uprobe")
int read_probe(struct pt_regs *ctx)
{
	__u64 v = 0xdeadbeef;
	char str[32], small[6];

	if (skip())
		return 0;
	set(E2E_READ_NULL, bpf_probe_read_user(&v, sizeof(v), NULL));
	set(E2E_READ_ZEROED, (__s64)v);
	set(E2E_READ_ONE, bpf_probe_read_user(&v, sizeof(v), (void *)1));
	set(E2E_READ_UNMAPPED, bpf_probe_read_user(&v, sizeof(v), (void *)ARG3(ctx)));
	set(E2E_READ_HIGH, bpf_probe_read_user(&v, sizeof(v), (void *)E2E_HIGH_ADDR));
	set(E2E_READ_KERNEL, bpf_probe_read_user(&v, sizeof(v), (void *)E2E_KERNEL_ADDR));
	set(E2E_READ_EDGE, bpf_probe_read_user(&v, sizeof(v), (void *)ARG4(ctx)));
	set(E2E_READ_GOOD, bpf_probe_read_user(&v, sizeof(v), (void *)ARG2(ctx)));
	set(E2E_READ_GOOD_VAL, (__s64)v);
	set(E2E_STR_GOOD, bpf_probe_read_user_str(str, sizeof(str), (void *)ARG1(ctx)));
	set(E2E_STR_NULL, bpf_probe_read_user_str(str, sizeof(str), NULL));
	set(E2E_STR_SHORT, bpf_probe_read_user_str(small, sizeof(small), (void *)ARG1(ctx)));
	bump(E2E_READ_RUNS);
	return 0;
}

/* *(u64 *)bad (a PROT_NONE page): a load through a pointer from the probed function */
SEC("uprobe")
int hostile_read(struct pt_regs *ctx)
{
	volatile __u64 v;

	if (skip())
		return 0;
	bump(E2E_HOSTILE_READ_BEFORE);
	v = *(volatile __u64 *)ARG3(ctx);
	(void)v;
	bump(E2E_HOSTILE_READ_AFTER);
	return 0;
}

/* *(u64 *)&good = 0: a store into the target's own memory */
SEC("uprobe")
int hostile_write(struct pt_regs *ctx)
{
	if (skip())
		return 0;
	bump(E2E_HOSTILE_WRITE_BEFORE);
	*(volatile __u64 *)ARG2(ctx) = 0;
	bump(E2E_HOSTILE_WRITE_AFTER);
	return 0;
}

/* stores past the end of the ctx (the hook's saved registers) */
SEC("uprobe")
int hostile_ctx(struct pt_regs *ctx)
{
	volatile __u64 *p = (volatile __u64 *)ctx;
	long idx = (long)ARG5(ctx);

	if (skip())
		return 0;
	bump(E2E_HOSTILE_CTX_BEFORE);
	p[idx] = 0x4141414141414141ull;
	bump(E2E_HOSTILE_CTX_AFTER);
	return 0;
}

/* a store far below the program's stack, through a pointer it computed */
SEC("uprobe")
int hostile_stack(struct pt_regs *ctx)
{
	volatile char buf[8] = {};
	long idx = (long)ARG5(ctx);

	if (skip())
		return 0;
	bump(E2E_HOSTILE_STACK_BEFORE);
	buf[-idx * 8] = 0x41;
	bump(E2E_HOSTILE_STACK_AFTER);
	return buf[0];
}

/* a store far past a map value */
SEC("uprobe")
int hostile_map(struct pt_regs *ctx)
{
	__u32 zero = 0;
	volatile __u64 *v;
	long idx = (long)ARG5(ctx);

	if (skip())
		return 0;
	v = bpf_map_lookup_elem(&scratch, &zero);
	if (!v)
		return 0;
	bump(E2E_HOSTILE_MAP_BEFORE);
	v[idx] = 0x4141414141414141ull;
	bump(E2E_HOSTILE_MAP_AFTER);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
