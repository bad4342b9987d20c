// SPDX-License-Identifier: MIT
/*
 * Target of dlopen_test.sh: loads and unloads a library whose function a
 * uprobe probes, one step per SIGUSR1:
 *   odd steps   dlopen(LIB), "loaded <round> <address of dl_fn>"
 *   even steps  CALLS calls of dl_fn, dlclose, "called <round>"
 * It prints "ready PID" first; each round's library is a new mapping of
 * the same file (dlclose unmapped the last one).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define CALLS 50

int main(int argc, char **argv)
{
	void *lib = NULL;
	int (*fn)(int) = NULL;
	sigset_t set;
	int sig, sum = 0;

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	for (int step = 1;; step++) {
		if (sigwait(&set, &sig) || sig == SIGTERM)
			break;
		if (step % 2) {
			lib = dlopen(argv[1], RTLD_NOW);
			fn = lib ? (int (*)(int))dlsym(lib, "dl_fn") : NULL;
			if (!fn) {
				printf("dlopen: %s\n", dlerror());
				return 1;
			}
			printf("loaded %d %p\n", (step + 1) / 2, (void *)fn);
			continue;
		}
		for (int i = 0; i < CALLS; i++)
			sum += fn(i);
		dlclose(lib);
		printf("called %d\n", step / 2);
	}
	return sum == 0;
}
