// SPDX-License-Identifier: MIT
/*
 * The target of the agent tests, built dynamic, static and with musl:
 *
 *   agent_target hello         prints "hello <pid>" and exits 7
 *   agent_target tick N [nodump]
 *                              N times: nanosleep 200 ms, then prints
 *                              "tick <i> ok" when the sleep returned 0 after
 *                              at least 200 ms, "tick <i> BAD ..." otherwise
 *                              (a restart gone wrong shows as EINTR, a
 *                              strange errno or a short sleep); "nodump"
 *                              first makes the process non-dumpable
 *   agent_target exec PROG     prints its pid, then execs PROG hello
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int tick(int n)
{
	struct timespec req = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};

	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		int ret = nanosleep(&req, NULL);
		int err = errno;
		long long dt = now_ns() - t0;

		if (ret == 0 && dt >= 200 * 1000 * 1000LL)
			printf("tick %d ok\n", i);
		else
			printf("tick %d BAD ret %d errno %d (%s) slept %lld ns\n", i, ret, err,
			       strerror(err), dt);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "hello")) {
		printf("hello %d\n", (int)getpid());
		return 7;
	}
	if (argc >= 3 && !strcmp(argv[1], "tick")) {
		if (argc >= 4 && !strcmp(argv[3], "nodump"))
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		return tick(atoi(argv[2]));
	}
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		printf("exec %d\n", (int)getpid());
		fflush(stdout);
		execl(argv[2], argv[2], "hello", (char *)NULL);
		perror("execl");
		return 1;
	}
	fprintf(stderr, "usage: agent_target hello | tick N [nodump] | exec PROG\n");
	return 2;
}
