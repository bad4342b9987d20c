// SPDX-License-Identifier: MIT
/*
 * `bpftime start [--session NAME] -- CMD [ARGS...]`: CMD runs with the
 * agent in session NAME (a directory under the per-user base, created when
 * missing; not locked: the session belongs to the `bpftime run` that
 * serves it, if any).
 *
 * A dynamic CMD (PT_INTERP, or a script, whose interpreter is one) is
 * exec'd in place with LD_PRELOAD=<agent> (after any LD_PRELOAD already
 * set) and BPFTIME_AGENT_SESSION_DIR: CMD keeps our pid, terminal and exit
 * status, and the dynamic loader runs the agent's constructor before
 * CMD's own code. LD_PRELOAD travels through fork and exec, so dynamic
 * programs that CMD runs get the agent too. Exceptions the loader makes:
 * set-id programs ignore LD_PRELOAD paths outside the system directories.
 *
 * A static CMD (no PT_INTERP: glibc -static, musl, Go) never reads
 * LD_PRELOAD: it is forked under PTRACE_TRACEME, and the exec stops it
 * with SIGTRAP before its first instruction (ptrace(2): "the tracee
 * receives a SIGTRAP after each successful execve"); the agent is injected
 * (sup-inject.c), the registers restored, the tracee detached, and we stay
 * as its parent: signals forwarded, its exit status ours, as `bpftime run`
 * does. Its environment carries LD_PRELOAD as well, for the dynamic
 * programs it runs; a static program it execs is not injected again (that
 * would need us to stay its tracer; not yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpftime/agent.h>
#include "sup-internal.h"

/* execvp's search, done up front because we must read the file. */
int sup_find_cmd(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	const char *p, *end;
	int err = -ENOENT;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK) ? -errno : 0;
	}
	for (p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; *p; p = end) {
		struct stat st;

		end = strchrnul(p, ':');
		snprintf(out, len, "%.*s/%s", (int)(end - p), p, cmd);
		if (*end)
			end++;
		if (stat(out, &st) || !S_ISREG(st.st_mode))
			continue;
		if (!access(out, X_OK))
			return 0;
		err = -EACCES; /* as execvp: keep looking, report EACCES */
	}
	return err;
}

/* LD_PRELOAD = existing + agent, unless the agent is there already. */
int sup_set_preload(const char *agent)
{
	const char *old = getenv("LD_PRELOAD");
	cleanup_free char *val = NULL;

	/* the loader splits LD_PRELOAD at spaces and colons */
	if (strpbrk(agent, " :")) {
		sup_log(SUP_LOG_ERROR,
			"the agent's path %s has a space or ':': LD_PRELOAD cannot "
			"name it; move it or set BPFTIME_AGENT",
			agent);
		return -EINVAL;
	}
	if (old && strstr(old, agent))
		return 0;
	if (asprintf(&val, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", agent) < 0)
		return -ENOMEM;
	return setenv("LD_PRELOAD", val, 1) ? -errno : 0;
}

static int exec_status(int err, const char *cmd)
{
	sup_log(SUP_LOG_ERROR, "cannot run %s: %s", cmd, strerror(-err));
	return err == -ENOENT ? SUP_EXIT_NOTFOUND : SUP_EXIT_NOEXEC;
}

/* The child: traced from its exec on; the exec's errno to @errfd. */
static void __attribute__((noreturn))
child(const char *exe, char *const argv[], const sigset_t *mask, int errfd)
{
	int err;

	sigprocmask(SIG_SETMASK, mask, NULL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
		execv(exe, argv);
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(SUP_EXIT_NOEXEC);
	_exit(err == ENOENT ? SUP_EXIT_NOTFOUND : SUP_EXIT_NOEXEC);
}

/* Waits for the stop after exec. 0, or an exit status of ours. */
static int wait_exec(pid_t pid, int errfd, const char *cmd)
{
	int status, err = 0;

	if (waitpid(pid, &status, __WALL) < 0)
		return SUP_EXIT_FAILURE;
	if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP)
		return 0;
	if (read(errfd, &err, sizeof(err)) == (ssize_t)sizeof(err))
		return exec_status(-err, cmd);
	if (WIFSTOPPED(status)) { /* not the exec's stop: give up on it */
		kill(pid, SIGKILL);
		waitpid(pid, &status, __WALL);
	}
	sup_log(SUP_LOG_ERROR, "%s did not reach its first instruction", cmd);
	return SUP_EXIT_FAILURE;
}

static int inject_child(pid_t pid, const char *agent, const char *session)
{
	struct sup_agent_image img;
	struct sup_tracee t;
	uint64_t base;
	int err;

	err = sup_agent_image_load(&img, agent);
	if (err)
		return err;
	err = sup_tracee_adopt(&t, pid);
	if (!err)
		err = sup_tracee_prepare(&t);
	if (!err)
		err = sup_inject_agent(&t, &img, session, &base);
	sup_tracee_release(&t);
	sup_agent_image_free(&img);
	if (!err)
		sup_log(SUP_LOG_INFO, "agent injected into pid %d at %#llx", (int)pid,
			(unsigned long long)base);
	return err;
}

/* Forwards signals until @pid exits: its status, as a shell reports it. */
static int wait_child(pid_t pid, int sigfd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0;

	while (pidfd >= 0) {
		struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			sup_signals_forward(sigfd, pid, NULL, NULL);
		if (p[1].revents & POLLIN)
			break;
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return sup_exit_status(status);
}

static int start_static(const char *exe, char *const argv[], const char *agent, const char *session)
{
	cleanup_close int sigfd = -1;
	int errpipe[2], ret;
	sigset_t old;
	pid_t pid;

	sigprocmask(SIG_SETMASK, NULL, &old);
	sigfd = sup_signals_open();
	if (sigfd < 0 || pipe2(errpipe, O_CLOEXEC))
		return SUP_EXIT_FAILURE;
	pid = fork();
	if (pid == 0)
		child(exe, argv, &old, errpipe[1]);
	close(errpipe[1]);
	if (pid < 0) {
		close(errpipe[0]);
		return SUP_EXIT_FAILURE;
	}
	ret = wait_exec(pid, errpipe[0], argv[0]);
	close(errpipe[0]);
	if (ret)
		return ret;
	if (inject_child(pid, agent, session)) {
		sup_log(SUP_LOG_ERROR, "cannot inject the agent into %s (pid %d): not started",
			argv[0], (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return SUP_EXIT_FAILURE;
	}
	return wait_child(pid, sigfd);
}

int sup_cmd_start(const struct sup_opts *o)
{
	char exe[PATH_MAX], agent[PATH_MAX];
	struct sup_session s;
	int kind, err;

	err = sup_find_cmd(o->argv[0], exe, sizeof(exe));
	if (err)
		return exec_status(err, o->argv[0]);
	kind = sup_elf_kind(exe);
	if (kind < 0)
		return exec_status(kind, o->argv[0]);
	if (sup_agent_path(agent, sizeof(agent)) || sup_agent_session(o, &s))
		return SUP_EXIT_FAILURE;
	if (kind == SUP_ELF_FOREIGN) {
		sup_log(SUP_LOG_WARN, "%s is not an x86-64 program: running it without the agent",
			exe);
	} else if (setenv(BPFTIME_AGENT_SESSION_ENV, s.dir, 1) || sup_set_preload(agent)) {
		return SUP_EXIT_FAILURE;
	}
	if (kind == SUP_ELF_STATIC)
		return start_static(exe, o->argv, agent, s.dir);
	sup_log(SUP_LOG_INFO, "%s: LD_PRELOAD=%s, session %s", exe, getenv("LD_PRELOAD"), s.dir);
	execv(exe, o->argv);
	return exec_status(-errno, o->argv[0]);
}
