/* SPDX-License-Identifier: MIT */
/*
 * The data of the bench/vm workloads (see workloads.h): one struct shared by
 * the BPF object, the native build and the runner, which fills it.
 */
#ifndef BENCH_VM_DATA_H
#define BENCH_VM_DATA_H

#include <linux/types.h>

#define BENCH_LOG2_N 1024
/* prime counts primes below prime_n; trial divisors stay below PRIME_MAX_D */
#define BENCH_PRIME_N      10000
#define BENCH_PRIME_N_MAX  65536
#define BENCH_PRIME_MAX_D  256 /* 256 * 256 == BENCH_PRIME_N_MAX */
#define BENCH_MEMCPY_SIZE  (1u << 20)
#define BENCH_MEMCPY_BLOCK 64 /* bytes per callback: eight 8-byte loads and stores */
#define BENCH_MEMCPY_WORDS (BENCH_MEMCPY_SIZE / 8)
/* two equal strings of STR_LEN - 1 characters that differ at STR_DIFF_AT */
#define BENCH_STR_LEN     4096
#define BENCH_STR_DIFF_AT (BENCH_STR_LEN - 8)
#define BENCH_SWITCH_N    4096

struct bench_vm_data {
	__u64 log2_in[BENCH_LOG2_N];
	__u32 prime_n;
	__u32 simple_in;
	__u8 switch_in[BENCH_SWITCH_N];
	char str_a[BENCH_STR_LEN];
	char str_b[BENCH_STR_LEN];
	__u64 memcpy_src[BENCH_MEMCPY_WORDS];
	__u64 memcpy_dst[BENCH_MEMCPY_WORDS];
};

#endif /* BENCH_VM_DATA_H */
