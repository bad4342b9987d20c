// SPDX-License-Identifier: MIT
/*
 * Global data: .data, .rodata, .bss and string literals (.rodata.str1.1),
 * read and written by programs; the results are checked by test_obj.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 counter = 100;             /* .data */
const volatile __u64 scale = 3;  /* .rodata */
const char greeting[] = "hello"; /* .rodata */
__u64 last_input;                /* .bss */
__u32 runs;                      /* .bss */

static __noinline __u64 str_sum(const char *s)
{
	__u64 sum = 0;

	for (int i = 0; i < 16 && s[i]; i++)
		sum += (unsigned char)s[i];
	return sum;
}

/* counter += in[0] * scale; returns counter + runs (after ++) */
SEC("uprobe/globals")
__u64 update_globals(__u64 *in)
{
	last_input = in[0];
	counter += in[0] * scale;
	runs++;
	return counter + runs;
}

/* byte sums of two literals and of greeting[] */
SEC("uprobe/strings")
__u64 string_sums(void *ctx)
{
	return str_sum("abc") * 1000000 + str_sum("xyz!") * 1000 + str_sum(greeting);
}

/* writes to read-only data: refused by the bounds-checked mode */
SEC("uprobe/rodata_write")
__u64 rodata_write(void *ctx)
{
	*(volatile __u64 *)&scale = 5;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
