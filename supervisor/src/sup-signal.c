// SPDX-License-Identifier: MIT
/*
 * Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the supervisor are
 * forwarded to TOOL, and the supervisor itself never dies of them: it stays
 * until TOOL has exited and then exits with TOOL's status. They are blocked
 * and read from a signalfd in the poll loop (bpftime_seccomp__spawn empties
 * the child's mask, so TOOL starts with them unblocked and with the
 * dispositions we inherited).
 *
 * A signal we inherited as ignored (`nohup`, or `cmd &` in a shell without
 * job control, which ignores SIGINT and SIGQUIT) is forwarded all the same:
 * TOOL inherits the ignored disposition from us, so it ignores the signal
 * unless it installed a handler of its own, exactly as without bpftime in
 * between. A blocked signal is queued even when ignored (sig_ignored():
 * "Blocked signals are never ignored"), so the signalfd sees it.
 *
 * Ctrl-C in a terminal signals the whole foreground process group, TOOL
 * included; forwarding it again would deliver it twice (a tool whose first
 * SIGINT starts a clean-up may die of the second). The terminal's signals
 * come with si_code SI_KERNEL (n_tty's isig() -> kill_pgrp(..., priv=1)),
 * a kill(2) with SI_USER: a SI_KERNEL signal is not forwarded when TOOL is
 * in our process group.
 *
 * A forwarded signal must not fail with EINTR a call TOOL is making, where
 * the kernel's own call would not fail: the kernel's wait for us is
 * interruptible until we receive the call, and a bpftrace whose open() in
 * a symbol lookup or in its clean-up failed so printed errors (and bcc then
 * closed a stale fd number). bpftime_seccomp__kill receives the calls
 * queued on TOOL's listener before it signals; a TOOL that joined another
 * session is served by that session's supervisor, which sends the signal
 * for us (sup_control_signal). The terminal's own SIGINT
 * reaches TOOL directly and can still land in that window.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

int sup_signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	/* single-threaded: sigprocmask is the process's mask */
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int sup_signals_forward(int sigfd, pid_t tool, struct bpftime_seccomp *sec,
			const struct sup_session *owner)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sigfd, &si, sizeof(si));
	int sig, err;

	if (n != (ssize_t)sizeof(si))
		return 0;
	sig = (int)si.ssi_signo;
	if (tool <= 0)
		return sig; /* reaped: its pid may be someone else's now */
	if (si.ssi_code == SI_KERNEL && getpgid(tool) == getpgrp()) {
		sup_log(SUP_LOG_DEBUG, "%s from the terminal: TOOL (pid %d) has it too",
			strsignal(sig), (int)tool);
		return sig;
	}
	sup_log(SUP_LOG_DEBUG, "forwarding %s from pid %u to TOOL (pid %d)", strsignal(sig),
		si.ssi_pid, (int)tool);
	if (!sec && owner && !sup_control_signal(owner, tool, sig))
		return sig;
	err = bpftime_seccomp__kill(sec, tool, sig);
	if (err && err != -ESRCH)
		sup_log(SUP_LOG_WARN, "cannot forward %s to pid %d: %s", strsignal(sig), (int)tool,
			strerror(-err));
	return sig;
}

int sup_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return SUP_EXIT_FAILURE;
}
