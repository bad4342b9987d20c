// SPDX-License-Identifier: MIT
/*
 * vm load-time checks: every rejection path, with the errno and the message
 * naming the instruction, as the kernel verifier words them where it has
 * an equivalent check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpftime/vm.h>
#include "insn.h"

static uint64_t helper_ret1(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			    const struct bpftime_vm_call *call)
{
	return a;
}

struct reject_case {
	const char *name;
	struct bpf_insn insns[8];
	size_t cnt;
	int err;
	const char *msg; /* substring of the load message */
};

#define CASE(NAME, ERR, MSG, ...)                                                                  \
	{                                                                                          \
		.name = NAME, .insns = {__VA_ARGS__},                                              \
		.cnt = sizeof((struct bpf_insn[]){__VA_ARGS__}) / sizeof(struct bpf_insn),         \
		.err = ERR, .msg = MSG                                                             \
	}

static const struct reject_case reject_cases[] = {
    /* unknown opcodes */
    CASE("alu op 0xe0", -EINVAL, "insn 0: unknown opcode e7", INSN(0xe7, 0, 0, 0, 0), EXIT()),
    CASE("jmp op 0xf0", -EINVAL, "insn 0: unknown opcode f5", INSN(0xf5, 0, 0, 0, 0), EXIT()),
    CASE("may_goto", -EINVAL, "insn 0: unknown opcode e5", INSN(0xe5, 0, 0, 0, 0), EXIT()),
    CASE("memsx dw", -EINVAL, "insn 0: unknown opcode 99",
	 INSN(BPF_LDX | BPF_MEMSX_ | BPF_DW, 0, 1, 0, 0), EXIT()),
    CASE("ldx mode imm", -EINVAL, "insn 0: unknown opcode 01", INSN(BPF_LDX, 0, 1, 0, 0), EXIT()),
    CASE("st atomic", -EINVAL, "insn 0: unknown opcode c2",
	 INSN(BPF_ST | BPF_ATOMIC | BPF_W, 10, 0, -8, 0), EXIT()),
    CASE("ld imm w", -EINVAL, "insn 0: unknown opcode 00",
	 INSN(BPF_LD | BPF_IMM | BPF_W, 0, 0, 0, 0), EXIT()),
    CASE("jmp32 exit", -EINVAL, "insn 1: unknown opcode 96", MOV64_IMM(0, 0),
	 INSN(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0)),
    CASE("jmp32 call", -EINVAL, "insn 0: unknown opcode 86", INSN(BPF_JMP32 | BPF_CALL, 0, 0, 0, 1),
	 EXIT()),
    CASE("legacy ld_abs", -EINVAL, "insn 0: legacy packet access",
	 INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), EXIT()),
    /* registers */
    CASE("dst r11", -EINVAL, "insn 0: R11 is invalid", MOV64_IMM(11, 0), EXIT()),
    CASE("src r12", -EINVAL, "insn 1: R12 is invalid", MOV64_IMM(0, 0), MOV64_REG(0, 12), EXIT()),
    CASE("dst r15 store", -EINVAL, "insn 0: R15 is invalid", STX(BPF_DW, 15, 1, 0), EXIT()),
    CASE("write r10 alu", -EACCES, "insn 0: frame pointer is read only", MOV64_IMM(10, 0), EXIT()),
    CASE("write r10 ldx", -EACCES, "insn 0: frame pointer is read only", LDX(BPF_DW, 10, 1, 0),
	 EXIT()),
    CASE("write r10 lddw", -EACCES, "insn 0: frame pointer is read only", LDDW64(10, 1), EXIT()),
    CASE("write r10 atomic fetch", -EACCES, "insn 0: frame pointer is read only",
	 ATOMIC(BPF_DW, BPF_ADD | BPF_FETCH, 1, 10, 0), EXIT()),
    /* ld_imm64 */
    CASE("lddw last", -EINVAL, "insn 1: incomplete ld_imm64", MOV64_IMM(0, 0),
	 INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0)),
    CASE("lddw bad second half", -EINVAL, "insn 0: invalid bpf_ld_imm64 insn",
	 INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0), INSN(BPF_ALU64, 0, 0, 0, 0), EXIT()),
    CASE("lddw second half dst", -EINVAL, "insn 0: invalid bpf_ld_imm64 insn",
	 INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0), INSN(0, 1, 0, 0, 0), EXIT()),
    CASE("lddw off", -EINVAL, "insn 0: BPF_LD_IMM64 uses reserved fields",
	 INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 1, 0), INSN(0, 0, 0, 0, 0), EXIT()),
    CASE("lddw pseudo 7", -EINVAL, "insn 0: unrecognized bpf_ld_imm64 insn", LDDW(0, 7, 0, 0),
	 EXIT()),
    CASE("lddw map without resolver", -EINVAL, "insn 0: ld_imm64 with pseudo src 1 needs maps",
	 LDDW(0, BPF_PSEUDO_MAP_FD, 3, 0), EXIT()),
    CASE("lddw func out of range", -EINVAL, "insn 0: function offset 0+40+1 is out of range",
	 LDDW(1, BPF_PSEUDO_FUNC, 40, 0), EXIT()),
    CASE("lddw func bad hi", -EINVAL, "insn 0: invalid bpf_ld_imm64 insn",
	 LDDW(1, BPF_PSEUDO_FUNC, 2, 1), EXIT(), EXIT()),
    /* jumps */
    CASE("jump past end", -EINVAL, "insn 0: jump out of range to insn 6", JA(5), EXIT()),
    CASE("jump before start", -EINVAL, "insn 1: jump out of range to insn -1", MOV64_IMM(0, 0),
	 JMP_IMM(BPF_JEQ, 0, 0, -3), EXIT()),
    CASE("jump into lddw", -EINVAL, "insn 0: jump into the middle of ld_imm64 at insn 2",
	 JMP_IMM(BPF_JEQ, 1, 0, 1), LDDW64(0, 5), EXIT()),
    CASE("gotol past end", -EINVAL, "insn 0: jump out of range to insn 100",
	 INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, 99), EXIT()),
    CASE("jump into other function", -EINVAL, "insn 3: jump out of range from insn 3 to 1",
	 CALL_LOCAL(2), MOV64_IMM(0, 0), EXIT(), JA(-3), EXIT()),
    /* falling off the end */
    CASE("no exit", -EINVAL, "insn 1: last insn is not an exit or jmp", MOV64_IMM(0, 0),
	 MOV64_IMM(0, 1)),
    CASE("function without exit", -EINVAL, "insn 1: last insn is not an exit or jmp", CALL_LOCAL(1),
	 MOV64_IMM(0, 1), EXIT()),
    CASE("function falls off end", -EINVAL, "insn 3: last insn is not an exit or jmp",
	 CALL_LOCAL(1), EXIT(), MOV64_IMM(0, 1), MOV64_IMM(0, 2)),
    /* calls */
    CASE("call out of range", -EINVAL, "insn 0: function offset 0+7+1 is out of range",
	 CALL_LOCAL(7), EXIT()),
    CASE("call before start", -EINVAL, "insn 0: function offset 0+-2+1 is out of range",
	 CALL_LOCAL(-2), EXIT()),
    CASE("call into lddw", -EINVAL, "insn 2: call into the middle of ld_imm64", CALL_LOCAL(1),
	 LDDW64(0, 1), EXIT()),
    CASE("unknown helper", -EINVAL, "insn 0: invalid func unknown#99", CALL_HELPER(99), EXIT()),
    CASE("helper 0", -EINVAL, "insn 0: invalid func unknown#0", CALL_HELPER(0), EXIT()),
    CASE("negative helper", -EINVAL, "insn 0: invalid func unknown#-1", CALL_HELPER(-1), EXIT()),
    CASE("kfunc", -EINVAL, "insn 0: calls to kernel functions",
	 INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1234), EXIT()),
    CASE("call off", -EINVAL, "insn 0: BPF_CALL uses reserved fields",
	 INSN(BPF_JMP | BPF_CALL, 0, 0, 1, 1), EXIT()),
    CASE("call dst", -EINVAL, "insn 0: BPF_CALL uses reserved fields",
	 INSN(BPF_JMP | BPF_CALL, 1, 0, 0, 1), EXIT()),
    CASE("call src 3", -EINVAL, "insn 0: BPF_CALL uses reserved fields",
	 INSN(BPF_JMP | BPF_CALL, 0, 3, 0, 1), EXIT()),
    CASE("callx imm", -EINVAL, "insn 0: BPF_CALLX uses reserved fields",
	 INSN(BPF_JMP | BPF_CALL | BPF_X, 1, 0, 0, 1), EXIT()),
    /* reserved fields */
    CASE("alu off 2", -EINVAL, "insn 0: BPF_ALU uses reserved fields",
	 INSN(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 2, 1), EXIT()),
    CASE("add off 1", -EINVAL, "insn 0: BPF_ALU uses reserved fields",
	 INSN(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 1, 0), EXIT()),
    CASE("alu x imm", -EINVAL, "insn 0: BPF_ALU uses reserved fields",
	 INSN(BPF_ALU | BPF_ADD | BPF_X, 0, 1, 0, 7), EXIT()),
    CASE("alu k src", -EINVAL, "insn 0: BPF_ALU uses reserved fields",
	 INSN(BPF_ALU | BPF_SUB | BPF_K, 0, 1, 0, 7), EXIT()),
    CASE("neg x", -EINVAL, "insn 0: BPF_NEG uses reserved fields",
	 INSN(BPF_ALU64 | BPF_NEG | BPF_X, 0, 1, 0, 0), EXIT()),
    CASE("neg imm", -EINVAL, "insn 0: BPF_NEG uses reserved fields",
	 INSN(BPF_ALU64 | BPF_NEG | BPF_K, 0, 0, 0, 1), EXIT()),
    CASE("end imm 8", -EINVAL, "insn 0: BPF_END uses reserved fields",
	 INSN(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 8), EXIT()),
    CASE("bswap to_be", -EINVAL, "insn 0: BPF_END uses reserved fields",
	 INSN(BPF_ALU64 | BPF_END | BPF_TO_BE, 0, 0, 0, 16), EXIT()),
    CASE("mov k src", -EINVAL, "insn 0: BPF_MOV uses reserved fields",
	 INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 1, 0, 0), EXIT()),
    CASE("movsx 32 on alu32", -EINVAL, "insn 0: BPF_MOV uses reserved fields",
	 INSN(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 32, 0), EXIT()),
    CASE("movsx 4", -EINVAL, "insn 0: BPF_MOV uses reserved fields",
	 INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 4, 0), EXIT()),
    CASE("ldx imm", -EINVAL, "insn 0: BPF_LDX uses reserved fields",
	 INSN(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 1), EXIT()),
    CASE("stx imm", -EINVAL, "insn 0: BPF_STX uses reserved fields",
	 INSN(BPF_STX | BPF_MEM | BPF_W, 1, 2, 0, 1), EXIT()),
    CASE("st src", -EINVAL, "insn 0: BPF_ST uses reserved fields",
	 INSN(BPF_ST | BPF_MEM | BPF_W, 1, 2, 0, 1), EXIT()),
    CASE("atomic bad op", -EINVAL, "insn 0: BPF_ATOMIC uses invalid atomic opcode 10",
	 ATOMIC(BPF_DW, BPF_SUB, 1, 2, 0), EXIT()),
    CASE("atomic byte", -EINVAL, "insn 0: invalid atomic operand size",
	 ATOMIC(BPF_B, BPF_ADD, 1, 2, 0), EXIT()),
    CASE("ja src", -EINVAL, "insn 0: BPF_JA uses reserved fields",
	 INSN(BPF_JMP | BPF_JA, 0, 1, 0, 0), EXIT()),
    CASE("ja imm", -EINVAL, "insn 0: BPF_JA uses reserved fields",
	 INSN(BPF_JMP | BPF_JA, 0, 0, 0, 1), EXIT()),
    CASE("gotol off", -EINVAL, "insn 0: BPF_JA uses reserved fields",
	 INSN(BPF_JMP32 | BPF_JA, 0, 0, 1, 0), EXIT()),
    CASE("exit dst", -EINVAL, "insn 0: BPF_EXIT uses reserved fields",
	 INSN(BPF_JMP | BPF_EXIT, 1, 0, 0, 0)),
    CASE("jeq k src", -EINVAL, "insn 0: BPF_JMP/JMP32 uses reserved fields",
	 INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0, 0), EXIT()),
    CASE("jeq x imm", -EINVAL, "insn 0: BPF_JMP/JMP32 uses reserved fields",
	 INSN(BPF_JMP32 | BPF_JEQ | BPF_X, 0, 1, 0, 5), EXIT()),
};

static void test_rejects_malformed_programs(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(reject_cases); i++) {
		const struct reject_case *c = &reject_cases[i];
		struct bpftime_vm *vm = bpftime_vm__new(NULL);
		int err;

		assert_non_null(vm);
		assert_int_equal(bpftime_vm__register_helper(vm, 1, "ret1", helper_ret1), 0);
		err = bpftime_vm__load(vm, c->insns, c->cnt);
		if (err != c->err || !strstr(bpftime_vm__last_error(vm), c->msg))
			fail_msg("case '%s': got %d '%s', want %d '%s'", c->name, err,
				 bpftime_vm__last_error(vm), c->err, c->msg);
		/* nothing half-loaded: a failed load leaves no program to run */
		assert_int_equal(bpftime_vm__exec(vm, NULL, 0, NULL), -ENOEXEC);
		assert_null(bpftime_vm__insns(vm, NULL));
		bpftime_vm__free(vm);
	}
}

static void test_rejects_empty_program(void **state)
{
	struct bpftime_vm *vm = bpftime_vm__new(NULL);
	struct bpf_insn one = EXIT();

	assert_int_equal(bpftime_vm__load(vm, NULL, 0), -EINVAL);
	assert_non_null(strstr(bpftime_vm__last_error(vm), "no instructions"));
	assert_int_equal(bpftime_vm__load(vm, &one, 0), -EINVAL);
	bpftime_vm__free(vm);
}

static void test_rejects_too_many_insns(void **state)
{
	BPFTIME_VM_OPTS(opts, .max_insns = 4);
	struct bpf_insn p[] = {MOV64_IMM(0, 0), MOV64_IMM(0, 1), MOV64_IMM(0, 2), MOV64_IMM(0, 3),
			       EXIT()};
	struct bpftime_vm *vm = bpftime_vm__new(&opts);

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), -E2BIG);
	assert_non_null(strstr(bpftime_vm__last_error(vm), "too large: 5 insns (max 4)"));
	/* exactly the limit loads */
	assert_int_equal(bpftime_vm__load(vm, p + 1, 4), 0);
	bpftime_vm__free(vm);
}

static void test_default_insn_limit_is_kernels(void **state)
{
	size_t n = BPFTIME_VM_MAX_INSNS + 1;
	struct bpf_insn *p = calloc(n, sizeof(*p));
	struct bpftime_vm *vm = bpftime_vm__new(NULL);

	for (size_t i = 0; i < n; i++)
		p[i] = (struct bpf_insn)MOV64_IMM(0, 1);
	p[n - 1] = (struct bpf_insn)EXIT();
	assert_int_equal(bpftime_vm__load(vm, p, n), -E2BIG);
	bpftime_vm__free(vm);
	vm = bpftime_vm__new(NULL);
	assert_int_equal(bpftime_vm__load(vm, p + 1, n - 1), 0);
	bpftime_vm__free(vm);
	free(p);
}

static void test_load_twice_is_busy(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(0, 7), EXIT()};
	struct bpftime_vm *vm = bpftime_vm__new(NULL);
	uint64_t r0 = 0;

	assert_int_equal(bpftime_vm__load(vm, p, 2), 0);
	assert_int_equal(bpftime_vm__load(vm, p, 2), -EBUSY);
	assert_int_equal(bpftime_vm__register_helper(vm, 1, "late", helper_ret1), -EBUSY);
	/* the loaded program is untouched */
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 7);
	bpftime_vm__free(vm);
}

static void test_register_helper_args(void **state)
{
	struct bpftime_vm *vm = bpftime_vm__new(NULL);

	assert_int_equal(bpftime_vm__register_helper(vm, 0, "zero", helper_ret1), -EINVAL);
	assert_int_equal(
	    bpftime_vm__register_helper(vm, BPFTIME_VM_MAX_HELPER_ID + 1, "big", helper_ret1),
	    -EINVAL);
	assert_int_equal(bpftime_vm__register_helper(vm, 3, "null", NULL), -EINVAL);
	assert_int_equal(
	    bpftime_vm__register_helper(vm, BPFTIME_VM_MAX_HELPER_ID, "max", helper_ret1), 0);
	bpftime_vm__free(vm);
}

static void test_opts_validation(void **state)
{
	struct {
		struct bpftime_vm_opts opts;
		uint64_t future_field;
	} big = {.opts = {.sz = sizeof(big)}, .future_field = 1};
	BPFTIME_VM_OPTS(jit, .engine = (enum bpftime_vm_engine)1);
	struct bpftime_vm_opts tiny = {.sz = 1};

	errno = 0;
	assert_null(bpftime_vm__new(&big.opts));
	assert_int_equal(errno, E2BIG);
	/* zero tail from a newer caller is fine */
	big.future_field = 0;
	bpftime_vm__free(bpftime_vm__new(&big.opts));
	assert_null(bpftime_vm__new(&jit));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_null(bpftime_vm__new(&tiny));
	assert_int_equal(errno, EINVAL);
}

static void test_add_region_args(void **state)
{
	struct bpftime_vm *vm = bpftime_vm__new(NULL);
	char buf[16];

	assert_int_equal(bpftime_vm__add_region(vm, buf, 0, BPFTIME_VM_REGION_READ), -EINVAL);
	assert_int_equal(bpftime_vm__add_region(vm, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(bpftime_vm__add_region(vm, buf, sizeof(buf), 8), -EINVAL);
	assert_int_equal(
	    bpftime_vm__add_region(vm, (void *)(uintptr_t)-8, 16, BPFTIME_VM_REGION_READ), -EINVAL);
	for (int i = 0; i < BPFTIME_VM_MAX_REGIONS; i++)
		assert_int_equal(
		    bpftime_vm__add_region(vm, buf, sizeof(buf), BPFTIME_VM_REGION_READ), 0);
	assert_int_equal(bpftime_vm__add_region(vm, buf, sizeof(buf), BPFTIME_VM_REGION_READ),
			 -ENOSPC);
	bpftime_vm__free(vm);
}

struct resolver_log {
	struct bpftime_vm_ldimm64 req[4];
	int n;
	int fail;
};

static int resolver(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct resolver_log *log = host;

	if (log->fail)
		return log->fail;
	log->req[log->n++] = *req;
	*value = 0x1000000000ull * (uint64_t)req->imm + (uint64_t)req->next_imm;
	return 0;
}

static void test_pseudo_ldimm64_goes_through_resolver(void **state)
{
	struct resolver_log log = {0};
	BPFTIME_VM_OPTS(opts, .host = &log, .resolve_ldimm64 = resolver);
	struct bpf_insn p[] = {
	    LDDW(1, BPF_PSEUDO_MAP_FD, 3, 0),
	    LDDW(2, BPF_PSEUDO_MAP_VALUE, 4, 16),
	    LDDW(3, BPF_PSEUDO_MAP_IDX_VALUE, 5, 24),
	    MOV64_REG(0, 3),
	    EXIT(),
	};
	struct bpftime_vm *vm = bpftime_vm__new(&opts);
	const struct bpf_insn *loaded;
	uint64_t r0 = 0;
	size_t cnt = 0;

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.req[0].insn_idx, 0);
	assert_int_equal(log.req[0].src, BPF_PSEUDO_MAP_FD);
	assert_int_equal(log.req[0].imm, 3);
	assert_int_equal(log.req[1].insn_idx, 2);
	assert_int_equal(log.req[1].next_imm, 16);
	assert_int_equal(log.req[2].src, BPF_PSEUDO_MAP_IDX_VALUE);
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 0x5000000000ull + 24);
	/* the loaded copy carries plain 64-bit immediates, as the kernel rewrites fds */
	loaded = bpftime_vm__insns(vm, &cnt);
	assert_int_equal(cnt, ARRAY_LEN(p));
	assert_int_equal(loaded[4].src_reg, 0);
	assert_int_equal((uint32_t)loaded[4].imm, 24);
	assert_int_equal(loaded[5].imm, 5 * 0x10);
	bpftime_vm__free(vm);
}

static void test_resolver_error_fails_load(void **state)
{
	struct resolver_log log = {.fail = -EBADF};
	BPFTIME_VM_OPTS(opts, .host = &log, .resolve_ldimm64 = resolver);
	struct bpf_insn p[] = {MOV64_IMM(0, 0), LDDW(1, BPF_PSEUDO_MAP_FD, 99, 0), EXIT()};
	struct bpftime_vm *vm = bpftime_vm__new(&opts);

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), -EBADF);
	assert_non_null(strstr(bpftime_vm__last_error(vm), "insn 1: cannot resolve ld_imm64"));
	bpftime_vm__free(vm);
}

static void test_accepts_every_valid_form(void **state)
{
	/* One of each encoding family the decoder knows, in a program that loads. */
	struct bpf_insn p[] = {
	    INSN(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, 3),      /* sdiv */
	    INSN(BPF_ALU | BPF_MOD | BPF_X, 0, 1, 1, 0),        /* smod32 */
	    INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 32, 0),     /* movsx 32->64 */
	    INSN(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 16, 0),       /* movsx 16->32 */
	    INSN(BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 0, 0, 64), /* bswap64 */
	    INSN(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 16),   /* be16 */
	    INSN(BPF_LDX | BPF_MEMSX_ | BPF_H, 0, 10, -8, 0),   /* ldxsh */
	    ATOMIC(BPF_W, BPF_CMPXCHG, 10, 1, -8),
	    ATOMIC(BPF_DW, BPF_XCHG, 10, 1, -8),
	    ATOMIC(BPF_B, 0x100, 2, 10, -8),      /* load-acquire */
	    ATOMIC(BPF_H, 0x110, 10, 1, -8),      /* store-release */
	    INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), /* gotol +0 */
	    INSN(BPF_JMP32 | BPF_JSLE | BPF_X, 0, 1, 0, 0),
	    EXIT(),
	};
	struct bpftime_vm *vm = bpftime_vm__new(NULL);

	assert_int_equal(bpftime_vm__load(vm, p, ARRAY_LEN(p)), 0);
	assert_string_equal(bpftime_vm__last_error(vm), "");
	bpftime_vm__free(vm);
}

static void test_free_accepts_null(void **state)
{
	bpftime_vm__free(NULL);
	assert_string_equal(bpftime_vm__last_error(NULL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rejects_malformed_programs),
	    cmocka_unit_test(test_rejects_empty_program),
	    cmocka_unit_test(test_rejects_too_many_insns),
	    cmocka_unit_test(test_default_insn_limit_is_kernels),
	    cmocka_unit_test(test_load_twice_is_busy),
	    cmocka_unit_test(test_register_helper_args),
	    cmocka_unit_test(test_opts_validation),
	    cmocka_unit_test(test_add_region_args),
	    cmocka_unit_test(test_pseudo_ldimm64_goes_through_resolver),
	    cmocka_unit_test(test_resolver_error_fails_load),
	    cmocka_unit_test(test_accepts_every_valid_form),
	    cmocka_unit_test(test_free_accepts_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
