// SPDX-License-Identifier: MIT
/*
 * The agent's entry points.
 *
 * Two ways in, one body:
 *   - LD_PRELOAD: the dynamic loader maps us, applies our relative
 *     relocations and runs DT_INIT_ARRAY, i.e. agent_ctor(), which reads
 *     the session from the environment and calls bpftime_agent_main();
 *   - injection (supervisor/src/sup-inject.c): the supervisor maps our
 *     PT_LOAD segments into a stopped thread's process, applies the same
 *     relocations itself and calls bpftime_agent_main() with the session
 *     directory, returning to bpftime_agent_trap. DT_INIT_ARRAY does not
 *     run then, which is how bpftime_agent_detach() knows that the
 *     supervisor may unmap us afterwards.
 *
 * The state below is the agent's one mutable global besides what STYLE.md
 * allows (log sink, hook table, caches): entry points have no context to
 * be handed. `attached` is the only field read concurrently; it is taken
 * with a compare-and-swap by the entry points, and the other fields are
 * written only by the thread that won it.
 */
#include <bpftime/agent.h>
#include "agent-internal.h"
#include "agent-runtime.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
	int attached;    /* 0 -> 1 by bpftime_agent_main, 1 -> 0 by _detach */
	int from_loader; /* the constructor ran: the dynamic loader owns us */
	int pid;
	char session[PATH_MAX];
	char file[PATH_MAX]; /* <session>/agent-<pid> */
} agent;

/*
 * int3: the injector's return address. The thread stops with SIGTRAP and
 * RIP = bpftime_agent_trap + 1, which is how the supervisor tells "the call
 * returned" from a crash inside it. ud2 after it: nothing ever falls
 * through.
 */
__asm__(".text\n"
	".globl bpftime_agent_trap\n"
	".type bpftime_agent_trap, @function\n"
	"bpftime_agent_trap:\n"
	"\tint3\n" /* cc */
	"\tud2\n"  /* 0f 0b */
	".size bpftime_agent_trap, .-bpftime_agent_trap\n");

/* "<session>/agent-<pid><suffix>" into @out. */
static int proof_path(char *out, size_t len, const char *suffix)
{
	struct agent_buf b;

	agent_buf_init(&b, out, len);
	agent_buf_str(&b, agent.session);
	agent_buf_str(&b, "/" BPFTIME_AGENT_FILE_PREFIX);
	agent_buf_num(&b, agent.pid);
	agent_buf_str(&b, suffix);
	return b.overflow ? -ENAMETOOLONG : 0;
}

/*
 * The proof of life: "<pid> <exe>\n", written to a temporary name and
 * renamed, so that a reader (`bpftime status`, the tests) sees the whole
 * line or no file.
 */
static int write_proof(void)
{
	/* static: only the thread that won `attached` gets here, and an
	 * injected call runs on a small stack of the injector's */
	static char tmp[PATH_MAX], exe[PATH_MAX], line[PATH_MAX + 32];
	struct agent_buf b;
	long n;
	int fd, err;

	err = proof_path(agent.file, sizeof(agent.file), "");
	if (!err)
		err = proof_path(tmp, sizeof(tmp), ".tmp");
	if (err)
		return err;
	n = agent_readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	agent_buf_init(&b, line, sizeof(line));
	agent_buf_num(&b, agent.pid);
	agent_buf_str(&b, " ");
	agent_buf_str(&b, n > 0 ? exe : "?");
	agent_buf_str(&b, "\n");
	fd = agent_openat(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fd;
	n = agent_write(fd, line, b.len);
	agent_close(fd);
	if (n != (long)b.len) {
		agent_unlink(tmp);
		return n < 0 ? (int)n : -EIO;
	}
	err = agent_rename(tmp, agent.file);
	if (err)
		agent_unlink(tmp);
	return err;
}

EXPORT int bpftime_agent_main(const char *session_dir)
{
	static char env[PATH_MAX];
	bool started;
	size_t len;
	int err, zero = 0;

	if (!session_dir || session_dir[0] != '/')
		return -EINVAL;
	len = agent_strlen(session_dir);
	if (len >= sizeof(agent.session))
		return -ENAMETOOLONG;
	/* pairs with the release store in bpftime_agent_detach() */
	if (!__atomic_compare_exchange_n(&agent.attached, &zero, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return -EALREADY;
	memcpy(agent.session, session_dir, len + 1);
	agent.pid = agent_getpid();
	err = write_proof();
	if (err) {
		agent_log_num(agent.session, "cannot write the proof-of-life file: errno ", -err);
		__atomic_store_n(&agent.attached, 0, __ATOMIC_RELEASE);
		return err;
	}
	agent_log(agent.session,
		  agent.from_loader ? "loaded by the dynamic loader, joined " : "injected, joined ",
		  agent.session);
	/* started by `bpftime start` (the loader, or injected at the first
	 * instruction of a static program, whose environment names the
	 * session), rather than attached to a running process */
	started =
	    agent.from_loader || agent_env_get(BPFTIME_AGENT_SESSION_ENV, env, sizeof(env)) > 0;
	err = agent_rt_start(agent.session, agent.from_loader, started);
	if (err) {
		agent_unlink(agent.file);
		__atomic_store_n(&agent.attached, 0, __ATOMIC_RELEASE);
	}
	return err;
}

void agent_main_forked(void)
{
	int err;

	agent_park_forked();
	agent_tid_forked();
	/* a patch the parent's follower was writing behind its guard */
	if (bpftime_rw__forked() > 0)
		agent_log(agent.session, "fork child: finished a patch the parent was writing",
			  NULL);
	agent.pid = agent_getpid();
	err = write_proof();
	if (err)
		agent_log_num(agent.session,
			      "fork child: cannot write the proof-of-life file: errno ", -err);
	agent_log(agent.session, "a fork child: following the session on its own", NULL);
	agent_rt_forked();
}

EXPORT int bpftime_agent_detach(void)
{
	int unmappable;

	if (!__atomic_load_n(&agent.attached, __ATOMIC_ACQUIRE))
		return -ENOENT;
	/* every hook off and the follower gone before anything else */
	unmappable = agent_rt_stop();
	/* a forked child shares our state but not our pid: its file, if any,
	 * is not the one we wrote */
	if (agent.pid == agent_getpid())
		agent_unlink(agent.file);
	agent_log(agent.session, "detached from ", agent.session);
	/* pairs with the acquire in bpftime_agent_main() */
	__atomic_store_n(&agent.attached, 0, __ATOMIC_RELEASE);
	/* trampolines made since we came may still lead threads into us */
	return agent.from_loader ? 0 : unmappable;
}

/*
 * DT_INIT_ARRAY: runs when the dynamic loader (glibc's or musl's) loads us
 * through LD_PRELOAD, before the program's own constructors and main().
 * No session in the environment: stay inert (a program that scrubs its
 * environment, or LD_PRELOAD set by hand).
 */
__attribute__((constructor)) static void agent_ctor(void)
{
	static char dir[PATH_MAX];

	agent.from_loader = 1;
	if (agent_env_get(BPFTIME_AGENT_SESSION_ENV, dir, sizeof(dir)) > 0)
		bpftime_agent_main(dir);
}
