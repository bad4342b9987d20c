// SPDX-License-Identifier: MIT
/*
 * Entry points of the run path and the services helpers get through
 * struct bpftime_vm_call. Run path: no libc, no allocation, no TLS.
 */
#include <errno.h>
#include "vm-internal.h"

/*
 * The stack of every frame lives here, on the caller's stack: frame k's r10
 * is stack_hi - k * BPFTIME_VM_STACK_SIZE. Checked runs start from zeroed
 * memory so that an untrusted program cannot read what the host left there.
 */
static void zero_stack(uint64_t *stack, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		stack[i] = 0;
		/* keep the compiler from turning the loop into a memset() call */
		__asm__ volatile("" : : "r"(stack) : "memory");
	}
}

static __attribute__((noinline)) int run_full(const struct bpftime_vm *vm,
					      struct bpftime_vm_run *run);

/*
 * Native code: the image's entry sets up the call state in generated
 * code (vm-image.h), where LLVM drops what the program never uses: the
 * per-run cost of a short program is two stores and two jumps. In fast
 * mode each function keeps its frame in its own native frame (a tail
 * call into interpreted code gets a stack area, vm-native.c); a checked
 * entry has the area in its frame. Counting images, and checked ones on
 * a vm that clears its stack, have none (vm-native.c): run_full.
 */
int bpftime_vm__run(const struct bpftime_vm *vm, struct bpftime_vm_run *run)
{
	/* a checked image's entry serves every run; a fast one's only the
	 * runs that do not ask for checks */
	if (vm->native_entry && (vm->native_checked || !(run->flags & BPFTIME_VM_RUN_CHECKED))) {
		run->fault.err = 0;
		run->insns = 0;
		return vm->native_entry(vm, run);
	}
	return run_full(vm, run);
}

static int run_full(const struct bpftime_vm *vm, struct bpftime_vm_run *run)
{
	uint64_t stack[VM_STACK_TOTAL / sizeof(uint64_t)] __attribute__((aligned(16)));
	struct bpftime_vm_call call;
	uint64_t args[5], start;
	int err;

	/* run->fault is written only when the run fails, all of it. */
	run->fault.err = 0;
	run->insns = 0;
	if (!vm->loaded) {
		run->fault = (struct bpftime_vm_fault){.err = -ENOEXEC, .prog = vm};
		return -ENOEXEC;
	}
	call.checked = vm->opts.bounds_check || (run->flags & BPFTIME_VM_RUN_CHECKED);
	if ((call.checked && !vm->opts.keep_stack) || vm->opts.zero_stack)
		zero_stack(stack, VM_STACK_TOTAL / sizeof(uint64_t));
	call.vm = vm;
	call.cur = vm;
	call.run = run;
	call.stack_lo = (uint64_t)(uintptr_t)stack;
	call.stack_hi = call.stack_lo + sizeof(stack);
	start = vm->opts.insn_limit ? vm->opts.insn_limit : UINT64_MAX;
	call.insn_left = start;
	call.tail_calls = 0;
	call.depth = 0;
	call.err = 0;
	args[0] = (uint64_t)(uintptr_t)run->ctx;
	args[1] = run->ctx_len;
	args[2] = args[3] = args[4] = 0;
	if (bpftime_vm_native_ok(vm, call.checked))
		err = bpftime_vm_native_call(&call, 0, 0, args, &run->r0);
	else
		err = bpftime_vm_interp(&call, 0, 0, args, &run->r0);
	run->insns = call.checked ? start - call.insn_left : 0;
	return err;
}

int bpftime_vm__exec(const struct bpftime_vm *vm, void *mem, size_t len, uint64_t *ret)
{
	struct bpftime_vm_run run = {.ctx = mem, .ctx_len = len};
	int err = bpftime_vm__run(vm, &run);

	if (!err && ret)
		*ret = run.r0;
	return err;
}

void *bpftime_vm_call__host(const struct bpftime_vm_call *call)
{
	return call->cur->opts.host;
}

void *bpftime_vm_call__cookie(const struct bpftime_vm_call *call)
{
	return call->run->cookie;
}

bool bpftime_vm_call__access_ok(const struct bpftime_vm_call *call, uint64_t addr, uint64_t size,
				bool write)
{
	if (!call->checked)
		return true;
	return bpftime_vm_access_ok(call, addr, size, write);
}

int64_t bpftime_vm_func_index(const struct bpftime_vm *vm, uint64_t fn)
{
	uint64_t base = (uint64_t)(uintptr_t)vm->insns;
	uint64_t idx;

	if (fn < base || (fn - base) % sizeof(struct bpf_insn))
		return -1;
	idx = (fn - base) / sizeof(struct bpf_insn);
	if (idx >= vm->cnt || !vm->is_func[idx])
		return -1;
	return (int64_t)idx;
}

int bpftime_vm_call_func(struct bpftime_vm_call *call, uint32_t idx, const uint64_t args[5],
			 uint64_t *ret)
{
	const struct bpftime_vm *cur = call->cur;
	unsigned depth = call->depth;
	int err;

	if (call->err)
		return call->err;
	if (depth + 1 >= BPFTIME_VM_MAX_CALL_FRAMES)
		err = -E2BIG;
	else if (bpftime_vm_native_ok(cur, call->checked))
		err = bpftime_vm_native_call(call, idx, depth + 1, args, ret);
	else
		err = bpftime_vm_interp(call, idx, depth + 1, args, ret);
	/* A tail call inside the callback must not leak into the caller. */
	call->cur = cur;
	call->depth = depth;
	/* The interpreter stops the run when the helper returns; a fault of
	 * the callback itself already sits in run->fault, else the helper's
	 * call instruction is named. */
	if (err)
		call->err = err;
	return err;
}

int bpftime_vm_call__callback(const struct bpftime_vm_call *ccall, uint64_t fn, uint64_t a1,
			      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t *ret)
{
	/* The run state is ours: helpers get it const only to keep them honest. */
	struct bpftime_vm_call *call = (struct bpftime_vm_call *)ccall;
	uint64_t args[5] = {a1, a2, a3, a4, a5};
	int64_t idx = bpftime_vm_func_index(call->cur, fn);

	if (idx < 0) {
		if (!call->err)
			call->err = -EINVAL;
		return call->err;
	}
	return bpftime_vm_call_func(call, (uint32_t)idx, args, ret);
}
