// SPDX-License-Identifier: MIT
/*
 * Error injection on a syscall: a kprobe on openat's x86-64 entry wrapper
 * (libbpf's SEC("ksyscall/openat"): __x64_sys_openat) that calls
 * bpf_override_return() when the path opened is the target's, so that the
 * syscall is not made and the caller sees @rc (an -errno). Counts the
 * overrides and the openat calls it saw in an ARRAY map for the loader
 * (error_inject_sys.c), and, from the sys_exit_openat tracepoint (which
 * the kernel fires after the overridden wrapper returned), the calls that
 * returned @rc; and, from a kretprobe on the wrapper, the calls that
 * succeeded.
 *
 * The kernel allows this too, with CONFIG_BPF_KPROBE_OVERRIDE: syscall
 * wrappers are ALLOW_ERROR_INJECTION functions. Under bpftime the agent in
 * the target skips the syscall at its site.
 *
 * As for a kernel kprobe on the wrapper, ctx is the wrapper's own
 * pt_regs, whose first argument (di) points to the user pt_regs holding
 * the syscall's arguments; those are read with bpf_probe_read_kernel(),
 * as libbpf's BPF_KSYSCALL does. The kernel's struct pt_regs layout is
 * declared below (no vmlinux.h, no CO-RE: it is the x86-64 ABI).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PATH_MAX_LEN 64

/* the kernel's struct pt_regs on x86-64 */
struct kregs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* Set by the loader before load. */
const volatile __u32 target_pid = 0; /* 0: every process */
const volatile __s64 rc = -2;        /* -ENOENT */
const volatile char target_path[PATH_MAX_LEN] = {};

/* of the target process: 0 overrides, 1 openat calls seen by the kprobe,
 * 2 openat calls whose sys_exit_openat saw @rc as the result, 3 openat
 * calls the kretprobe saw succeed */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static void count(__u32 key)
{
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("ksyscall/openat")
int inject_openat(struct kregs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	const struct kregs *regs = (const struct kregs *)ctx->di;
	char path[PATH_MAX_LEN];
	const char *upath;

	if (target_pid && pid != target_pid)
		return 0;
	count(1);
	/* openat(dfd, pathname, flags, mode): pathname in si */
	if (bpf_probe_read_kernel(&upath, sizeof(upath), &regs->si))
		return 0;
	if (bpf_probe_read_user_str(path, sizeof(path), upath) < 0)
		return 0;
	for (int i = 0; i < PATH_MAX_LEN; i++) {
		if (path[i] != target_path[i])
			return 0;
		if (!path[i])
			break;
	}
	bpf_override_return((struct pt_regs *)ctx, (__u64)rc);
	count(0);
	return 0;
}

/* the wrapper's return (the kernel's pt_regs at the return: ax the
 * result); counted for the calls that succeeded, which no override
 * touched */
SEC("kretsyscall/openat")
int openat_ret(struct kregs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if ((!target_pid || pid == target_pid) && (long)ctx->ax >= 0)
		count(3);
	return 0;
}

/* the result the caller gets, overridden or not */
struct sys_exit_args {
	unsigned long long common; /* type, flags, preempt_count, pid */
	long nr;
	long ret;
};

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct sys_exit_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if ((!target_pid || pid == target_pid) && ctx->ret == rc)
		count(2);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
