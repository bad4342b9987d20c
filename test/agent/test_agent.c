// SPDX-License-Identifier: MIT
/*
 * `bpftime start`, `attach` and `detach` from the outside, on agent_target
 * built dynamic, static and static musl: the agent's proof-of-life file
 * (agent-<pid> in the session, "pid exe") appears and goes, and the
 * target's own output, exit status and sleeps are what they are without
 * bpftime. Each case uses its own session directory under /tmp, so the
 * tests run as root and as uid 65534 alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char base[256]; /* the session directory base of this run */

struct out {
	char text[8192];
	int status; /* exit code, 128 + signal */
};

/* Runs @argv with stdout and stderr into @o. */
static void run(char *const argv[], struct out *o)
{
	int p[2], ws = 0;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setenv("BPFTIME_SESSION_DIR", base, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < sizeof(o->text) &&
	       (r = read(p[0], o->text + n, sizeof(o->text) - 1 - n)) > 0)
		n += (size_t)r;
	o->text[n] = '\0';
	close(p[0]);
	waitpid(pid, &ws, 0);
	o->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* The proof-of-life file of @pid in session @s, or "" when absent. */
static void proof(const char *s, int pid, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/agent-%d", base, s, pid);
	out[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
}

/* Whether agent @pid wrote a line containing @what to session @s's log. */
static bool logged(const char *s, int pid, const char *what)
{
	char path[PATH_MAX], line[512], who[32];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/agent.log", base, s);
	snprintf(who, sizeof(who), "agent[%d]: ", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, who) && strstr(line, what);
	fclose(f);
	return found;
}

static void check_proof(const char *s, int pid, const char *exe)
{
	char want[PATH_MAX + 32], got[PATH_MAX + 32], real[PATH_MAX];

	assert_non_null(realpath(exe, real));
	snprintf(want, sizeof(want), "%d %s\n", pid, real);
	proof(s, pid, got, sizeof(got));
	assert_string_equal(got, want);
}

static bool have(const char *target)
{
	return target[0] && access(target, X_OK) == 0;
}

static void start_hello(const char *target)
{
	char *argv[] = {BPFTIME_BIN, "start",        "--session", "st",
			"--",        (char *)target, "hello",     NULL};
	struct out o;
	int pid = 0;

	if (!have(target))
		skip();
	run(argv, &o);
	assert_int_equal(o.status, 7);
	assert_int_equal(sscanf(o.text, "hello %d\n", &pid), 1);
	/* nothing but the target's own line */
	assert_int_equal(strchr(o.text, '\n') - o.text + 1, (int)strlen(o.text));
	check_proof("st", pid, target);
}

static void start_dynamic(void **state)
{
	start_hello(TARGET_DYNAMIC);
}

static void start_static(void **state)
{
	start_hello(TARGET_STATIC);
}

static void start_musl(void **state)
{
	start_hello(TARGET_MUSL);
}

/* A static program injected at start execs a dynamic one: the new image
 * loads the agent through the LD_PRELOAD it inherited. */
static void start_static_then_exec_dynamic(void **state)
{
	char *argv[] = {BPFTIME_BIN,   "start", "--session",    "ex", "--",
			TARGET_STATIC, "exec",  TARGET_DYNAMIC, NULL};
	char path[PATH_MAX], line[512];
	int pid = 0, pid2 = 0, injected = 0, loaded = 0;
	struct out o;
	FILE *f;

	run(argv, &o);
	assert_int_equal(o.status, 7);
	assert_int_equal(sscanf(o.text, "exec %d\nhello %d\n", &pid, &pid2), 2);
	assert_int_equal(pid, pid2);
	check_proof("ex", pid, TARGET_DYNAMIC);
	snprintf(path, sizeof(path), "%s/ex/agent.log", base);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		injected += strstr(line, "injected") != NULL;
		loaded += strstr(line, "dynamic loader") != NULL;
	}
	fclose(f);
	assert_int_equal(injected, 1);
	assert_int_equal(loaded, 1);
}

struct ticker {
	pid_t pid;
	FILE *out;
};

static void ticker_start(struct ticker *t, const char *target, const char *extra)
{
	char line[256];
	int p[2], pid = 0;

	assert_int_equal(pipe(p), 0);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(target, target, "tick", "10", extra, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	t->out = fdopen(p[0], "r");
	assert_non_null(t->out);
	assert_non_null(fgets(line, sizeof(line), t->out));
	assert_int_equal(sscanf(line, "pid %d", &pid), 1);
	assert_int_equal(pid, t->pid);
}

/* The next @n tick lines must all be "ok". */
static void ticks_ok(struct ticker *t, int n)
{
	char line[256];

	for (int i = 0; i < n; i++) {
		assert_non_null(fgets(line, sizeof(line), t->out));
		if (!strstr(line, " ok\n"))
			fail_msg("target: %s", line);
	}
}

static int ticker_finish(struct ticker *t)
{
	char line[256];
	int ws = 0;

	while (fgets(line, sizeof(line), t->out)) {
		if (!strstr(line, " ok\n"))
			fail_msg("target: %s", line);
	}
	fclose(t->out);
	waitpid(t->pid, &ws, 0);
	return ws;
}

static bool agent_mapped(pid_t pid)
{
	char path[64], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "libbpftime-agent.so") != NULL;
	fclose(f);
	return found;
}

static void attach_detach(const char *target)
{
	char pid[16], got[PATH_MAX];
	char *att[] = {BPFTIME_BIN, "attach", "--session", "at", pid, NULL};
	char *det[] = {BPFTIME_BIN, "detach", pid, NULL};
	struct ticker t;
	struct out o;
	bool mapped;

	if (!have(target))
		skip();
	ticker_start(&t, target, NULL);
	ticks_ok(&t, 1); /* now it sleeps most of the time: attach interrupts a nanosleep */
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	run(att, &o);
	if (o.status)
		fail_msg("attach: %s", o.text);
	check_proof("at", t.pid, target);
	assert_true(agent_mapped(t.pid));
	ticks_ok(&t, 2);
	run(det, &o);
	if (o.status)
		fail_msg("detach: %s", o.text);
	proof("at", t.pid, got, sizeof(got));
	assert_string_equal(got, "");
	/* injected: unmapped, unless it patched code a thread may still be
	 * running: here libc's _Fork, watched for fork children where the
	 * program has one (the agent's log says so) */
	mapped = agent_mapped(t.pid);
	assert_int_equal(mapped, logged("at", t.pid, "fork children follow"));
	/* detaching twice says so */
	run(det, &o);
	assert_int_not_equal(o.status, 0);
	assert_non_null(strstr(o.text, mapped ? "mapped but not attached" : "has no agent"));
	assert_int_equal(ticker_finish(&t), 0);
}

static void attach_dynamic(void **state)
{
	attach_detach(TARGET_DYNAMIC);
}

static void attach_static(void **state)
{
	attach_detach(TARGET_STATIC);
}

static void attach_musl(void **state)
{
	attach_detach(TARGET_MUSL);
}

static void attach_pid1_refused(void **state)
{
	char *argv[] = {BPFTIME_BIN, "attach", "1", NULL};
	struct out o;

	run(argv, &o);
	assert_int_not_equal(o.status, 0);
	assert_non_null(strstr(o.text, "refusing pid 1"));
}

static void attach_nondumpable_refused(void **state)
{
	char pid[16];
	char *argv[] = {BPFTIME_BIN, "attach", pid, NULL};
	struct ticker t;
	struct out o;

	ticker_start(&t, TARGET_DYNAMIC, "nodump");
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	run(argv, &o);
	assert_int_not_equal(o.status, 0);
	if (!strstr(o.text, "is not dumpable"))
		fail_msg("attach: %s", o.text);
	if (getuid() == 0) /* only root may read a non-dumpable process's maps */
		assert_false(agent_mapped(t.pid));
	ticks_ok(&t, 1); /* untouched: it runs on */
	kill(t.pid, SIGKILL);
	ticker_finish(&t);
}

static void attach_no_process(void **state)
{
	char *argv[] = {BPFTIME_BIN, "attach", "2147483646", NULL};
	struct out o;

	run(argv, &o);
	assert_int_not_equal(o.status, 0);
	assert_non_null(strstr(o.text, "no process"));
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/bpftime-agent-test.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(start_dynamic),
	    cmocka_unit_test(start_static),
	    cmocka_unit_test(start_musl),
	    cmocka_unit_test(start_static_then_exec_dynamic),
	    cmocka_unit_test(attach_dynamic),
	    cmocka_unit_test(attach_static),
	    cmocka_unit_test(attach_musl),
	    cmocka_unit_test(attach_pid1_refused),
	    cmocka_unit_test(attach_nondumpable_refused),
	    cmocka_unit_test(attach_no_process),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
