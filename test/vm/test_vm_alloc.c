// SPDX-License-Identifier: MIT
/*
 * The vm without libc: created with bpftime_vm__create and a bump allocator
 * over a static buffer, as the agent does, it registers helpers, loads,
 * rejects with the usual messages and runs; every allocation goes through
 * the allocator and is given back, with the size it was made with. Also the
 * vm's own snprintf against libc's, and fault messages against strerror.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpftime/vm.h>
#include "insn.h"

/* vm-fmt.c, internal to the library */
int bpftime_vm_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ARENA_SIZE  (1 << 20)
#define MAX_BLOCKS  64
#define BLOCK_ALIGN 16

struct bump {
	unsigned char *base;
	size_t used;
	int fail_after; /* allocations to grant before failing; -1: never */
	unsigned allocs, frees;
	size_t live; /* bytes allocated and not given back */
	struct {
		void *p;
		size_t size;
		bool freed;
	} blocks[MAX_BLOCKS];
	/* the host pointer is shared with the other callbacks */
	unsigned resolves;
};

static unsigned char arena[ARENA_SIZE] __attribute__((aligned(BLOCK_ALIGN)));

static void bump_init(struct bump *b)
{
	memset(b, 0, sizeof(*b));
	b->base = arena;
	b->fail_after = -1;
}

static void *bump_alloc(void *host, size_t size)
{
	struct bump *b = host;
	size_t at = (b->used + BLOCK_ALIGN - 1) & ~(size_t)(BLOCK_ALIGN - 1);
	void *p;

	if (b->fail_after == 0 || at + size > ARENA_SIZE || b->allocs == MAX_BLOCKS)
		return NULL;
	if (b->fail_after > 0)
		b->fail_after--;
	p = b->base + at;
	b->used = at + size;
	b->blocks[b->allocs].p = p;
	b->blocks[b->allocs].size = size;
	b->blocks[b->allocs].freed = false;
	b->allocs++;
	b->live += size;
	/* garbage, so that the vm cannot rely on zeroed memory */
	memset(p, 0xa5, size);
	return p;
}

static void bump_dealloc(void *host, void *p, size_t size)
{
	struct bump *b = host;

	for (unsigned i = 0; i < b->allocs; i++) {
		if (b->blocks[i].p != p)
			continue;
		assert_false(b->blocks[i].freed);
		assert_int_equal(b->blocks[i].size, size);
		b->blocks[i].freed = true;
		b->frees++;
		b->live -= size;
		return;
	}
	fail_msg("dealloc of %p, which bump_alloc did not return", p);
}

static void assert_balanced(const struct bump *b)
{
	assert_int_equal(b->allocs, b->frees);
	assert_int_equal(b->live, 0);
}

static uint64_t helper_add(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			   const struct bpftime_vm_call *call)
{
	struct bump *host = bpftime_vm_call__host(call);

	return a + b + (host->base == arena ? 1000 : 0);
}

static struct bpftime_vm *create(struct bump *b, bool checked)
{
	BPFTIME_VM_OPTS(opts, .host = b, .alloc = bump_alloc, .dealloc = bump_dealloc,
			.bounds_check = checked);
	struct bpftime_vm *vm;
	int err = 1;

	vm = bpftime_vm__create(&opts, &err);
	assert_non_null(vm);
	assert_int_equal(err, 0);
	return vm;
}

/* r0 = helper(ctx[0], 2) + 3 * bpf_loop(5, callback), the callback a function */
static const struct bpf_insn prog[] = {
    LDX(BPF_DW, 6, 1, 0),
    MOV64_REG(1, 6),
    MOV64_IMM(2, 2),
    CALL_HELPER(7),
    MOV64_REG(6, 0),
    MOV64_IMM(1, 5),
    LDDW(2, BPF_PSEUDO_FUNC, 7, 0), /* the callback, insn 14 */
    MOV64_IMM(3, 0),
    MOV64_IMM(4, 0),
    CALL_HELPER(BPF_FUNC_loop),
    ALU64_IMM(BPF_MUL, 0, 3),
    ALU64_REG(BPF_ADD, 0, 6),
    EXIT(),
    MOV64_IMM(0, 0),
    EXIT(),
};

static void test_create_load_run(void **state)
{
	for (int checked = 0; checked <= 1; checked++) {
		struct bump b;
		struct bpftime_vm *vm;
		uint64_t ctx = 40, r0 = 0;
		size_t cnt = 0;

		bump_init(&b);
		vm = create(&b, checked);
		assert_int_equal(b.allocs, 1);
		/* ids in rising order grow the table: each growth frees the old one */
		assert_int_equal(bpftime_vm__register_helper(vm, 7, "add", helper_add), 0);
		assert_int_equal(bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop",
							     bpftime_vm_helper_loop),
				 0);
		assert_int_equal(b.frees, 1);
		assert_int_equal(bpftime_vm__load(vm, prog, ARRAY_LEN(prog)), 0);
		assert_string_equal(bpftime_vm__last_error(vm), "");
		assert_non_null(bpftime_vm__insns(vm, &cnt));
		assert_int_equal(cnt, ARRAY_LEN(prog));
		/* vm, 2 helper tables, insns, dec, is_func, 2 x ops, entry points */
		assert_int_equal(b.allocs, 9);
		assert_int_equal(b.frees, 2);
		assert_int_equal(bpftime_vm__exec(vm, &ctx, sizeof(ctx), &r0), 0);
		assert_int_equal(r0, 40 + 2 + 1000 + 3 * 5);
		/* running allocates nothing */
		assert_int_equal(b.allocs, 9);
		bpftime_vm__free(vm);
		assert_balanced(&b);
	}
}

static int resolver(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	((struct bump *)host)->resolves++;
	return -ENOENT;
}

/* Rejections through the custom allocator: the same words as with libc. */
static void test_rejections(void **state)
{
	struct bpf_insn unknown[] = {INSN(BPF_LDX, 0, 1, 0, 0), EXIT()};
	struct bpf_insn before[] = {MOV64_IMM(0, 0), JA(-3), EXIT()};
	struct bpf_insn falls[] = {MOV64_IMM(0, 0)};
	struct bpf_insn map[] = {LDDW(1, BPF_PSEUDO_MAP_FD, -3, 0), MOV64_IMM(0, 0), EXIT()};
	struct bpf_insn helper[] = {CALL_HELPER(99), EXIT()};
	struct bpf_insn good[] = {MOV64_IMM(0, 7), EXIT()};
	BPFTIME_VM_OPTS(opts, .max_insns = 4, .alloc = bump_alloc, .dealloc = bump_dealloc,
			.resolve_ldimm64 = resolver);
	struct bpf_insn big[5] = {{0}};
	struct bpftime_vm *vm;
	struct bump b;
	uint64_t r0;
	int err;

	bump_init(&b);
	opts.host = &b;
	vm = bpftime_vm__create(&opts, &err);
	assert_non_null(vm);
	assert_int_equal(bpftime_vm__load(vm, unknown, ARRAY_LEN(unknown)), -EINVAL);
	assert_string_equal(bpftime_vm__last_error(vm), "insn 0: unknown opcode 01");
	assert_int_equal(bpftime_vm__load(vm, before, ARRAY_LEN(before)), -EINVAL);
	assert_string_equal(bpftime_vm__last_error(vm), "insn 1: jump out of range to insn -1");
	assert_int_equal(bpftime_vm__load(vm, falls, ARRAY_LEN(falls)), -EINVAL);
	assert_string_equal(bpftime_vm__last_error(vm),
			    "insn 0: last insn is not an exit or jmp (falls off the end of the "
			    "program)");
	assert_int_equal(bpftime_vm__load(vm, map, ARRAY_LEN(map)), -ENOENT);
	assert_string_equal(bpftime_vm__last_error(vm),
			    "insn 0: cannot resolve ld_imm64 (pseudo src 1, imm -3, off 0): "
			    "error -2");
	assert_int_equal(b.resolves, 1);
	assert_int_equal(bpftime_vm__load(vm, helper, ARRAY_LEN(helper)), -EINVAL);
	assert_string_equal(bpftime_vm__last_error(vm), "insn 0: invalid func unknown#99");
	assert_int_equal(bpftime_vm__load(vm, big, ARRAY_LEN(big)), -E2BIG);
	assert_string_equal(bpftime_vm__last_error(vm), "program too large: 5 insns (max 4)");
	/* every failed load gave its tables back */
	assert_int_equal(b.live, b.blocks[0].size);
	assert_int_equal(b.allocs, b.frees + 1);
	/* and the vm still loads */
	assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), 0);
	assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), -EBUSY);
	assert_string_equal(bpftime_vm__last_error(vm), "a program is already loaded");
	assert_int_equal(bpftime_vm__register_helper(vm, 3, "late", helper_add), -EBUSY);
	assert_string_equal(bpftime_vm__last_error(vm), "helper 3: program already loaded");
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 7);
	bpftime_vm__free(vm);
	assert_balanced(&b);
}

static void test_out_of_memory(void **state)
{
	struct bpf_insn good[] = {MOV64_IMM(0, 7), EXIT()};
	struct bpftime_vm *vm;
	struct bump b;
	int err = 0;

	/* the vm object itself */
	bump_init(&b);
	b.fail_after = 0;
	BPFTIME_VM_OPTS(opts, .host = &b, .alloc = bump_alloc, .dealloc = bump_dealloc);
	assert_null(bpftime_vm__create(&opts, &err));
	assert_int_equal(err, -ENOMEM);
	/* each table of a load in turn: the load fails cleanly, then succeeds */
	for (int n = 0; n < 6; n++) {
		bump_init(&b);
		vm = bpftime_vm__create(&opts, &err);
		assert_non_null(vm);
		b.fail_after = n;
		assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), -ENOMEM);
		assert_non_null(strstr(bpftime_vm__last_error(vm), "out of memory for 2 "));
		assert_int_equal(bpftime_vm__register_helper(vm, 5, "x", helper_add), -ENOMEM);
		b.fail_after = -1;
		assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), 0);
		bpftime_vm__free(vm);
		assert_balanced(&b);
	}
}

static void test_create_args(void **state)
{
	struct {
		struct bpftime_vm_opts opts;
		uint64_t future_field;
	} big = {.opts = {.sz = sizeof(big), .alloc = bump_alloc, .dealloc = bump_dealloc},
		 .future_field = 1};
	BPFTIME_VM_OPTS(half, .alloc = bump_alloc);
	BPFTIME_VM_OPTS(none);
	BPFTIME_VM_OPTS(jit, .engine = (enum bpftime_vm_engine)1, .alloc = bump_alloc,
			.dealloc = bump_dealloc);
	struct bpftime_vm_opts tiny = {.sz = 1};
	int err = 0;

	/* no libc allocator to fall back on */
	assert_null(bpftime_vm__create(NULL, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(bpftime_vm__create(&none, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(bpftime_vm__create(&half, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(bpftime_vm__create(&tiny, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(bpftime_vm__create(&jit, &err));
	assert_int_equal(err, -EOPNOTSUPP);
	assert_null(bpftime_vm__create(&big.opts, &err));
	assert_int_equal(err, -E2BIG);
	/* half an allocator is refused by bpftime_vm__new too */
	errno = 0;
	assert_null(bpftime_vm__new(&half));
	assert_int_equal(errno, EINVAL);
	/* NULL err is allowed */
	assert_null(bpftime_vm__create(NULL, NULL));
}

/* bpftime_vm__new: libc's allocator unless opts has one, for old callers too. */
static void test_new(void **state)
{
	struct bpf_insn good[] = {MOV64_IMM(0, 7), EXIT()};
	/* opts as a caller built before the allocator fields passes them */
	struct {
		struct bpftime_vm_opts opts;
	} old = {.opts = {.sz = offsetof(struct bpftime_vm_opts, alloc), .bounds_check = true}};
	BPFTIME_VM_OPTS(custom, .alloc = bump_alloc, .dealloc = bump_dealloc);
	struct bpftime_vm *vm;
	struct bump b;
	uint64_t r0;

	old.opts.alloc = bump_alloc; /* past sz: must be ignored */
	bump_init(&b);
	custom.host = &b;
	old.opts.host = &b;
	vm = bpftime_vm__new(&old.opts);
	assert_non_null(vm);
	assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), 0);
	assert_int_equal(bpftime_vm__exec(vm, NULL, 0, &r0), 0);
	assert_int_equal(r0, 7);
	bpftime_vm__free(vm);
	assert_int_equal(b.allocs, 0);

	vm = bpftime_vm__new(&custom);
	assert_non_null(vm);
	assert_int_equal(bpftime_vm__load(vm, good, ARRAY_LEN(good)), 0);
	assert_true(b.allocs > 0);
	bpftime_vm__free(vm);
	assert_balanced(&b);
}

/* Truncation at every buffer size: the length, the prefix, the terminator. */
static void check_truncation(const char *want)
{
	size_t n = strlen(want);
	char got[128];

	assert_true(n < sizeof(got) - 1);
	for (size_t size = 0; size <= n + 1; size++) {
		memset(got, 'x', sizeof(got));
		assert_int_equal(bpftime_vm_snprintf(got, size, "%s", want), n);
		if (size) {
			assert_memory_equal(got, want, size - 1);
			assert_int_equal(got[size - 1], '\0');
		}
		assert_int_equal(got[size], 'x');
	}
}

/* The vm's snprintf against glibc's. */
#define FMT(EXPECT, ...)                                                                           \
	do {                                                                                       \
		char buf_[128];                                                                    \
		char ref_[128];                                                                    \
		int n_ = bpftime_vm_snprintf(buf_, sizeof(buf_), __VA_ARGS__);                     \
		int m_ = snprintf(ref_, sizeof(ref_), __VA_ARGS__);                                \
		assert_string_equal(buf_, ref_);                                                   \
		assert_string_equal(buf_, EXPECT);                                                 \
		assert_int_equal(n_, m_);                                                          \
	} while (0)

static void test_snprintf(void **state)
{
	const char *volatile nul = NULL;
	char buf[8];

	FMT("insn 3: unknown opcode 0a", "insn %u: unknown opcode %02x", 3u, 0x0a);
	FMT("-1 -2147483648 4294967295", "%d %d %u", -1, (int)INT32_MIN, UINT32_MAX);
	FMT("-9223372036854775808 18446744073709551615", "%lld %llu", (long long)INT64_MIN,
	    (unsigned long long)UINT64_MAX);
	FMT("0xdeadbeefcafe DEADBEEFCAFE", "0x%llx %llX", 0xdeadbeefcafeull, 0xdeadbeefcafeull);
	FMT("1000000 -5 42", "%zu %zd %lu", (size_t)1000000, (ssize_t)-5, 42ul);
	FMT("[  ab] [ab  ] [-0042] [  -42] [7]", "[%4s] [%-4s] [%05d] [%5d] [%c]", "ab", "ab", -42,
	    -42, '7');
	FMT("100% 0", "100%% %x", 0u);
	/* glibc's words for NULL, hidden from gcc's format checks */
	bpftime_vm_snprintf(buf, sizeof(buf), "%s", nul);
	assert_string_equal(buf, "(null)");
	FMT("255 -1 65535 -1", "%hhu %hhd %hu %hd", (unsigned char)255, (signed char)-1,
	    (unsigned short)65535, (short)-1);
	/* truncation: snprintf's return value and terminator */
	assert_int_equal(bpftime_vm_snprintf(buf, sizeof(buf), "insn %u: %s", 12345u, "long"), 16);
	assert_string_equal(buf, "insn 12");
	assert_int_equal(bpftime_vm_snprintf(NULL, 0, "%d", 123), 3);
	check_truncation("helper 42: program already loaded");
}

/* Fault messages keep strerror's words without calling it. */
static void test_fault_format(void **state)
{
	static const int errs[] = {EFAULT, E2BIG,  EINVAL, ELOOP,  ENOEXEC,    ENOMEM, ENOENT,
				   EPERM,  EACCES, EBUSY,  EAGAIN, EOPNOTSUPP, ERANGE};
	struct bpftime_vm_fault f = {.pc = 9};
	char got[160], want[160];

	for (size_t i = 0; i < ARRAY_LEN(errs); i++) {
		f.err = -errs[i];
		f.size = 0;
		if (errs[i] == EFAULT)
			continue;
		bpftime_vm_fault__format(&f, got, sizeof(got));
		snprintf(want, sizeof(want), "(%s)", strerror(errs[i]));
		assert_non_null(strstr(got, want));
		assert_int_equal(strncmp(got, "insn 9: ", 8), 0);
	}
	f.err = -ELOOP;
	bpftime_vm_fault__format(&f, got, sizeof(got));
	assert_string_equal(got, "insn 9: instruction limit reached (Too many levels of symbolic "
				 "links)");
	f.err = -EFAULT;
	f.addr = 0x1234;
	f.size = 8;
	f.write = true;
	assert_int_equal(bpftime_vm_fault__format(&f, got, sizeof(got)),
			 (int)strlen("insn 9: invalid memory access: store of 8 bytes at 0x1234"));
	assert_string_equal(got, "insn 9: invalid memory access: store of 8 bytes at 0x1234");
	f.err = -EXDEV;
	bpftime_vm_fault__format(&f, got, sizeof(got));
	snprintf(want, sizeof(want), "insn 9: stopped (Unknown error %d)", EXDEV);
	assert_string_equal(got, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_load_run),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_out_of_memory),
	    cmocka_unit_test(test_create_args),
	    cmocka_unit_test(test_new),
	    cmocka_unit_test(test_snprintf),
	    cmocka_unit_test(test_fault_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
