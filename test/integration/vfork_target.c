// SPDX-License-Identifier: MIT
/*
 * Target of vfork_test.sh: on SIGUSR1 it calls work() PARENT_CALLS times,
 * then vfork()s a child that calls work() CHILD_CALLS times and _exits
 * (the child runs on the parent's stack and TCB until then), prints
 * "child PID"; then posix_spawn()s /bin/true (glibc's child: clone with
 * CLONE_VM | CLONE_VFORK, on the parent's TCB until its execve), prints
 * "spawned PID" and "done".
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

#define PARENT_CALLS 10
#define CHILD_CALLS  7

static volatile int sink;

__attribute__((noinline)) void work(int i)
{
	sink += i;
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	sigset_t set;
	pid_t kid;
	int sig;

	(void)argc;
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
	if (posix_spawn(&kid, "/bin/true", NULL, NULL, argv, environ))
		return 1;
	waitpid(kid, NULL, 0);
	printf("spawned %d\n", (int)kid);
	printf("done\n");
	return 0;
}
