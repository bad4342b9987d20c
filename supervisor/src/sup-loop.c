// SPDX-License-Identifier: MIT
/*
 * The supervisor's one loop. poll() on:
 *
 *   the listeners    a trapped call of TOOL (or of a tool that joined the
 *                    session) or of their children: answer it
 *   the signalfd     SIGINT/TERM/HUP/QUIT for us: forward to TOOL
 *   TOOL's pidfd     TOOL exited: reap it
 *   the control fd   `bpftime status` asks what the session holds, or a
 *                    second `bpftime run --session NAME` hands over its
 *                    tool's listener
 *
 * TOOL's own listener goes with TOOL, as a shell's job does: processes TOOL
 * leaves behind keep running, and their trapped calls fail with ENOSYS once
 * the listener is closed (the kernel's answer when no supervisor is left).
 * Serving until the last holder of the filter exits would make
 * `bpftime run -- sh -c 'daemon &'` wait for the daemon. Tools that joined
 * the session are another matter: they use the objects this supervisor
 * holds, so it stays until they are gone (their listener reports POLLHUP
 * once nothing holds their filter), then exits with TOOL's status. A
 * signal for us in that time ends the session at once: the joined tools'
 * calls fail with ENOSYS from then on.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

enum { P_SIGNALS, P_TOOL, P_CONTROL, P_EMUL, P_SRV };
#define NR_SRV (1 + SUP_JOIN_MAX)

void sup_cmdline(char *const argv[], char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (char *const *a = argv; *a && used + 1 < len; a++) {
		int n = snprintf(out + used, len - used, "%s%s", a == argv ? "" : " ", *a);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int pidfd_open_tool(pid_t pid)
{
	/* Linux 5.3; without it, the loop polls TOOL with waitpid(WNOHANG) */
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -1 : fd;
}

static void server_free(struct sup_loop *l, size_t i)
{
	struct sup_server *srv = &l->srv[i];

	if (!srv->sec)
		return;
	bpftime_seccomp__free(srv->sec);
	srv->sec = NULL;
	if (l->emul)
		bpftime_emul__caller_gone(l->emul, srv->pid);
	if (i > 0) {
		sup_log(SUP_LOG_INFO, "session %s: joined tool %d (%s) is gone", l->session->name,
			(int)srv->pid, srv->cmd);
		srv->pid = 0;
	}
}

void sup_loop_release(struct sup_loop *l)
{
	for (size_t i = 0; i < NR_SRV; i++)
		server_free(l, i);
}

static void serve_one(struct sup_loop *l, size_t i)
{
	int err = bpftime_seccomp__handle_one(l->srv[i].sec);

	if (err >= 0)
		return;
	sup_log(SUP_LOG_ERROR,
		"the seccomp listener of %s failed (%s): its bpf() calls fail with ENOSYS "
		"from now on",
		l->srv[i].cmd, strerror(-err));
	server_free(l, i);
}

static void attach_joined(struct sup_loop *l, struct sup_join *join)
{
	struct sup_server *srv = NULL;

	for (size_t i = 1; i < NR_SRV && !srv; i++) {
		if (!l->srv[i].sec && !l->srv[i].pid)
			srv = &l->srv[i];
	}
	if (!srv) {
		sup_log(SUP_LOG_WARN, "session %s: more than %d joined tools: refused %s",
			l->session->name, SUP_JOIN_MAX, join->cmd);
		sup_control_join_reply(join, -EUSERS);
		return;
	}
	srv->ctx = l->srv[0].ctx;
	srv->ctx.emul = l->emul;
	srv->ctx.fake_root = join->fake_root;
	srv->sec = bpftime_seccomp__new(join->listener, sup_handle, &srv->ctx);
	join->listener = -1; /* taken over, also on failure */
	if (!srv->sec) {
		sup_control_join_reply(join, -errno);
		return;
	}
	sup_run_agent_exempt(srv); /* as for our TOOL (run --agent) */
	srv->pid = join->pid;
	snprintf(srv->cmd, sizeof(srv->cmd), "%s", join->cmd);
	sup_log(SUP_LOG_INFO, "session %s: %s (pid %d) joined", l->session->name, srv->cmd,
		(int)srv->pid);
	sup_control_join_reply(join, 0);
}

/* Reaps TOOL; @wait_flags 0 or WNOHANG. 1 when it was reaped. */
static int reap(struct sup_loop *l, int *wstatus, int wait_flags)
{
	pid_t r;

	do
		r = waitpid(l->tool, wstatus, wait_flags);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == l->tool;
}

/* TOOL is gone: does anything it started still hold its filter? */
static void end_tool(struct sup_loop *l)
{
	struct pollfd p = {.fd = l->srv[0].sec ? bpftime_seccomp__fd(l->srv[0].sec) : -1,
			   .events = POLLIN};

	if (p.fd >= 0 && poll(&p, 1, 0) == 0)
		sup_log(SUP_LOG_INFO, "TOOL exited; processes it started still run and from now "
				      "on get ENOSYS from bpf()");
	server_free(l, 0);
}

static size_t nr_joined(const struct sup_loop *l)
{
	size_t n = 0;

	for (size_t i = 1; i < NR_SRV; i++)
		n += l->srv[i].sec != NULL;
	return n;
}

static void fill(const struct sup_loop *l, struct pollfd *p, int pidfd)
{
	p[P_SIGNALS] = (struct pollfd){.fd = l->sigfd, .events = POLLIN};
	p[P_TOOL] = (struct pollfd){.fd = pidfd, .events = POLLIN};
	p[P_CONTROL] = (struct pollfd){.fd = l->ctlfd, .events = POLLIN};
	/* callers released object files: objects whose last reference went */
	p[P_EMUL] =
	    (struct pollfd){.fd = l->emul ? bpftime_emul__event_fd(l->emul) : -1, .events = POLLIN};
	for (size_t i = 0; i < NR_SRV; i++) {
		p[P_SRV + i].fd = l->srv[i].sec ? bpftime_seccomp__fd(l->srv[i].sec) : -1;
		p[P_SRV + i].events = POLLIN;
		p[P_SRV + i].revents = 0;
	}
}

static void dispatch(struct sup_loop *l, struct pollfd *p)
{
	struct sup_join join;

	for (size_t i = 0; i < NR_SRV; i++) {
		if (p[P_SRV + i].revents & POLLIN)
			serve_one(l, i);
		else if (p[P_SRV + i].revents & (POLLHUP | POLLERR | POLLNVAL))
			server_free(l, i); /* nothing holds that filter any more */
	}
	if ((p[P_SIGNALS].revents & POLLIN) &&
	    sup_signals_forward(l->sigfd, l->tool, l->srv[0].sec, l->joined ? l->session : NULL) &&
	    !l->tool && nr_joined(l)) {
		sup_log(SUP_LOG_WARN,
			"session %s ends now: the tools that joined it get ENOSYS "
			"from bpf() from now on",
			l->session->name);
		sup_loop_release(l);
	}
	if ((p[P_EMUL].revents & POLLIN) && l->emul)
		bpftime_emul__process_events(l->emul);
	if ((p[P_CONTROL].revents & POLLIN) && sup_control_answer(l->ctlfd, l, &join) > 0)
		attach_joined(l, &join);
}

/* TOOL exited (pidfd readable, or polled without one): reap it. 1 when it
 * was reaped, 0 when not yet, -errno. */
static int tool_exited(struct sup_loop *l, int *wstatus, bool have_pidfd)
{
	int err = reap(l, wstatus, have_pidfd ? 0 : WNOHANG);

	if (err <= 0)
		return err;
	end_tool(l);
	l->tool = 0;
	if (nr_joined(l))
		sup_log(SUP_LOG_INFO,
			"TOOL exited; session %s stays until the %zu tools that "
			"joined it exit",
			l->session->name, nr_joined(l));
	return 1;
}

int sup_loop_run(struct sup_loop *l, int *wstatus)
{
	cleanup_close int pidfd = pidfd_open_tool(l->tool);
	struct pollfd p[P_SRV + NR_SRV];
	int err;

	for (;;) {
		fill(l, p, l->tool ? pidfd : -1);
		if (poll(p, P_SRV + NR_SRV, pidfd < 0 && l->tool ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		dispatch(l, p);
		if (l->tool && (pidfd < 0 || (p[P_TOOL].revents & POLLIN))) {
			err = tool_exited(l, wstatus, pidfd >= 0);
			if (err < 0)
				return err;
		}
		if (!l->tool && !nr_joined(l))
			return 0;
	}
}
