// SPDX-License-Identifier: MIT
/*
 * victim: a workload for malloc-counter that knows how many times it
 * called malloc().
 *
 *   victim [-t THREADS] [-n CALLS] [-w]
 *
 * Starts THREADS threads (default 4), prints "victim <pid> ready" and, with
 * -w, waits for SIGUSR1 (so that a tracer can attach first); then every
 * thread calls malloc() CALLS times (default 100000) and frees each block,
 * and the process prints "victim <pid> mallocs <THREADS * CALLS>" and
 * exits 0.
 *
 * Between "ready" and the last line, the process calls malloc() exactly
 * THREADS * CALLS times: the threads exist before the signal, output goes
 * through write(2) from a stack buffer (stdio would malloc its buffer),
 * and the blocks are freed without further mallocs. A counter attached
 * before the signal must count exactly that many for this pid.
 *
 * Built dynamic (glibc), static (glibc) and static with musl.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long calls = 100000;

static void say(const char *what, unsigned long v)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "victim %d %s %lu\n", (int)getpid(), what, v);

	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(3);
}

static pthread_barrier_t start;

static void *work(void *arg)
{
	/* volatile: the compiler must not pair and drop malloc/free */
	void *volatile p;

	(void)arg;
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < calls; i++) {
		p = malloc(16 + (i & 63));
		if (!p)
			_exit(4);
		free(p);
	}
	return NULL;
}

static unsigned long parse(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end) {
		fprintf(stderr, "victim: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long nthreads = 4;
	pthread_t tids[64];
	int wait = 0, opt;

	while ((opt = getopt(argc, argv, "t:n:w")) != -1) {
		if (opt == 't')
			nthreads = parse(optarg);
		else if (opt == 'n')
			calls = parse(optarg);
		else if (opt == 'w')
			wait = 1;
		else {
			fprintf(stderr, "usage: victim [-t THREADS] [-n CALLS] [-w]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "victim: 1 to 64 threads\n");
		return 2;
	}
	/* the main thread joins the barrier too: nobody starts before it */
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (unsigned long i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, work, NULL)) {
			fprintf(stderr, "victim: pthread_create failed\n");
			return 1;
		}
	if (wait) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		say("ready", nthreads);
		sigwait(&set, &sig);
	} else {
		say("ready", nthreads);
	}
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	say("mallocs", nthreads * calls);
	return 0;
}
