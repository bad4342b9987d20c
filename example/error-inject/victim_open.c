// SPDX-License-Identifier: MIT
/*
 * victim-open: opens files, for error-inject-sys (a kprobe on openat's
 * wrapper that makes the openat of one path fail).
 *
 *   victim-open [-w] [-s] [-n CALLS] TARGET OTHER
 *
 * Prints "victim-open <pid> ready" and, with -w, waits for SIGUSR1 (so that
 * error-inject-sys can attach first); then CALLS times (default 1):
 *   victim-open <pid> target <r> errno <e> exists <0|1>
 *   victim-open <pid> other <r> errno <e>
 * where the first is open(TARGET, O_WRONLY | O_CREAT, 0600) (<r> 0 when it
 * gave an fd, else -1 with errno <e>; exists: whether TARGET exists after
 * it, so an injected failure shows the file was not created) and the
 * second open(OTHER, O_RDONLY). With -s, TARGET is also opened through
 * syscall(SYS_openat, ...) after open() (libc's syscall(): another kind
 * of syscall site than open()'s), printed as "target-raw". TARGET is
 * removed after each call. Exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

static void open_one(const char *what, const char *path, int flags, int check)
{
	int fd = check > 1 ? (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0600)
			   : open(path, flags, 0600);
	int e = fd < 0 ? errno : 0;

	printf("victim-open %d %s %d errno %d", (int)getpid(), what, fd < 0 ? -1 : 0, e);
	if (check)
		printf(" exists %d", access(path, F_OK) == 0);
	printf("\n");
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	int wait = 0, raw = 0, calls = 1, c;
	sigset_t set;

	while ((c = getopt(argc, argv, "wsn:")) != -1) {
		if (c == 'w') {
			wait = 1;
		} else if (c == 's') {
			raw = 1;
		} else if (c == 'n') {
			calls = atoi(optarg);
		} else {
			fprintf(stderr, "usage: victim-open [-w] [-s] [-n CALLS] TARGET OTHER\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: victim-open [-w] [-s] [-n CALLS] TARGET OTHER\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("victim-open %d ready\n", (int)getpid());
	fflush(stdout);
	if (wait) {
		int sig;

		sigwait(&set, &sig);
	}
	for (int i = 0; i < calls; i++) {
		open_one("target", argv[optind], O_WRONLY | O_CREAT | O_CLOEXEC, 1);
		unlink(argv[optind]);
		if (raw) {
			open_one("target-raw", argv[optind], O_WRONLY | O_CREAT | O_CLOEXEC, 2);
			unlink(argv[optind]);
		}
		open_one("other", argv[optind + 1], O_RDONLY | O_CLOEXEC, 0);
	}
	return 0;
}
