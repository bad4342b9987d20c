// SPDX-License-Identifier: MIT
/*
 * The seccomp module against the real kernel: seccomp_helper (next to this
 * binary) runs under the filter and checks the answers of the handler
 * below, which is what bpf-emul will be in the supervisor. Needs seccomp
 * user notification (Linux 5.9 for ADDFD): skipped without it. Works as
 * root and as an ordinary user.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <cmocka.h>
#include <bpftime/seccomp.h>
#include "sc-test.h"
#include "seccomp-internal.h"

static const int trapped[] = {SYS_bpf, SYS_getppid, -1};

/* What the handler saw; reset by each test. */
struct sc_state {
	int calls;
	int continues;
	pid_t pid[8], tid[8]; /* callers of SC_OP_PID, in order */
	int nr_pids;
	/* SC_OP_KILL_ME: the ops on a caller that is gone */
	bool killed;
	bool valid_after_kill;
	int read_after_kill;
	int install_after_kill;
};

static char last_log[512];

static void capture_log(enum bpftime_seccomp_log_level level, const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- the handler ---- */

static long op_read(struct bpftime_caller *c, uint64_t addr, uint64_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	long ret;
	int err;

	assert_non_null(buf);
	err = c->ops->read(c->ctx, buf, addr, len);
	ret = err ? err : sc_hash(buf, len);
	free(buf);
	return ret;
}

static long op_write(struct bpftime_caller *c, uint64_t addr, uint64_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	int err;

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = sc_pattern(i);
	err = c->ops->write(c->ctx, addr, buf, len);
	free(buf);
	return err;
}

static long op_install(struct bpftime_caller *c, int flags)
{
	int fd = memfd_create("sc-test", MFD_CLOEXEC), ret;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, SC_MEMFD_TEXT, strlen(SC_MEMFD_TEXT)), strlen(SC_MEMFD_TEXT));
	ret = c->ops->install_fd(c->ctx, fd, flags);
	close(fd);
	return ret;
}

static long op_getfd(struct bpftime_caller *c, int caller_fd, uint64_t uid)
{
	struct sc_file_id want;
	struct stat st;
	int fd, err;

	fd = c->ops->get_fd(c->ctx, caller_fd);
	if (fd < 0)
		return fd;
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	err = c->ops->read(c->ctx, &want, uid, sizeof(want));
	if (err)
		return err;
	return want.dev == st.st_dev && want.ino == st.st_ino ? 0 : -EXDEV;
}

static long op_kill_me(struct sc_state *st, struct bpftime_caller *c)
{
	char byte;

	assert_true(bpftime_seccomp_caller_valid(c));
	assert_int_equal(kill(c->pid, SIGKILL), 0);
	/* the thread leaves its killable wait and withdraws the notification */
	for (int i = 0; i < 5000 && bpftime_seccomp_caller_valid(c); i++)
		sleep_ms(1);
	st->killed = true;
	st->valid_after_kill = bpftime_seccomp_caller_valid(c);
	st->read_after_kill = c->ops->read(c->ctx, &byte, 4096, 1);
	st->install_after_kill = op_install(c, O_CLOEXEC);
	return 0;
}

static long op_signal_me(struct bpftime_caller *c)
{
	assert_int_equal(syscall(SYS_tgkill, c->pid, c->tid, SIGUSR1), 0);
	sleep_ms(50);
	return 42;
}

static long op_pid(struct sc_state *st, struct bpftime_caller *c)
{
	if (st->nr_pids < 8) {
		st->pid[st->nr_pids] = c->pid;
		st->tid[st->nr_pids++] = c->tid;
	}
	return c->pid;
}

static long handler(void *ctx, struct bpftime_caller *c, long nr, const uint64_t args[6])
{
	struct sc_state *st = ctx;

	if (nr == SYS_getppid) {
		st->continues++;
		return BPFTIME_EMUL_CONTINUE;
	}
	assert_int_equal(nr, SYS_bpf);
	st->calls++;
	switch (args[0]) {
	case SC_OP_VALUE:
		return (long)args[1];
	case SC_OP_ERRNO:
		return -(long)args[1];
	case SC_OP_READ:
		return op_read(c, args[1], args[2]);
	case SC_OP_WRITE:
		return op_write(c, args[1], args[2]);
	case SC_OP_INSTALL:
		return op_install(c, (int)args[1]);
	case SC_OP_GETFD:
		return op_getfd(c, (int)args[1], args[2]);
	case SC_OP_PID:
		return op_pid(st, c);
	case SC_OP_TID:
		return c->tid;
	case SC_OP_UID:
		return c->uid;
	case SC_OP_KILL_ME:
		return op_kill_me(st, c);
	case SC_OP_SIGNAL_ME:
		return op_signal_me(c);
	}
	return -EOPNOTSUPP;
}

/* ---- running the helper ---- */

static char helper_path[PATH_MAX];
/* act as on kernels before 6.9: pidfds of thread groups, not threads */
static bool force_group_pidfds;
/* bpftime_seccomp__exempt_code() for this file; NULL */
static const char *exempt_path;

static int spawn(const char *mode, const char *arg, pid_t *pid, int *listener)
{
	struct bpftime_seccomp_spawn_opts o = {.sz = sizeof(o), .syscalls = trapped};
	char *argv[] = {helper_path, (char *)mode, (char *)arg, NULL};

	return bpftime_seccomp__spawn(argv, &o, pid, listener);
}

/* Run the helper in @mode under the filter until it exits: its wait status. */
static int run(struct sc_state *st, const char *mode, const char *arg)
{
	struct bpftime_seccomp *s;
	int listener, status = -1;
	pid_t pid;

	memset(st, 0, sizeof(*st));
	assert_int_equal(spawn(mode, arg, &pid, &listener), 0);
	assert_true(pid > 0 && listener >= 0);
	s = bpftime_seccomp__new(listener, handler, st);
	assert_non_null(s);
	if (force_group_pidfds)
		s->tasks.thread_pidfd = 0;
	if (exempt_path)
		assert_int_equal(bpftime_seccomp__exempt_code(s, exempt_path), 0);
	assert_int_equal(bpftime_seccomp__loop(s, pid, &status), 0);
	bpftime_seccomp__free(s);
	return status;
}

static void assert_exited_ok(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- tests ---- */

static void test_trapped_call_gets_value_and_errno(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "value", NULL));
	assert_int_equal(st.calls, 6);
}

static void test_continue_runs_the_real_syscall(void **state)
{
	struct sc_state st;
	char ppid[16];

	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	assert_exited_ok(run(&st, "continue", ppid));
	/* and LeakSanitizer's tracer's at exit, in sanitized builds */
	assert_true(st.continues >= 2);
}

/* Calls from the exempt file's code reach the kernel; other code's the
 * handler, before and after an exec moves the code. */
static void test_exempt_code_reaches_the_kernel(void **state)
{
	struct sc_state st;

	assert_int_equal(bpftime_seccomp__exempt_code(NULL, helper_path), -EINVAL);
	exempt_path = helper_path;
	assert_exited_ok(run(&st, "exempt", "again"));
	exempt_path = NULL;
	/* the libc call of each image */
	assert_int_equal(st.calls, 2);
	/* not exempt: the handler answers its own code's call too */
	assert_int_not_equal(run(&st, "exempt", NULL), 0);
}

static void test_caller_memory_read_write_and_efault(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "memory", NULL));
	assert_int_equal(st.calls, 10);
}

static void test_install_fd_gives_a_working_fd(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "install", NULL));
}

static void test_get_fd_resolves_to_the_same_file(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "getfd", NULL));
}

static void test_caller_pid_is_the_thread_group(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "thread", NULL));
	assert_int_equal(st.nr_pids, 2);
	assert_int_equal(st.pid[0], st.pid[1]);
	assert_int_equal(st.tid[0], st.pid[0]);
	assert_int_not_equal(st.tid[1], st.pid[1]);
}

static void test_caller_pid_with_group_pidfds(void **state)
{
	struct sc_state st;

	force_group_pidfds = true;
	assert_exited_ok(run(&st, "thread", NULL));
	force_group_pidfds = false;
	assert_int_equal(st.nr_pids, 2);
	assert_int_equal(st.pid[0], st.pid[1]);
	assert_int_not_equal(st.tid[1], st.pid[1]);
	assert_exited_ok(run(&st, "getfd", NULL));
}

static void test_grandchild_reaches_the_same_handler(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "fork-exec", NULL));
	assert_int_equal(st.nr_pids, 2);
	assert_int_not_equal(st.pid[0], st.pid[1]);
	assert_int_equal(st.calls, 6);
}

static void test_caller_killed_mid_call_does_not_stop_the_loop(void **state)
{
	struct sc_state st;

	assert_exited_ok(run(&st, "kill-child", NULL));
	assert_true(st.killed);
	assert_false(st.valid_after_kill);
	assert_int_equal(st.read_after_kill, -EFAULT);
	assert_true(st.install_after_kill < 0);
	assert_int_equal(st.calls, 2);
}

static void test_spawned_child_killed_mid_call(void **state)
{
	struct sc_state st;
	int status = run(&st, "kill-me", NULL);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(st.killed);
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
	       (ma > major || (ma == major && mi >= minor));
}

static void test_signal_does_not_interrupt_a_received_call(void **state)
{
	struct sc_state st;

	if (!kernel_at_least(5, 19))
		skip(); /* no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */
	assert_exited_ok(run(&st, "signal", NULL));
}

/* SIGUSR1 reaches the helper while its call waits, queued and not
 * received: the listener is readable, and the helper has had time to fall
 * asleep in the kernel's wait. through_server: bpftime_seccomp__kill, else
 * a plain kill. */
static void signal_queued_call(const char *mode, bool through_server)
{
	struct sc_state st = {0};
	struct bpftime_seccomp *s;
	struct pollfd p = {.events = POLLIN};
	int listener, status = -1;
	pid_t pid;

	assert_int_equal(spawn(mode, NULL, &pid, &listener), 0);
	s = bpftime_seccomp__new(listener, handler, &st);
	assert_non_null(s);
	p.fd = bpftime_seccomp__fd(s);
	assert_int_equal(poll(&p, 1, 10000), 1);
	sleep_ms(100);
	assert_int_equal(bpftime_seccomp__kill(through_server ? s : NULL, pid, SIGUSR1), 0);
	/* time for the signal to act before we receive anything: a call we
	 * received in the meantime would switch to the killable wait
	 * (seccomp_do_user_notification) and complete after all */
	sleep_ms(100);
	assert_int_equal(bpftime_seccomp__loop(s, pid, &status), 0);
	assert_exited_ok(status);
	/* held: answered once; a plain kill: the call never reached us */
	assert_int_equal(st.calls, through_server ? 1 : 0);
	bpftime_seccomp__free(s);
}

static void test_kill_does_not_fail_a_queued_call(void **state)
{
	if (!kernel_at_least(5, 19))
		skip(); /* no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */
	signal_queued_call("pending-held", true);
	/* the kernel's behaviour that bpftime_seccomp__kill works around */
	signal_queued_call("pending-eintr", false);
}

static void test_exit_status_is_collected(void **state)
{
	struct sc_state st;
	int status;

	status = run(&st, "exit", "7");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	status = run(&st, "raise", "15");
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
}

static void on_usr1(int sig)
{
}

/* As posix_spawn: ignored signals stay ignored, handlers do not survive
 * (exec resets them), and the program starts with nothing blocked. */
static void test_signal_dispositions_and_mask(void **state)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, handle = {.sa_handler = on_usr1};
	struct sigaction old_usr1, old_usr2;
	sigset_t block, old_mask;
	struct sc_state st;
	int status;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	assert_int_equal(sigaction(SIGUSR2, &ign, &old_usr2), 0);
	assert_int_equal(sigaction(SIGUSR1, &handle, &old_usr1), 0);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	status = run(&st, "sigstate", NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGUSR2, &old_usr2, NULL);
	assert_exited_ok(status);
}

static void test_program_found_in_path(void **state)
{
	char *argv[] = {"sh", "-c", "exit 3", NULL};
	struct bpftime_seccomp_spawn_opts o = {.sz = sizeof(o), .syscalls = trapped};
	struct bpftime_seccomp *s;
	struct sc_state st = {0};
	int listener, status;
	pid_t pid;

	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &listener), 0);
	s = bpftime_seccomp__new(listener, handler, &st);
	assert_non_null(s);
	assert_int_equal(bpftime_seccomp__loop(s, pid, &status), 0);
	bpftime_seccomp__free(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

static void expect_spawn_error(const char *prog, int err)
{
	struct bpftime_seccomp_spawn_opts o = {.sz = sizeof(o), .syscalls = trapped};
	char *argv[] = {(char *)prog, NULL};
	bpftime_seccomp_log_fn old = bpftime_seccomp_set_log(capture_log);
	int listener = 7;
	pid_t pid = 7;

	last_log[0] = 0;
	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &listener), err);
	bpftime_seccomp_set_log(old);
	assert_int_equal(pid, -1);
	assert_int_equal(listener, -1);
	assert_non_null(strstr(last_log, "cannot run"));
	assert_non_null(strstr(last_log, prog));
	/* the child was reaped */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_exec_failure_is_the_spawn_error(void **state)
{
	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	expect_spawn_error("/nonexistent/bpftime-no-such-program", -ENOENT);
	expect_spawn_error("/dev/null", -EACCES);
	/* as execvp: ENOENT after a search of PATH, but EACCES when a
	 * directory of PATH could not be searched (root's PATH may name
	 * directories under /root, which uid 65534 cannot enter) */
	setenv("PATH", "/usr/bin:/bin", 1);
	expect_spawn_error("bpftime-no-such-program-in-path", -ENOENT);
	setenv("PATH", "/usr/bin:/nonexistent:/bin", 1);
	expect_spawn_error("bpftime-no-such-program-in-path", -ENOENT);
	if (path)
		setenv("PATH", path, 1);
	else
		unsetenv("PATH");
	free(path);
}

static void test_bad_options(void **state)
{
	static const int handover[] = {SYS_bpf, SYS_read, -1};
	static const int bad_nr[] = {-5, -1};
	char *argv[] = {helper_path, "exit", "0", NULL};
	struct {
		struct bpftime_seccomp_spawn_opts o;
		uint64_t more;
	} big = {.o = {.sz = sizeof(big)}, .more = 1};
	struct bpftime_seccomp_spawn_opts o = {.sz = sizeof(o), .syscalls = handover};
	bpftime_seccomp_log_fn old = bpftime_seccomp_set_log(capture_log);
	int listener;
	pid_t pid;

	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &listener), -EINVAL);
	o.syscalls = bad_nr;
	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &listener), -EINVAL);
	o.sz = 4;
	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &listener), -EINVAL);
	assert_int_equal(bpftime_seccomp__spawn(argv, &big.o, &pid, &listener), -E2BIG);
	assert_int_equal(bpftime_seccomp__spawn(NULL, NULL, &pid, &listener), -EINVAL);
	bpftime_seccomp_set_log(old);

	errno = 0;
	assert_null(bpftime_seccomp__new(-1, handler, NULL));
	assert_int_equal(errno, EINVAL);
	bpftime_seccomp__free(NULL);
}

/* The supervisor goes away while the program waits in a trapped call: the
 * kernel answers ENOSYS, now and for later calls. */
static void test_closed_listener_gives_enosys(void **state)
{
	/* bpf only: every trapped call fails now, and LeakSanitizer's exit-time
	 * tracer takes getppid() != its parent for the parent's death */
	static const int bpf_only[] = {SYS_bpf, -1};
	struct bpftime_seccomp_spawn_opts o = {.sz = sizeof(o), .syscalls = bpf_only};
	char *argv[] = {helper_path, "enosys", NULL};
	struct pollfd p = {.events = POLLIN};
	int status;
	pid_t pid;

	assert_int_equal(bpftime_seccomp__spawn(argv, &o, &pid, &p.fd), 0);
	assert_int_equal(poll(&p, 1, 10000), 1); /* the first call is pending */
	close(p.fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The supervisor's own poll loop: handle_one when the listener is readable,
 * until the program exits (a pidfd). The program may make trapped calls up
 * to its very end (LeakSanitizer's tracer calls getppid at exit). */
static void test_handle_one_from_own_poll_loop(void **state)
{
	struct sc_state st = {0};
	struct bpftime_seccomp *s;
	struct pollfd p[2] = {{.events = POLLIN}, {.events = POLLIN}};
	int listener, status, answered = 0;
	pid_t pid;

	assert_int_equal(spawn("value", NULL, &pid, &listener), 0);
	s = bpftime_seccomp__new(listener, handler, &st);
	assert_non_null(s);
	p[0].fd = bpftime_seccomp__fd(s);
	p[1].fd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(p[1].fd >= 0);
	while (!p[1].revents) {
		assert_true(poll(p, 2, 10000) > 0);
		if (p[0].revents & POLLIN)
			answered += bpftime_seccomp__handle_one(s);
	}
	close(p[1].fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exited_ok(status);
	assert_int_equal(st.calls, 6);
	assert_int_equal(answered, st.calls + st.continues);
	bpftime_seccomp__free(s);
}

/* ---- setup ---- */

static int find_helper(void)
{
	size_t room = sizeof(helper_path) - sizeof(SC_HELPER) - 1;
	ssize_t n = readlink("/proc/self/exe", helper_path, room);
	char *slash;

	if (n <= 0 || (size_t)n >= room)
		return -1;
	helper_path[n] = 0;
	slash = strrchr(helper_path, '/');
	if (!slash)
		return -1;
	strcpy(slash + 1, SC_HELPER);
	return access(helper_path, X_OK);
}

static bool have_user_notif(void)
{
	struct seccomp_notif_sizes sizes;

	return syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trapped_call_gets_value_and_errno),
	    cmocka_unit_test(test_continue_runs_the_real_syscall),
	    cmocka_unit_test(test_exempt_code_reaches_the_kernel),
	    cmocka_unit_test(test_caller_memory_read_write_and_efault),
	    cmocka_unit_test(test_install_fd_gives_a_working_fd),
	    cmocka_unit_test(test_get_fd_resolves_to_the_same_file),
	    cmocka_unit_test(test_caller_pid_is_the_thread_group),
	    cmocka_unit_test(test_caller_pid_with_group_pidfds),
	    cmocka_unit_test(test_grandchild_reaches_the_same_handler),
	    cmocka_unit_test(test_caller_killed_mid_call_does_not_stop_the_loop),
	    cmocka_unit_test(test_spawned_child_killed_mid_call),
	    cmocka_unit_test(test_signal_does_not_interrupt_a_received_call),
	    cmocka_unit_test(test_kill_does_not_fail_a_queued_call),
	    cmocka_unit_test(test_exit_status_is_collected),
	    cmocka_unit_test(test_signal_dispositions_and_mask),
	    cmocka_unit_test(test_program_found_in_path),
	    cmocka_unit_test(test_exec_failure_is_the_spawn_error),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_closed_listener_gives_enosys),
	    cmocka_unit_test(test_handle_one_from_own_poll_loop),
	};

	if (find_helper()) {
		fprintf(stderr, "test_seccomp: %s not found next to this program\n", SC_HELPER);
		return 1;
	}
	if (!have_user_notif()) {
		fprintf(stderr, "test_seccomp: no seccomp user notification: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
