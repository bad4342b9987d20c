// SPDX-License-Identifier: MIT
/*
 * BTF-defined maps in .maps, with every way bpf_helpers.h encodes their
 * attributes, and a program that uses two of them and global data.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value {
	__u64 count;
	__u32 flags;
	__u32 pad[3];
};

typedef struct value value_t;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, value_t);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 40);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

__u64 lookups = 7; /* .data, after the BTF maps in the map list */

/* counts[in[0]].count + table[0][0] + lookups (after ++) */
SEC("uprobe/maps")
__u64 use_maps(__u32 *in)
{
	__u32 zero = 0;
	value_t *v = bpf_map_lookup_elem(&counts, in);
	__u64 *t = bpf_map_lookup_elem(&table, &zero);
	__u64 r = ++lookups;

	if (v)
		r += v->count;
	if (t)
		r += *t;
	return r;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
