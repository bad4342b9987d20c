// SPDX-License-Identifier: MIT
/*
 * Skipping a hooked syscall (rw-syscall.h): in every stub but the PLAIN
 * ones (clone, clone3, vfork, rt_sigreturn), the 2 bytes after the enter
 * call are the `syscall`, so an enter entry that returns 2 bytes further
 * with %rax set skips it and the exit call sees %rax as the result. Stubs
 * of a `mov $nr,%eax; syscall` site and of a window are built, patched
 * into code of our own and run; the PLAIN layouts are checked to have no
 * `syscall` after the enter call; the longest window a sweep can produce
 * still fits a stub (no -E2BIG).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "rw-syscall.h"

#define SKIP_RC (-13L)

/* The entries: count; the skipping one returns past the syscall with
 * SKIP_RC; the exit one records the result it was given. */
unsigned long long sk_entered, sk_exited;
long long sk_exit_rax;
void sk_enter_skip(void);
void sk_enter_plain(void);
void sk_exit(void);
__asm__(".text\n"
	"sk_enter_skip:\n"
	"\tlock incq sk_entered(%rip)\n"
	"\tmovq $-13, %rax\n"
	"\taddq $2, (%rsp)\n"
	"\tret\n"
	"sk_enter_plain:\n"
	"\tlock incq sk_entered(%rip)\n"
	"\tret\n"
	"sk_exit:\n"
	"\tlock incq sk_exited(%rip)\n"
	"\tmovq %rax, sk_exit_rax(%rip)\n"
	"\tret\n");

#define FN(f) ((uint64_t)(uintptr_t)(f))

struct page {
	uint8_t *code; /* RWX: the site */
	uint8_t *stub; /* RWX, within rel32 reach */
};

static void page_setup(struct page *p)
{
	uint64_t s;

	p->code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(p->code != MAP_FAILED);
	s = bpftime_rw_sc_map_near(FN(p->code), FN(p->code) + 4096, 4096);
	assert_true(s != 0);
	assert_int_equal(mprotect((void *)(uintptr_t)s, 4096, PROT_READ | PROT_WRITE | PROT_EXEC),
			 0);
	p->stub = (uint8_t *)(uintptr_t)s;
}

static void page_free(struct page *p)
{
	munmap(p->code, 4096);
	munmap(p->stub, 4096);
}

/* The offset just after the stub's first `call *%r11` (41 ff d3). */
static unsigned int after_first_call(const uint8_t *stub)
{
	for (unsigned int i = 0; i + 3 <= BPFTIME_RW_SC_STUB_SIZE; i++)
		if (stub[i] == 0x41 && stub[i + 1] == 0xff && stub[i + 2] == 0xd3)
			return i + 3;
	fail();
	return 0;
}

/* mov $110,%eax; syscall; ret (getppid) */
static void test_mov_site(void **state)
{
	static const uint8_t fn[] = {0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xc3};
	long (*call)(void);
	struct page p;
	uint64_t site;

	(void)state;
	page_setup(&p);
	memcpy(p.code, fn, sizeof(fn));
	site = FN(p.code);
	call = (long (*)(void))(uintptr_t)site;
	for (int skip = 0; skip < 2; skip++) {
		assert_int_equal(bpftime_rw_sc_stub(p.stub, FN(p.stub), site, 110,
						    skip ? FN(sk_enter_skip) : FN(sk_enter_plain),
						    FN(sk_exit)),
				 0);
		assert_memory_equal(p.stub + after_first_call(p.stub), "\x0f\x05", 2);
		assert_int_equal(bpftime_rw_sc_patch(site, fn, FN(p.stub)), 0);
		sk_entered = sk_exited = 0;
		assert_int_equal(call(), skip ? SKIP_RC : getppid());
		assert_int_equal(sk_entered, 1);
		assert_int_equal(sk_exited, 1);
		assert_int_equal(sk_exit_rax, skip ? SKIP_RC : getppid());
		assert_int_equal(bpftime_rw_sc_unpatch(site, fn, FN(p.stub)), 0);
	}
	page_free(&p);
}

/* mov %rdi,%rax; mov %rsi,%rdi; syscall; ret: a window (the number in
 * %rdi, as libc's syscall()) */
static void test_window(void **state)
{
	static const uint8_t fn[] = {0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x0f, 0x05, 0xc3};
	long (*call)(long, long);
	struct page p;
	uint64_t site;

	(void)state;
	page_setup(&p);
	memcpy(p.code, fn, sizeof(fn));
	site = FN(p.code);
	call = (long (*)(long, long))(uintptr_t)site;
	for (int skip = 0; skip < 2; skip++) {
		assert_int_equal(bpftime_rw_sc_stub_window(
				     p.stub, FN(p.stub), site, fn, 8,
				     skip ? FN(sk_enter_skip) : FN(sk_enter_plain), FN(sk_exit)),
				 0);
		assert_int_equal(bpftime_rw_sc_patch(site, fn, FN(p.stub)), 0);
		sk_entered = sk_exited = 0;
		assert_int_equal(call(110, 0), skip ? SKIP_RC : getppid());
		assert_int_equal(sk_entered, 1);
		assert_int_equal(sk_exited, 1);
		assert_int_equal(sk_exit_rax, skip ? SKIP_RC : getppid());
		assert_int_equal(bpftime_rw_sc_unpatch(site, fn, FN(p.stub)), 0);
	}
	page_free(&p);
}

/* clone, vfork, clone3, rt_sigreturn: nothing to skip after the enter
 * call; every other number has the syscall there. */
static void test_plain_layouts(void **state)
{
	static const uint32_t plain[] = {15, 56, 58, 435};
	uint8_t buf[BPFTIME_RW_SC_STUB_SIZE];
	uint64_t stub = FN(buf), site = stub + 4096;

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(
		    bpftime_rw_sc_stub(buf, stub, site, plain[i], FN(sk_enter_plain), FN(sk_exit)),
		    0);
		assert_memory_not_equal(buf + after_first_call(buf), "\x0f\x05", 2);
	}
	for (uint32_t nr = 0; nr < 512; nr++) {
		if (nr == 15 || nr == 56 || nr == 58 || nr == 435)
			continue;
		assert_int_equal(
		    bpftime_rw_sc_stub(buf, stub, site, nr, FN(sk_enter_plain), FN(sk_exit)), 0);
		assert_memory_equal(buf + after_first_call(buf), "\x0f\x05", 2);
	}
}

/* The longest window a sweep can produce: fewer than 5 bytes before the
 * syscall (two jcc rel8: 6 bytes each once relocated), a 15-byte
 * instruction that makes the 5 bytes, and one more (a start at a cache
 * line's last byte moves back once): 42 bytes of copy, and the stub must
 * still fit. */
static void test_longest_window(void **state)
{
	/* cs cs cs add qword [rax+rbx*8+0x12345678], 0x12345678 */
	static const uint8_t long15[] = {0x2e, 0x2e, 0x2e, 0x48, 0x81, 0x84, 0xd8, 0x78,
					 0x56, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12};
	uint8_t code[64], buf[BPFTIME_RW_SC_STUB_SIZE];
	uint64_t stub = FN(buf), site = stub + 8192;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(bpftime_rw_sc_insn_len(long15, sizeof(long15)), 15);
	for (int i = 0; i < 2; i++) {
		memcpy(code + n, long15, 15);
		n += 15;
	}
	code[n++] = 0x74; /* je: past the window */
	code[n++] = 0x40;
	code[n++] = 0x75; /* jne */
	code[n++] = 0x40;
	code[n++] = 0x0f;
	code[n++] = 0x05;
	assert_true(n <= BPFTIME_RW_SC_WINDOW_MAX);
	assert_int_equal(
	    bpftime_rw_sc_stub_window(buf, stub, site, code, n, FN(sk_enter_plain), FN(sk_exit)),
	    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mov_site),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_plain_layouts),
	    cmocka_unit_test(test_longest_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
