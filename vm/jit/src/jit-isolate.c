// SPDX-License-Identifier: MIT
/*
 * A compilation in a child process (bpftime_jit_opts.timeout_ms), for
 * hosts that must outlive whatever LLVM does with a hostile program: the
 * supervisor compiles every program a tool loads, and LLVM reports its own
 * internal errors by aborting the process, and takes time that grows
 * faster than the program. The child compiles and writes the result into a
 * pipe; the parent reads it against a deadline. A child that dies (an
 * LLVM abort, a crash) or misses the deadline (killed, by its pid) fails
 * the compilation with a message saying so; the host carries on and runs
 * the program interpreted.
 *
 * fork() copies only the calling thread. That thread is the one that uses
 * LLVM in the host (one compilation at a time there); glibc's fork makes
 * malloc usable in the child. The child leaves with _exit(): no atexit
 * handlers and no stdio flush of the host's buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "jit-internal.h"

/* What the child writes: this, the message, then the image. */
struct reply {
	int32_t err;
	uint32_t msg_len;
	uint64_t image_len;
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static __attribute__((noreturn)) void child(const struct bpftime_vm *vm,
					    const struct bpftime_jit_opts *opts, int fd)
{
	char msg[512] = "";
	struct reply r = {0};
	void *image = NULL;
	size_t len = 0;

	/* the host's handlers are not ours to run: a Ctrl-C to the group
	 * ends the compilation, the host sees a signal and interprets */
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* an LLVM abort leaves no core file in the user's directory, and
	 * the compilation ends with the host */
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r.err = jit_compile_here(vm, opts, &image, &len, msg, sizeof(msg));
	r.msg_len = (uint32_t)strlen(msg);
	r.image_len = r.err ? 0 : len;
	if (write_all(fd, &r, sizeof(r)) || write_all(fd, msg, r.msg_len) ||
	    write_all(fd, image, (size_t)r.image_len))
		_exit(1);
	_exit(0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read @n bytes by @deadline: 0, -ETIMEDOUT, or -EPIPE (the child gone). */
static int read_by(int fd, void *p, size_t n, int64_t deadline)
{
	char *c = p;

	while (n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The child's reply into the caller's outputs. */
static int read_reply(int fd, int64_t deadline, void **image, size_t *size, struct jit_err *e)
{
	struct reply r;
	char msg[512];
	void *img;
	int err;

	err = read_by(fd, &r, sizeof(r), deadline);
	if (!err && r.msg_len >= sizeof(msg))
		err = -EPROTO;
	if (!err)
		err = read_by(fd, msg, r.msg_len, deadline);
	if (err)
		return err;
	msg[r.msg_len] = '\0';
	if (r.err)
		return jit_error(e, r.err < 0 ? r.err : -EIO, "%s", msg);
	if (!r.image_len || r.image_len > (1ull << 31))
		return -EPROTO;
	img = malloc((size_t)r.image_len);
	if (!img)
		return jit_error(e, -ENOMEM, "out of memory");
	err = read_by(fd, img, (size_t)r.image_len, deadline);
	if (err) {
		free(img);
		return err;
	}
	*image = img;
	*size = (size_t)r.image_len;
	return 0;
}

/* Reap @pid; what became of it, for the message. */
static int reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int jit_compile_isolated(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts,
			 unsigned timeout_ms, void **image, size_t *size, struct jit_err *e)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fds[2], err, status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return jit_error(e, -errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return jit_error(e, err, "fork for the compilation: %s", strerror(-err));
	}
	if (pid == 0) {
		close(fds[0]);
		child(vm, opts, fds[1]);
	}
	close(fds[1]);
	err = read_reply(fds[0], deadline, image, size, e);
	close(fds[0]);
	if (err == -ETIMEDOUT)
		kill(pid, SIGKILL); /* ours, by its pid */
	if (reap(pid, &status))
		status = 0;
	if (err == -ETIMEDOUT)
		return jit_error(e, -ETIMEDOUT, "LLVM took more than %u ms: stopped", timeout_ms);
	if (err == -EPIPE || err == -EPROTO) {
		if (WIFSIGNALED(status))
			return jit_error(e, -EIO, "LLVM died with signal %d (%s)", WTERMSIG(status),
					 strsignal(WTERMSIG(status)));
		return jit_error(e, -EIO, "the compiling process ended without a result (exit %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	return err;
}
