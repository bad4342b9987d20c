// SPDX-License-Identifier: MIT
/*
 * `bpftime run` and `bpftime status` from the outside: the built binary
 * runs sup_probe (dynamic and static), sh and id as TOOL, and each test
 * checks what a user sees: exit statuses, signals, the fake root, bpf()
 * answered by the emulator, the supervisor's death, the session listing.
 *
 * Tests that say "as nobody" run TOOL as uid 65534 also when the suite runs
 * as root (the child drops its ids before exec'ing bpftime), since that is
 * where the kernel's own bpf() would refuse and ours must not. Every test
 * has its own session directory under a private temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/seccomp.h>

#define NOBODY     65534
#define TIMEOUT_MS 20000

static char tmp_dir[64];
static char sessions[2][128]; /* [0] ours, [1] nobody's */

/* ---- processes ---- */

struct proc {
	pid_t pid;
	int out; /* stdout and stderr */
	int in;  /* stdin */
	char buf[16384];
	size_t len;
};

/* start(): the child ignores SIGINT, as `cmd &` in a script does */
static bool child_ignores_sigint;

static void child_exec(char *const argv[], bool nobody, int in, int out)
{
	sigset_t none;

	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	/* a TOOL under test starts as from a terminal: default dispositions,
	 * or SIGINT ignored as for `cmd &` without job control */
	signal(SIGINT, child_ignores_sigint ? SIG_IGN : SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (nobody && getuid() == 0 && (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)))
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static void start(struct proc *p, char *const argv[], bool nobody)
{
	int o[2], i[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe2(o, O_CLOEXEC), 0);
	assert_int_equal(pipe2(i, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0)
		child_exec(argv, nobody, i[0], o[1]);
	close(o[1]);
	close(i[0]);
	p->out = o[0];
	p->in = i[1];
}

/* Reads until @needle shows up (true) or EOF/timeout (false). */
/* Reads until the output has @needle; false when nothing more comes
 * within @ms. */
static bool read_within(struct proc *p, const char *needle, int ms)
{
	struct pollfd pfd = {.fd = p->out, .events = POLLIN};
	ssize_t n;

	for (;;) {
		p->buf[p->len] = '\0';
		if (needle && strstr(p->buf, needle))
			return true;
		if (p->len >= sizeof(p->buf) - 1 || poll(&pfd, 1, ms) <= 0)
			return false;
		n = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (n <= 0)
			return false;
		p->len += (size_t)n;
	}
}

static bool read_until(struct proc *p, const char *needle)
{
	return read_within(p, needle, TIMEOUT_MS);
}

/* Waits for @pid for at most TIMEOUT_MS; kills it then. Exit status as a
 * shell's, or -1 on timeout. */
static int wait_status(pid_t pid)
{
	int st;

	for (int ms = 0; ms < TIMEOUT_MS; ms += 10) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int finish(struct proc *p)
{
	close(p->in);
	read_until(p, NULL);
	close(p->out);
	return wait_status(p->pid);
}

/* Runs a command to its end: its exit status, output in @p->buf. */
static int run(struct proc *p, int nobody, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, nobody);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	start(p, argv, nobody);
	return finish(p);
}

#define BPFTIME(nobody) BPFTIME_BIN, "run", "--session-dir", sessions[nobody]

/* ---- setup ---- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static bool seccomp_notify_available(void)
{
	unsigned int action = SECCOMP_RET_USER_NOTIF;

	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static int setup(void **state)
{
	char path[96];

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/bpftime-sv-test.XXXXXX");
	if (!mkdtemp(tmp_dir) || chmod(tmp_dir, 0755))
		return -1;
	snprintf(sessions[0], sizeof(sessions[0]), "%s/self", tmp_dir);
	snprintf(path, sizeof(path), "%s/nobody", tmp_dir);
	if (mkdir(path, 0700) || (getuid() == 0 && chown(path, NOBODY, NOBODY)))
		return -1;
	snprintf(sessions[1], sizeof(sessions[1]), "%s/sessions", path);
	/* TOOLs orphaned by a killed supervisor come back to us to be reaped */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return 0;
}

static int teardown(void **state)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define SKIP_WITHOUT_SECCOMP()                                                                     \
	do {                                                                                       \
		if (!seccomp_notify_available()) {                                                 \
			print_message("seccomp user notification unavailable: skipped\n");         \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- exit status ---- */

static void test_exit_status_is_tools(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME(0), "--", "/bin/sh", "-c", "exit 3", NULL), 3);
	assert_int_equal(run(&p, false, BPFTIME(0), "--", "/bin/sh", "-c", "exit 0", NULL), 0);
}

static void test_signal_death_is_128_plus_signal(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME(0), "--", "/bin/sh", "-c", "kill -TERM $$", NULL),
			 128 + SIGTERM);
	assert_int_equal(run(&p, false, BPFTIME(0), "--", "/bin/sh", "-c", "kill -KILL $$", NULL),
			 128 + SIGKILL);
}

static void test_bpftime_run_alias(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME_RUN_BIN, "--session-dir", sessions[0], "--",
			     "/bin/sh", "-c", "exit 5", NULL),
			 5);
	assert_int_equal(run(&p, false, BPFTIME_RUN_BIN, "--help", NULL), 0);
	assert_non_null(strstr(p.buf, "--fake-root"));
}

/* --attach PID that cannot be done: bpftime run fails (125) with the
 * reason, and TOOL never runs */
static void test_attach_refused(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(
	    run(&p, false, BPFTIME(0), "--attach", "1", "--", "/bin/sh", "-c", "echo ran", NULL),
	    125);
	assert_non_null(strstr(p.buf, "refusing pid 1"));
	assert_null(strstr(p.buf, "ran"));
	assert_int_equal(run(&p, false, BPFTIME(0), "--attach", "0", "--", "true", NULL), 125);
	assert_non_null(strstr(p.buf, "bad --attach"));
	assert_int_equal(run(&p, false, BPFTIME(0), "--help", NULL), 0);
	assert_non_null(strstr(p.buf, "--attach PID"));
	assert_non_null(strstr(p.buf, "--inject"));
}

/* `bpftime status` holds a session's lock for a moment to probe it: a
 * bpftime run starting then must not take it for a live supervisor's (it
 * would try to join one that does not exist) but wait for the lock. */
static int probe_fd = -1;

static void *release_probe(void *arg)
{
	(void)arg;
	usleep(200000);
	close(probe_fd);
	return NULL;
}

static void test_run_waits_out_a_status_probe(void **state)
{
	char dir[256];
	pthread_t t;
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	snprintf(dir, sizeof(dir), "%s/probed", sessions[0]);
	mkdir(sessions[0], 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	probe_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(probe_fd >= 0);
	assert_int_equal(flock(probe_fd, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(pthread_create(&t, NULL, release_probe, NULL), 0);
	assert_int_equal(run(&p, false, BPFTIME(0), "--session", "probed", "--", "/bin/sh", "-c",
			     "exit 7", NULL),
			 7);
	pthread_join(t, NULL);
	assert_null(strstr(p.buf, "cannot reach"));
}

/* TOOL killed: the session's objects and files go with it */
static void test_tool_killed_releases_session(void **state)
{
	char dir[256];
	struct stat st;
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME(0), "--session", "doomed", "--", "/bin/sh", "-c",
			     "kill -KILL $$", NULL),
			 128 + SIGKILL);
	snprintf(dir, sizeof(dir), "%s/doomed", sessions[0]);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_usage(void **state)
{
	struct proc p;

	assert_int_equal(run(&p, false, BPFTIME_BIN, "frobnicate", NULL), 1);
	assert_non_null(strstr(p.buf, "unknown command 'frobnicate'"));
	assert_int_equal(run(&p, false, BPFTIME_BIN, "--help", NULL), 0);
	assert_non_null(strstr(p.buf, "bpftime status"));
	assert_int_equal(run(&p, false, BPFTIME_BIN, "status", "--bogus", NULL), 1);
}

static void test_tool_not_found_is_127(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME(0), "--", "/nonexistent/tool", NULL), 127);
	assert_non_null(strstr(p.buf, "not found"));
}

static void test_bad_option_says_what_to_do(void **state)
{
	struct proc p;

	assert_int_equal(run(&p, false, BPFTIME(0), "--log-level", "loud", "--", "true", NULL),
			 125);
	assert_non_null(strstr(p.buf, "use error, warn, info or debug"));
	assert_int_equal(run(&p, false, BPFTIME(0), NULL), 125);
	assert_non_null(strstr(p.buf, "no TOOL"));
}

/* ---- signals ---- */

static void check_forwarded(int sig, const char *expect)
{
	char *argv[] = {BPFTIME(0), "--", SUP_PROBE, "sigint", NULL};
	struct proc p;

	start(&p, argv, false);
	assert_true(read_until(&p, "ready"));
	assert_int_equal(kill(p.pid, sig), 0);
	assert_true(read_until(&p, expect));
	/* TOOL's handler exits 0: so does the supervisor, which survived */
	assert_int_equal(finish(&p), 0);
}

static void test_sigint_is_forwarded(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_forwarded(SIGINT, "got SIGINT");
}

static void test_sigterm_is_forwarded(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_forwarded(SIGTERM, "got SIGTERM");
}

/* A forwarded signal does not fail a trapped call with EINTR, where the
 * kernel's bpf() would not fail: TOOL makes bpf() calls back to back with
 * a SIGINT handler installed without SA_RESTART, and counts the calls
 * that failed with EINTR while SIGINTs come every 20 ms. A call queued
 * when we forward would fail unless received first. */
static void signal_busy_tool(struct proc *p)
{
	int sent = 0;

	assert_true(read_until(p, "ready"));
	while (!strstr(p->buf, "done") && sent < 500) {
		assert_int_equal(kill(p->pid, SIGINT), 0);
		sent++;
		read_within(p, "done", 20);
	}
	assert_true(read_until(p, " eintr "));
	assert_true(read_until(p, "\n"));
	assert_non_null(strstr(p->buf, " eintr 0\n"));
	assert_int_equal(finish(p), 0);
}

static void test_forwarded_signal_fails_no_call(void **state)
{
	char *argv[] = {BPFTIME(0), "--", SUP_PROBE, "busy-sigint", NULL};
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	start(&p, argv, false);
	signal_busy_tool(&p);
}

/* The same for a tool that joined another session: its calls are served
 * by that session's supervisor, which sends the signal for the one the
 * tool runs under ("signal" on the control socket). */
static void test_forwarded_signal_fails_no_call_of_joined_tool(void **state)
{
	char *a_argv[] = {BPFTIME(0), "--session", "busy", "--", SUP_PROBE, "wait-bpf", NULL};
	char *b_argv[] = {BPFTIME(0), "--session", "busy", "--", SUP_PROBE, "busy-sigint", NULL};
	struct proc a, b;

	SKIP_WITHOUT_SECCOMP();
	start(&a, a_argv, false);
	assert_true(read_until(&a, "first -1 EINVAL\n"));
	start(&b, b_argv, false);
	signal_busy_tool(&b);
	assert_int_equal(write(a.in, "go\n", 3), 3);
	assert_true(read_until(&a, "second -1 EINVAL\n"));
	assert_int_equal(finish(&a), 0);
}

/* Started with SIGINT ignored (`bpftime run -- TOOL &` in a script): TOOL
 * inherits the ignored SIGINT, and a signal sent to us reaches it as it
 * would reach TOOL without bpftime: its own handler runs, and a TOOL
 * without one ignores it. */
static void test_ignored_sigint_stays_transparent(void **state)
{
	char *plain[] = {BPFTIME(0), "--", "/bin/sh", "-c", "echo ready; sleep 1; echo survived",
			 NULL};
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	child_ignores_sigint = true;
	check_forwarded(SIGINT, "got SIGINT");
	start(&p, plain, false);
	child_ignores_sigint = false;
	assert_true(read_until(&p, "ready"));
	assert_int_equal(kill(p.pid, SIGINT), 0);
	assert_true(read_until(&p, "survived"));
	assert_int_equal(finish(&p), 0);
}

/* ---- --fake-root ---- */

/* @line is one whole line of @buf (the supervisor's log may surround it) */
static bool has_line(const char *buf, const char *line)
{
	size_t n = strlen(line);

	for (const char *at = buf; (at = strstr(at, line)); at++) {
		if ((at == buf || at[-1] == '\n') && at[n] == '\n')
			return true;
	}
	return false;
}

static void test_fake_root_id(void **state)
{
	char real[32];
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, true, BPFTIME(1), "--fake-root", "--", "id", "-u", NULL), 0);
	assert_true(has_line(p.buf, "0"));
	assert_int_equal(run(&p, true, BPFTIME(1), "--", "id", "-u", NULL), 0);
	snprintf(real, sizeof(real), "%u", getuid() == 0 ? NOBODY : getuid());
	assert_true(has_line(p.buf, real));
	assert_false(has_line(p.buf, "0"));
}

static void check_fake_root_probe(const char *probe)
{
	char expect[64];
	struct proc p;

	assert_int_equal(run(&p, true, BPFTIME(1), "--fake-root", "--", probe, "ids", NULL), 0);
	assert_non_null(strstr(p.buf, "uid 0 euid 0 gid 0 egid 0\n"));
	assert_non_null(strstr(p.buf, "resuid 0 0 0 resgid 0 0 0\n"));
	assert_non_null(strstr(p.buf, "capeff 000001ff") || strstr(p.buf, "capeff 000000ff") ||
			strstr(p.buf, "capeff 0000007f"));
	/* without --fake-root: the truth */
	assert_int_equal(run(&p, true, BPFTIME(1), "--", probe, "ids", NULL), 0);
	snprintf(expect, sizeof(expect), "uid %u euid %u", getuid() == 0 ? NOBODY : getuid(),
		 getuid() == 0 ? NOBODY : getuid());
	assert_non_null(strstr(p.buf, expect));
	assert_non_null(strstr(p.buf, "capeff 0000000000000000"));
}

static void test_fake_root_probe_dynamic(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_fake_root_probe(SUP_PROBE);
}

static void test_fake_root_probe_static(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_fake_root_probe(SUP_PROBE_STATIC);
}

/* ---- bpf() reaches the emulator ---- */

static void check_bpf999(const char *probe)
{
	struct proc p;

	/* --log-level warn: the emulator names the unknown command it got */
	assert_int_equal(
	    run(&p, true, BPFTIME(1), "--log-level", "warn", "--", probe, "bpf999", NULL), 0);
	assert_non_null(strstr(p.buf, "bpf999 -1 EINVAL\n"));
	assert_non_null(strstr(p.buf, "999"));
	assert_non_null(strstr(p.buf, "bpftime: "));
}

/* --agent: a dynamic TOOL (and what it runs) gets the agent by LD_PRELOAD,
 * in the session it runs in */
static void test_agent_dynamic(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	assert_int_equal(run(&p, false, BPFTIME(0), "--agent", "--session", "ag", "--", "/bin/sh",
			     "-c",
			     "grep -q libbpftime-agent /proc/self/maps && echo agent=yes; "
			     "echo \"session=$BPFTIME_AGENT_SESSION_DIR\"",
			     NULL),
			 0);
	assert_non_null(strstr(p.buf, "agent=yes\n"));
	assert_non_null(strstr(p.buf, "/ag\n"));
	assert_non_null(strstr(p.buf, "session=/"));
}

static void test_bpf_reaches_emulator_dynamic(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_bpf999(SUP_PROBE);
}

static void test_bpf_reaches_emulator_static(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_bpf999(SUP_PROBE_STATIC);
}

/* As nobody the kernel refuses BPF_MAP_CREATE (EPERM, with
 * unprivileged_bpf_disabled); bpftime creates the map. */
static void check_map_create(const char *probe)
{
	struct proc p;

	run(&p, true, probe, "map-create", NULL);
	print_message("kernel, as uid %d: %s", NOBODY, p.buf);
	assert_int_equal(run(&p, true, BPFTIME(1), "--", probe, "map-create", NULL), 0);
	assert_non_null(strstr(p.buf, "map-create ok\n"));
}

static void test_map_create_as_nobody_dynamic(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_map_create(SUP_PROBE);
}

static void test_map_create_as_nobody_static(void **state)
{
	SKIP_WITHOUT_SECCOMP();
	check_map_create(SUP_PROBE_STATIC);
}

/* status shows the objects a running session holds, one line each as
 * bpftool's `map show` does: at least the map's type and name. */
static void test_status_lists_objects(void **state)
{
	char *argv[] = {BPFTIME(0), "--session",  "objects", "--",
			SUP_PROBE,  "map-create", "wait",    NULL};
	struct proc tool, p;

	SKIP_WITHOUT_SECCOMP();
	start(&tool, argv, false);
	assert_true(read_until(&tool, "\n"));
	if (!strstr(tool.buf, "map-create ok\n")) {
		close(tool.in);
		finish(&tool);
		fail_msg("BPF_MAP_CREATE under bpftime: %s", tool.buf);
	}
	run(&p, false, BPFTIME_BIN, "status", "--session-dir", sessions[0], NULL);
	assert_int_equal(write(tool.in, "go\n", 3), 3);
	assert_int_equal(finish(&tool), 0);
	print_message("%s", p.buf);
	assert_non_null(strstr(p.buf, "session objects  supervisor "));
	assert_non_null(strstr(p.buf, "array"));
	assert_non_null(strstr(p.buf, "sup_counts"));
}

/* The reason for --fake-root: bpftrace runs only when geteuid() == 0.
 * As nobody, its BEGIN probe runs (PROG_TEST_RUN in the emulator). */
static void test_fake_root_bpftrace_hello(void **state)
{
	const char *bpftrace = "/usr/bin/bpftrace";
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	if (access(bpftrace, X_OK)) {
		print_message("bpftrace not installed: skipped\n");
		skip();
	}
	assert_int_equal(run(&p, true, BPFTIME(1), "--fake-root", "--", bpftrace, "-e",
			     "BEGIN { printf(\"hello\\n\"); exit(); }", NULL),
			 0);
	print_message("%s", p.buf);
	assert_true(has_line(p.buf, "hello"));
	/* root may raise RLIMIT_MEMLOCK: bpftrace must not complain */
	assert_null(strstr(p.buf, "RLIMIT_MEMLOCK"));
}

/* ---- the supervisor dies ---- */

/* Starts TOOL wait-bpf in session @name and waits for its first answer. */
static void start_waiting_tool(struct proc *p, char *name)
{
	char *argv[] = {BPFTIME(0), "--session", name, "--", SUP_PROBE, "wait-bpf", NULL};

	start(p, argv, false);
	assert_true(read_until(p, "first -1 EINVAL\n"));
}

static void test_supervisor_killed_gives_enosys(void **state)
{
	struct proc p;
	int st;

	SKIP_WITHOUT_SECCOMP();
	start_waiting_tool(&p, "killed");
	assert_int_equal(kill(p.pid, SIGKILL), 0);
	assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
	/* TOOL lives on (reparented to us): its next bpf() fails, no hang */
	assert_int_equal(write(p.in, "go\n", 3), 3);
	assert_true(read_until(&p, "second -1 ENOSYS\n"));
	close(p.in);
	close(p.out);
}

/* ---- status ---- */

static int status(struct proc *p, bool clean)
{
	return run(p, false, BPFTIME_BIN, "status", "--session-dir", sessions[0],
		   clean ? "--clean" : NULL, NULL);
}

static void test_status_lists_running_session(void **state)
{
	struct proc tool, p;

	SKIP_WITHOUT_SECCOMP();
	start_waiting_tool(&tool, "listed");
	assert_int_equal(status(&p, false), 0);
	assert_non_null(strstr(p.buf, "session listed  supervisor "));
	assert_non_null(strstr(p.buf, "wait-bpf"));
	assert_int_equal(write(tool.in, "go\n", 3), 3);
	assert_int_equal(finish(&tool), 0);
	/* the supervisor removed its session when TOOL exited */
	assert_int_equal(status(&p, false), 0);
	assert_null(strstr(p.buf, "session listed"));
}

static void test_status_cleans_stale_session(void **state)
{
	struct proc tool, p;
	int st;

	SKIP_WITHOUT_SECCOMP();
	start_waiting_tool(&tool, "stale");
	kill(tool.pid, SIGKILL);
	waitpid(tool.pid, &st, 0);
	/* directories too: the emulator's tracefs ones (emul-tracefs-dir.c) */
	for (int i = 0; i < 3; i++) {
		static const char *const sub[] = {"", "/events", "/events/syscalls"};
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/stale/tracefs%s", sessions[0], sub[i]);
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	assert_int_equal(status(&p, false), 0);
	assert_non_null(strstr(p.buf, "session stale  stale: no supervisor"));
	assert_int_equal(status(&p, true), 0);
	assert_non_null(strstr(p.buf, "session stale  stale: removed"));
	assert_int_equal(status(&p, false), 0);
	assert_null(strstr(p.buf, "session stale"));
	close(tool.in); /* the orphaned TOOL reads EOF and exits */
	close(tool.out);
}

/* A second `bpftime run --session NAME` hands its tool to the session's
 * supervisor: one emulator answers both, status lists both, and the session
 * stays until the joined tool is done too. */
static void test_join_running_session(void **state)
{
	char *a_argv[] = {BPFTIME(0), "--log-level", "info",     "--session", "shared",
			  "--",       SUP_PROBE,     "wait-bpf", NULL};
	char *b_argv[] = {BPFTIME(0), "--session", "shared", "--", SUP_PROBE, "wait-bpf", NULL};
	struct proc a, b, p;

	SKIP_WITHOUT_SECCOMP();
	start(&a, a_argv, false);
	assert_true(read_until(&a, "first -1 EINVAL\n"));
	start(&b, b_argv, false);
	assert_true(read_until(&b, "first -1 EINVAL\n"));
	/* B's tool was answered by A's supervisor */
	assert_true(read_until(&a, ") joined"));
	assert_int_equal(status(&p, false), 0);
	assert_non_null(strstr(p.buf, "session shared  supervisor "));
	assert_non_null(strstr(p.buf, "  tool "));
	assert_non_null(strstr(p.buf, "  joined "));
	/* A's tool ends: its supervisor stays for B's */
	assert_int_equal(write(a.in, "go\n", 3), 3);
	assert_true(read_until(&a, "second -1 EINVAL\n"));
	usleep(200000);
	assert_int_equal(waitpid(a.pid, NULL, WNOHANG), 0);
	assert_int_equal(write(b.in, "go\n", 3), 3);
	assert_true(read_until(&b, "second -1 EINVAL\n"));
	assert_int_equal(finish(&b), 0);
	assert_int_equal(finish(&a), 0);
	assert_int_equal(status(&p, false), 0);
	assert_null(strstr(p.buf, "session shared"));
}

/* ---- messages ---- */

static void test_nested_run_explains(void **state)
{
	struct proc p;

	SKIP_WITHOUT_SECCOMP();
	/* the inner supervisor's TOOL cannot get a second listener (EBUSY) */
	assert_int_equal(run(&p, false, BPFTIME(0), "--", BPFTIME(0), "--", "true", NULL), 125);
	assert_non_null(strstr(p.buf, "already runs under"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_status_is_tools),
	    cmocka_unit_test(test_signal_death_is_128_plus_signal),
	    cmocka_unit_test(test_tool_not_found_is_127),
	    cmocka_unit_test(test_bpftime_run_alias),
	    cmocka_unit_test(test_attach_refused),
	    cmocka_unit_test(test_run_waits_out_a_status_probe),
	    cmocka_unit_test(test_tool_killed_releases_session),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_bad_option_says_what_to_do),
	    cmocka_unit_test(test_sigint_is_forwarded),
	    cmocka_unit_test(test_sigterm_is_forwarded),
	    cmocka_unit_test(test_forwarded_signal_fails_no_call),
	    cmocka_unit_test(test_forwarded_signal_fails_no_call_of_joined_tool),
	    cmocka_unit_test(test_ignored_sigint_stays_transparent),
	    cmocka_unit_test(test_fake_root_id),
	    cmocka_unit_test(test_fake_root_probe_dynamic),
	    cmocka_unit_test(test_fake_root_probe_static),
	    cmocka_unit_test(test_agent_dynamic),
	    cmocka_unit_test(test_bpf_reaches_emulator_dynamic),
	    cmocka_unit_test(test_bpf_reaches_emulator_static),
	    cmocka_unit_test(test_supervisor_killed_gives_enosys),
	    cmocka_unit_test(test_status_lists_running_session),
	    cmocka_unit_test(test_status_cleans_stale_session),
	    cmocka_unit_test(test_join_running_session),
	    cmocka_unit_test(test_nested_run_explains),
	};
	/* what needs bpf-emul's commands, not only the trap (supervisor-emul) */
	const struct CMUnitTest emul[] = {
	    cmocka_unit_test(test_map_create_as_nobody_dynamic),
	    cmocka_unit_test(test_map_create_as_nobody_static),
	    cmocka_unit_test(test_status_lists_objects),
	    cmocka_unit_test(test_fake_root_bpftrace_hello),
	};
	const char *only = getenv("SUP_TEST_GROUP");

	if (only && !strcmp(only, "emul"))
		return cmocka_run_group_tests_name("supervisor-emul", emul, setup, teardown);
	return cmocka_run_group_tests_name("supervisor-run", tests, setup, teardown);
}
