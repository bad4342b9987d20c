// SPDX-License-Identifier: MIT
/*
 * The workload of compat_bpftrace_test.sh: prints "ready PID", then on
 * SIGUSR1 calls compat_fn(i) for i = 0..19 (it returns 2 * i) from
 * compat_outer() (for stacks), opens FILE 3 times and reads 5 bytes from
 * it each time, and prints "done". Built with frame pointers: bpftrace's
 * ustack and the kernel's unwinder follow them.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) long compat_fn(long i)
{
	__asm__ volatile("" : "+r"(i));
	return 2 * i;
}

__attribute__((noinline)) long compat_outer(long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += compat_fn(i);
	__asm__ volatile("" : "+r"(sum));
	return sum;
}

int main(int argc, char **argv)
{
	sigset_t set;
	char buf[8];
	int sig;

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	sigwait(&set, &sig);
	compat_outer(20);
	for (int i = 0; i < 3; i++) {
		int fd = open(argv[1], O_RDONLY);

		if (fd < 0 || read(fd, buf, 5) != 5)
			return 1;
		close(fd);
	}
	printf("done\n");
	sigwait(&set, &sig); /* the tool reads its maps meanwhile */
	return 0;
}
