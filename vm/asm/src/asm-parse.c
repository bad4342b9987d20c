// SPDX-License-Identifier: MIT
/*
 * The assembler proper, in two passes:
 *
 *   1. line by line, each statement becomes its instruction slots; a label
 *      definition records the index of the next slot, and an operand that
 *      names a label leaves a fixup (slot, field, name);
 *   2. labels are sorted by name (duplicates show up as neighbours) and
 *      every fixup is resolved by binary search into an offset relative to
 *      the slot after the instruction, as the ISA counts them.
 *
 * Label names and fixups point into the caller's text, which outlives the
 * call; nothing is copied. The syntax is described in asm.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/asm.h>
#include "asm-internal.h"

struct label {
	const char *name; /* into the source text */
	size_t len;
	size_t idx;  /* slot the label stands for */
	size_t line; /* where it is defined */
};

enum fixup_field {
	FIX_OFF, /* 16-bit off: conditional jumps, ja */
	FIX_IMM, /* 32-bit imm: ja32, call local, lddw func */
};

struct fixup {
	const char *name; /* into the source text */
	size_t len;
	size_t idx; /* slot of the instruction to patch */
	size_t line;
	enum fixup_field field;
};

struct asm_ctx {
	struct bpf_insn *insns;
	size_t cnt, cap;
	struct label *labels;
	size_t nlabels, labels_cap;
	struct fixup *fixups;
	size_t nfixups, fixups_cap;
	char *err;
	size_t err_size;
};

/* Make room for one more element of @elem bytes in *@arr. */
static int grow(void **arr, size_t *cap, size_t used, size_t elem)
{
	size_t ncap;
	void *n;

	if (used < *cap)
		return 0;
	/* doubling must not overflow the byte count */
	if (*cap > SIZE_MAX / 2 / elem)
		return -ENOMEM;
	ncap = *cap ? *cap * 2 : 64;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

static int emit(struct asm_ctx *ctx, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
		int32_t imm)
{
	struct bpf_insn *insn;

	if (grow((void **)&ctx->insns, &ctx->cap, ctx->cnt, sizeof(*ctx->insns)))
		return -ENOMEM;
	insn = &ctx->insns[ctx->cnt++];
	memset(insn, 0, sizeof(*insn));
	insn->code = code;
	insn->dst_reg = dst & 0xf;
	insn->src_reg = src & 0xf;
	insn->off = off;
	insn->imm = imm;
	return 0;
}

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(w, s, len);
}

/* Whether @w ends in "32", and the length without it. */
static bool strip_32(const char *w, size_t len, size_t *base)
{
	if (len > 2 && w[len - 2] == '3' && w[len - 1] == '2') {
		*base = len - 2;
		return true;
	}
	*base = len;
	return false;
}

/*
 * A jump or call target: +N / -N (or a bare number) within the field's
 * range, or a label, which leaves a fixup on the slot about to be emitted.
 */
static int parse_target(struct asm_ctx *ctx, struct bpftime_asm_line *l, enum fixup_field field,
			int32_t *value)
{
	struct fixup *f;
	const char *name;
	size_t len;
	int64_t v;
	int err;

	*value = 0;
	if (bpftime_asm_number_next(l)) {
		if (field == FIX_OFF)
			err = bpftime_asm_number(l, INT16_MIN, INT16_MAX, "jump offset", &v);
		else
			err = bpftime_asm_number(l, INT32_MIN, INT32_MAX, "jump offset", &v);
		if (!err)
			*value = (int32_t)v;
		return err;
	}
	bpftime_asm_word(l, &name, &len);
	if (!len)
		return bpftime_asm_error(l, "expected a label or +N/-N");
	if (grow((void **)&ctx->fixups, &ctx->fixups_cap, ctx->nfixups, sizeof(*f)))
		return -ENOMEM;
	f = &ctx->fixups[ctx->nfixups++];
	f->name = name;
	f->len = len;
	f->idx = ctx->cnt;
	f->line = l->no;
	f->field = field;
	return 0;
}

static int parse_alu(struct asm_ctx *ctx, struct bpftime_asm_line *l,
		     const struct bpftime_asm_op *op, uint8_t cls)
{
	uint8_t dst, src = 0, code = cls | op->code;
	int32_t imm = 0;
	int err;

	err = bpftime_asm_register(l, &dst);
	if (err)
		return err;
	if (op->code == BPF_NEG) /* unary: RFC 9669 4.1, "dst = -dst" */
		return emit(ctx, code | BPF_K, dst, 0, 0, 0);
	err = bpftime_asm_expect(l, ',');
	if (err)
		return err;
	if (bpftime_asm_register_next(l)) {
		err = bpftime_asm_register(l, &src);
		code |= BPF_X;
	} else {
		err = bpftime_asm_imm32(l, &imm);
	}
	return err ? err : emit(ctx, code, dst, src, op->off, imm);
}

static int parse_jcond(struct asm_ctx *ctx, struct bpftime_asm_line *l,
		       const struct bpftime_asm_op *op, uint8_t cls)
{
	uint8_t dst, src = 0, code = cls | op->code;
	int32_t imm = 0, off;
	int err;

	err = bpftime_asm_register(l, &dst);
	if (!err)
		err = bpftime_asm_expect(l, ',');
	if (err)
		return err;
	if (bpftime_asm_register_next(l)) {
		err = bpftime_asm_register(l, &src);
		code |= BPF_X;
	} else {
		err = bpftime_asm_imm32(l, &imm);
	}
	if (!err)
		err = bpftime_asm_expect(l, ',');
	if (!err)
		err = parse_target(ctx, l, FIX_OFF, &off);
	return err ? err : emit(ctx, code, dst, src, (int16_t)off, imm);
}

/* ja: offset in off; ja32 (JMP32|JA, "gotol"): offset in imm. */
static int parse_ja(struct asm_ctx *ctx, struct bpftime_asm_line *l, bool wide)
{
	int32_t v;
	int err = parse_target(ctx, l, wide ? FIX_IMM : FIX_OFF, &v);

	if (err)
		return err;
	if (wide)
		return emit(ctx, BPF_JMP32 | BPF_JA, 0, 0, 0, v);
	return emit(ctx, BPF_JMP | BPF_JA, 0, 0, (int16_t)v, 0);
}

/* call N | call local TARGET | call %rN (callx as LLVM encodes it: reg in dst) */
static int parse_call(struct asm_ctx *ctx, struct bpftime_asm_line *l)
{
	const char *w;
	size_t len;
	int32_t imm;
	uint8_t reg;
	int err;

	if (bpftime_asm_register_next(l)) {
		err = bpftime_asm_register(l, &reg);
		return err ? err : emit(ctx, BPF_JMP | BPF_CALL | BPF_X, reg, 0, 0, 0);
	}
	if (bpftime_asm_number_next(l)) {
		err = bpftime_asm_imm32(l, &imm);
		return err ? err : emit(ctx, BPF_JMP | BPF_CALL, 0, 0, 0, imm);
	}
	bpftime_asm_word(l, &w, &len);
	if (!word_is(w, len, "local"))
		return bpftime_asm_error(l,
					 "expected a helper id, 'local' or a register after call");
	err = parse_target(ctx, l, FIX_IMM, &imm);
	return err ? err : emit(ctx, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, imm);
}

/* lock [fetch] <op>[32] [%rD+off], %rS */
static int parse_lock(struct asm_ctx *ctx, struct bpftime_asm_line *l)
{
	const struct bpftime_asm_op *op;
	bool fetch = false, is32;
	uint8_t dst, src;
	const char *w;
	size_t len, base;
	int16_t off;
	int err;

	bpftime_asm_word(l, &w, &len);
	if (word_is(w, len, "fetch")) {
		fetch = true;
		bpftime_asm_word(l, &w, &len);
	}
	is32 = strip_32(w, len, &base);
	op = bpftime_asm_find_name(bpftime_asm_atomic_ops, w, base);
	/* xchg and cmpxchg always fetch; one spelling per encoding */
	if (!op || (fetch && (op->imm & BPF_FETCH)))
		return bpftime_asm_error(l, "unknown atomic operation '%s%.*s'",
					 fetch ? "fetch " : "", (int)len, w);
	err = bpftime_asm_memory(l, &dst, &off);
	if (!err)
		err = bpftime_asm_expect(l, ',');
	if (!err)
		err = bpftime_asm_register(l, &src);
	if (err)
		return err;
	return emit(ctx, BPF_STX | BPF_ATOMIC | (is32 ? BPF_W : BPF_DW), dst, src, off,
		    op->imm | (fetch ? BPF_FETCH : 0));
}

/* lddw %rD, <pseudo> ...: the extensions listed in asm.h. */
static int parse_lddw_pseudo(struct asm_ctx *ctx, struct bpftime_asm_line *l, uint8_t dst)
{
	const struct bpftime_asm_op *kind;
	int32_t imm = 0, next = 0;
	const char *w;
	size_t len;
	int err;

	bpftime_asm_word(l, &w, &len);
	kind = bpftime_asm_find_name(bpftime_asm_pseudo_ldimm64, w, len);
	if (!kind)
		return bpftime_asm_error(l, "unknown lddw operand '%.*s'", (int)len, w);
	if (kind->code == BPF_PSEUDO_FUNC)
		err = parse_target(ctx, l, FIX_IMM, &imm);
	else
		err = bpftime_asm_imm32(l, &imm);
	if (!err && kind->off) {
		err = bpftime_asm_expect(l, ',');
		if (!err)
			err = bpftime_asm_imm32(l, &next);
	}
	if (!err)
		err = emit(ctx, BPF_LD | BPF_DW | BPF_IMM, dst, kind->code, 0, imm);
	return err ? err : emit(ctx, 0, 0, 0, 0, next);
}

/* lddw takes two slots; the second carries the upper 32 bits in imm. */
static int parse_lddw(struct asm_ctx *ctx, struct bpftime_asm_line *l)
{
	uint64_t v;
	uint8_t dst;
	int err;

	err = bpftime_asm_register(l, &dst);
	if (!err)
		err = bpftime_asm_expect(l, ',');
	if (err)
		return err;
	if (!bpftime_asm_number_next(l))
		return parse_lddw_pseudo(ctx, l, dst);
	err = bpftime_asm_number64(l, &v);
	if (!err)
		err = emit(ctx, BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (int32_t)(uint32_t)v);
	return err ? err : emit(ctx, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/* .raw <code> <dst> <src> <off> <imm>, commas optional */
static int parse_raw(struct asm_ctx *ctx, struct bpftime_asm_line *l)
{
	static const struct {
		const char *what;
		int64_t min, max;
	} fields[] = {
	    {"opcode", 0, 0xff},
	    {"dst_reg", 0, 0xf},
	    {"src_reg", 0, 0xf},
	    {"offset", INT16_MIN, UINT16_MAX},
	    {"immediate", INT32_MIN, UINT32_MAX},
	};
	int64_t v[5];
	int err;

	for (size_t i = 0; i < 5; i++) {
		if (i)
			bpftime_asm_accept(l, ',');
		err = bpftime_asm_number(l, fields[i].min, fields[i].max, fields[i].what, &v[i]);
		if (err)
			return err;
	}
	return emit(ctx, (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2],
		    (int16_t)(uint16_t)(uint64_t)v[3], (int32_t)(uint32_t)(uint64_t)v[4]);
}

static int parse_movsx(struct asm_ctx *ctx, struct bpftime_asm_line *l,
		       const struct bpftime_asm_op *op)
{
	uint8_t dst, src;
	int err;

	err = bpftime_asm_register(l, &dst);
	if (!err)
		err = bpftime_asm_expect(l, ',');
	if (!err)
		err = bpftime_asm_register(l, &src);
	return err ? err : emit(ctx, op->code | BPF_MOV | BPF_X, dst, src, op->off, 0);
}

static int parse_end(struct asm_ctx *ctx, struct bpftime_asm_line *l,
		     const struct bpftime_asm_op *op)
{
	uint8_t dst;
	int err = bpftime_asm_register(l, &dst);

	return err ? err : emit(ctx, op->code, dst, 0, 0, op->imm);
}

enum mem_kind { MEM_LDX, MEM_LDXS, MEM_ST, MEM_STX, MEM_LDACQ, MEM_STREL };

/* Operands of a load/store mnemonic; @size is the BPF_SIZE bits. */
static int parse_mem(struct asm_ctx *ctx, struct bpftime_asm_line *l, enum mem_kind kind,
		     uint8_t size)
{
	uint8_t base, reg = 0;
	int32_t imm = 0;
	int16_t off;
	bool load = kind == MEM_LDX || kind == MEM_LDXS || kind == MEM_LDACQ;
	int err;

	/* loads: %rD, [%rS+off]; stores: [%rD+off], src */
	if (load) {
		err = bpftime_asm_register(l, &reg);
		if (!err)
			err = bpftime_asm_expect(l, ',');
		if (!err)
			err = bpftime_asm_memory(l, &base, &off);
	} else {
		err = bpftime_asm_memory(l, &base, &off);
		if (!err)
			err = bpftime_asm_expect(l, ',');
		if (!err && kind == MEM_ST)
			err = bpftime_asm_imm32(l, &imm);
		else if (!err)
			err = bpftime_asm_register(l, &reg);
	}
	if (err)
		return err;
	switch (kind) {
	case MEM_LDX:
		return emit(ctx, BPF_LDX | BPF_MEM | size, reg, base, off, 0);
	case MEM_LDXS:
		return emit(ctx, BPF_LDX | BPF_MEMSX | size, reg, base, off, 0);
	case MEM_ST:
		return emit(ctx, BPF_ST | BPF_MEM | size, base, 0, off, imm);
	case MEM_STX:
		return emit(ctx, BPF_STX | BPF_MEM | size, base, reg, off, 0);
	case MEM_LDACQ: /* dst = load_acquire(src + off), as the kernel encodes it */
		return emit(ctx, BPF_STX | BPF_ATOMIC | size, reg, base, off, BPF_LOAD_ACQ);
	case MEM_STREL:
		return emit(ctx, BPF_STX | BPF_ATOMIC | size, base, reg, off, BPF_STORE_REL);
	}
	return -EINVAL;
}

/* Load/store mnemonics are a prefix plus a size suffix; 1 when @w is one. */
static int try_mem(struct asm_ctx *ctx, struct bpftime_asm_line *l, const char *w, size_t len)
{
	static const struct {
		const char *prefix;
		enum mem_kind kind;
	} prefixes[] = {
	    {"ldxs", MEM_LDXS},
	    {"ldx", MEM_LDX},
	    {"stx", MEM_STX},
	    {"st", MEM_ST},
	    {"load_acquire", MEM_LDACQ},
	    {"store_release", MEM_STREL},
	};
	const struct bpftime_asm_op *size;
	size_t n;
	int err;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i].prefix);
		if (len <= n || memcmp(w, prefixes[i].prefix, n))
			continue;
		size = bpftime_asm_find_name(bpftime_asm_sizes, w + n, len - n);
		/* BPF_MEMSX has no 64-bit form: nothing to extend */
		if (!size || (prefixes[i].kind == MEM_LDXS && size->code == BPF_DW))
			continue;
		err = parse_mem(ctx, l, prefixes[i].kind, size->code);
		return err ? err : 1;
	}
	return 0;
}

/* ALU and conditional jumps: a base name with an optional "32" suffix. */
static int try_alu_jmp(struct asm_ctx *ctx, struct bpftime_asm_line *l, const char *w, size_t len)
{
	const struct bpftime_asm_op *op;
	size_t base;
	bool is32 = strip_32(w, len, &base);
	int err;

	op = bpftime_asm_find_name(bpftime_asm_alu_ops, w, base);
	if (op) {
		err = parse_alu(ctx, l, op, is32 ? BPF_ALU : BPF_ALU64);
		return err ? err : 1;
	}
	op = bpftime_asm_find_name(bpftime_asm_jmp_ops, w, base);
	if (op) {
		err = parse_jcond(ctx, l, op, is32 ? BPF_JMP32 : BPF_JMP);
		return err ? err : 1;
	}
	return 0;
}

/* Operands of mnemonic @w; the caller checks for trailing text. */
static int parse_insn(struct asm_ctx *ctx, struct bpftime_asm_line *l, const char *w, size_t len)
{
	const struct bpftime_asm_op *op;
	int err;

	if (word_is(w, len, "exit"))
		return emit(ctx, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	if (word_is(w, len, "call"))
		return parse_call(ctx, l);
	if (word_is(w, len, "lock"))
		return parse_lock(ctx, l);
	if (word_is(w, len, "lddw"))
		return parse_lddw(ctx, l);
	if (word_is(w, len, ".raw"))
		return parse_raw(ctx, l);
	if (word_is(w, len, "ja") || word_is(w, len, "ja32"))
		return parse_ja(ctx, l, len == 4);
	op = bpftime_asm_find_name(bpftime_asm_movsx_ops, w, len);
	if (op)
		return parse_movsx(ctx, l, op);
	op = bpftime_asm_find_name(bpftime_asm_end_ops, w, len);
	if (op)
		return parse_end(ctx, l, op);
	err = try_mem(ctx, l, w, len);
	if (!err)
		err = try_alu_jmp(ctx, l, w, len);
	if (err)
		return err < 0 ? err : 0;
	return bpftime_asm_error(l, "unknown mnemonic '%.*s'", (int)(len > 32 ? 32 : len), w);
}

static int add_label(struct asm_ctx *ctx, struct bpftime_asm_line *l, const char *name, size_t len)
{
	struct label *lab;

	if (grow((void **)&ctx->labels, &ctx->labels_cap, ctx->nlabels, sizeof(*lab)))
		return -ENOMEM;
	lab = &ctx->labels[ctx->nlabels++];
	lab->name = name;
	lab->len = len;
	lab->idx = ctx->cnt;
	lab->line = l->no;
	return 0;
}

/* [label:]... [mnemonic operands] */
static int parse_line(struct asm_ctx *ctx, struct bpftime_asm_line *l)
{
	const char *w;
	size_t len;
	int err;

	for (;;) {
		bpftime_asm_word(l, &w, &len);
		if (!len && bpftime_asm_at_end(l))
			return 0;
		if (!len)
			return bpftime_asm_error(l, "expected a mnemonic or a label, got '%.*s'",
						 (int)(l->end - l->p > 32 ? 32 : l->end - l->p),
						 l->p);
		if (!bpftime_asm_accept(l, ':'))
			break;
		err = add_label(ctx, l, w, len);
		if (err)
			return err;
	}
	err = parse_insn(ctx, l, w, len);
	return err ? err : bpftime_asm_expect_end(l);
}

static int label_cmp(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal names: definition order, so the later one is reported */
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort the labels and refuse duplicates. */
static int sort_labels(struct asm_ctx *ctx)
{
	struct bpftime_asm_line l = {.err = ctx->err, .err_size = ctx->err_size};

	if (ctx->nlabels)
		qsort(ctx->labels, ctx->nlabels, sizeof(*ctx->labels), label_cmp);
	for (size_t i = 1; i < ctx->nlabels; i++) {
		const struct label *a = &ctx->labels[i - 1], *b = &ctx->labels[i];

		if (a->len == b->len && !memcmp(a->name, b->name, a->len)) {
			l.no = b->line;
			return bpftime_asm_error(&l, "duplicate label '%.*s' (first on line %zu)",
						 (int)b->len, b->name, a->line);
		}
	}
	return 0;
}

/* Slot of the label a fixup names, or -1 when no such label is defined. */
static int64_t find_label(const struct asm_ctx *ctx, const struct fixup *f)
{
	struct label key = {.name = f->name, .len = f->len, .line = 0};
	size_t lo = 0, hi = ctx->nlabels;

	/* lower bound: the first label not below key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (label_cmp(&ctx->labels[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ctx->nlabels && ctx->labels[lo].len == f->len &&
	    !memcmp(ctx->labels[lo].name, f->name, f->len))
		return (int64_t)ctx->labels[lo].idx;
	return -1;
}

/*
 * next[i]: the first exit instruction at or after slot i (-1: none), for
 * an undefined "exit" target, which means the first exit after the jump
 * (bpf_conformance tests jump to "exit" without defining it). Built once,
 * so that many such jumps stay linear.
 */
static int64_t *build_next_exit(const struct asm_ctx *ctx)
{
	int64_t *next = malloc((ctx->cnt + 1) * sizeof(*next));

	if (!next)
		return NULL;
	next[ctx->cnt] = -1;
	for (size_t i = ctx->cnt; i-- > 0;)
		next[i] = ctx->insns[i].code == (BPF_JMP | BPF_EXIT) ? (int64_t)i : next[i + 1];
	return next;
}

/* Patch one fixup once its target slot is known. */
static int apply_fixup(struct asm_ctx *ctx, const struct fixup *f, int64_t target)
{
	struct bpftime_asm_line l = {.no = f->line, .err = ctx->err, .err_size = ctx->err_size};
	/* relative to the slot after the instruction (RFC 9669 4.4) */
	int64_t rel = target - (int64_t)f->idx - 1;

	if (target < 0)
		return bpftime_asm_error(&l, "undefined label '%.*s'", (int)f->len, f->name);
	if (f->field == FIX_OFF ? rel < INT16_MIN || rel > INT16_MAX
				: rel < INT32_MIN || rel > INT32_MAX)
		return bpftime_asm_error(&l, "jump offset %lld to '%.*s' out of range",
					 (long long)rel, (int)f->len, f->name);
	if (f->field == FIX_OFF)
		ctx->insns[f->idx].off = (int16_t)rel;
	else
		ctx->insns[f->idx].imm = (int32_t)rel;
	return 0;
}

static int resolve_fixups(struct asm_ctx *ctx)
{
	int64_t *next_exit = NULL, target;
	int err = 0;

	for (size_t i = 0; i < ctx->nfixups && !err; i++) {
		const struct fixup *f = &ctx->fixups[i];

		target = find_label(ctx, f);
		if (target < 0 && word_is(f->name, f->len, "exit")) {
			if (!next_exit)
				next_exit = build_next_exit(ctx);
			if (!next_exit) {
				err = -ENOMEM;
				break;
			}
			/* f->idx < cnt: the fixup's instruction was emitted */
			target = next_exit[f->idx + 1];
		}
		err = apply_fixup(ctx, f, target);
	}
	free(next_exit);
	return err;
}

/* Pass 1 over every line of @text. */
static int parse_text(struct asm_ctx *ctx, const char *text)
{
	struct bpftime_asm_line l = {.err = ctx->err, .err_size = ctx->err_size};
	const char *p = text, *eol, *hash;
	int err;

	for (l.no = 1;; l.no++) {
		eol = strchrnul(p, '\n');
		hash = memchr(p, '#', (size_t)(eol - p));
		l.p = p;
		l.end = hash ? hash : eol;
		err = parse_line(ctx, &l);
		if (err)
			return err;
		if (!*eol)
			return 0;
		p = eol + 1;
	}
}

int bpftime_asm__assemble(const char *text, struct bpf_insn **insns, size_t *cnt, char *err,
			  size_t err_size)
{
	struct asm_ctx ctx = {.err = err, .err_size = err_size};
	int ret;

	if (err && err_size)
		err[0] = '\0';
	if (!text || !insns || !cnt)
		return -EINVAL;
	ret = parse_text(&ctx, text);
	if (!ret)
		ret = sort_labels(&ctx);
	if (!ret)
		ret = resolve_fixups(&ctx);
	/* an empty program still hands back an array the caller can free */
	if (!ret && !ctx.cap)
		ret = grow((void **)&ctx.insns, &ctx.cap, 0, sizeof(*ctx.insns));
	if (ret == -ENOMEM && err && err_size)
		snprintf(err, err_size, "out of memory");
	free(ctx.labels);
	free(ctx.fixups);
	if (ret) {
		free(ctx.insns);
		return ret;
	}
	*insns = ctx.insns;
	*cnt = ctx.cnt;
	return 0;
}
