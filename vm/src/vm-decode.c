// SPDX-License-Identifier: MIT
/*
 * Decoding one eBPF instruction into a pre-decoded vm_op.
 *
 * The checks mirror the kernel verifier's field checks in do_check() and
 * check_alu_op() / check_cond_jmp_op() / check_atomic() (kernel/bpf/verifier.c):
 * the same instructions are refused with the same errno (-EINVAL for unknown
 * opcodes and reserved fields, -EACCES for writes to the frame pointer), and
 * the message names the instruction index like the verifier's log.
 *
 * Jump targets and calls are checked later by vm-load.c, which needs the
 * whole program.
 */
#include <errno.h>
#include "vm-internal.h"

#define REG_FP 10

static int bad_reg(struct bpftime_vm *vm, uint32_t i, unsigned reg)
{
	return bpftime_vm_error(vm, -EINVAL, "insn %u: R%u is invalid", i, reg);
}

static int unknown(struct bpftime_vm *vm, uint32_t i, uint8_t code)
{
	return bpftime_vm_error(vm, -EINVAL, "insn %u: unknown opcode %02x", i, code);
}

static int reserved(struct bpftime_vm *vm, uint32_t i, const char *what)
{
	return bpftime_vm_error(vm, -EINVAL, "insn %u: %s uses reserved fields", i, what);
}

/* As check_reg_arg(..., DST_OP): r10 can be read but never written. */
static int check_written(struct bpftime_vm *vm, uint32_t i, unsigned reg)
{
	if (reg == REG_FP)
		return bpftime_vm_error(vm, -EACCES, "insn %u: frame pointer is read only", i);
	return 0;
}

/* Internal opcode tables indexed by BPF_OP(code) >> 4 (ADD..END). */
static const uint8_t alu64k[16] = {
    VM_OP_ADD64K, VM_OP_SUB64K, VM_OP_MUL64K,  VM_OP_DIV64K, VM_OP_OR64K,
    VM_OP_AND64K, VM_OP_LSH64K, VM_OP_RSH64K,  VM_OP_NEG64,  VM_OP_MOD64K,
    VM_OP_XOR64K, VM_OP_MOV64K, VM_OP_ARSH64K,
};

/*
 * The other three flavours sit at a fixed distance from the 64-bit K one,
 * because VM_ALU_OPS lists the same operations in the same order.
 */
#define ALU_FLAVOUR_STRIDE (VM_OP_ADD64X - VM_OP_ADD64K)
_Static_assert(VM_OP_ADD32K - VM_OP_ADD64K == 2 * ALU_FLAVOUR_STRIDE, "ALU flavour layout");
_Static_assert(VM_OP_ADD32X - VM_OP_ADD64K == 3 * ALU_FLAVOUR_STRIDE, "ALU flavour layout");
_Static_assert(VM_OP_SDIV64K == VM_OP_DIV64K + 1 && VM_OP_SMOD64K == VM_OP_MOD64K + 1,
	       "signed div/mod follow their unsigned twins");

static uint8_t alu_flavour(uint8_t op64k, bool is64, bool x)
{
	return (uint8_t)(op64k + (is64 ? 0 : 2 * ALU_FLAVOUR_STRIDE) +
			 (x ? ALU_FLAVOUR_STRIDE : 0));
}

static int decode_end(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	bool to_be = BPF_SRC(insn->code) == BPF_TO_BE;
	int w;

	/* BPF_END: src_reg 0, off 0, imm in {16, 32, 64}; ALU64 only as bswap (TO_LE). */
	if (insn->src_reg != 0 || insn->off != 0 ||
	    (insn->imm != 16 && insn->imm != 32 && insn->imm != 64) || (is64 && to_be))
		return reserved(vm, i, "BPF_END");
	w = insn->imm == 16 ? 0 : insn->imm == 32 ? 1 : 2;
	if (is64)
		op->code = (uint8_t)(VM_OP_BSWAP16 + w);
	else
		op->code = (uint8_t)((to_be ? VM_OP_BE16 : VM_OP_LE16) + w);
	return 0;
}

static int decode_mov(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;

	if (BPF_SRC(insn->code) == BPF_K) {
		if (insn->src_reg != 0 || insn->off != 0)
			return reserved(vm, i, "BPF_MOV");
		op->code = alu_flavour(VM_OP_MOV64K, is64, false);
		return 0;
	}
	if (insn->imm != 0)
		return reserved(vm, i, "BPF_MOV");
	switch (insn->off) {
	case 0:
		op->code = alu_flavour(VM_OP_MOV64K, is64, true);
		return 0;
	case 8:
		op->code = is64 ? VM_OP_MOVSX8_64 : VM_OP_MOVSX8_32;
		return 0;
	case 16:
		op->code = is64 ? VM_OP_MOVSX16_64 : VM_OP_MOVSX16_32;
		return 0;
	case 32:
		if (is64) {
			op->code = VM_OP_MOVSX32_64;
			return 0;
		}
		break;
	}
	/* off 1 with imm 1 on ALU64 is the arena address-space cast (6.9). */
	return reserved(vm, i, "BPF_MOV");
}

static int decode_alu(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_ALU64;
	bool x = BPF_SRC(insn->code) == BPF_X;
	uint8_t opc = BPF_OP(insn->code);
	int err = check_written(vm, i, insn->dst_reg);

	if (err)
		return err;
	if (opc > BPF_END)
		return unknown(vm, i, insn->code);
	if (opc == BPF_END)
		return decode_end(vm, insn, i, op);
	if (opc == BPF_MOV)
		return decode_mov(vm, insn, i, op);
	if (opc == BPF_NEG) {
		if (x || insn->src_reg != 0 || insn->off != 0 || insn->imm != 0)
			return reserved(vm, i, "BPF_NEG");
		op->code = is64 ? VM_OP_NEG64 : VM_OP_NEG32;
		return 0;
	}
	/* off 1 selects the signed form of div and mod (cpu v4) and nothing else. */
	if ((insn->off != 0 && insn->off != 1) ||
	    (insn->off == 1 && opc != BPF_DIV && opc != BPF_MOD) || (x && insn->imm != 0) ||
	    (!x && insn->src_reg != 0))
		return reserved(vm, i, "BPF_ALU");
	op->code = alu_flavour((uint8_t)(alu64k[opc >> 4] + (insn->off == 1)), is64, x);
	return 0;
}

static const uint8_t size_index[4] = {
    [BPF_W >> 3] = 2,
    [BPF_H >> 3] = 1,
    [BPF_B >> 3] = 0,
    [BPF_DW >> 3] = 3,
};

static int decode_ldx(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	unsigned sz = size_index[BPF_SIZE(insn->code) >> 3];
	int err = check_written(vm, i, insn->dst_reg);

	if (err)
		return err;
	if (BPF_MODE(insn->code) == BPF_MEM) {
		op->code = (uint8_t)(VM_OP_LDXB + sz);
	} else if (BPF_MODE(insn->code) == BPF_MEMSX && sz < 3) {
		op->code = (uint8_t)(VM_OP_LDXSB + sz);
	} else {
		return unknown(vm, i, insn->code);
	}
	if (insn->imm != 0)
		return reserved(vm, i, "BPF_LDX");
	return 0;
}

static int decode_st(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		     struct vm_dec *op)
{
	if (BPF_MODE(insn->code) != BPF_MEM)
		return unknown(vm, i, insn->code);
	if (insn->src_reg != 0)
		return reserved(vm, i, "BPF_ST");
	op->code = (uint8_t)(VM_OP_STB + size_index[BPF_SIZE(insn->code) >> 3]);
	return 0;
}

/* Read-modify-write atomics; the FETCH forms are +4 in VM_ATOMIC_OPS. */
static int atomic_rmw(int32_t imm)
{
	switch (imm & ~BPF_FETCH) {
	case BPF_ADD:
		return 0;
	case BPF_OR:
		return 1;
	case BPF_AND:
		return 2;
	case BPF_XOR:
		return 3;
	}
	return -1;
}

static int decode_atomic(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
			 struct vm_dec *op)
{
	unsigned sz = size_index[BPF_SIZE(insn->code) >> 3];
	uint8_t base32 = VM_OP_AADD32, base64 = VM_OP_AADD64;
	int idx, err;

	if (insn->imm == BPF_LOAD_ACQ) {
		/* load-acquire: dst = smp_load_acquire(src + off), any size */
		err = check_written(vm, i, insn->dst_reg);
		op->code = (uint8_t)(VM_OP_LDACQB + sz);
		return err;
	}
	if (insn->imm == BPF_STORE_REL) {
		op->code = (uint8_t)(VM_OP_STRELB + sz);
		return 0;
	}
	if (insn->imm == BPF_XCHG) {
		idx = 8;
	} else if (insn->imm == BPF_CMPXCHG) {
		idx = 9;
	} else {
		idx = atomic_rmw(insn->imm);
		if (idx < 0)
			return bpftime_vm_error(
			    vm, -EINVAL, "insn %u: BPF_ATOMIC uses invalid atomic opcode %02x", i,
			    (unsigned)insn->imm);
		if (insn->imm & BPF_FETCH)
			idx += 4;
	}
	if (sz < 2)
		return bpftime_vm_error(vm, -EINVAL, "insn %u: invalid atomic operand size", i);
	/* FETCH forms and xchg load into src; cmpxchg loads into r0. */
	if (idx >= 4 && idx != 9) {
		err = check_written(vm, i, insn->src_reg);
		if (err)
			return err;
	}
	op->code = (uint8_t)((sz == 3 ? base64 : base32) + idx);
	return 0;
}

static int decode_stx(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	if (BPF_MODE(insn->code) == BPF_ATOMIC)
		return decode_atomic(vm, insn, i, op);
	if (BPF_MODE(insn->code) != BPF_MEM)
		return unknown(vm, i, insn->code);
	if (insn->imm != 0)
		return reserved(vm, i, "BPF_STX");
	op->code = (uint8_t)(VM_OP_STXB + size_index[BPF_SIZE(insn->code) >> 3]);
	return 0;
}

static int decode_ld(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		     struct vm_dec *op)
{
	if (BPF_MODE(insn->code) == BPF_ABS || BPF_MODE(insn->code) == BPF_IND)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: legacy packet access (BPF_ABS/BPF_IND) is not "
					"supported outside socket filters",
					i);
	if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
		return unknown(vm, i, insn->code);
	if (insn->off != 0)
		return reserved(vm, i, "BPF_LD_IMM64");
	op->code = VM_OP_LDDW;
	return check_written(vm, i, insn->dst_reg);
}

/* Condition index in VM_JMP_OPS order, from BPF_OP(code) >> 4; -1 if none. */
static const int8_t jmp_cond[16] = {
    [BPF_JEQ >> 4] = 0,
    [BPF_JNE >> 4] = 1,
    [BPF_JGT >> 4] = 2,
    [BPF_JGE >> 4] = 3,
    [BPF_JLT >> 4] = 4,
    [BPF_JLE >> 4] = 5,
    [BPF_JSET >> 4] = 6,
    [BPF_JSGT >> 4] = 7,
    [BPF_JSGE >> 4] = 8,
    [BPF_JSLT >> 4] = 9,
    [BPF_JSLE >> 4] = 10,
    /* JA, CALL and EXIT are decoded apart; JCOND (may_goto) and 0xf0 are not ours */
    [BPF_JA >> 4] = -1,
    [BPF_CALL >> 4] = -1,
    [BPF_EXIT >> 4] = -1,
    [BPF_JCOND >> 4] = -1,
    [0xf0 >> 4] = -1,
};
#define JMP_FLAVOUR_STRIDE (VM_OP_JEQ64X - VM_OP_JEQ64K)
_Static_assert(VM_OP_JEQ32K - VM_OP_JEQ64K == 2 * JMP_FLAVOUR_STRIDE, "JMP flavour layout");
_Static_assert(VM_OP_JEQ32X - VM_OP_JEQ64K == 3 * JMP_FLAVOUR_STRIDE, "JMP flavour layout");

static int decode_call(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		       struct vm_dec *op)
{
	if (BPF_CLASS(insn->code) == BPF_JMP32)
		return unknown(vm, i, insn->code);
	if (BPF_SRC(insn->code) == BPF_X) {
		/* callx: target in dst_reg, the encoding LLVM emits (not in the kernel). */
		if (insn->src_reg != 0 || insn->off != 0 || insn->imm != 0)
			return reserved(vm, i, "BPF_CALLX");
		op->code = VM_OP_CALLX;
		return 0;
	}
	if (insn->off != 0 || insn->dst_reg != 0 ||
	    (insn->src_reg != 0 && insn->src_reg != BPF_PSEUDO_CALL &&
	     insn->src_reg != BPF_PSEUDO_KFUNC_CALL))
		return reserved(vm, i, "BPF_CALL");
	if (insn->src_reg == BPF_PSEUDO_KFUNC_CALL)
		return bpftime_vm_error(vm, -EINVAL,
					"insn %u: calls to kernel functions (kfunc BTF id %d) are "
					"not supported in user space",
					i, insn->imm);
	/* The target is resolved by vm-load.c. */
	op->code = insn->src_reg == BPF_PSEUDO_CALL ? VM_OP_CALL_LOCAL : VM_OP_CALL_HELPER;
	return 0;
}

static int decode_jmp(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	bool is64 = BPF_CLASS(insn->code) == BPF_JMP;
	bool x = BPF_SRC(insn->code) == BPF_X;
	uint8_t opc = BPF_OP(insn->code);
	int cond;

	switch (opc) {
	case BPF_JA:
		/* JMP uses off, JMP32 ("gotol", cpu v4) uses imm as the offset. */
		if (x || insn->src_reg != 0 || insn->dst_reg != 0 || (is64 && insn->imm != 0) ||
		    (!is64 && insn->off != 0))
			return reserved(vm, i, "BPF_JA");
		op->code = VM_OP_JA;
		return 0;
	case BPF_CALL:
		return decode_call(vm, insn, i, op);
	case BPF_EXIT:
		if (x || insn->imm != 0 || insn->src_reg != 0 || insn->dst_reg != 0 ||
		    insn->off != 0 || !is64)
			return is64 ? reserved(vm, i, "BPF_EXIT") : unknown(vm, i, insn->code);
		op->code = VM_OP_EXIT;
		return 0;
	default:
		cond = jmp_cond[opc >> 4];
		if (cond < 0)
			return unknown(vm, i, insn->code);
	}
	if ((x && insn->imm != 0) || (!x && insn->src_reg != 0))
		return reserved(vm, i, "BPF_JMP/JMP32");
	op->code = (uint8_t)(VM_OP_JEQ64K + cond + (is64 ? 0 : 2 * JMP_FLAVOUR_STRIDE) +
			     (x ? JMP_FLAVOUR_STRIDE : 0));
	return 0;
}

int bpftime_vm_decode(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op)
{
	op->dst = insn->dst_reg;
	op->src = insn->src_reg;
	op->flags = 0;
	op->off = insn->off;
	op->imm = (uint64_t)(int64_t)insn->imm;
	/* 4-bit fields, but only r0..r10 exist (check_reg_arg: "R%d is invalid"). */
	if (insn->dst_reg > REG_FP)
		return bad_reg(vm, i, insn->dst_reg);
	/* ld_imm64 and calls reuse src_reg as a pseudo tag, not a register. */
	if (insn->src_reg > REG_FP && BPF_CLASS(insn->code) != BPF_LD &&
	    insn->code != (BPF_JMP | BPF_CALL))
		return bad_reg(vm, i, insn->src_reg);

	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return decode_alu(vm, insn, i, op);
	case BPF_LDX:
		return decode_ldx(vm, insn, i, op);
	case BPF_ST:
		return decode_st(vm, insn, i, op);
	case BPF_STX:
		return decode_stx(vm, insn, i, op);
	case BPF_LD:
		return decode_ld(vm, insn, i, op);
	case BPF_JMP:
	case BPF_JMP32:
		return decode_jmp(vm, insn, i, op);
	}
	return unknown(vm, i, insn->code); /* not reached: 3-bit class */
}
