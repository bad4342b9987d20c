// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-hooks-target: the probed process of bench/hooks.
 *
 *   bpftime-bench-hooks-target [-n CALLS] [-r ROUNDS] [-w] [-s]
 *
 * Prints "target <pid> ready" and, with -w, waits for SIGUSR1 (so that a
 * tool can attach first). Then, ROUNDS times, it calls bench_probed() CALLS
 * times and its twin bench_twin() (the same code, never probed) CALLS
 * times, each loop timed by its thread CPU time and by the monotonic clock,
 * and prints
 *
 *   target <pid> calls <ROUNDS * CALLS> probed <ns> twin <ns> cost <ns> wall <ns> spread <pct>
 *
 * probed and twin: ns per call, medians over the rounds (thread CPU time,
 * which includes the kernel's trap time when a kernel uprobe fires); cost:
 * the median over the rounds of probed - twin, the probe's cost per call;
 * wall: the same cost by the monotonic clock; spread: (max - min) / median
 * of the per-round costs, in percent.
 *
 * -s (syscalls): instead, each round times CALLS calls of getppid(),
 * getuid() and syscall(SYS_getuid), and it prints
 *
 *   target <pid> calls <ROUNDS * CALLS> getppid <ns> getuid <ns> sysgetuid <ns> spread <pct>
 *
 * ns per call, medians over the rounds (thread CPU time: the syscall's
 * kernel time included); spread as above, of getppid's. In glibc,
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

/* -s: the three syscall loops */
static void syscalls(unsigned long calls, unsigned long rounds)
{
	void (*volatile fn[3])(uint64_t) = {call_getppid, call_getuid, call_sysgetuid};
	double ns[3][MAX_ROUNDS], m[3], spread;
	uint64_t warm = calls < 1000 ? calls : 1000;

	for (int k = 0; k < 3; k++)
		timed(fn[k], warm);
	for (unsigned long r = 0; r < rounds; r++)
		for (int k = 0; k < 3; k++)
			ns[k][r] = timed(fn[k], calls).cpu;
	for (int k = 0; k < 3; k++)
		m[k] = median(ns[k], (int)rounds);
	spread = m[0] > 0 ? 100.0 * (ns[0][rounds - 1] - ns[0][0]) / m[0] : 0; /* sorted */
	printf("target %d calls %lu getppid %.1f getuid %.1f sysgetuid %.1f spread %.0f\n",
	       (int)getpid(), calls * rounds + warm, m[0], m[1], m[2], spread);
}

int main(int argc, char **argv)
{
	double probed[MAX_ROUNDS], twin[MAX_ROUNDS], cost[MAX_ROUNDS], wall[MAX_ROUNDS];
	unsigned long calls = 1000000, rounds = 7;
	void (*volatile probed_fn)(uint64_t) = bench_probed;
	void (*volatile twin_fn)(uint64_t) = bench_twin;
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
	/* one untimed round first: page faults, the first hits, caches */
	timed(probed_fn, calls < 1000 ? calls : 1000);
	timed(twin_fn, calls < 1000 ? calls : 1000);
	for (unsigned long r = 0; r < rounds; r++) {
		struct sample p = timed(probed_fn, calls), t = timed(twin_fn, calls);

		probed[r] = p.cpu;
		twin[r] = t.cpu;
		cost[r] = p.cpu - t.cpu;
		wall[r] = p.wall - t.wall;
	}
	c = median(cost, (int)rounds);
	spread = c > 0 ? 100.0 * (cost[rounds - 1] - cost[0]) / c : 0; /* sorted by median() */
	printf("target %d calls %lu probed %.1f twin %.1f cost %.1f wall %.1f spread %.0f\n",
	       (int)getpid(), calls * rounds + (calls < 1000 ? calls : 1000),
	       median(probed, (int)rounds), median(twin, (int)rounds), c, median(wall, (int)rounds),
	       spread);
	return 0;
}
