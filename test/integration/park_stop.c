// SPDX-License-Identifier: MIT
/*
 * park_stop TID RIP RSP: stop thread TID with ptrace (PTRACE_SEIZE +
 * PTRACE_INTERRUPT), set its %rip and %rsp, print "stopped", and detach
 * when a line arrives on stdin (the thread then runs on from RIP), print
 * "detached". The test's stand-in for a thread blocked outside a system
 * call at a chosen instruction (park_test.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct user_regs_struct regs;
	char line[16];
	pid_t tid;
	int status;

	if (argc != 4)
		return 2;
	tid = (pid_t)strtol(argv[1], NULL, 0);
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		fprintf(stderr, "park_stop: ptrace: %s\n", strerror(errno));
		return 1;
	}
	if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_GETREGS, tid, 0, &regs)) {
		fprintf(stderr, "park_stop: the thread did not stop: %s\n", strerror(errno));
		return 1;
	}
	regs.rip = strtoull(argv[2], NULL, 0);
	regs.rsp = strtoull(argv[3], NULL, 0);
	/* not in a system call any more: no restart to undo */
	regs.orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs)) {
		fprintf(stderr, "park_stop: PTRACE_SETREGS: %s\n", strerror(errno));
		return 1;
	}
	printf("stopped\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	if (ptrace(PTRACE_DETACH, tid, 0, 0)) {
		fprintf(stderr, "park_stop: PTRACE_DETACH: %s\n", strerror(errno));
		return 1;
	}
	printf("detached\n");
	return 0;
}
