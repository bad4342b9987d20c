// SPDX-License-Identifier: MIT
/*
 * The program test_seccomp.c runs under the filter: `seccomp_helper MODE
 * [ARG]` makes trapped calls (sc-test.h) and checks their answers itself.
 * Exit 0 when every check holds; otherwise a line on stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sc-test.h"

static const char *mode = "?";

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "seccomp_helper %s: line %d: %s (errno %d)\n", mode,       \
				__LINE__, #cond, errno);                                           \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static long op(enum sc_op o, uint64_t a, uint64_t b)
{
	return syscall(SYS_bpf, (long)o, a, b);
}

/* the call fails with @err */
static int fails(long ret, int err)
{
	return ret == -1 && errno == err;
}

static void mode_value(void)
{
	CHECK(op(SC_OP_VALUE, 0, 0) == 0);
	CHECK(op(SC_OP_VALUE, 12345, 0) == 12345);
	CHECK(op(SC_OP_VALUE, 1ull << 40, 0) == 1ll << 40);
	CHECK(fails(op(SC_OP_ERRNO, ENOENT, 0), ENOENT));
	CHECK(fails(op(SC_OP_ERRNO, E2BIG, 0), E2BIG));
	CHECK(fails(op(SC_OP_ERRNO, 4095, 0), 4095));
	/* not trapped: reaches the kernel */
	CHECK(syscall(SYS_getpid) == getpid());
}

static void mode_continue(const char *ppid)
{
	/* trapped, let through: the kernel's answer */
	CHECK(syscall(SYS_getppid) == atoi(ppid));
	CHECK(getppid() == atoi(ppid));
}

static void memory_read(void)
{
	size_t len = (1 << 20) + 17, page = (size_t)getpagesize();
	unsigned char *buf = malloc(len), *two;

	CHECK(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(rand() >> 7);
	CHECK(op(SC_OP_READ, (uintptr_t)buf, len) == sc_hash(buf, len));
	CHECK(op(SC_OP_READ, (uintptr_t)buf + 3, 1) == sc_hash(buf + 3, 1));
	CHECK(op(SC_OP_READ, 0, 0) == sc_hash(buf, 0));
	CHECK(fails(op(SC_OP_READ, 0, 8), EFAULT));
	CHECK(fails(op(SC_OP_READ, ~0ull - 3, 8), EFAULT));
	/* a read running off the end of a mapping is a fault, not a short read */
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(two != MAP_FAILED);
	CHECK(munmap(two + page, page) == 0);
	memset(two, 0x5a, page);
	CHECK(op(SC_OP_READ, (uintptr_t)two + page - 8, 8) == sc_hash(two + page - 8, 8));
	CHECK(fails(op(SC_OP_READ, (uintptr_t)two + page - 8, 9), EFAULT));
	CHECK(munmap(two, page) == 0);
	free(buf);
}

static void memory_write(void)
{
	size_t len = 100000, page = (size_t)getpagesize();
	unsigned char *buf = calloc(1, len + 1), *ro;

	CHECK(buf);
	CHECK(op(SC_OP_WRITE, (uintptr_t)buf, len) == 0);
	for (size_t i = 0; i < len; i++)
		CHECK(buf[i] == sc_pattern(i));
	CHECK(buf[len] == 0);
	CHECK(fails(op(SC_OP_WRITE, 8, 8), EFAULT));
	/* copy_to_user does not write through a read-only mapping */
	ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED);
	CHECK(fails(op(SC_OP_WRITE, (uintptr_t)ro, 8), EFAULT));
	CHECK(ro[0] == 0);
	munmap(ro, page);
	free(buf);
}

static void mode_memory(void)
{
	memory_read();
	memory_write();
}

static void check_installed(int fd, int cloexec)
{
	char text[64] = {0};

	CHECK(fd >= 0);
	CHECK(!!(fcntl(fd, F_GETFD) & FD_CLOEXEC) == cloexec);
	CHECK(pread(fd, text, sizeof(text) - 1, 0) == (ssize_t)strlen(SC_MEMFD_TEXT));
	CHECK(strcmp(text, SC_MEMFD_TEXT) == 0);
	close(fd);
}

static void mode_install(void)
{
	check_installed((int)op(SC_OP_INSTALL, O_CLOEXEC, 0), 1);
	check_installed((int)op(SC_OP_INSTALL, 0, 0), 0);
	CHECK(fails(op(SC_OP_INSTALL, O_NONBLOCK, 0), EINVAL));
}

static long getfd_of(int fd)
{
	struct sc_file_id id;
	struct stat st;

	CHECK(fstat(fd, &st) == 0);
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	return op(SC_OP_GETFD, (uint64_t)fd, (uintptr_t)&id);
}

static void mode_getfd(void)
{
	int p[2], fd;

	CHECK(pipe(p) == 0);
	CHECK(getfd_of(p[0]) == 0);
	CHECK(getfd_of(p[1]) == 0);
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(getfd_of(fd) == 0);
	/* a dup is the same file */
	CHECK(dup2(fd, 77) == 77);
	CHECK(getfd_of(77) == 0);
	CHECK(fails(op(SC_OP_GETFD, 999, 0), EBADF));
	CHECK(fails(op(SC_OP_GETFD, (uint64_t)-1, 0), EBADF));
}

static void *who(void *arg)
{
	CHECK(op(SC_OP_PID, 0, 0) == getpid());
	CHECK(op(SC_OP_TID, 0, 0) == gettid());
	CHECK(op(SC_OP_UID, 0, 0) == getuid());
	return arg;
}

static void mode_thread(void)
{
	pthread_t t;

	who(NULL);
	CHECK(pthread_create(&t, NULL, who, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
}

static int wait_child(pid_t pid)
{
	int st;

	CHECK(pid > 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	return st;
}

/* A grandchild of the test, running this program again: its calls reach
 * the same listener. */
static void mode_fork_exec(void)
{
	char *argv[] = {"seccomp_helper", "who", NULL};
	pid_t pid;
	int st;

	who(NULL);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(126);
	}
	st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A child killed by the handler in the middle of its call; our own calls
 * still work afterwards. */
static void mode_kill_child(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		op(SC_OP_KILL_ME, 0, 0);
		_exit(0);
	}
	st = wait_child(pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(op(SC_OP_VALUE, 7, 0) == 7);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	got_usr1 = 1;
}

/* A signal with a handler (no SA_RESTART) during a received call: with
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV the call completes, as the
 * kernel's bpf() would, and the handler runs afterwards. */
static void mode_signal(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(op(SC_OP_SIGNAL_ME, 0, 0) == 42);
	CHECK(got_usr1);
}

/* SIGUSR1 (a handler, no SA_RESTART) comes while a call waits queued, not
 * received yet. Sent by bpftime_seccomp__kill ("pending-held"), the call
 * completes and the handler runs after it; sent by a plain kill
 * ("pending-eintr"), the kernel fails the call with EINTR: the behaviour
 * the former works around. */
static void mode_pending(bool held)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	long r;

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	r = op(SC_OP_VALUE, 42, 0);
	CHECK(got_usr1);
	CHECK(held ? r == 42 : fails(r, EINTR));
}

/* What the supervisor ignored stays ignored; nothing is blocked. */
static void mode_sigstate(void)
{
	struct sigaction sa;
	sigset_t mask;

	CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
	CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
	CHECK(sigprocmask(SIG_SETMASK, NULL, &mask) == 0);
	for (int sig = 1; sig < 32; sig++)
		CHECK(!sigismember(&mask, sig));
}

/* bpf(2) from this program's own code, not libc's */
static long own_bpf(long cmd, long a, long b)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_bpf), "D"(cmd), "S"(a), "d"(b)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The test exempts this program's file: calls from its code reach the
 * kernel (which knows no such command), libc's still the handler; and so
 * again after an exec, where the code is mapped elsewhere. */
static void mode_exempt(char *self, const char *again)
{
	long own = own_bpf(SC_OP_VALUE, 7, 0);

	CHECK(own < 0 && own > -4096);
	CHECK(op(SC_OP_VALUE, 7, 0) == 7);
	if (again) {
		char *argv[] = {self, (char *)"exempt", NULL};

		execv("/proc/self/exe", argv);
		CHECK(!"execv");
	}
}

/* The listener closed under us: pending and later calls fail with ENOSYS. */
static void mode_enosys(void)
{
	CHECK(fails(op(SC_OP_VALUE, 1, 0), ENOSYS));
	CHECK(fails(op(SC_OP_VALUE, 2, 0), ENOSYS));
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "?";
	if (!strcmp(mode, "value"))
		mode_value();
	else if (!strcmp(mode, "continue") && argc > 2)
		mode_continue(argv[2]);
	else if (!strcmp(mode, "memory"))
		mode_memory();
	else if (!strcmp(mode, "install"))
		mode_install();
	else if (!strcmp(mode, "getfd"))
		mode_getfd();
	else if (!strcmp(mode, "who"))
		who(NULL);
	else if (!strcmp(mode, "thread"))
		mode_thread();
	else if (!strcmp(mode, "fork-exec"))
		mode_fork_exec();
	else if (!strcmp(mode, "kill-child"))
		mode_kill_child();
	else if (!strcmp(mode, "kill-me"))
		op(SC_OP_KILL_ME, 0, 0);
	else if (!strcmp(mode, "signal"))
		mode_signal();
	else if (!strcmp(mode, "pending-held"))
		mode_pending(true);
	else if (!strcmp(mode, "pending-eintr"))
		mode_pending(false);
	else if (!strcmp(mode, "sigstate"))
		mode_sigstate();
	else if (!strcmp(mode, "exempt"))
		mode_exempt(argv[0], argc > 2 ? argv[2] : NULL);
	else if (!strcmp(mode, "enosys"))
		mode_enosys();
	else if (!strcmp(mode, "exit") && argc > 2)
		return atoi(argv[2]);
	else if (!strcmp(mode, "raise") && argc > 2)
		raise(atoi(argv[2]));
	else
		CHECK(!"unknown mode");
	return 0;
}
