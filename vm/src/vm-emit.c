// SPDX-License-Identifier: MIT
/*
 * Threaded code: from the decoded program (vm->dec) build one array of ops
 * per interpreter mode, each op carrying the address of its handler so that
 * dispatch is one indirect jump (vm-interp-body.h).
 *
 * The fast mode also gets superinstructions: a pair of instructions that
 * clang emits back to back all the time is run by one handler, when nothing
 * jumps to the second of the pair. The checked mode never fuses, so that it
 * counts every instruction.
 *
 *   mov64 rA, rB; <op>64 rA, imm  ->  MOV<op>64 rA = rB <op> imm
 *       for add, and, or, lsh, rsh, arsh (clang's address computations
 *       when an offset exceeds 16 bits, and its shift-and-mask idioms)
 *   lddw rA, imm64; add64 rA, rB  ->  LDDWADD64 rA = imm64 + rB
 *       (indexing into global data)
 */
#include <errno.h>
#include "vm-internal.h"

static bool is_jump_code(uint8_t code)
{
	return code == VM_OP_JA || (code >= VM_OP_JEQ64K && code <= VM_OP_JSLE32X);
}

static void emit_one(const struct vm_dec *d, uint32_t i, const void *const *labels,
		     struct vm_op *op)
{
	op->h = labels[d->code];
	switch (d->code) {
	case VM_OP_CALL_HELPER:
		op->u64 = d->imm; /* the function */
		return;
	case VM_OP_JA:
	case VM_OP_CALL_LOCAL:
		op->dst = op->src = 0;
		op->off = 0;
		op->imm = d->off - (int32_t)(i + 1);
		return;
	}
	op->dst = d->dst;
	op->src = d->src;
	op->imm = (int32_t)d->imm;
	/* a conditional jump's relative offset came from a 16-bit field */
	op->off = (int16_t)(is_jump_code(d->code) ? d->off - (int32_t)(i + 1) : d->off);
}

static void emit_mode(const struct bpftime_vm *vm, enum vm_mode mode, struct vm_op *ops)
{
	const void *const *labels = bpftime_vm_interp_labels(mode);

	for (uint32_t i = 0; i < vm->cnt; i++) {
		const struct vm_dec *d = &vm->dec[i];

		emit_one(d, i, labels, &ops[i]);
		if (d->code == VM_OP_LDDW) {
			ops[i + 1].h = labels[VM_OP_INVALID];
			ops[i + 1].u64 = d->imm; /* read by the LDDW handler */
			i++;
		}
	}
}

/* Instructions reached other than by falling through: jump targets, functions. */
static uint8_t *entry_points(const struct bpftime_vm *vm)
{
	uint8_t *entry = bpftime_vm_zalloc(vm, vm->cnt);

	if (!entry)
		return NULL;
	for (uint32_t i = 0; i < vm->cnt; i++) {
		if (vm->is_func[i])
			entry[i] = 1;
		if (is_jump_code(vm->dec[i].code))
			entry[vm->dec[i].off] = 1;
	}
	return entry;
}

/* The superinstruction for "mov64 rA, rB" followed by @second, or 0. */
static uint8_t fused_mov(uint8_t second)
{
	switch (second) {
	case VM_OP_ADD64K:
		return VM_OP_MOVADD64;
	case VM_OP_AND64K:
		return VM_OP_MOVAND64;
	case VM_OP_OR64K:
		return VM_OP_MOVOR64;
	case VM_OP_LSH64K:
		return VM_OP_MOVLSH64;
	case VM_OP_RSH64K:
		return VM_OP_MOVRSH64;
	case VM_OP_ARSH64K:
		return VM_OP_MOVARSH64;
	}
	return 0;
}

static void fuse(const struct bpftime_vm *vm, const uint8_t *entry, struct vm_op *ops)
{
	const void *const *labels = bpftime_vm_interp_labels(VM_MODE_FAST);

	for (uint32_t i = 0; i + 1 < vm->cnt; i++) {
		const struct vm_dec *a = &vm->dec[i], *b = &vm->dec[i + 1];
		uint8_t code;

		if (a->code == VM_OP_LDDW && i + 2 < vm->cnt && !entry[i + 2] &&
		    vm->dec[i + 2].code == VM_OP_ADD64X && vm->dec[i + 2].dst == a->dst &&
		    vm->dec[i + 2].src != a->dst) {
			/* three slots: the value stays in the second, src from the third */
			ops[i].h = labels[VM_OP_LDDWADD64];
			ops[i].src = vm->dec[i + 2].src;
			continue;
		}
		if (entry[i + 1] || a->code != VM_OP_MOV64X || b->dst != a->dst)
			continue;
		code = fused_mov(b->code);
		if (code) {
			ops[i].h = labels[code];
			ops[i].imm = (int32_t)b->imm;
		}
	}
}

int bpftime_vm_emit(struct bpftime_vm *vm)
{
	uint8_t *entry;

	for (int m = 0; m < VM_MODE__COUNT; m++) {
		vm->ops[m] = bpftime_vm_zalloc(vm, vm->cnt * sizeof(struct vm_op));
		if (!vm->ops[m])
			return bpftime_vm_error(vm, -ENOMEM, "out of memory for %u ops", vm->cnt);
		emit_mode(vm, (enum vm_mode)m, vm->ops[m]);
	}
	entry = entry_points(vm);
	if (!entry)
		return bpftime_vm_error(vm, -ENOMEM, "out of memory for %u ops", vm->cnt);
	fuse(vm, entry, vm->ops[VM_MODE_FAST]);
	bpftime_vm_dealloc(vm, entry, vm->cnt);
	return 0;
}
