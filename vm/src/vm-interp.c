// SPDX-License-Identifier: MIT
/*
 * The interpreter, in two builds of one body (vm-interp-body.h): the fast
 * one trusts the program's memory accesses, the checked one checks each of
 * them against stack, ctx and registered regions and counts instructions.
 * Run path: no libc, no allocation, no TLS.
 */
#include <errno.h>
#include "vm-internal.h"
#include "vm-alu.h"

/* Stack first: most checked accesses hit it. */
static inline bool access_ok_inline(const struct bpftime_vm_call *call, uint64_t addr,
				    uint64_t size, bool write)
{
	if (addr >= call->stack_lo && addr + size <= call->stack_hi && addr + size > addr)
		return true;
	return bpftime_vm_access_ok(call, addr, size, write);
}

#define VM_CHECKED   0
#define VM_MODE      VM_MODE_FAST
#define VM_INTERP_FN interp_fast
#include "vm-interp-body.h"
#undef VM_CHECKED
#undef VM_MODE
#undef VM_INTERP_FN

#define VM_CHECKED   1
#define VM_MODE      VM_MODE_CHECKED
#define VM_INTERP_FN interp_checked
#include "vm-interp-body.h"
#undef VM_CHECKED
#undef VM_MODE
#undef VM_INTERP_FN

const void *const *bpftime_vm_interp_labels(enum vm_mode mode)
{
	uint64_t labels = 0;

	if (mode == VM_MODE_CHECKED)
		interp_checked(NULL, 0, 0, NULL, &labels);
	else
		interp_fast(NULL, 0, 0, NULL, &labels);
	return (const void *const *)(uintptr_t)labels;
}

int bpftime_vm_interp(struct bpftime_vm_call *call, uint32_t pc, unsigned depth,
		      const uint64_t args[5], uint64_t *r0)
{
	if (call->checked)
		return interp_checked(call, pc, depth, args, r0);
	return interp_fast(call, pc, depth, args, r0);
}
