/* SPDX-License-Identifier: MIT */
/*
 * bpftime-bench-maps: the cost of map operations, ours next to the
 * kernel's, in one run.
 *
 *   ours, program side   bpftime_map__prog_* (what a hooked program pays:
 *                        a pointer-returning lookup, in-place updates)
 *   ours, syscall side   bpftime_map__*_elem (what bpf-emul does for a
 *                        tool's bpf() call, without the trap around it)
 *   kernel, bpf(2)       the same operation through the bpf() system call
 *                        from user space (root only)
 *
 * Each operation runs from one thread and from two threads at once (same
 * keys, so the two contend as programs in two targets would).
 */
#ifndef BPFTIME_BENCH_MAPS_H
#define BPFTIME_BENCH_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_KEYS 1024 /* keys 0..1023, all present before lookups and updates */

enum bench_op { OP_LOOKUP, OP_UPDATE, OP_DELETE, OP__COUNT };
enum bench_engine { ENG_PROG, ENG_SYS, ENG_KERNEL, ENG__COUNT };

struct bench_map {
	const char *name;
	uint32_t type;
	uint32_t flags;
};

/* One engine's map, behind three operations. */
struct bench_target {
	/* @iters operations on keys (start + i) % BENCH_KEYS from thread @thread
	 * (0 or 1); 0 or the -errno of the first unexpected failure */
	int (*run)(struct bench_target *t, enum bench_op op, uint64_t iters, unsigned thread);
	/* put every key back after deletes */
	int (*refill)(struct bench_target *t);
	void (*close)(struct bench_target *t);
};

/* ours.c / kernel.c: a map of @m's type with BENCH_KEYS u32 -> u64 entries,
 * filled; NULL with the reason in @why when the engine cannot run it. */
struct bench_target *bench_ours_open(const struct bench_map *m, bool prog_side, char *why,
				     unsigned why_len);
struct bench_target *bench_kernel_open(const struct bench_map *m, char *why, unsigned why_len);

/* ringbuf.c: the ring buffer rows; failures of our side */
int bench_ringbuf(const char *obj_path, bool quick);

#endif
