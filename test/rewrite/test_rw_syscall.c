// SPDX-License-Identifier: MIT
/*
 * Syscall-site rewriting (rewrite/src/rw-syscall*.c) on byte buffers and on
 * this process's memory: what the sweep reports, where a punned jmp's stub
 * may go, and that patching a punned site changes only the bytes before
 * its syscall, after which the site still runs the syscall (through its
 * stub, which calls our entries).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpftime/rewrite.h"
#include "rw-syscall.h"

static uint64_t page_of_stub(uint64_t a)
{
	return a & ~4095ull;
}

struct seen {
	int kind;
	uint64_t addr;
	uint32_t nr;
	int count;
};

static void found(void *arg, int kind, uint64_t addr, uint32_t nr)
{
	struct seen *s = arg;

	s->kind = kind;
	s->addr = addr;
	s->nr = nr;
	s->count++;
}

/* 32 decodable bytes (nops) first: the sweep trusts sites after those;
 * then an int3 (a window never grows back over it), then @code. */
static struct seen scan(const uint8_t *code, size_t len)
{
	uint8_t buf[128];
	struct seen s = {0};

	memset(buf, 0x90, 32);
	buf[32] = 0xcc;
	memcpy(buf + 33, code, len);
	bpftime_rw_sc_scan(buf, 33 + len, 0x1000, found, &s);
	return s;
}

static void test_scan_kinds(void **state)
{
	/* mov $39,%eax; syscall */
	static const uint8_t site[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3};
	/* mov %rsi,%rdi; mov %r8d,%eax; syscall: 5 bytes before it */
	static const uint8_t window[] = {0x48, 0x89, 0xf7, 0x44, 0x89, 0xc0, 0x0f, 0x05, 0xc3};
	/* xor %eax,%eax; syscall; cmp $-4096,%rax: punned, 2 bytes */
	static const uint8_t pun[] = {0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d,
				      0,    0xf0, 0xff, 0xff, 0xc3};
	/* syscall right after the int3 */
	static const uint8_t other[] = {0x0f, 0x05, 0xc3};
	struct seen s;

	(void)state;
	s = scan(site, sizeof(site));
	assert_int_equal(s.count, 1);
	assert_int_equal(s.kind, BPFTIME_RW_SC_SITE);
	assert_int_equal(s.addr, 0x1000 + 33);
	assert_int_equal(s.nr, 39);
	s = scan(window, sizeof(window));
	assert_int_equal(s.kind, BPFTIME_RW_SC_WINDOW);
	assert_int_equal(s.addr, 0x1000 + 33);
	assert_int_equal(s.nr, 8); /* its syscall included: the jmp does not cover it */
	s = scan(pun, sizeof(pun));
	assert_int_equal(s.kind, BPFTIME_RW_SC_WINDOW);
	assert_int_equal(s.nr, 4);
	s = scan(other, sizeof(other));
	assert_int_equal(s.kind, BPFTIME_RW_SC_OTHER);
	assert_int_equal(s.addr, 0x1000 + 33);
}

static void test_pun_range(void **state)
{
	static const uint8_t two[5] = {0x31, 0xc0, 0x0f, 0x05, 0x48};
	static const uint8_t four[5] = {0x31, 0xc0, 0xb0, 0x6e, 0x0f};
	static const uint8_t negative[5] = {0x31, 0xc0, 0x0f, 0x05, 0xf0};
	uint64_t site = 0x7f0000001000ull, lo, n;

	(void)state;
	/* rel32 = 0x48050fXX */
	assert_int_equal(bpftime_rw_sc_pun_range(site, 2, two, &lo, &n), 0);
	assert_int_equal(lo, site + 5 + 0x48050f00ull);
	assert_int_equal(n, 256);
	/* rel32 = 0x0fXXXXXX */
	assert_int_equal(bpftime_rw_sc_pun_range(site, 4, four, &lo, &n), 0);
	assert_int_equal(lo, site + 5 + 0x0f000000ull);
	assert_int_equal(n, 1u << 24);
	/* rel32 = 0xf0050fXX: below the site */
	assert_int_equal(bpftime_rw_sc_pun_range(site, 2, negative, &lo, &n), 0);
	assert_int_equal(lo, site + 5 - 0x0ffaf100ull);
	/* below user space */
	assert_int_equal(bpftime_rw_sc_pun_range(0x400000, 2, negative, &lo, &n), -ERANGE);
	/* above it */
	assert_int_equal(bpftime_rw_sc_pun_range(0x7fffe0000000ull, 2, two, &lo, &n), -ERANGE);
	assert_int_equal(bpftime_rw_sc_pun_range(site, 0, two, &lo, &n), -EINVAL);
	assert_int_equal(bpftime_rw_sc_pun_range(site, 5, two, &lo, &n), -EINVAL);
}

static void test_patchable(void **state)
{
	(void)state;
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 59, 5), 0);
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 62, 5), 0); /* guarded */
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 63, 5), -EOPNOTSUPP);
	/* a punned jmp: only its changing bytes count */
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 63, 1), 0);
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 62, 2), 0);
	assert_int_equal(bpftime_rw_sc_patchable(0x1000 + 63, 2), -EOPNOTSUPP);
}

/* The stub's entries: count the calls, preserve every register. */
unsigned long long entered, exited;
void test_enter(void);
void test_exit(void);
__asm__(".text\n"
	"test_enter:\n"
	"\tlock incq entered(%rip)\n"
	"\tret\n"
	"test_exit:\n"
	"\tlock incq exited(%rip)\n"
	"\tret\n");

/* Jump to @at with %eax = getppid's number, as a restarted thread. */
long at_getppid(uint64_t at);
__asm__(".text\n"
	"at_getppid:\n"
	"\tmov $110, %eax\n"
	"\tjmp *%rdi\n");

/* pun_getppid as in test/integration/syscall_pun_target.c, copied into a
 * page of our own: xor %eax,%eax; mov $110,%al; syscall; ret */
static void test_punned_site_runs(void **state)
{
	static const uint8_t fn[] = {0x31, 0xc0, 0xb0, 0x6e, 0x0f, 0x05, 0xc3};
	struct bpftime_rw_sc_pun_pool pool;
	uint8_t *code, orig[5];
	uint64_t site, lo, n, stub;
	long (*call)(void);

	(void)state;
	memset(&pool, 0, sizeof(pool));
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	assert_true(code != MAP_FAILED);
	memcpy(code + 16, fn, sizeof(fn));
	site = (uint64_t)(uintptr_t)(code + 16);
	memcpy(orig, code + 16, 5);
	assert_int_equal(bpftime_rw_sc_pun_range(site, 4, orig, &lo, &n), 0);
	stub = bpftime_rw_sc_pun_alloc(&pool, lo, n, BPFTIME_RW_SC_STUB_SIZE);
	assert_true(stub >= lo && stub < lo + n);
	assert_int_equal(bpftime_rw_sc_stub_window((uint8_t *)(uintptr_t)stub, stub, site, fn, 6,
						   (uint64_t)(uintptr_t)test_enter,
						   (uint64_t)(uintptr_t)test_exit),
			 0);
	assert_int_equal(bpftime_rw_sc_pun_seal(&pool), 0);
	/* a second stub in the range comes after the first */
	assert_int_equal(pool.sealed, pool.nr);

	assert_int_equal(bpftime_rw_sc_patch(site, orig, stub), 0);
	assert_int_equal(code[16], 0xe9);
	assert_memory_equal(code + 20, fn + 4, 3); /* the syscall is untouched */
	call = (long (*)(void))(uintptr_t)site;
	assert_int_equal(call(), getppid());
	assert_int_equal(entered, 1);
	assert_int_equal(exited, 1);
	/* a thread restarted on the syscall (ip -= 2, %rax = the number)
	 * runs the original bytes: the syscall, unhooked, then the ret */
	assert_int_equal(at_getppid(site + 4), getppid());
	assert_int_equal(entered, 1);
	assert_int_equal(bpftime_rw_sc_unpatch(site, orig, stub), 0);
	assert_memory_equal(code + 16, fn, sizeof(fn));
	munmap(code, 4096);
}

/* Punned writes by where the changing bytes fall in a cache line: in one
 * line (one cmpxchg), across two with the guard among them, or refused
 * (the guard itself would straddle); the bytes after them never change. */
static void pun_write_at(uint8_t *page, unsigned int off, const uint8_t *code, unsigned int before,
			 int want)
{
	struct bpftime_rw_sc_pun_pool pool;
	uint64_t site = (uint64_t)(uintptr_t)(page + off), lo, n, stub;
	uint8_t orig[5], after[8];

	memset(&pool, 0, sizeof(pool));
	memset(page, 0xcc, 4096);
	memcpy(page + off, code, before + 5);
	memcpy(orig, page + off, 5);
	memcpy(after, page + off + before, 5);
	assert_int_equal(bpftime_rw_sc_pun_range(site, before, orig, &lo, &n), 0);
	stub = bpftime_rw_sc_pun_alloc(&pool, lo, n, BPFTIME_RW_SC_STUB_SIZE);
	assert_true(stub >= lo && stub < lo + n);
	assert_int_equal(bpftime_rw_sc_patchable(site, before), want);
	assert_int_equal(bpftime_rw_sc_patch(site, orig, stub), want);
	if (!want) {
		assert_int_equal(page[off], 0xe9);
		assert_int_equal(bpftime_rw_sc_unpatch(site, orig, stub), 0);
	}
	assert_memory_equal(page + off + before, after, 5);
	assert_memory_equal(page + off, code, 5);
	munmap((void *)(uintptr_t)page_of_stub(stub), 4096);
}

static void test_punned_writes(void **state)
{
	/* xor %eax,%eax; syscall; cmp $-4096,%rax */
	static const uint8_t two[] = {0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0, 0xf0, 0xff};
	/* xor %eax,%eax; mov $110,%al; syscall; ret */
	static const uint8_t four[] = {0x31, 0xc0, 0xb0, 0x6e, 0x0f, 0x05, 0xc3, 0xcc, 0xcc};
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(page != MAP_FAILED);
	pun_write_at(page, 62, two, 2, 0);           /* 62..63: one line */
	pun_write_at(page, 63, two, 2, -EOPNOTSUPP); /* 63..64: the guard would straddle */
	pun_write_at(page, 61, four, 4, 0);          /* 61..64: guarded, EB FE at 61 */
	pun_write_at(page, 60, four, 4, 0);          /* 60..63: one line */
	munmap(page, 4096);
}

/* A fork while another thread writes a patch behind its EB FE guard: the
 * child, which has the `jmp .` and not the writer, finishes the write in
 * bpftime_rw__forked() (the agent's first act in a child); its bytes are
 * then whole, the old or the new, never the guard. */
static uint8_t *guard_site;
static uint8_t guard_orig[5];
static uint64_t guard_stub;
static volatile int guard_stop;

static void *guard_writer(void *arg)
{
	(void)arg;
	while (!guard_stop) {
		bpftime_rw_sc_patch((uint64_t)(uintptr_t)guard_site, guard_orig, guard_stub);
		bpftime_rw_sc_unpatch((uint64_t)(uintptr_t)guard_site, guard_orig, guard_stub);
	}
	return NULL;
}

static void test_fork_mid_guard(void **state)
{
	/* mov $39,%eax; syscall at line offset 61: the jmp crosses the line */
	static const uint8_t code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3};
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int finished = 0, bad = 0, forks = 0;
	pthread_t t;

	(void)state;
	assert_true(page != MAP_FAILED);
	syscall(SYS_membarrier, 1 << 6, 0, 0); /* SYNC_CORE registration */
	guard_site = page + 61;
	memcpy(guard_site, code, sizeof(code));
	memcpy(guard_orig, code, 5);
	guard_stub = bpftime_rw_sc_map_near((uint64_t)(uintptr_t)guard_site,
					    (uint64_t)(uintptr_t)guard_site + 7, 4096);
	assert_true(guard_stub != 0);
	guard_stop = 0;
	assert_int_equal(pthread_create(&t, NULL, guard_writer, NULL), 0);
	for (; forks < 5000 && finished < 3; forks++) {
		pid_t pid = fork();
		int st;

		if (!pid) {
			int r = bpftime_rw__forked();
			uint8_t b[5];

			memcpy(b, guard_site, 5);
			/* whole: the mov, or a jmp (e9) */
			_exit(b[0] == 0xeb ? 1 : r > 0 ? 2 : 0);
		}
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		finished += WEXITSTATUS(st) == 2;
		bad += WEXITSTATUS(st) == 1;
	}
	guard_stop = 1;
	pthread_join(t, NULL);
	print_message("%d forks, %d mid-guard children finished the write\n", forks, finished);
	assert_int_equal(bad, 0);
	assert_true(finished > 0);
	munmap(page, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_kinds),    cmocka_unit_test(test_pun_range),
	    cmocka_unit_test(test_patchable),     cmocka_unit_test(test_punned_site_runs),
	    cmocka_unit_test(test_punned_writes), cmocka_unit_test(test_fork_mid_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
