// SPDX-License-Identifier: MIT
/*
 * `bpftime run --agent`: TOOL gets the agent too, in the session we serve,
 * so that a tool that probes itself (benchmarks, bpftrace's uprobes on its
 * own binary) sees its probes fire.
 *
 * As `bpftime start` does (sup-start.c): a dynamic TOOL gets LD_PRELOAD
 * (after any already set) and BPFTIME_AGENT_SESSION_DIR in the environment
 * it is spawned with, so the loader runs the agent's constructor before
 * TOOL's code, and its dynamic children get it as well. Our own
 * environment is put back after the spawn.
 *
 * A static TOOL ignores LD_PRELOAD: the agent is injected over ptrace once
 * TOOL runs under the filter. The injected calls and the agent's start
 * (openat, mmap of the session's files) are TOOL's syscalls, trapped like
 * any other and answered by our loop (an mmap of a file that is not a
 * session object is let through), so the injection runs on a thread of its
 * own while the loop serves; the agent may thus start a little after
 * TOOL's first instructions. The loop reaps TOOL only when its pidfd says
 * it exited, so the injecting thread's waits for TOOL's ptrace stops are
 * its own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <bpftime/agent.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

struct inject_job {
	pid_t pid;
	char agent[PATH_MAX];
	char session[PATH_MAX];
};

static void *inject_thread(void *arg)
{
	struct inject_job *j = arg;
	struct sup_agent_image img;
	struct sup_tracee t;
	uint64_t base = 0;
	int err;

	err = sup_agent_image_load(&img, j->agent);
	if (!err) {
		err = sup_tracee_seize(&t, j->pid);
		if (!err)
			err = sup_tracee_prepare(&t);
		if (!err)
			err = sup_inject_agent(&t, &img, j->session, &base);
		sup_tracee_release(&t);
		sup_agent_image_free(&img);
	}
	if (err)
		sup_log(SUP_LOG_ERROR, "cannot inject the agent into pid %d: %s (it runs without)",
			(int)j->pid, strerror(-err));
	else
		sup_log(SUP_LOG_INFO, "agent injected into pid %d at %#llx", (int)j->pid,
			(unsigned long long)base);
	free(j);
	return NULL;
}

/* Saved environment values, put back after the spawn. */
static char *saved_preload, *saved_session;
static bool had_preload, had_session;

static void save_env(void)
{
	const char *v = getenv("LD_PRELOAD");

	had_preload = v != NULL;
	saved_preload = v ? strdup(v) : NULL;
	v = getenv(BPFTIME_AGENT_SESSION_ENV);
	had_session = v != NULL;
	saved_session = v ? strdup(v) : NULL;
}

static void restore_one(const char *name, bool had, char **saved)
{
	if (had && *saved)
		setenv(name, *saved, 1);
	else
		unsetenv(name);
	free(*saved);
	*saved = NULL;
}

static void sup_run_agent_restore(void)
{
	restore_one("LD_PRELOAD", had_preload, &saved_preload);
	restore_one(BPFTIME_AGENT_SESSION_ENV, had_session, &saved_session);
}

int sup_run_agent_prepare(const struct sup_opts *o, const char *session_dir,
			  struct sup_run_agent *ra)
{
	char exe[PATH_MAX];
	int kind;

	memset(ra, 0, sizeof(*ra));
	/* a TOOL we cannot find or read: the spawn says why */
	if (sup_find_cmd(o->argv[0], exe, sizeof(exe)))
		return 0;
	kind = sup_elf_kind(exe);
	if (kind < 0)
		return 0;
	if (kind == SUP_ELF_FOREIGN) {
		sup_log(SUP_LOG_WARN, "%s is not an x86-64 program: running it without the agent",
			exe);
		return 0;
	}
	if (sup_agent_path(ra->agent, sizeof(ra->agent)))
		return -ENOENT;
	snprintf(ra->session, sizeof(ra->session), "%s", session_dir);
	save_env();
	ra->env_set = true;
	if (setenv(BPFTIME_AGENT_SESSION_ENV, session_dir, 1) || sup_set_preload(ra->agent)) {
		sup_run_agent_restore();
		ra->env_set = false;
		return -EINVAL;
	}
	ra->inject = kind == SUP_ELF_STATIC;
	sup_log(SUP_LOG_INFO, "%s: %s, session %s", exe,
		ra->inject ? "static, the agent injected" : "LD_PRELOAD of the agent", session_dir);
	return 0;
}

int sup_run_agent_started(struct sup_run_agent *ra, pid_t pid)
{
	struct inject_job *j;
	pthread_t th;
	int err;

	if (ra->env_set)
		sup_run_agent_restore();
	ra->env_set = false;
	if (!ra->inject)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->pid = pid;
	memcpy(j->agent, ra->agent, sizeof(j->agent));
	memcpy(j->session, ra->session, sizeof(j->session));
	err = pthread_create(&th, NULL, inject_thread, j);
	if (err) {
		free(j);
		return -err;
	}
	ra->thread = th;
	ra->started = true;
	return 0;
}

/*
 * The agent's own syscalls (its openat and mmap of the session's files, as
 * maps/src/map-handle.c makes them) are trapped like TOOL's, but are not
 * TOOL's bpf() objects: the emulator would answer them with TOOL's rules
 * (a writable mapping of a frozen map, which is how the agent reads
 * .rodata: -EPERM). Calls whose instruction pointer lies in the agent's
 * code go to the kernel instead (seccomp-exempt.c). That is only sound
 * because the filter emulates and does not confine: TOOL is no sandbox.
 */
void sup_run_agent_exempt(struct sup_server *srv)
{
	int err;

	if (!srv->sec || !srv->ctx.agent)
		return;
	err = bpftime_seccomp__exempt_code(srv->sec, srv->ctx.agent);
	if (err)
		sup_log(SUP_LOG_WARN, "%s: %s: the agent's calls are emulated as TOOL's",
			srv->ctx.agent, strerror(-err));
}

void sup_run_agent_finish(struct sup_run_agent *ra)
{
	if (ra->env_set)
		sup_run_agent_restore();
	ra->env_set = false;
	if (ra->started)
		pthread_join(ra->thread, NULL);
	ra->started = false;
}
