/* SPDX-License-Identifier: MIT */
/*
 * The interpreter loop, included twice by vm-interp.c: once with
 * VM_CHECKED 0 (fast: memory accesses go straight to the host) and once
 * with VM_CHECKED 1 (every load and store is checked by access_ok, and the
 * instruction limit is counted). VM_INTERP_FN names the function.
 *
 * Dispatch is threaded: each handler ends with its own indirect jump through
 * the label table (GCC/Clang "labels as values"), which predicts far better
 * than one shared switch.
 *
 * Semantics are RFC 9669's: ALU32 results are zero-extended; shift amounts
 * are masked to the operand width; unsigned division by zero gives 0 and
 * modulo by zero leaves dst unchanged; signed division of INT_MIN by -1 gives
 * INT_MIN and the matching modulo gives 0 (all computed without C undefined
 * behaviour, see vm-alu.h).
 */

static int VM_INTERP_FN(struct bpftime_vm_call *call, uint32_t entry, unsigned depth0,
			const uint64_t args[5], uint64_t *r0)
{
#define VM_LABEL(name) [VM_OP_##name] = &&L_##name,
	static const void *const labels[VM_OP__COUNT] = {VM_OPS(VM_LABEL)};
#undef VM_LABEL
	struct vm_frame {
		const struct vm_op *ret;
		const struct bpftime_vm *prog;
		uint64_t saved[4]; /* r6..r9 */
		/* an inlined bpf_loop whose callback runs in the next frame */
		const struct vm_op *loop_ret, *loop_fn;
		uint64_t loop_i, loop_nr, loop_ctx;
	} frames[BPFTIME_VM_MAX_CALL_FRAMES];
	/* where a bpf_loop callback returns to: L_LOOP_NEXT */
	static const struct vm_op loop_next = {.h = &&L_LOOP_NEXT};
	const struct bpftime_vm *prog;
	const struct vm_op *ops;
	const struct vm_op *op;
	unsigned depth = depth0;
	uint64_t reg[11];
	uint64_t fault_addr = 0;
	uint32_t fault_size = 0;
	bool fault_write = false;
	int err;
#if VM_CHECKED
	/* call->insn_left, kept in a register: counting through memory made
	 * every instruction wait for the last one's store (~1.5 ns each).
	 * Written back before anything that reads it (helpers, whose
	 * callbacks run on the same count; the exit; a fault) and read again
	 * after a helper. */
	uint64_t left;
#endif

	/* bpftime_vm_interp_labels(): the emitter needs our handler addresses */
	if (__builtin_expect(call == NULL, 0)) {
		*r0 = (uint64_t)(uintptr_t)labels;
		return 0;
	}
	prog = call->cur;
#if VM_CHECKED
	left = call->insn_left;
#endif
	ops = prog->ops[VM_MODE];
	op = ops + entry;
	reg[0] = 0;
	/* One 8-byte load per argument: callers store them one by one, and a
	 * vectorised copy could not be forwarded from those stores (a stall
	 * that cost ~4 ns per bpf_loop iteration). */
	for (int i = 0; i < 5; i++)
		reg[1 + i] = ((const volatile uint64_t *)args)[i];
	reg[6] = reg[7] = reg[8] = reg[9] = 0;
	reg[10] = call->stack_hi - (uint64_t)depth * BPFTIME_VM_STACK_SIZE;

#define DST    reg[op->dst]
#define SRC    reg[op->src]
#define IMM    ((uint64_t)(int64_t)op->imm)
#define ADDR_D (DST + (uint64_t)(int64_t)op->off)
#define ADDR_S (SRC + (uint64_t)(int64_t)op->off)

#if VM_CHECKED
#define COUNT()                                                                                    \
	do {                                                                                       \
		if (__builtin_expect(--left == 0, 0)) {                                            \
			err = -ELOOP;                                                              \
			goto fault;                                                                \
		}                                                                                  \
	} while (0)
#define CHECK(addr, size, wr)                                                                      \
	do {                                                                                       \
		if (!access_ok_inline(call, addr, size, wr)) {                                     \
			fault_addr = addr;                                                         \
			fault_size = size;                                                         \
			fault_write = wr;                                                          \
			err = -EFAULT;                                                             \
			goto fault;                                                                \
		}                                                                                  \
	} while (0)
#define SYNC_OUT() (call->insn_left = left)
#define SYNC_IN()  (left = call->insn_left)
#else
#define COUNT()               ((void)0)
#define CHECK(addr, size, wr) ((void)0)
#define SYNC_OUT()            ((void)0)
#define SYNC_IN()             ((void)0)
#endif
/* Atomics must be naturally aligned in both modes (the kernel refuses
 * misaligned ones; on x86 they would take a split lock). */
#define CHECK_ALIGNED(addr, size, wr)                                                              \
	do {                                                                                       \
		CHECK(addr, size, wr);                                                             \
		if ((addr) & ((size)-1)) {                                                         \
			fault_addr = addr;                                                         \
			fault_size = size;                                                         \
			fault_write = wr;                                                          \
			err = -EFAULT;                                                             \
			goto fault;                                                                \
		}                                                                                  \
	} while (0)

#define DISPATCH()                                                                                 \
	do {                                                                                       \
		COUNT();                                                                           \
		goto * op->h;                                                                      \
	} while (0)
#define NEXT()                                                                                     \
	do {                                                                                       \
		op++;                                                                              \
		DISPATCH();                                                                        \
	} while (0)
/* op + 1 + off, written so that it compiles to one lea after the load */
#define JUMP()                                                                                     \
	do {                                                                                       \
		op = (const struct vm_op *)((const char *)op + sizeof(*op) +                       \
					    (intptr_t)op->off * (intptr_t)sizeof(*op));            \
		DISPATCH();                                                                        \
	} while (0)

	DISPATCH();

L_INVALID:
	/* Unreachable after the load checks; stop rather than run off. */
	err = -EINVAL;
	goto fault;

	/* ---- ALU: four flavours from one semantic function each ---- */
#define ALU(NAME, F)                                                                               \
	L_##NAME##64K : DST = F##64(DST, IMM);                                                     \
	NEXT();                                                                                    \
	L_##NAME##64X : DST = F##64(DST, SRC);                                                     \
	NEXT();                                                                                    \
	L_##NAME##32K : DST = F##32((uint32_t)DST, (uint32_t)IMM);                                 \
	NEXT();                                                                                    \
	L_##NAME##32X : DST = F##32((uint32_t)DST, (uint32_t)SRC);                                 \
	NEXT();

	ALU(ADD, alu_add)
	ALU(SUB, alu_sub)
	ALU(MUL, alu_mul)
	ALU(DIV, alu_div)
	ALU(SDIV, alu_sdiv)
	ALU(MOD, alu_mod)
	ALU(SMOD, alu_smod)
	ALU(OR, alu_or)
	ALU(AND, alu_and)
	ALU(XOR, alu_xor)
	ALU(LSH, alu_lsh)
	ALU(RSH, alu_rsh)
	ALU(ARSH, alu_arsh)
	ALU(MOV, alu_mov)
#undef ALU

L_NEG64:
	DST = 0 - DST;
	NEXT();
L_NEG32:
	DST = (uint32_t)(0u - (uint32_t)DST);
	NEXT();
L_MOVSX8_64:
	DST = (uint64_t)(int64_t)(int8_t)SRC;
	NEXT();
L_MOVSX16_64:
	DST = (uint64_t)(int64_t)(int16_t)SRC;
	NEXT();
L_MOVSX32_64:
	DST = (uint64_t)(int64_t)(int32_t)SRC;
	NEXT();
L_MOVSX8_32:
	DST = (uint32_t)(int32_t)(int8_t)SRC;
	NEXT();
L_MOVSX16_32:
	DST = (uint32_t)(int32_t)(int16_t)SRC;
	NEXT();
L_LE16:
	DST = vm_to_le16(DST);
	NEXT();
L_LE32:
	DST = vm_to_le32(DST);
	NEXT();
L_LE64:
	DST = vm_to_le64(DST);
	NEXT();
L_BE16:
	DST = vm_to_be16(DST);
	NEXT();
L_BE32:
	DST = vm_to_be32(DST);
	NEXT();
L_BE64:
	DST = vm_to_be64(DST);
	NEXT();
L_BSWAP16:
	DST = __builtin_bswap16((uint16_t)DST);
	NEXT();
L_BSWAP32:
	DST = __builtin_bswap32((uint32_t)DST);
	NEXT();
L_BSWAP64:
	DST = __builtin_bswap64(DST);
	NEXT();
L_LDDW:
	DST = op[1].u64;
	op += 2;
	DISPATCH();
	/* superinstructions: two (or, for LDDWADD64, three) slots in one */
L_MOVADD64:
	DST = SRC + IMM;
	op += 2;
	DISPATCH();
L_MOVAND64:
	DST = SRC & IMM;
	op += 2;
	DISPATCH();
L_MOVOR64:
	DST = SRC | IMM;
	op += 2;
	DISPATCH();
L_MOVLSH64:
	DST = alu_lsh64(SRC, IMM);
	op += 2;
	DISPATCH();
L_MOVRSH64:
	DST = alu_rsh64(SRC, IMM);
	op += 2;
	DISPATCH();
L_MOVARSH64:
	DST = alu_arsh64(SRC, IMM);
	op += 2;
	DISPATCH();
L_LDDWADD64:
	DST = op[1].u64 + SRC;
	op += 3;
	DISPATCH();

	/* ---- memory ---- */
#define LOAD(NAME, T, CAST)                                                                        \
	L_##NAME:                                                                                  \
	{                                                                                          \
		uint64_t a = ADDR_S;                                                               \
		CHECK(a, sizeof(T), false);                                                        \
		DST = (uint64_t)(CAST)(*(const T *)(uintptr_t)a);                                  \
	}                                                                                          \
	NEXT();
	LOAD(LDXB, uint8_t, uint64_t)
	LOAD(LDXH, vm_u16u, uint64_t)
	LOAD(LDXW, vm_u32u, uint64_t)
	LOAD(LDXDW, vm_u64u, uint64_t)
	LOAD(LDXSB, int8_t, int64_t)
	LOAD(LDXSH, vm_s16u, int64_t)
	LOAD(LDXSW, vm_s32u, int64_t)
#undef LOAD

#define STORE(NAME, T, VAL)                                                                        \
	L_##NAME:                                                                                  \
	{                                                                                          \
		uint64_t a = ADDR_D;                                                               \
		CHECK(a, sizeof(T), true);                                                         \
		*(T *)(uintptr_t)a = (T)(VAL);                                                     \
	}                                                                                          \
	NEXT();
	STORE(STB, uint8_t, IMM)
	STORE(STH, vm_u16u, IMM)
	STORE(STW, vm_u32u, IMM)
	STORE(STDW, vm_u64u, IMM)
	STORE(STXB, uint8_t, SRC)
	STORE(STXH, vm_u16u, SRC)
	STORE(STXW, vm_u32u, SRC)
	STORE(STXDW, vm_u64u, SRC)
#undef STORE

	/* ---- atomics: *(dst + off) op= src; FETCH forms return the old value in src ---- */
/* A read-modify-write atomic and its FETCH form, which returns the old value in src. */
#define ATOMIC_RMW(W, T, OP, BUILTIN)                                                              \
	L_A##OP##W:                                                                                \
	{                                                                                          \
		uint64_t a = ADDR_D;                                                               \
		CHECK_ALIGNED(a, sizeof(T), true);                                                 \
		BUILTIN((T *)(uintptr_t)a, (T)SRC, __ATOMIC_SEQ_CST);                              \
	}                                                                                          \
	NEXT();                                                                                    \
	L_AF##OP##W:                                                                               \
	{                                                                                          \
		uint64_t a = ADDR_D;                                                               \
		CHECK_ALIGNED(a, sizeof(T), true);                                                 \
		SRC = BUILTIN((T *)(uintptr_t)a, (T)SRC, __ATOMIC_SEQ_CST);                        \
	}                                                                                          \
	NEXT();
#define ATOMIC(W, T)                                                                               \
	ATOMIC_RMW(W, T, ADD, __atomic_fetch_add)                                                  \
	ATOMIC_RMW(W, T, OR, __atomic_fetch_or)                                                    \
	ATOMIC_RMW(W, T, AND, __atomic_fetch_and)                                                  \
	ATOMIC_RMW(W, T, XOR, __atomic_fetch_xor)                                                  \
	L_AXCHG##W:                                                                                \
	{                                                                                          \
		uint64_t a = ADDR_D;                                                               \
		CHECK_ALIGNED(a, sizeof(T), true);                                                 \
		SRC = __atomic_exchange_n((T *)(uintptr_t)a, (T)SRC, __ATOMIC_SEQ_CST);            \
	}                                                                                          \
	NEXT();                                                                                    \
	L_ACMPXCHG##W:                                                                             \
	{                                                                                          \
		/* r0 = cmpxchg(dst + off, r0, src): r0 always gets the old value */               \
		uint64_t a = ADDR_D;                                                               \
		T expected = (T)reg[0];                                                            \
		CHECK_ALIGNED(a, sizeof(T), true);                                                 \
		__atomic_compare_exchange_n((T *)(uintptr_t)a, &expected, (T)SRC, false,           \
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                   \
		reg[0] = (uint64_t)expected;                                                       \
	}                                                                                          \
	NEXT();
	ATOMIC(32, uint32_t)
	ATOMIC(64, uint64_t)
#undef ATOMIC
#undef ATOMIC_RMW

#define LOAD_ACQ(NAME, T)                                                                          \
	L_##NAME:                                                                                  \
	{                                                                                          \
		uint64_t a = ADDR_S;                                                               \
		CHECK_ALIGNED(a, sizeof(T), false);                                                \
		DST = (uint64_t)__atomic_load_n((const T *)(uintptr_t)a, __ATOMIC_ACQUIRE);        \
	}                                                                                          \
	NEXT();
#define STORE_REL(NAME, T)                                                                         \
	L_##NAME:                                                                                  \
	{                                                                                          \
		uint64_t a = ADDR_D;                                                               \
		CHECK_ALIGNED(a, sizeof(T), true);                                                 \
		__atomic_store_n((T *)(uintptr_t)a, (T)SRC, __ATOMIC_RELEASE);                     \
	}                                                                                          \
	NEXT();
	LOAD_ACQ(LDACQB, uint8_t)
	LOAD_ACQ(LDACQH, uint16_t)
	LOAD_ACQ(LDACQW, uint32_t)
	LOAD_ACQ(LDACQDW, uint64_t)
	STORE_REL(STRELB, uint8_t)
	STORE_REL(STRELH, uint16_t)
	STORE_REL(STRELW, uint32_t)
	STORE_REL(STRELDW, uint64_t)
#undef LOAD_ACQ
#undef STORE_REL

	/* ---- jumps ---- */
L_JA:
	op = op + 1 + op->imm;
	DISPATCH();

#define JCC(NAME, U64, S64, U32, S32, CMP)                                                         \
	L_##NAME##64K : if ((U64)DST CMP(S64) IMM) JUMP();                                         \
	NEXT();                                                                                    \
	L_##NAME##64X : if ((U64)DST CMP(S64) SRC) JUMP();                                         \
	NEXT();                                                                                    \
	L_##NAME##32K : if ((U32)DST CMP(S32) IMM) JUMP();                                         \
	NEXT();                                                                                    \
	L_##NAME##32X : if ((U32)DST CMP(S32) SRC) JUMP();                                         \
	NEXT();
	JCC(JEQ, uint64_t, uint64_t, uint32_t, uint32_t, ==)
	JCC(JNE, uint64_t, uint64_t, uint32_t, uint32_t, !=)
	JCC(JGT, uint64_t, uint64_t, uint32_t, uint32_t, >)
	JCC(JGE, uint64_t, uint64_t, uint32_t, uint32_t, >=)
	JCC(JLT, uint64_t, uint64_t, uint32_t, uint32_t, <)
	JCC(JLE, uint64_t, uint64_t, uint32_t, uint32_t, <=)
	JCC(JSET, uint64_t, uint64_t, uint32_t, uint32_t, &)
	JCC(JSGT, int64_t, int64_t, int32_t, int32_t, >)
	JCC(JSGE, int64_t, int64_t, int32_t, int32_t, >=)
	JCC(JSLT, int64_t, int64_t, int32_t, int32_t, <)
	JCC(JSLE, int64_t, int64_t, int32_t, int32_t, <=)
#undef JCC

	/* ---- calls ---- */
L_CALL_HELPER:
	call->depth = depth;
	SYNC_OUT();
	reg[0] = ((bpftime_vm_helper_fn)(uintptr_t)op->u64)(reg[1], reg[2], reg[3], reg[4], reg[5],
							    call);
	SYNC_IN();
	if (__builtin_expect(call->err != 0, 0))
		goto helper_failed;
	NEXT();

L_CALL_LOCAL : {
	struct vm_frame *f;
	const struct vm_op *target = op + 1 + op->imm;

do_call_local:
	if (depth + 1 >= BPFTIME_VM_MAX_CALL_FRAMES) {
		err = -E2BIG;
		goto fault;
	}
	f = &frames[depth - depth0];
	f->ret = op + 1;
	f->prog = prog;
	f->saved[0] = reg[6];
	f->saved[1] = reg[7];
	f->saved[2] = reg[8];
	f->saved[3] = reg[9];
	depth++;
	reg[10] = call->stack_hi - (uint64_t)depth * BPFTIME_VM_STACK_SIZE;
	op = target;
	DISPATCH();

L_CALLX : {
	/* callx: the register holds a BPF_PSEUDO_FUNC value or a helper id */
	uint64_t v = DST;
	int64_t idx = bpftime_vm_func_index(prog, v);

	if (idx >= 0) {
		target = ops + idx;
		goto do_call_local;
	}
	if (v > 0 && v < prog->nr_helpers && prog->helpers[v].fn) {
		call->depth = depth;
		SYNC_OUT();
		reg[0] = prog->helpers[v].fn(reg[1], reg[2], reg[3], reg[4], reg[5], call);
		SYNC_IN();
		if (__builtin_expect(call->err != 0, 0))
			goto helper_failed;
		NEXT();
	}
	fault_addr = v;
	err = -EINVAL;
	goto fault;
}
}

L_LOOP : {
	/*
	 * bpf_loop(nr_loops, callback_fn, callback_ctx, flags), run inline as
	 * the kernel's verifier inlines it: each iteration calls the callback
	 * one frame deeper, and its exit comes back to L_LOOP_NEXT. Same
	 * results as bpftime_vm_helper_loop().
	 */
	struct vm_frame *f;
	int64_t idx;

	if (reg[4]) {
		reg[0] = (uint64_t)-EINVAL;
		NEXT();
	}
	if (reg[1] > (1ull << 23)) { /* BPF_MAX_LOOPS */
		reg[0] = (uint64_t)-E2BIG;
		NEXT();
	}
	if (reg[1] == 0) {
		reg[0] = 0;
		NEXT();
	}
	idx = bpftime_vm_func_index(prog, reg[2]);
	if (idx < 0) {
		fault_addr = reg[2];
		err = -EINVAL;
		goto fault;
	}
	f = &frames[depth - depth0];
	f->loop_ret = op + 1;
	f->loop_fn = ops + idx;
	f->loop_i = 0;
	f->loop_nr = reg[1];
	f->loop_ctx = reg[3];
	goto loop_iter;

L_LOOP_NEXT:
	/* the callback's exit popped its frame: ours is the loop's again */
	f = &frames[depth - depth0];
#if VM_CHECKED
	left++; /* this pseudo-op is not an instruction of the program */
#endif
	f->loop_i++;
	if (reg[0] != 0 || f->loop_i == f->loop_nr) {
		/* 0: continue, 1: stop and return i + 1 */
		reg[0] = f->loop_i;
		op = f->loop_ret;
		DISPATCH();
	}
loop_iter:
	if (depth + 1 >= BPFTIME_VM_MAX_CALL_FRAMES) {
		op = f->loop_ret - 1;
		err = -E2BIG;
		goto fault;
	}
	f->ret = &loop_next;
	f->prog = prog;
	f->saved[0] = reg[6];
	f->saved[1] = reg[7];
	f->saved[2] = reg[8];
	f->saved[3] = reg[9];
	depth++;
	reg[1] = f->loop_i;
	reg[2] = f->loop_ctx;
	reg[10] = call->stack_hi - (uint64_t)depth * BPFTIME_VM_STACK_SIZE;
	op = f->loop_fn;
	DISPATCH();
}

L_TAIL_CALL : {
	/* bpf_tail_call(ctx, map, index): on success never returns here */
	const struct bpftime_vm *next;

	if (call->tail_calls >= BPFTIME_VM_MAX_TAIL_CALLS)
		NEXT();
	next = prog->opts.tail_call(prog->opts.host, reg[2], reg[3]);
	if (!next || !next->loaded)
		NEXT();
	call->tail_calls++;
	call->cur = prog = next;
	ops = prog->ops[VM_MODE];
	op = ops;
	DISPATCH();
}

L_EXIT : {
	struct vm_frame *f;

	if (depth == depth0) {
		*r0 = reg[0];
		SYNC_OUT();
		return 0;
	}
	depth--;
	f = &frames[depth - depth0];
	reg[6] = f->saved[0];
	reg[7] = f->saved[1];
	reg[8] = f->saved[2];
	reg[9] = f->saved[3];
	reg[10] = call->stack_hi - (uint64_t)depth * BPFTIME_VM_STACK_SIZE;
	call->cur = prog = f->prog;
	ops = prog->ops[VM_MODE];
	op = f->ret;
	DISPATCH();
}

helper_failed:
	err = call->err;
	/* A fault inside a callback has already been described. */
	if (call->run->fault.err)
		return err;
fault:
	SYNC_OUT();
	call->err = err;
	call->run->fault.err = err;
	call->run->fault.pc = (uint32_t)(op - ops);
	call->run->fault.prog = prog;
	call->run->fault.addr = fault_addr;
	call->run->fault.size = fault_size;
	call->run->fault.write = fault_write;
	return err;

#undef DST
#undef SRC
#undef IMM
#undef ADDR_D
#undef ADDR_S
#undef COUNT
#undef SYNC_OUT
#undef SYNC_IN
#undef CHECK
#undef CHECK_ALIGNED
#undef DISPATCH
#undef NEXT
#undef JUMP
}
