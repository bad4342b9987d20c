// SPDX-License-Identifier: MIT
/* The BPF side of printk_tool.c: bpf_printk("hello %d", arg1) at each call
 * of the probed function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* x86-64 struct pt_regs, as far as this program reads it */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
	unsigned long orig_ax, ip, cs, flags, sp, ss;
};

SEC("uprobe")
int say_hello(struct pt_regs *ctx)
{
	bpf_printk("hello %d", (int)ctx->di);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
