// SPDX-License-Identifier: MIT
/*
 * The LLVM JIT (bpftime/jit.h) and native images (vm.h, "native code"),
 * against the interpreter: every program runs on two vms loaded with the
 * same instructions, one interpreted and one with bpftime_jit__load, in
 * both modes (fast and bounds-checked), from the same caller frame so that
 * the checked mode's stack addresses match; r0, the memory the program
 * touched and the whole fault (err, pc, addr, size, write, prog) must be
 * the same. Most tests also assert the expected values themselves, so that
 * a bug shared by both engines fails too.
 *
 * Besides the semantics: binding images (refusals, and an image compiled in
 * one vm running in another one with other map addresses, the cross-process
 * case), concurrent runs of one native vm, and bpftime_jit__compile's opts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <bpftime/vm.h>
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#include "vm-image.h"
#endif
#include "insn.h"
#include "tail-env.h"

#ifdef BPFTIME_HAVE_JIT

/* ---- helpers every test vm registers ---- */

#define H_RET1   1 /* returns r1 */
#define H_SUM    2 /* returns r1 + .. + r5 */
#define H_CB_BAD 3 /* calls back a value that is no function: -EINVAL for the run */
#define H_CB     4 /* r0 = callback r1(r2, r3, r4, r5) + 1000 */
#define H_CHECK  5 /* r0 = access_ok(r1, r2, write) + cookie + host */

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

static uint64_t helper_cb_bad(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			      const struct bpftime_vm_call *call)
{
	uint64_t ret = 0;

	/* the error stays in the run: the helper's own return value is dropped */
	if (bpftime_vm_call__callback(call, 12345, 0, 0, 0, 0, 0, &ret) != -EINVAL)
		return 0xbad;
	return 0xdead;
}

static uint64_t helper_cb(uint64_t fn, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
			  const struct bpftime_vm_call *call)
{
	uint64_t ret = 0;

	if (bpftime_vm_call__callback(call, fn, a, b, c, d, 0, &ret))
		return 0;
	return ret + 1000;
}

static uint64_t helper_check(uint64_t ptr, uint64_t size, uint64_t c, uint64_t d, uint64_t e,
			     const struct bpftime_vm_call *call)
{
	return (bpftime_vm_call__access_ok(call, ptr, size, true) ? 1 : 0) +
	       (uint64_t)(uintptr_t)bpftime_vm_call__cookie(call) +
	       (uint64_t)(uintptr_t)bpftime_vm_call__host(call);
}

static void register_helpers(struct bpftime_vm *vm)
{
	assert_int_equal(bpftime_vm__register_helper(vm, H_RET1, "ret1", helper_ret1), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, H_SUM, "sum", helper_sum), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, H_CB_BAD, "cb_bad", helper_cb_bad), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, H_CB, "cb", helper_cb), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, H_CHECK, "check", helper_check), 0);
	assert_int_equal(
	    bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop), 0);
}

/* A loaded vm in @checked mode; native code when @jit. */
static struct bpftime_vm *make_vm(const struct bpf_insn *p, size_t n, bool checked, bool jit,
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
	register_helpers(vm);
	err = bpftime_vm__load(vm, p, n);
	if (err)
		fail_msg("load: %d %s", err, bpftime_vm__last_error(vm));
	if (jit) {
		err = bpftime_jit__load(vm, NULL);
		if (err)
			fail_msg("jit: %d %s", err, bpftime_vm__last_error(vm));
		assert_true(bpftime_vm__is_native(vm));
	} else {
		assert_false(bpftime_vm__is_native(vm));
	}
	return vm;
}

/* ---- one program, both engines ---- */

#define MEM_MAX 256

enum { MODE_FAST = 1, MODE_CHECKED = 2, MODE_BOTH = 3 };

struct tcase {
	const char *name;
	const struct bpf_insn *p;
	size_t n;
	const struct bpftime_vm_opts *opts;   /* base options; NULL: the defaults */
	void (*setup)(struct bpftime_vm *vm); /* after load (regions) */
	unsigned modes;                       /* MODE_*; 0: both */
	void *ctx;                            /* run->ctx */
	uint64_t ctx_len;                     /* run->ctx_len */
	uint32_t flags;                       /* run->flags */
	void *mem; /* restored before each run, compared after: mem_len bytes */
	size_t mem_len;
	/* fast mode: the fault is on the stack, which the JIT's fast code keeps
	 * in its own native frames: compare the address's alignment only */
	bool fast_stack_addr;
	bool cmp_insns; /* compare run->insns (the JIT counts with insn_limit) */
};

struct outcome {
	int ret;
	uint64_t r0;
	uint64_t insns;
	struct bpftime_vm_fault fault;
	int prog; /* fault.prog: index in the run's vms, -1 for NULL, 99 unknown */
	/* fault.addr inside fault.prog's instructions (a function value, which
	 * differs between vms): its offset there; else UINT64_MAX */
	uint64_t addr_in_insns;
	uint8_t mem[MEM_MAX];
};

/* One run of @vms[0]; fault.prog is mapped to an index in @vms. Always
 * called from the same place, so that both engines' runs get their stack at
 * the same address. */
static __attribute__((noinline)) void run_case(const struct tcase *c, const uint8_t *init,
					       const struct bpftime_vm *const *vms, int nvms,
					       struct outcome *o)
{
	struct bpftime_vm_run run = {.ctx = c->ctx, .ctx_len = c->ctx_len, .flags = c->flags};

	memset(o, 0, sizeof(*o));
	if (c->mem_len)
		memcpy(c->mem, init, c->mem_len);
	o->ret = bpftime_vm__run(vms[0], &run);
	o->r0 = run.r0;
	o->insns = run.insns;
	o->fault = run.fault;
	o->prog = run.fault.prog ? 99 : -1;
	o->addr_in_insns = UINT64_MAX;
	if (run.fault.prog) {
		size_t cnt = 0;
		uint64_t base = (uint64_t)(uintptr_t)bpftime_vm__insns(run.fault.prog, &cnt);

		if (run.fault.addr >= base && run.fault.addr - base < cnt * sizeof(struct bpf_insn))
			o->addr_in_insns = run.fault.addr - base;
	}
	for (int k = 0; k < nvms; k++)
		if (run.fault.prog == vms[k])
			o->prog = k;
	if (c->mem_len)
		memcpy(o->mem, c->mem, c->mem_len);
}

/* @b ran where the stack area is not run_full()'s: a fault on the stack
 * is at another address (compared by alignment). */
static void same_outcome_at(const struct tcase *c, bool checked, const struct outcome *a,
			    const struct outcome *b, bool other_stack)
{
	const char *m = checked ? (other_stack ? "checked entry" : "checked") : "fast";

	if (a->ret != b->ret)
		fail_msg("%s (%s): interpreter returned %d (fault at %u), jit %d (fault at %u)",
			 c->name, m, a->ret, a->fault.pc, b->ret, b->fault.pc);
	if (!a->ret) {
		if (a->r0 != b->r0)
			fail_msg("%s (%s): r0 0x%llx interpreted, 0x%llx native", c->name, m,
				 (unsigned long long)a->r0, (unsigned long long)b->r0);
		if (c->cmp_insns && a->insns != b->insns)
			fail_msg("%s (%s): %llu insns interpreted, %llu native", c->name, m,
				 (unsigned long long)a->insns, (unsigned long long)b->insns);
	} else {
		bool addr_ok =
		    a->fault.addr == b->fault.addr ||
		    (a->addr_in_insns != UINT64_MAX && a->addr_in_insns == b->addr_in_insns) ||
		    ((other_stack || (!checked && c->fast_stack_addr)) &&
		     (a->fault.addr & 15) == (b->fault.addr & 15));

		if (a->fault.err != b->fault.err || a->fault.pc != b->fault.pc || !addr_ok ||
		    a->fault.size != b->fault.size || a->fault.write != b->fault.write ||
		    a->prog != b->prog)
			fail_msg("%s (%s): fault interpreted err %d pc %u addr 0x%llx size %u "
				 "write %d prog %d; native err %d pc %u addr 0x%llx size %u write "
				 "%d prog %d",
				 c->name, m, a->fault.err, a->fault.pc,
				 (unsigned long long)a->fault.addr, a->fault.size, a->fault.write,
				 a->prog, b->fault.err, b->fault.pc,
				 (unsigned long long)b->fault.addr, b->fault.size, b->fault.write,
				 b->prog);
	}
	for (size_t i = 0; i < c->mem_len; i++)
		if (a->mem[i] != b->mem[i])
			fail_msg("%s (%s): memory byte %zu: 0x%02x interpreted, 0x%02x native",
				 c->name, m, i, a->mem[i], b->mem[i]);
}

static void same_outcome(const struct tcase *c, bool checked, const struct outcome *a,
			 const struct outcome *b)
{
	same_outcome_at(c, checked, a, b, false);
}

/* Zero the stack below the caller's frame, where run_case() puts the
 * entry's frame and stack area next: a checked entry leaves the area as it
 * finds it, run_full() clears it, so a case that reads a slot nobody wrote
 * reads 0 either way. Not instrumented: ASan may keep frames elsewhere. */
static __attribute__((noinline, no_sanitize("address"))) void clear_stack_below(void)
{
	volatile uint8_t area[8 * BPFTIME_VM_STACK_SIZE * BPFTIME_VM_MAX_CALL_FRAMES];

	for (size_t i = 0; i < sizeof(area); i++)
		area[i] = 0;
}

/* Checked native code run from the image's entry (vm-image.h), which a vm
 * uses when it keeps its stack: @c's checked case again that way, against
 * the interpreter's outcome @interp. Not for a case with its own options
 * (a stack option or an instruction limit decides the path itself). */
static void run_checked_entry(const struct tcase *c, const uint8_t *init,
			      const struct outcome *interp)
{
	BPFTIME_VM_OPTS(keep, .keep_stack = true);
	struct bpftime_vm *vm;
	struct outcome o;

	if (c->opts)
		return;
	vm = make_vm(c->p, c->n, true, true, &keep);
	if (c->setup)
		c->setup(vm);
	clear_stack_below();
	run_case(c, init, (const struct bpftime_vm *const *)&vm, 1, &o);
	same_outcome_at(c, true, interp, &o, true);
	bpftime_vm__free(vm);
}

/* Run @c interpreted and native in each of its modes; out[checked] gets the
 * native outcome (both must agree). The memory keeps the native result. */
static void run_both(const struct tcase *c, struct outcome out[2])
{
	uint8_t init[MEM_MAX];
	unsigned modes = c->modes ? c->modes : MODE_BOTH;

	assert_true(c->mem_len <= MEM_MAX);
	if (c->mem_len)
		memcpy(init, c->mem, c->mem_len);
	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm[2];
		struct outcome o[2];

		if (!(modes & (checked ? MODE_CHECKED : MODE_FAST)))
			continue;
		for (int e = 0; e < 2; e++) {
			vm[e] = make_vm(c->p, c->n, checked, e, c->opts);
			if (c->setup)
				c->setup(vm[e]);
		}
		for (int e = 0; e < 2; e++)
			run_case(c, init, (const struct bpftime_vm *const *)&vm[e], 1, &o[e]);
		same_outcome(c, checked, &o[0], &o[1]);
		if (checked)
			run_checked_entry(c, init, &o[0]);
		if (out)
			out[checked] = o[1];
		for (int e = 0; e < 2; e++)
			bpftime_vm__free(vm[e]);
	}
}

/* Both engines, each mode of @c: r0 == @want. */
static void expect_r0(const struct tcase *c, uint64_t want)
{
	struct outcome o[2];
	unsigned modes = c->modes ? c->modes : MODE_BOTH;

	run_both(c, o);
	for (int checked = 0; checked < 2; checked++) {
		if (!(modes & (checked ? MODE_CHECKED : MODE_FAST)))
			continue;
		if (o[checked].ret || o[checked].r0 != want)
			fail_msg("%s (%s): err %d (pc %u) r0 0x%llx, want 0x%llx", c->name,
				 checked ? "checked" : "fast", o[checked].ret, o[checked].fault.pc,
				 (unsigned long long)o[checked].r0, (unsigned long long)want);
	}
}

/* Both engines, each mode of @c: fault @err at @pc of the run's vm. */
static void expect_fault(const struct tcase *c, int err, uint32_t pc)
{
	struct outcome o[2];
	unsigned modes = c->modes ? c->modes : MODE_BOTH;

	run_both(c, o);
	for (int checked = 0; checked < 2; checked++) {
		if (!(modes & (checked ? MODE_CHECKED : MODE_FAST)))
			continue;
		if (o[checked].ret != err || o[checked].fault.err != err ||
		    o[checked].fault.pc != pc || o[checked].prog != 0)
			fail_msg("%s (%s): got %d (fault %d at %u, prog %d), want %d at %u",
				 c->name, checked ? "checked" : "fast", o[checked].ret,
				 o[checked].fault.err, o[checked].fault.pc, o[checked].prog, err,
				 pc);
	}
}

/* A known JIT bug: say which, and skip the rest of the test. */
#define SKIP_BUG(...)                                                                              \
	do {                                                                                       \
		print_message("JIT BUG: " __VA_ARGS__);                                            \
		print_message("\n");                                                               \
		skip();                                                                            \
	} while (0)

#define CASE(NAME, PROG, ...)                                                                      \
	((struct tcase){.name = NAME, .p = PROG, .n = ARRAY_LEN(PROG), __VA_ARGS__})

/* ---- basics ---- */

static void test_native_flag_and_mode(void **state)
{
	uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct bpf_insn p[] = {LDX(BPF_W, 0, 1, 4), LDX(BPF_W, 0, 1, 5), EXIT()};
	struct bpf_insn ok[] = {LDX(BPF_W, 0, 1, 4), EXIT()};
	struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), false, true, NULL);
	struct bpftime_vm *vm_ok = make_vm(ok, ARRAY_LEN(ok), false, true, NULL);
	struct bpftime_vm_run run = {
	    .ctx = mem, .ctx_len = sizeof(mem), .flags = BPFTIME_VM_RUN_CHECKED};

	assert_true(bpftime_jit__available());
	/* a fast image does not serve a checked run: the interpreter does */
	assert_int_equal(bpftime_vm__run(vm, &run), -EFAULT);
	assert_int_equal(run.fault.pc, 1);
	assert_int_equal(run.fault.addr, (uint64_t)(uintptr_t)mem + 5);
	assert_int_equal(bpftime_vm__run(vm_ok, &run), 0);
	assert_int_equal(run.r0, 0x08070605);
	assert_int_equal(run.insns, 2);
	run.flags = 0;
	assert_int_equal(bpftime_vm__run(vm_ok, &run), 0);
	assert_int_equal(run.r0, 0x08070605);
	bpftime_vm__free(vm);
	bpftime_vm__free(vm_ok);
}

static void test_alu_memory_and_jumps_agree(void **state)
{
	uint64_t buf[6] = {0x8877665544332211ull, 0xfffffffffffffff0ull, 7, 0, 0, 0};
	struct bpf_insn p[] = {
	    LDX(BPF_DW, 2, 1, 0),
	    LDX(BPF_DW, 3, 1, 8),
	    INSN(BPF_LDX | BPF_MEMSX_ | BPF_B, 4, 1, 7, 0), /* 0x88 sign-extended */
	    INSN(BPF_LDX | BPF_MEMSX_ | BPF_W, 5, 1, 8, 0),
	    ALU64_REG(BPF_ADD, 4, 5),
	    STX(BPF_DW, 1, 4, 24),
	    MOV64_REG(0, 2),
	    ALU64_REG(BPF_DIV, 0, 3),                      /* unsigned: 0 */
	    INSN(BPF_ALU64 | BPF_DIV | BPF_X, 2, 3, 1, 0), /* off 1: signed */
	    INSN(BPF_ALU64 | BPF_MOD | BPF_K, 3, 0, 1, -3),
	    ALU32_REG(BPF_MOD, 5, 3),
	    STX(BPF_DW, 1, 2, 32),
	    STX(BPF_W, 1, 5, 40),
	    INSN(BPF_ALU | BPF_END | BPF_TO_BE, 3, 0, 0, 16),
	    STX(BPF_H, 1, 3, 44),
	    LDX(BPF_DW, 6, 1, 16),
	    JMP_IMM(BPF_JSGT, 6, 7, 3), /* not taken */
	    INSN(BPF_JMP32 | BPF_JLT | BPF_K, 6, 0, 1, 8),
	    ALU64_IMM(BPF_LSH, 0, 67), /* masked to 3 */
	    ALU64_IMM(BPF_XOR, 0, 0x55),
	    EXIT(),
	};
	struct tcase c =
	    CASE("alu", p, .ctx = buf, .ctx_len = sizeof(buf), .mem = buf, .mem_len = sizeof(buf));

	run_both(&c, NULL);
	/* spot checks on the native result */
	assert_int_equal(buf[3], (uint64_t)(-0x78 + -16));
	assert_int_equal(buf[4], (uint64_t)((int64_t)0x8877665544332211ull / -16));
}

/* ---- the checked mode's faults ---- */

static void test_checked_out_of_bounds(void **state)
{
	uint8_t mem[16] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct bpf_insn load[] = {LDX(BPF_W, 0, 1, 12), LDX(BPF_W, 0, 1, 13), EXIT()};
	struct bpf_insn store[] = {ST(BPF_B, 1, 15, 1), ST(BPF_H, 1, -1, 2), EXIT()};
	struct bpf_insn storex[] = {MOV64_IMM(2, 9), STX(BPF_DW, 1, 2, 8), STX(BPF_DW, 1, 2, 9),
				    EXIT()};
	struct bpf_insn stack_below[] = {MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -4097),
					 ST(BPF_B, 1, 0, 1), EXIT()};
	struct bpf_insn stack_above[] = {LDX(BPF_B, 0, 10, 0), EXIT()};
	/* a callee's frame is inside the stack area: r10 + 0 there is fine */
	struct bpf_insn callee_up[] = {CALL_LOCAL(1), EXIT(), LDX(BPF_B, 0, 10, 0), EXIT()};
	struct bpf_insn null[] = {MOV64_IMM(2, 0), LDX(BPF_DW, 0, 2, 16), EXIT()};
	struct tcase cs[] = {
	    CASE("oob load", load, .modes = MODE_CHECKED, .ctx = mem, .ctx_len = sizeof(mem),
		 .mem = mem, .mem_len = sizeof(mem)),
	    CASE("oob store", store, .modes = MODE_CHECKED, .ctx = mem, .ctx_len = sizeof(mem),
		 .mem = mem, .mem_len = sizeof(mem)),
	    CASE("oob storex", storex, .modes = MODE_CHECKED, .ctx = mem, .ctx_len = sizeof(mem),
		 .mem = mem, .mem_len = sizeof(mem)),
	    CASE("below the stack", stack_below, .modes = MODE_CHECKED),
	    CASE("above the stack", stack_above, .modes = MODE_CHECKED),
	    CASE("null", null, .modes = MODE_CHECKED),
	};
	uint32_t pcs[] = {1, 1, 2, 2, 0, 1};
	bool writes[] = {false, true, true, true, false, false};
	uint32_t sizes[] = {4, 2, 8, 1, 1, 8};

	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		struct outcome o[2];

		run_both(&cs[i], o);
		if (o[1].ret != -EFAULT || o[1].fault.pc != pcs[i] ||
		    o[1].fault.write != writes[i] || o[1].fault.size != sizes[i])
			fail_msg("%s: got %d at %u (write %d size %u)", cs[i].name, o[1].ret,
				 o[1].fault.pc, o[1].fault.write, o[1].fault.size);
	}
	/* the last case's first store went through, its second did not */
	assert_int_equal(mem[8], 9);
	assert_int_equal(mem[15], 0);
	expect_r0(&CASE("callee reads its r10", callee_up, .modes = MODE_CHECKED), 0);
}

static void test_checked_ctx_readonly(void **state)
{
	uint64_t ctx[2] = {5, 6};
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 1, 8), ST(BPF_DW, 1, 0, 9), EXIT()};
	/* through an address the JIT cannot see is the ctx */
	struct bpf_insn px[] = {LDX(BPF_DW, 0, 1, 0), MOV64_REG(2, 1), ALU64_IMM(BPF_ADD, 2, 8),
				ATOMIC(BPF_DW, BPF_ADD, 2, 0, 0), EXIT()};
	struct tcase c =
	    CASE("ctx rdonly", p, .modes = MODE_CHECKED, .ctx = ctx, .ctx_len = sizeof(ctx),
		 .flags = BPFTIME_VM_RUN_CTX_RDONLY, .mem = ctx, .mem_len = sizeof(ctx));
	struct tcase cx =
	    CASE("ctx rdonly atomic", px, .modes = MODE_CHECKED, .ctx = ctx, .ctx_len = sizeof(ctx),
		 .flags = BPFTIME_VM_RUN_CTX_RDONLY, .mem = ctx, .mem_len = sizeof(ctx));
	struct outcome o[2];

	run_both(&c, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 1);
	assert_true(o[1].fault.write);
	assert_int_equal(o[1].fault.addr, (uint64_t)(uintptr_t)ctx);
	assert_int_equal(ctx[0], 5);
	run_both(&cx, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 3);
	assert_int_equal(ctx[1], 6);
	/* writable without the flag */
	c.flags = 0;
	expect_r0(&c, 6);
	assert_int_equal(ctx[0], 9);
	cx.flags = 0;
	ctx[0] = 5;
	ctx[1] = 6;
	expect_r0(&cx, 5);
	assert_int_equal(ctx[1], 11);
}

static uint64_t region_ro[2] = {11, 22};
static uint64_t region_rw[2];

static int region_resolver(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	*value = (uint64_t)(uintptr_t)(req->imm ? region_rw : region_ro) + (uint64_t)req->next_imm;
	return 0;
}

static void add_regions(struct bpftime_vm *vm)
{
	assert_int_equal(
	    bpftime_vm__add_region(vm, region_ro, sizeof(region_ro), BPFTIME_VM_REGION_READ), 0);
	assert_int_equal(bpftime_vm__add_region(vm, region_rw, sizeof(region_rw),
						BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE),
			 0);
}

static void test_checked_regions(void **state)
{
	BPFTIME_VM_OPTS(opts, .resolve_ldimm64 = region_resolver);
	struct bpf_insn p[] = {
	    LDDW(1, BPF_PSEUDO_MAP_VALUE, 0, 8), /* &region_ro[1] */
	    LDDW(2, BPF_PSEUDO_MAP_VALUE, 1, 0), /* &region_rw[0] */
	    LDX(BPF_DW, 0, 1, 0),
	    STX(BPF_DW, 2, 0, 8), /* rw: allowed */
	    LDX(BPF_DW, 3, 2, 8),
	    ALU64_IMM(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 0),
	    STX(BPF_DW, 1, 0, 0), /* ro: refused */
	    EXIT(),
	};
	struct bpf_insn past[] = {LDDW(2, BPF_PSEUDO_MAP_VALUE, 1, 0), LDX(BPF_DW, 0, 2, 9),
				  EXIT()};
	struct tcase none = CASE("no regions", p, .opts = &opts, .modes = MODE_CHECKED,
				 .mem = region_rw, .mem_len = sizeof(region_rw));
	struct tcase with =
	    CASE("regions", p, .opts = &opts, .modes = MODE_CHECKED, .setup = add_regions,
		 .mem = region_rw, .mem_len = sizeof(region_rw));
	struct tcase over =
	    CASE("past a region", past, .opts = &opts, .modes = MODE_CHECKED, .setup = add_regions);
	struct outcome o[2];

	run_both(&none, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 4);
	assert_false(o[1].fault.write);
	run_both(&with, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 9);
	assert_true(o[1].fault.write);
	assert_int_equal(o[1].fault.addr, (uint64_t)(uintptr_t)&region_ro[1]);
	assert_int_equal(region_rw[1], 22);
	assert_int_equal(region_rw[0], 23);
	assert_int_equal(region_ro[1], 22);
	run_both(&over, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 2);
}

struct access_log {
	uint64_t allow;
	int calls;
	uint64_t last_addr, last_size;
	bool last_write;
};

static struct access_log access_log;

static bool access_cb(void *host, uint64_t addr, uint64_t size, bool write)
{
	struct access_log *l = host;

	l->calls++;
	l->last_addr = addr;
	l->last_size = size;
	l->last_write = write;
	return addr >= l->allow && addr + size <= l->allow + 16;
}

static void test_checked_access_callback(void **state)
{
	uint64_t words[4] = {70, 7, 0, 0};
	BPFTIME_VM_OPTS(opts, .host = &access_log, .access = access_cb);
	/* ctx_len 0: the ctx is no region, only the callback allows it */
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 1, 0), LDX(BPF_DW, 2, 1, 8), ALU64_REG(BPF_ADD, 0, 2),
			       STX(BPF_DW, 1, 0, 8), STX(BPF_W, 1, 0, 16), EXIT()};
	struct tcase c = CASE("access callback", p, .opts = &opts, .modes = MODE_CHECKED,
			      .ctx = words, .mem = words, .mem_len = sizeof(words));
	struct outcome o[2];

	access_log = (struct access_log){.allow = (uint64_t)(uintptr_t)words};
	run_both(&c, o);
	assert_int_equal(o[1].ret, -EFAULT);
	assert_int_equal(o[1].fault.pc, 4);
	assert_int_equal(words[1], 77);
	/* consulted by both engines: 4 accesses each */
	assert_int_equal(access_log.calls, 8);
	assert_int_equal(access_log.last_addr, (uint64_t)(uintptr_t)&words[2]);
	assert_int_equal(access_log.last_size, 4);
	assert_true(access_log.last_write);
}

/* ---- atomics ---- */

#define AT_M 0x1122334455667788ull /* the memory word before the op */
#define AT_S 0x80000001f0f0f0f3ull /* src */

/* BPF_ADD .. BPF_CMPXCHG: the imm of a BPF_ATOMIC instruction */
static const int atomic_ops[] = {
    BPF_ADD,
    BPF_OR,
    BPF_AND,
    BPF_XOR,
    BPF_ADD | BPF_FETCH,
    BPF_OR | BPF_FETCH,
    BPF_AND | BPF_FETCH,
    BPF_XOR | BPF_FETCH,
    BPF_XCHG,
    BPF_CMPXCHG,
};

/* What @op leaves in the memory word, src and r0, as the ISA defines it. */
static void atomic_expect(int op, bool w64, uint64_t src, uint64_t r0, uint64_t want[3])
{
	uint64_t mask = w64 ? ~0ull : 0xffffffffull;
	uint64_t old = AT_M & mask, s = src & mask, nv;

	want[1] = src;
	want[2] = r0;
	switch (op & ~BPF_FETCH) {
	case BPF_ADD:
		nv = (old + s) & mask;
		break;
	case BPF_OR:
		nv = old | s;
		break;
	case BPF_AND:
		nv = old & s;
		break;
	case BPF_XOR:
		nv = old ^ s;
		break;
	case BPF_XCHG & ~BPF_FETCH:
		nv = s;
		break;
	default: /* cmpxchg: r0 gets the old value, src stays */
		nv = (r0 & mask) == old ? s : old;
		want[2] = old;
		break;
	}
	if ((op & BPF_FETCH) && op != BPF_CMPXCHG)
		want[1] = old;
	want[0] = (AT_M & ~mask) | nv;
}

/* One atomic on ctx[0] or on a stack slot (the JIT's fp-relative path),
 * then ctx = {word, src, r0}. */
static void check_atomic(int op, bool w64, uint64_t r0, bool on_stack)
{
	int sz = w64 ? BPF_DW : BPF_W;
	uint64_t buf[4] = {AT_M, 0, 0, 0}, want[3];
	struct bpf_insn p[] = {
	    LDDW64(3, AT_M),
	    STX(BPF_DW, 10, 3, -16),
	    LDDW64(2, AT_S),
	    LDDW64(0, r0),
	    on_stack ? (struct bpf_insn)ATOMIC(sz, op, 10, 2, -16)
		     : (struct bpf_insn)ATOMIC(sz, op, 1, 2, 0),
	    LDX(BPF_DW, 3, 10, -16),
	    on_stack ? (struct bpf_insn)STX(BPF_DW, 1, 3, 0) : (struct bpf_insn)MOV64_IMM(3, 0),
	    STX(BPF_DW, 1, 2, 8),
	    STX(BPF_DW, 1, 0, 16),
	    EXIT(),
	};
	char name[64];
	struct tcase c =
	    CASE(name, p, .ctx = buf, .ctx_len = sizeof(buf), .mem = buf, .mem_len = sizeof(buf));

	snprintf(name, sizeof(name), "atomic 0x%x %s r0 0x%llx%s", op, w64 ? "dw" : "w",
		 (unsigned long long)r0, on_stack ? " stack" : "");
	run_both(&c, NULL);
	atomic_expect(op, w64, AT_S, r0, want);
	if (buf[0] != want[0] || buf[1] != want[1] || buf[2] != want[2])
		fail_msg("%s: mem 0x%llx src 0x%llx r0 0x%llx, want 0x%llx 0x%llx 0x%llx", name,
			 (unsigned long long)buf[0], (unsigned long long)buf[1],
			 (unsigned long long)buf[2], (unsigned long long)want[0],
			 (unsigned long long)want[1], (unsigned long long)want[2]);
}

static void test_atomics_all_ops(void **state)
{
	/* cmpxchg: equal, different, and equal in the low 32 bits only */
	const uint64_t r0s[] = {AT_M, AT_M + 1, 0xdeadbeef00000000ull | (AT_M & 0xffffffffull)};

	for (int w64 = 0; w64 < 2; w64++)
		for (size_t i = 0; i < ARRAY_LEN(atomic_ops); i++)
			for (size_t k = 0; k < ARRAY_LEN(r0s); k++)
				for (int on_stack = 0; on_stack < 2; on_stack++)
					check_atomic(atomic_ops[i], w64, r0s[k], on_stack);
}

static void test_load_acquire_store_release(void **state)
{
	uint64_t buf[2] = {0x1122334455667788ull, 0};
	struct bpf_insn p[] = {
	    ST(BPF_DW, 10, -8, 0),
	    MOV64_IMM(2, 0x1234),
	    ATOMIC(BPF_H, 0x110, 10, 2, -2),  /* store-release */
	    ATOMIC(BPF_DW, 0x100, 0, 10, -8), /* load-acquire */
	    ALU64_IMM(BPF_RSH, 0, 48),
	    ATOMIC(BPF_W, 0x100, 3, 1, 4),
	    ATOMIC(BPF_B, 0x110, 1, 3, 8),
	    ALU64_REG(BPF_ADD, 0, 3),
	    EXIT(),
	};

	expect_r0(&CASE("acquire/release", p, .ctx = buf, .ctx_len = sizeof(buf), .mem = buf,
			.mem_len = sizeof(buf)),
		  0x1234 + 0x11223344);
	assert_int_equal(buf[1], 0x44);
}

/* @op (0x100: a load-acquire) on a misaligned word of the ctx or the stack:
 * -EFAULT in both modes, nothing written. */
static void check_misaligned(int op, bool w64, bool on_stack)
{
	int sz = w64 ? BPF_DW : BPF_W, off = w64 ? 4 : 2;
	uint64_t buf[4] = {1, 2, 3, 4};
	struct bpf_insn p[] = {
	    ST(BPF_DW, 10, -16, 0),
	    ST(BPF_DW, 10, -8, 0),
	    MOV64_IMM(2, 1),
	    MOV64_IMM(0, 1),
	    on_stack ? (struct bpf_insn)ATOMIC(sz, op, 10, 2, -16 + off)
		     : (struct bpf_insn)ATOMIC(sz, op, 1, 2, off),
	    MOV64_IMM(0, 5),
	    EXIT(),
	};
	char name[64];
	struct tcase c = CASE(name, p, .ctx = buf, .ctx_len = sizeof(buf), .mem = buf,
			      .mem_len = sizeof(buf), .fast_stack_addr = true);
	struct outcome o[2];

	if (op == 0x100) /* load-acquire: dst = *(src + off) */
		p[4] = on_stack ? (struct bpf_insn)ATOMIC(sz, op, 0, 10, -16 + off)
				: (struct bpf_insn)ATOMIC(sz, op, 0, 1, off);
	snprintf(name, sizeof(name), "misaligned 0x%x %s%s", op, w64 ? "dw" : "w",
		 on_stack ? " stack" : "");
	run_both(&c, o);
	for (int m = 0; m < 2; m++)
		if (o[m].ret != -EFAULT || o[m].fault.pc != 4 ||
		    o[m].fault.size != (w64 ? 8u : 4u) || o[m].fault.write != (op != 0x100) ||
		    (!on_stack && o[m].fault.addr != (uint64_t)(uintptr_t)buf + off))
			fail_msg("%s (%s): got %d at %u size %u", name, m ? "checked" : "fast",
				 o[m].ret, o[m].fault.pc, o[m].fault.size);
	assert_int_equal(buf[0], 1);
}

static void test_misaligned_atomics_fault(void **state)
{
	for (int w64 = 0; w64 < 2; w64++)
		for (int on_stack = 0; on_stack < 2; on_stack++) {
			for (size_t i = 0; i < ARRAY_LEN(atomic_ops); i++)
				check_misaligned(atomic_ops[i], w64, on_stack);
			check_misaligned(0x100, w64, on_stack);
		}
}

/* ---- BPF-to-BPF calls ---- */

static void test_calls_preserve_r6_r9_and_frames(void **state)
{
	struct bpf_insn p[] = {
	    MOV64_IMM(6, 6),
	    MOV64_IMM(7, 7),
	    MOV64_IMM(8, 8),
	    MOV64_IMM(9, 9),
	    ST(BPF_DW, 10, -8, 1111),
	    MOV64_IMM(1, 5),
	    CALL_LOCAL(10), /* -> insn 17 */
	    LDX(BPF_DW, 1, 10, -8),
	    ALU64_REG(BPF_ADD, 0, 1),
	    ALU64_IMM(BPF_MUL, 6, 1000),
	    ALU64_IMM(BPF_MUL, 7, 100),
	    ALU64_IMM(BPF_MUL, 8, 10),
	    ALU64_REG(BPF_ADD, 0, 6),
	    ALU64_REG(BPF_ADD, 0, 7),
	    ALU64_REG(BPF_ADD, 0, 8),
	    ALU64_REG(BPF_ADD, 0, 9),
	    EXIT(),
	    /* f(x): clobbers r6-r9 and its own r10-8, calls g, x * 10 + g */
	    MOV64_IMM(6, 0),
	    MOV64_IMM(7, 0),
	    MOV64_IMM(8, 0),
	    MOV64_IMM(9, 0),
	    ST(BPF_DW, 10, -8, 2222),
	    MOV64_REG(6, 1),
	    CALL_LOCAL(4), /* -> insn 28 */
	    MOV64_REG(1, 6),
	    ALU64_IMM(BPF_MUL, 1, 10),
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    /* g: clobbers r6 and reads its caller's slot through a pointer */
	    MOV64_IMM(6, -1),
	    MOV64_IMM(0, 3),
	    EXIT(),
	};

	expect_r0(&CASE("r6-r9", p), 53 + 1111 + 6789);
}

static void test_call_depth_limit(void **state)
{
	/* f(n) = n ? f(n - 1) + 1 : 0; r1 = n from the ctx value */
	struct bpf_insn p[] = {
	    CALL_LOCAL(1),
	    EXIT(),
	    JMP_IMM(BPF_JNE, 1, 0, 2),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    CALL_LOCAL(-5),
	    ALU64_IMM(BPF_ADD, 0, 1),
	    EXIT(),
	};

	/* 8 frames: main, f(6) .. f(0) */
	expect_r0(&CASE("depth 8", p, .ctx = (void *)(uintptr_t)6), 6);
	/* a 9th frame: -E2BIG at the call, as the kernel's MAX_CALL_FRAMES */
	expect_fault(&CASE("depth 9", p, .ctx = (void *)(uintptr_t)7), -E2BIG, 6);
}

static void test_callee_fault_propagates(void **state)
{
	uint64_t buf[4] = {0};
	/* main -> f -> g -> h: h faults; nothing after any call runs. Each
	 * function gets the ctx in r1 (r6-r9 are not defined at a callee's entry) */
	struct bpf_insn p[] = {
	    MOV64_REG(6, 1),
	    CALL_LOCAL(3), /* -> 5 */
	    ST(BPF_DW, 6, 0, 1),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    MOV64_REG(6, 1),
	    CALL_LOCAL(3), /* -> 10 */
	    ST(BPF_DW, 6, 8, 1),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    MOV64_REG(6, 1),
	    CALL_LOCAL(3), /* -> 15 */
	    ST(BPF_DW, 6, 16, 1),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    /* h: an atomic on a misaligned stack slot (faults in both modes) */
	    ST(BPF_DW, 1, 24, 1),
	    MOV64_IMM(2, 1),
	    ATOMIC(BPF_DW, BPF_ADD, 10, 2, -12),
	    EXIT(),
	};
	/* h: a load outside everything (checked mode) */
	struct bpf_insn q[ARRAY_LEN(p)];

	memcpy(q, p, sizeof(p));
	q[17] = (struct bpf_insn)LDX(BPF_DW, 0, 2, 0);
	expect_fault(&CASE("callee fault", p, .ctx = buf, .ctx_len = sizeof(buf), .mem = buf,
			   .mem_len = sizeof(buf), .fast_stack_addr = true),
		     -EFAULT, 17);
	assert_int_equal(buf[3], 1);
	assert_int_equal(buf[0] | buf[1] | buf[2], 0);
	expect_fault(&CASE("callee oob", q, .modes = MODE_CHECKED, .ctx = buf,
			   .ctx_len = sizeof(buf), .mem = buf, .mem_len = sizeof(buf)),
		     -EFAULT, 17);
}

/* ---- callx ---- */

static void test_callx(void **state)
{
	struct bpf_insn p[] = {
	    LDDW(3, BPF_PSEUDO_FUNC, 10, 0), /* -> insn 11 */
	    MOV64_IMM(1, 20),
	    CALLX(3), /* r0 = 20 * 2 */
	    MOV64_REG(6, 0),
	    MOV64_IMM(1, 3),
	    MOV64_IMM(4, H_RET1), /* helper 1 by id: returns r1 */
	    CALLX(4),
	    ALU64_REG(BPF_ADD, 0, 6),
	    EXIT(),
	    EXIT(),
	    MOV64_REG(0, 1),
	    ALU64_IMM(BPF_LSH, 0, 1),
	    EXIT(),
	};
	struct bpf_insn garbage[] = {MOV64_IMM(3, 12345), CALLX(3), EXIT()};
	struct bpf_insn unregistered[] = {MOV64_IMM(3, 77), CALLX(3), EXIT()};
	struct bpf_insn mid[] = {LDDW(3, BPF_PSEUDO_FUNC, 4, 0),
				 ALU64_IMM(BPF_ADD, 3, 8),
				 CALLX(3),
				 EXIT(),
				 MOV64_IMM(0, 1),
				 EXIT()};
	/* the callback-through-a-helper error, reached by callx */
	struct bpf_insn cb_bad[] = {MOV64_IMM(3, H_CB_BAD), CALLX(3), MOV64_IMM(0, 1), EXIT()};
	struct outcome o[2];
	struct tcase g = CASE("callx garbage", garbage);

	expect_r0(&CASE("callx", p), 43);
	run_both(&g, o);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(o[m].ret, -EINVAL);
		assert_int_equal(o[m].fault.pc, 1);
		assert_int_equal(o[m].fault.addr, 12345);
	}
	expect_fault(&CASE("callx unregistered helper", unregistered), -EINVAL, 1);
	/* one instruction past a function entry is not a function */
	expect_fault(&CASE("callx mid-function", mid), -EINVAL, 3);
	expect_fault(&CASE("callx cb_bad", cb_bad), -EINVAL, 1);
}

static void test_callx_depth_limit(void **state)
{
	/* f(n) = n ? f(n - 1) + 1 : 0, recursing through callx */
	struct bpf_insn p[] = {
	    CALL_LOCAL(1),
	    EXIT(),
	    JMP_IMM(BPF_JNE, 1, 0, 2),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    LDDW(3, BPF_PSEUDO_FUNC, -5, 0), /* -> insn 2 */
	    CALLX(3),
	    ALU64_IMM(BPF_ADD, 0, 1),
	    EXIT(),
	};

	expect_r0(&CASE("callx depth 8", p, .ctx = (void *)(uintptr_t)6), 6);
	/* (this program touches no stack: a 9th frame is harmless here) */
	{
		int err[2];

		for (int checked = 0; checked < 2; checked++) {
			struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), checked, true, NULL);
			struct bpftime_vm_run run = {.ctx = (void *)(uintptr_t)7};

			err[checked] = bpftime_vm__run(vm, &run);
			bpftime_vm__free(vm);
		}
		if (err[0] != -E2BIG || err[1] != -E2BIG)
			SKIP_BUG("(callx depth): callx of a BPF function has no frame limit "
				 "natively: at depth 7 the run returned %d (fast), %d (checked); "
				 "the interpreter stops with -E2BIG at the callx (pc 8). In the "
				 "checked mode the frames past the 8th lie below the run's stack "
				 "area, where r10-relative stores are not checked",
				 err[0], err[1]);
	}
	expect_fault(&CASE("callx depth 9", p, .ctx = (void *)(uintptr_t)7), -E2BIG, 8);
}

/* ---- bpf_loop ---- */

static void test_bpf_loop_constant_callback(void **state)
{
	/* sum of i into the caller's stack slot; the callback stops after i == 6 */
	struct bpf_insn p[] = {
	    MOV64_IMM(6, 66),
	    ST(BPF_DW, 10, -8, 0),
	    MOV64_IMM(1, 10),
	    LDDW(2, BPF_PSEUDO_FUNC, 11, 0), /* -> insn 15 */
	    MOV64_REG(3, 10),
	    ALU64_IMM(BPF_ADD, 3, -8),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 10, -8),
	    ALU64_IMM(BPF_MUL, 0, 1000), /* iterations * 1000 + sum + r6 */
	    ALU64_REG(BPF_ADD, 0, 1),
	    ALU64_REG(BPF_ADD, 0, 6),
	    EXIT(),
	    EXIT(),
	    LDX(BPF_DW, 3, 2, 0),
	    ALU64_REG(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 0),
	    MOV64_IMM(6, 0), /* the caller's r6 survives */
	    MOV64_IMM(0, 0),
	    JMP_IMM(BPF_JNE, 1, 6, 1),
	    MOV64_IMM(0, 1),
	    EXIT(),
	};
	struct tcase c = CASE("bpf_loop", p, .opts = NULL);
	BPFTIME_VM_OPTS(limited, .insn_limit = 100000);

	/* the kernel's semantics: i + 1 when the callback stops it */
	expect_r0(&c, 7 * 1000 + 21 + 66);
	/* and with an instruction limit, which the JIT counts */
	c.opts = &limited;
	c.modes = MODE_CHECKED;
	expect_r0(&c, 7 * 1000 + 21 + 66);
}

static void test_bpf_loop_dynamic_callback(void **state)
{
	/* The callback address comes through r7, across a block boundary, and
	 * through a function argument: the JIT cannot see it is constant. */
	struct bpf_insn p[] = {
	    LDDW(7, BPF_PSEUDO_FUNC, 19, 0), /* -> insn 20 */
	    ST(BPF_DW, 10, -8, 0),
	    JMP_IMM(BPF_JEQ, 1, 0, 0),
	    MOV64_REG(1, 7),
	    MOV64_REG(2, 10),
	    ALU64_IMM(BPF_ADD, 2, -8),
	    CALL_LOCAL(5), /* -> insn 13: loop(fn, ctx) */
	    LDX(BPF_DW, 1, 10, -8),
	    ALU64_IMM(BPF_MUL, 0, 1000),
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    EXIT(),
	    /* loop(fn, ctx): bpf_loop(100, fn, ctx, 0) */
	    MOV64_REG(3, 2),
	    MOV64_REG(2, 1),
	    MOV64_IMM(1, 100),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    EXIT(),
	    EXIT(),
	    /* callback(i, ctx): *ctx += i * i */
	    MOV64_REG(3, 1),
	    ALU64_REG(BPF_MUL, 3, 1),
	    LDX(BPF_DW, 4, 2, 0),
	    ALU64_REG(BPF_ADD, 4, 3),
	    STX(BPF_DW, 2, 4, 0),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};
	struct bpf_insn q[ARRAY_LEN(p)];

	expect_r0(&CASE("bpf_loop dynamic", p), 100 * 1000 + 328350);
	/* the same through callx of the helper id: bpftime_vm_helper_loop, which
	 * runs the callback with bpftime_vm_call__callback */
	memcpy(q, p, sizeof(p));
	q[17] = (struct bpf_insn)MOV64_IMM(5, BPF_FUNC_loop);
	q[18] = (struct bpf_insn)CALLX(5);
	expect_r0(&CASE("bpf_loop by callx", q), 100 * 1000 + 328350);
}

static void test_bpf_loop_early_stop_and_errors(void **state)
{
	struct bpf_insn flags[] = BPF_LOOP_PROG(MOV64_IMM(1, 1), 1, 0);
	struct bpf_insn big[] = BPF_LOOP_PROG(LDDW64(1, (1ull << 23) + 1), 0, 0);
	struct bpf_insn zero[] = BPF_LOOP_PROG(MOV64_IMM(1, 0), 0, 0);
	/* the callback returns 1 at once: one iteration; any non-zero stops */
	struct bpf_insn stop[] = BPF_LOOP_PROG(LDDW64(1, 1000), 0, 1);
	struct bpf_insn stop_neg[] = BPF_LOOP_PROG(LDDW64(1, 1000), 0, -1);
	struct bpf_insn badfn[] = {MOV64_IMM(1, 3), MOV64_IMM(2, 77),           MOV64_IMM(3, 0),
				   MOV64_IMM(4, 0), CALL_HELPER(BPF_FUNC_loop), EXIT()};
	/* the same errors when the callback is not a constant (r2 from r6) */
	struct bpf_insn dyn_flags[] = {LDDW(6, BPF_PSEUDO_FUNC, 8, 0),
				       JA(0),
				       MOV64_REG(2, 6),
				       MOV64_IMM(1, 1),
				       MOV64_IMM(3, 0),
				       MOV64_IMM(4, 2),
				       CALL_HELPER(BPF_FUNC_loop),
				       EXIT(),
				       MOV64_IMM(0, 0),
				       EXIT()};
	struct bpf_insn dyn_big[] = {LDDW(6, BPF_PSEUDO_FUNC, 8, 0),
				     JA(0),
				     MOV64_REG(2, 6),
				     MOV64_IMM(1, -1), /* ~0 as u64 */
				     MOV64_IMM(3, 0),
				     MOV64_IMM(4, 0),
				     CALL_HELPER(BPF_FUNC_loop),
				     EXIT(),
				     MOV64_IMM(0, 0),
				     EXIT()};

	expect_r0(&CASE("bpf_loop flags", flags), (uint64_t)-EINVAL);
	expect_r0(&CASE("bpf_loop too many", big), (uint64_t)-E2BIG);
	expect_r0(&CASE("bpf_loop zero", zero), 0);
	expect_r0(&CASE("bpf_loop stop", stop), 1);
	expect_r0(&CASE("bpf_loop stop -1", stop_neg), 1);
	expect_r0(&CASE("bpf_loop dyn flags", dyn_flags), (uint64_t)-EINVAL);
	expect_r0(&CASE("bpf_loop dyn too many", dyn_big), (uint64_t)-E2BIG);
	/* a callback that is no function stops the run at the helper call */
	{
		struct tcase c = CASE("bpf_loop bad callback", badfn);
		struct outcome o[2];

		run_both(&c, o);
		for (int m = 0; m < 2; m++) {
			assert_int_equal(o[m].ret, -EINVAL);
			assert_int_equal(o[m].fault.pc, 4);
		}
	}
}

static void test_bpf_loop_depth_and_callback_fault(void **state)
{
	/* f(n) = n ? f(n - 1) : bpf_loop(1, cb): the callback sits at depth n + 2 */
	struct bpf_insn p[] = {
	    CALL_LOCAL(1),
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
	/* the callback faults on its 3rd iteration: the fault names it */
	struct bpf_insn cbfault[] = {
	    MOV64_IMM(1, 4),
	    LDDW(2, BPF_PSEUDO_FUNC, 6, 0), /* -> insn 8 */
	    MOV64_REG(3, 10),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    MOV64_IMM(0, 99),
	    EXIT(),
	    JMP_IMM(BPF_JEQ, 1, 2, 2),
	    MOV64_IMM(0, 0),
	    EXIT(),
	    MOV64_IMM(5, 2),
	    ATOMIC(BPF_W, BPF_ADD, 2, 5, -6), /* misaligned: both modes */
	    EXIT(),
	};

	expect_r0(&CASE("loop depth 8", p, .ctx = (void *)(uintptr_t)5), 1);
	expect_fault(&CASE("loop depth 9", p, .ctx = (void *)(uintptr_t)6), -E2BIG, 11);
	expect_fault(&CASE("loop callback fault", cbfault, .fast_stack_addr = true), -EFAULT, 12);
}

/* ---- helpers calling back ---- */

static void test_helper_callbacks(void **state)
{
	uint64_t buf[2] = {0};
	/* helper 4 calls f(7, 8) = 7 * 8 and adds 1000 */
	struct bpf_insn ok[] = {
	    LDDW(1, BPF_PSEUDO_FUNC, 5, 0), /* -> insn 6 */
	    MOV64_IMM(2, 7),
	    MOV64_IMM(3, 8),
	    CALL_HELPER(H_CB),
	    EXIT(),
	    MOV64_REG(0, 1),
	    ALU64_REG(BPF_MUL, 0, 2),
	    EXIT(),
	};
	/* helper 3's callback to garbage: -EINVAL named by the call */
	struct bpf_insn bad[] = {MOV64_REG(6, 1), CALL_HELPER(H_CB_BAD), ST(BPF_DW, 6, 0, 1),
				 EXIT()};
	/* the callback faults: the fault is the callback's */
	struct bpf_insn cbfault[] = {
	    MOV64_REG(6, 1),      LDDW(1, BPF_PSEUDO_FUNC, 5, 0), /* -> insn 7 */
	    MOV64_IMM(2, 0),      CALL_HELPER(H_CB),
	    ST(BPF_DW, 6, 0, 1),  EXIT(),
	    LDX(BPF_DW, 0, 2, 8), EXIT(),
	};
	/* callback one frame too deep: -E2BIG named by the helper call */
	struct bpf_insn deep[] = {
	    CALL_LOCAL(1),
	    EXIT(),
	    JMP_IMM(BPF_JEQ, 1, 0, 3),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    CALL_LOCAL(-3),
	    EXIT(),
	    LDDW(1, BPF_PSEUDO_FUNC, 3, 0), /* -> insn 10 */
	    CALL_HELPER(H_CB),              /* insn 8 */
	    EXIT(),
	    MOV64_IMM(0, 5),
	    EXIT(),
	};
	struct tcase cbad = CASE("helper cb bad", bad, .ctx = buf, .ctx_len = sizeof(buf),
				 .mem = buf, .mem_len = sizeof(buf));
	struct outcome o[2];

	expect_r0(&CASE("helper cb", ok), 1056);
	run_both(&cbad, o);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(o[m].ret, -EINVAL);
		assert_int_equal(o[m].fault.pc, 1);
		assert_int_equal(o[m].fault.addr, 0);
	}
	assert_int_equal(buf[0], 0);
	expect_fault(&CASE("helper cb fault", cbfault, .modes = MODE_CHECKED, .ctx = buf,
			   .ctx_len = sizeof(buf), .mem = buf, .mem_len = sizeof(buf)),
		     -EFAULT, 7);
	assert_int_equal(buf[0], 0);
	expect_r0(&CASE("helper cb depth 8", deep, .ctx = (void *)(uintptr_t)5), 1005);
	expect_fault(&CASE("helper cb depth 9", deep, .ctx = (void *)(uintptr_t)6), -E2BIG, 8);
}

static void test_helper_sees_the_run(void **state)
{
	BPFTIME_VM_OPTS(opts, .host = (void *)(uintptr_t)1000);
	/* r10 - 16 is on the run's stack in both modes; address 64 is trusted
	 * by the fast mode only; cookie and host reach the helper */
	struct bpf_insn p[] = {MOV64_REG(1, 10),
			       ALU64_IMM(BPF_ADD, 1, -16),
			       MOV64_IMM(2, 16),
			       CALL_HELPER(H_CHECK),
			       MOV64_REG(6, 0),
			       MOV64_IMM(1, 64),
			       MOV64_IMM(2, 8),
			       CALL_HELPER(H_CHECK),
			       ALU64_IMM(BPF_LSH, 6, 16),
			       ALU64_REG(BPF_OR, 0, 6),
			       EXIT()};

	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), checked, true, &opts);
		struct bpftime_vm_run run = {.cookie = (void *)(uintptr_t)7};
		uint64_t one = 1007 + 1, other = 1007 + (checked ? 0 : 1);

		assert_int_equal(bpftime_vm__run(vm, &run), 0);
		assert_int_equal(run.r0, (one << 16) | other);
		bpftime_vm__free(vm);
	}
}

/* ---- tail calls ---- */

/* struct tail_env and tail_lookup: tail-env.h */

/* caller (with the hook, slot 0 = itself) and callee (slot 1): native or not each */
struct tail_setup {
	const struct bpf_insn *caller, *callee;
	size_t caller_n, callee_n;
	bool callee_checked_differs; /* the callee in the other mode */
	uint64_t caller_limit;       /* the caller's opts.insn_limit */
};

static void tail_run(const struct tail_setup *t, const struct tcase *c, const uint8_t *init,
		     bool checked, bool caller_jit, bool callee_jit, struct outcome *o,
		     int *lookups)
{
	struct tail_env env = {0};
	BPFTIME_VM_OPTS(opts, .host = &env, .tail_call = tail_lookup,
			.insn_limit = t->caller_limit);
	struct bpftime_vm *vms[2];

	vms[0] = make_vm(t->caller, t->caller_n, checked, caller_jit, &opts);
	vms[1] = NULL;
	if (t->callee)
		vms[1] = make_vm(t->callee, t->callee_n, checked ^ t->callee_checked_differs,
				 callee_jit, NULL);
	env.slots[0] = vms[0];
	env.slots[1] = vms[1];
	run_case(c, init, (const struct bpftime_vm *const *)vms, 2, o);
	*lookups = env.lookups;
	bpftime_vm__free(vms[0]);
	bpftime_vm__free(vms[1]);
}

/* Every native combination against the all-interpreted run. */
static void tail_compare(const struct tail_setup *t, struct tcase *c, struct outcome out[2])
{
	uint8_t init[MEM_MAX];

	if (c->mem_len)
		memcpy(init, c->mem, c->mem_len);
	for (int checked = 0; checked < 2; checked++) {
		struct outcome ref, o;
		int ref_lookups, lookups;

		tail_run(t, c, init, checked, false, false, &ref, &ref_lookups);
		for (int combo = 1; combo < 4; combo++) {
			tail_run(t, c, init, checked, combo & 1, (combo & 2) && t->callee, &o,
				 &lookups);
			same_outcome(c, checked, &ref, &o);
			if (lookups != ref_lookups)
				fail_msg("%s: %d tail call lookups, interpreted %d", c->name,
					 lookups, ref_lookups);
		}
		if (out)
			out[checked] = o;
	}
}

static void test_tail_calls(void **state)
{
	/* each run counts itself in ctx[0] and tail-calls itself (slot 0) */
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
	/* slot ctx[1]: 1 is the callee, 2 is empty */
	struct bpf_insn caller[] = {
	    MOV64_REG(6, 1),
	    ST(BPF_DW, 6, 8, 5),
	    CALL_LOCAL(4), /* -> insn 7 */
	    LDX(BPF_DW, 1, 6, 8),
	    ALU64_REG(BPF_ADD, 0, 1), /* runs after the tail-called program */
	    ALU64_IMM(BPF_ADD, 0, 5),
	    EXIT(),
	    MOV64_REG(6, 1), /* r1: the ctx, passed on */
	    LDDW64(2, 0xabc),
	    LDX(BPF_DW, 3, 6, 16),
	    CALL_HELPER(BPF_FUNC_tail_call),
	    MOV64_IMM(0, 1000), /* empty slot */
	    EXIT(),
	};
	struct bpf_insn callee[] = {LDX(BPF_DW, 0, 1, 8), ALU64_IMM(BPF_MUL, 0, 8),
				    STX(BPF_DW, 1, 0, 8), MOV64_IMM(0, 40), EXIT()};
	/* bpf_loop whose callback tail-calls ctx[2]: the callee's r0 is the
	 * callback's (40: stop) */
	struct bpf_insn caller_loop[] = {
	    MOV64_REG(6, 1),
	    MOV64_IMM(1, 3),
	    LDDW(2, BPF_PSEUDO_FUNC, 7, 0), /* -> 10 */
	    MOV64_REG(3, 6),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 6, 8),
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    MOV64_REG(1, 2),
	    LDDW64(2, 0xabc),
	    LDX(BPF_DW, 3, 1, 16),
	    CALL_HELPER(BPF_FUNC_tail_call),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};
	struct tail_setup tl = {caller_loop,       callee, ARRAY_LEN(caller_loop),
				ARRAY_LEN(callee), false,  0};
	/* the callee faults: the fault names the callee */
	struct bpf_insn callee_fault[] = {MOV64_IMM(0, 40), MOV64_IMM(2, 1),
					  ATOMIC(BPF_DW, BPF_ADD, 1, 2, 1), EXIT()};
	uint64_t ctx[3];
	struct tail_setup ts = {self, NULL, ARRAY_LEN(self), 0, false, 0};
	struct tail_setup tc = {caller, callee, ARRAY_LEN(caller), ARRAY_LEN(callee), false, 0};
	struct tcase c = CASE("tail self", self, .ctx = ctx, .ctx_len = sizeof(ctx), .mem = ctx,
			      .mem_len = sizeof(ctx));
	struct outcome o[2];

	memset(ctx, 0, sizeof(ctx));
	tail_compare(&ts, &c, o);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(o[m].ret, 0);
		assert_int_equal(o[m].r0, 7);
	}
	/* MAX_TAIL_CALL_CNT 33: the first run plus 33 tail calls */
	assert_int_equal(ctx[0], 34);

	c.name = "tail into callee";
	ctx[0] = 0;
	ctx[2] = 1;
	tail_compare(&tc, &c, o);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(o[m].ret, 0);
		assert_int_equal(o[m].r0, 40 + 40 + 5);
	}
	assert_int_equal(ctx[1], 40);

	c.name = "tail empty slot";
	ctx[2] = 2;
	tail_compare(&tc, &c, o);
	for (int m = 0; m < 2; m++)
		assert_int_equal(o[m].r0, 1000 + 5 + 5);

	c.name = "tail into the other mode's callee";
	ctx[2] = 1;
	tc.callee_checked_differs = true;
	tail_compare(&tc, &c, o);
	for (int m = 0; m < 2; m++)
		assert_int_equal(o[m].r0, 40 + 40 + 5);

	c.name = "tail from a bpf_loop callback";
	ctx[2] = 1;
	ctx[1] = 5;
	tail_compare(&tl, &c, o);
	for (int m = 0; m < 2; m++)
		assert_int_equal(o[m].r0, 1 + 40);
	c.name = "tail from a bpf_loop callback, empty slot";
	ctx[1] = 5;
	ctx[2] = 2;
	tail_compare(&tl, &c, o);
	for (int m = 0; m < 2; m++)
		assert_int_equal(o[m].r0, 3 + 5);

	c.name = "tail callee faults";
	ctx[2] = 1;
	c.fast_stack_addr = false;
	tc.callee = callee_fault;
	tc.callee_n = ARRAY_LEN(callee_fault);
	tc.callee_checked_differs = false;
	tail_compare(&tc, &c, o);
	for (int m = 0; m < 2; m++) {
		assert_int_equal(o[m].ret, -EFAULT);
		assert_int_equal(o[m].fault.pc, 2);
		assert_int_equal(o[m].prog, 1);
		assert_int_equal(o[m].fault.addr, (uint64_t)(uintptr_t)ctx + 1);
	}
}

static void test_tail_call_keeps_insn_limit(void **state)
{
	/* The run's limit is its first program's: a tail-called program without
	 * one of its own still counts against it (200000 insns > 1000). */
	struct bpf_insn caller[] = {LDDW64(2, 0xabc), MOV64_IMM(3, 1),
				    CALL_HELPER(BPF_FUNC_tail_call), MOV64_IMM(0, 7), EXIT()};
	struct bpf_insn callee[] = {LDDW64(1, 100000), ALU64_IMM(BPF_SUB, 1, 1),
				    JMP_IMM(BPF_JNE, 1, 0, -2), MOV64_IMM(0, 1), EXIT()};
	struct tail_setup t = {caller, callee, ARRAY_LEN(caller), ARRAY_LEN(callee), false, 1000};
	struct tcase c = CASE("tail limit", caller);
	int got[4];

	for (int combo = 0; combo < 4; combo++) {
		struct outcome o;
		int lookups;

		tail_run(&t, &c, NULL, true, combo & 1, combo & 2, &o, &lookups);
		got[combo] = o.ret;
		if (o.ret == -ELOOP && o.prog != 1)
			fail_msg("combo %d: -ELOOP in prog %d, want the callee", combo, o.prog);
	}
	assert_int_equal(got[0], -ELOOP);
	assert_int_equal(got[1], -ELOOP); /* native caller, interpreted callee */
	assert_int_equal(got[2], -ELOOP); /* the interpreter runs the callee too */
	if (got[3] != -ELOOP)
		SKIP_BUG("(insn_limit, tail calls): a checked native run limited by its first "
			 "program's insn_limit tail-calls a native program compiled without a "
			 "limit: the callee runs uncounted (returned %d, r0 from the callee; "
			 "interpreted: -ELOOP in the callee). An endless callee never stops.",
			 got[3]);
}

/* ---- the checked mode's instruction limit ---- */

static void test_checked_insn_limit(void **state)
{
	BPFTIME_VM_OPTS(opts, .insn_limit = 1000);
	struct bpf_insn forever[] = {MOV64_IMM(0, 0), ALU64_IMM(BPF_ADD, 0, 1), JA(-2), EXIT()};
	/* forever in a callee, and in a bpf_loop callback that never stops */
	struct bpf_insn callee[] = {CALL_LOCAL(1), EXIT(), MOV64_IMM(0, 0), JA(-2), EXIT()};
	struct bpf_insn loop[] = {LDDW64(1, 1 << 23),
				  LDDW(2, BPF_PSEUDO_FUNC, 5, 0),
				  MOV64_IMM(3, 0),
				  MOV64_IMM(4, 0),
				  CALL_HELPER(BPF_FUNC_loop),
				  EXIT(),
				  MOV64_IMM(0, 0),
				  EXIT()};
	struct bpf_insn count[] = {MOV64_IMM(0, 3), ALU64_IMM(BPF_SUB, 0, 1),
				   JMP_IMM(BPF_JNE, 0, 0, -2), EXIT()};
	struct tcase cs[] = {
	    CASE("forever", forever, .opts = &opts, .modes = MODE_CHECKED),
	    CASE("forever in a callee", callee, .opts = &opts, .modes = MODE_CHECKED),
	    CASE("forever in bpf_loop", loop, .opts = &opts, .modes = MODE_CHECKED),
	};
	struct tcase c =
	    CASE("count", count, .opts = &opts, .modes = MODE_CHECKED, .cmp_insns = true);
	struct outcome o[2];

	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		struct bpftime_vm *vm = make_vm(cs[i].p, cs[i].n, true, true, &opts);
		struct bpftime_vm_run run = {0};

		/* the JIT counts whole blocks: it may stop up to a block early */
		assert_int_equal(bpftime_vm__run(vm, &run), -ELOOP);
		assert_int_equal(run.fault.err, -ELOOP);
		assert_ptr_equal(run.fault.prog, vm);
		if (run.insns > 1000 || run.insns < 990)
			fail_msg("%s: %llu insns", cs[i].name, (unsigned long long)run.insns);
		bpftime_vm__free(vm);
	}
	/* the count of a run that ends is exact: 1 + 3 * 2 + exit */
	expect_r0(&c, 0);
	run_both(&c, o);
	assert_int_equal(o[1].insns, 8);
}

/* Whether the interpreted and native checked runs of @c count the same
 * run->insns; both in @got. */
static bool counts_agree(const struct tcase *c, uint64_t got[2])
{
	for (int e = 0; e < 2; e++) {
		struct bpftime_vm *vm = make_vm(c->p, c->n, true, e, c->opts);
		struct bpftime_vm_run run = {.ctx = c->ctx, .ctx_len = c->ctx_len};

		assert_int_equal(bpftime_vm__run(vm, &run), 0);
		got[e] = run.insns;
		bpftime_vm__free(vm);
	}
	return got[0] == got[1];
}

static void test_checked_insn_count_exact(void **state)
{
	BPFTIME_VM_OPTS(opts, .insn_limit = 1000);
	/* an ld_imm64 is one instruction (two slots), as the kernel counts it */
	struct bpf_insn lddw[] = {LDDW64(0, 1), EXIT()};
	struct bpf_insn calls[] = {MOV64_IMM(1, 3),          CALL_LOCAL(1), EXIT(), MOV64_REG(0, 1),
				   ALU64_IMM(BPF_ADD, 0, 1), EXIT()};
	struct tcase cc =
	    CASE("count calls", calls, .opts = &opts, .modes = MODE_CHECKED, .cmp_insns = true);
	struct tcase cl = CASE("count lddw", lddw, .opts = &opts, .modes = MODE_CHECKED);
	uint64_t got[2];

	expect_r0(&cc, 4);
	if (!counts_agree(&cl, got))
		SKIP_BUG("(insn count): {ld_imm64 r0, 1; exit} with insn_limit counts %llu "
			 "instructions natively, %llu interpreted: the JIT counts both slots of "
			 "an ld_imm64 (run->insns too high, -ELOOP one insn early per ld_imm64)",
			 (unsigned long long)got[1], (unsigned long long)got[0]);
	assert_int_equal(got[1], 2);
}

static void test_checked_insns_without_limit(void **state)
{
	/* vm.h: run->insns in the bounds-checked mode counts instructions
	 * interpreted; native code counts only under an insn_limit (counting
	 * would cost every agent hit a load and a store per block), and says
	 * 0 otherwise */
	struct bpf_insn p[] = {MOV64_IMM(0, 3), ALU64_IMM(BPF_SUB, 0, 1),
			       JMP_IMM(BPF_JNE, 0, 0, -2), EXIT()};
	struct tcase c = CASE("count, no limit", p, .modes = MODE_CHECKED);
	uint64_t got[2];

	(void)state;
	counts_agree(&c, got);
	assert_int_equal(got[0], 8);
	assert_int_equal(got[1], 0);
}

/* ---- zero_stack ---- */

static void test_zero_stack(void **state)
{
	BPFTIME_VM_OPTS(opts, .zero_stack = true);
	/* reads what it has not written, in main and in a callee called twice;
	 * every slot it reads must be zero, also after the first call left 55 */
	struct bpf_insn p[] = {
	    LDX(BPF_DW, 6, 10, -8),
	    LDX(BPF_DW, 7, 10, -512),
	    ST(BPF_DW, 10, -8, 77),
	    CALL_LOCAL(7), /* -> 11 */
	    ALU64_REG(BPF_OR, 6, 0),
	    CALL_LOCAL(5),
	    ALU64_IMM(BPF_LSH, 0, 8),
	    ALU64_REG(BPF_OR, 6, 0),
	    ALU64_REG(BPF_OR, 6, 7),
	    MOV64_REG(0, 6),
	    EXIT(),
	    LDX(BPF_DW, 0, 10, -16),
	    ST(BPF_DW, 10, -16, 55),
	    EXIT(),
	};
	/* main only */
	struct bpf_insn main_only[] = {LDX(BPF_DW, 0, 10, -8),   LDX(BPF_DW, 1, 10, -256),
				       ALU64_REG(BPF_OR, 0, 1),  ST(BPF_DW, 10, -8, 77),
				       ST(BPF_DW, 10, -256, 77), EXIT()};
	struct tcase c = CASE("zero_stack", main_only, .opts = &opts);

	/* twice from the same frame: the first run's 77 must not be seen */
	expect_r0(&c, 0);
	expect_r0(&c, 0);
	c = CASE("zero_stack callee", p, .opts = &opts, .modes = MODE_FAST);
	{
		struct outcome o[2];
		struct bpftime_vm *vi = make_vm(p, ARRAY_LEN(p), false, false, &opts);
		struct bpftime_vm *vj = make_vm(p, ARRAY_LEN(p), false, true, &opts);
		struct bpftime_vm_run run = {0};

		/* the interpreter: a callee frame keeps what the previous call
		 * left in it, as the kernel's one stack per program does */
		assert_int_equal(bpftime_vm__run(vi, &run), 0);
		o[0].r0 = run.r0;
		assert_int_equal(bpftime_vm__run(vj, &run), 0);
		o[1].r0 = run.r0;
		bpftime_vm__free(vi);
		bpftime_vm__free(vj);
		/* native fast code zeroes a function's frame whenever the
		 * function starts (vm.h, zero_stack): the second call does not
		 * see the 55 the first left */
		assert_int_equal(o[0].r0, 0x3700);
		assert_int_equal(o[1].r0, 0);
	}
}

/* ---- binding images ---- */

static void *compile(const struct bpftime_vm *vm, size_t *len)
{
	char msg[256];
	void *image = NULL;
	int err = bpftime_jit__compile(vm, NULL, &image, len, msg, sizeof(msg));

	if (err)
		fail_msg("compile: %d %s", err, msg);
	assert_non_null(image);
	return image;
}

/* bpftime_vm__native_bind into fresh page-aligned memory (not executable:
 * these binds are expected to fail before anything runs) */
static int bind_fresh(struct bpftime_vm *vm, const void *image, size_t len)
{
	int64_t size = bpftime_vm__native_size(image, len);
	size_t exec_len = 0;
	void *mem;
	int err;

	if (size < 0)
		size = 4096;
	mem = aligned_alloc(4096, (size_t)size);
	assert_non_null(mem);
	err = bpftime_vm__native_bind(vm, image, len, mem, (size_t)size, NULL, &exec_len);
	if (err == 0)
		/* bound: the vm keeps the memory; leak it rather than unbind */
		return 0;
	free(mem);
	return err;
}

static void expect_refused(struct bpftime_vm *vm, const void *image, size_t len, int err,
			   const char *what)
{
	int got = bpftime_vm__load_native(vm, image, len);

	if (got != err)
		fail_msg("%s: load_native %d, want %d (%s)", what, got, err,
			 bpftime_vm__last_error(vm));
	got = bind_fresh(vm, image, len);
	if (got != err)
		fail_msg("%s: native_bind %d, want %d (%s)", what, got, err,
			 bpftime_vm__last_error(vm));
	assert_false(bpftime_vm__is_native(vm));
}

static void test_bind_rejections(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(1, 5), CALL_HELPER(H_RET1), ALU64_IMM(BPF_ADD, 0, 1),
			       EXIT()};
	struct bpf_insn other[] = {MOV64_IMM(1, 6), CALL_HELPER(H_RET1), ALU64_IMM(BPF_ADD, 0, 1),
				   EXIT()};
	struct bpftime_vm *src = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	size_t len = 0;
	uint8_t *image = compile(src, &len), *bad = calloc(1, len + 16);
	struct vm_image_hdr *h = (struct vm_image_hdr *)bad;
	struct bpftime_vm *vm;
	uint64_t r0 = 0;

	assert_non_null(bad);
	assert_true(bpftime_vm__native_size(image, len) > 0);
	/* another program */
	vm = make_vm(other, ARRAY_LEN(other), false, false, NULL);
	expect_refused(vm, image, len, -ESTALE, "other program");
	bpftime_vm__free(vm);
	/* the other mode */
	vm = make_vm(p, ARRAY_LEN(p), true, false, NULL);
	expect_refused(vm, image, len, -ESTALE, "other mode");
	bpftime_vm__free(vm);
	/* an instruction limit the image does not count */
	{
		BPFTIME_VM_OPTS(lim, .insn_limit = 10);
		struct bpftime_vm *csrc = make_vm(p, ARRAY_LEN(p), true, false, NULL);
		size_t clen = 0;
		void *cimg = compile(csrc, &clen);

		vm = make_vm(p, ARRAY_LEN(p), true, false, &lim);
		expect_refused(vm, cimg, clen, -ESTALE, "insn limit");
		bpftime_vm__free(vm);
		bpftime_vm__free(csrc);
		free(cimg);
	}

	vm = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	/* magic */
	memcpy(bad, image, len);
	bad[0] ^= 0xff;
	assert_int_equal(bpftime_vm__native_size(bad, len), -EINVAL);
	expect_refused(vm, bad, len, -EINVAL, "magic");
	/* ABI */
	memcpy(bad, image, len);
	h->abi++;
	assert_int_equal(bpftime_vm__native_size(bad, len), -ENOEXEC);
	expect_refused(vm, bad, len, -ENOEXEC, "abi");
	/* truncated, and a header alone */
	memcpy(bad, image, len);
	expect_refused(vm, bad, len - 1, -EINVAL, "truncated");
	expect_refused(vm, bad, sizeof(*h) - 1, -EINVAL, "short header");
	/* longer than it says */
	expect_refused(vm, bad, len + 16, -EINVAL, "trailing bytes");
	/* tables out of the image */
	memcpy(bad, image, len);
	h->nr_slots = 1u << 20;
	expect_refused(vm, bad, len, -EINVAL, "slots out of the image");
	memcpy(bad, image, len);
	h->code_len = (uint32_t)len;
	expect_refused(vm, bad, len, -EINVAL, "code out of the image");
	/* a fast image's entry: missing, or past the code */
	memcpy(bad, image, len);
	assert_true(h->flags & VM_IMAGE_ENTRY);
	h->flags &= ~VM_IMAGE_ENTRY;
	expect_refused(vm, bad, len, -EINVAL, "fast image without its entry");
	memcpy(bad, image, len);
	h->entry_code = h->code_len;
	expect_refused(vm, bad, len, -EINVAL, "entry past the code");
	/* memory: too small, unaligned */
	{
		int64_t size = bpftime_vm__native_size(image, len);
		uint8_t *mem = aligned_alloc(4096, (size_t)size + 4096);

		assert_non_null(mem);
		assert_int_equal(
		    bpftime_vm__native_bind(vm, image, len, mem, (size_t)size - 1, NULL, NULL),
		    -EINVAL);
		assert_int_equal(
		    bpftime_vm__native_bind(vm, image, len, mem + 8, (size_t)size, NULL, NULL),
		    -EINVAL);
		free(mem);
	}
	/* an unloaded vm */
	{
		struct bpftime_vm *empty = bpftime_vm__new(NULL);

		assert_int_equal(bpftime_vm__load_native(empty, image, len), -EINVAL);
		bpftime_vm__free(empty);
	}
	/* the real one works, once */
	assert_int_equal(bpftime_vm__load_native(vm, image, len), 0);
	assert_true(bpftime_vm__is_native(vm));
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 6);
	assert_int_equal(bpftime_vm__load_native(vm, image, len), -EBUSY);
	assert_int_equal(bind_fresh(vm, image, len), -EBUSY);
	assert_true(bpftime_vm__is_native(vm));
	bpftime_vm__free(vm);
	bpftime_vm__free(src);
	free(image);
	free(bad);
}

static void *released_mem;
static size_t released_len;
static int releases;

static void release_mapping(void *mem, size_t len)
{
	released_mem = mem;
	released_len = len;
	releases++;
	munmap(mem, len);
}

static void test_native_bind_by_hand(void **state)
{
	/* what the agent does without libc: its own mapping, code made
	 * read + exec and the data slots read-only, release on free */
	struct bpf_insn p[] = {MOV64_IMM(1, 5), CALL_HELPER(H_RET1), ALU64_IMM(BPF_ADD, 0, 1),
			       EXIT()};
	struct bpftime_vm *src = make_vm(p, ARRAY_LEN(p), true, false, NULL);
	struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), true, false, NULL);
	size_t len = 0, exec_len = 0;
	void *image = compile(src, &len);
	int64_t size = bpftime_vm__native_size(image, len);
	void *mem;
	uint64_t r0 = 0;

	assert_true(size > 0 && size % 4096 == 0);
	mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(
	    bpftime_vm__native_bind(vm, image, len, mem, (size_t)size, release_mapping, &exec_len),
	    0);
	free(image);
	assert_true(exec_len > 0 && exec_len <= (size_t)size && exec_len % 4096 == 0);
	assert_int_equal(mprotect(mem, exec_len, PROT_READ | PROT_EXEC), 0);
	if (exec_len < (size_t)size)
		assert_int_equal(
		    mprotect((char *)mem + exec_len, (size_t)size - exec_len, PROT_READ), 0);
	assert_true(bpftime_vm__is_native(vm));
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 6);
	releases = 0;
	bpftime_vm__free(vm);
	assert_int_equal(releases, 1);
	assert_ptr_equal(released_mem, mem);
	assert_int_equal(released_len, (size_t)size);
	bpftime_vm__free(src);
}

static uint64_t helper_tail_as_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
				      const struct bpftime_vm_call *call)
{
	return 0x7a11;
}

static uint64_t helper_my_loop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			       const struct bpftime_vm_call *call)
{
	return 0x100;
}

static void test_bind_other_helper_table(void **state)
{
	/* bpf_tail_call: a helper call in a vm without the tail_call hook (helper 12
	 * registered), the vm's own op in a vm with it (helper 12 not registered) */
	struct bpf_insn p[] = {LDDW64(2, 0xabc), MOV64_IMM(3, 0), CALL_HELPER(BPF_FUNC_tail_call),
			       EXIT()};
	struct tail_env env = {0};
	BPFTIME_VM_OPTS(hook, .host = &env, .tail_call = tail_lookup);
	struct bpftime_vm *plain = bpftime_vm__new(NULL), *hooked;
	void *image;
	size_t len = 0;
	int err;

	assert_int_equal(
	    bpftime_vm__register_helper(plain, BPF_FUNC_tail_call, "tail", helper_tail_as_helper),
	    0);
	assert_int_equal(bpftime_vm__load(plain, p, ARRAY_LEN(p)), 0);
	hooked = make_vm(p, ARRAY_LEN(p), false, false, &hook);
	/* the helper the image calls is not registered in the binding vm */
	image = compile(plain, &len);
	assert_int_equal(bpftime_vm__load_native(hooked, image, len), -ESTALE);
	assert_non_null(strstr(bpftime_vm__last_error(hooked), "decodes differently"));
	free(image);
	/* the reverse: an image with the hook's tail call, in a vm without it */
	image = compile(hooked, &len);
	err = bpftime_vm__load_native(plain, image, len);
	free(image);
	bpftime_vm__free(hooked);
	if (err == 0) {
		bpftime_vm__free(plain);
		SKIP_BUG("(binding): an image compiled with opts.tail_call binds in a vm "
			 "without it (helper 12 registered instead): its runs would call the "
			 "NULL tail_call hook; want -ESTALE");
	}
	assert_int_equal(err, -ESTALE);
	bpftime_vm__free(plain);
}

static void test_bind_loop_inlined_vs_helper(void **state)
{
	/* helper 181 registered as bpftime_vm_helper_loop is inlined; as another
	 * function it is a plain helper. An image of one must not run in the other. */
	struct bpf_insn p[] = {MOV64_IMM(1, 0),
			       MOV64_IMM(2, 0),
			       MOV64_IMM(3, 0),
			       MOV64_IMM(4, 0),
			       CALL_HELPER(BPF_FUNC_loop),
			       EXIT()};
	struct bpftime_vm *inl = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	struct bpftime_vm *own = bpftime_vm__new(NULL);
	void *image;
	size_t len = 0;
	uint64_t r0 = 0;
	int err;

	assert_int_equal(bpftime_vm__register_helper(own, BPF_FUNC_loop, "my_loop", helper_my_loop),
			 0);
	assert_int_equal(bpftime_vm__load(own, p, ARRAY_LEN(p)), 0);
	assert_int_equal(bpftime_vm__exec(own, NULL, 0, &r0), 0);
	assert_int_equal(r0, 0x100);
	image = compile(inl, &len);
	err = bpftime_vm__load_native(own, image, len);
	free(image);
	if (err == 0) {
		assert_int_equal(bpftime_vm__exec(own, NULL, 0, &r0), 0);
		bpftime_vm__free(own);
		bpftime_vm__free(inl);
		if (r0 != 0x100)
			SKIP_BUG("(binding): an image with bpf_loop inlined binds in a vm "
				 "whose helper 181 is another function, and runs the inlined "
				 "loop: r0 0x%llx, want the helper's 0x100 (or -ESTALE)",
				 (unsigned long long)r0);
		return;
	}
	assert_int_equal(err, -ESTALE);
	bpftime_vm__free(own);
	bpftime_vm__free(inl);
}

/* ---- an image in another vm (the cross-process case) ---- */

struct map_env {
	uint64_t value[4];
};

static int map_resolver(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct map_env *env = host;

	*value = (uint64_t)(uintptr_t)env->value + (uint64_t)req->next_imm;
	return 0;
}

static uint64_t helper_ret1_plus(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
				 const struct bpftime_vm_call *call)
{
	return a + 100000;
}

/* Which images have the entry (vm-image.h): fast ones and checked ones,
 * not counting ones; a checked image's runs start there only on a vm that
 * keeps its stack, elsewhere run_full() clears the stack first. */
static void test_checked_entry(void **state)
{
	/* returns the slot's old value, then leaves 77 in it */
	struct bpf_insn p[] = {LDX(BPF_DW, 0, 10, -8), ST(BPF_DW, 10, -8, 77), EXIT()};
	const struct {
		bool checked;
		uint64_t limit;
		bool entry;
	} img[] = {{false, 0, true}, {true, 0, true}, {true, 1000, false}};

	for (size_t k = 0; k < ARRAY_LEN(img); k++) {
		BPFTIME_VM_OPTS(o, .insn_limit = img[k].limit);
		struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), img[k].checked, false, &o);
		size_t len = 0;
		void *image = compile(vm, &len);

		assert_int_equal(!!(((struct vm_image_hdr *)image)->flags & VM_IMAGE_ENTRY),
				 img[k].entry);
		free(image);
		bpftime_vm__free(vm);
	}
	/* a checked image on a vm that does not keep its stack: every run
	 * reads 0, as the interpreter's (the entry would see the 77) */
	for (int run = 0; run < 2; run++) {
		struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), true, true, NULL);
		uint64_t r0 = 1;

		assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
		assert_int_equal(r0, 0);
		assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
		assert_int_equal(r0, 0);
		bpftime_vm__free(vm);
	}
}

static void test_image_in_another_vm(void **state)
{
	/* map value, function value (dynamic bpf_loop) and helper address all
	 * differ between the two vms */
	struct bpf_insn p[] = {
	    LDDW(6, BPF_PSEUDO_MAP_VALUE, 0, 0),
	    LDX(BPF_DW, 1, 6, 0),
	    CALL_HELPER(H_RET1), /* the binding vm's helper */
	    STX(BPF_DW, 6, 0, 8),
	    LDDW(7, BPF_PSEUDO_FUNC, 9, 0), /* -> insn 15 */
	    JA(0),
	    MOV64_IMM(1, 5),
	    MOV64_REG(2, 7),
	    MOV64_REG(3, 6),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 0, 6, 16),
	    EXIT(),
	    /* callback(i, value): value[2] += i */
	    LDX(BPF_DW, 3, 2, 16),
	    ALU64_REG(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 16),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};

	for (int checked = 0; checked < 2; checked++) {
		struct map_env a = {{1, 0, 0, 0}}, b = {{2, 0, 100, 0}};
		BPFTIME_VM_OPTS(oa, .host = &a, .resolve_ldimm64 = map_resolver,
				.bounds_check = checked);
		BPFTIME_VM_OPTS(ob, .host = &b, .resolve_ldimm64 = map_resolver,
				.bounds_check = checked);
		struct bpftime_vm *va = bpftime_vm__new(&oa), *vb = bpftime_vm__new(&ob);
		void *image;
		size_t len = 0;
		uint64_t r0 = 0;

		register_helpers(va);
		/* vb: the same ids, helper 1 another function */
		assert_int_equal(bpftime_vm__register_helper(vb, H_RET1, "ret1+", helper_ret1_plus),
				 0);
		assert_int_equal(bpftime_vm__register_helper(vb, BPF_FUNC_loop, "bpf_loop",
							     bpftime_vm_helper_loop),
				 0);
		assert_int_equal(bpftime_vm__load(va, p, ARRAY_LEN(p)), 0);
		assert_int_equal(bpftime_vm__load(vb, p, ARRAY_LEN(p)), 0);
		assert_int_equal(
		    bpftime_vm__add_region(vb, b.value, sizeof(b.value),
					   BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE),
		    0);
		image = compile(va, &len);
		bpftime_vm__free(va); /* the image outlives the vm it came from */
		assert_int_equal(bpftime_vm__load_native(vb, image, len), 0);
		free(image);
		assert_true(bpftime_vm__is_native(vb));
		assert_int_equal(bpftime_vm__exec(vb, NULL, 0, &r0), 0);
		/* b's value, b's helper, b's callback address */
		assert_int_equal(b.value[1], 100002);
		assert_int_equal(b.value[2], 110);
		assert_int_equal(r0, 110);
		assert_int_equal(a.value[1], 0);
		assert_int_equal(a.value[2], 0);
		bpftime_vm__free(vb);
	}
}

/* ---- concurrency ---- */

#define THREADS     4
#define THREAD_RUNS 100000

struct thread_job {
	const struct bpftime_vm *vm;
	uint64_t base;
	int bad;
};

static void *thread_worker(void *arg)
{
	struct thread_job *job = arg;

	for (int i = 0; i < THREAD_RUNS && !job->bad; i++) {
		uint64_t x = job->base + (uint64_t)i;
		uint64_t ctx[3] = {x, 0, 0};
		struct bpftime_vm_run run = {.ctx = ctx, .ctx_len = sizeof(ctx)};

		if (bpftime_vm__run(job->vm, &run) || ctx[1] != 3 * x + 1 || ctx[2] != 4 * x + 6 ||
		    run.r0 != 3 * x + 1 + 4)
			job->bad = i + 1;
	}
	return NULL;
}

static void test_threads_share_a_native_vm(void **state)
{
	struct bpf_insn p[] = {
	    MOV64_REG(6, 1),
	    LDX(BPF_DW, 1, 6, 0),
	    CALL_LOCAL(11), /* -> 14: 3x + 1 */
	    STX(BPF_DW, 6, 0, 8),
	    MOV64_IMM(1, 4),
	    LDDW(2, BPF_PSEUDO_FUNC, 12, 0), /* -> 18 */
	    MOV64_REG(3, 6),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 6, 8),
	    ALU64_REG(BPF_ADD, 0, 1),
	    EXIT(),
	    EXIT(),
	    MOV64_REG(0, 1),
	    ALU64_IMM(BPF_MUL, 0, 3),
	    ALU64_IMM(BPF_ADD, 0, 1),
	    EXIT(),
	    /* callback(i, ctx): ctx[2] += ctx[0] + i */
	    LDX(BPF_DW, 3, 2, 16),
	    LDX(BPF_DW, 4, 2, 0),
	    ALU64_REG(BPF_ADD, 3, 4),
	    ALU64_REG(BPF_ADD, 3, 1),
	    STX(BPF_DW, 2, 3, 16),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};

	for (int checked = 0; checked < 2; checked++) {
		struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), checked, true, NULL);
		pthread_t th[THREADS];
		struct thread_job jobs[THREADS];

		for (int i = 0; i < THREADS; i++) {
			jobs[i] = (struct thread_job){.vm = vm, .base = (uint64_t)i << 40};
			assert_int_equal(pthread_create(&th[i], NULL, thread_worker, &jobs[i]), 0);
		}
		for (int i = 0; i < THREADS; i++) {
			pthread_join(th[i], NULL);
			if (jobs[i].bad)
				fail_msg("%s mode: thread %d: run %d wrong",
					 checked ? "checked" : "fast", i, jobs[i].bad - 1);
		}
		bpftime_vm__free(vm);
	}
}

/* ---- bpftime_jit__compile ---- */

static void test_compile_opts(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(0, 3), EXIT()};
	struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	struct bpftime_vm *empty = bpftime_vm__new(NULL);
	struct {
		struct bpftime_jit_opts o;
		uint64_t future;
	} big;
	struct bpftime_jit_opts o;
	char msg[256];
	void *image = NULL;
	size_t len = 0;

	memset(&o, 0, sizeof(o));
	o.sz = 0;
	assert_int_equal(bpftime_jit__compile(vm, &o, &image, &len, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "sz"));
	o.sz = sizeof(o);
	o.opt_level = 4;
	assert_int_equal(bpftime_jit__compile(vm, &o, &image, &len, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "opt_level"));
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.future = 1;
	assert_int_equal(bpftime_jit__compile(vm, &big.o, &image, &len, msg, sizeof(msg)), -EINVAL);
	assert_null(image);
	/* zero past the known fields is fine, as is an older, shorter struct */
	big.future = 0;
	assert_int_equal(bpftime_jit__compile(vm, &big.o, &image, &len, msg, sizeof(msg)), 0);
	free(image);
	image = NULL;
	o.sz = offsetof(struct bpftime_jit_opts, opt_level);
	o.opt_level = 99; /* past sz: not read */
	assert_int_equal(bpftime_jit__compile(vm, &o, &image, &len, NULL, 0), 0);
	free(image);
	image = NULL;
	/* no vm, no program, no output */
	assert_int_equal(bpftime_jit__compile(NULL, NULL, &image, &len, NULL, 0), -EINVAL);
	assert_int_equal(bpftime_jit__compile(empty, NULL, &image, &len, msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(bpftime_jit__compile(vm, NULL, NULL, &len, NULL, 0), -EINVAL);
	assert_int_equal(bpftime_jit__load(empty, NULL), -EINVAL);
	bpftime_vm__free(empty);
	bpftime_vm__free(vm);
}

static void test_compile_ir_path(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(0, 3), CALL_LOCAL(1), EXIT(), MOV64_IMM(0, 4), EXIT()};
	struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	char path[] = "/tmp/bpftime-jit-ir-XXXXXX";
	int fd = mkstemp(path);
	struct bpftime_jit_opts o = {.sz = sizeof(o), .ir_path = path};
	void *image = NULL;
	size_t len = 0;
	char text[4096] = {0};
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(bpftime_jit__compile(vm, &o, &image, &len, NULL, 0), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	unlink(path);
	assert_non_null(strstr(text, "bpftime_f0"));
	free(image);
	bpftime_vm__free(vm);
}

/* No child left behind by a compilation in a child process. */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* opts.timeout_ms: the same image from a child process; a child that
 * crashes or runs out of time fails the call, and the caller lives on. */
static void test_compile_isolated(void **state)
{
	struct bpf_insn p[] = {MOV64_IMM(0, 3), CALL_LOCAL(1), EXIT(), MOV64_IMM(0, 4), EXIT()};
	struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), false, false, NULL);
	BPFTIME_JIT_OPTS(iso, .timeout_ms = 60000);
	BPFTIME_JIT_OPTS(crash, .timeout_ms = 60000, .ir_path = (const char *)8);
	BPFTIME_JIT_OPTS(quick, .timeout_ms = 1);
	void *here, *there = NULL;
	size_t here_len, there_len = 0;
	char msg[256];
	uint64_t r0 = 0;

	here = compile(vm, &here_len);
	assert_int_equal(bpftime_jit__compile(vm, &iso, &there, &there_len, msg, sizeof(msg)), 0);
	assert_no_children();
	assert_int_equal(there_len, here_len);
	assert_memory_equal(there, here, here_len);
	assert_int_equal(bpftime_vm__load_native(vm, there, there_len), 0);
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 4);
	free(here);
	free(there);
	there = NULL;
	/* LLVM handed a bad pointer (the IR file's name) dies in the child */
	assert_int_equal(bpftime_jit__compile(vm, &crash, &there, &there_len, msg, sizeof(msg)),
			 -EIO);
	assert_null(there);
	/* (under ASan, its SEGV handler reports and exits instead) */
	if (!strstr(msg, "died with signal 11") && !strstr(msg, "ended without a result"))
		fail_msg("crash: %s", msg);
	assert_no_children();
	/* no compilation is done in 1 ms (a fork and LLVM's set-up alone) */
	assert_int_equal(bpftime_jit__compile(vm, &quick, &there, &there_len, msg, sizeof(msg)),
			 -ETIMEDOUT);
	assert_null(there);
	assert_non_null(strstr(msg, "took more than 1 ms"));
	assert_no_children();
	bpftime_vm__free(vm);
}

static void test_opt_levels_agree(void **state)
{
	uint64_t buf[4] = {0};
	/* calls, bpf_loop, atomics, checked accesses, division edge cases */
	struct bpf_insn p[] = {
	    MOV64_REG(6, 1),
	    MOV64_IMM(1, 12),
	    CALL_LOCAL(13), /* -> 16 */
	    STX(BPF_DW, 6, 0, 0),
	    MOV64_IMM(1, 50),
	    LDDW(2, BPF_PSEUDO_FUNC, 15, 0), /* -> 21 */
	    MOV64_REG(3, 6),
	    MOV64_IMM(4, 0),
	    CALL_HELPER(BPF_FUNC_loop),
	    LDX(BPF_DW, 1, 6, 8),
	    ALU64_REG(BPF_ADD, 0, 1),
	    MOV64_IMM(2, 0),
	    ALU64_REG(BPF_DIV, 0, 2),
	    ALU64_IMM(BPF_ADD, 0, 1),
	    EXIT(),
	    /* f(n) = n * (n + 1) / 2 by a loop */
	    MOV64_IMM(0, 0),
	    ALU64_REG(BPF_ADD, 0, 1),
	    ALU64_IMM(BPF_SUB, 1, 1),
	    JMP_IMM(BPF_JNE, 1, 0, -3),
	    EXIT(),
	    /* callback: atomically ctx[1] += i; ctx[2] ^= i */
	    MOV64_REG(3, 1),
	    ATOMIC(BPF_DW, BPF_ADD | BPF_FETCH, 2, 3, 8),
	    ATOMIC(BPF_DW, BPF_XOR, 2, 1, 16),
	    MOV64_IMM(0, 0),
	    EXIT(),
	};

	for (unsigned level = 0; level <= 3; level++)
		for (int checked = 0; checked < 2; checked++) {
			struct bpftime_jit_opts o = {.sz = sizeof(o), .opt_level = level};
			struct bpftime_vm *vm = make_vm(p, ARRAY_LEN(p), checked, false, NULL);
			struct bpftime_vm_run run = {.ctx = buf, .ctx_len = sizeof(buf)};
			int err;

			memset(buf, 0, sizeof(buf));
			err = bpftime_jit__load(vm, &o);
			if (err)
				fail_msg("opt_level %u: %d %s", level, err,
					 bpftime_vm__last_error(vm));
			assert_true(bpftime_vm__is_native(vm));
			assert_int_equal(bpftime_vm__run(vm, &run), 0);
			/* div by 0 gives 0: r0 = 1 */
			assert_int_equal(run.r0, 1);
			assert_int_equal(buf[0], 78);
			assert_int_equal(buf[1], 1225);
			assert_int_equal(buf[2], 1); /* xor of 0..49 */
			bpftime_vm__free(vm);
		}
	/* and the interpreter agrees */
	{
		struct tcase c = CASE("opt levels", p, .ctx = buf, .ctx_len = sizeof(buf),
				      .mem = buf, .mem_len = sizeof(buf));

		memset(buf, 0, sizeof(buf));
		expect_r0(&c, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_native_flag_and_mode),
	    cmocka_unit_test(test_alu_memory_and_jumps_agree),
	    cmocka_unit_test(test_checked_out_of_bounds),
	    cmocka_unit_test(test_checked_ctx_readonly),
	    cmocka_unit_test(test_checked_regions),
	    cmocka_unit_test(test_checked_access_callback),
	    cmocka_unit_test(test_atomics_all_ops),
	    cmocka_unit_test(test_load_acquire_store_release),
	    cmocka_unit_test(test_misaligned_atomics_fault),
	    cmocka_unit_test(test_calls_preserve_r6_r9_and_frames),
	    cmocka_unit_test(test_call_depth_limit),
	    cmocka_unit_test(test_callee_fault_propagates),
	    cmocka_unit_test(test_callx),
	    cmocka_unit_test(test_callx_depth_limit),
	    cmocka_unit_test(test_bpf_loop_constant_callback),
	    cmocka_unit_test(test_bpf_loop_dynamic_callback),
	    cmocka_unit_test(test_bpf_loop_early_stop_and_errors),
	    cmocka_unit_test(test_bpf_loop_depth_and_callback_fault),
	    cmocka_unit_test(test_helper_callbacks),
	    cmocka_unit_test(test_helper_sees_the_run),
	    cmocka_unit_test(test_tail_calls),
	    cmocka_unit_test(test_tail_call_keeps_insn_limit),
	    cmocka_unit_test(test_checked_insn_limit),
	    cmocka_unit_test(test_checked_insn_count_exact),
	    cmocka_unit_test(test_checked_insns_without_limit),
	    cmocka_unit_test(test_checked_entry),
	    cmocka_unit_test(test_zero_stack),
	    cmocka_unit_test(test_bind_rejections),
	    cmocka_unit_test(test_native_bind_by_hand),
	    cmocka_unit_test(test_bind_other_helper_table),
	    cmocka_unit_test(test_bind_loop_inlined_vs_helper),
	    cmocka_unit_test(test_image_in_another_vm),
	    cmocka_unit_test(test_threads_share_a_native_vm),
	    cmocka_unit_test(test_compile_opts),
	    cmocka_unit_test(test_compile_ir_path),
	    cmocka_unit_test(test_compile_isolated),
	    cmocka_unit_test(test_opt_levels_agree),
	};

	if (!bpftime_jit__available()) {
		fprintf(stderr, "test_vm_jit: SKIP: the JIT compiles for x86-64 only\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !BPFTIME_HAVE_JIT */

int main(void)
{
	fprintf(stderr, "test_vm_jit: SKIP: built without bpftime_vm_jit (no LLVM)\n");
	return 77;
}

#endif
