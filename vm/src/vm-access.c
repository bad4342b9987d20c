// SPDX-License-Identifier: MIT
/*
 * The bounds check of the checked mode: an access is allowed when it lies
 * entirely inside the run's stack, the run's ctx, a region registered on the
 * running program (or on the vm the run started with), or when the host's
 * access callback says so. Run path: no libc.
 */
#include "vm-internal.h"

/* [addr, addr + size) inside [base, base + len), without overflow. */
static inline bool in_range(uint64_t addr, uint64_t size, uint64_t base, uint64_t len)
{
	return addr >= base && size <= len && addr - base <= len - size;
}

static bool in_regions(const struct bpftime_vm *vm, uint64_t addr, uint64_t size, bool write)
{
	unsigned need = write ? BPFTIME_VM_REGION_WRITE : BPFTIME_VM_REGION_READ;

	for (uint32_t i = 0; i < vm->nr_regions; i++) {
		const struct vm_region *r = &vm->regions[i];

		if (in_range(addr, size, r->base, r->size))
			return (r->flags & need) != 0;
	}
	return false;
}

bool bpftime_vm_access_ok(const struct bpftime_vm_call *call, uint64_t addr, uint64_t size,
			  bool write)
{
	const struct bpftime_vm_run *run = call->run;
	const struct bpftime_vm *cur = call->cur;

	if (in_range(addr, size, call->stack_lo, call->stack_hi - call->stack_lo))
		return true;
	if (run->ctx_len && in_range(addr, size, (uint64_t)(uintptr_t)run->ctx, run->ctx_len))
		return !write || !(run->flags & BPFTIME_VM_RUN_CTX_RDONLY);
	if (in_regions(cur, addr, size, write))
		return true;
	if (cur != call->vm && in_regions(call->vm, addr, size, write))
		return true;
	if (cur->opts.access)
		return cur->opts.access(cur->opts.host, addr, size, write);
	return false;
}
