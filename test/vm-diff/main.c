// SPDX-License-Identifier: MIT
/*
 * bpftime-vm-diff: differential fuzzer for the vm (see vm-diff.h).
 *
 *   bpftime-vm-diff [--seed S] [--count N] [--len L] [--no-kernel]
 *                   [--no-jit] [--jit-every K] [--dump] [-v] [--self-test]
 *
 * Program i has seed S + i: `--seed X --count 1 --dump` reproduces and
 * prints the program a failure names. The interpreter's result is the
 * reference; every other engine must give the same r0 (the kernel: its low
 * 32 bits) and the same 256 value bytes. A program the kernel verifier
 * rejects is a generator bug: its log is printed, and more than 1% of them
 * fail the run. Compiling with LLVM costs ~30 ms a program against ~0.2 ms
 * for everything else: --jit-every K runs the JIT legs on every K-th
 * program only.
 *
 * --self-test checks that the comparison can fail: it adds an engine that
 * runs a mutated copy of every program (each ALU immediate off by one bit)
 * and expects most programs to differ, and feeds the comparison a result
 * with one wrong byte.
 *
 * Exit: 0 when everything agreed, 1 on a mismatch or too many rejections,
 * 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpftime/asm.h>
#include "vm-diff.h"

#define MAX_DETAILED 5 /* mismatches reported in full; the rest by seed */

struct options {
	uint64_t seed;
	unsigned count, len, jit_every;
	bool no_kernel, no_jit, dump, verbose, self_test;
};

struct stats {
	unsigned programs, mismatches, rejected, caught, mutable_progs, kernel_runs, jit_runs;
	size_t insns;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bpftime-vm-diff [--seed S] [--count N] [--len L] [--no-kernel]\n"
		   "                       [--no-jit] [--dump] [-v] [--self-test]\n");
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end || *out > max ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	uint64_t v;
	int i;

	*o = (struct options){.seed = 1, .count = 1000, .len = 40, .jit_every = 1};
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (!strcmp(a, "--seed") && has_val && !parse_num(argv[i + 1], UINT64_MAX, &v))
			o->seed = v, i++;
		else if (!strcmp(a, "--count") && has_val && !parse_num(argv[i + 1], 1u << 30, &v))
			o->count = (unsigned)v, i++;
		else if (!strcmp(a, "--len") && has_val && !parse_num(argv[i + 1], 4096, &v))
			o->len = (unsigned)v, i++;
		else if (!strcmp(a, "--jit-every") && has_val &&
			 !parse_num(argv[i + 1], 1u << 30, &v) && v)
			o->jit_every = (unsigned)v, i++;
		else if (!strcmp(a, "--no-kernel"))
			o->no_kernel = true;
		else if (!strcmp(a, "--no-jit"))
			o->no_jit = true;
		else if (!strcmp(a, "--dump"))
			o->dump = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose = true;
		else if (!strcmp(a, "--self-test"))
			o->self_test = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(stdout), 1;
		else
			return usage(stderr), -EINVAL;
	}
	return 0;
}

static void dump_prog(const struct vmd_prog *p)
{
	char buf[128];
	size_t i = 0;
	int n;

	printf("program of seed %llu (%zu slots):\n", (unsigned long long)p->seed, p->cnt);
	while (i < p->cnt) {
		n = bpftime_asm__disasm(&p->insns[i], p->cnt - i, buf, sizeof(buf));
		if (n < 1) {
			printf("  %4zu: <%d>\n", i, n);
			n = 1;
		} else {
			printf("  %4zu: %s\n", i, buf);
		}
		i += (size_t)n;
	}
}

static void print_result(enum vmd_engine e, const struct vmd_result *r)
{
	if (r->err)
		printf("  %-14s error %d at %s: %s\n", vmd_engine_name[e], r->err, r->stage,
		       r->msg);
	else if (r->has_r0)
		printf("  %-14s r0 = %#llx\n", vmd_engine_name[e], (unsigned long long)r->r0);
	else
		printf("  %-14s r0 = %#llx (32-bit retval)\n", vmd_engine_name[e],
		       (unsigned long long)r->r0);
}

/* Whether @r agrees with the reference @ref (the interpreter). */
static bool same(const struct vmd_result *ref, const struct vmd_result *r)
{
	if (ref->err || r->err)
		return ref->err == r->err;
	if (r->has_r0 ? r->r0 != ref->r0 : r->r0 != (uint32_t)ref->r0)
		return false;
	return !memcmp(ref->value, r->value, VMD_VALUE_SIZE);
}

static void print_diff(const struct vmd_prog *p, const struct vmd_result *ref, enum vmd_engine e,
		       const struct vmd_result *r)
{
	size_t i;

	if (ref->err || r->err)
		return;
	for (i = 0; i < VMD_VALUE_SIZE; i++)
		if (ref->value[i] != r->value[i])
			printf("  value[%3zu] (%s): initial %02x, interp %02x, %s %02x\n", i,
			       i < VMD_REGS_OFF    ? "data"
			       : i < VMD_STACK_OFF ? "reg"
						   : "stack",
			       p->init[i], ref->value[i], vmd_engine_name[e], r->value[i]);
}

static void report(const struct vmd_prog *p, const bool *on, const struct vmd_result *res,
		   const bool *bad, bool detailed)
{
	int e;

	printf("vm-diff: MISMATCH seed %llu:", (unsigned long long)p->seed);
	for (e = 0; e < VMD_NR_ENGINES; e++)
		if (bad[e])
			printf(" %s", vmd_engine_name[e]);
	printf(" differ from interp (rerun: --seed %llu --count 1 --dump)\n",
	       (unsigned long long)p->seed);
	if (!detailed)
		return;
	for (e = 0; e < VMD_NR_ENGINES; e++)
		if (on[e])
			print_result((enum vmd_engine)e, &res[e]);
	for (e = 0; e < VMD_NR_ENGINES; e++)
		if (bad[e])
			print_diff(p, &res[VMD_INTERP], (enum vmd_engine)e, &res[e]);
	dump_prog(p);
}

static void print_tail(const char *log, size_t max)
{
	size_t len = strlen(log);

	fputs(len > max ? log + len - max : log, stdout);
	if (len && log[len - 1] != '\n')
		putchar('\n');
}

/* The mutant: every ALU immediate with its low bit flipped, kept valid. */
static struct bpf_insn *mutate(const struct vmd_prog *p, unsigned *sites)
{
	struct bpf_insn *m = malloc(p->cnt * sizeof(*m));
	size_t i;
	uint8_t op;

	*sites = 0;
	if (!m)
		abort();
	memcpy(m, p->insns, p->cnt * sizeof(*m));
	for (i = 0; i < p->cnt; i++) {
		if ((BPF_CLASS(m[i].code) != BPF_ALU && BPF_CLASS(m[i].code) != BPF_ALU64) ||
		    BPF_SRC(m[i].code) != BPF_K)
			continue;
		op = BPF_OP(m[i].code);
		if (op == BPF_NEG || op == BPF_END)
			continue;
		m[i].imm ^= 1;
		if ((op == BPF_DIV || op == BPF_MOD) && m[i].imm == 0)
			m[i].imm = 2;
		(*sites)++;
	}
	return m;
}

/* One program on every engine in @on; false on a mismatch. */
static bool run_one(const struct options *o, struct vmd_kernel *k, const bool *on_all,
		    struct stats *st, struct vmd_result *res)
{
	bool on[VMD_NR_ENGINES];
	bool bad[VMD_NR_ENGINES] = {false}, any = false;
	struct bpf_insn *mutant = NULL;
	struct vmd_prog p;
	unsigned sites = 0;
	int e;

	memcpy(on, on_all, sizeof(on));
	if (st->programs % o->jit_every)
		on[VMD_JIT] = on[VMD_JIT_CHECKED] = false;
	st->jit_runs += on[VMD_JIT];
	vmd_generate(o->seed + st->programs, o->len, &p);
	st->programs++;
	st->insns += p.cnt;
	if (o->dump)
		dump_prog(&p);
	for (e = 0; e < VMD_NR_ENGINES; e++) {
		if (!on[e])
			continue;
		if (e == VMD_KERNEL) {
			vmd_kernel_run(k, &p, &res[e]);
			st->kernel_runs++;
			continue;
		}
		if (e == VMD_MUTANT)
			mutant = mutate(&p, &sites);
		vmd_run_bpftime(&p, mutant, (enum vmd_engine)e, &res[e]);
	}
	if (on[VMD_KERNEL] && res[VMD_KERNEL].err && !strcmp(res[VMD_KERNEL].stage, "verifier")) {
		st->rejected++;
		st->kernel_runs--;
		printf("vm-diff: seed %llu: the verifier rejected a generated program (%s); "
		       "generator bug. Log tail:\n",
		       (unsigned long long)p.seed, res[VMD_KERNEL].msg);
		print_tail(k->log, 3000);
		if (o->verbose)
			dump_prog(&p);
		res[VMD_KERNEL].err = 0; /* nothing to compare */
		bad[VMD_KERNEL] = false;
	} else if (on[VMD_KERNEL]) {
		bad[VMD_KERNEL] = !same(&res[VMD_INTERP], &res[VMD_KERNEL]);
	}
	for (e = VMD_INTERP_CHECKED; e < VMD_NR_ENGINES; e++)
		if (on[e] && e != VMD_KERNEL && e != VMD_MUTANT)
			bad[e] = !same(&res[VMD_INTERP], &res[e]);
	/* the interpreter failing a program the verifier took is a bug too */
	bad[VMD_INTERP] = res[VMD_INTERP].err != 0;
	for (e = 0; e < VMD_MUTANT; e++)
		any |= bad[e];
	if (on[VMD_MUTANT]) {
		st->mutable_progs += sites > 0;
		if (sites && !same(&res[VMD_INTERP], &res[VMD_MUTANT])) {
			st->caught++;
			/* show the report path working once */
			if (st->caught == 1) {
				bool only[VMD_NR_ENGINES] = {[VMD_MUTANT] = true};

				printf("vm-diff: self-test: the mutant's first mismatch, as "
				       "reported:\n");
				report(&p, on, res, only, true);
			}
		}
	}
	if (any) {
		st->mismatches++;
		report(&p, on, res, bad, st->mismatches <= MAX_DETAILED);
	} else if (o->verbose) {
		printf("vm-diff: seed %llu: %zu slots, r0 %#llx, agreed\n",
		       (unsigned long long)p.seed, p.cnt, (unsigned long long)res[VMD_INTERP].r0);
	}
	free(mutant);
	vmd_prog_free(&p);
	return !any;
}

/* The comparison itself must see one wrong byte and a wrong r0. */
static bool compare_self_test(void)
{
	static struct vmd_result a, b;

	memset(&a, 0, sizeof(a));
	a.has_r0 = true;
	a.r0 = 0x1234567890ull;
	b = a;
	if (!same(&a, &b))
		return false;
	b.value[VMD_VALUE_SIZE - 1] ^= 0x10;
	if (same(&a, &b))
		return false;
	b = a;
	b.r0 ^= 1ull << 40;
	if (same(&a, &b))
		return false;
	/* the kernel's 32-bit retval: only the low half is compared */
	b.has_r0 = false;
	b.r0 = (uint32_t)a.r0;
	if (!same(&a, &b))
		return false;
	b.r0 ^= 1;
	return !same(&a, &b);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct vmd_result res[VMD_NR_ENGINES];
	bool on[VMD_NR_ENGINES] = {[VMD_INTERP] = true, [VMD_INTERP_CHECKED] = true};
	struct vmd_kernel k = {.map_fd = -1, .btf_fd = -1};
	struct stats st = {0};
	struct options o;
	char why[256];
	double t0 = now();
	int err;
	bool fail;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : 2;
	if (o.no_kernel) {
		printf("vm-diff: kernel leg skipped: --no-kernel\n");
	} else if (vmd_kernel_open(&k, why, sizeof(why))) {
		printf("vm-diff: kernel leg skipped: %s (uid %u)\n", why, (unsigned)getuid());
	} else {
		on[VMD_KERNEL] = true;
	}
	if (o.no_jit)
		printf("vm-diff: jit leg skipped: --no-jit\n");
	else if (!vmd_have_jit())
		printf("vm-diff: jit leg skipped: not in this build\n");
	else
		on[VMD_JIT] = on[VMD_JIT_CHECKED] = true;
	on[VMD_MUTANT] = o.self_test;

	while (st.programs < o.count)
		run_one(&o, &k, on, &st, res);

	printf("vm-diff: %u programs (%zu slots), %u mismatches (kernel: %s, %u runs; jit: %s, "
	       "%u runs), %u rejected by the verifier, %.1f s\n",
	       st.programs, st.insns, st.mismatches, on[VMD_KERNEL] ? "yes" : "skipped",
	       st.kernel_runs, on[VMD_JIT] ? "yes" : "skipped", st.jit_runs, st.rejected,
	       now() - t0);
	/* a rejection is a generator bug; a few are tolerated, more are not */
	fail = st.mismatches > 0 || (uint64_t)st.rejected * 100 > st.programs;
	if (st.rejected * 100 > st.programs)
		printf("vm-diff: FAIL: more than 1%% of the programs were rejected\n");
	if (o.self_test) {
		bool cmp_ok = compare_self_test();

		printf("vm-diff: self-test: the mutant differed in %u of %u programs with a "
		       "mutation site; one wrong byte %s\n",
		       st.caught, st.mutable_progs, cmp_ok ? "caught" : "NOT caught");
		if (!cmp_ok || st.caught * 2 < st.mutable_progs || !st.caught) {
			printf("vm-diff: FAIL: the fuzzer does not notice wrong results\n");
			fail = true;
		}
	}
	vmd_kernel_close(&k);
	return fail ? 1 : 0;
}
