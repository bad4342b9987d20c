// SPDX-License-Identifier: MIT
/*
 * The target of syscall_sites_test.sh: prints "target <pid> ready", then
 * on each SIGUSR1 the first byte of glibc's getppid() and getuid() (each
 * `mov $nr,%eax; syscall; ret`: b8 as built, e9 while the agent's jmp is
 * there), calling both once too:
 *
 *   bytes getppid <hex> getuid <hex>
 *
 * It exits 0 on SIGTERM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	const unsigned char *ppid = dlsym(RTLD_DEFAULT, "getppid");
	const unsigned char *uid = dlsym(RTLD_DEFAULT, "getuid");
	sigset_t set;
	int sig;

	if (!ppid || !uid) {
		fprintf(stderr, "target: no getppid or getuid: %s\n", dlerror());
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("target %d ready\n", (int)getpid());
	fflush(stdout);
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		getppid();
		getuid();
		printf("bytes getppid %02x getuid %02x\n", ppid[0], uid[0]);
		fflush(stdout);
	}
	return 0;
}
