// SPDX-License-Identifier: MIT
/*
 * `bpftime run [OPTIONS] -- TOOL [ARGS...]`:
 *
 *   1. check that seccomp user notification is usable (one clear line if not)
 *   2. claim the session directory (create it, lock it); when a running
 *      supervisor holds the named session, join it instead (below)
 *   3. block the forwarded signals, open the control socket
 *   4. create the emulator over the session directory
 *   5. spawn TOOL under the filter (the emulator's syscalls, plus the
 *      uid/capability queries with --fake-root)
 *   6. serve until TOOL exits, and the tools that joined (sup-loop.c)
 *   7. release everything: the listeners first, so that calls still pending
 *      from leftover children fail with ENOSYS, then the emulator's objects
 *      and files, the socket and the directory
 *
 * Joining: the emulator's state (objects, ids, fds) lives in the memory of
 * the session's supervisor, so a second `bpftime run --session NAME`
 * spawns its TOOL and hands the listener to that supervisor over the
 * control socket; from then on it only forwards signals and waits, and
 * exits with its own TOOL's status. Both tools see the same maps and ids.
 *
 * The exit status is TOOL's (128 + signal when a signal killed it), or
 * 125/126/127 when TOOL could not be started, as env(1) reports.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

#define MAX_INJECTED 256

struct run {
	struct sup_session session;
	/* --inject: the processes given the agent (or refused) so far */
	bool inject;
	bool interp_only; /* --engine interp */
	pid_t tool;
	pid_t injected[MAX_INJECTED];
	unsigned int nr_injected;
	struct sup_run_agent agent; /* --agent */
	struct sup_loop loop;
	struct bpftime_emul *emul;
	int sigfd;
	int ctlfd;
};

/* 0, -EBUSY when a live supervisor holds the named session, or -errno. */
static int open_session(const struct sup_opts *o, struct sup_session *s)
{
	char base[PATH_MAX], name[SUP_NAME_MAX + 1];
	int err;

	err = sup_base_dir(o->base_dir, base, sizeof(base));
	if (!err)
		err = sup_base_prepare(base);
	if (err)
		return err;
	if (o->session) {
		snprintf(name, sizeof(name), "%s", o->session);
	} else {
		/* the first tool gets the default session, which `bpftime start`
		 * and `attach` join when not told otherwise; later ones, while it
		 * is held, a session of their own */
		err = sup_session_init(s, base, SUP_SESSION_DEFAULT);
		if (!err) {
			err = sup_session_claim(s);
			if (err != -EBUSY)
				return err;
			sup_session_release(s);
		}
		sup_name_generate(o->argv[0], getpid(), name, sizeof(name));
		sup_log(SUP_LOG_INFO,
			"session %s is in use: this tool gets session %s (targets join it with "
			"--session %s)",
			SUP_SESSION_DEFAULT, name, name);
	}
	err = sup_session_init(s, base, name);
	if (err) {
		sup_log(SUP_LOG_ERROR,
			"session path %s/%s is too long for a unix socket: use a "
			"shorter --session-dir",
			base, name);
		return err;
	}
	err = sup_session_claim(s);
	if (err && err != -EBUSY)
		sup_log(SUP_LOG_ERROR, "cannot create the session in %s: %s", s->dir,
			strerror(-err));
	return err;
}

static int open_signals(struct run *r)
{
	r->sigfd = sup_signals_open();
	if (r->sigfd < 0)
		sup_log(SUP_LOG_ERROR, "cannot set up signal forwarding: %s", strerror(-r->sigfd));
	return r->sigfd < 0 ? r->sigfd : 0;
}

static int open_control(struct run *r)
{
	r->ctlfd = sup_control_open(&r->session);
	if (r->ctlfd < 0)
		sup_log(SUP_LOG_ERROR, "cannot open the control socket %s: %s", r->session.sock,
			strerror(-r->ctlfd));
	return r->ctlfd < 0 ? r->ctlfd : 0;
}

/* The thread group of thread @tid, or -1. */
static pid_t tgid_of(pid_t tid)
{
	char v[32];

	if (sup_proc_status(tid, "Tgid", v, sizeof(v)))
		return -1;
	return (pid_t)atoi(v);
}

/* --inject: a tool's event names @tid's process; bring it the agent, once
 * per process (the tool may open many events for it). A failure is said
 * (sup_attach_into) and the event stays open, as the kernel's would. */
static void inject_target(void *ctx, pid_t tid)
{
	struct run *r = ctx;
	pid_t pid = tgid_of(tid);

	if (pid <= 0)
		return;
	for (unsigned int i = 0; i < r->nr_injected; i++)
		if (r->injected[i] == pid)
			return;
	if (r->nr_injected < MAX_INJECTED)
		r->injected[r->nr_injected++] = pid;
	if (pid == r->tool) {
		/* its own calls would be trapped: --agent is the way */
		sup_log(SUP_LOG_WARN, "--inject: pid %d is the tool itself: use --agent", (int)pid);
		return;
	}
	if (!sup_attach_into(pid, r->session.dir))
		sup_log(SUP_LOG_INFO, "--inject: pid %d has the agent, session %s", (int)pid,
			r->session.dir);
}

static int open_emul(struct run *r)
{
	struct bpftime_emul_opts eo = {
	    .sz = sizeof(eo),
	    .session_dir = r->session.dir,
	    .log_level = (enum bpftime_emul_log_level)sup_log_level(),
	    .on_target_pid = r->inject ? inject_target : NULL,
	    .on_target_ctx = r,
	    .interp_only = r->interp_only,
	};

	r->emul = bpftime_emul__new(&eo);
	/* the emulator said why */
	return r->emul ? 0 : -errno;
}

static int spawn_status(int err)
{
	if (err == -ENOENT)
		return SUP_EXIT_NOTFOUND;
	if (err == -EACCES || err == -ENOEXEC || err == -EISDIR || err == -EPERM)
		return SUP_EXIT_NOEXEC;
	return SUP_EXIT_FAILURE;
}

/* Spawns TOOL under the filter (with the agent for --agent): 0 with its
 * pid and listener, or an exit status of ours. */
static int spawn_tool(struct run *r, const struct sup_opts *o, pid_t *pid, int *listener)
{
	cleanup_free int *trapped = sup_trapped_syscalls(o->fake_root);
	struct bpftime_seccomp_spawn_opts so = {.sz = sizeof(so)};
	int err;

	if (!trapped)
		return SUP_EXIT_FAILURE;
	if (o->agent && sup_run_agent_prepare(o, r->session.dir, &r->agent))
		return SUP_EXIT_FAILURE;
	so.syscalls = trapped;
	err = bpftime_seccomp__spawn(o->argv, &so, pid, listener);
	if (!err && o->agent && sup_run_agent_started(&r->agent, *pid))
		sup_log(SUP_LOG_ERROR, "cannot start the agent's injection: %s runs without it",
			o->argv[0]);
	if (err) {
		sup_run_agent_finish(&r->agent);
		sup_spawn_explain(err, o->argv[0]);
		return spawn_status(err);
	}
	sup_log(SUP_LOG_INFO, "%s is pid %d", o->argv[0], (int)*pid);
	return 0;
}

/* Our TOOL's server: srv[0]. */
static void serve_own(struct run *r, const struct sup_opts *o, pid_t pid, int listener)
{
	struct sup_server *srv = &r->loop.srv[0];

	srv->ctx.emul = r->emul;
	srv->ctx.fake_root = o->fake_root;
	srv->ctx.cap_last = sup_cap_last();
	srv->pid = pid;
	sup_cmdline(o->argv, srv->cmd, sizeof(srv->cmd));
	srv->ctx.agent = o->agent && r->agent.agent[0] ? r->agent.agent : NULL;
	srv->sec = bpftime_seccomp__new(listener, sup_handle, &srv->ctx);
	if (!srv->sec) /* TOOL runs on unanswered: its calls fail with ENOSYS */
		sup_log(SUP_LOG_ERROR, "cannot serve the seccomp listener: %s", strerror(errno));
	else
		sup_run_agent_exempt(srv);
}

/* Hands our TOOL's listener to the session's supervisor. */
static int join_owner(struct run *r, const struct sup_opts *o, pid_t pid, int listener)
{
	int err = sup_control_join(&r->session, listener, pid, o->fake_root, o->argv);

	close(listener); /* ours must go: the owner's death has to mean ENOSYS */
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return SUP_EXIT_FAILURE;
	}
	sup_log(SUP_LOG_INFO, "joined session %s", r->session.name);
	return 0;
}

/* Steps 5 and 6: 0 with TOOL's wait status, or an exit status of ours. */
static int serve(struct run *r, const struct sup_opts *o, bool joined, int *wstatus)
{
	int listener = -1;
	pid_t pid;
	int ret;

	/* --attach: the targets have the agent before TOOL attaches */
	for (unsigned int i = 0; i < o->nr_attach; i++)
		if (sup_attach_into(o->attach[i], r->session.dir))
			return SUP_EXIT_FAILURE;
	ret = spawn_tool(r, o, &pid, &listener);
	if (ret)
		return ret;
	r->tool = pid;
	if (joined)
		ret = join_owner(r, o, pid, listener);
	else
		serve_own(r, o, pid, listener);
	if (ret) {
		sup_run_agent_finish(&r->agent);
		return ret;
	}
	r->loop.sigfd = r->sigfd;
	r->loop.ctlfd = r->ctlfd;
	r->loop.session = &r->session;
	r->loop.tool = pid;
	r->loop.emul = r->emul;
	r->loop.joined = joined;
	ret = sup_loop_run(&r->loop, wstatus);
	sup_run_agent_finish(&r->agent);
	if (ret) {
		sup_log(SUP_LOG_ERROR, "supervisor loop failed: %s", strerror(-ret));
		return SUP_EXIT_FAILURE;
	}
	return 0;
}

static void finish(struct run *r)
{
	sup_loop_release(&r->loop);
	if (r->ctlfd >= 0)
		unlink(r->session.sock);
	sup_close_and_reset(&r->ctlfd);
	/* releases every object, removes the region's files and the directory */
	if (r->emul)
		bpftime_emul__free(r->emul);
	else if (r->session.lock_fd >= 0)
		sup_session_remove(&r->session); /* failed before the emulator */
	r->emul = NULL;
	sup_close_and_reset(&r->sigfd);
	sup_session_release(&r->session);
}

/* Steps 2 to 4; @joined when the session belongs to another supervisor. */
static int setup(struct run *r, const struct sup_opts *o, bool *joined)
{
	int err = open_session(o, &r->session);

	r->inject = o->inject;
	r->interp_only = o->interp_only;
	*joined = err == -EBUSY;
	if (*joined && o->inject)
		sup_log(SUP_LOG_WARN,
			"--inject: session %s is served by another bpftime run, "
			"whose options apply: no injection for this tool",
			o->session);
	if (*joined && !o->session) {
		/* a generated name has our pid in it: only a stale lock holder */
		sup_log(SUP_LOG_ERROR, "session %s is in use: try --session NAME", r->session.name);
		return err;
	}
	if (*joined)
		return open_signals(r);
	if (err)
		return err;
	err = open_signals(r);
	if (!err)
		err = open_control(r);
	if (!err)
		err = open_emul(r);
	return err;
}

int sup_cmd_run(const struct sup_opts *o)
{
	struct run r = {.sigfd = -1, .ctlfd = -1};
	bool joined;
	int wstatus = 0;
	int ret;

	r.session.lock_fd = -1;
	sup_log_route_seccomp();
	if (sup_seccomp_probe())
		return SUP_EXIT_FAILURE;
	if (setup(&r, o, &joined)) {
		finish(&r);
		return SUP_EXIT_FAILURE;
	}
	ret = serve(&r, o, joined, &wstatus);
	finish(&r);
	if (ret)
		return ret;
	ret = sup_exit_status(wstatus);
	sup_log(SUP_LOG_DEBUG, "%s exited with status %d", o->argv[0], ret);
	return ret;
}
