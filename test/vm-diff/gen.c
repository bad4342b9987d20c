// SPDX-License-Identifier: MIT
/*
 * The program generator of bpftime-vm-diff: random programs that the kernel
 * verifier (6.18, privileged) accepts, deterministic per seed.
 *
 * What keeps them valid:
 *   - r9 holds the map value pointer and r10 the frame pointer; neither is
 *     ever written, every other register holds a scalar at every jump
 *     target (a register that briefly holds a pointer for a variable-offset
 *     access is overwritten within the same unit);
 *   - r0..r8 and the VMD_STACK_SIZE bytes of stack are set in the prologue,
 *     so nothing reads an uninitialised register or stack byte;
 *   - constant offsets stay inside the value's data area and the stack;
 *     stack accesses and atomics are aligned (the verifier always checks
 *     stack alignment, and atomics everywhere);
 *   - a variable offset is a register masked with AND, which the verifier
 *     bounds (tnum), plus a base;
 *   - jumps go forward to a unit boundary of their own block, except the
 *     back edge of a counted loop whose counter no other instruction writes
 *     (the verifier walks such loops to the end: bounded loops, Linux 5.3);
 *   - an unconditional jump only ends the "then" part of an if/else, so no
 *     instruction is unreachable (check_cfg rejects those);
 *   - no K-form division by 0 and no K-form shift by the width or more
 *     (both "invalid" to the verifier); the X forms may do both at run time;
 *   - BPF-to-BPF calls only from the main program and outside loops (the
 *     call clobbers r1..r5, which the caller then sets again), only to
 *     subprograms that set r0, r6..r9 and their own stack before reading
 *     them; a subprogram nothing calls is not emitted (unreachable).
 *
 * And what keeps the kernel leg honest: three verifier bugs of 6.18 this
 * fuzzer found are kept out of the programs, each where it is avoided
 * (gen_atomic, gen_var_mem): no atomic that loads from the stack, a 64-bit
 * read of r0 right after a 32-bit cmpxchg, no scalar += r10 in a
 * subprogram. bpftime runs all three forms correctly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vm-diff.h"
#include "../splitmix.h"

/*
 * Every call below takes at most one random argument: C leaves the order
 * of argument evaluation open (gcc and clang differ), and a seed must give
 * the same program whichever compiler built the fuzzer.
 */

#define MAX_DEPTH      3
#define MAX_LOOP_DEPTH 2
#define BLOCK_MAX      64
#define MAX_SUBPROGS   2
/* the subprogram index of the bpf_loop callback, after the plain ones */
#define CALLBACK_SUB MAX_SUBPROGS
#define MAX_CALLS    32

struct gen {
	uint64_t rng;
	struct bpf_insn *insns;
	size_t cnt, cap;
	unsigned busy; /* loop counters: registers no instruction may write */
	unsigned depth, loop_depth;
	/* BPF-to-BPF calls: the main program calls, subprograms do not */
	bool in_sub;
	unsigned nsubs, ncalls;
	bool callback; /* whether bpf_loop may be called */
	size_t call_at[MAX_CALLS];
	unsigned call_sub[MAX_CALLS];
};

static uint64_t rnd(struct gen *g)
{
	return test_splitmix64(&g->rng);
}

static uint32_t below(struct gen *g, uint32_t n)
{
	return (uint32_t)(rnd(g) % n);
}

static bool chance(struct gen *g, unsigned pct)
{
	return below(g, 100) < pct;
}

static size_t emit(struct gen *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn *n;

	if (g->cnt == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		n = realloc(g->insns, g->cap * sizeof(*n));
		if (!n)
			abort(); /* a test tool: out of memory is not a result */
		g->insns = n;
	}
	g->insns[g->cnt] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return g->cnt++;
}

static void emit_ld64(struct gen *g, uint8_t dst, uint8_t src, uint64_t v)
{
	emit(g, BPF_LD | BPF_IMM | BPF_DW, dst, src, 0, (int32_t)(uint32_t)v);
	emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

/* Values where the semantics have edges: signs, widths, shift counts. */
static int32_t pick_imm32(struct gen *g)
{
	static const int32_t edge[] = {0,       1,     -1,      2,         -2,       7,
				       8,       16,    31,      32,        63,       64,
				       0x7f,    0x80,  0xff,    0x7fff,    0x8000,   0xffff,
				       0x10000, -0x80, -0x8000, INT32_MAX, INT32_MIN};

	switch (below(g, 3)) {
	case 0:
		return edge[below(g, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (int32_t)below(g, 512) - 256;
	default:
		return (int32_t)rnd(g);
	}
}

static uint64_t pick_imm64(struct gen *g)
{
	static const uint64_t edge[] = {0,
					1,
					~0ull,
					0x8000000000000000ull,
					0x7fffffffffffffffull,
					0x80000000ull,
					0xffffffffull,
					0x100000000ull,
					0xffffffff80000000ull,
					0x8000ull,
					0xff00ff00ff00ff00ull};

	switch (below(g, 4)) {
	case 0:
		return edge[below(g, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (uint64_t)(int64_t)pick_imm32(g);
	default:
		return rnd(g);
	}
}

static uint8_t pick_src(struct gen *g)
{
	return (uint8_t)below(g, 9);
}

/* A register the current loop nest does not own. */
static uint8_t pick_dst(struct gen *g)
{
	uint8_t r;

	do
		r = (uint8_t)below(g, 9);
	while (g->busy & (1u << r));
	return r;
}

/* A register other than @avoid (a pointer); one no loop owns if @written. */
static uint8_t pick_other(struct gen *g, bool written, uint8_t avoid)
{
	uint8_t r;

	do
		r = written ? pick_dst(g) : pick_src(g);
	while (r == avoid);
	return r;
}

static const uint8_t size_code[4] = {BPF_B, BPF_H, BPF_W, BPF_DW};

/* ---- ALU ---- */

static const uint8_t alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND,
				  BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};

static void gen_alu(struct gen *g, bool reg_form)
{
	uint8_t cls = chance(g, 50) ? BPF_ALU64 : BPF_ALU;
	uint8_t op = alu_ops[below(g, sizeof(alu_ops))];
	unsigned width = cls == BPF_ALU64 ? 64 : 32;
	uint8_t dst = pick_dst(g);
	int16_t off = 0;
	int32_t imm;

	/* off 1 turns div and mod into sdiv and smod (cpu v4, Linux 6.6) */
	if ((op == BPF_DIV || op == BPF_MOD) && chance(g, 40))
		off = 1;
	/* the edges of division: by 0 (X form only) and INT_MIN / -1 */
	if ((op == BPF_DIV || op == BPF_MOD) && chance(g, 30)) {
		imm = chance(g, 50) ? -1 : 0;
		if (imm && chance(g, 60)) {
			if (cls == BPF_ALU64)
				emit_ld64(g, dst, 0, 0x8000000000000000ull);
			else
				emit(g, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, INT32_MIN);
		}
		if (!reg_form) {
			emit(g, cls | op | BPF_K, dst, 0, off, -1);
			return;
		}
		if (imm || chance(g, 50)) {
			uint8_t src = pick_dst(g);

			emit(g, cls | BPF_MOV | BPF_K, src, 0, 0, imm);
			emit(g, cls | op | BPF_X, dst, src, off, 0);
			return;
		}
	}
	if (reg_form) {
		/* off 8/16/32 turns mov into movsx (cpu v4); 32 only for ALU64 */
		if (op == BPF_MOV && chance(g, 40))
			off = (int16_t)(8 << below(g, cls == BPF_ALU64 ? 3 : 2));
		emit(g, cls | op | BPF_X, dst, pick_src(g), off, 0);
		return;
	}
	imm = pick_imm32(g);
	if ((op == BPF_DIV || op == BPF_MOD) && imm == 0)
		imm = 1 + (int32_t)below(g, 9); /* the verifier: "div by zero" */
	if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
		imm = (int32_t)below(g, width); /* the verifier: "invalid shift" */
	emit(g, cls | op | BPF_K, dst, 0, off, imm);
}

static void gen_neg_or_swap(struct gen *g)
{
	static const int32_t widths[] = {16, 32, 64};
	uint8_t dst = pick_dst(g);
	int32_t w = widths[below(g, 3)];

	switch (below(g, 4)) {
	case 0:
		emit(g, (chance(g, 50) ? BPF_ALU64 : BPF_ALU) | BPF_NEG | BPF_K, dst, 0, 0, 0);
		break;
	case 1:
		emit(g, BPF_ALU | BPF_END | BPF_TO_LE, dst, 0, 0, w);
		break;
	case 2:
		emit(g, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, w);
		break;
	default:
		/* bswap16/32/64: unconditional swap (cpu v4) */
		emit(g, BPF_ALU64 | BPF_END | BPF_TO_LE, dst, 0, 0, w);
		break;
	}
}

/* ---- memory ---- */

/* A constant offset from r9 (map value) or r10 (stack) for @size bytes. */
static int16_t pick_off(struct gen *g, bool stack, unsigned size, bool aligned)
{
	if (stack)
		return (int16_t) - (int)(size * (1 + below(g, VMD_STACK_SIZE / size)));
	/* the map value may be accessed unaligned (x86: no strict alignment) */
	if (!aligned && chance(g, 25))
		return (int16_t)below(g, VMD_DATA_SIZE - size + 1);
	return (int16_t)(size * below(g, VMD_DATA_SIZE / size));
}

static void gen_atomic(struct gen *g, uint8_t base, bool stack, int16_t off, unsigned szi,
		       uint8_t ptr_reg)
{
	static const int32_t rmw[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR};
	unsigned kind = below(g, 4);
	int32_t op;

	/* kind 0: plain rmw, 1: fetch rmw, 2: xchg, 3: cmpxchg (r0 in and out) */
	if (kind == 3 && ((g->busy & 1) || ptr_reg == BPF_REG_0))
		kind = 0;
	/*
	 * No atomic that loads from the stack: Linux 6.18 gives the loaded
	 * register the value of a constant spilled there, but its precision
	 * backtracking sees only the store half of BPF_STX | BPF_ATOMIC, so
	 * the slot stays imprecise, a path with another constant there is
	 * pruned as equivalent, and a branch on the loaded value is decided
	 * from the wrong constant (found by this fuzzer).
	 */
	if (stack)
		kind = 0;
	if (kind < 2)
		op = rmw[below(g, 4)] | (kind == 1 ? BPF_FETCH : 0);
	else
		op = kind == 2 ? BPF_XCHG : BPF_CMPXCHG;
	/* fetch and xchg load the old value into src */
	emit(g, BPF_STX | BPF_ATOMIC | size_code[szi], base,
	     pick_other(g, kind == 1 || kind == 2, ptr_reg), off, op);
	/*
	 * A 32-bit cmpxchg zero-extends r0 (the old value). x86's lock
	 * cmpxchg does not write eax when the values match, so Linux inserts
	 * the zero extension only where the verifier saw r0 read as 64 bits
	 * on the path it walked; 6.18 misses the read when that path was
	 * pruned, and r0 keeps its upper half (found by this fuzzer). A
	 * 64-bit read right after, on every path, avoids it.
	 */
	if (kind == 3 && szi == 2)
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, pick_other(g, true, ptr_reg), BPF_REG_0, 0, 0);
}

/* One access at [base + off]: load, sign-extending load, store, atomic. */
static void gen_access(struct gen *g, uint8_t base, bool stack, uint8_t ptr_reg,
		       int16_t (*offf)(struct gen *, bool, unsigned, bool, void *), void *arg)
{
	unsigned szi = below(g, 4), size = 1u << szi, kind = below(g, 7);
	uint8_t r;
	int16_t off;

	/* the variable-offset stack: no atomics at all (the verifier:
	 * "variable offset stack pointer cannot be passed into helper
	 * function", check_stack_range_initialized); a load instead */
	if (kind == 5 && stack && ptr_reg != 0xff)
		kind = 0;
	/* atomics: 32 or 64 bits; sign-extending loads: up to 32 */
	if (kind == 5 || kind == 2)
		szi = kind == 5 ? 2 + below(g, 2) : below(g, 3), size = 1u << szi;
	/* atomics and acquire/release must be aligned */
	off = offf(g, stack, size, kind >= 5, arg);
	switch (kind) {
	case 0:
	case 1:
		emit(g, BPF_LDX | BPF_MEM | size_code[szi], pick_dst(g), base, off, 0);
		break;
	case 2:
		emit(g, BPF_LDX | BPF_MEMSX | size_code[szi], pick_dst(g), base, off, 0);
		break;
	case 3:
		emit(g, BPF_ST | BPF_MEM | size_code[szi], base, 0, off, pick_imm32(g));
		break;
	case 4:
		emit(g, BPF_STX | BPF_MEM | size_code[szi], base, pick_other(g, false, ptr_reg),
		     off, 0);
		break;
	case 5:
		gen_atomic(g, base, stack, off, szi, ptr_reg);
		break;
	default:
		/* load-acquire / store-release (Linux 6.15): any size; no
		 * load-acquire from the stack, as the fetching atomics */
		if (!stack && chance(g, 50)) {
			emit(g, BPF_STX | BPF_ATOMIC | size_code[szi], pick_dst(g), base, off,
			     BPF_LOAD_ACQ);
		} else {
			r = pick_other(g, false, ptr_reg);
			emit(g, BPF_STX | BPF_ATOMIC | size_code[szi], base, r, off, BPF_STORE_REL);
		}
		break;
	}
}

static int16_t const_off(struct gen *g, bool stack, unsigned size, bool aligned, void *arg)
{
	return pick_off(g, stack, size, aligned);
}

static void gen_mem(struct gen *g)
{
	bool stack = chance(g, 40);

	gen_access(g, stack ? BPF_REG_10 : BPF_REG_9, stack, 0xff, const_off, NULL);
}

/*
 * Variable offset: idx & mask is a multiple of 8 that the verifier bounds,
 * the base is added to it, and the fixed part keeps the access inside the
 * data area (map) or the initialised stack, aligned to its size.
 */
static int16_t var_off(struct gen *g, bool stack, unsigned size, bool aligned, void *arg)
{
	int16_t base = *(int16_t *)arg;

	return (int16_t)(base + (int)(size * below(g, 8 / size)));
}

/* One access through @d, a pointer only for that access: a scalar after. */
static void gen_ptr_access(struct gen *g, uint8_t d, bool stack,
			   int16_t (*offf)(struct gen *, bool, unsigned, bool, void *), void *arg)
{
	size_t before = g->cnt;
	const struct bpf_insn *ins;
	bool loaded;

	gen_access(g, d, stack, d, offf, arg);
	ins = &g->insns[before];
	loaded = BPF_CLASS(ins->code) == BPF_LDX ||
		 (BPF_CLASS(ins->code) == BPF_STX && BPF_MODE(ins->code) == BPF_ATOMIC &&
		  ins->imm == BPF_LOAD_ACQ);
	/* unless the access loaded into d, d still holds a pointer: make it a
	 * scalar again before anything else sees it */
	if (!loaded || ins->dst_reg != d)
		emit(g, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, pick_imm32(g));
}

static void gen_var_mem(struct gen *g)
{
	bool stack = chance(g, 40);
	uint8_t d = pick_dst(g);
	int16_t base = stack ? -VMD_STACK_SIZE : 0;
	uint8_t p;

	/* map: [0, 0x78] + 0..7 < 128; stack: [0, 0x30] - 56 + 0..7 < 0 */
	emit(g, BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, stack ? 0x30 : 0x78);
	if (stack && g->in_sub) {
		/*
		 * Not "d += r10" in a subprogram: Linux 6.18's verifier gives the
		 * result of scalar += frame pointer the frame number 0, so it
		 * tracks the caller's stack slots for the callee's accesses and
		 * may prune a branch as dead on the caller's values (found by
		 * this fuzzer). Pointer += scalar keeps the frame.
		 */
		p = pick_other(g, true, d);
		emit(g, BPF_ALU64 | BPF_MOV | BPF_X, p, BPF_REG_10, 0, 0);
		emit(g, BPF_ALU64 | BPF_ADD | BPF_X, p, d, 0, 0);
		gen_ptr_access(g, p, stack, var_off, &base);
		return;
	}
	emit(g, BPF_ALU64 | BPF_ADD | BPF_X, d, stack ? BPF_REG_10 : BPF_REG_9, 0, 0);
	gen_ptr_access(g, d, stack, var_off, &base);
}

/* [d + off] with d = &value[*arg]: off may be negative */
static int16_t shifted_off(struct gen *g, bool stack, unsigned size, bool aligned, void *arg)
{
	return (int16_t)(pick_off(g, false, size, aligned) - *(int16_t *)arg);
}

/* A second map value pointer, from an ld_imm64 with a non-zero offset. */
static void gen_value_ptr(struct gen *g)
{
	uint8_t d = pick_dst(g);
	int16_t at = (int16_t)(8 * below(g, VMD_DATA_SIZE / 8));

	emit(g, BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_MAP_VALUE, 0, 0);
	emit(g, 0, 0, 0, 0, at);
	gen_ptr_access(g, d, false, shifted_off, &at);
}

/* ---- control flow ---- */

static const uint8_t jmp_ops[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
				  BPF_JSET, BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE};

/* A conditional jump on scalars with offset 0, patched by the caller. */
static size_t emit_cond(struct gen *g)
{
	uint8_t cls = chance(g, 50) ? BPF_JMP : BPF_JMP32;
	uint8_t op = jmp_ops[below(g, sizeof(jmp_ops))];

	uint8_t dst = pick_src(g);

	if (chance(g, 50))
		return emit(g, cls | op | BPF_X, dst, pick_src(g), 0, 0);
	return emit(g, cls | op | BPF_K, dst, 0, 0, pick_imm32(g));
}

static void gen_block(struct gen *g, unsigned units);

/* Jump from slot @at to slot @to: JMP|JA uses off, JMP32|JA imm. */
static void patch(struct gen *g, size_t at, size_t to)
{
	long rel = (long)to - (long)at - 1;

	if (g->insns[at].code == (BPF_JMP32 | BPF_JA))
		g->insns[at].imm = (int32_t)rel;
	else
		g->insns[at].off = (int16_t)rel;
}

static void gen_if_else(struct gen *g)
{
	size_t jcc, ja, else_start;

	g->depth++;
	jcc = emit_cond(g);
	gen_block(g, 1 + below(g, 4));
	/* "gotol" (JMP32|JA, cpu v4) sometimes */
	ja = emit(g, chance(g, 30) ? BPF_JMP32 | BPF_JA : BPF_JMP | BPF_JA, 0, 0, 0, 0);
	else_start = g->cnt;
	gen_block(g, below(g, 4));
	patch(g, jcc, else_start);
	patch(g, ja, g->cnt);
	g->depth--;
}

/* for (c = n; c != 0; c--) { block }: c is written by nothing else. */
static void gen_loop(struct gen *g)
{
	uint8_t c = pick_dst(g);
	size_t head, back;

	g->depth++;
	g->loop_depth++;
	g->busy |= 1u << c;
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, c, 0, 0, 1 + (int32_t)below(g, 3));
	head = g->cnt;
	gen_block(g, 1 + below(g, 5));
	emit(g, BPF_ALU64 | BPF_SUB | BPF_K, c, 0, 0, 1);
	back = emit(g, (chance(g, 50) ? BPF_JMP : BPF_JMP32) | BPF_JNE | BPF_K, c, 0, 0, 0);
	patch(g, back, head);
	g->busy &= ~(1u << c);
	g->loop_depth--;
	g->depth--;
}

/* After a call r1..r5 are gone (the verifier marks them unreadable). */
static void gen_after_call(struct gen *g)
{
	static const uint8_t kept[] = {BPF_REG_0, BPF_REG_6, BPF_REG_7, BPF_REG_8};
	uint8_t r;

	for (r = 1; r <= 5; r++) {
		if (chance(g, 50))
			emit(g, BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, pick_imm32(g));
		else
			emit(g, BPF_ALU64 | BPF_MOV | BPF_X, r, kept[below(g, 4)], 0, 0);
	}
}

/* call local: imm patched when the callee's place is known */
static void gen_call(struct gen *g)
{
	g->call_sub[g->ncalls] = below(g, g->nsubs);
	g->call_at[g->ncalls++] = emit(g, BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
	gen_after_call(g);
}

/* bpf_loop(1..4, callback, NULL, 0): r0 is the number of iterations run */
static void gen_bpf_loop(struct gen *g)
{
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1 + (int32_t)below(g, 4));
	g->call_sub[g->ncalls] = CALLBACK_SUB;
	g->call_at[g->ncalls++] = g->cnt;
	emit_ld64(g, BPF_REG_2, BPF_PSEUDO_FUNC, 0);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0);
	emit(g, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
	emit(g, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_loop);
	gen_after_call(g);
}

/*
 * @units units; a conditional jump may skip to any later unit boundary of
 * this block (never into a nested one), patched when the block is done.
 */
static void gen_block(struct gen *g, unsigned units)
{
	size_t start[BLOCK_MAX + 1], jump_at[BLOCK_MAX];
	unsigned jump_to[BLOCK_MAX], njumps = 0, u, w;

	if (units > BLOCK_MAX)
		units = BLOCK_MAX;
	for (u = 0; u < units; u++) {
		start[u] = g->cnt;
		w = below(g, 106);
		if (w < 22) {
			gen_alu(g, false);
		} else if (w < 44) {
			gen_alu(g, true);
		} else if (w < 50) {
			gen_neg_or_swap(g);
		} else if (w < 53) {
			uint8_t dst = pick_dst(g);

			emit_ld64(g, dst, 0, pick_imm64(g));
		} else if (w < 75) {
			gen_mem(g);
		} else if (w < 81) {
			gen_var_mem(g);
		} else if (w < 85) {
			gen_value_ptr(g);
		} else if (w < 88 && !g->in_sub && !g->busy && (g->nsubs || g->callback) &&
			   g->ncalls < MAX_CALLS) {
			if (g->callback && (!g->nsubs || chance(g, 50)))
				gen_bpf_loop(g);
			else
				gen_call(g);
		} else if (w < 98) {
			jump_at[njumps] = emit_cond(g);
			jump_to[njumps++] = u + 1 + below(g, units - u < 6 ? units - u : 6);
		} else if (w < 103 && g->depth < MAX_DEPTH) {
			gen_if_else(g);
		} else if (g->depth < MAX_DEPTH && g->loop_depth < MAX_LOOP_DEPTH) {
			gen_loop(g);
		} else {
			gen_alu(g, true);
		}
	}
	start[units] = g->cnt;
	for (u = 0; u < njumps; u++)
		patch(g, jump_at[u], start[jump_to[u]]);
}

static void gen_reg_init(struct gen *g, uint8_t r)
{
	uint8_t cls;

	if (chance(g, 60)) {
		emit_ld64(g, r, 0, pick_imm64(g));
		return;
	}
	cls = chance(g, 50) ? BPF_ALU64 : BPF_ALU;
	emit(g, cls | BPF_MOV | BPF_K, r, 0, 0, pick_imm32(g));
}

static void gen_stack_init(struct gen *g)
{
	int slot;

	for (slot = 1; slot <= VMD_STACK_SIZE / 8; slot++) {
		switch (below(g, 3)) {
		case 0:
			emit(g, BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, (int16_t)(-8 * slot),
			     pick_imm32(g));
			break;
		case 1:
			emit(g, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, pick_src(g),
			     (int16_t)(-8 * slot), 0);
			break;
		default:
			emit(g, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, (int16_t)(-8 * slot),
			     pick_imm32(g));
			emit(g, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, pick_src(g),
			     (int16_t)(-8 * slot + 4), 0);
			break;
		}
	}
}

/* Every register and every stack byte the body may read gets a value. */
static void gen_prologue(struct gen *g)
{
	uint8_t r;

	/* imm: the map fd (the kernel leg fills it in), next imm: the offset */
	emit_ld64(g, BPF_REG_9, BPF_PSEUDO_MAP_VALUE, 0);
	for (r = 0; r <= 8; r++)
		gen_reg_init(g, r);
	gen_stack_init(g);
}

/*
 * A subprogram: r1..r5 are the caller's (a callback's: r1 and r2 only), r0
 * and r6..r9 and its own stack frame start uninitialised; it stores into the value and returns r0
 * mixed with every register, so that all of its state is observed.
 */
static void gen_subprog(struct gen *g, unsigned len, bool callback)
{
	static const uint8_t own[] = {BPF_REG_0, BPF_REG_6, BPF_REG_7, BPF_REG_8,
				      BPF_REG_3, BPF_REG_4, BPF_REG_5};
	unsigned i;

	g->in_sub = true;
	emit_ld64(g, BPF_REG_9, BPF_PSEUDO_MAP_VALUE, 0);
	/* a bpf_loop callback gets r1 = index, r2 = ctx and nothing else
	 * (set_loop_callback_state) */
	for (i = 0; i < (callback ? 7u : 4u); i++)
		gen_reg_init(g, own[i]);
	gen_stack_init(g);
	gen_block(g, len);
	for (i = 1; i <= 8; i++)
		emit(g, BPF_ALU64 | (chance(g, 50) ? BPF_XOR : BPF_ADD) | BPF_X, BPF_REG_0,
		     (uint8_t)i, 0, 0);
	/* the verifier wants a callback's r0 in [0, 1]: 1 stops the loop */
	if (callback)
		emit(g, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, 1);
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	g->in_sub = false;
}

/* r0..r8 and the stack into the value; r0 is also the return value. */
static void gen_epilogue(struct gen *g)
{
	uint8_t r;
	int slot;

	for (r = 0; r <= 8; r++)
		emit(g, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_9, r, (int16_t)(VMD_REGS_OFF + 8 * r),
		     0);
	for (slot = 1; slot <= VMD_STACK_SIZE / 8; slot++) {
		emit(g, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, (int16_t)(-8 * slot), 0);
		emit(g, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_9, BPF_REG_1,
		     (int16_t)(VMD_STACK_OFF + 8 * (slot - 1)), 0);
	}
	emit(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int vmd_generate(uint64_t seed, unsigned len, struct vmd_prog *prog)
{
	struct gen g = {.rng = seed};
	size_t i, sub_start[MAX_SUBPROGS + 1];
	unsigned s, sub_len;

	memset(prog, 0, sizeof(*prog));
	prog->seed = seed;
	for (i = 0; i < VMD_VALUE_SIZE; i += 8) {
		uint64_t v = rnd(&g);

		memcpy(prog->init + i, &v, 8);
	}
	g.nsubs = below(&g, MAX_SUBPROGS + 1);
	g.callback = chance(&g, 40);
	sub_len = 1 + len / 4;
	gen_prologue(&g);
	while (len) {
		unsigned n = len > BLOCK_MAX ? BLOCK_MAX : len;

		gen_block(&g, n);
		len -= n;
	}
	gen_epilogue(&g);
	/* only the subprograms something calls: the others would be
	 * unreachable code, which check_cfg rejects */
	for (s = 0; s <= CALLBACK_SUB; s++) {
		sub_start[s] = SIZE_MAX;
		for (i = 0; i < g.ncalls; i++)
			if (g.call_sub[i] == s && sub_start[s] == SIZE_MAX)
				sub_start[s] = g.cnt, gen_subprog(&g, sub_len, s == CALLBACK_SUB);
	}
	/* call local and ld_imm64 BPF_PSEUDO_FUNC: imm relative to the next slot */
	for (i = 0; i < g.ncalls; i++)
		g.insns[g.call_at[i]].imm = (int32_t)(sub_start[g.call_sub[i]] - g.call_at[i] - 1);
	prog->insns = g.insns;
	prog->cnt = g.cnt;
	return 0;
}

void vmd_prog_free(struct vmd_prog *prog)
{
	free(prog->insns);
	prog->insns = NULL;
	prog->cnt = 0;
}
