// SPDX-License-Identifier: MIT
/*
 * vm execution: the semantics the conformance corpus does not reach (calls
 * and their frames, the depth limit, callx, tail calls, bpf_loop, helpers'
 * view of the run), the bounds-checked mode, and atomics shared by threads.
 * Each program runs in both modes unless the test is about one of them.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpftime/vm.h>
#include "insn.h"
#include "tail-env.h"

static uint64_t helper_ret1(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	return a;
}

static uint64_t helper_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			   const struct bpftime_vm_call *call)
{
	return a + b + c + d + e;
}

/* Load @p in the given mode with helpers 1 (ret1), 2 (sum) and 181 (bpf_loop). */
static struct bpftime_vm *load_mode(const struct bpf_insn *p, size_t n, bool checked,
				    const struct bpftime_vm_opts *base)
{
	BPFTIME_VM_OPTS(opts);
	struct bpftime_vm *vm;
	int err;

	if (base)
		memcpy(&opts, base, sizeof(opts));
	opts.bounds_check = checked;
	vm = bpftime_vm__new(&opts);
	assert_non_null(vm);
	assert_int_equal(bpftime_vm__register_helper(vm, 1, "ret1", helper_ret1), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, 2, "sum", helper_sum), 0);
	assert_int_equal(
	    bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop), 0);
	err = bpftime_vm__load(vm, p, n);
	if (err)
		fail_msg("load: %d %s", err, bpftime_vm__last_error(vm));
	return vm;
}

/* Run @p in both modes on @mem; both must return @want. */
static void expect_r0(const struct bpf_insn *p, size_t n, void *mem, size_t len, uint64_t want)
{
	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm = load_mode(p, n, checked, NULL);
		uint64_t r0 = ~want;
		int err = bpftime_vm__exec(vm, mem, len, &r0);

		if (err || r0 != want)
			fail_msg("%s mode: err %d r0 0x%llx, want 0x%llx",
				 checked ? "checked" : "fast", err, (unsigned long long)r0,
				 (unsigned long long)want);
		bpftime_vm__free(vm);
	}
}

/* Run @p in @checked mode, expecting fault @err at @pc. */
static void expect_fault(const struct bpf_insn *p, size_t n, bool checked, void *mem, size_t len,
			 int err, uint32_t pc)
{
	struct bpftime_vm *vm = load_mode(p, n, checked, NULL);
	struct bpftime_vm_run run = {.ctx = mem, .ctx_len = len};
	int got = bpftime_vm__run(vm, &run);

	if (got != err || run.fault.err != err || run.fault.pc != pc)
		fail_msg("got %d (fault %d at %u), want %d at %u", got, run.fault.err, run.fault.pc,
			 err, pc);
	assert_ptr_equal(run.fault.prog, vm);
	bpftime_vm__free(vm);
}

static void test_alu_edge_cases(void **state)
{
	/* Each program leaves its result in r0; values derived from RFC 9669 4.1. */
	struct bpf_insn div0[] = {MOV64_IMM(0, 7), MOV64_IMM(1, 0), ALU64_REG(BPF_DIV, 0, 1),
				  EXIT()};
	struct bpf_insn mod0_32[] = {LDDW64(0, 0xffffffff00000007ull), MOV64_IMM(1, 0),
				     ALU32_REG(BPF_MOD, 0, 1), EXIT()};
	struct bpf_insn sdiv_min[] = {LDDW64(0, 0x8000000000000000ull),
				      INSN(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, -1), EXIT()};
	struct bpf_insn smod_min[] = {LDDW64(0, 0x8000000000000000ull),
				      INSN(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, -1), EXIT()};
	struct bpf_insn smod_neg[] = {MOV64_IMM(0, -7),
				      INSN(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, 2), EXIT()};
	struct bpf_insn sdiv32_min[] = {MOV64_IMM(0, INT32_MIN),
					INSN(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 1, -1), EXIT()};
	struct bpf_insn shift_mask[] = {MOV64_IMM(0, 1), MOV64_IMM(1, 65), ALU64_REG(BPF_LSH, 0, 1),
					EXIT()};
	struct bpf_insn arsh32[] = {MOV64_IMM(0, -16), ALU32_IMM(BPF_ARSH, 0, 2), EXIT()};
	struct bpf_insn zext32[] = {MOV64_IMM(0, -1), ALU32_IMM(BPF_ADD, 0, 0), EXIT()};
	struct bpf_insn neg32[] = {MOV64_IMM(0, INT32_MIN), ALU32_IMM(BPF_NEG, 0, 0), EXIT()};

	expect_r0(div0, ARRAY_LEN(div0), NULL, 0, 0);
	/* 32-bit mod by zero keeps dst's low half, zero-extended */
	expect_r0(mod0_32, ARRAY_LEN(mod0_32), NULL, 0, 7);
	expect_r0(sdiv_min, ARRAY_LEN(sdiv_min), NULL, 0, 0x8000000000000000ull);
	expect_r0(smod_min, ARRAY_LEN(smod_min), NULL, 0, 0);
	/* truncated division: the remainder takes the dividend's sign */
	expect_r0(smod_neg, ARRAY_LEN(smod_neg), NULL, 0, (uint64_t)-1);
	expect_r0(sdiv32_min, ARRAY_LEN(sdiv32_min), NULL, 0, 0x80000000ull);
	expect_r0(shift_mask, ARRAY_LEN(shift_mask), NULL, 0, 2);
	expect_r0(arsh32, ARRAY_LEN(arsh32), NULL, 0, 0xfffffffcull);
	expect_r0(zext32, ARRAY_LEN(zext32), NULL, 0, 0xffffffffull);
	expect_r0(neg32, ARRAY_LEN(neg32), NULL, 0, 0x80000000ull);
}

static void test_local_call_preserves_callee_saved_and_frames(void **state)
{
	struct bpf_insn p[] = {
	    MOV64_IMM(6, 66),
	    ST(BPF_DW, 10, -8, 1111), /* caller's stack slot */
	    MOV64_IMM(1, 5),
	    CALL_LOCAL(5),          /* -> insn 9 */
	    LDX(BPF_DW, 1, 10, -8), /* the caller's slot is untouched */
	    ALU64_REG(BPF_ADD, 0, 1),
	    ALU64_REG(BPF_ADD, 0, 6), /* r6 restored */
	    EXIT(),
	    EXIT(),
	    /* callee: clobbers r6 and its own r10-8 */
	    MOV64_IMM(6, 0),
	    ST(BPF_DW, 10, -8, 2222),
	    MOV64_REG(0, 1),
	    ALU64_IMM(BPF_MUL, 0, 10),
	    EXIT(),
	};

	expect_r0(p, ARRAY_LEN(p), NULL, 0, 50 + 1111 + 66);
}

static void test_call_depth_limit(void **state)
{
	/* f(n) = n ? f(n - 1) + 1 : 0, entered from main: main + n + 1 frames. */
	struct bpf_insn p[] = {
	    CALL_LOCAL(1), /* r1 = ctx_len = n */
	    EXIT(),
	    JMP_IMM(BPF_JNE, 1, 0, 2),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    CALL_LOCAL(-5),
	    ALU64_IMM(BPF_ADD, 0, 1),
	    EXIT(),
	};
	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), checked, NULL);
		/* ctx_len is only r2; we use r1 = n by passing n as ctx */
		struct bpftime_vm_run ok = {.ctx = (void *)(uintptr_t)6};
		struct bpftime_vm_run deep = {.ctx = (void *)(uintptr_t)7};

		/* 8 frames: main, f(6) .. f(0) */
		assert_int_equal(bpftime_vm__run(vm, &ok), 0);
		assert_int_equal(ok.r0, 6);
		/* a 9th frame is refused, as the kernel's MAX_CALL_FRAMES */
		assert_int_equal(bpftime_vm__run(vm, &deep), -E2BIG);
		assert_int_equal(deep.fault.err, -E2BIG);
		assert_int_equal(deep.fault.pc, 6);
		bpftime_vm__free(vm);
	}
}

static void test_callx_function_and_helper(void **state)
{
	struct bpf_insn p[] = {
	    LDDW(3, BPF_PSEUDO_FUNC, 10, 0), /* -> insn 11 */
	    MOV64_IMM(1, 20),
	    CALLX(3), /* r0 = 20 * 2 */
	    MOV64_REG(6, 0),
	    MOV64_IMM(1, 3),
	    MOV64_IMM(4, 1), /* helper 1 by id: returns r1 */
	    CALLX(4),
	    ALU64_REG(BPF_ADD, 0, 6),
	    EXIT(),
	    EXIT(),
	    MOV64_REG(0, 1),
	    ALU64_IMM(BPF_LSH, 0, 1),
	    EXIT(),
	};

	expect_r0(p, ARRAY_LEN(p), NULL, 0, 43);
}

static void test_callx_to_garbage_faults(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(3, 12345), CALLX(3), EXIT()};
	struct bpf_insn mid[] = {LDDW(3, BPF_PSEUDO_FUNC, 4, 0),
				 ALU64_IMM(BPF_ADD, 3, 16),
				 CALLX(3),
				 EXIT(),
				 MOV64_IMM(0, 1),
				 EXIT()};

	expect_fault(p, ARRAY_LEN(p), false, NULL, 0, -EINVAL, 1);
	expect_fault(p, ARRAY_LEN(p), true, NULL, 0, -EINVAL, 1);
	/* an address one instruction past a function entry is not a function */
	expect_fault(mid, ARRAY_LEN(mid), false, NULL, 0, -EINVAL, 3);
}

static void test_helpers_get_args_and_return(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(1, 1),
			       MOV64_IMM(2, 20),
			       MOV64_IMM(3, 300),
			       MOV64_IMM(4, 4000),
			       MOV64_IMM(5, 50000),
			       CALL_HELPER(2),
			       EXIT()};

	expect_r0(p, ARRAY_LEN(p), NULL, 0, 54321);
}

static void test_bpf_loop(void **state)
{
	/* sum of i for i < 10 into the caller's stack slot, via the callback */
	struct bpf_insn sum[] = {
	    ST(BPF_DW, 10, -8, 0),
	    MOV64_IMM(1, 10),
	    LDDW(2, BPF_PSEUDO_FUNC, 10, 0), /* -> insn 13 */
	    MOV64_REG(3, 10),
	    ALU64_IMM(BPF_ADD, 3, -8),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 10, -8),
	    ALU64_IMM(BPF_MUL, 0, 1000), /* iterations * 1000 + sum */
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    EXIT(),
	    /* callback(i, ctx): *ctx += i; stop after i == 6 by returning 1 */
	    LDX(BPF_DW, 3, 2, 0),
	    ALU64_REG(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 0),
	    MOV64_IMM(0, 0),
	    JMP_IMM(BPF_JNE, 1, 6, 1),
	    MOV64_IMM(0, 1),
	    EXIT(),
	};

	/* kernel semantics: returns i + 1 when the callback stops it */
	expect_r0(sum, ARRAY_LEN(sum), NULL, 0, 7 * 1000 + 21);
}

static void test_bpf_loop_helper_and_inline_agree(void **state)
{
	/* The same loop through callx (the helper function) and call (inlined). */
	struct bpf_insn p[] = {
	    MOV64_IMM(6, 0),
	    ST(BPF_DW, 10, -8, 0),
	    MOV64_IMM(1, 100),
	    LDDW(2, BPF_PSEUDO_FUNC, 12, 0), /* -> insn 16 */
	    MOV64_REG(3, 10),
	    ALU64_IMM(BPF_ADD, 3, -8),
	    MOV64_IMM(4, 0),
	    MOV64_IMM(5, BPF_FUNC_loop),
	    JMP_IMM(BPF_JEQ, 7, 0, 2), /* r7 selects the path */
	    CALLX(5),
	    JA(1),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 10, -8),
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    /* callback: *ctx += i * i; r6 clobbered (callee-saved for the caller) */
	    MOV64_REG(3, 1),
	    ALU64_REG(BPF_MUL, 3, 1),
	    LDX(BPF_DW, 4, 2, 0),
	    ALU64_REG(BPF_ADD, 4, 3),
	    STX(BPF_DW, 2, 4, 0),
	    MOV64_IMM(6, 12345),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};
	/* sum of i*i for i < 100 is 328350; bpf_loop returns 100 */
	for (int path = 0; path < 2; path++) {
		struct bpftime_vm_run run = {0};
		struct bpftime_vm *vm;

		p[0] = (struct bpf_insn)MOV64_IMM(7, path); /* 0: inline call, 1: callx */
		vm = load_mode(p, ARRAY_LEN(p), true, NULL);
		assert_int_equal(bpftime_vm__run(vm, &run), 0);
		assert_int_equal(run.r0, 328350 + 100);
		/* the checked mode counts the program's instructions only: 13 (or
		 * 14 with callx and its ja) in the main function, 8 per callback */
		assert_int_equal(run.insns, (path ? 14 : 13) + 100 * 8);
		bpftime_vm__free(vm);
		vm = load_mode(p, ARRAY_LEN(p), false, NULL);
		assert_int_equal(bpftime_vm__run(vm, &run), 0);
		assert_int_equal(run.r0, 328350 + 100);
		bpftime_vm__free(vm);
	}
}

static void test_bpf_loop_errors(void **state)
{
	struct bpf_insn flags[] = BPF_LOOP_PROG(MOV64_IMM(1, 1), 1, 0);
	struct bpf_insn big[] = BPF_LOOP_PROG(LDDW64(1, (1ull << 23) + 1), 0, 0);
	struct bpf_insn badfn[] = {MOV64_IMM(1, 3), MOV64_IMM(2, 77),           MOV64_IMM(3, 0),
				   MOV64_IMM(4, 0), CALL_HELPER(BPF_FUNC_loop), EXIT()};

	expect_r0(flags, ARRAY_LEN(flags), NULL, 0, (uint64_t)-EINVAL);
	expect_r0(big, ARRAY_LEN(big), NULL, 0, (uint64_t)-E2BIG);
	/* a callback that is not a function stops the run at the helper call */
	expect_fault(badfn, ARRAY_LEN(badfn), false, NULL, 0, -EINVAL, 4);
	expect_fault(badfn, ARRAY_LEN(badfn), true, NULL, 0, -EINVAL, 4);
}

static void test_bpf_loop_callback_counts_as_a_frame(void **state)
{
	/* f(n) = n ? f(n - 1) : bpf_loop(1, cb): the callback sits at depth n + 2 */
	struct bpf_insn p[] = {
	    CALL_LOCAL(1), /* r1 = n (the ctx value) */
	    EXIT(),
	    JMP_IMM(BPF_JEQ, 1, 0, 3),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    CALL_LOCAL(-3),
	    EXIT(),
	    MOV64_IMM(1, 1),
	    LDDW(2, BPF_PSEUDO_FUNC, 5, 0), /* -> insn 13 */
	    MOV64_IMM(3, 0),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop), /* insn 11 */
	    EXIT(),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};
	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), checked, NULL);
		struct bpftime_vm_run ok = {.ctx = (void *)(uintptr_t)5};
		struct bpftime_vm_run deep = {.ctx = (void *)(uintptr_t)6};

		/* main, f(5)..f(0), callback: 8 frames */
		assert_int_equal(bpftime_vm__run(vm, &ok), 0);
		assert_int_equal(ok.r0, 1);
		assert_int_equal(bpftime_vm__run(vm, &deep), -E2BIG);
		assert_int_equal(deep.fault.pc, 11);
		bpftime_vm__free(vm);
	}
}

static void test_fault_inside_callback_stops_run(void **state)
{
	struct bpf_insn p[] = {
	    MOV64_IMM(1, 4),
	    LDDW(2, BPF_PSEUDO_FUNC, 6, 0), /* -> insn 8 */
	    MOV64_IMM(3, 0),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    MOV64_IMM(0, 99),
	    EXIT(),
	    /* callback: load from NULL + 0 */
	    MOV64_IMM(5, 0),
	    LDX(BPF_W, 0, 5, 0),
	    EXIT(),
	};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), true, NULL);
	struct bpftime_vm_run run = {0};

	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	/* the fault names the callback's instruction, not the helper call */
	assert_int_equal(run.fault.pc, 9);
	assert_int_equal(run.fault.addr, 0);
	assert_int_equal(run.fault.size, 4);
	bpftime_vm__free(vm);
}

/* ---- tail calls ---- */

/* struct tail_env and tail_lookup: tail-env.h */

static struct bpftime_vm *load_tail(const struct bpf_insn *p, size_t n, struct tail_env *env,
				    bool checked)
{
	BPFTIME_VM_OPTS(opts, .host = env, .tail_call = tail_lookup);

	return load_mode(p, n, checked, &opts);
}

static void test_tail_call_chain_limit(void **state)
{
	/* Each run of the program counts itself in ctx[0] and tail-calls itself. */
	struct bpf_insn self[] = {
	    MOV64_REG(6, 1),
	    LDX(BPF_DW, 2, 6, 0),
	    ALU64_IMM(BPF_ADD, 2, 1),
	    STX(BPF_DW, 6, 2, 0),
	    MOV64_REG(1, 6),
	    LDDW64(2, 0xabc),
	    MOV64_IMM(3, 0),
	    CALL_HELPER(BPF_FUNC_tail_call),
	    MOV64_IMM(0, 7), /* reached when the tail call falls through */
	    EXIT(),
	};
	for (int checked = 0; checked < 2; checked++) {
		struct tail_env env = {0};
		struct bpftime_vm *vm = load_tail(self, ARRAY_LEN(self), &env, checked);
		uint64_t count = 0, r0 = 0;

		env.slots[0] = vm;
		assert_int_equal(bpftime_vm__exec(vm, &count, sizeof(count), &r0), 0);
		/* MAX_TAIL_CALL_CNT 33: the first run plus 33 tail calls */
		assert_int_equal(count, 34);
		assert_int_equal(r0, 7);
		bpftime_vm__free(vm);
	}
}

static void test_tail_call_into_other_program_and_empty_slot(void **state)
{
	struct bpf_insn caller[] = {
	    MOV64_REG(6, 1),
	    LDDW64(2, 0xabc),
	    MOV64_REG(3, 6), /* index = ctx value (as a number) */
	    CALL_HELPER(BPF_FUNC_tail_call),
	    MOV64_IMM(0, 1), /* empty slot: fall through */
	    EXIT(),
	};
	struct bpf_insn callee[] = {MOV64_REG(0, 1), ALU64_IMM(BPF_ADD, 0, 1000), EXIT()};
	struct tail_env env = {0};
	struct bpftime_vm *a = load_tail(caller, ARRAY_LEN(caller), &env, false);
	struct bpftime_vm *b = load_mode(callee, ARRAY_LEN(callee), false, NULL);
	struct bpftime_vm_run run = {.ctx = (void *)(uintptr_t)2};

	env.slots[2] = b;
	assert_int_equal(bpftime_vm__run(a, &run), 0);
	/* the callee runs with the caller's r1 and its return is the run's */
	assert_int_equal(run.r0, 1002);
	run.ctx = (void *)(uintptr_t)3;
	assert_int_equal(bpftime_vm__run(a, &run), 0);
	assert_int_equal(run.r0, 1);
	assert_int_equal(env.lookups, 2);
	bpftime_vm__free(a);
	bpftime_vm__free(b);
}

static void test_tail_call_from_function_returns_to_its_caller(void **state)
{
	struct bpf_insn caller[] = {
	    CALL_LOCAL(3),            /* -> insn 4 */
	    ALU64_IMM(BPF_ADD, 0, 5), /* runs after the tail-called program exits */
	    EXIT(),
	    EXIT(),
	    LDDW64(2, 0xabc),
	    MOV64_IMM(3, 1),
	    CALL_HELPER(BPF_FUNC_tail_call),
	    MOV64_IMM(0, -1),
	    EXIT(),
	};
	struct bpf_insn callee[] = {MOV64_IMM(0, 40), EXIT()};
	struct tail_env env = {0};
	struct bpftime_vm *a = load_tail(caller, ARRAY_LEN(caller), &env, true);
	struct bpftime_vm *b = load_mode(callee, ARRAY_LEN(callee), true, NULL);
	uint64_t r0 = 0;

	env.slots[1] = b;
	assert_int_equal(bpftime_vm__exec(a, NULL, 0, &r0), 0);
	assert_int_equal(r0, 45);
	bpftime_vm__free(a);
	bpftime_vm__free(b);
}

static void test_tail_call_without_hook_needs_helper(void **state)
{
	struct bpf_insn p[] = {CALL_HELPER(BPF_FUNC_tail_call), EXIT()};
	struct bpftime_vm *vm = bpftime_vm__new(NULL);

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), -EINVAL);
	assert_non_null(strstr(bpftime_vm__last_error(vm), "invalid func unknown#12"));
	bpftime_vm__free(vm);
}

/* ---- bounds-checked mode ---- */

static void test_checked_load_outside_ctx_faults(void **state)
{
	uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct bpf_insn p[] = {LDX(BPF_W, 0, 1, 4), LDX(BPF_W, 0, 1, 5), EXIT()};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), true, NULL);
	struct bpftime_vm_run run = {.ctx = mem, .ctx_len = sizeof(mem)};
	char msg[128];

	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 1);
	assert_int_equal(run.fault.addr, (uint64_t)(uintptr_t)mem + 5);
	assert_int_equal(run.fault.size, 4);
	assert_false(run.fault.write);
	bpftime_vm_fault__format(&run.fault, msg, sizeof(msg));
	assert_non_null(strstr(msg, "insn 1: invalid memory access: load of 4 bytes at 0x"));
	bpftime_vm__free(vm);
}

static void test_fast_vm_checked_per_run(void **state)
{
	uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct bpf_insn p[] = {LDX(BPF_W, 0, 1, 4), LDX(BPF_W, 0, 1, 5), EXIT()};
	struct bpf_insn ok[] = {LDX(BPF_W, 0, 1, 4), EXIT()};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), false, NULL);
	struct bpftime_vm *vm_ok = load_mode(ok, ARRAY_LEN(ok), false, NULL);
	struct bpftime_vm_run run = {
	    .ctx = mem, .ctx_len = sizeof(mem), .flags = BPFTIME_VM_RUN_CHECKED};

	/* a vm created fast can still run one invocation checked */
	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 1);
	assert_int_equal(bpftime_vm__run(vm_ok, &run), 0);
	assert_int_equal(run.r0, 0x08070605);
	assert_int_equal(run.insns, 2);
	run.flags = 0;
	assert_int_equal(bpftime_vm__run(vm_ok, &run), 0);
	assert_int_equal(run.insns, 0); /* counted in the checked mode only */
	bpftime_vm__free(vm);
	bpftime_vm__free(vm_ok);
}

static void test_checked_stack_bounds(void **state)
{
	/* r10 - 512 is the bottom of the main frame; 4096 below is outside. */
	struct bpf_insn ok[] = {ST(BPF_DW, 10, -512, 3), LDX(BPF_DW, 0, 10, -512), EXIT()};
	struct bpf_insn above[] = {LDX(BPF_B, 0, 10, 0), EXIT()};
	struct bpf_insn below[] = {MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -4097),
				   ST(BPF_B, 1, 0, 1), EXIT()};

	expect_r0(ok, ARRAY_LEN(ok), NULL, 0, 3);
	expect_fault(above, ARRAY_LEN(above), true, NULL, 0, -EFAULT, 0);
	expect_fault(below, ARRAY_LEN(below), true, NULL, 0, -EFAULT, 2);
}

static void test_checked_stack_starts_zeroed(void **state)
{
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 10, -8), LDX(BPF_DW, 1, 10, -512),
			       ALU64_REG(BPF_OR, 0, 1), EXIT()};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), true, NULL);
	uint64_t r0 = 1;

	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 0);
	bpftime_vm__free(vm);
}

/* keep_stack: the stack is not cleared (a value a run left is seen by the
 * next run from the same caller frame), and the bounds are still checked */
static __attribute__((noinline)) int run_from_same_frame(struct bpftime_vm *vm, uint64_t *r0)
{
	return bpftime_vm__exec(vm, NULL, 0, r0);
}

static void test_checked_keep_stack(void **state)
{
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 10, -8), ST(BPF_DW, 10, -8, 77), EXIT()};
	struct bpf_insn below[] = {MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -4097),
				   ST(BPF_B, 1, 0, 1), EXIT()};
	BPFTIME_VM_OPTS(o, .bounds_check = true, .keep_stack = true);
	struct bpftime_vm *vm = bpftime_vm__new(&o), *vm2 = bpftime_vm__new(&o);
	uint64_t r0 = 0;

	assert_non_null(vm);
	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
	assert_int_equal(run_from_same_frame(vm, &r0), 0);
	assert_int_equal(run_from_same_frame(vm, &r0), 0);
	assert_int_equal(r0, 77);
	assert_non_null(vm2);
	assert_int_equal(bpftime_vm__load(vm2, below, ARRAY_LEN(below)), 0);
	assert_int_equal(bpftime_vm__exec(vm2, NULL, 0, &r0), -EFAULT);
	bpftime_vm__free(vm);
	bpftime_vm__free(vm2);
}

static void test_checked_ctx_readonly(void **state)
{
	uint64_t ctx = 5;
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 1, 0), ST(BPF_DW, 1, 0, 9), EXIT()};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), true, NULL);
	struct bpftime_vm_run run = {.ctx = &ctx, .ctx_len = 8, .flags = BPFTIME_VM_RUN_CTX_RDONLY};

	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 1);
	assert_true(run.fault.write);
	assert_int_equal(ctx, 5);
	run.flags = 0;
	assert_int_equal(bpftime_vm__run(vm, &run), 0);
	assert_int_equal(ctx, 9);
	bpftime_vm__free(vm);
}

static uint64_t region_ro[2] = {11, 22};
static uint64_t region_rw[2];

static int region_resolver(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	*value = (uint64_t)(uintptr_t)(req->imm ? region_rw : region_ro) + (uint64_t)req->next_imm;
	return 0;
}

static void test_checked_regions_and_permissions(void **state)
{
	BPFTIME_VM_OPTS(opts, .resolve_ldimm64 = region_resolver, .bounds_check = true);
	struct bpf_insn p[] = {
	    LDDW(1, BPF_PSEUDO_MAP_VALUE, 0, 8), /* &region_ro[1] */
	    LDDW(2, BPF_PSEUDO_MAP_VALUE, 1, 0), /* &region_rw[0] */
	    LDX(BPF_DW, 0, 1, 0),
	    STX(BPF_DW, 2, 0, 0), /* rw: allowed */
	    STX(BPF_DW, 1, 0, 0), /* ro: refused */
	    EXIT(),
	};
	struct bpftime_vm *vm = bpftime_vm__new(&opts);
	struct bpftime_vm_run run = {0};

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
	/* without regions even the load is refused */
	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 4);
	assert_int_equal(
	    bpftime_vm__add_region(vm, region_ro, sizeof(region_ro), BPFTIME_VM_REGION_READ), 0);
	assert_int_equal(bpftime_vm__add_region(vm, region_rw, sizeof(region_rw),
						BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE),
			 0);
	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 6);
	assert_true(run.fault.write);
	assert_int_equal(region_rw[0], 22);
	assert_int_equal(region_ro[1], 22);
	bpftime_vm__free(vm);
}

static bool allow_one_addr(void *host, uint64_t addr, uint64_t size, bool write)
{
	return addr == (uint64_t)(uintptr_t)host && size <= 8;
}

static void test_checked_access_callback(void **state)
{
	uint64_t word = 77;
	BPFTIME_VM_OPTS(opts, .host = &word, .access = allow_one_addr);
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 1, 0), LDX(BPF_DW, 0, 1, 8), EXIT()};
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), true, &opts);
	/* ctx_len 0: the ctx is not a region, only the callback can allow it */
	struct bpftime_vm_run run = {.ctx = &word};

	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 1);
	bpftime_vm__free(vm);
}

static void test_checked_insn_limit(void **state)
{
	BPFTIME_VM_OPTS(opts, .insn_limit = 1000);
	struct bpf_insn forever[] = {MOV64_IMM(0, 0), ALU64_IMM(BPF_ADD, 0, 1), JA(-2), EXIT()};
	struct bpf_insn count[] = {MOV64_IMM(0, 3), ALU64_IMM(BPF_SUB, 0, 1),
				   JMP_IMM(BPF_JNE, 0, 0, -2), EXIT()};
	struct bpftime_vm *vm = load_mode(forever, ARRAY_LEN(forever), true, &opts);
	struct bpftime_vm_run run = {0};

	assert_int_equal(bpftime_vm__run(vm, &run), -ELOOP);
	assert_int_equal(run.insns, 1000);
	bpftime_vm__free(vm);
	/* the count of executed instructions is exact: 1 + 3 * 2 + exit */
	vm = load_mode(count, ARRAY_LEN(count), true, NULL);
	assert_int_equal(bpftime_vm__run(vm, &run), 0);
	assert_int_equal(run.insns, 8);
	bpftime_vm__free(vm);
}

static uint64_t helper_check_ptr(uint64_t ptr, uint64_t size, uint64_t c, uint64_t d, uint64_t e,
				 const struct bpftime_vm_call *call)
{
	return bpftime_vm_call__access_ok(call, ptr, size, true) ? 1 : 0;
}

static void test_helper_access_ok_follows_mode(void **state)
{
	struct bpf_insn p[] = {MOV64_REG(1, 10),
			       ALU64_IMM(BPF_ADD, 1, -16),
			       MOV64_IMM(2, 16),
			       CALL_HELPER(3),
			       MOV64_REG(6, 0),
			       MOV64_IMM(1, 64),
			       MOV64_IMM(2, 8),
			       CALL_HELPER(3),
			       ALU64_IMM(BPF_LSH, 6, 1),
			       ALU64_REG(BPF_OR, 0, 6),
			       EXIT()};

	for (int checked = 0; checked < 2; checked++) {
		BPFTIME_VM_OPTS(opts, .bounds_check = checked);
		struct bpftime_vm *vm = bpftime_vm__new(&opts);
		uint64_t r0 = 0;

		assert_int_equal(bpftime_vm__register_helper(vm, 3, "check", helper_check_ptr), 0);
		assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
		assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
		/* stack: ok in both; address 64: only the unchecked mode trusts it */
		assert_int_equal(r0, checked ? 2 : 3);
		bpftime_vm__free(vm);
	}
}

static uint64_t helper_cookie(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			      const struct bpftime_vm_call *call)
{
	return (uint64_t)(uintptr_t)bpftime_vm_call__cookie(call) +
	       (uint64_t)(uintptr_t)bpftime_vm_call__host(call);
}

static void test_helper_sees_cookie_and_host(void **state)
{
	BPFTIME_VM_OPTS(opts, .host = (void *)(uintptr_t)1000);
	struct bpf_insn p[] = {CALL_HELPER(4), EXIT()};
	struct bpftime_vm *vm = bpftime_vm__new(&opts);
	struct bpftime_vm_run run = {.cookie = (void *)(uintptr_t)7};

	assert_int_equal(bpftime_vm__register_helper(vm, 4, "cookie", helper_cookie), 0);
	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
	assert_int_equal(bpftime_vm__run(vm, &run), 0);
	assert_int_equal(run.r0, 1007);
	bpftime_vm__free(vm);
}

static void test_misaligned_atomic_faults_in_both_modes(void **state)
{
	struct bpf_insn p[] = {ST(BPF_DW, 10, -16, 0), MOV64_IMM(1, 1),
			       ATOMIC(BPF_W, BPF_ADD, 10, 1, -14), EXIT()};

	expect_fault(p, ARRAY_LEN(p), false, NULL, 0, -EFAULT, 2);
	expect_fault(p, ARRAY_LEN(p), true, NULL, 0, -EFAULT, 2);
}

static void test_load_acquire_store_release(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(1, 0x1234), ATOMIC(BPF_H, 0x110, 10, 1, -2),
			       ATOMIC(BPF_DW, 0x100, 0, 10, -8), ALU64_IMM(BPF_RSH, 0, 48), EXIT()};
	struct bpf_insn pre[] = {ST(BPF_DW, 10, -8, 0)};
	struct bpf_insn full[ARRAY_LEN(p) + 1];

	full[0] = pre[0];
	memcpy(full + 1, p, sizeof(p));
	expect_r0(full, ARRAY_LEN(full), NULL, 0, 0x1234);
}

/* ---- atomics across threads ---- */

#define ATOMIC_THREADS 4
#define ATOMIC_ITERS   20000

struct atomic_job {
	const struct bpftime_vm *vm;
	uint64_t *shared;
	int err;
};

static void *atomic_worker(void *arg)
{
	struct atomic_job *job = arg;

	for (int i = 0; i < ATOMIC_ITERS && !job->err; i++)
		job->err = bpftime_vm__exec(job->vm, job->shared, 16, NULL);
	return NULL;
}

static void test_atomics_are_atomic_across_threads(void **state)
{
	/* lock add 64 on word 0; a cmpxchg retry loop adding 1 to word 1 (32-bit) */
	struct bpf_insn p[] = {
	    MOV64_IMM(2, 1),
	    ATOMIC(BPF_DW, BPF_ADD, 1, 2, 0),
	    LDX(BPF_W, 0, 1, 8),
	    MOV64_REG(3, 0),
	    ALU64_IMM(BPF_ADD, 3, 1),
	    ATOMIC(BPF_W, BPF_CMPXCHG, 1, 3, 8), /* r0 = old */
	    MOV64_REG(4, 3),
	    ALU64_IMM(BPF_SUB, 4, 1),
	    JMP_REG(BPF_JNE, 0, 4, -6), /* lost the race: retry with r0 */
	    EXIT(),
	};
	uint64_t shared[2] = {0};
	pthread_t th[ATOMIC_THREADS];
	struct atomic_job jobs[ATOMIC_THREADS];
	struct bpftime_vm *vm = load_mode(p, ARRAY_LEN(p), false, NULL);

	for (int i = 0; i < ATOMIC_THREADS; i++) {
		jobs[i] = (struct atomic_job){.vm = vm, .shared = shared};
		assert_int_equal(pthread_create(&th[i], NULL, atomic_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < ATOMIC_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].err, 0);
	}
	assert_int_equal(shared[0], ATOMIC_THREADS * ATOMIC_ITERS);
	assert_int_equal((uint32_t)shared[1], ATOMIC_THREADS * ATOMIC_ITERS);
	bpftime_vm__free(vm);
}

static void test_fused_pairs_keep_semantics(void **state)
{
	/* Pairs the fast mode fuses, checked against the unfused checked mode. */
	struct bpf_insn movs[] = {
	    LDDW64(1, 0xf0f0f0f0f0f0f0f0ull),
	    MOV64_REG(2, 1),
	    ALU64_IMM(BPF_ADD, 2, -16),
	    MOV64_REG(3, 1),
	    ALU64_IMM(BPF_AND, 3, 0x0ff0),
	    MOV64_REG(4, 1),
	    ALU64_IMM(BPF_OR, 4, 0x0f),
	    MOV64_REG(5, 1),
	    ALU64_IMM(BPF_LSH, 5, 68), /* masked to 4 */
	    MOV64_REG(6, 1),
	    ALU64_IMM(BPF_RSH, 6, 60),
	    MOV64_REG(7, 1),
	    ALU64_IMM(BPF_ARSH, 7, 60),
	    MOV64_REG(1, 1),
	    ALU64_IMM(BPF_ADD, 1, 1), /* same register */
	    MOV64_REG(0, 2),
	    ALU64_REG(BPF_XOR, 0, 3),
	    ALU64_REG(BPF_XOR, 0, 4),
	    ALU64_REG(BPF_XOR, 0, 5),
	    ALU64_REG(BPF_XOR, 0, 6),
	    ALU64_REG(BPF_XOR, 0, 7),
	    ALU64_REG(BPF_XOR, 0, 1),
	    EXIT(),
	};
	uint64_t v = 0xf0f0f0f0f0f0f0f0ull;
	uint64_t want = (v - 16) ^ (v & 0x0ff0) ^ (v | 0x0f) ^ (v << 4) ^ (v >> 60) ^
			(uint64_t)((int64_t)v >> 60) ^ (v + 1);
	/* lddw r1, imm; add r1, r1 must double the value, not add the old r1 */
	struct bpf_insn selfadd[] = {MOV64_IMM(1, 5), LDDW64(1, 100), ALU64_REG(BPF_ADD, 1, 1),
				     MOV64_REG(0, 1), EXIT()};
	struct bpf_insn lddwadd[] = {MOV64_IMM(2, 5), LDDW64(1, 100), ALU64_REG(BPF_ADD, 1, 2),
				     MOV64_REG(0, 1), EXIT()};
	/* a jump to the second of a pair: the pair must not be fused */
	struct bpf_insn target[] = {MOV64_IMM(1, 10),           MOV64_IMM(0, 1),
				    JMP_IMM(BPF_JEQ, 1, 10, 1), MOV64_REG(0, 1),
				    ALU64_IMM(BPF_ADD, 0, 7),   EXIT()};

	expect_r0(movs, ARRAY_LEN(movs), NULL, 0, want);
	expect_r0(selfadd, ARRAY_LEN(selfadd), NULL, 0, 200);
	expect_r0(lddwadd, ARRAY_LEN(lddwadd), NULL, 0, 105);
	expect_r0(target, ARRAY_LEN(target), NULL, 0, 8);
}

static void test_run_before_load(void **state)
{
	struct bpftime_vm *vm = bpftime_vm__new(NULL);
	struct bpftime_vm_run run = {0};

	assert_int_equal(bpftime_vm__run(vm, &run), -ENOEXEC);
	assert_int_equal(run.fault.err, -ENOEXEC);
	bpftime_vm__free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alu_edge_cases),
	    cmocka_unit_test(test_local_call_preserves_callee_saved_and_frames),
	    cmocka_unit_test(test_call_depth_limit),
	    cmocka_unit_test(test_callx_function_and_helper),
	    cmocka_unit_test(test_callx_to_garbage_faults),
	    cmocka_unit_test(test_helpers_get_args_and_return),
	    cmocka_unit_test(test_bpf_loop),
	    cmocka_unit_test(test_bpf_loop_helper_and_inline_agree),
	    cmocka_unit_test(test_bpf_loop_errors),
	    cmocka_unit_test(test_bpf_loop_callback_counts_as_a_frame),
	    cmocka_unit_test(test_fault_inside_callback_stops_run),
	    cmocka_unit_test(test_tail_call_chain_limit),
	    cmocka_unit_test(test_tail_call_into_other_program_and_empty_slot),
	    cmocka_unit_test(test_tail_call_from_function_returns_to_its_caller),
	    cmocka_unit_test(test_tail_call_without_hook_needs_helper),
	    cmocka_unit_test(test_checked_load_outside_ctx_faults),
	    cmocka_unit_test(test_fast_vm_checked_per_run),
	    cmocka_unit_test(test_checked_stack_bounds),
	    cmocka_unit_test(test_checked_stack_starts_zeroed),
	    cmocka_unit_test(test_checked_keep_stack),
	    cmocka_unit_test(test_checked_ctx_readonly),
	    cmocka_unit_test(test_checked_regions_and_permissions),
	    cmocka_unit_test(test_checked_access_callback),
	    cmocka_unit_test(test_checked_insn_limit),
	    cmocka_unit_test(test_helper_access_ok_follows_mode),
	    cmocka_unit_test(test_helper_sees_cookie_and_host),
	    cmocka_unit_test(test_misaligned_atomic_faults_in_both_modes),
	    cmocka_unit_test(test_load_acquire_store_release),
	    cmocka_unit_test(test_atomics_are_atomic_across_threads),
	    cmocka_unit_test(test_fused_pairs_keep_semantics),
	    cmocka_unit_test(test_run_before_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
