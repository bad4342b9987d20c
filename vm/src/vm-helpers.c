// SPDX-License-Identifier: MIT
/*
 * Helpers whose semantics belong to the instruction set's environment rather
 * than to a runtime, so every runtime can register them. Run path: no libc.
 */
#include <errno.h>
#include "vm-internal.h"

/* BPF_MAX_LOOPS in include/linux/bpf.h */
#define VM_MAX_LOOPS (1ull << 23)

/* As bpf_loop() in kernel/bpf/bpf_iter.c. */
uint64_t bpftime_vm_helper_loop(uint64_t nr_loops, uint64_t fn, uint64_t cb_ctx, uint64_t flags,
				uint64_t r5, const struct bpftime_vm_call *call)
{
	struct bpftime_vm_call *run = (struct bpftime_vm_call *)call;
	uint64_t args[5] = {0, cb_ctx, 0, 0, 0};
	uint64_t i, ret;
	int64_t idx;

	(void)r5;
	if (flags)
		return (uint64_t)-EINVAL;
	if (nr_loops > VM_MAX_LOOPS)
		return (uint64_t)-E2BIG;
	if (nr_loops == 0)
		return 0;
	/* Resolved once, not per iteration: the verifier's job in the kernel. */
	idx = bpftime_vm_func_index(run->cur, fn);
	if (idx < 0) {
		run->err = -EINVAL;
		return 0;
	}
	for (i = 0; i < nr_loops; i++) {
		args[0] = i;
		/* A failing callback stops the whole run; the value is unused. */
		if (bpftime_vm_call_func(run, (uint32_t)idx, args, &ret))
			return 0;
		/* 0: continue, 1: stop and return */
		if (ret)
			return i + 1;
	}
	return i;
}
