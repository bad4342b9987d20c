// SPDX-License-Identifier: MIT
/*
 * The target of uprobe_bpftrace_test.sh: functions with known calls and
 * return values, and a report of what it did in bpftrace's map syntax, so
 * that the test compares bpftrace's output with the truth line for line.
 *
 *   uret_target fib THREADS REPS    THREADS threads each compute fib(12)
 *                                   REPS times (recursion: a uretprobe
 *                                   must fire for every frame)
 *   uret_target jump REPS           jumpy() recurses 6 deep and longjmps
 *                                   out from the bottom, REPS times; then
 *                                   returns normally from depth 3 once:
 *                                   skipped frames never return
 *
 * Waits for SIGUSR1 after printing "ready <pid>" (the tracer attaches
 * first), then prints "@calls: N" and "@ret[V]: C" lines: the calls of the
 * probed function and how many returns gave each value.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXV 256

/* exactly one function per name: no clones (gcc's ipa-split makes
 * fib.part.0, which the probe on fib would not see), no inlining */
#ifdef __clang__
#define PROBED __attribute__((noinline))
#else
#define PROBED __attribute__((noipa))
#endif

static unsigned long calls;
static unsigned long rets[MAXV];
static jmp_buf env;

static void count(int v)
{
	__atomic_fetch_add(&rets[v < 0 || v >= MAXV ? 0 : v], 1, __ATOMIC_RELAXED);
}

PROBED int fib(int n)
{
	int r;

	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	r = n < 2 ? n : fib(n - 1) + fib(n - 2);
	count(r);
	return r;
}

/* returns its depth, or longjmps out when it reaches @jump_at */
PROBED int jumpy(int depth, int jump_at)
{
	int r;

	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	if (depth == jump_at)
		longjmp(env, 1);
	r = depth == 0 ? 0 : jumpy(depth - 1, jump_at) + 1;
	count(r);
	return r;
}

static int reps;

static void *fib_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < reps; i++)
		fib(12);
	return NULL;
}

static void report(void)
{
	printf("@calls: %lu\n", calls);
	for (int v = 0; v < MAXV; v++)
		if (rets[v])
			printf("@ret[%d]: %lu\n", v, rets[v]);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	if (argc < 3 || (strcmp(argv[1], "fib") && strcmp(argv[1], "jump"))) {
		fprintf(stderr, "usage: uret_target fib THREADS REPS | jump REPS\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	sigwait(&set, &sig);
	if (!strcmp(argv[1], "fib")) {
		int n = atoi(argv[2]);
		pthread_t t[16];

		reps = atoi(argv[3]);
		if (n < 1 || n > 16)
			return 2;
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, fib_thread, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else {
		int n = atoi(argv[2]);

		for (volatile int i = 0; i < n; i++)
			if (!setjmp(env))
				jumpy(6, 0);
		jumpy(3, -1);
	}
	report();
	return 0;
}
