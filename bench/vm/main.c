// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-vm: see bench-vm.h for the parts and bench/README.md for
 * what the workloads are and how to read the table.
 *
 * For each workload and engine: calibrate a repeat count so that one sample
 * takes about BENCH_SAMPLE_NS, take BENCH_SAMPLES samples and report the
 * median ns per run. Every run of every engine must return the same u32 as
 * the native build, or the exit status is 1. --quick runs each program a
 * few times only: a smoke test of agreement, never of timing.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "bench-vm.h"

#define BENCH_SAMPLE_NS  50000000ull /* 50 ms */
#define BENCH_SAMPLES    7
#define BENCH_MAX_REPEAT 100000000ull
#define EXIT_SKIP        77 /* ctest SKIP_RETURN_CODE */

const struct bench_workload bpftime_bench_workloads[BENCH_WL__COUNT] = {
    [BENCH_WL_LOG2] = {"log2", "bench_log2"},       [BENCH_WL_PRIME] = {"prime", "bench_prime"},
    [BENCH_WL_MEMCPY] = {"memcpy", "bench_memcpy"}, [BENCH_WL_STRCMP] = {"strcmp", "bench_strcmp"},
    [BENCH_WL_SWITCH] = {"switch", "bench_switch"}, [BENCH_WL_SIMPLE] = {"simple", "bench_simple"},
};

enum { ENG_NATIVE, ENG_KERNEL, ENG_INTERP, ENG_JIT, ENG__COUNT };

/* The goals of issue 7 for the JIT, checked under the table. */
#define GOAL_ENTRY_NS      3.0 /* simple: ns per run */
#define GOAL_NATIVE_RATIO  1.2 /* log2, prime, strcmp: jit / native at most */
#define GOAL_GEOMEAN_SPEED 1.3 /* kernel / jit, geometric mean, at least */

struct cfg {
	bool quick;
	const char *filter;
	const char *obj_path;
	unsigned mask; /* workloads selected by --filter */
};

struct cell {
	bool ok;       /* measured without error */
	double ns;     /* median ns per run */
	double spread; /* (slowest - fastest sample) / median */
	uint32_t ret;
};

struct row {
	struct cell cell[ENG__COUNT];
	bool counted; /* the bounds-checked run worked */
	uint64_t insns;
	uint32_t checked_ret;
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--quick] [--filter NAME] [--obj PATH]\n"
		"  --quick        run each program a few times: checks that the engines agree,\n"
		"                 timings are meaningless (the bench-smoke test)\n"
		"  --filter NAME  only the workloads whose name contains NAME\n"
		"                 (log2, prime, memcpy, strcmp, switch, simple)\n"
		"  --obj PATH     the BPF object (default: %s)\n"
		"Run as root for the kernel-JIT column.\n",
		argv0, BENCH_VM_OBJ);
}

static int parse_args(int argc, char **argv, struct cfg *cfg)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"filter", required_argument, NULL, 'f'},
	    {"obj", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	cfg->obj_path = BENCH_VM_OBJ;
	while ((c = getopt_long(argc, argv, "qf:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			cfg->quick = true;
			break;
		case 'f':
			cfg->filter = optarg;
			break;
		case 'o':
			cfg->obj_path = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++)
		if (!cfg->filter || strstr(bpftime_bench_workloads[wl].name, cfg->filter))
			cfg->mask |= 1u << wl;
	if (!cfg->mask) {
		fprintf(stderr, "no workload matches '%s'\n", cfg->filter);
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	return 0;
}

/*
 * Grow the repeat count until one sample takes an eighth of the target,
 * then scale it to the target. Also the warm-up. Checks the results.
 */
static int calibrate(const struct bench_engine *e, enum bench_wl wl, uint64_t *repeat,
		     uint32_t *ret)
{
	uint64_t n = 1;
	double ns, total;
	uint32_t r;
	int err;

	for (;;) {
		err = e->measure(e->ctx, wl, n, &ns, &r);
		if (err)
			return err;
		if (n > 1 && r != *ret)
			return -EILSEQ;
		*ret = r;
		total = ns * (double)n;
		if (total >= BENCH_SAMPLE_NS / 8 || n >= BENCH_MAX_REPEAT)
			break;
		n *= 8;
	}
	/* the kernel reports whole ns: a sub-ns program reads 0 */
	if (total < 1)
		total = 1;
	*repeat = (uint64_t)((double)n * (double)BENCH_SAMPLE_NS / total) + 1;
	if (*repeat > BENCH_MAX_REPEAT)
		*repeat = BENCH_MAX_REPEAT;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of BENCH_SAMPLES samples (one quick sample with --quick). */
static int measure(const struct bench_engine *e, enum bench_wl wl, const struct cfg *cfg,
		   struct cell *out)
{
	double samples[BENCH_SAMPLES];
	unsigned n = cfg->quick ? 1 : BENCH_SAMPLES;
	uint64_t repeat = 2;
	uint32_t r;
	int err;

	if (cfg->quick)
		err = e->measure(e->ctx, wl, 1, &samples[0], &out->ret);
	else
		err = calibrate(e, wl, &repeat, &out->ret);
	for (unsigned i = 0; i < n && !err; i++) {
		err = e->measure(e->ctx, wl, repeat, &samples[i], &r);
		if (!err && r != out->ret)
			err = -EILSEQ;
	}
	if (err == -EILSEQ)
		fprintf(stderr, "%s: %s: runs returned different values\n", e->name,
			bpftime_bench_workloads[wl].name);
	if (err)
		return err;
	qsort(samples, n, sizeof(samples[0]), cmp_double);
	out->ns = samples[n / 2];
	out->spread = out->ns > 0 ? (samples[n - 1] - samples[0]) / out->ns : 0;
	out->ok = true;
	return 0;
}

/* Failures leave their cell !ok; row_verdict() turns that into FAILED. */
static void measure_row(struct bench_engine *engines, enum bench_wl wl, const struct cfg *cfg,
			struct row *row)
{
	for (int i = 0; i < ENG__COUNT; i++)
		if (engines[i].available)
			measure(&engines[i], wl, cfg, &row->cell[i]);
	row->counted =
	    !bpftime_bench_interp__count(&engines[ENG_INTERP], wl, &row->insns, &row->checked_ret);
}

enum verdict { AGREE, DIFFER, FAILED };

static const char *const verdict_names[] = {
    [AGREE] = "agree",
    [DIFFER] = "DIFFER",
    [FAILED] = "FAILED",
};

/* Every engine must agree with the native build; so must the checked run.
 * An engine that is available but failed to load or run fails the row. */
static enum verdict row_verdict(const struct bench_engine *engines, enum bench_wl wl,
				const struct row *row)
{
	uint32_t want = row->cell[ENG_NATIVE].ret;
	enum verdict v = AGREE;

	for (int i = 0; i < ENG__COUNT; i++) {
		if (!engines[i].available)
			continue;
		if (!row->cell[i].ok) {
			v = FAILED;
			continue;
		}
		if (row->cell[i].ret == want)
			continue;
		fprintf(stderr, "MISMATCH %s: %s returned 0x%08x, native 0x%08x\n",
			bpftime_bench_workloads[wl].name, engines[i].name, row->cell[i].ret, want);
		if (v == AGREE)
			v = DIFFER;
	}
	if (!row->counted)
		return FAILED;
	if (row->checked_ret != want) {
		fprintf(stderr,
			"MISMATCH %s: bounds-checked interp returned 0x%08x, native 0x%08x\n",
			bpftime_bench_workloads[wl].name, row->checked_ret, want);
		if (v == AGREE)
			v = DIFFER;
	}
	return v;
}

static const char *fmt_ns(char *buf, size_t size, const struct cell *c)
{
	if (!c->ok)
		snprintf(buf, size, "n/a");
	else if (c->ns < 100)
		snprintf(buf, size, "%.1f", c->ns);
	else
		snprintf(buf, size, "%.0f", c->ns);
	return buf;
}

/* num / den of ns per run; false when a cell is missing */
static bool ratio(const struct cell *num, const struct cell *den, double *r)
{
	if (!num->ok || !den->ok || den->ns <= 0 || num->ns <= 0)
		return false;
	*r = num->ns / den->ns;
	return true;
}

static const char *fmt_ratio(char *buf, size_t size, const struct cell *num, const struct cell *den)
{
	double r;

	if (!ratio(num, den, &r))
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.2f", r);
	return buf;
}

/* The ratio columns, in table order, and their {numerator, denominator}. */
enum { R_JIT_NATIVE, R_JIT_KERNEL, R_INTERP_NATIVE, R_INTERP_KERNEL, NR_RATIOS };
static const int ratio_cols[NR_RATIOS][2] = {
    [R_JIT_NATIVE] = {ENG_JIT, ENG_NATIVE},
    [R_JIT_KERNEL] = {ENG_JIT, ENG_KERNEL},
    [R_INTERP_NATIVE] = {ENG_INTERP, ENG_NATIVE},
    [R_INTERP_KERNEL] = {ENG_INTERP, ENG_KERNEL},
};

static void print_row(enum bench_wl wl, const struct row *row, enum verdict v)
{
	const struct cell *c = row->cell;
	char ns[ENG__COUNT][32], r[NR_RATIOS][32], per[32];

	for (int i = 0; i < ENG__COUNT; i++)
		fmt_ns(ns[i], sizeof(ns[i]), &c[i]);
	for (int i = 0; i < NR_RATIOS; i++)
		fmt_ratio(r[i], sizeof(r[i]), &c[ratio_cols[i][0]], &c[ratio_cols[i][1]]);
	if (row->counted && c[ENG_INTERP].ok && row->insns)
		snprintf(per, sizeof(per), "%.2f", c[ENG_INTERP].ns / (double)row->insns);
	else
		snprintf(per, sizeof(per), "n/a");
	printf("| %-6s | %8s | %8s | %8s | %8s | %5s | %5s | %5s | %5s | %8llu | %5s | %s 0x%08x "
	       "|\n",
	       bpftime_bench_workloads[wl].name, ns[ENG_NATIVE], ns[ENG_KERNEL], ns[ENG_INTERP],
	       ns[ENG_JIT], r[R_JIT_NATIVE], r[R_JIT_KERNEL], r[R_INTERP_NATIVE],
	       r[R_INTERP_KERNEL], (unsigned long long)row->insns, per, verdict_names[v],
	       c[ENG_NATIVE].ret);
	fflush(stdout);
}

/*
 * The geometric mean of each ratio column over the rows selected by
 * @mask (bit per enum bench_wl) in which both cells were measured.
 */
static void geomeans(const struct row *rows, unsigned mask, double out[NR_RATIOS],
		     unsigned n[NR_RATIOS])
{
	for (int i = 0; i < NR_RATIOS; i++) {
		double log_sum = 0, r;

		n[i] = 0;
		for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
			if (!((mask >> wl) & 1) || !ratio(&rows[wl].cell[ratio_cols[i][0]],
							  &rows[wl].cell[ratio_cols[i][1]], &r))
				continue;
			log_sum += log(r);
			n[i]++;
		}
		out[i] = n[i] ? exp(log_sum / n[i]) : 0;
	}
}

static void print_geomean(const char *label, const struct row *rows, unsigned mask)
{
	double g[NR_RATIOS];
	unsigned n[NR_RATIOS];
	char r[NR_RATIOS][32];

	geomeans(rows, mask, g, n);
	for (int i = 0; i < NR_RATIOS; i++) {
		if (n[i])
			snprintf(r[i], sizeof(r[i]), "%.2f", g[i]);
		else
			snprintf(r[i], sizeof(r[i]), "n/a");
	}
	printf("| %s | | | | | %5s | %5s | %5s | %5s | | | |\n", label, r[R_JIT_NATIVE],
	       r[R_JIT_KERNEL], r[R_INTERP_NATIVE], r[R_INTERP_KERNEL]);
}

/* Geometric means: over every workload run, and without simple (whose
 * kernel figure is mostly BPF_PROG_TEST_RUN's own per-run work). */
static void print_geomeans(const struct row *rows, const struct cfg *cfg)
{
	unsigned without = cfg->mask & ~(1u << BENCH_WL_SIMPLE);

	print_geomean("geomean", rows, cfg->mask);
	if (without != cfg->mask && without)
		print_geomean("geomean w/o simple", rows, without);
}

static const char *met(bool ok)
{
	return ok ? "met" : "NOT met";
}

/* Issue 7's goals for the JIT, each with the figures it rests on. */
static void print_goals(const struct row *rows, const struct cfg *cfg)
{
	static const enum bench_wl near_native[] = {BENCH_WL_LOG2, BENCH_WL_PRIME, BENCH_WL_STRCMP};
	const struct cell *simple = &rows[BENCH_WL_SIMPLE].cell[ENG_JIT];
	double g[NR_RATIOS], rn, rk;
	unsigned n[NR_RATIOS];

	printf("\ngoals (issue 7) for the jit column:\n");
	/* The entry: what bpftime adds to a native call doing the same work
	 * (simple's five instructions and the call itself are in both); the
	 * whole run is shown beside it. */
	if ((cfg->mask >> BENCH_WL_SIMPLE) & 1 && simple->ok &&
	    rows[BENCH_WL_SIMPLE].cell[ENG_NATIVE].ok) {
		double added = simple->ns - rows[BENCH_WL_SIMPLE].cell[ENG_NATIVE].ns;

		printf("  per-call entry <= %.0f ns: bpftime adds %.1f ns to a native call of the "
		       "same work (simple: %.1f ns, native %.1f ns): %s\n",
		       GOAL_ENTRY_NS, added, simple->ns, rows[BENCH_WL_SIMPLE].cell[ENG_NATIVE].ns,
		       met(added <= GOAL_ENTRY_NS));
	}
	for (size_t i = 0; i < sizeof(near_native) / sizeof(near_native[0]); i++) {
		const struct row *row = &rows[near_native[i]];

		if (!((cfg->mask >> near_native[i]) & 1) ||
		    !ratio(&row->cell[ENG_JIT], &row->cell[ENG_NATIVE], &rn))
			continue;
		printf("  %-6s jit/native <= %.1f: %.2f: %s",
		       bpftime_bench_workloads[near_native[i]].name, GOAL_NATIVE_RATIO, rn,
		       met(rn <= GOAL_NATIVE_RATIO));
		if (ratio(&row->cell[ENG_JIT], &row->cell[ENG_KERNEL], &rk))
			printf("; faster than the kernel: jit/kernel %.2f: %s", rk, met(rk < 1));
		printf("\n");
	}
	geomeans(rows, cfg->mask, g, n);
	if (n[R_JIT_KERNEL])
		printf("  geomean over %u workloads, kernel/jit >= %.1f: %.2f: %s\n",
		       n[R_JIT_KERNEL], GOAL_GEOMEAN_SPEED, 1 / g[R_JIT_KERNEL],
		       met(1 / g[R_JIT_KERNEL] >= GOAL_GEOMEAN_SPEED));
}

static void cpu_model(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, size, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		snprintf(buf, size, "%s", colon + 2);
		buf[strcspn(buf, "\n")] = '\0';
		break;
	}
	if (f)
		fclose(f);
}

static void print_header(const struct bench_engine *engines, const struct cfg *cfg)
{
	char date[64], cpu[128];
	struct utsname u;
	time_t now = time(NULL);

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&now));
	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	printf("bpftime-bench-vm %s: %s, kernel %s, %ld CPUs, build %s, cc %s\n", date, cpu,
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), BENCH_VM_BUILD_TYPE, __VERSION__);
	if (cfg->quick)
		printf(
		    "--quick: one run per engine and workload; the timings below mean nothing\n");
	else
		printf("median of %d samples of ~%llu ms per engine and workload; native, interp "
		       "and jit: thread CPU time, kernel: BPF_PROG_TEST_RUN duration\n",
		       BENCH_SAMPLES, BENCH_SAMPLE_NS / 1000000);
	for (int i = 0; i < ENG__COUNT; i++)
		if (!engines[i].available)
			printf("%s: n/a: %s\n", engines[i].name, engines[i].reason);
	if (engines[ENG_JIT].available)
		printf("jit: compiling and binding the programs took %.0f ms\n",
		       bpftime_bench_jit__compile_ms(&engines[ENG_JIT]));
	printf("\n| workload | native ns/run | kernel-JIT ns/run | interp ns/run | jit ns/run "
	       "| jit/native | jit/kernel | interp/native | interp/kernel | insns/run "
	       "| interp ns/insn | result |\n");
	printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
}

static int init_engines(struct bench_engine *engines, const struct cfg *cfg,
			const struct bench_vm_data *img)
{
	int err;

	err = bpftime_bench_native__init(&engines[ENG_NATIVE], img);
	if (!err)
		err =
		    bpftime_bench_interp__init(&engines[ENG_INTERP], cfg->obj_path, cfg->mask, img);
	if (!err)
		err = bpftime_bench_jit__init(&engines[ENG_JIT], cfg->obj_path, cfg->mask, img);
	if (!err)
		err =
		    bpftime_bench_kernel__init(&engines[ENG_KERNEL], cfg->obj_path, cfg->mask, img);
	return err;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How much to trust the table: the widest spread of samples in any cell. */
struct noise {
	double spread;
	enum bench_wl wl;
	int engine;
};

static void note_noise(struct noise *worst, const struct row *row, enum bench_wl wl)
{
	for (int i = 0; i < ENG__COUNT; i++) {
		if (!row->cell[i].ok || row->cell[i].spread <= worst->spread)
			continue;
		worst->spread = row->cell[i].spread;
		worst->wl = wl;
		worst->engine = i;
	}
}

static int run_all(struct bench_engine *engines, const struct cfg *cfg)
{
	struct row rows[BENCH_WL__COUNT] = {0};
	struct noise worst = {0};
	double t0 = wall_s();
	int status = 0;

	print_header(engines, cfg);
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		struct row *row = &rows[wl];
		enum verdict v;

		if (!((cfg->mask >> wl) & 1))
			continue;
		measure_row(engines, wl, cfg, row);
		v = row_verdict(engines, wl, row);
		if (v != AGREE)
			status = 1;
		print_row(wl, row, v);
		note_noise(&worst, row, wl);
	}
	if (!cfg->quick) {
		print_geomeans(rows, cfg);
		printf("\nwidest spread of samples: %.0f%% (%s, %s)\n", worst.spread * 100,
		       bpftime_bench_workloads[worst.wl].name, engines[worst.engine].name);
		if (engines[ENG_JIT].available)
			print_goals(rows, cfg);
	}
	printf("\n%s; %.1f s\n", status ? "FAILED" : "all engines agree", wall_s() - t0);
	return status;
}

int main(int argc, char **argv)
{
	struct bench_engine engines[ENG__COUNT] = {{0}};
	struct bench_vm_data *img;
	struct cfg cfg = {0};
	int status;

	if (parse_args(argc, argv, &cfg))
		return 2;
	if (access(cfg.obj_path, R_OK)) {
		fprintf(stderr, "cannot read the BPF object %s: %s\n", cfg.obj_path,
			strerror(errno));
		return EXIT_SKIP;
	}
	img = malloc(sizeof(*img));
	if (!img) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	bpftime_bench_inputs__fill(img);
	if (init_engines(engines, &cfg, img))
		status = 1;
	else
		status = run_all(engines, &cfg);
	bpftime_bench_kernel__fini(&engines[ENG_KERNEL]);
	bpftime_bench_interp__fini(&engines[ENG_INTERP]);
	bpftime_bench_jit__fini(&engines[ENG_JIT]);
	free(img);
	return status;
}
