// SPDX-License-Identifier: MIT
/*
 * The workload of bt_tools_test.sh: after SIGUSR1 (once the tool traces
 * it), one known round of each syscall family that bpftrace's bundled
 * user-space tools trace, then "done". Paths live under DIR, so that the
 * tools' lines for this process are told from its start-up's.
 *
 *   bt_tools_target DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* syncsnoop's last two: msync of an anonymous mapping (nothing to write
 * back: 0) and sync, after the fd ones (files) */
static void syncs(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m != MAP_FAILED) {
		msync(m, 4096, MS_SYNC);
		munmap(m, 4096);
	}
	sync();
}

static void files(const char *dir)
{
	char path[512], missing[512];
	struct stat st;
	struct statfs sfs;
	int fd;

	snprintf(path, sizeof(path), "%s/present", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600); /* opensnoop */
	if (open(missing, O_RDONLY | O_CLOEXEC) >= 0)
		return;
	stat(path, &st); /* statsnoop */
	stat(missing, &st);
	statfs(path, &sfs);
	if (fd >= 0) {
		fsync(fd); /* syncsnoop: each of its probes once */
		fdatasync(fd);
		syncfs(fd);
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		close(fd);
	}
	syncs();
}

static void others(void)
{
	struct timespec ts = {0, 2000000};
	struct addrinfo *ai = NULL;

	kill(getpid(), SIGURG); /* killsnoop: ignored by default */
	kill(999999, 0);        /* -ESRCH */
	setuid(getuid());       /* setuids */
	/* naptime: nanosleep itself (glibc's nanosleep() is clock_nanosleep) */
	syscall(SYS_nanosleep, &ts, NULL);
	if (!getaddrinfo("localhost", NULL, NULL, &ai)) /* gethostlatency */
		freeaddrinfo(ai);
}

int main(int argc, char **argv)
{
	sigset_t usr1, old;

	if (argc != 2)
		return 2;
	/* the fd numbers opensnoop prints must not depend on what the test
	 * runner left open */
	syscall(SYS_close_range, 3, ~0u, 0);
	/* blocked until sigsuspend, so that no SIGUSR1 is lost in between */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!go)
		sigsuspend(&old);
	files(argv[1]);
	others();
	printf("done\n");
	fflush(stdout);
	return 0;
}
