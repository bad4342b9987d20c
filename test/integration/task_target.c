// SPDX-License-Identifier: MIT
// The workload of task_test.sh (execsnoop and mountsnoop, which read the
// task struct): prints "ready PID COMM MNTNS", waits for SIGUSR1 (so that
// the tool attaches first), does one known thing, prints "done" and exits.
//
//   task_target exec PROG ARG...   a fork child execs /nonexistent-bpftime
//                                  (ENOENT), then PROG ARG...; its parent,
//                                  this process, waits for it ("child PID")
//   task_target vexec PROG ARG...  the same from a vfork child (which runs
//                                  on this thread's TCB), after this
//                                  thread's own failed execve of
//                                  /nonexistent-bpftime-parent
//   task_target mount DIR          mount("bpftime-src", DIR, "tmpfs",
//                                  MS_NOSUID, "size=1m"), then umount(DIR)
//                                  (root: prints each result)
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void wait_go(void)
{
	sigset_t s;
	char comm[16] = "";
	struct stat st;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	prctl(PR_GET_NAME, comm);
	if (stat("/proc/self/ns/mnt", &st))
		st.st_ino = 0;
	printf("ready %d %s %lu\n", getpid(), comm, (unsigned long)st.st_ino);
	fflush(stdout);
	while (sigwaitinfo(&s, NULL) < 0 && errno == EINTR)
		;
}

static int do_exec(char **argv, bool use_vfork)
{
	/* on the stack, so that its pages are present in the child: the
	 * kernel's probe_read_user_str() does not fault a page in (a .rodata
	 * page of a fork child often is not), ours does */
	char path[] = "/nonexistent-bpftime", arg[] = "x";
	char ppath[] = "/nonexistent-bpftime-parent";
	char *none[] = {path, arg, NULL}, *pnone[] = {ppath, NULL};
	int status;
	pid_t c;

	/* vexec: this thread execs first (and fails), so that an agent
	 * caching this thread's ids has them when the vfork child, on the
	 * same TCB, execs */
	if (use_vfork)
		execv(ppath, pnone);
	c = use_vfork ? vfork() : fork();

	if (c < 0)
		return 1;
	if (!c) {
		execv(none[0], none);
		execv(argv[0], argv);
		_exit(127);
	}
	printf("child %d\n", c);
	if (waitpid(c, &status, 0) != c)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int do_mount(const char *dir)
{
	int m = mount("bpftime-src", dir, "tmpfs", MS_NOSUID, "size=1m");

	printf("mount %d %d\n", m, m ? errno : 0);
	if (!m) {
		int u = umount(dir);

		printf("umount %d %d\n", u, u ? errno : 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 3 ||
	    (strcmp(argv[1], "exec") && strcmp(argv[1], "vexec") && strcmp(argv[1], "mount"))) {
		fprintf(stderr, "usage: task_target exec|vexec PROG ARG... | mount DIR\n");
		return 2;
	}
	wait_go();
	if (!strcmp(argv[1], "mount"))
		rc = do_mount(argv[2]);
	else
		rc = do_exec(argv + 2, !strcmp(argv[1], "vexec"));
	printf("done %d\n", rc);
	fflush(stdout);
	return 0;
}
