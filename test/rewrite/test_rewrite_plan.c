// SPDX-License-Identifier: MIT
/*
 * The planner on byte buffers: what each kind of displaced instruction
 * becomes, and every refusal with its message. The code is never run here
 * (test_rewrite_apply.c runs patched code).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bpftime/rewrite.h"

#define BASE 0x401000UL

struct plan_case {
	const char *name;
	uint8_t code[24];
	size_t len;
	size_t site;      /* offset of the site in code */
	size_t func_size; /* 0: the function is the whole buffer */
	int err;
	const char *msg; /* a substring of the refusal */
	uint8_t orig_len;
};

static const struct plan_case cases[] = {
    {"rip-relative load", {0x48, 0x8b, 0x05, 0x10, 0, 0, 0, 0xc3}, 8, 0, 0, 0, NULL, 7},
    {"short jcc", {0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0xc3}, 7, 0, 0, 0, NULL, 5},
    {"call rel32", {0x53, 0xe8, 0x10, 0, 0, 0, 0x5b, 0xc3}, 8, 0, 0, 0, NULL, 6},
    {"call [rip+x]", {0x53, 0xff, 0x15, 0x10, 0, 0, 0, 0x5b, 0xc3}, 9, 0, 0, 0, NULL, 7},
    {"call %rax inside the jmp", {0x53, 0xff, 0xd0, 0x5b, 0x90, 0xc3}, 6, 0, 0, 0, NULL, 5},
    {"endbr64; push", {0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xc3}, 9, 0, 0, 0, NULL, 5},
    /* loops inside the patch (see the last cases) */
    {"jmp back to the site", {0x90, 0x90, 0x90, 0xeb, 0xfb}, 5, 0, 0, -EOPNOTSUPP, "loops back", 0},
    {"jrcxz", {0x48, 0x89, 0xf9, 0xe3, 0x01, 0xc3, 0xc3}, 7, 0, 0, 0, NULL, 5},
    {"cmp [rip+x], imm8", {0x48, 0x83, 0x3d, 0x10, 0, 0, 0, 0x05, 0xc3}, 9, 0, 0, 0, NULL, 8},
    {"site mid-function", {0x31, 0xc0, 0x0f, 0x1f, 0x44, 0, 0, 0xc3}, 8, 2, 0, 0, NULL, 5},
    {"jmp followed by displaced bytes",
     {0xeb, 0x03, 0x90, 0x90, 0x90, 0xc3},
     6,
     0,
     0,
     -EOPNOTSUPP,
     "unconditional jmp/ret",
     0},
    {"function shorter than the jmp",
     {0x31, 0xc0, 0xc3, 0xcc, 0xcc, 0xcc},
     6,
     0,
     3,
     -EOPNOTSUPP,
     "unconditional",
     0},
    {"function ends inside the displaced range",
     {0x31, 0xc0, 0x31, 0xc9, 0x90, 0x90, 0x90},
     7,
     0,
     4,
     -EOPNOTSUPP,
     "run past the end",
     0},
    {"loop back into the range",
     {0x31, 0xc0, 0x48, 0x01, 0xf8, 0x48, 0xff, 0xcf, 0x75, 0xf8, 0xc3},
     11,
     0,
     0,
     -EOPNOTSUPP,
     "branches to site+2",
     0},
    {"xbegin", {0xc7, 0xf8, 0, 0, 0, 0, 0xc3}, 7, 0, 0, -EOPNOTSUPP, "xbegin", 0},
    {"int3", {0xcc, 0x90, 0x90, 0x90, 0x90, 0xc3}, 6, 0, 0, -EOPNOTSUPP, "int3", 0},
    {"ud2", {0x0f, 0x0b, 0x90, 0x90, 0x90, 0xc3}, 6, 0, 0, -EOPNOTSUPP, "ud2", 0},
    {"rel16 jmp", {0x66, 0xe9, 0, 0, 0x90, 0xc3}, 6, 0, 0, -EOPNOTSUPP, "prefixed branch", 0},
    {"call [rsp+8]", {0xff, 0x54, 0x24, 0x08, 0x90, 0xc3}, 6, 0, 0, -EOPNOTSUPP, "through %rsp", 0},
    /* a thread asleep in a covered syscall would resume inside the jmp
     * (glibc's __read_nocancel: xor %eax,%eax; syscall; cmp ...) */
    {"syscall under the jmp",
     {0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0, 0xf0, 0xff, 0xff, 0xc3},
     11,
     0,
     0,
     -EOPNOTSUPP,
     "'syscall' cannot be covered",
     0},
    {"sysenter under the jmp",
     {0x90, 0x0f, 0x34, 0x90, 0x90, 0xc3},
     6,
     0,
     0,
     -EOPNOTSUPP,
     "'sysenter'",
     0},
    /* mov $39,%eax; syscall: the syscall starts past the 5 bytes and stays */
    {"syscall after the jmp", {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3}, 8, 0, 0, 0, NULL, 5},
    {"truncated", {0x48, 0x8b, 0x05, 0x10}, 4, 0, 0, -ENOEXEC, "no valid instruction", 0},
    {"not an instruction boundary",
     {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0xc3},
     11,
     3,
     0,
     -EOPNOTSUPP,
     "not an instruction boundary",
     0},
    /* a loop inside the patch: a thread spinning in it would be inside the
     * jmp when it lands (sub $1,%rdi; jnz site; ret) */
    {"loop within the displaced bytes",
     {0x48, 0x83, 0xef, 0x01, 0x75, 0xfa, 0xc3},
     7,
     0,
     0,
     -EOPNOTSUPP,
     "loops back to site+0",
     0},
};

static int plan_one(const struct plan_case *c, struct bpftime_rw_plan *plan, char *err,
		    size_t err_sz)
{
	struct bpftime_rw_plan_opts opts = {.sz = sizeof(opts), .errbuf = err, .errbuf_sz = err_sz};

	opts.func_start = BASE;
	opts.func_size = c->func_size ? c->func_size : c->len;
	return bpftime_rw__plan(c->code, c->len, BASE, BASE + c->site, &opts, plan);
}

static void test_plan_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plan_case *c = &cases[i];
		struct bpftime_rw_plan plan;
		char err[256];
		int ret = plan_one(c, &plan, err, sizeof(err));

		print_message("%-42s -> %d %s\n", c->name, ret, err);
		assert_int_equal(ret, c->err);
		if (c->msg)
			assert_non_null(strstr(err, c->msg));
		if (ret)
			continue;
		assert_int_equal(plan.orig_len, c->orig_len);
		assert_memory_equal(plan.orig, c->code + c->site, plan.orig_len);
		assert_int_equal(plan.size, sizeof(plan));
		assert_int_equal(plan.version, BPFTIME_RW_PLAN_VERSION);
	}
}

static const struct bpftime_rw_fixup *find_fixup(const struct bpftime_rw_plan *plan, uint16_t kind,
						 int64_t target)
{
	unsigned int i;

	for (i = 0; i < plan->nr_fixups; i++)
		if (plan->fixups[i].kind == kind && plan->fixups[i].target == target)
			return &plan->fixups[i];
	return NULL;
}

/* The template: the insn copied, its disp re-aimed at site+7+0x10, jmp back */
static void test_plan_rip_relative_fixup(void **state)
{
	struct bpftime_rw_plan plan;
	const struct bpftime_rw_fixup *f;

	assert_int_equal(plan_one(&cases[0], &plan, NULL, 0), 0);
	assert_memory_equal(plan.code, "\x48\x8b\x05", 3);
	f = find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 7 + 0x10);
	assert_non_null(f);
	assert_int_equal(f->off, 3);
	assert_int_equal(f->end, 7);
	assert_int_equal(plan.code[7], 0xe9); /* jmp site+7 */
	assert_non_null(find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 7));
	assert_int_equal(plan.reach_max, 0x17);
}

/* je rel8 -> je rel32 (0f 84) to the original target */
static void test_plan_short_jcc_becomes_near(void **state)
{
	struct bpftime_rw_plan plan;
	const struct bpftime_rw_fixup *f;

	assert_int_equal(plan_one(&cases[1], &plan, NULL, 0), 0);
	assert_memory_equal(plan.code, "\x48\x85\xff\x0f\x84", 5);
	f = find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 6);
	assert_non_null(f);
	assert_int_equal(f->off, 5);
	assert_int_equal(f->end, 9);
}

/* call rel32 -> push [rip+lit]; jmp target; lit = site+6 (ABS64) */
static void test_plan_call_pushes_original_return(void **state)
{
	struct bpftime_rw_plan plan;
	const struct bpftime_rw_fixup *lit, *jmp;
	int32_t disp;

	assert_int_equal(plan_one(&cases[2], &plan, NULL, 0), 0);
	assert_memory_equal(plan.code, "\x53\xff\x35", 3);
	lit = find_fixup(&plan, BPFTIME_RW_FIXUP_ABS64, 6);
	jmp = find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 6 + 0x10);
	assert_non_null(lit);
	assert_non_null(jmp);
	assert_int_equal(lit->off % 8, 0);
	memcpy(&disp, plan.code + 3, 4);
	assert_int_equal(7 + disp, lit->off); /* the push reads the literal */
	assert_int_equal(plan.code[7], 0xe9);
	/* no jmp back: the callee returns to site+6 in the original code */
	assert_null(find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 6));
}

/* jrcxz has no rel32 form: jrcxz +2; jmp +5; jmp target */
static void test_plan_jrcxz_rewritten(void **state)
{
	struct bpftime_rw_plan plan;

	assert_int_equal(plan_one(&cases[7], &plan, NULL, 0), 0);
	assert_memory_equal(plan.code, "\x48\x89\xf9\xe3\x02\xeb\x05\xe9", 8);
	assert_non_null(find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 6));
}

/* call [rip+x] -> push lit; jmp [rip+x'] (ff 25) */
static void test_plan_call_mem_becomes_jmp_mem(void **state)
{
	struct bpftime_rw_plan plan;

	assert_int_equal(plan_one(&cases[3], &plan, NULL, 0), 0);
	assert_memory_equal(plan.code, "\x53\xff\x35", 3);
	assert_memory_equal(plan.code + 7, "\xff\x25", 2);
	assert_non_null(find_fixup(&plan, BPFTIME_RW_FIXUP_REL32, 7 + 0x10));
	assert_non_null(find_fixup(&plan, BPFTIME_RW_FIXUP_ABS64, 7));
}

/* a branch elsewhere in the buffer (another function) into the range */
static void test_plan_branch_from_elsewhere_refused(void **state)
{
	/* site: nop5; ret | elsewhere: jmp site+3 */
	uint8_t code[] = {0x0f, 0x1f, 0x44, 0, 0, 0xc3, 0xeb, 0xfb};
	struct bpftime_rw_plan_opts opts = {.sz = sizeof(opts)};
	struct bpftime_rw_plan plan;
	char err[256];

	opts.errbuf = err;
	opts.errbuf_sz = sizeof(err);
	opts.func_start = BASE;
	opts.func_size = 6;
	assert_int_equal(bpftime_rw__plan(code, sizeof(code), BASE, BASE, &opts, &plan),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err, "at 0x401006 branches to site+3"));
	/* the plan is zeroed on failure: nothing half-made can be applied */
	assert_int_equal(plan.size, 0);
}

static void test_plan_bad_args(void **state)
{
	uint8_t code[] = {0x90, 0x90, 0x90, 0x90, 0x90};
	struct bpftime_rw_plan_opts opts = {.sz = 1};
	struct bpftime_rw_plan plan;

	assert_int_equal(bpftime_rw__plan(NULL, 5, BASE, BASE, NULL, &plan), -EINVAL);
	assert_int_equal(bpftime_rw__plan(code, 5, BASE, BASE + 5, NULL, &plan), -EINVAL);
	assert_int_equal(bpftime_rw__plan(code, 5, BASE, BASE - 1, NULL, &plan), -EINVAL);
	assert_int_equal(bpftime_rw__plan(code, 5, BASE, BASE, &opts, &plan), -EINVAL);
	assert_int_equal(bpftime_rw__plan(code, 5, BASE, BASE, NULL, &plan), 0);
}

/* The applier refuses a plan whose offsets point outside it. */
static void test_prepare_rejects_malformed_plan(void **state)
{
	struct bpftime_rw_plan plan;
	struct bpftime_rw_hook hook;
	uint8_t site[16] = {0x48, 0x8b, 0x05, 0x10, 0, 0, 0, 0xc3};

	assert_int_equal(plan_one(&cases[0], &plan, NULL, 0), 0);
	plan.fixups[0].off = BPFTIME_RW_CODE_MAX - 2;
	assert_int_equal(bpftime_rw__prepare(&hook, &plan, (uintptr_t)site,
					     (bpftime_rw_handler_fn)(uintptr_t)1, NULL, NULL),
			 -EINVAL);
	assert_int_equal(plan_one(&cases[0], &plan, NULL, 0), 0);
	plan.version = 2;
	assert_int_equal(bpftime_rw__prepare(&hook, &plan, (uintptr_t)site,
					     (bpftime_rw_handler_fn)(uintptr_t)1, NULL, NULL),
			 -EINVAL);
	assert_int_equal(plan_one(&cases[0], &plan, NULL, 0), 0);
	plan.orig_len = 4;
	assert_int_equal(bpftime_rw__prepare(&hook, &plan, (uintptr_t)site,
					     (bpftime_rw_handler_fn)(uintptr_t)1, NULL, NULL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_table),
	    cmocka_unit_test(test_plan_rip_relative_fixup),
	    cmocka_unit_test(test_plan_short_jcc_becomes_near),
	    cmocka_unit_test(test_plan_call_pushes_original_return),
	    cmocka_unit_test(test_plan_jrcxz_rewritten),
	    cmocka_unit_test(test_plan_call_mem_becomes_jmp_mem),
	    cmocka_unit_test(test_plan_branch_from_elsewhere_refused),
	    cmocka_unit_test(test_plan_bad_args),
	    cmocka_unit_test(test_prepare_rejects_malformed_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
