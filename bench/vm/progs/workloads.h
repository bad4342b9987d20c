/* SPDX-License-Identifier: MIT */
/*
 * The workloads of bench/vm, written once and compiled twice: by clang
 * -target bpf into bench_vm.bpf.o (which the kernel's JIT and the bpftime
 * interpreter both run) and by the host compiler into the native baseline.
 *
 * The one construct that differs is the loop. The kernel verifier accepts a
 * long loop only as bpf_loop() (helper 181) with a callback, so each workload
 * is a callback `long step(__u64 i, void *ctx)` plus an entry that loops it
 * with BENCH_LOOP. In BPF that is bpf_loop(); natively it is a plain for loop
 * with bpf_loop()'s return value, into which the host compiler may inline
 * the callback (as it would for any C loop).
 *
 * Inputs and outputs live in one struct bench_vm_data. In the BPF object it
 * is the only variable of .bss (offset 0), so the runner can give all three
 * engines the same bytes: the kernel's .bss map, bpftime's copy of .bss and
 * the native instance (bench-vm-data.h).
 *
 * Every callback checks its index against the array it indexes, even where
 * the loop count already bounds it: the verifier knows nothing about the
 * index bpf_loop() passes, and the check is the same in every engine.
 */
#ifndef BENCH_VM_WORKLOADS_H
#define BENCH_VM_WORKLOADS_H

#include "bench-vm-data.h"

/* The includer defines BENCH_VM_DATA and declares that instance first. */
#ifndef BENCH_VM_DATA
#error "define BENCH_VM_DATA as the struct bench_vm_data instance before including workloads.h"
#endif

#ifdef __bpf__
#define BENCH_INLINE           static __always_inline
#define BENCH_LOOP(n, fn, ctx) bpf_loop((n), (fn), (ctx), 0)
#else
#define BENCH_INLINE           static inline __attribute__((always_inline))
/* bpf_loop() semantics: stop when fn returns 1, return the iterations run. */
BENCH_INLINE long bench_loop(__u32 n, long (*fn)(__u64, void *), void *ctx)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (fn(i, ctx))
			return (long)i + 1;
	return (long)i;
}
#define BENCH_LOOP(n, fn, ctx) bench_loop((n), (fn), (ctx))
#endif

BENCH_INLINE __u32 bench_fold64(__u64 v)
{
	return (__u32)(v ^ (v >> 32));
}

/* ---- log2: sum of floor(log2(v)) over 1024 values, by binary search ---- */

BENCH_INLINE __u32 bench_log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

struct bench_log2_ctx {
	__u64 sum;
};

static long bench_log2_step(__u64 i, void *arg)
{
	struct bench_log2_ctx *c = arg;

	if (i >= BENCH_LOG2_N)
		return 1;
	c->sum += bench_log2_u64(BENCH_VM_DATA.log2_in[i]);
	return 0;
}

BENCH_INLINE __u32 bench_log2_run(void)
{
	struct bench_log2_ctx c = {0};

	BENCH_LOOP(BENCH_LOG2_N, bench_log2_step, &c);
	return bench_fold64(c.sum);
}

/* ---- prime: count primes below prime_n by trial division ---- */

struct bench_prime_ctx {
	__u32 n_end;
	__u32 count;
};

static long bench_prime_step(__u64 i, void *arg)
{
	struct bench_prime_ctx *c = arg;
	__u32 n = (__u32)i + 2;
	__u32 d;

	if (i >= BENCH_PRIME_N_MAX || n >= c->n_end)
		return 1;
	/* a constant bound keeps the verifier's walk of this loop finite;
	 * d * d > n ends it first for every n below BENCH_PRIME_N_MAX */
	for (d = 2; d < BENCH_PRIME_MAX_D; d++) {
		if (d * d > n)
			break;
		if (n % d == 0)
			return 0;
	}
	c->count++;
	return 0;
}

BENCH_INLINE __u32 bench_prime_run(void)
{
	struct bench_prime_ctx c = {.n_end = BENCH_VM_DATA.prime_n, .count = 0};

	if (c.n_end > BENCH_PRIME_N_MAX)
		c.n_end = BENCH_PRIME_N_MAX;
	if (c.n_end > 2)
		BENCH_LOOP(c.n_end - 2, bench_prime_step, &c);
	return c.count;
}

/* ---- memcpy: 1 MiB between two global arrays, 64 bytes per iteration ---- */

struct bench_memcpy_ctx {
	__u64 unused;
};

static long bench_memcpy_step(__u64 i, void *arg)
{
	const __u32 words = BENCH_MEMCPY_BLOCK / 8;

	if (i >= BENCH_MEMCPY_SIZE / BENCH_MEMCPY_BLOCK)
		return 1;
	__builtin_memcpy(&BENCH_VM_DATA.memcpy_dst[i * words], &BENCH_VM_DATA.memcpy_src[i * words],
			 BENCH_MEMCPY_BLOCK);
	return 0;
}

BENCH_INLINE __u32 bench_memcpy_run(void)
{
	struct bench_memcpy_ctx c = {0};
	long n = BENCH_LOOP(BENCH_MEMCPY_SIZE / BENCH_MEMCPY_BLOCK, bench_memcpy_step, &c);
	__u64 probe = BENCH_VM_DATA.memcpy_dst[0] ^
		      BENCH_VM_DATA.memcpy_dst[BENCH_MEMCPY_WORDS / 2] ^
		      BENCH_VM_DATA.memcpy_dst[BENCH_MEMCPY_WORDS - 1];

	return bench_fold64(probe) ^ (__u32)n;
}

/* ---- strcmp: byte-wise compare of two long strings that differ late ---- */

struct bench_strcmp_ctx {
	__s32 diff;
	__u32 pos;
};

static long bench_strcmp_step(__u64 i, void *arg)
{
	struct bench_strcmp_ctx *c = arg;
	unsigned char a, b;

	if (i >= BENCH_STR_LEN)
		return 1;
	a = (unsigned char)BENCH_VM_DATA.str_a[i];
	b = (unsigned char)BENCH_VM_DATA.str_b[i];
	if (a != b || !a) {
		c->diff = (__s32)a - (__s32)b;
		c->pos = (__u32)i;
		return 1;
	}
	return 0;
}

BENCH_INLINE __u32 bench_strcmp_run(void)
{
	struct bench_strcmp_ctx c = {.diff = 0, .pos = BENCH_STR_LEN};

	BENCH_LOOP(BENCH_STR_LEN, bench_strcmp_step, &c);
	return (c.pos << 8) ^ (__u32)c.diff;
}

/* ---- switch: a 16-state machine driven by an array of input bytes ---- */

struct bench_switch_ctx {
	__u64 acc;
	__u32 state;
};

static long bench_switch_step(__u64 i, void *arg)
{
	struct bench_switch_ctx *c = arg;
	__u64 acc = c->acc;
	__u32 in;

	if (i >= BENCH_SWITCH_N)
		return 1;
	in = BENCH_VM_DATA.switch_in[i];
	/* each case does different arithmetic so that no lookup table can
	 * replace the dispatch; the next state depends on input and state */
	switch ((in + c->state) & 15) {
	case 0:
		acc += in;
		break;
	case 1:
		acc ^= acc << 7;
		break;
	case 2:
		acc -= i;
		break;
	case 3:
		acc ^= acc >> 9;
		break;
	case 4:
		acc *= 3;
		break;
	case 5:
		acc |= 1ull << (in & 63);
		break;
	case 6:
		acc &= ~(__u64)in;
		break;
	case 7:
		acc += acc >> 3;
		break;
	case 8:
		acc = (acc << 1) | (acc >> 63);
		break;
	case 9:
		acc ^= 0x9e3779b97f4a7c15ull;
		break;
	case 10:
		acc += (__u64)in << 32;
		break;
	case 11:
		acc -= acc >> 17;
		break;
	case 12:
		acc ^= i * 0x100000001b3ull;
		break;
	case 13:
		acc = ~acc;
		break;
	case 14:
		acc += 0x7f4a7c15;
		break;
	default:
		acc ^= acc >> 31;
		break;
	}
	c->acc = acc;
	c->state = (c->state * 5 + in + (__u32)acc) & 15;
	return 0;
}

BENCH_INLINE __u32 bench_switch_run(void)
{
	struct bench_switch_ctx c = {.acc = 0, .state = 0};

	BENCH_LOOP(BENCH_SWITCH_N, bench_switch_step, &c);
	return bench_fold64(c.acc) ^ c.state;
}

/* ---- simple: a handful of instructions, the cost of entering a program ---- */

BENCH_INLINE __u32 bench_simple_run(void)
{
	return BENCH_VM_DATA.simple_in * 3 + 1;
}

#endif /* BENCH_VM_WORKLOADS_H */
