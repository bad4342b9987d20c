// SPDX-License-Identifier: MIT
/*
 * victim: calls `int do_work(int)` and prints what it returned and whether
 * its body ran, for error-inject.
 *
 *   victim [-w] [-n CALLS]
 *
 * Calls do_work(21) once and prints
 *   victim <pid> before do_work(21) = 42 body <runs>
 * then "victim <pid> ready" and, with -w, waits for SIGUSR1 (so that
 * error-inject can attach first); then calls do_work(21) CALLS times
 * (default 1), printing after each
 *   victim <pid> after do_work(21) = <result> body <runs>
 * where <runs> counts the times do_work's body ran. Exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int body_runs;

/* Exported and never inlined or cloned (gcc's noipa; clang has no IPA
 * clones to fear): a uprobe on its entry sees every call. */
#ifdef __clang__
__attribute__((noinline))
#else
__attribute__((noinline, noipa))
#endif
int do_work(int x)
{
	body_runs++;
	return 2 * x;
}

static void say(const char *when, int r)
{
	printf("victim %d %s do_work(21) = %d body %d\n", (int)getpid(), when, r, body_runs);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int wait = 0, calls = 1, c, i;
	sigset_t set;

	while ((c = getopt(argc, argv, "wn:")) != -1) {
		if (c == 'w') {
			wait = 1;
		} else if (c == 'n') {
			calls = atoi(optarg);
		} else {
			fprintf(stderr, "usage: victim [-w] [-n CALLS]\n");
			return 2;
		}
	}
	say("before", do_work(21));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("victim %d ready\n", (int)getpid());
	fflush(stdout);
	if (wait) {
		int sig;

		sigwait(&set, &sig);
	}
	for (i = 0; i < calls; i++)
		say("after", do_work(21));
	return 0;
}
