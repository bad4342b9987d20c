// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-hooks-target: the probed process of bench/hooks.
 *
 *   bpftime-bench-hooks-target [-n CALLS] [-r ROUNDS] [-w] [-s]
 *
 * Prints "target <pid> ready" and, with -w, waits for SIGUSR1 (so that a
 * tool can attach first). Then it calls bench_probed() and its twin
 * bench_twin() (the same code, never probed) ROUNDS * CALLS times each, in
 * blocks of BLOCK calls (CALLS when fewer), a block of each in turn, every
 * block timed by its thread CPU time and by the monotonic clock, and
 * prints
 *
 *   target <pid> calls <ROUNDS * CALLS> probed <ns> twin <ns> cost <ns> wall <ns> spread <pct>
 *
 * probed and twin: ns per call of each one's fastest block (thread CPU
 * time, which includes the kernel's trap time when a kernel uprobe
 * fires); cost: probed - twin, the probe's cost per call; wall: the same
 * by the monotonic clock; spread: (median - fastest) / fastest of the
 * per-block costs (a probed block minus the twin block after it), in
 * percent. The fastest of many short blocks: what the probe costs leaves
 * out what the machine (or, in a VM, its host) takes from the thread
 * meanwhile, which moved medians over a few long rounds by 20 ns and more.
 *
 * -s (syscalls): instead, it times ROUNDS * CALLS calls each of getppid(),
 * getuid() and syscall(SYS_getuid), in blocks as above, one block of each
 * in turn, and prints
 *
 *   target <pid> calls <ROUNDS * CALLS> getppid <ns> getuid <ns> sysgetuid <ns> spread <pct>
 *
 * ns per call of each call's fastest block (thread CPU time: the
 * syscall's kernel time included). A syscall's own cost moves by tens of
 * ns with what else the machine (or its host) runs; the fastest of many
 * short blocks leaves that out, and the three calls' blocks alternate, so
 * a difference between two of them is what the code adds. spread: (median
 * - fastest) / fastest of getppid's blocks, in percent. In glibc,
 * getppid() and getuid() are `mov $nr,%eax; syscall; ret` (a site whose
 * number the agent knows), syscall() a generic wrapper (a window site).
 *
 * bench_probed() and bench_twin() start with `push %rbp; mov %rsp, %rbp`
 * (assembly, below): the common function entry, which the kernel's
 * uprobes emulate (one trap per hit, not two).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 64
#define BLOCK      10000 /* calls per timed block */

/* Two sinks, so that the two functions differ. */
volatile uint64_t bench_sink_probed, bench_sink_twin;

/*
 * bench_probed(i) and bench_twin(i) add i to their sink. Written in
 * assembly so that their entry is the same whatever the compiler and its
 * flags: the frame-pointer prologue of most functions, push %rbp first.
 */
void bench_probed(uint64_t i);
void bench_twin(uint64_t i);
__asm__(".text\n"
	".globl bench_probed\n"
	".type bench_probed, @function\n"
	".p2align 4\n"
	"bench_probed:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tadd %rdi, bench_sink_probed(%rip)\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size bench_probed, .-bench_probed\n"
	".globl bench_twin\n"
	".type bench_twin, @function\n"
	".p2align 4\n"
	"bench_twin:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tadd %rdi, bench_sink_twin(%rip)\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size bench_twin, .-bench_twin\n");

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct sample {
	double cpu, wall; /* ns per call */
};

static void call_getppid(uint64_t i)
{
	(void)i;
	getppid();
}

static void call_getuid(uint64_t i)
{
	(void)i;
	getuid();
}

static void call_sysgetuid(uint64_t i)
{
	(void)i;
	syscall(SYS_getuid);
}

static struct sample timed(void (*fn)(uint64_t), uint64_t n)
{
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
	struct sample s;

	for (uint64_t i = 0; i < n; i++) {
		fn(i);
		__asm__ volatile("" ::: "memory");
	}
	s.wall = (double)(clock_ns(CLOCK_MONOTONIC) - w0) / (double)n;
	s.cpu = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)n;
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned long parse(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end) {
		fprintf(stderr, "target: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

#define MAX_FNS 3

/* What time_blocks() measured: per function, its fastest block (cpu and
 * wall separately) and, for each block, its cpu ns per call. */
struct blocks {
	unsigned long n, calls; /* blocks; calls per function, warm-up included */
	struct sample best[MAX_FNS];
	double *cpu[MAX_FNS]; /* [block], malloc'd */
};

/* Call @fns functions @calls * @rounds times each, after one untimed block
 * of at most 1000 (page faults, the first hits, caches), in blocks of
 * BLOCK calls (@calls when fewer), a block of each in turn. Exits on
 * allocation failure. */
static void time_blocks(void (*volatile const *fn)(uint64_t), int fns, unsigned long calls,
			unsigned long rounds, struct blocks *r)
{
	unsigned long block = calls < BLOCK ? calls : BLOCK;
	uint64_t warm = calls < 1000 ? calls : 1000;

	r->n = calls * rounds / block;
	r->calls = r->n * block + warm;
	for (int k = 0; k < fns; k++) {
		r->cpu[k] = malloc(r->n * sizeof(*r->cpu[k]));
		if (!r->cpu[k]) {
			perror("target: malloc");
			exit(1);
		}
		timed(fn[k], warm);
	}
	for (unsigned long b = 0; b < r->n; b++)
		for (int k = 0; k < fns; k++) {
			struct sample t = timed(fn[k], block);

			if (!b || t.cpu < r->best[k].cpu)
				r->best[k].cpu = t.cpu;
			if (!b || t.wall < r->best[k].wall)
				r->best[k].wall = t.wall;
			r->cpu[k][b] = t.cpu;
		}
}

/* -s: the three syscall loops */
static void syscalls(unsigned long calls, unsigned long rounds)
{
	void (*volatile fn[3])(uint64_t) = {call_getppid, call_getuid, call_sysgetuid};
	struct blocks r;
	double best[3], spread;

	time_blocks(fn, 3, calls, rounds, &r);
	for (int k = 0; k < 3; k++)
		best[k] = r.best[k].cpu;
	spread = best[0] > 0 ? 100.0 * (median(r.cpu[0], (int)r.n) - best[0]) / best[0] : 0;
	printf("target %d calls %lu getppid %.1f getuid %.1f sysgetuid %.1f spread %.0f\n",
	       (int)getpid(), r.calls, best[0], best[1], best[2], spread);
	for (int k = 0; k < 3; k++)
		free(r.cpu[k]);
}

int main(int argc, char **argv)
{
	void (*volatile fn[2])(uint64_t) = {bench_probed, bench_twin};
	unsigned long calls = 1000000, rounds = 7;
	struct blocks r;
	int wait = 0, sys = 0, opt, sig;
	double c, spread;
	sigset_t set;

	while ((opt = getopt(argc, argv, "n:r:ws")) != -1) {
		if (opt == 'n')
			calls = parse(optarg);
		else if (opt == 'r')
			rounds = parse(optarg);
		else if (opt == 'w')
			wait = 1;
		else if (opt == 's')
			sys = 1;
		else {
			fprintf(stderr, "usage: target [-n CALLS] [-r ROUNDS] [-w] [-s]\n");
			return 2;
		}
	}
	if (calls < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "target: CALLS >= 1, ROUNDS 1 to %d\n", MAX_ROUNDS);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("target %d ready\n", (int)getpid());
	fflush(stdout);
	if (wait && sigwait(&set, &sig))
		return 1;
	if (sys) {
		syscalls(calls, rounds);
		return 0;
	}
	time_blocks(fn, 2, calls, rounds, &r);
	/* each block's cost: the probed block minus the twin block after it */
	for (unsigned long b = 0; b < r.n; b++)
		r.cpu[0][b] -= r.cpu[1][b];
	c = r.best[0].cpu - r.best[1].cpu;
	spread = c > 0 ? 100.0 * (median(r.cpu[0], (int)r.n) - c) / c : 0;
	printf("target %d calls %lu probed %.1f twin %.1f cost %.1f wall %.1f spread %.0f\n",
	       (int)getpid(), r.calls, r.best[0].cpu, r.best[1].cpu, c,
	       r.best[0].wall - r.best[1].wall, spread);
	free(r.cpu[0]);
	free(r.cpu[1]);
	return 0;
}
