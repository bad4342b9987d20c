// SPDX-License-Identifier: MIT
/*
 * The disassembler: the inverse of asm-parse.c. Every formatter prints an
 * instruction only when the assembler would produce exactly that encoding
 * from the text; anything else (reserved fields set, unknown opcodes,
 * registers above r10) falls back to `.raw`, which the assembler turns
 * back into the same slot. That is what makes assemble(disasm(x)) == x
 * hold for every input, not just for well-formed programs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <bpftime/asm.h>
#include "asm-internal.h"

/* Formatters return this when the instruction has no exact mnemonic. */
#define NOT_CANONICAL 1

struct out {
	char *buf;
	size_t size;
};

static int print(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int print(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf, o->size, fmt, ap);
	va_end(ap);
	/* n >= size: the text was truncated */
	return n < 0 || (size_t)n >= o->size ? -ENOSPC : 0;
}

static const struct bpftime_asm_op *find_code(const struct bpftime_asm_op *tab, uint8_t code,
					      int16_t off, int32_t imm)
{
	for (; tab->name; tab++)
		if (tab->code == code && tab->off == off && tab->imm == imm)
			return tab;
	return NULL;
}

static const char *size_name(uint8_t code)
{
	return find_code(bpftime_asm_sizes, BPF_SIZE(code), 0, 0)->name;
}

/* "[%rN]" or "[%rN+off]" into @mem, which holds the longest: "[%r10-32768]". */
static void mem_operand(char mem[16], uint8_t reg, int16_t off)
{
	if (off)
		snprintf(mem, 16, "[%%r%u%+d]", reg, off);
	else
		snprintf(mem, 16, "[%%r%u]", reg);
}

static int fmt_alu(struct out *o, const struct bpf_insn *insn)
{
	const char *sfx = BPF_CLASS(insn->code) == BPF_ALU ? "32" : "";
	uint8_t op = BPF_OP(insn->code);
	const struct bpftime_asm_op *e;

	if (op == BPF_END) {
		e = find_code(bpftime_asm_end_ops, insn->code, insn->off, insn->imm);
		if (!e || insn->src_reg)
			return NOT_CANONICAL;
		return print(o, "%s %%r%u", e->name, insn->dst_reg);
	}
	if (op == BPF_NEG) {
		if (BPF_SRC(insn->code) == BPF_X || insn->src_reg || insn->off || insn->imm)
			return NOT_CANONICAL;
		return print(o, "neg%s %%r%u", sfx, insn->dst_reg);
	}
	if (op == BPF_MOV && BPF_SRC(insn->code) == BPF_X && insn->off) {
		e = find_code(bpftime_asm_movsx_ops, BPF_CLASS(insn->code), insn->off, 0);
		if (!e || insn->imm)
			return NOT_CANONICAL;
		return print(o, "%s %%r%u, %%r%u", e->name, insn->dst_reg, insn->src_reg);
	}
	e = find_code(bpftime_asm_alu_ops, op, insn->off, 0);
	if (!e)
		return NOT_CANONICAL;
	if (BPF_SRC(insn->code) == BPF_K) {
		if (insn->src_reg)
			return NOT_CANONICAL;
		return print(o, "%s%s %%r%u, %d", e->name, sfx, insn->dst_reg, insn->imm);
	}
	if (insn->imm)
		return NOT_CANONICAL;
	return print(o, "%s%s %%r%u, %%r%u", e->name, sfx, insn->dst_reg, insn->src_reg);
}

static int fmt_call(struct out *o, const struct bpf_insn *insn)
{
	if (BPF_CLASS(insn->code) != BPF_JMP || insn->off)
		return NOT_CANONICAL;
	/* callx as LLVM emits it: the target register in dst_reg */
	if (BPF_SRC(insn->code) == BPF_X) {
		if (insn->src_reg || insn->imm)
			return NOT_CANONICAL;
		return print(o, "call %%r%u", insn->dst_reg);
	}
	if (insn->dst_reg)
		return NOT_CANONICAL;
	if (insn->src_reg == 0)
		return print(o, "call %d", insn->imm);
	if (insn->src_reg == BPF_PSEUDO_CALL)
		return print(o, "call local %+d", insn->imm);
	return NOT_CANONICAL; /* kfunc calls (src 2) have no mnemonic */
}

static int fmt_jmp(struct out *o, const struct bpf_insn *insn)
{
	bool is32 = BPF_CLASS(insn->code) == BPF_JMP32;
	uint8_t op = BPF_OP(insn->code);
	bool x = BPF_SRC(insn->code) == BPF_X;
	const struct bpftime_asm_op *e;

	if (op == BPF_CALL)
		return fmt_call(o, insn);
	if (op == BPF_EXIT) {
		if (is32 || x || insn->dst_reg || insn->src_reg || insn->off || insn->imm)
			return NOT_CANONICAL;
		return print(o, "exit");
	}
	if (op == BPF_JA) {
		if (x || insn->dst_reg || insn->src_reg)
			return NOT_CANONICAL;
		if (is32) /* gotol: the offset is in imm */
			return insn->off ? NOT_CANONICAL : print(o, "ja32 %+d", insn->imm);
		return insn->imm ? NOT_CANONICAL : print(o, "ja %+d", insn->off);
	}
	e = find_code(bpftime_asm_jmp_ops, op, 0, 0);
	if (!e || (x ? insn->imm != 0 : insn->src_reg != 0))
		return NOT_CANONICAL;
	if (x)
		return print(o, "%s%s %%r%u, %%r%u, %+d", e->name, is32 ? "32" : "", insn->dst_reg,
			     insn->src_reg, insn->off);
	return print(o, "%s%s %%r%u, %d, %+d", e->name, is32 ? "32" : "", insn->dst_reg, insn->imm,
		     insn->off);
}

static int fmt_ldx(struct out *o, const struct bpf_insn *insn)
{
	uint8_t mode = BPF_MODE(insn->code);
	char mem[16];

	if (insn->imm || (mode != BPF_MEM && mode != BPF_MEMSX) ||
	    (mode == BPF_MEMSX && BPF_SIZE(insn->code) == BPF_DW))
		return NOT_CANONICAL;
	mem_operand(mem, insn->src_reg, insn->off);
	return print(o, "ldx%s%s %%r%u, %s", mode == BPF_MEMSX ? "s" : "", size_name(insn->code),
		     insn->dst_reg, mem);
}

static int fmt_st(struct out *o, const struct bpf_insn *insn)
{
	char mem[16];

	if (BPF_MODE(insn->code) != BPF_MEM || insn->src_reg)
		return NOT_CANONICAL;
	mem_operand(mem, insn->dst_reg, insn->off);
	return print(o, "st%s %s, %d", size_name(insn->code), mem, insn->imm);
}

/* BPF_STX|BPF_ATOMIC: lock ops (W, DW) and load-acquire/store-release (any size). */
static int fmt_atomic(struct out *o, const struct bpf_insn *insn)
{
	uint8_t size = BPF_SIZE(insn->code);
	const struct bpftime_asm_op *e;
	char mem[16];
	bool fetch;

	if (insn->imm == BPF_LOAD_ACQ) {
		mem_operand(mem, insn->src_reg, insn->off);
		return print(o, "load_acquire%s %%r%u, %s", size_name(insn->code), insn->dst_reg,
			     mem);
	}
	mem_operand(mem, insn->dst_reg, insn->off);
	if (insn->imm == BPF_STORE_REL)
		return print(o, "store_release%s %s, %%r%u", size_name(insn->code), mem,
			     insn->src_reg);
	if (size != BPF_W && size != BPF_DW)
		return NOT_CANONICAL;
	e = find_code(bpftime_asm_atomic_ops, 0, 0, insn->imm);
	/* add/or/and/xor also exist with BPF_FETCH; xchg/cmpxchg include it */
	fetch = !e && (insn->imm & BPF_FETCH);
	if (fetch)
		e = find_code(bpftime_asm_atomic_ops, 0, 0, insn->imm & ~BPF_FETCH);
	if (!e)
		return NOT_CANONICAL;
	return print(o, "lock %s%s%s %s, %%r%u", fetch ? "fetch " : "", e->name,
		     size == BPF_W ? "32" : "", mem, insn->src_reg);
}

static int fmt_stx(struct out *o, const struct bpf_insn *insn)
{
	char mem[16];

	if (BPF_MODE(insn->code) == BPF_ATOMIC)
		return fmt_atomic(o, insn);
	if (BPF_MODE(insn->code) != BPF_MEM || insn->imm)
		return NOT_CANONICAL;
	mem_operand(mem, insn->dst_reg, insn->off);
	return print(o, "stx%s %s, %%r%u", size_name(insn->code), mem, insn->src_reg);
}

/* Both slots of an lddw; the caller checked that the second one exists. */
static int fmt_lddw(struct out *o, const struct bpf_insn *insn)
{
	const struct bpf_insn *hi = insn + 1;
	const struct bpftime_asm_op *kind;
	uint64_t v;

	if (insn->off || hi->code || hi->dst_reg || hi->src_reg || hi->off)
		return NOT_CANONICAL;
	if (!insn->src_reg) {
		v = (uint64_t)(uint32_t)insn->imm | (uint64_t)(uint32_t)hi->imm << 32;
		return print(o, "lddw %%r%u, 0x%llx", insn->dst_reg, (unsigned long long)v);
	}
	kind = find_code(bpftime_asm_pseudo_ldimm64, insn->src_reg, 0, 0);
	if (!kind)
		kind = find_code(bpftime_asm_pseudo_ldimm64, insn->src_reg, 1, 0);
	if (!kind || (!kind->off && hi->imm))
		return NOT_CANONICAL;
	if (kind->code == BPF_PSEUDO_FUNC)
		return print(o, "lddw %%r%u, func %+d", insn->dst_reg, insn->imm);
	if (kind->off)
		return print(o, "lddw %%r%u, %s %d, %d", insn->dst_reg, kind->name, insn->imm,
			     hi->imm);
	return print(o, "lddw %%r%u, %s %d", insn->dst_reg, kind->name, insn->imm);
}

static int fmt_insn(struct out *o, const struct bpf_insn *insn)
{
	/* no mnemonic names a register above r10 */
	if (insn->dst_reg > ASM_MAX_REG || insn->src_reg > ASM_MAX_REG)
		return NOT_CANONICAL;
	switch (BPF_CLASS(insn->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return fmt_alu(o, insn);
	case BPF_JMP:
	case BPF_JMP32:
		return fmt_jmp(o, insn);
	case BPF_LDX:
		return fmt_ldx(o, insn);
	case BPF_ST:
		return fmt_st(o, insn);
	case BPF_STX:
		return fmt_stx(o, insn);
	default: /* BPF_LD: only lddw, handled by the caller; LD_ABS/IND have no mnemonic */
		return NOT_CANONICAL;
	}
}

int bpftime_asm__disasm(const struct bpf_insn *insn, size_t remaining, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};
	int slots = 1, err;

	if (!insn || !remaining || (!buf && size))
		return -EINVAL;
	if (insn->code == (BPF_LD | BPF_DW | BPF_IMM)) {
		/* without a readable second half it is a lone slot, as .raw made it */
		if (remaining < 2 || insn->dst_reg > ASM_MAX_REG)
			err = NOT_CANONICAL;
		else
			err = fmt_lddw(&o, insn);
		slots = err == NOT_CANONICAL ? 1 : 2;
	} else {
		err = fmt_insn(&o, insn);
	}
	if (err == NOT_CANONICAL)
		err = print(&o, ".raw 0x%02x %u %u %d %d", insn->code, insn->dst_reg, insn->src_reg,
			    insn->off, insn->imm);
	return err ? err : slots;
}
