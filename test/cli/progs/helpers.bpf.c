// SPDX-License-Identifier: MIT
/*
 * The helpers of bpftime-vm: bpf_trace_printk's conversions (the expected
 * lines are in cli_test.sh), and sanity of the others. r0 adds one digit
 * per check that held, so a wrong digit names the failed check.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("uprobe/helpers")
__u64 helpers(void *ctx)
{
	char name[] = "bpftime";
	__u64 t1, t2, r = 0;
	__u32 a, b;
	long n, bad;

	n = bpf_printk("d=%d u=%u x=%x", -5, 4000000000u, 255);
	bpf_printk("ld=%ld lu=%lu lx=%lx", -5L, 18446744073709551615UL, 0xdeadbeefcafeUL);
	bpf_printk("lld=%lld llu=%llu llx=%llx", -1LL, 12345678901234ULL, 0xabcULL);
	bpf_printk("s=%s c=%c 100%%", name, 'Z');
	bpf_printk("w=[%5d] [%-4x] [%03u]", 7, 10, 9);
	bpf_printk("i=%i p=%p bad=[%s]", 42, (void *)0x1000, (char *)16);
	bad = bpf_printk("%q", 1);
	t1 = bpf_ktime_get_ns();
	t2 = bpf_ktime_get_ns();
	a = bpf_get_prandom_u32();
	b = bpf_get_prandom_u32();
	/* n: bytes of "d=-5 u=4000000000 x=ff" (22) */
	r = n;
	r += bad == -22 ? 100 : 0;
	r += t1 && t2 >= t1 ? 1000 : 0;
	r += bpf_get_smp_processor_id() < 65536 ? 10000 : 0;
	r += a != b ? 100000 : 0;
	return r;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
