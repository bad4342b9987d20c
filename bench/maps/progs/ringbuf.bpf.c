// SPDX-License-Identifier: MIT
/* The kernel side of bench/maps' ring buffer row: each run outputs
 * RB_BATCH 16-byte records and counts the ones the ring had no room for. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define RB_BATCH 4096

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} rb SEC(".maps");

__u64 dropped;

static long produce(__u64 i, void *ctx)
{
	__u64 rec[2] = {i, 0x5a5a5a5a};

	if (bpf_ringbuf_output(&rb, rec, sizeof(rec), 0))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("xdp")
int bench_ringbuf(struct xdp_md *ctx)
{
	bpf_loop(RB_BATCH, produce, NULL, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
