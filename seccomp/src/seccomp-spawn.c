// SPDX-License-Identifier: MIT
/*
 * Starting a program under the filter.
 *
 *   parent                               child (after fork)
 *   compile the filter (libseccomp)
 *   socketpair(SEQPACKET, CLOEXEC)
 *   block all signals, fork -----------> caught signals to SIG_DFL,
 *   restore our mask                     no_new_privs, seccomp(NEW_LISTENER)
 *   recvmsg  <------ listener (SCM_RIGHTS) or {stage, errno}
 *   SYNC_WAKE_UP on the listener
 *   "go" ------------------------------> read; empty the signal mask
 *                                        execvp
 *   recvmsg  <------ EOF (the socket is CLOEXEC: exec succeeded)
 *                    or {STAGE_EXEC, errno}
 *
 * As posix_spawn, an exec failure is the spawn's error, and the child is
 * reaped. The new program's first trapped call (ld.so's openat) cannot come
 * before the EOF: the kernel closes CLOEXEC fds inside execve.
 *
 * The child makes only async-signal-safe calls: the parent may have
 * threads. As with posix_spawn, a thread of ours that forks at the same
 * moment and does not exec keeps a copy of the socket and delays the EOF.
 * Between loading the filter and execve the child uses read, sendmsg,
 * close, rt_sigprocmask and exit_group, which therefore cannot be trapped
 * (nobody would answer them yet).
 *
 * If the parent dies before "go", the child reads EOF and exits without
 * running the program. No PR_SET_PDEATHSIG: when the supervisor dies later,
 * its listener closes and the kernel fails trapped calls with ENOSYS, so the
 * program sees errors, not a hang, and decides itself what to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "seccomp-internal.h"

enum child_stage {
	STAGE_LISTENER = 1, /* the message carries the listener */
	STAGE_NO_NEW_PRIVS,
	STAGE_FILTER,
	STAGE_EXEC,
};

/* child -> parent; one datagram of the SEQPACKET socket */
struct child_msg {
	int32_t stage;
	int32_t err;      /* errno of the failed stage */
	int32_t killable; /* STAGE_LISTENER: WAIT_KILLABLE_RECV was accepted */
};

/* The syscalls the child makes after loading the filter. */
static const int handover_syscalls[] = {
    SYS_read, SYS_sendmsg, SYS_close, SYS_rt_sigprocmask, SYS_execve, SYS_exit_group,
};

/* ---- child ---- */

static void child_send(int sock, const struct child_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static __attribute__((noreturn)) void child_fail(int sock, int stage, int err)
{
	struct child_msg m = {.stage = stage, .err = err};

	child_send(sock, &m, -1);
	_exit(127);
}

/* Load the filter with its listener; WAIT_KILLABLE_RECV when the kernel has
 * it (5.19; older kernels refuse the unknown flag with EINVAL). */
static int child_load(const struct sock_fprog *prog, int *killable)
{
	long fd;

	*killable = 1;
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		     prog);
	if (fd < 0 && errno == EINVAL) {
		*killable = 0;
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			     prog);
	}
	return (int)fd;
}

/* Signals are blocked from before fork until exec (start_child). A handler
 * of the parent must not run in the child meanwhile, so caught signals go
 * back to their default action, as posix_spawn does (POSIX_SPAWN_SETSIGDEF
 * for every caught signal); ignored ones stay ignored across exec. */
static void child_reset_handlers(void)
{
	struct sigaction sa;

	for (int sig = 1; sig < NSIG; sig++) {
		/* glibc's internal signals and SIGKILL/SIGSTOP fail: skipped */
		if (sigaction(sig, NULL, &sa) || sa.sa_handler == SIG_IGN ||
		    sa.sa_handler == SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
}

static __attribute__((noreturn)) void child_main(int sock, char *const argv[],
						 const struct sock_fprog *prog)
{
	struct child_msg m = {.stage = STAGE_LISTENER};
	sigset_t none;
	ssize_t n;
	int fd;
	char go;

	child_reset_handlers();
	/* seccomp(2): without CAP_SYS_ADMIN a filter needs no_new_privs */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail(sock, STAGE_NO_NEW_PRIVS, errno);
	fd = child_load(prog, &m.killable);
	if (fd < 0)
		child_fail(sock, STAGE_FILTER, errno);
	child_send(sock, &m, fd);
	close(fd);
	do
		n = read(sock, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); /* the parent gave up or died */
	/* the program starts with no signal blocked, as after posix_spawn with
	 * POSIX_SPAWN_SETSIGMASK and an empty set; what arrived meanwhile is
	 * delivered after exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	child_fail(sock, STAGE_EXEC, errno);
}

/* ---- parent ---- */

/* One message from the child: 0 bytes at EOF, else sizeof(*m); the
 * listener, when one came, in *@fd. */
static ssize_t parent_recv(int sock, struct child_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	/* a datagram is whole or absent (SEQPACKET) */
	if (n != 0 && n != (ssize_t)sizeof(*m))
		return -EPROTO;
	return n;
}

static int stage_error(const struct child_msg *m, const char *prog)
{
	int err = m->err > 0 ? -m->err : -EPROTO;

	switch (m->stage) {
	case STAGE_NO_NEW_PRIVS:
		return sec_err(err, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(-err));
	case STAGE_FILTER:
		if (err == -EBUSY)
			return sec_err(err,
				       "cannot install the filter: %s (a seccomp listener "
				       "is already installed: is this already running under "
				       "bpftime or another supervisor?)",
				       strerror(-err));
		return sec_err(err,
			       "cannot install the filter: %s (the kernel needs "
			       "CONFIG_SECCOMP_FILTER and user notification, Linux 5.0 or later)",
			       strerror(-err));
	case STAGE_EXEC:
		return sec_err(err, "cannot run '%s': %s", prog, strerror(-err));
	default:
		return sec_err(-EPROTO, "unexpected message from the child (stage %d)", m->stage);
	}
}

/* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6): the round trip of a trapped call
 * costs ~13 us here with it, 12-27 us without (shared/notes/feasibility.md).
 * Older kernels answer the unknown ioctl with EINVAL. */
static void set_sync_wakeup(int listener)
{
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) &&
	    errno != EINVAL)
		sec_log(BPFTIME_SECCOMP_INFO, "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: %s",
			strerror(errno));
}

static int parent_listener(int sock, const char *prog, int *listener)
{
	struct child_msg m;
	int fd = -1;
	ssize_t n;

	n = parent_recv(sock, &m, &fd);
	if (n > 0 && m.stage == STAGE_LISTENER && fd >= 0) {
		if (!m.killable)
			sec_log(BPFTIME_SECCOMP_INFO,
				"no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
				"(Linux 5.19): signals may restart trapped calls");
		*listener = fd;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return sec_err((int)n, "no word from the child: %s", strerror((int)-n));
	if (n == 0)
		return sec_err(-ECHILD, "the child exited before installing the filter");
	/* the kernel drops a passed fd we have no room for (MSG_CTRUNC) */
	if (m.stage == STAGE_LISTENER)
		return sec_err(-EMFILE, "cannot receive the listener: %s", strerror(EMFILE));
	return stage_error(&m, prog);
}

/* Let the child exec and wait for the outcome. */
static int parent_go(int sock, const char *prog)
{
	struct child_msg m;
	int fd = -1;
	ssize_t n;

	if (send(sock, "g", 1, MSG_NOSIGNAL) != 1)
		return sec_err(-errno, "cannot reach the child: %s", strerror(errno));
	n = parent_recv(sock, &m, &fd);
	if (fd >= 0)
		close(fd);
	if (n == 0)
		return 0;
	if (n < 0)
		return sec_err((int)n, "no word from the child: %s", strerror((int)-n));
	return stage_error(&m, prog);
}

static int handshake(int sock, const char *prog, int *listener)
{
	int err;

	err = parent_listener(sock, prog, listener);
	if (err)
		return err;
	set_sync_wakeup(*listener);
	err = parent_go(sock, prog);
	if (err) {
		close(*listener);
		*listener = -1;
	}
	return err;
}

static void reap(pid_t pid)
{
	/* harmless when it has already exited: it is a zombie until reaped */
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int opts_check(const struct bpftime_seccomp_spawn_opts *o)
{
	size_t known =
	    offsetof(struct bpftime_seccomp_spawn_opts, bpftime_seccomp_spawn_opts__last_field) +
	    sizeof(o->bpftime_seccomp_spawn_opts__last_field);
	const int *nr;

	if (!o)
		return 0;
	if (o->sz < known)
		return -EINVAL;
	for (size_t i = known; i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return -E2BIG;
	for (nr = o->syscalls; nr && *nr != -1; nr++) {
		/* the x86-64 table is below 1024; other negatives are typos */
		if (*nr < 0 || *nr >= 1024)
			return sec_err(-EINVAL, "cannot trap syscall %d", *nr);
		for (size_t i = 0; i < sizeof(handover_syscalls) / sizeof(int); i++)
			if (*nr == handover_syscalls[i])
				return sec_err(-EINVAL,
					       "cannot trap syscall %d: the child "
					       "needs it before exec",
					       *nr);
	}
	return 0;
}

static int start_child(char *const argv[], const struct sock_fprog *prog, pid_t *pid, int *listener)
{
	sigset_t all, old;
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return sec_err(-errno, "socketpair: %s", strerror(errno));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pid = fork();
	err = *pid < 0 ? -errno : 0;
	if (*pid != 0)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (*pid < 0) {
		sec_log(BPFTIME_SECCOMP_WARN, "fork: %s", strerror(-err));
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (*pid == 0) {
		/* without this the child would never see EOF if we died */
		close(sv[0]);
		child_main(sv[1], argv, prog);
	}
	close(sv[1]);
	err = handshake(sv[0], argv[0], listener);
	close(sv[0]);
	if (err) {
		reap(*pid);
		*pid = -1;
	}
	return err;
}

int bpftime_seccomp__spawn(char *const argv[], const struct bpftime_seccomp_spawn_opts *opts,
			   pid_t *pid, int *listener)
{
	struct sock_fprog prog = {0};
	int err;

	if (!argv || !argv[0] || !pid || !listener)
		return -EINVAL;
	*pid = -1;
	*listener = -1;
	err = opts_check(opts);
	if (err)
		return err;
	err = sec_filter_build(opts ? opts->syscalls : NULL, &prog);
	if (err)
		return err;
	err = start_child(argv, &prog, pid, listener);
	free(prog.filter);
	return err;
}
