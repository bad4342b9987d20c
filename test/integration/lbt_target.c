// SPDX-License-Identifier: MIT
// The workloads of the libbpf-tools compatibility suite (compat_libbpf_tools_test.sh): one
// process that prints "ready PID", blocks in sigwaitinfo() until SIGUSR1
// (so that the tool attaches to it first), does one known piece of work,
// prints "done" and exits.
//
//   lbt_target open FILE N      open FILE N times (O_RDONLY; prints the fd it
//                               got), and once a path that does not exist
//                               (ENOENT)
//   lbt_target syscalls N       getppid() 3N times, getuid() 2N times,
//                               getgid() N times, close(-1) N/2 times (EBADF)
//   lbt_target func N           lbt_work() N times (a function of ours, not
//                               inlined, for uprobes on this binary)
//   lbt_target resolve N        getaddrinfo("localhost") N times, then
//                               gethostbyname("localhost") and
//                               gethostbyname2("localhost", AF_INET) once
//   lbt_target kill N           kill(self, SIGURG) N times (ignored by
//                               default), kill(self, 0) once and one kill()
//                               of a pid that does not exist (ESRCH)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Not inlined and not folded: the uprobe's target, called N times.
__attribute__((noinline)) int lbt_work(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 2 + 1;
}

static void do_open(const char *file, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = open(file, O_RDONLY);
		if (fd < 0) {
			perror(file);
			exit(1);
		}
		if (i == 0)
			printf("fd %d\n", fd); /* opensnoop's FD column */
		close(fd);
	}
	if (open("/nonexistent/lbt-target", O_RDONLY) >= 0)
		exit(1);
}

static void do_syscalls(int n)
{
	for (int i = 0; i < 3 * n; i++)
		(void)getppid();
	for (int i = 0; i < 2 * n; i++)
		(void)getuid();
	for (int i = 0; i < n; i++)
		(void)getgid();
	for (int i = 0; i < n / 2; i++)
		(void)close(-1);
}

static int do_func(int n)
{
	int sum = 0;
	for (int i = 0; i < n; i++)
		sum += lbt_work(i);
	return sum;
}

static void do_resolve(int n)
{
	for (int i = 0; i < n; i++) {
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;
		int err = getaddrinfo("localhost", NULL, &hints, &res);
		if (err) {
			fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(err));
			exit(1);
		}
		freeaddrinfo(res);
	}
	if (!gethostbyname("localhost") || !gethostbyname2("localhost", AF_INET)) {
		fprintf(stderr, "gethostbyname: %s\n", hstrerror(h_errno));
		exit(1);
	}
}

static void do_kill(int n)
{
	pid_t self = getpid();
	for (int i = 0; i < n; i++)
		if (kill(self, SIGURG)) {
			perror("kill");
			exit(1);
		}
	if (kill(self, 0))
		exit(1);
	// pid_max is at most 2^22: this pid cannot exist
	if (kill(0x7ffffff0, SIGURG) == 0 || errno != ESRCH)
		exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lbt_target open FILE N | syscalls|func|resolve|kill N\n");
		return 2;
	}
	const char *mode = argv[1];
	int n = atoi(argv[argc - 1]);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	int sig = sigwaitinfo(&set, NULL);
	if (sig != SIGUSR1) {
		perror("sigwaitinfo");
		return 1;
	}
	if (!strcmp(mode, "open") && argc == 4)
		do_open(argv[2], n);
	else if (!strcmp(mode, "syscalls"))
		do_syscalls(n);
	else if (!strcmp(mode, "func"))
		printf("sum %d\n", do_func(n));
	else if (!strcmp(mode, "resolve"))
		do_resolve(n);
	else if (!strcmp(mode, "kill"))
		do_kill(n);
	else {
		fprintf(stderr, "lbt_target: unknown mode %s\n", mode);
		return 2;
	}
	printf("done\n");
	fflush(stdout);
	return 0;
}
