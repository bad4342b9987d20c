// SPDX-License-Identifier: MIT
/*
 * eBPF to LLVM IR, from the loader's decoded form (struct vm_dec), with the
 * interpreter's semantics (vm-interp-body.h, vm-alu.h) for every opcode:
 *
 * - registers r0..r9 are allocas that mem2reg turns into SSA values; r10
 *   is a value computed once per function;
 * - each BPF function is one LLVM function with the convention of
 *   vm-image.h; BPF-to-BPF calls are direct calls LLVM may inline;
 * - the stack: in the fast mode each function's 512 bytes are its own
 *   alloca (a frame object SROA can break into registers when no pointer
 *   to it escapes); in the bounds-checked mode frames are the run's stack
 *   area, frame k at stack_hi - k * 512, exactly as the interpreter lays
 *   them out, so that the same accesses pass or fault;
 * - everything that differs between processes (helper, map and function
 *   addresses, the vm, the runtime entries of vm-native.c) is loaded from a
 *   data slot: an external constant global the linker points at the slot;
 * - checked accesses: accesses at a constant offset inside the function's
 *   own frame need no check; others test the stack area and ctx inline and
 *   call the runtime for regions and the host's callback; a failed check
 *   records the fault and returns through every frame;
 * - bpf_loop runs as a loop calling its callback directly when the
 *   callback is a constant, which lets LLVM inline it;
 * - division and shifts are guarded so that no input is undefined in LLVM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jit-internal.h"

#define FRAME BPFTIME_VM_STACK_SIZE

/* Everything one module build shares. */
struct irb {
	const struct bpftime_vm *vm;
	bool checked, counted;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMBuilderRef b;
	LLVMTypeRef i1, i8, i16, i32, i64, ptr, vd;
	LLVMTypeRef fn_ty;     /* generated functions */
	LLVMTypeRef helper_ty; /* bpftime_vm_helper_fn */
	LLVMTypeRef rt_ty[VM_RT__COUNT];
	LLVMValueRef *funcs; /* by first insn index; NULL elsewhere */
	uint8_t *leader;     /* 1 where a basic block starts */
	/* by first insn: 1 when the function can end with call->err set (a
	 * check, a helper, a call); callers of the others skip the check
	 * after the call, which would otherwise reload call->err in loops */
	uint8_t *may_fail;
	struct jit_slots *slots;
	struct jit_err *e;
};

/* One function being built. */
struct fnb {
	LLVMValueRef fn;
	uint32_t start, end;
	LLVMValueRef reg[10]; /* allocas */
	LLVMValueRef call, depth, fp;
	LLVMValueRef frame; /* fast mode: the alloca of the stack frame */
	/* checked mode: run constants loaded at entry */
	LLVMValueRef stack_lo, stack_span, ctx, ctx_len, ctx_wr;
	LLVMBasicBlockRef entry;
	LLVMBasicBlockRef *bb; /* by insn index - start; NULL if not a leader */
	LLVMBasicBlockRef out; /* return after a fault (call->err is set) */
};

/* ---- small builders ---- */

static LLVMValueRef c64(struct irb *w, uint64_t v)
{
	return LLVMConstInt(w->i64, v, false);
}

static LLVMValueRef c32(struct irb *w, uint32_t v)
{
	return LLVMConstInt(w->i32, v, false);
}

static LLVMValueRef c8(struct irb *w, uint8_t v)
{
	return LLVMConstInt(w->i8, v, false);
}

static LLVMValueRef get(struct irb *w, struct fnb *f, unsigned r)
{
	if (r == 10)
		return f->fp;
	return LLVMBuildLoad2(w->b, w->i64, f->reg[r], "");
}

static void set(struct irb *w, struct fnb *f, unsigned r, LLVMValueRef v)
{
	LLVMBuildStore(w->b, v, f->reg[r]);
}

static LLVMValueRef gep8(struct irb *w, LLVMValueRef base, LLVMValueRef off)
{
	return LLVMBuildGEP2(w->b, w->i8, base, &off, 1, "");
}

/* An alloca in the entry block, where mem2reg promotes it. */
static LLVMValueRef entry_alloca(struct irb *w, struct fnb *f, LLVMTypeRef ty)
{
	LLVMBuilderRef b = LLVMCreateBuilderInContext(w->ctx);
	LLVMValueRef first = LLVMGetFirstInstruction(f->entry), a;

	if (first)
		LLVMPositionBuilderBefore(b, first);
	else
		LLVMPositionBuilderAtEnd(b, f->entry);
	a = LLVMBuildAlloca(b, ty, "");
	LLVMDisposeBuilder(b);
	return a;
}

/* A field of a struct the code receives a pointer to (call, run). */
static LLVMValueRef field(struct irb *w, LLVMValueRef base, size_t off, LLVMTypeRef ty)
{
	return LLVMBuildLoad2(w->b, ty, gep8(w, base, c64(w, off)), "");
}

/* ---- data slots ---- */

static int slot_index(struct irb *w, uint32_t kind, uint32_t arg, uint32_t *idx)
{
	struct jit_slots *s = w->slots;

	for (uint32_t i = 0; i < s->nr; i++)
		if (s->v[i].kind == kind && s->v[i].arg == arg) {
			*idx = i;
			return 0;
		}
	if (s->nr == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 16;
		struct vm_image_slot *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->nr] = (struct vm_image_slot){.kind = kind, .arg = arg};
	*idx = s->nr++;
	return 0;
}

/* The value of a slot, as i64 or ptr: a load from a constant global, which
 * LLVM may hoist and merge freely. */
static LLVMValueRef slot(struct irb *w, uint32_t kind, uint32_t arg, LLVMTypeRef ty)
{
	char name[48];
	uint32_t idx;
	LLVMValueRef g;

	if (slot_index(w, kind, arg, &idx))
		return NULL;
	snprintf(name, sizeof(name), JIT_SLOT_PREFIX "%u", idx);
	g = LLVMGetNamedGlobal(w->mod, name);
	if (!g) {
		g = LLVMAddGlobal(w->mod, w->i64, name);
		LLVMSetLinkage(g, LLVMExternalLinkage);
		LLVMSetVisibility(g, LLVMHiddenVisibility);
		LLVMSetGlobalConstant(g, 1);
		LLVMSetAlignment(g, 8);
	}
	return LLVMBuildLoad2(w->b, ty, g, "");
}

static LLVMValueRef rt_call(struct irb *w, enum vm_rt rt, LLVMValueRef *args, unsigned n)
{
	LLVMValueRef fn = slot(w, VM_SLOT_RT, rt, w->ptr);

	return LLVMBuildCall2(w->b, w->rt_ty[rt], fn, args, n, "");
}

static LLVMValueRef vm_ptr(struct irb *w)
{
	return slot(w, VM_SLOT_VM, 0, w->ptr);
}

/* ---- faults ---- */

/* Record a fault at @pc and leave the function. */
static void fault(struct irb *w, struct fnb *f, uint32_t pc, int err, LLVMValueRef addr,
		  uint32_t size, bool write)
{
	LLVMValueRef a[7] = {f->call, vm_ptr(w),    c32(w, pc),  c32(w, (uint32_t)err),
			     addr,    c32(w, size), c8(w, write)};

	rt_call(w, VM_RT_FAULT, a, 7);
	LLVMBuildBr(w->b, f->out);
}

/* Continue in a new block when @cond holds, else fault; returns nothing,
 * the builder sits in the good block. */
static void fault_unless(struct irb *w, struct fnb *f, LLVMValueRef cond, uint32_t pc, int err,
			 LLVMValueRef addr, uint32_t size, bool write)
{
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");

	LLVMBuildCondBr(w->b, cond, ok, bad);
	LLVMPositionBuilderAtEnd(w->b, bad);
	fault(w, f, pc, err, addr, size, write);
	LLVMPositionBuilderAtEnd(w->b, ok);
}

/* After a call: stop when call->err is set (the callee described it). */
static void check_err(struct irb *w, struct fnb *f, uint32_t pc, bool helper)
{
	LLVMValueRef err = field(w, f->call, offsetof(struct bpftime_vm_call, err), w->i32);
	LLVMValueRef bad = LLVMBuildICmp(w->b, LLVMIntNE, err, c32(w, 0), "");
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");

	LLVMBuildCondBr(w->b, bad, out, ok);
	LLVMPositionBuilderAtEnd(w->b, out);
	if (helper) {
		LLVMValueRef a[3] = {f->call, vm_ptr(w), c32(w, pc)};

		rt_call(w, VM_RT_HELPER_ERR, a, 3);
	}
	LLVMBuildBr(w->b, f->out);
	LLVMPositionBuilderAtEnd(w->b, ok);
}

/* ---- memory ---- */

/* [addr, addr + size) inside [base, base + len): (addr - base) <= len - size
 * with len >= size, in unsigned arithmetic, as vm-access.c. */
static LLVMValueRef in_range(struct irb *w, LLVMValueRef addr, uint32_t size, LLVMValueRef base,
			     LLVMValueRef len)
{
	LLVMValueRef fits = LLVMBuildICmp(w->b, LLVMIntUGE, len, c64(w, size), "");
	LLVMValueRef rel = LLVMBuildSub(w->b, addr, base, "");
	LLVMValueRef room = LLVMBuildSub(w->b, len, c64(w, size), "");

	return LLVMBuildAnd(w->b, fits, LLVMBuildICmp(w->b, LLVMIntULE, rel, room, ""), "");
}

/* The checked mode's test of one access: stack, then ctx, inline; the
 * runtime for the rest. Faults unless allowed. */
static void check_access(struct irb *w, struct fnb *f, uint32_t pc, LLVMValueRef addr,
			 uint32_t size, bool write)
{
	LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMValueRef fast = in_range(w, addr, size, f->stack_lo, f->stack_span);
	LLVMValueRef in_ctx = in_range(w, addr, size, f->ctx, f->ctx_len);
	LLVMValueRef a[4], allowed;

	if (write)
		in_ctx = LLVMBuildAnd(w->b, in_ctx, f->ctx_wr, "");
	fast = LLVMBuildOr(w->b, fast, in_ctx, "");
	LLVMBuildCondBr(w->b, fast, ok, slow);
	LLVMPositionBuilderAtEnd(w->b, slow);
	a[0] = f->call;
	a[1] = addr;
	a[2] = c64(w, size);
	a[3] = c8(w, write);
	allowed = rt_call(w, VM_RT_ACCESS, a, 4);
	allowed = LLVMBuildICmp(w->b, LLVMIntNE, allowed, c8(w, 0), "");
	fault_unless(w, f, allowed, pc, -EFAULT, addr, size, write);
	LLVMBuildBr(w->b, ok);
	LLVMPositionBuilderAtEnd(w->b, ok);
}

/* The pointer of an access to reg[@base] + @off of @size bytes, checked
 * first in the checked mode. @aligned: atomics fault when misaligned, in
 * both modes, as the interpreter's CHECK_ALIGNED. */
static LLVMValueRef mem_ptr(struct irb *w, struct fnb *f, uint32_t pc, unsigned base, int32_t off,
			    uint32_t size, bool write, bool aligned)
{
	bool own_frame = base == 10 && off >= -FRAME && (int64_t)off + size <= 0;
	LLVMValueRef addr;

	if (base == 10 && !w->checked) { /* fp-relative in the frame alloca */
		/* r10 is 16-byte aligned: an atomic's alignment is static */
		if (aligned && size > 1 && ((uint32_t)off & (size - 1))) {
			fault(w, f, pc, -EFAULT,
			      LLVMBuildAdd(w->b, f->fp, c64(w, (uint64_t)(int64_t)off), ""), size,
			      write);
			LLVMPositionBuilderAtEnd(w->b,
						 LLVMAppendBasicBlockInContext(w->ctx, f->fn, ""));
		}
		return gep8(w, f->frame, c64(w, (uint64_t)(int64_t)(FRAME + off)));
	}
	addr = LLVMBuildAdd(w->b, get(w, f, base), c64(w, (uint64_t)(int64_t)off), "");
	if (w->checked && !own_frame)
		check_access(w, f, pc, addr, size, write);
	if (aligned && size > 1) {
		LLVMValueRef low = LLVMBuildAnd(w->b, addr, c64(w, size - 1), "");

		fault_unless(w, f, LLVMBuildICmp(w->b, LLVMIntEQ, low, c64(w, 0), ""), pc, -EFAULT,
			     addr, size, write);
	}
	return LLVMBuildIntToPtr(w->b, addr, w->ptr, "");
}

static LLVMTypeRef int_ty(struct irb *w, uint32_t size)
{
	return size == 1 ? w->i8 : size == 2 ? w->i16 : size == 4 ? w->i32 : w->i64;
}

static void emit_load(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d,
		      uint32_t size, bool sext, bool acquire)
{
	LLVMValueRef p = mem_ptr(w, f, pc, d->src, d->off, size, false, acquire);
	LLVMValueRef v = LLVMBuildLoad2(w->b, int_ty(w, size), p, "");

	if (acquire) {
		LLVMSetOrdering(v, LLVMAtomicOrderingAcquire);
		LLVMSetAlignment(v, size);
	} else {
		LLVMSetAlignment(v, 1);
	}
	if (size < 8)
		v = sext ? LLVMBuildSExt(w->b, v, w->i64, "") : LLVMBuildZExt(w->b, v, w->i64, "");
	set(w, f, d->dst, v);
}

static void emit_store(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d,
		       uint32_t size, LLVMValueRef v, bool release)
{
	LLVMValueRef p = mem_ptr(w, f, pc, d->dst, d->off, size, true, release);
	LLVMValueRef st;

	if (size < 8)
		v = LLVMBuildTrunc(w->b, v, int_ty(w, size), "");
	st = LLVMBuildStore(w->b, v, p);
	if (release) {
		LLVMSetOrdering(st, LLVMAtomicOrderingRelease);
		LLVMSetAlignment(st, size);
	} else {
		LLVMSetAlignment(st, 1);
	}
}

/* ADD..XCHG of one width; FETCH forms put the old value in src. */
static void emit_atomic(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d,
			uint32_t size, LLVMAtomicRMWBinOp op, bool fetch)
{
	LLVMValueRef p = mem_ptr(w, f, pc, d->dst, d->off, size, true, true);
	LLVMValueRef v = get(w, f, d->src), old;

	if (size == 4)
		v = LLVMBuildTrunc(w->b, v, w->i32, "");
	old = LLVMBuildAtomicRMW(w->b, op, p, v, LLVMAtomicOrderingSequentiallyConsistent, 0);
	LLVMSetAlignment(old, size);
	if (!fetch)
		return;
	if (size == 4)
		old = LLVMBuildZExt(w->b, old, w->i64, "");
	set(w, f, d->src, old);
}

/* r0 = cmpxchg(dst + off, r0, src): r0 always gets the old value. */
static void emit_cmpxchg(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d,
			 uint32_t size)
{
	LLVMValueRef p = mem_ptr(w, f, pc, d->dst, d->off, size, true, true);
	LLVMValueRef exp = get(w, f, 0), nv = get(w, f, d->src), pair, old;

	if (size == 4) {
		exp = LLVMBuildTrunc(w->b, exp, w->i32, "");
		nv = LLVMBuildTrunc(w->b, nv, w->i32, "");
	}
	pair = LLVMBuildAtomicCmpXchg(w->b, p, exp, nv, LLVMAtomicOrderingSequentiallyConsistent,
				      LLVMAtomicOrderingSequentiallyConsistent, 0);
	LLVMSetAlignment(pair, size);
	old = LLVMBuildExtractValue(w->b, pair, 0, "");
	if (size == 4)
		old = LLVMBuildZExt(w->b, old, w->i64, "");
	set(w, f, 0, old);
}

/* ---- ALU ---- */

/* One operation of RFC 9669 on @ty operands, as vm-alu.h defines it. */
static LLVMValueRef alu(struct irb *w, unsigned op, LLVMTypeRef ty, LLVMValueRef d, LLVMValueRef s)
{
	unsigned bits = LLVMGetIntTypeWidth(ty);
	LLVMValueRef zero = LLVMConstInt(ty, 0, false), one = LLVMConstInt(ty, 1, false);
	LLVMValueRef m1 = LLVMConstAllOnes(ty), mask = LLVMConstInt(ty, bits - 1, false);
	LLVMValueRef s0 = LLVMBuildICmp(w->b, LLVMIntEQ, s, zero, "");
	LLVMValueRef sm1 = LLVMBuildICmp(w->b, LLVMIntEQ, s, m1, "");
	LLVMValueRef safe;

	switch (op) {
	case 0:
		return LLVMBuildAdd(w->b, d, s, "");
	case 1:
		return LLVMBuildSub(w->b, d, s, "");
	case 2:
		return LLVMBuildMul(w->b, d, s, "");
	case 3: /* div: s ? d / s : 0 */
		safe = LLVMBuildSelect(w->b, s0, one, s, "");
		return LLVMBuildSelect(w->b, s0, zero, LLVMBuildUDiv(w->b, d, safe, ""), "");
	case 4: /* sdiv: 0 -> 0; -1 -> -d (no INT_MIN / -1 trap) */
		safe = LLVMBuildSelect(w->b, LLVMBuildOr(w->b, s0, sm1, ""), one, s, "");
		return LLVMBuildSelect(w->b, s0, zero,
				       LLVMBuildSelect(w->b, sm1, LLVMBuildSub(w->b, zero, d, ""),
						       LLVMBuildSDiv(w->b, d, safe, ""), ""),
				       "");
	case 5: /* mod: s ? d % s : d */
		safe = LLVMBuildSelect(w->b, s0, one, s, "");
		return LLVMBuildSelect(w->b, s0, d, LLVMBuildURem(w->b, d, safe, ""), "");
	case 6: /* smod: 0 -> d; -1 -> 0 */
		safe = LLVMBuildSelect(w->b, LLVMBuildOr(w->b, s0, sm1, ""), one, s, "");
		return LLVMBuildSelect(
		    w->b, s0, d,
		    LLVMBuildSelect(w->b, sm1, zero, LLVMBuildSRem(w->b, d, safe, ""), ""), "");
	case 7:
		return LLVMBuildOr(w->b, d, s, "");
	case 8:
		return LLVMBuildAnd(w->b, d, s, "");
	case 9:
		return LLVMBuildXor(w->b, d, s, "");
	case 10:
		return LLVMBuildShl(w->b, d, LLVMBuildAnd(w->b, s, mask, ""), "");
	case 11:
		return LLVMBuildLShr(w->b, d, LLVMBuildAnd(w->b, s, mask, ""), "");
	case 12:
		return LLVMBuildAShr(w->b, d, LLVMBuildAnd(w->b, s, mask, ""), "");
	default:
		return s; /* mov */
	}
}

/* VM_ALU_OPS order: ADD SUB MUL DIV SDIV MOD SMOD OR AND XOR LSH RSH ARSH MOV */
#define ALU_STRIDE (VM_OP_ADD64X - VM_OP_ADD64K)

static bool emit_alu(struct irb *w, struct fnb *f, const struct vm_dec *d)
{
	unsigned rel = (unsigned)d->code - VM_OP_ADD64K, flavour, op;
	bool is64, x;
	LLVMTypeRef ty;
	LLVMValueRef dv, sv, r;

	if (d->code < VM_OP_ADD64K || rel >= 4 * ALU_STRIDE)
		return false;
	flavour = rel / ALU_STRIDE;
	op = rel % ALU_STRIDE;
	is64 = flavour < 2;
	x = flavour & 1;
	ty = is64 ? w->i64 : w->i32;
	dv = get(w, f, d->dst);
	sv = x ? get(w, f, d->src) : c64(w, d->imm);
	if (!is64) {
		dv = LLVMBuildTrunc(w->b, dv, w->i32, "");
		sv = LLVMBuildTrunc(w->b, sv, w->i32, "");
	}
	r = alu(w, op, ty, dv, sv);
	if (!is64)
		r = LLVMBuildZExt(w->b, r, w->i64, "");
	set(w, f, d->dst, r);
	return true;
}

static LLVMValueRef bswap(struct irb *w, LLVMValueRef v, unsigned bits)
{
	LLVMTypeRef ty = LLVMIntTypeInContext(w->ctx, bits);
	char name[32];
	unsigned id;
	LLVMValueRef fn;

	snprintf(name, sizeof(name), "llvm.bswap.i%u", bits);
	id = LLVMLookupIntrinsicID(name, strlen(name));
	fn = LLVMGetIntrinsicDeclaration(w->mod, id, &ty, 1);
	return LLVMBuildCall2(w->b, LLVMIntrinsicGetType(w->ctx, id, &ty, 1), fn, &v, 1, "");
}

/* Byte order and sign extension: truncate to @bits, maybe swap, extend. */
static void emit_unary(struct irb *w, struct fnb *f, const struct vm_dec *d, unsigned bits,
		       bool swap, bool sext_from_src, unsigned sext_to)
{
	LLVMTypeRef ty = LLVMIntTypeInContext(w->ctx, bits);
	LLVMValueRef v = get(w, f, sext_from_src ? d->src : d->dst);

	if (bits < 64)
		v = LLVMBuildTrunc(w->b, v, ty, "");
	if (swap && bits > 8)
		v = bswap(w, v, bits);
	if (sext_from_src) {
		v = LLVMBuildSExt(w->b, v, LLVMIntTypeInContext(w->ctx, sext_to), "");
		if (sext_to < 64)
			v = LLVMBuildZExt(w->b, v, w->i64, "");
	} else if (bits < 64) {
		v = LLVMBuildZExt(w->b, v, w->i64, "");
	}
	set(w, f, d->dst, v);
}

/* ---- jumps ---- */

#define JMP_STRIDE (VM_OP_JEQ64X - VM_OP_JEQ64K)

static bool emit_jcc(struct irb *w, struct fnb *f, uint32_t i, const struct vm_dec *d)
{
	/* VM_JMP_OPS order: JEQ JNE JGT JGE JLT JLE JSET JSGT JSGE JSLT JSLE */
	static const LLVMIntPredicate pred[] = {LLVMIntEQ,  LLVMIntNE,  LLVMIntUGT, LLVMIntUGE,
						LLVMIntULT, LLVMIntULE, LLVMIntNE,  LLVMIntSGT,
						LLVMIntSGE, LLVMIntSLT, LLVMIntSLE};
	unsigned rel = (unsigned)d->code - VM_OP_JEQ64K, flavour, op;
	LLVMValueRef a, b, cond;

	if (d->code < VM_OP_JEQ64K || rel >= 4 * JMP_STRIDE)
		return false;
	flavour = rel / JMP_STRIDE;
	op = rel % JMP_STRIDE;
	a = get(w, f, d->dst);
	b = flavour & 1 ? get(w, f, d->src) : c64(w, d->imm);
	if (flavour >= 2) {
		a = LLVMBuildTrunc(w->b, a, w->i32, "");
		b = LLVMBuildTrunc(w->b, b, w->i32, "");
	}
	if (op == 6) /* JSET */
		a = LLVMBuildAnd(w->b, a, b, ""), b = LLVMConstInt(LLVMTypeOf(a), 0, false);
	cond = LLVMBuildICmp(w->b, pred[op], a, b, "");
	LLVMBuildCondBr(w->b, cond, f->bb[(uint32_t)d->off - f->start], f->bb[i + 1 - f->start]);
	return true;
}

/* ---- calls ---- */

static LLVMValueRef call_fn(struct irb *w, struct fnb *f, uint32_t target, LLVMValueRef depth1,
			    LLVMValueRef r[5])
{
	LLVMValueRef a[6] = {f->call, r[0], r[1], r[2], r[3], r[4]};

	/* the callee's frame, which it reads at entry (vm-image.h) */
	LLVMBuildStore(w->b, LLVMBuildTrunc(w->b, depth1, w->i32, ""),
		       gep8(w, f->call, c64(w, offsetof(struct bpftime_vm_call, depth))));
	return LLVMBuildCall2(w->b, w->fn_ty, w->funcs[target], a, 6, "");
}

static LLVMValueRef depth_plus1(struct irb *w, struct fnb *f, uint32_t pc)
{
	LLVMValueRef d1 = LLVMBuildAdd(w->b, f->depth, c64(w, 1), "");

	/* as the interpreter: depth + 1 >= BPFTIME_VM_MAX_CALL_FRAMES -> -E2BIG */
	fault_unless(w, f,
		     LLVMBuildICmp(w->b, LLVMIntULT, d1, c64(w, BPFTIME_VM_MAX_CALL_FRAMES), ""),
		     pc, -E2BIG, c64(w, 0), 0, false);
	return d1;
}

static void args5(struct irb *w, struct fnb *f, LLVMValueRef r[5])
{
	for (int k = 0; k < 5; k++)
		r[k] = get(w, f, 1 + k);
}

static int emit_helper(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d)
{
	LLVMValueRef fn = slot(w, VM_SLOT_HELPER, (uint32_t)d->off, w->ptr), a[6], r0;

	if (!fn)
		return -ENOMEM;
	LLVMBuildStore(w->b, LLVMBuildTrunc(w->b, f->depth, w->i32, ""),
		       gep8(w, f->call, c64(w, offsetof(struct bpftime_vm_call, depth))));
	args5(w, f, a);
	a[5] = f->call;
	r0 = LLVMBuildCall2(w->b, w->helper_ty, fn, a, 6, "");
	set(w, f, 0, r0);
	check_err(w, f, pc, true);
	return 0;
}

/* Call the BPF function whose value (a BPF_PSEUDO_FUNC address) is @v:
 * a switch over the program's functions. Leaves r0 in *@r0 and the builder
 * after the call; @bad gets the builder when @v is none of them. */
static LLVMValueRef call_by_value(struct irb *w, struct fnb *f, uint32_t pc, LLVMValueRef v,
				  LLVMValueRef depth1, LLVMValueRef r[5], LLVMBasicBlockRef bad,
				  bool check_depth)
{
	LLVMValueRef a[2] = {vm_ptr(w), v};
	LLVMValueRef idx = rt_call(w, VM_RT_FUNC_INDEX, a, 2);
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMValueRef sw = LLVMBuildSwitch(w->b, idx, bad, 4);
	LLVMValueRef phi;
	LLVMValueRef *vals = calloc(w->vm->cnt, sizeof(*vals));
	LLVMBasicBlockRef *from = calloc(w->vm->cnt, sizeof(*from));
	unsigned n = 0;

	(void)pc;
	if (!vals || !from) {
		free(vals);
		free(from);
		return NULL;
	}
	for (uint32_t t = 0; t < w->vm->cnt; t++) {
		LLVMBasicBlockRef bb;

		if (!w->funcs[t])
			continue;
		bb = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
		LLVMAddCase(sw, c64(w, t), bb);
		LLVMPositionBuilderAtEnd(w->b, bb);
		if (check_depth) /* callx of a function: the frame limit, as a call's */
			depth_plus1(w, f, pc);
		vals[n] = call_fn(w, f, t, depth1, r);
		from[n++] = LLVMGetInsertBlock(w->b);
		LLVMBuildBr(w->b, join);
	}
	LLVMPositionBuilderAtEnd(w->b, join);
	phi = LLVMBuildPhi(w->b, w->i64, "");
	LLVMAddIncoming(phi, vals, from, n);
	free(vals);
	free(from);
	return phi;
}

static int emit_callx(struct irb *w, struct fnb *f, uint32_t pc, const struct vm_dec *d)
{
	LLVMBasicBlockRef helper = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMValueRef v = get(w, f, d->dst), r[5], r0f, r0h, phi, a[10];
	LLVMBasicBlockRef from[2];

	args5(w, f, r);
	/* the depth check comes first only for functions, as the interpreter */
	{
		LLVMValueRef d1 = LLVMBuildAdd(w->b, f->depth, c64(w, 1), "");

		r0f = call_by_value(w, f, pc, v, d1, r, helper, true);
		if (!r0f)
			return -ENOMEM;
	}
	from[0] = LLVMGetInsertBlock(w->b);
	LLVMBuildBr(w->b, join);
	LLVMPositionBuilderAtEnd(w->b, helper);
	a[0] = f->call;
	a[1] = vm_ptr(w);
	a[2] = f->depth;
	a[3] = c32(w, pc);
	a[4] = v;
	for (int k = 0; k < 5; k++)
		a[5 + k] = r[k];
	r0h = rt_call(w, VM_RT_CALLX, a, 10);
	from[1] = LLVMGetInsertBlock(w->b);
	LLVMBuildBr(w->b, join);
	LLVMPositionBuilderAtEnd(w->b, join);
	phi = LLVMBuildPhi(w->b, w->i64, "");
	{
		LLVMValueRef vals[2] = {r0f, r0h};

		LLVMAddIncoming(phi, vals, from, 2);
	}
	set(w, f, 0, phi);
	check_err(w, f, pc, false);
	return 0;
}

/* The function a BPF_PSEUDO_FUNC ld_imm64 in the same block put in @reg
 * before @pc, or -1 when not known statically. */
static int64_t const_func(struct irb *w, struct fnb *f, uint32_t pc, unsigned reg)
{
	for (uint32_t i = pc; i-- > f->start;) {
		const struct vm_dec *d = &w->vm->dec[i];

		if (d->code == VM_OP_INVALID) /* second half of an ld_imm64 */
			continue;
		if (d->code == VM_OP_LDDW && d->dst == reg) {
			if (w->vm->insns[i].src_reg == BPF_PSEUDO_FUNC)
				return d->off;
			return -1;
		}
		/* anything else that may write @reg, or a block boundary */
		if (d->dst == reg || d->code == VM_OP_CALL_HELPER || d->code == VM_OP_CALL_LOCAL ||
		    d->code == VM_OP_CALLX || d->code == VM_OP_LOOP || d->code == VM_OP_TAIL_CALL ||
		    (d->code >= VM_OP_AADD32 && d->code <= VM_OP_ACMPXCHG64) || w->leader[i])
			return -1;
	}
	return -1;
}

/* bpf_loop(nr, fn, ctx, flags), inline, with vm-interp-body.h's results. */
static int emit_loop(struct irb *w, struct fnb *f, uint32_t pc)
{
	LLVMValueRef nr = get(w, f, 1), fnv = get(w, f, 2), cbctx = get(w, f, 3);
	LLVMValueRef flags = get(w, f, 4), r5 = get(w, f, 5);
	LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef chk2 = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef chk3 = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef bad, entry;
	LLVMValueRef res = entry_alloca(w, f, w->i64);
	LLVMValueRef iv, inext, d1, r[5], r0, stop;
	int64_t target = const_func(w, f, pc, 2);

	LLVMBuildStore(w->b, c64(w, (uint64_t)-EINVAL), res);
	LLVMBuildCondBr(w->b, LLVMBuildICmp(w->b, LLVMIntNE, flags, c64(w, 0), ""), done, chk2);
	LLVMPositionBuilderAtEnd(w->b, chk2);
	LLVMBuildStore(w->b, c64(w, (uint64_t)-E2BIG), res);
	LLVMBuildCondBr(w->b, LLVMBuildICmp(w->b, LLVMIntUGT, nr, c64(w, 1ull << 23), ""), done,
			chk3);
	LLVMPositionBuilderAtEnd(w->b, chk3);
	LLVMBuildStore(w->b, c64(w, 0), res);
	LLVMBuildCondBr(w->b, LLVMBuildICmp(w->b, LLVMIntEQ, nr, c64(w, 0), ""), done, start);

	/* start: the callback must be a function of the program, and there
	 * must be a frame for it */
	LLVMPositionBuilderAtEnd(w->b, start);
	if (target < 0) {
		LLVMValueRef a[2] = {vm_ptr(w), fnv};
		LLVMValueRef idx = rt_call(w, VM_RT_FUNC_INDEX, a, 2);

		fault_unless(w, f, LLVMBuildICmp(w->b, LLVMIntSGE, idx, c64(w, 0), ""), pc, -EINVAL,
			     fnv, 0, false);
	}
	d1 = depth_plus1(w, f, pc);
	entry = LLVMGetInsertBlock(w->b);
	LLVMBuildBr(w->b, body);

	LLVMPositionBuilderAtEnd(w->b, body);
	iv = LLVMBuildPhi(w->b, w->i64, "");
	r[0] = iv;
	r[1] = cbctx;
	r[2] = cbctx;
	r[3] = c64(w, 0);
	r[4] = r5;
	if (target >= 0) {
		r0 = call_fn(w, f, (uint32_t)target, d1, r);
	} else {
		bad = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
		r0 = call_by_value(w, f, pc, fnv, d1, r, bad, false);
		if (!r0)
			return -ENOMEM;
		{
			LLVMBasicBlockRef cur = LLVMGetInsertBlock(w->b);

			LLVMPositionBuilderAtEnd(w->b, bad);
			LLVMBuildUnreachable(w->b); /* func_index said it is a function */
			LLVMPositionBuilderAtEnd(w->b, cur);
		}
	}
	if (target < 0 || w->may_fail[target])
		check_err(w, f, pc, false);
	inext = LLVMBuildAdd(w->b, iv, c64(w, 1), "");
	LLVMBuildStore(w->b, inext, res);
	/* 0: continue, 1 (anything else): stop; returns iterations run */
	stop = LLVMBuildOr(w->b, LLVMBuildICmp(w->b, LLVMIntNE, r0, c64(w, 0), ""),
			   LLVMBuildICmp(w->b, LLVMIntEQ, inext, nr, ""), "");
	LLVMBuildCondBr(w->b, stop, done, next);
	LLVMPositionBuilderAtEnd(w->b, next);
	LLVMBuildBr(w->b, body);
	{
		LLVMValueRef vals[2] = {c64(w, 0), inext};
		LLVMBasicBlockRef from[2] = {entry, next};

		LLVMAddIncoming(iv, vals, from, 2);
	}
	LLVMPositionBuilderAtEnd(w->b, done);
	set(w, f, 0, LLVMBuildLoad2(w->b, w->i64, res, ""));
	return 0;
}

/* bpf_tail_call: when the target ran, its r0 is this function's. */
static void emit_tail_call(struct irb *w, struct fnb *f, uint32_t pc)
{
	LLVMValueRef r0 = entry_alloca(w, f, w->i64);
	LLVMValueRef a[7] = {f->call,      vm_ptr(w),    f->depth, get(w, f, 1),
			     get(w, f, 2), get(w, f, 3), r0};
	LLVMValueRef ran = rt_call(w, VM_RT_TAIL_CALL, a, 7);
	LLVMBasicBlockRef ret = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");
	LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(w->ctx, f->fn, "");

	LLVMBuildCondBr(w->b, LLVMBuildICmp(w->b, LLVMIntNE, ran, c32(w, 0), ""), ret, cont);
	LLVMPositionBuilderAtEnd(w->b, ret);
	check_err(w, f, pc, false);
	LLVMBuildRet(w->b, LLVMBuildLoad2(w->b, w->i64, r0, ""));
	LLVMPositionBuilderAtEnd(w->b, cont);
}

/* ---- one instruction ---- */

static int emit_insn(struct irb *w, struct fnb *f, uint32_t i)
{
	const struct vm_dec *d = &w->vm->dec[i];

	if (emit_alu(w, f, d) || emit_jcc(w, f, i, d))
		return 0;
	switch (d->code) {
	case VM_OP_NEG64:
		set(w, f, d->dst, LLVMBuildNeg(w->b, get(w, f, d->dst), ""));
		return 0;
	case VM_OP_NEG32:
		set(w, f, d->dst,
		    LLVMBuildZExt(
			w->b,
			LLVMBuildNeg(w->b, LLVMBuildTrunc(w->b, get(w, f, d->dst), w->i32, ""), ""),
			w->i64, ""));
		return 0;
	case VM_OP_MOVSX8_64:
		emit_unary(w, f, d, 8, false, true, 64);
		return 0;
	case VM_OP_MOVSX16_64:
		emit_unary(w, f, d, 16, false, true, 64);
		return 0;
	case VM_OP_MOVSX32_64:
		emit_unary(w, f, d, 32, false, true, 64);
		return 0;
	case VM_OP_MOVSX8_32:
		emit_unary(w, f, d, 8, false, true, 32);
		return 0;
	case VM_OP_MOVSX16_32:
		emit_unary(w, f, d, 16, false, true, 32);
		return 0;
	case VM_OP_LE16:
		emit_unary(w, f, d, 16, false, false, 0);
		return 0;
	case VM_OP_LE32:
		emit_unary(w, f, d, 32, false, false, 0);
		return 0;
	case VM_OP_LE64:
		return 0;
	case VM_OP_BE16:
	case VM_OP_BSWAP16:
		emit_unary(w, f, d, 16, true, false, 0);
		return 0;
	case VM_OP_BE32:
	case VM_OP_BSWAP32:
		emit_unary(w, f, d, 32, true, false, 0);
		return 0;
	case VM_OP_BE64:
	case VM_OP_BSWAP64:
		emit_unary(w, f, d, 64, true, false, 0);
		return 0;
	case VM_OP_LDDW: {
		LLVMValueRef v = (d->flags & VM_DEC_PER_PROCESS)
				     ? slot(w, VM_SLOT_LDIMM64, i, w->i64)
				     : c64(w, d->imm);
		if (!v)
			return -ENOMEM;
		set(w, f, d->dst, v);
		return 0;
	}
	case VM_OP_INVALID:
		return 0; /* second half of an ld_imm64 */
	case VM_OP_LDXB:
		emit_load(w, f, i, d, 1, false, false);
		return 0;
	case VM_OP_LDXH:
		emit_load(w, f, i, d, 2, false, false);
		return 0;
	case VM_OP_LDXW:
		emit_load(w, f, i, d, 4, false, false);
		return 0;
	case VM_OP_LDXDW:
		emit_load(w, f, i, d, 8, false, false);
		return 0;
	case VM_OP_LDXSB:
		emit_load(w, f, i, d, 1, true, false);
		return 0;
	case VM_OP_LDXSH:
		emit_load(w, f, i, d, 2, true, false);
		return 0;
	case VM_OP_LDXSW:
		emit_load(w, f, i, d, 4, true, false);
		return 0;
	case VM_OP_LDACQB:
		emit_load(w, f, i, d, 1, false, true);
		return 0;
	case VM_OP_LDACQH:
		emit_load(w, f, i, d, 2, false, true);
		return 0;
	case VM_OP_LDACQW:
		emit_load(w, f, i, d, 4, false, true);
		return 0;
	case VM_OP_LDACQDW:
		emit_load(w, f, i, d, 8, false, true);
		return 0;
	case VM_OP_STB:
		emit_store(w, f, i, d, 1, c64(w, d->imm), false);
		return 0;
	case VM_OP_STH:
		emit_store(w, f, i, d, 2, c64(w, d->imm), false);
		return 0;
	case VM_OP_STW:
		emit_store(w, f, i, d, 4, c64(w, d->imm), false);
		return 0;
	case VM_OP_STDW:
		emit_store(w, f, i, d, 8, c64(w, d->imm), false);
		return 0;
	case VM_OP_STXB:
		emit_store(w, f, i, d, 1, get(w, f, d->src), false);
		return 0;
	case VM_OP_STXH:
		emit_store(w, f, i, d, 2, get(w, f, d->src), false);
		return 0;
	case VM_OP_STXW:
		emit_store(w, f, i, d, 4, get(w, f, d->src), false);
		return 0;
	case VM_OP_STXDW:
		emit_store(w, f, i, d, 8, get(w, f, d->src), false);
		return 0;
	case VM_OP_STRELB:
		emit_store(w, f, i, d, 1, get(w, f, d->src), true);
		return 0;
	case VM_OP_STRELH:
		emit_store(w, f, i, d, 2, get(w, f, d->src), true);
		return 0;
	case VM_OP_STRELW:
		emit_store(w, f, i, d, 4, get(w, f, d->src), true);
		return 0;
	case VM_OP_STRELDW:
		emit_store(w, f, i, d, 8, get(w, f, d->src), true);
		return 0;
#define ATOMICS(W, SZ)                                                                             \
	case VM_OP_AADD##W:                                                                        \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpAdd, false);                         \
		return 0;                                                                          \
	case VM_OP_AOR##W:                                                                         \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpOr, false);                          \
		return 0;                                                                          \
	case VM_OP_AAND##W:                                                                        \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpAnd, false);                         \
		return 0;                                                                          \
	case VM_OP_AXOR##W:                                                                        \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpXor, false);                         \
		return 0;                                                                          \
	case VM_OP_AFADD##W:                                                                       \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpAdd, true);                          \
		return 0;                                                                          \
	case VM_OP_AFOR##W:                                                                        \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpOr, true);                           \
		return 0;                                                                          \
	case VM_OP_AFAND##W:                                                                       \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpAnd, true);                          \
		return 0;                                                                          \
	case VM_OP_AFXOR##W:                                                                       \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpXor, true);                          \
		return 0;                                                                          \
	case VM_OP_AXCHG##W:                                                                       \
		emit_atomic(w, f, i, d, SZ, LLVMAtomicRMWBinOpXchg, true);                         \
		return 0;                                                                          \
	case VM_OP_ACMPXCHG##W:                                                                    \
		emit_cmpxchg(w, f, i, d, SZ);                                                      \
		return 0;
		ATOMICS(32, 4)
		ATOMICS(64, 8)
#undef ATOMICS
	case VM_OP_JA:
		LLVMBuildBr(w->b, f->bb[(uint32_t)d->off - f->start]);
		return 0;
	case VM_OP_CALL_HELPER:
		return emit_helper(w, f, i, d);
	case VM_OP_CALL_LOCAL: {
		LLVMValueRef r[5], d1 = depth_plus1(w, f, i);

		args5(w, f, r);
		set(w, f, 0, call_fn(w, f, (uint32_t)d->off, d1, r));
		if (w->may_fail[d->off])
			check_err(w, f, i, false);
		return 0;
	}
	case VM_OP_CALLX:
		return emit_callx(w, f, i, d);
	case VM_OP_LOOP:
		return emit_loop(w, f, i);
	case VM_OP_TAIL_CALL:
		emit_tail_call(w, f, i);
		return 0;
	case VM_OP_EXIT:
		LLVMBuildRet(w->b, get(w, f, 0));
		return 0;
	default:
		return jit_error(w->e, -EOPNOTSUPP, "insn %u: opcode %u not handled by the JIT", i,
				 d->code);
	}
}

/* Whether control can continue from insn @i to @i + 1. */
static bool falls_through(uint8_t code)
{
	return code != VM_OP_JA && code != VM_OP_EXIT;
}

static bool is_cond_jump(uint8_t code)
{
	return code >= VM_OP_JEQ64K && code < VM_OP_JEQ64K + 4 * JMP_STRIDE;
}

/* Whether the decoded op can fault or leave call->err set: memory
 * accesses when checked (and atomics always: alignment), anything that
 * calls. */
static bool op_may_fail(const struct irb *w, uint8_t c)
{
	bool mem = (c >= VM_OP_LDXB && c <= VM_OP_STXDW);
	bool atomic = (c >= VM_OP_AADD32 && c <= VM_OP_STRELDW);

	return (w->checked && mem) || atomic || c == VM_OP_CALL_HELPER || c == VM_OP_CALL_LOCAL ||
	       c == VM_OP_CALLX || c == VM_OP_LOOP || c == VM_OP_TAIL_CALL;
}

static void find_may_fail(struct irb *w)
{
	uint32_t start = 0;

	for (uint32_t i = 0; i < w->vm->cnt; i++) {
		if (w->vm->is_func[i])
			start = i;
		if (w->counted || op_may_fail(w, w->vm->dec[i].code))
			w->may_fail[start] = 1;
	}
}

/* Block leaders: function starts, jump targets, and what follows a jump. */
static void find_leaders(struct irb *w)
{
	const struct bpftime_vm *vm = w->vm;

	for (uint32_t i = 0; i < vm->cnt; i++) {
		uint8_t c = vm->dec[i].code;

		if (vm->is_func[i])
			w->leader[i] = 1;
		if (is_cond_jump(c) || c == VM_OP_JA) {
			w->leader[vm->dec[i].off] = 1;
			if (i + 1 < vm->cnt)
				w->leader[i + 1] = 1;
		}
		if (c == VM_OP_EXIT && i + 1 < vm->cnt)
			w->leader[i + 1] = 1;
	}
}

/* Counted mode: take the block's instructions from call->insn_left before
 * running it; -ELOOP when they are not there (whole blocks: the count can
 * stop a block early by up to its length, never run past the limit). */
static void count_block(struct irb *w, struct fnb *f, uint32_t start, uint32_t len)
{
	LLVMValueRef p = gep8(w, f->call, c64(w, offsetof(struct bpftime_vm_call, insn_left)));
	LLVMValueRef left = LLVMBuildLoad2(w->b, w->i64, p, "");

	fault_unless(w, f, LLVMBuildICmp(w->b, LLVMIntUGT, left, c64(w, len), ""), start, -ELOOP,
		     c64(w, 0), 0, false);
	LLVMBuildStore(w->b, LLVMBuildSub(w->b, left, c64(w, len), ""), p);
}

/* Instructions of the block at @i as the interpreter counts them: an
 * ld_imm64 is one (its second half is never dispatched). */
static uint32_t block_len(struct irb *w, struct fnb *f, uint32_t i)
{
	uint32_t n = 1;

	for (uint32_t k = i + 1; k < f->end && !w->leader[k]; k++)
		n += w->vm->dec[k].code != VM_OP_INVALID;
	return n;
}

static void load_run_consts(struct irb *w, struct fnb *f)
{
	LLVMValueRef hi, run, flags;

	f->stack_lo = field(w, f->call, offsetof(struct bpftime_vm_call, stack_lo), w->i64);
	hi = field(w, f->call, offsetof(struct bpftime_vm_call, stack_hi), w->i64);
	f->stack_span = LLVMBuildSub(w->b, hi, f->stack_lo, "");
	f->fp = LLVMBuildSub(w->b, hi, LLVMBuildMul(w->b, f->depth, c64(w, FRAME), ""), "");
	run = field(w, f->call, offsetof(struct bpftime_vm_call, run), w->ptr);
	f->ctx = field(w, run, offsetof(struct bpftime_vm_run, ctx), w->i64);
	f->ctx_len = field(w, run, offsetof(struct bpftime_vm_run, ctx_len), w->i64);
	flags = field(w, run, offsetof(struct bpftime_vm_run, flags), w->i32);
	f->ctx_wr = LLVMBuildICmp(w->b, LLVMIntEQ,
				  LLVMBuildAnd(w->b, flags, c32(w, BPFTIME_VM_RUN_CTX_RDONLY), ""),
				  c32(w, 0), "");
}

static void prologue(struct irb *w, struct fnb *f)
{
	f->depth = LLVMBuildZExt(
	    w->b, field(w, f->call, offsetof(struct bpftime_vm_call, depth), w->i32), w->i64, "");
	for (int r = 0; r < 10; r++)
		f->reg[r] = LLVMBuildAlloca(w->b, w->i64, "");
	if (w->checked) {
		load_run_consts(w, f);
	} else {
		LLVMTypeRef arr = LLVMArrayType2(w->i8, FRAME);

		f->frame = LLVMBuildAlloca(w->b, arr, "stack");
		LLVMSetAlignment(f->frame, 16);
		f->fp = LLVMBuildPtrToInt(w->b, gep8(w, f->frame, c64(w, FRAME)), w->i64, "");
		if (w->vm->opts.zero_stack)
			for (int k = 0; k < FRAME / 8; k++)
				LLVMSetAlignment(LLVMBuildStore(w->b, c64(w, 0),
								gep8(w, f->frame, c64(w, 8 * k))),
						 8);
	}
	set(w, f, 0, c64(w, 0));
	for (int k = 0; k < 5; k++)
		set(w, f, 1 + k, LLVMGetParam(f->fn, 1 + k));
	for (int r = 6; r < 10; r++)
		set(w, f, r, c64(w, 0));
}

static int build_function(struct irb *w, uint32_t start, uint32_t end)
{
	struct fnb f = {.fn = w->funcs[start], .start = start, .end = end};
	LLVMBasicBlockRef entry;
	int err = 0;

	f.bb = calloc(end - start + 1, sizeof(*f.bb));
	if (!f.bb)
		return -ENOMEM;
	f.call = LLVMGetParam(f.fn, 0);
	entry = LLVMAppendBasicBlockInContext(w->ctx, f.fn, "entry");
	f.entry = entry;
	for (uint32_t i = start; i < end; i++)
		if (w->leader[i])
			f.bb[i - start] = LLVMAppendBasicBlockInContext(w->ctx, f.fn, "");
	f.out = LLVMAppendBasicBlockInContext(w->ctx, f.fn, "fault");
	LLVMPositionBuilderAtEnd(w->b, f.out);
	LLVMBuildRet(w->b, c64(w, 0));
	LLVMPositionBuilderAtEnd(w->b, entry);
	prologue(w, &f);
	for (uint32_t i = start; i < end && !err; i++) {
		if (w->leader[i]) {
			/* fall into the block, unless the last insn left already */
			if (!LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(w->b)))
				LLVMBuildBr(w->b, f.bb[i - start]);
			LLVMPositionBuilderAtEnd(w->b, f.bb[i - start]);
			if (w->counted)
				count_block(w, &f, i, block_len(w, &f, i));
		}
		err = emit_insn(w, &f, i);
		if (!err && !falls_through(w->vm->dec[i].code) && i + 1 < end &&
		    !w->leader[i + 1]) {
			/* dead code after ja/exit without a label: park it */
			LLVMPositionBuilderAtEnd(w->b,
						 LLVMAppendBasicBlockInContext(w->ctx, f.fn, ""));
		}
	}
	/* the load checks guarantee the last insn leaves; unreachable tails */
	if (!err && !LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(w->b)))
		LLVMBuildUnreachable(w->b);
	free(f.bb);
	return err;
}

static void declare_types(struct irb *w)
{
	LLVMTypeRef p[10];

	w->i1 = LLVMInt1TypeInContext(w->ctx);
	w->i8 = LLVMInt8TypeInContext(w->ctx);
	w->i16 = LLVMInt16TypeInContext(w->ctx);
	w->i32 = LLVMInt32TypeInContext(w->ctx);
	w->i64 = LLVMInt64TypeInContext(w->ctx);
	w->ptr = LLVMPointerTypeInContext(w->ctx, 0);
	w->vd = LLVMVoidTypeInContext(w->ctx);
	p[0] = w->ptr;
	for (int k = 1; k < 6; k++)
		p[k] = w->i64;
	w->fn_ty = LLVMFunctionType(w->i64, p, 6, 0);
	for (int k = 0; k < 5; k++)
		p[k] = w->i64;
	p[5] = w->ptr;
	w->helper_ty = LLVMFunctionType(w->i64, p, 6, 0);
	/* the runtime entries, as vm-native.c defines them */
	w->rt_ty[VM_RT_ACCESS] =
	    LLVMFunctionType(w->i8, (LLVMTypeRef[]){w->ptr, w->i64, w->i64, w->i8}, 4, 0);
	w->rt_ty[VM_RT_FAULT] = LLVMFunctionType(
	    w->vd, (LLVMTypeRef[]){w->ptr, w->ptr, w->i32, w->i32, w->i64, w->i32, w->i8}, 7, 0);
	w->rt_ty[VM_RT_HELPER_ERR] =
	    LLVMFunctionType(w->vd, (LLVMTypeRef[]){w->ptr, w->ptr, w->i32}, 3, 0);
	w->rt_ty[VM_RT_TAIL_CALL] = LLVMFunctionType(
	    w->i32, (LLVMTypeRef[]){w->ptr, w->ptr, w->i64, w->i64, w->i64, w->i64, w->ptr}, 7, 0);
	w->rt_ty[VM_RT_FUNC_INDEX] =
	    LLVMFunctionType(w->i64, (LLVMTypeRef[]){w->ptr, w->i64}, 2, 0);
	w->rt_ty[VM_RT_CALLX] =
	    LLVMFunctionType(w->i64,
			     (LLVMTypeRef[]){w->ptr, w->ptr, w->i64, w->i32, w->i64, w->i64, w->i64,
					     w->i64, w->i64, w->i64},
			     10, 0);
}

static void add_fn_attrs(struct irb *w, LLVMValueRef fn)
{
	static const char *const enum_attrs[] = {"nounwind"};
	/* no-builtins: no memset/memcpy calls conjured from loops; the image
	 * cannot call libc. No frame pointer: the agent's stacks are ours. */
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(w->ctx, "no-builtins", 11, "", 0));
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
				LLVMCreateStringAttribute(w->ctx, "frame-pointer", 13, "none", 4));
	for (size_t k = 0; k < sizeof(enum_attrs) / sizeof(*enum_attrs); k++) {
		unsigned id = LLVMGetEnumAttributeKindForName(enum_attrs[k], strlen(enum_attrs[k]));

		LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
					LLVMCreateEnumAttribute(w->ctx, id, 0));
	}
}

static void declare_funcs(struct irb *w)
{
	for (uint32_t i = 0; i < w->vm->cnt; i++) {
		char name[32];

		if (!w->vm->is_func[i])
			continue;
		snprintf(name, sizeof(name), JIT_FUNC_PREFIX "%u", i);
		w->funcs[i] = LLVMAddFunction(w->mod, name, w->fn_ty);
		LLVMSetVisibility(w->funcs[i], LLVMHiddenVisibility);
		add_fn_attrs(w, w->funcs[i]);
	}
}

/*
 * The entry (vm-image.h): int entry(vm, run). It builds the call state in
 * its own frame and calls function 0 with run's ctx, which the inliner
 * usually merges into it: then a program that never passes the call state
 * on (no helper, tail call or callx) keeps none of its stores, and a run
 * costs what the program does plus one call. Fast mode has no stack area
 * (frames are allocas; a tail call into the interpreter gets one,
 * vm-native.c); checked mode keeps the area, uncleared, in the entry's
 * frame (used only where the vm keeps its stack, vm-native.c), and has
 * no instruction limit (a counting image has no entry).
 */
static void build_entry(struct irb *w)
{
	LLVMTypeRef ty = LLVMFunctionType(w->i32, (LLVMTypeRef[]){w->ptr, w->ptr}, 2, 0);
	LLVMValueRef fn = LLVMAddFunction(w->mod, JIT_ENTRY_NAME, ty);
	LLVMValueRef vm, run, call, a[6], r0, lo = c64(w, 0), hi = c64(w, 0);
	const struct {
		size_t off;
		LLVMValueRef v;
	} init[] = {
	    {offsetof(struct bpftime_vm_call, insn_left), c64(w, UINT64_MAX)},
	    {offsetof(struct bpftime_vm_call, tail_calls), c32(w, 0)},
	    {offsetof(struct bpftime_vm_call, checked), LLVMConstInt(w->i8, w->checked, 0)},
	    {offsetof(struct bpftime_vm_call, depth), c32(w, 0)},
	    {offsetof(struct bpftime_vm_call, err), c32(w, 0)},
	};

	LLVMSetVisibility(fn, LLVMHiddenVisibility);
	add_fn_attrs(w, fn);
	LLVMPositionBuilderAtEnd(w->b, LLVMAppendBasicBlockInContext(w->ctx, fn, "entry"));
	vm = LLVMGetParam(fn, 0);
	run = LLVMGetParam(fn, 1);
	call = LLVMBuildAlloca(w->b, LLVMArrayType2(w->i8, sizeof(struct bpftime_vm_call)), "call");
	LLVMSetAlignment(call, 16);
	if (w->checked) {
		LLVMValueRef area =
		    LLVMBuildAlloca(w->b, LLVMArrayType2(w->i8, VM_STACK_TOTAL), "stack");

		LLVMSetAlignment(area, 16);
		lo = LLVMBuildPtrToInt(w->b, area, w->i64, "");
		hi = LLVMBuildAdd(w->b, lo, c64(w, VM_STACK_TOTAL), "");
	}
	LLVMBuildStore(w->b, vm, gep8(w, call, c64(w, offsetof(struct bpftime_vm_call, vm))));
	LLVMBuildStore(w->b, vm, gep8(w, call, c64(w, offsetof(struct bpftime_vm_call, cur))));
	LLVMBuildStore(w->b, run, gep8(w, call, c64(w, offsetof(struct bpftime_vm_call, run))));
	LLVMBuildStore(w->b, lo, gep8(w, call, c64(w, offsetof(struct bpftime_vm_call, stack_lo))));
	LLVMBuildStore(w->b, hi, gep8(w, call, c64(w, offsetof(struct bpftime_vm_call, stack_hi))));
	for (size_t k = 0; k < sizeof(init) / sizeof(*init); k++)
		LLVMBuildStore(w->b, init[k].v, gep8(w, call, c64(w, init[k].off)));
	a[0] = call;
	a[1] = field(w, run, offsetof(struct bpftime_vm_run, ctx), w->i64);
	a[2] = field(w, run, offsetof(struct bpftime_vm_run, ctx_len), w->i64);
	a[3] = a[4] = a[5] = c64(w, 0);
	r0 = LLVMBuildCall2(w->b, w->fn_ty, w->funcs[0], a, 6, "");
	LLVMBuildStore(w->b, r0, gep8(w, run, c64(w, offsetof(struct bpftime_vm_run, r0))));
	LLVMBuildRet(w->b, field(w, call, offsetof(struct bpftime_vm_call, err), w->i32));
}

int jit_build_ir(const struct bpftime_vm *vm, LLVMContextRef ctx, LLVMModuleRef mod,
		 struct jit_slots *slots, struct jit_err *e)
{
	struct irb w = {
	    .vm = vm,
	    .checked = vm->opts.bounds_check,
	    .ctx = ctx,
	    .mod = mod,
	    .slots = slots,
	    .e = e,
	};
	uint32_t start = 0;
	int err = 0;

	w.counted = w.checked && vm->opts.insn_limit != 0;
	w.funcs = calloc(vm->cnt, sizeof(*w.funcs));
	w.leader = calloc(vm->cnt + 1, 1);
	w.may_fail = calloc(vm->cnt, 1);
	w.b = LLVMCreateBuilderInContext(ctx);
	if (!w.funcs || !w.leader || !w.may_fail) {
		err = jit_error(e, -ENOMEM, "out of memory");
		goto out;
	}
	declare_types(&w);
	declare_funcs(&w);
	find_leaders(&w);
	find_may_fail(&w);
	for (uint32_t i = 1; i <= vm->cnt && !err; i++) {
		if (i < vm->cnt && !vm->is_func[i])
			continue;
		err = build_function(&w, start, i);
		start = i;
	}
	if (!err && !w.counted)
		build_entry(&w);
out:
	LLVMDisposeBuilder(w.b);
	free(w.funcs);
	free(w.leader);
	free(w.may_fail);
	return err;
}
