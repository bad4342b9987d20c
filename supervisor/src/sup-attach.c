// SPDX-License-Identifier: MIT
/*
 * `bpftime attach PID` and `bpftime detach PID`: the agent into, or out of,
 * a running process, over ptrace as the same user (feasibility.md:
 * PTRACE_SEIZE, PTRACE_INTERRUPT of a thread blocked in a syscall, which
 * restarts once we let it go; see sup-ptrace.c for how).
 *
 * Only the thread PID is stopped; the process's other threads run on. The
 * agent needs nothing from them now; patching code will take its own care
 * of concurrent execution (rewrite/).
 *
 * attach: refuses PID 1 (a crash there takes the whole PID namespace
 * down) and processes that made themselves non-dumpable (prctl
 * PR_SET_DUMPABLE 0, set-id programs): they asked not to be inspected,
 * and the kernel refuses them to everyone but CAP_SYS_PTRACE; we refuse
 * them to root as well. When the agent is already mapped (LD_PRELOAD, or an
 * earlier attach), its bpftime_agent_main() is called again instead of
 * mapping a second copy.
 *
 * detach: calls bpftime_agent_detach(); an injected agent is then
 * unmapped, one that the dynamic loader loaded stays mapped (the loader's
 * link map points into it) and inert.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "sup-internal.h"

/* Why PTRACE_SEIZE said EPERM: the first reason that applies. */
static void explain_eperm(pid_t pid)
{
	char tracer[32] = "", uids[128] = "", scope[16] = "";
	char path[64];
	unsigned int ruid = 0, euid = 0;
	struct stat st;
	FILE *f;

	sup_proc_status(pid, "TracerPid", tracer, sizeof(tracer));
	if (atoi(tracer) > 0) {
		sup_log(SUP_LOG_ERROR,
			"pid %d is already traced by pid %s (a debugger, strace?): "
			"a process has one tracer at a time",
			(int)pid, tracer);
		return;
	}
	sup_proc_status(pid, "Uid", uids, sizeof(uids));
	sscanf(uids, "%u %u", &ruid, &euid);
	if (getuid() != 0 && (ruid != getuid() || euid != getuid())) {
		sup_log(SUP_LOG_ERROR,
			"pid %d runs as uid %u, you are uid %u: only its own user "
			"(or root, with CAP_SYS_PTRACE) may attach to it",
			(int)pid, euid, (unsigned int)getuid());
		return;
	}
	/* the files in a non-dumpable process's /proc/PID belong to root
	 * (task_dump_owner(); the directory itself keeps the task's uid) */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!stat(path, &st) && st.st_uid != euid) {
		sup_log(SUP_LOG_ERROR,
			"pid %d is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), "
			"or it changed credentials): the kernel refuses ptrace to "
			"other users than root",
			(int)pid);
		return;
	}
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (!fgets(scope, sizeof(scope), f))
			scope[0] = '\0';
		fclose(f);
	}
	if (atoi(scope) > 0) {
		sup_log(
		    SUP_LOG_ERROR,
		    "Yama's kernel.yama.ptrace_scope is %d: %s; start the program with `bpftime "
		    "start` instead, or (as root) sysctl kernel.yama.ptrace_scope=0",
		    atoi(scope),
		    atoi(scope) == 1   ? "only a process's ancestors may attach to it"
		    : atoi(scope) == 2 ? "only CAP_SYS_PTRACE may attach"
				       : "no process may attach to another");
		return;
	}
	sup_log(SUP_LOG_ERROR,
		"the kernel refuses to let us trace pid %d (EPERM): a security "
		"module (SELinux, AppArmor) or a seccomp filter may forbid ptrace",
		(int)pid);
}

static int check_target(pid_t pid)
{
	if (pid == 1) {
		sup_log(SUP_LOG_ERROR, "refusing pid 1: init's crash would take down its whole PID "
				       "namespace; bpftime does not attach to it");
		return -EPERM;
	}
	if (pid == getpid()) {
		sup_log(SUP_LOG_ERROR, "pid %d is bpftime itself", (int)pid);
		return -EINVAL;
	}
	if (kill(pid, 0) && errno == ESRCH) {
		sup_log(SUP_LOG_ERROR, "no process %d", (int)pid);
		return -ESRCH;
	}
	return 0;
}

/* Stops @pid and saves its state: 0, or -errno with a message. */
static int take(struct sup_tracee *t, pid_t pid)
{
	int err = sup_tracee_seize(t, pid);

	if (err == -EPERM)
		explain_eperm(pid);
	else if (err == -ESRCH)
		sup_log(SUP_LOG_ERROR, "no process %d", (int)pid);
	else if (err)
		sup_log(SUP_LOG_ERROR, "cannot trace pid %d: %s", (int)pid, strerror(-err));
	if (!err) {
		err = sup_tracee_prepare(t);
		if (err)
			sup_log(SUP_LOG_ERROR, "cannot prepare pid %d: %s", (int)pid,
				strerror(-err));
	}
	return err;
}

/* Asked of the target itself: root passes the kernel's dumpable check. */
static int check_dumpable(struct sup_tracee *t)
{
	long ret;
	int err = sup_tracee_syscall(t, &ret, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);

	if (err)
		return err;
	if (ret == 1) /* SUID_DUMP_USER */
		return 0;
	sup_log(SUP_LOG_ERROR,
		"pid %d is not dumpable (prctl(PR_SET_DUMPABLE, 0), or a set-id "
		"program): it asked not to be inspected; bpftime does not attach to it",
		(int)t->pid);
	return -EPERM;
}

static int attach_to(struct sup_tracee *t, const struct sup_agent_image *img, const char *dir)
{
	uint64_t base;
	long ret;
	int err = check_dumpable(t);

	if (!err)
		err = sup_proc_find_agent(t->pid, img, &base);
	if (err < 0)
		return err;
	if (err == 0)
		return sup_inject_agent(t, img, dir, &base);
	/* mapped already: LD_PRELOAD, or attached before and detached */
	err = sup_inject_call(t, img, base, img->sym_main, dir, &ret);
	if (!err && ret == -EALREADY)
		sup_log(SUP_LOG_WARN, "pid %d has the agent attached already", (int)t->pid);
	else if (!err && ret < 0)
		sup_log(SUP_LOG_ERROR, "pid %d: the agent did not start: %s", (int)t->pid,
			strerror((int)-ret));
	return err ? err : ret == -EALREADY ? 0 : (int)ret;
}

static int detach_from(struct sup_tracee *t, const struct sup_agent_image *img)
{
	uint64_t base;
	long ret;
	int err = sup_proc_find_agent(t->pid, img, &base);

	if (err == 0)
		sup_log(SUP_LOG_ERROR, "pid %d has no agent", (int)t->pid);
	if (err <= 0)
		return err ? err : -ENOENT;
	err = sup_inject_call(t, img, base, img->sym_detach, NULL, &ret);
	if (err)
		return err;
	if (ret == -ENOENT) {
		sup_log(SUP_LOG_ERROR, "pid %d: the agent is mapped but not attached", (int)t->pid);
		return -ENOENT;
	}
	if (ret == 1) {
		long r;

		/* injected: nothing points into it any more */
		sup_tracee_syscall(t, &r, SYS_munmap, (long)base, (long)img->span, 0, 0, 0, 0);
		sup_log(SUP_LOG_INFO, "pid %d: agent detached and unmapped", (int)t->pid);
	} else {
		sup_log(SUP_LOG_INFO,
			"pid %d: agent detached; it stays mapped, inert (the dynamic "
			"loader loaded it, or code it patched may still lead a thread into it)",
			(int)t->pid);
	}
	return 0;
}

/* The session for attach: --session NAME, else the default one. */
static int attach_session(const struct sup_opts *o, struct sup_session *s)
{
	return sup_agent_session(o, s);
}

/* Stop @pid, attach (or detach) the agent, let it go: with ^C and the
 * like held back meanwhile, so that they cannot leave the target with our
 * registers in it. */
static int with_target(pid_t pid, const struct sup_agent_image *img, const char *dir, bool attach)
{
	struct sup_tracee t;
	sigset_t block, old;
	int err;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	err = take(&t, pid);
	if (!err)
		err = attach ? attach_to(&t, img, dir) : detach_from(&t, img);
	sup_tracee_release(&t);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

static int run(const struct sup_opts *o, bool attach)
{
	struct sup_agent_image img;
	char agent[PATH_MAX];
	struct sup_session s;
	int err;

	if (check_target(o->pid) || sup_agent_path(agent, sizeof(agent)) ||
	    (attach && attach_session(o, &s)) || sup_agent_image_load(&img, agent))
		return 1;
	err = with_target(o->pid, &img, s.dir, attach);
	sup_agent_image_free(&img);
	if (!err && attach)
		printf("pid %d: agent attached, session %s\n", (int)o->pid, s.dir);
	else if (!err)
		printf("pid %d: agent detached\n", (int)o->pid);
	return err ? 1 : 0;
}

int sup_attach_into(pid_t pid, const char *dir)
{
	struct sup_agent_image img;
	char agent[PATH_MAX];
	int err = check_target(pid);

	if (err)
		return err;
	if (sup_agent_path(agent, sizeof(agent)) || sup_agent_image_load(&img, agent))
		return -ENOENT;
	err = with_target(pid, &img, dir, true);
	sup_agent_image_free(&img);
	return err;
}

int sup_cmd_attach(const struct sup_opts *o)
{
	return run(o, true);
}

int sup_cmd_detach(const struct sup_opts *o)
{
	return run(o, false);
}
