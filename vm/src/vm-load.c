// SPDX-License-Identifier: MIT
/*
 * Loading a program: the load-time checks and the pre-decoding.
 *
 *   1. decode every instruction (vm-decode.c): opcode, registers, reserved
 *      fields; ld_imm64 takes two slots and its pseudo forms are resolved;
 *   2. find the functions: instruction 0 plus every BPF-to-BPF call target
 *      and every BPF_PSEUDO_FUNC target, as check_subprogs() does;
 *   3. check every jump: inside the program, not into the second half of an
 *      ld_imm64, inside its own function; and that every function ends in
 *      exit or an unconditional jump, so no path falls off the end.
 *
 * Messages follow the kernel verifier's wording where it has one, always
 * prefixed with the instruction index.
 */
#include <errno.h>
#include "vm-internal.h"

static int resolve_ldimm64(struct bpftime_vm *vm, struct bpf_insn *insn, uint32_t i,
			   struct vm_dec *op)
{
	const struct bpf_insn *hi = insn + 1;
	struct bpftime_vm_ldimm64 req;
	uint64_t value;
	int err;

	/* The second half carries only the upper 32 bits (check_ld_imm). */
	if (i + 1 >= vm->cnt)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: incomplete ld_imm64 (no second half)", i);
	if (hi->code != 0 || hi->dst_reg != 0 || hi->src_reg != 0 || hi->off != 0)
		return bpftime_vm_error(vm, -EINVAL, "insn %u: invalid bpf_ld_imm64 insn", i);
	switch (insn->src_reg) {
	case 0:
		op->imm = (uint64_t)(uint32_t)insn->imm | ((uint64_t)(uint32_t)hi->imm << 32);
		return 0;
	case BPF_PSEUDO_FUNC:
		/* Resolved to a function address once the functions are known. */
		if (hi->imm != 0)
			return bpftime_vm_error(vm, -EINVAL, "insn %u: invalid bpf_ld_imm64 insn",
						i);
		op->flags |= VM_DEC_PER_PROCESS;
		return 0;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_BTF_ID:
	case BPF_PSEUDO_MAP_IDX:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		break;
	default:
		return bpftime_vm_error(vm, -EINVAL, "insn %u: unrecognized bpf_ld_imm64 insn", i);
	}
	if (!vm->opts.resolve_ldimm64)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: ld_imm64 with pseudo src %u needs maps, and this "
					"vm has no resolver",
					i, insn->src_reg);
	req.insn_idx = i;
	req.src = insn->src_reg;
	req.imm = insn->imm;
	req.next_imm = hi->imm;
	value = 0;
	err = vm->opts.resolve_ldimm64(vm->opts.host, &req, &value);
	if (err)
		return bpftime_vm_error(vm, err < 0 ? err : -EINVAL,
					"insn %u: cannot resolve ld_imm64 (pseudo src %u, imm %d, "
					"off %d): error %d",
					i, insn->src_reg, insn->imm, hi->imm, err);
	op->imm = value;
	op->flags |= VM_DEC_PER_PROCESS;
	/* Keep a plain ld_imm64 in the loaded copy, as the kernel rewrites map fds. */
	insn->src_reg = 0;
	insn->imm = (int32_t)(uint32_t)value;
	insn[1].imm = (int32_t)(uint32_t)(value >> 32);
	return 0;
}

static int bind_helper(struct bpftime_vm *vm, uint32_t i, struct vm_dec *op)
{
	int32_t id = (int32_t)op->imm;

	if (id == BPF_FUNC_tail_call && vm->opts.tail_call) {
		op->code = VM_OP_TAIL_CALL;
		return 0;
	}
	if (id <= 0 || (uint32_t)id >= vm->nr_helpers || !vm->helpers[id].fn)
		return bpftime_vm_error(vm, -EINVAL, "insn %u: invalid func unknown#%d", i, id);
	/* the vm's own bpf_loop runs inline, without leaving the interpreter */
	if (vm->helpers[id].fn == bpftime_vm_helper_loop) {
		op->code = VM_OP_LOOP;
		return 0;
	}
	op->off = id;
	op->imm = (uint64_t)(uintptr_t)vm->helpers[id].fn;
	return 0;
}

/* Pass 1: decode; ld_imm64 halves; helper binding; mark function entries. */
static int decode_all(struct bpftime_vm *vm)
{
	int err;

	for (uint32_t i = 0; i < vm->cnt; i++) {
		struct bpf_insn *insn = &vm->insns[i];
		struct vm_dec *op = &vm->dec[i];
		int64_t target;

		err = bpftime_vm_decode(vm, insn, i, op);
		if (err)
			return err;
		switch (op->code) {
		case VM_OP_LDDW:
			err = resolve_ldimm64(vm, insn, i, op);
			if (err)
				return err;
			if (insn->src_reg != BPF_PSEUDO_FUNC)
				break;
			/* a function address: its target is checked as a call's */
			__attribute__((fallthrough));
		case VM_OP_CALL_LOCAL:
			target = (int64_t)i + insn->imm + 1;
			if (target < 0 || target >= vm->cnt)
				return bpftime_vm_error(vm, -EINVAL,
							"insn %u: function offset %u+%d+1 is out "
							"of range",
							i, i, insn->imm);
			vm->is_func[target] = 1;
			op->off = (int32_t)target;
			break;
		case VM_OP_CALL_HELPER:
			err = bind_helper(vm, i, op);
			if (err)
				return err;
			break;
		}
		if (op->code == VM_OP_LDDW)
			vm->dec[++i].code = VM_OP_INVALID; /* second half: never executed */
	}
	return 0;
}

static bool is_jump(uint8_t code)
{
	return code == VM_OP_JA || (code >= VM_OP_JEQ64K && code <= VM_OP_JSLE32X);
}

static bool is_second_half(const struct bpftime_vm *vm, int64_t t)
{
	return t > 0 && vm->dec[t].code == VM_OP_INVALID && vm->dec[t - 1].code == VM_OP_LDDW;
}

static int check_target(struct bpftime_vm *vm, uint32_t i, int64_t t, uint32_t fstart,
			uint32_t fend)
{
	if (t < 0 || t >= vm->cnt)
		return bpftime_vm_error(vm, -EINVAL, "insn %u: jump out of range to insn %lld", i,
					(long long)t);
	if (is_second_half(vm, t))
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: jump into the middle of ld_imm64 at insn %lld", i,
					(long long)t);
	/* check_subprogs(): jumps never leave their function */
	if (t < fstart || t >= fend)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: jump out of range from insn %u to %lld", i, i,
					(long long)t);
	return 0;
}

static int check_function(struct bpftime_vm *vm, uint32_t start, uint32_t end)
{
	uint8_t last = vm->dec[end - 1].code;
	int err;

	for (uint32_t i = start; i < end; i++) {
		struct vm_dec *op = &vm->dec[i];
		const struct bpf_insn *insn = &vm->insns[i];
		int64_t t;

		if (!is_jump(op->code))
			continue;
		/* gotol (JMP32 JA) carries its 32-bit offset in imm */
		if (insn->code == (BPF_JMP32 | BPF_JA))
			t = (int64_t)i + insn->imm + 1;
		else
			t = (int64_t)i + insn->off + 1;
		err = check_target(vm, i, t, start, end);
		if (err)
			return err;
		op->off = (int32_t)t;
	}
	/* Falling off the end of a function: the last insn must leave it. */
	if (last != VM_OP_EXIT && last != VM_OP_JA)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: last insn is not an exit or jmp (falls off the "
					"end of the %s)",
					end - 1, start ? "function" : "program");
	return 0;
}

/* Pass 2: function boundaries and jump targets. */
static int check_flow(struct bpftime_vm *vm)
{
	uint32_t start = 0;
	int err;

	vm->is_func[0] = 1;
	for (uint32_t i = 1; i <= vm->cnt; i++) {
		if (i < vm->cnt && !vm->is_func[i])
			continue;
		if (i < vm->cnt && is_second_half(vm, i))
			return bpftime_vm_error(vm, -EINVAL,
						"insn %u: call into the middle of ld_imm64", i);
		err = check_function(vm, start, i);
		if (err)
			return err;
		start = i;
	}
	return 0;
}

/*
 * Function addresses (BPF_PSEUDO_FUNC) point at the function's first
 * instruction in vm->insns: unique, and the same whichever mode runs it.
 */
static void bind_func_addrs(struct bpftime_vm *vm)
{
	for (uint32_t i = 0; i < vm->cnt; i++) {
		struct vm_dec *op = &vm->dec[i];

		if (op->code == VM_OP_LDDW && vm->insns[i].src_reg == BPF_PSEUDO_FUNC)
			op->imm = (uint64_t)(uintptr_t)&vm->insns[op->off];
	}
}

/* Per-process ld_imm64 forms: their imm fields name a map fd or index
 * that differs between the compiling and the binding process. */
static bool per_process_ldimm64(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW) && insn->src_reg != 0 &&
	       insn->src_reg != BPF_PSEUDO_FUNC;
}

/* FNV-1a, 64-bit, over every field; the imm of both halves of a
 * per-process ld_imm64 counts as 0. */
uint64_t bpftime_vm_insn_hash(const struct bpf_insn *insns, size_t cnt)
{
	uint64_t h = 0xcbf29ce484222325ull;
	bool skip_next = false;

	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		bool skip = skip_next || per_process_ldimm64(in);
		uint32_t imm = skip ? 0 : (uint32_t)in->imm;
		uint8_t b[8] = {in->code,
				(uint8_t)(in->dst_reg | in->src_reg << 4),
				(uint8_t)in->off,
				(uint8_t)((uint16_t)in->off >> 8),
				(uint8_t)imm,
				(uint8_t)(imm >> 8),
				(uint8_t)(imm >> 16),
				(uint8_t)(imm >> 24)};

		skip_next = !skip_next && per_process_ldimm64(in);
		for (int k = 0; k < 8; k++)
			h = (h ^ b[k]) * 0x100000001b3ull;
	}
	return h;
}

void bpftime_vm_unload(struct bpftime_vm *vm)
{
	size_t cnt = vm->cnt;

	bpftime_vm_native_unbind(vm);
	bpftime_vm_dealloc(vm, vm->insns, cnt * sizeof(*vm->insns));
	bpftime_vm_dealloc(vm, vm->dec, cnt * sizeof(*vm->dec));
	bpftime_vm_dealloc(vm, vm->ops[VM_MODE_FAST], cnt * sizeof(struct vm_op));
	bpftime_vm_dealloc(vm, vm->ops[VM_MODE_CHECKED], cnt * sizeof(struct vm_op));
	bpftime_vm_dealloc(vm, vm->is_func, cnt);
	vm->insns = NULL;
	vm->dec = NULL;
	vm->ops[VM_MODE_FAST] = vm->ops[VM_MODE_CHECKED] = NULL;
	vm->is_func = NULL;
	vm->cnt = 0;
	vm->loaded = false;
}

int bpftime_vm__load(struct bpftime_vm *vm, const struct bpf_insn *insns, size_t cnt)
{
	int err;

	if (!vm)
		return -EINVAL;
	if (vm->loaded)
		return bpftime_vm_error(vm, -EBUSY, "a program is already loaded");
	if (!insns || cnt == 0)
		return bpftime_vm_error(vm, -EINVAL, "program has no instructions");
	if (cnt > vm->opts.max_insns)
		return bpftime_vm_error(vm, -E2BIG, "program too large: %zu insns (max %u)", cnt,
					vm->opts.max_insns);
	vm->cnt = (uint32_t)cnt;
	/* vm->cnt sizes every table, for bpftime_vm_unload too */
	vm->insns = vm->opts.alloc(vm->opts.host, cnt * sizeof(*insns));
	vm->dec = bpftime_vm_zalloc(vm, cnt * sizeof(*vm->dec));
	vm->is_func = bpftime_vm_zalloc(vm, cnt);
	if (!vm->insns || !vm->dec || !vm->is_func) {
		err = bpftime_vm_error(vm, -ENOMEM, "out of memory for %zu insns", cnt);
		goto err_unload;
	}
	bpftime_vm_memcpy(vm->insns, insns, cnt * sizeof(*insns));
	vm->insn_hash = bpftime_vm_insn_hash(insns, cnt);
	err = decode_all(vm);
	if (err)
		goto err_unload;
	err = check_flow(vm);
	if (err)
		goto err_unload;
	bind_func_addrs(vm);
	err = bpftime_vm_emit(vm);
	if (err)
		goto err_unload;
	vm->err[0] = '\0';
	vm->loaded = true;
	return 0;

err_unload:
	bpftime_vm_unload(vm);
	return err;
}
