// SPDX-License-Identifier: MIT
/*
 * Target of vfork_test.sh: on SIGUSR1 it calls work() PARENT_CALLS times,
 * then vfork()s a child that calls work() CHILD_CALLS times and _exits
 * (the child runs on the parent's stack and TCB until then), and prints
 * "child PID" and "done".
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#define PARENT_CALLS 10
#define CHILD_CALLS  7

static volatile int sink;

__attribute__((noinline)) void work(int i)
{
	sink += i;
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	sigset_t set;
	pid_t kid;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	if (sigwait(&set, &sig))
		return 1;
	for (int i = 0; i < PARENT_CALLS; i++)
		work(i);
	kid = vfork();
	if (kid < 0)
		return 1;
	if (!kid) {
		for (int i = 0; i < CHILD_CALLS; i++)
			work(i);
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	printf("child %d\n", (int)kid);
	printf("done\n");
	return 0;
}
