// SPDX-License-Identifier: MIT
/*
 * Target of forked_test.sh: a parent that forks CHILDREN workers at start,
 * before any tool exists (a prefork server), then waits. On SIGUSR1 (sent
 * to the process group) each of them calls work() CALLS times and prints
 * "called PID CALLS".
 *
 *   forked_target [late]
 *
 * late: print "up PID" and fork only at SIGUSR2 (the agent is attached to
 * the running parent in between).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define CHILDREN 2
#define CALLS    100

static volatile int sink;

__attribute__((noinline)) void work(int i)
{
	sink += i;
	__asm__ volatile("" ::: "memory");
}

static void serve(sigset_t *set)
{
	int sig;

	while (!sigwait(set, &sig) && sig == SIGUSR1) {
		for (int i = 0; i < CALLS; i++)
			work(i);
		printf("called %d %d\n", (int)getpid(), CALLS);
	}
}

int main(int argc, char **argv)
{
	pid_t kids[CHILDREN];
	sigset_t set, late;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (argc > 1 && !strcmp(argv[1], "late")) {
		sigemptyset(&late);
		sigaddset(&late, SIGUSR2);
		sigprocmask(SIG_BLOCK, &late, NULL);
		printf("up %d\n", (int)getpid());
		if (sigwait(&late, &sig))
			return 1;
	}
	for (int i = 0; i < CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			return 1;
		if (!kids[i]) {
			serve(&set);
			_exit(0);
		}
	}
	printf("ready %d %d %d\n", (int)getpid(), (int)kids[0], (int)kids[1]);
	serve(&set);
	for (int i = 0; i < CHILDREN; i++) {
		kill(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
}
