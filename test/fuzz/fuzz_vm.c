// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the vm: the loader, the bounds-checked interpreter,
 * and the fast interpreter against it.
 *
 * Input: up to 64 bytes of ctx memory (the first byte says how many), then
 * raw instructions. Every program that loads runs first in the checked mode
 * with an instruction limit; helpers, pseudo ld_imm64 values, bpf_loop
 * callbacks and tail calls all resolve to something real so that those
 * paths are reached. A crash or a sanitizer report there is a bug: the
 * checked mode must keep any program inside the stack, the ctx and the map.
 *
 * When the checked run completes, the same program has shown that it stays
 * in bounds on this input, so it runs again in the fast mode (threaded
 * code with superinstructions, stack cleared like the checked mode's) from
 * the same initial memory; r0, the ctx and the map must come out the same.
 * Both runs use one vm (the checked one through BPFTIME_VM_RUN_CHECKED),
 * from the same call site, so that every address a program can observe
 * (function values, stack, ctx, map) is the same in both.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/vm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INSN_LIMIT 100000

static uint8_t map_value[256] __attribute__((aligned(8)));

static uint64_t helper_ret1(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	return a;
}

/*
 * Like bpf_probe_read: copies only what the run may access. The fast mode
 * trusts every address (bpftime_vm_call__access_ok is true there), so the
 * checked run records each decision and the fast run replays them: both
 * runs must make the same calls in the same order.
 */
#define MAX_DECISIONS 4096
static bool decisions[MAX_DECISIONS];
static unsigned nr_decisions, replay_pos;
static bool replaying;

static bool copy_allowed(const struct bpftime_vm_call *call, uint64_t dst, uint64_t size,
			 uint64_t src)
{
	bool ok;

	if (replaying) {
		if (replay_pos >= nr_decisions)
			abort(); /* the fast run made a call the checked run did not */
		return decisions[replay_pos++];
	}
	ok = size <= 64 && bpftime_vm_call__access_ok(call, dst, size, true) &&
	     bpftime_vm_call__access_ok(call, src, size, false);
	if (nr_decisions < MAX_DECISIONS)
		decisions[nr_decisions++] = ok;
	return ok;
}

static uint64_t helper_copy(uint64_t dst, uint64_t size, uint64_t src, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	if (!copy_allowed(call, dst, size, src))
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

static struct bpftime_vm *load(const struct bpf_insn *insns, size_t cnt)
{
	BPFTIME_VM_OPTS(opts, .zero_stack = true, .insn_limit = INSN_LIMIT,
			.resolve_ldimm64 = resolve, .tail_call = self_tail_call);
	struct bpftime_vm *vm = bpftime_vm__new(&opts);

	if (!vm)
		return NULL;
	bpftime_vm__register_helper(vm, 1, "ret1", helper_ret1);
	bpftime_vm__register_helper(vm, 4, "copy", helper_copy);
	bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop);
	bpftime_vm__add_region(vm, map_value, sizeof(map_value),
			       BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE);
	if (bpftime_vm__load(vm, insns, cnt)) {
		bpftime_vm__free(vm);
		return NULL;
	}
	return vm;
}

struct outcome {
	int err;
	uint64_t r0;
	uint8_t ctx[64];
	uint8_t map[sizeof(map_value)];
};

static void run(const struct bpftime_vm *vm, bool checked, const uint8_t *ctx0, size_t ctx_len,
		struct outcome *out)
{
	uint8_t ctx[64] __attribute__((aligned(8))) = {0};
	struct bpftime_vm_run r = {
	    .ctx = ctx, .ctx_len = ctx_len, .flags = checked ? BPFTIME_VM_RUN_CHECKED : 0};

	memcpy(ctx, ctx0, ctx_len);
	memset(map_value, 0, sizeof(map_value));
	running_vm = vm;
	out->err = bpftime_vm__run(vm, &r);
	out->r0 = r.r0;
	memcpy(out->ctx, ctx, sizeof(ctx));
	memcpy(out->map, map_value, sizeof(map_value));
}

static void differential(const struct bpf_insn *insns, size_t cnt, const uint8_t *ctx,
			 size_t ctx_len)
{
	struct bpftime_vm *vm = load(insns, cnt);
	struct outcome a, b;

	if (!vm)
		return;
	for (int checked = 1; checked >= 0; checked--) {
		replaying = !checked;
		replay_pos = 0;
		if (checked)
			nr_decisions = 0;
		run(vm, checked, ctx, ctx_len, checked ? &a : &b);
		/* only a completed run proves the program stays in bounds on this
		 * input; past MAX_DECISIONS helper calls the replay is not exact */
		if (checked && (a.err != 0 || nr_decisions >= MAX_DECISIONS))
			break;
		if (!checked &&
		    (b.err != 0 || a.r0 != b.r0 || replay_pos != nr_decisions ||
		     memcmp(a.ctx, b.ctx, sizeof(a.ctx)) || memcmp(a.map, b.map, sizeof(a.map))))
			abort(); /* the two interpreters disagree */
	}
	bpftime_vm__free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpf_insn *insns;
	size_t ctx_len;

	if (size < 1)
		return 0;
	ctx_len = data[0] % 65;
	data++;
	size--;
	if (size < ctx_len)
		return 0;
	insns = malloc(size ? size : 1); /* bpf_insn needs 4-byte alignment */
	if (!insns)
		return 0;
	memcpy(insns, data + ctx_len, size - ctx_len);
	differential(insns, (size - ctx_len) / sizeof(struct bpf_insn), data, ctx_len);
	free(insns);
	return 0;
}
