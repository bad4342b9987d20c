// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the vm's loader and its bounds-checked interpreter.
 *
 * Input: up to 64 bytes of ctx memory (the first byte says how many), then
 * raw instructions. Every program that loads is run in the checked mode with
 * an instruction limit; helpers, pseudo ld_imm64 values, bpf_loop callbacks
 * and tail calls all resolve to something real so that those paths are
 * reached. A crash or a sanitizer report is a bug: the checked mode must
 * keep any program inside the stack, the ctx and the registered map.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/vm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t map_value[256] __attribute__((aligned(8)));

static uint64_t helper_ret1(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	return a;
}

/* Like bpf_probe_read: copies only what the run may access. */
static uint64_t helper_copy(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	if (size > 64 || !bpftime_vm_call__access_ok(call, dst, size, true) ||
	    !bpftime_vm_call__access_ok(call, src, size, false))
		return (uint64_t)-14;
	memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, size);
	return 0;
}

static int resolve(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	uint64_t off = (uint32_t)req->next_imm;

	if (req->src == BPF_PSEUDO_MAP_VALUE || req->src == BPF_PSEUDO_MAP_IDX_VALUE) {
		if (off >= sizeof(map_value))
			return -22;
		*value = (uint64_t)(uintptr_t)map_value + off;
	} else {
		*value = (uint64_t)(uintptr_t)map_value;
	}
	return 0;
}

/* The fuzzer is single-threaded: the running vm is the only tail-call slot. */
static const struct bpftime_vm *running_vm;

static const struct bpftime_vm *self_tail_call(void *host, uint64_t map, uint64_t index)
{
	return index == 0 ? running_vm : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctx[64] __attribute__((aligned(8))) = {0};
	struct bpftime_vm_run run = {.ctx = ctx};
	struct bpftime_vm *vm;
	struct bpf_insn *insns = NULL;
	size_t ctx_len;

	if (size < 1)
		return 0;
	ctx_len = data[0] % (sizeof(ctx) + 1);
	data++;
	size--;
	if (size < ctx_len)
		return 0;
	memcpy(ctx, data, ctx_len);
	run.ctx_len = ctx_len;
	data += ctx_len;
	size -= ctx_len;

	BPFTIME_VM_OPTS(opts, .bounds_check = true, .insn_limit = 100000,
			.resolve_ldimm64 = resolve, .tail_call = self_tail_call);
	vm = bpftime_vm__new(&opts);
	insns = malloc(size ? size : 1); /* bpf_insn needs 4-byte alignment */
	if (!vm || !insns)
		goto out;
	memcpy(insns, data, size);
	bpftime_vm__register_helper(vm, 1, "ret1", helper_ret1);
	bpftime_vm__register_helper(vm, 4, "copy", helper_copy);
	bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop);
	bpftime_vm__add_region(vm, map_value, sizeof(map_value),
			       BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE);
	running_vm = vm;
	if (bpftime_vm__load(vm, insns, size / sizeof(struct bpf_insn)) == 0)
		bpftime_vm__run(vm, &run);
out:
	free(insns);
	bpftime_vm__free(vm);
	return 0;
}
