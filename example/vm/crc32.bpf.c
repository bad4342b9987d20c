// SPDX-License-Identifier: MIT
/*
 * CRC-32 of the input memory, as zlib's crc32() computes it (the IEEE 802.3
 * polynomial, reflected, initial value and final xor 0xffffffff):
 *
 *   bpftime-vm run --mem FILE crc32.bpf.o
 *   python3 -c 'import zlib,sys; print(zlib.crc32(open(sys.argv[1],"rb").read()))' FILE
 *
 * print the same number. At entry r1 points at the input and r2 holds its
 * length, so the program takes them as its two arguments.
 *
 * The loops are ones the kernel's verifier accepts: bpf_loop() over each
 * chunk of at most BPF_MAX_LOOPS bytes, inside a loop with a constant bound.
 * The byte-wise table lives in .bss and is built by the first run; later
 * runs of the same loaded object reuse it (global data is shared between
 * runs, as a kernel array map would be).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* CRC-32/IEEE, bit-reversed. */
#define CRC32_POLY 0xedb88320u
/* bpf_loop() refuses more iterations per call (BPF_MAX_LOOPS). */
#define CHUNK (1u << 23)
/* So inputs up to 64 chunks (512 MiB) are covered. */
#define MAX_CHUNKS 64

__u32 crc_table[256];
int table_ready;

struct crc_state {
	const __u8 *data;
	__u64 base; /* offset of the current chunk */
	__u32 crc;
};

static long fill_entry(__u32 i, void *ctx)
{
	__u32 c = i;

	for (int k = 0; k < 8; k++)
		c = c & 1 ? (c >> 1) ^ CRC32_POLY : c >> 1;
	if (i < 256)
		crc_table[i] = c;
	return 0;
}

static long crc_byte(__u32 i, void *ctx)
{
	struct crc_state *s = ctx;
	__u8 b = s->data[s->base + i];

	s->crc = crc_table[(s->crc ^ b) & 0xff] ^ (s->crc >> 8);
	return 0;
}

SEC("crc32")
__u64 crc32_ieee(const __u8 *data, __u64 len)
{
	struct crc_state s = {.data = data, .base = 0, .crc = 0xffffffff};

	if (!table_ready) {
		bpf_loop(256, fill_entry, NULL, 0);
		table_ready = 1;
	}
	for (int c = 0; c < MAX_CHUNKS && s.base < len; c++) {
		__u64 n = len - s.base;

		if (n > CHUNK)
			n = CHUNK;
		bpf_loop((__u32)n, crc_byte, &s, 0);
		s.base += n;
	}
	/* a 64-bit return value, so r0 holds the CRC zero-extended */
	return (__u64)(s.crc ^ 0xffffffff);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
