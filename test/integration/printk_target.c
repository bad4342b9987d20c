// SPDX-License-Identifier: MIT
/* The target of printk_test.sh: prints "ready PID", waits for SIGUSR1,
 * calls say(1) .. say(N), prints "done". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int sink;

/* long enough to be patched, as real functions are */
__attribute__((noinline)) int say(int n)
{
	for (int i = 0; i < n; i++)
		sink += i;
	return sink + n;
}

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, sum = 0;

	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!go)
		usleep(10000);
	for (int i = 1; i <= n; i++)
		sum += say(i);
	printf("done %d\n", sum);
	return 0;
}
