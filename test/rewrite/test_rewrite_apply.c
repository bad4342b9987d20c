// SPDX-License-Identifier: MIT
/*
 * Plans made from files (this test binary, libc) applied to this process:
 * the functions of rw-test-fns.S, each with a known kind of displaced
 * instruction, then libc's malloc. As the agent will, the file offset comes
 * from the ELF symbol table and the address from /proc/self/maps (device,
 * inode and offset of an executable mapping).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "bpftime/rewrite.h"

typedef long (*fn1_t)(long);
typedef long (*fn6_t)(long, long, long, long, long, long);

long rw_fn_riprel(long a);
long rw_fn_jcc(long a);
long rw_fn_call(long a);
long rw_fn_callptr(long a);
long rw_fn_loop(long a);
long rw_fn_jrcxz(long a);
long rw_fn_sum6(long a, long b, long c, long d, long e, long f);
long rw_fn_mid(long a);
long rw_fn_xline(long a);
long rw_fn_line63(long a);
long rw_fn_override(long a);
long rw_fn_flags(long a);
long rw_fn_stack7(long a, long b, long c, long d, long e, long f, long g);
void rw_test_gate(void);
extern uint64_t rw_test_gate_ret, rw_test_gate_hits;
extern char rw_fn_flags_site[], rw_fn_mid_site[], rw_fn_call_ret[], rw_fn_callptr_ret[];
extern uint64_t rw_test_retaddr, rw_test_body_ran;

struct hits {
	uint64_t count; /* atomic: handlers on many threads */
	struct bpftime_regs last;
	int record;
	int ret;     /* the handler's return: 1 = return from the function */
	uint64_t ax; /* with ret: the value returned */
};

static int count_handler(void *ctx, struct bpftime_regs *regs)
{
	struct hits *h = ctx;
	int ret = __atomic_load_n(&h->ret, __ATOMIC_RELAXED);

	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	if (h->record)
		h->last = *regs;
	/* clobber what a compiled handler may: the trampoline must restore it */
	__asm__ volatile("xorps %%xmm1, %%xmm1\n\tpxor %%xmm0, %%xmm0\n\t"
			 "xor %%r11d, %%r11d\n\txor %%ecx, %%ecx\n\tcmp %%rcx, %%rcx" ::
			     : "xmm0", "xmm1", "r11", "rcx", "cc");
	if (ret)
		regs->ax = h->ax;
	return ret;
}

/* The runtime address of file offset @off of @path, from /proc/self/maps. */
static uint64_t map_offset(const char *path, uint64_t off)
{
	unsigned long start, end, moff, ino;
	unsigned int maj, min;
	char perms[8], line[512];
	uint64_t addr = 0;
	struct stat st;
	FILE *f;

	if (stat(path, &st))
		return 0;
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	while (!addr && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &start, &end, perms, &moff, &maj,
			   &min, &ino) != 7)
			continue;
		if (ino == st.st_ino && makedev(maj, min) == st.st_dev && perms[2] == 'x' &&
		    off >= moff && off - moff < end - start)
			addr = start + (off - moff);
	}
	fclose(f);
	return addr;
}

struct probe {
	struct bpftime_rw_plan plan;
	struct bpftime_rw_hook hook;
	uint64_t addr;
	uint8_t before[16];
	char err[256];
};

/* A handler returning 2: the function is called through rw_test_gate,
 * which goes back to the return address kept here. */
static int gate_handler(void *ctx, struct bpftime_regs *regs)
{
	struct hits *h = ctx;

	h->count++;
	h->last = *regs;
	rw_test_gate_ret = *(uint64_t *)(uintptr_t)regs->sp;
	regs->ip = (uintptr_t)rw_test_gate;
	/* clobber what a compiled handler may: the trampoline must restore it */
	__asm__ volatile("xorps %%xmm1, %%xmm1\n\tpxor %%xmm0, %%xmm0\n\t"
			 "xor %%r11d, %%r11d\n\txor %%ecx, %%ecx\n\tcmp %%rcx, %%rcx" ::
			     : "xmm0", "xmm1", "r11", "rcx", "cc");
	return 2;
}

static int probe_prepare_fn(struct probe *p, const char *path, const char *name, uint64_t delta,
			    bpftime_rw_handler_fn fn, struct hits *h);

/* Plan @name (+@delta) from @path, find it in memory, prepare the hook. */
static int probe_prepare(struct probe *p, const char *path, const char *name, uint64_t delta,
			 struct hits *h)
{
	return probe_prepare_fn(p, path, name, delta, count_handler, h);
}

static int probe_prepare_fn(struct probe *p, const char *path, const char *name, uint64_t delta,
			    bpftime_rw_handler_fn fn, struct hits *h)
{
	struct bpftime_rw_plan_opts opts = {.sz = sizeof(opts)};
	uint64_t off, size;
	int err;

	opts.errbuf = p->err;
	opts.errbuf_sz = sizeof(p->err);
	err = bpftime_rw__elf_func_offset(path, name, &off, &size);
	if (err)
		return err;
	err = bpftime_rw__plan_file(path, off + delta, &opts, &p->plan);
	print_message("plan %s+%lu: %d %s (%lu insns scanned)\n", name, (unsigned long)delta, err,
		      p->err, (unsigned long)opts.scanned_insns);
	if (err)
		return err;
	p->addr = map_offset(path, off + delta);
	if (!p->addr)
		return -ENOENT;
	memcpy(p->before, (void *)(uintptr_t)p->addr, sizeof(p->before));
	return bpftime_rw__prepare(&p->hook, &p->plan, p->addr, fn, h, NULL);
}

static void probe_release(struct probe *p)
{
	assert_int_equal(bpftime_rw__release(&p->hook), 0);
	/* detach restores the bytes exactly */
	assert_memory_equal((void *)(uintptr_t)p->addr, p->before, sizeof(p->before));
}

static const char *self = "/proc/self/exe";

/* Call @fn with @arg unpatched, patched, unpatched: same result, one hit. */
static void check_fn(const char *name, fn1_t fn, long arg, long expect)
{
	struct hits h = {.record = 1};
	struct probe p;

	assert_int_equal(probe_prepare(&p, self, name, 0, &h), 0);
	assert_int_equal(fn(arg), expect);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	assert_memory_not_equal((void *)(uintptr_t)p.addr, p.before, 5);
	assert_int_equal(fn(arg), expect);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.last.di, (uint64_t)arg);
	assert_int_equal(h.last.ip, p.addr);
	assert_int_equal(bpftime_rw__unpatch(&p.hook), 0);
	assert_int_equal(fn(arg), expect);
	assert_int_equal(h.count, 1);
	probe_release(&p);
}

static void test_apply_rip_relative(void **state)
{
	check_fn("rw_fn_riprel", rw_fn_riprel, 5, 1005);
}

static void test_apply_short_jcc(void **state)
{
	check_fn("rw_fn_jcc", rw_fn_jcc, 0, 42);
	check_fn("rw_fn_jcc", rw_fn_jcc, 21, 42);
	check_fn("rw_fn_jcc", rw_fn_jcc, 5, 10);
}

static void test_apply_jrcxz(void **state)
{
	check_fn("rw_fn_jrcxz", rw_fn_jrcxz, 0, 7);
	check_fn("rw_fn_jrcxz", rw_fn_jrcxz, 3, 1);
}

/* The callee sees the original return address, not the trampoline's. */
static void test_apply_call_rel32(void **state)
{
	check_fn("rw_fn_call", rw_fn_call, 20, 41);
	assert_ptr_equal((void *)(uintptr_t)rw_test_retaddr, rw_fn_call_ret);
	check_fn("rw_fn_callptr", rw_fn_callptr, 20, 41);
	assert_ptr_equal((void *)(uintptr_t)rw_test_retaddr, rw_fn_callptr_ret);
}

/* Crosses a cache line: the guarded three-step write. */
static void test_apply_cross_line(void **state)
{
	assert_int_equal((uintptr_t)rw_fn_xline % 64, 61);
	check_fn("rw_fn_xline", rw_fn_xline, 1, 6);
}

static void test_apply_last_byte_of_line_refused(void **state)
{
	struct hits h = {0};
	struct probe p;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_line63", 0, &h), 0);
	assert_int_equal(bpftime_rw__patch(&p.hook), -EOPNOTSUPP);
	assert_int_equal(rw_fn_line63(1), 2);
	probe_release(&p);
}

static void test_apply_jump_into_range_refused(void **state)
{
	struct hits h = {0};
	struct probe p;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_loop", 0, &h), -EOPNOTSUPP);
	assert_non_null(strstr(p.err, "branches to site+2"));
	assert_int_equal(rw_fn_loop(4), 10);
}

/* Argument registers, stack pointer and flags as the kernel's pt_regs. */
static void test_apply_handler_sees_args(void **state)
{
	fn6_t volatile fn = rw_fn_sum6;
	struct hits h = {.record = 1};
	struct probe p;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_sum6", 0, &h), 0);
	assert_int_equal(p.plan.orig_len, 7);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	assert_int_equal(fn(1, 2, 3, 4, 5, 6), 21);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.last.di, 1);
	assert_int_equal(h.last.si, 2);
	assert_int_equal(h.last.dx, 3);
	assert_int_equal(h.last.cx, 4);
	assert_int_equal(h.last.r8, 5);
	assert_int_equal(h.last.r9, 6);
	assert_int_equal(h.last.orig_ax, (uint64_t)-1);
	assert_int_equal(h.last.cs, 0x33);
	assert_int_equal(h.last.ss, 0x2b);
	assert_int_equal(h.last.flags & 0x2, 0x2); /* bit 1 is always set */
	/* at the entry, *sp is the return address, 8 bytes off 16-alignment */
	assert_int_equal(h.last.sp % 16, 8);
	assert_true(*(uint64_t *)(uintptr_t)h.last.sp != 0);
	assert_int_equal(offsetof(struct bpftime_regs, di), 112); /* PT_REGS_PARM1 */
	assert_int_equal(offsetof(struct bpftime_regs, ip), 128);
	assert_int_equal(offsetof(struct bpftime_regs, sp), 152);
	assert_int_equal(sizeof(struct bpftime_regs), 168);
	probe_release(&p);
}

/* Mid-function: caller-saved registers, xmm1, flags and the red zone are
 * live across the site, and the handler clobbers them. */
static void test_apply_mid_function_state_kept(void **state)
{
	fn1_t volatile fn = rw_fn_mid;
	uint64_t delta = (uint64_t)(rw_fn_mid_site - (char *)rw_fn_mid);
	struct hits h = {.record = 1};
	struct probe p;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_mid", delta, &h), 0);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	assert_int_equal(fn(3), 7 * 3 + 10 + 1000);
	assert_int_equal(fn(300), 7 * 300 + 10);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.last.cx, 300);
	assert_int_equal(h.last.r11, 304);
	assert_int_equal(h.last.ip, (uintptr_t)rw_fn_mid_site);
	probe_release(&p);
}

/* Every flag the handler may change (CF PF AF ZF SF OF, DF: it runs with
 * DF clear and clobbers the rest) is as the interrupted code left it, each
 * alone, all at once and none. */
static void test_apply_flags_kept(void **state)
{
	static const long mask = 0x0cd5; /* CF PF AF ZF SF DF OF */
	static const long cases[] = {0,     0x001, 0x004, 0x010,  0x040,
				     0x080, 0x400, 0x800, 0x0cd5, 0x0c00};
	uint64_t delta = (uint64_t)(rw_fn_flags_site - (char *)rw_fn_flags);
	fn1_t volatile fn = rw_fn_flags;
	struct hits h = {.record = 1};
	struct probe p;
	unsigned int i;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_flags", delta, &h), 0);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fn(cases[i] | 0x2) & mask, cases[i]);
		/* the handler saw them too */
		assert_int_equal(h.last.flags & mask, cases[i]);
	}
	assert_int_equal(h.count, sizeof(cases) / sizeof(cases[0]));
	probe_release(&p);
}

/* Callee-saved registers around a call of @fn (which the override path
 * must not disturb either): @return fn(a), *kept = 1 when they were kept. */
static long call_keeping(fn1_t fn, long a, int *kept)
{
	long r, bx, r12, r15;

	/* over the red zone: this function looks like a leaf to the compiler */
	__asm__ volatile("mov $0x1111, %%rbx\n\tmov $0x1212, %%r12\n\tmov $0x1515, %%r15\n\t"
			 "lea -128(%%rsp), %%rsp\n\tcall *%[fn]\n\tlea 128(%%rsp), %%rsp\n\t"
			 "mov %%rbx, %[bx]\n\tmov %%r12, %[r12]\n\tmov %%r15, %[r15]"
			 : "=a"(r), [bx] "=m"(bx), [r12] "=m"(r12), [r15] "=m"(r15), "+D"(a)
			 : [fn] "r"(fn)
			 : "rbx", "r12", "r15", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11",
			   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc",
			   "memory");
	*kept = bx == 0x1111 && r12 == 0x1212 && r15 == 0x1515;
	return r;
}

/* A handler returning 1 at the entry: the function returns the handler's
 * ax at once, its body does not run; returning 0, it runs as before. */
static void test_apply_override_return(void **state)
{
	fn1_t volatile fn = rw_fn_override;
	struct hits h = {.record = 1, .ret = 1, .ax = 42};
	struct probe p;
	int kept = 0, i;

	assert_int_equal(probe_prepare(&p, self, "rw_fn_override", 0, &h), 0);
	assert_int_equal(p.plan.orig_len, 7);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	rw_test_body_ran = 0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(fn(7), 42);
		assert_int_equal(rw_test_body_ran, 0);
	}
	assert_int_equal(call_keeping(fn, 9, &kept), 42);
	assert_true(kept);
	assert_int_equal(rw_test_body_ran, 0);
	assert_int_equal(h.count, 4);
	assert_int_equal(h.last.di, 9);
	assert_int_equal(h.last.ip, p.addr);
	/* a negative errno, as bpf_override_return(ctx, -ENOMEM) */
	h.ax = (uint64_t)-ENOMEM;
	assert_int_equal(fn(5), -ENOMEM);
	assert_int_equal(rw_test_body_ran, 0);
	/* returning 0: the body runs */
	h.ret = 0;
	kept = 0;
	assert_int_equal(call_keeping(fn, 11, &kept), 12);
	assert_true(kept);
	assert_int_equal(rw_test_body_ran, 11);
	assert_int_equal(fn(7), 8);
	assert_int_equal(rw_test_body_ran, 7);
	assert_int_equal(h.count, 7);
	h.ret = 1;
	assert_int_equal(fn(3), -ENOMEM);
	assert_int_equal(rw_test_body_ran, 7);
	assert_int_equal(bpftime_rw__unpatch(&p.hook), 0);
	assert_int_equal(fn(3), 4);
	assert_int_equal(rw_test_body_ran, 3);
	assert_int_equal(h.count, 8);
	probe_release(&p);
}

/* A handler returning 2: the rest of the function is called through the
 * gate (its stack arguments and callee-saved registers as they were), and
 * the gate sees the function return, then returns to the caller. */
static void test_apply_gate_call(void **state)
{
	typedef long (*fn7_t)(long, long, long, long, long, long, long);
	fn7_t volatile fn7 = rw_fn_stack7;
	fn1_t volatile fn = rw_fn_override;
	struct hits h = {0};
	struct probe p, q;
	int kept = 0;

	assert_int_equal(probe_prepare_fn(&p, self, "rw_fn_stack7", 0, gate_handler, &h), 0);
	assert_int_equal(p.plan.orig_len, 8);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	rw_test_gate_hits = 0;
	assert_int_equal(fn7(1, 2, 3, 4, 5, 6, 41), 42);
	assert_int_equal(fn7(-7, 0, 0, 0, 0, 0, 7), 0);
	assert_int_equal(h.count, 2);
	assert_int_equal(rw_test_gate_hits, 2);
	assert_int_equal(h.last.di, (uint64_t)-7);
	probe_release(&p);

	assert_int_equal(probe_prepare_fn(&q, self, "rw_fn_override", 0, gate_handler, &h), 0);
	assert_int_equal(bpftime_rw__patch(&q.hook), 0);
	assert_int_equal(call_keeping(fn, 9, &kept), 10);
	assert_true(kept);
	assert_int_equal(rw_test_body_ran, 9);
	assert_int_equal(fn(4), 5);
	assert_int_equal(h.count, 4);
	assert_int_equal(rw_test_gate_hits, 4);
	probe_release(&q);
}

struct worker {
	fn1_t fn;
	long arg, expect;
	volatile int *stop;
	long bad;
	long calls;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!__atomic_load_n(w->stop, __ATOMIC_ACQUIRE)) {
		if (w->fn(w->arg) != w->expect)
			w->bad++;
		w->calls++;
	}
	return NULL;
}

/* 4 threads call the function while it is patched and unpatched 2000 times. */
static void run_threads(const char *name, fn1_t fn, long arg, long expect)
{
	struct worker w[4];
	pthread_t t[4];
	volatile int stop = 0;
	struct hits h = {0};
	struct probe p;
	int i;

	assert_int_equal(probe_prepare(&p, self, name, 0, &h), 0);
	for (i = 0; i < 4; i++) {
		w[i] =
		    (struct worker){.fn = fn, .arg = arg + i, .expect = expect + i, .stop = &stop};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 2000; i++) {
		assert_int_equal(bpftime_rw__patch(&p.hook), 0);
		assert_int_equal(bpftime_rw__unpatch(&p.hook), 0);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		print_message("%s thread %d: %ld calls, %ld wrong\n", name, i, w[i].calls,
			      w[i].bad);
		assert_int_equal(w[i].bad, 0);
	}
	print_message("%s: %lu hits\n", name, (unsigned long)h.count);
	probe_release(&p);
}

static void test_apply_threads_while_patching(void **state)
{
	run_threads("rw_fn_riprel", rw_fn_riprel, 1, 1001);
	run_threads("rw_fn_xline", rw_fn_xline, 1, 6);
}

/* libc's malloc, planned from libc.so.6 at its file offset. */
static void test_apply_libc_malloc(void **state)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *(*libc_malloc)(size_t);
	void (*libc_free)(void *);
	struct hits h = {.record = 1};
	struct probe p;
	Dl_info info;
	int i;

	if (!libc)
		skip();
	*(void **)&libc_malloc = dlsym(libc, "malloc");
	*(void **)&libc_free = dlsym(libc, "free");
	assert_non_null(libc_malloc);
	assert_true(dladdr(*(void **)&libc_malloc, &info));
	assert_int_equal(probe_prepare(&p, info.dli_fname, "malloc", 0, &h), 0);
	/* the maps lookup by inode and offset agrees with the loader */
	assert_int_equal(p.addr, (uintptr_t) * (void **)&libc_malloc);
	assert_int_equal(bpftime_rw__patch(&p.hook), 0);
	for (i = 0; i < 1000; i++) {
		void *m = libc_malloc(12345);

		assert_non_null(m);
		libc_free(m);
	}
	assert_int_equal(bpftime_rw__unpatch(&p.hook), 0);
	assert_true(h.count >= 1000);
	assert_int_equal(h.last.di, 12345);
	probe_release(&p);
	dlclose(libc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_rip_relative),
	    cmocka_unit_test(test_apply_short_jcc),
	    cmocka_unit_test(test_apply_jrcxz),
	    cmocka_unit_test(test_apply_call_rel32),
	    cmocka_unit_test(test_apply_cross_line),
	    cmocka_unit_test(test_apply_last_byte_of_line_refused),
	    cmocka_unit_test(test_apply_jump_into_range_refused),
	    cmocka_unit_test(test_apply_handler_sees_args),
	    cmocka_unit_test(test_apply_mid_function_state_kept),
	    cmocka_unit_test(test_apply_flags_kept),
	    cmocka_unit_test(test_apply_override_return),
	    cmocka_unit_test(test_apply_gate_call),
	    cmocka_unit_test(test_apply_threads_while_patching),
	    cmocka_unit_test(test_apply_libc_malloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
