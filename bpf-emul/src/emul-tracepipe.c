// SPDX-License-Identifier: MIT
/*
 * The session's trace_pipe. bpf_trace_printk appends lines as the kernel's
 * trace_pipe shows them to <session>/trace_pipe: agents (agent-helpers.c)
 * and programs run in the supervisor (emul-helpers.c, through
 * emul_tracepipe_printk). Each line is one O_APPEND write, so lines of
 * concurrent writers do not mix.
 *
 * Reading is destructive, as the kernel's trace_pipe is: a line goes to one
 * reader, once. The consumed offset is <session>/trace_pipe.pos (a decimal
 * number), updated under flock() by every reader: the tools' pipes below
 * and `bpftime trace` (bpftime_trace_pipe_consume). Lines appended before a
 * reader opened are delivered when no reader consumed them, as the kernel's
 * ring buffer keeps them until read (or, there, overwritten).
 *
 * A tool's open of <tracefs>/trace_pipe (emul-files.c) gets the read end of
 * a pipe: blocking reads that return lines as they come, O_NONBLOCK as
 * asked. A thread of ours per open moves lines from the file to the write
 * end (polling every TICK_MS; whole lines, PIPE_BUF at most per write, so
 * writes are atomic) and ends when the tool closes its end (POLLERR on
 * ours) or the session ends (then the tool reads EOF).
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "emul-tracepipe.h"

#define TICK_MS   20
#define POS_WIDTH 24

struct reader {
	pthread_t thread;
	int wfd;
	atomic_bool done;
	struct emul_tracepipe *tp;
	struct reader *next;
};

struct emul_tracepipe {
	char dir[PATH_MAX];
	atomic_bool stop;
	struct reader *readers;
};

/* ---- writing ---- */

void emul_tracepipe_printk(struct bpftime_emul *e, const char *comm, int tid, uint32_t cpu,
			   const char *text, size_t n)
{
	char path[sizeof(e->session_dir) + 16], line[1024 + 256];
	struct timespec ts;
	int len, fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!comm || !comm[0])
		comm = tid ? "<...>" : "<idle>";
	/* trace_print_context(): comm right-aligned in 16, pid left-aligned
	 * in 7, the CPU, the irq/preempt flags (unknown: dots), seconds */
	len = snprintf(line, sizeof(line),
		       "%16.16s-%-7d [%03u] ..... %5llu.%06lu: bpf_trace_printk: ", comm, tid, cpu,
		       (unsigned long long)ts.tv_sec, ts.tv_nsec / 1000);
	if (len < 0 || (size_t)len >= sizeof(line))
		return;
	if (n > sizeof(line) - (size_t)len - 1)
		n = sizeof(line) - (size_t)len - 1;
	memcpy(line + len, text, n);
	len += (int)n;
	if (line[len - 1] != '\n')
		line[len++] = '\n';
	snprintf(path, sizeof(path), "%s/trace_pipe", e->session_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) < 0)
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "%s: %s", path, strerror(errno));
	close(fd);
}

/* ---- reading ---- */

static uint64_t read_pos(int fd)
{
	char buf[POS_WIDTH + 1];
	ssize_t n = pread(fd, buf, POS_WIDTH, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

static int write_pos(int fd, uint64_t pos)
{
	char buf[POS_WIDTH + 1];

	snprintf(buf, sizeof(buf), "%0*llu\n", POS_WIDTH - 1, (unsigned long long)pos);
	return pwrite(fd, buf, POS_WIDTH, 0) == POS_WIDTH ? 0 : -EIO;
}

/* Under the lock: move what follows the consumed offset (whole lines, one
 * PIPE_BUF at most) to @out. */
static long consume_locked(int log, int posfd, int out)
{
	char buf[PIPE_BUF];
	uint64_t pos = read_pos(posfd);
	struct stat st;
	size_t want, k;
	ssize_t n, w;

	if (fstat(log, &st))
		return -errno;
	if ((uint64_t)st.st_size < pos) /* the file was truncated or replaced */
		pos = 0;
	if ((uint64_t)st.st_size == pos)
		return 0;
	want = (uint64_t)st.st_size - pos < sizeof(buf) ? (size_t)((uint64_t)st.st_size - pos)
							: sizeof(buf);
	n = pread(log, buf, want, (off_t)pos);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	/* whole lines; a longer line than the buffer goes in pieces */
	for (k = (size_t)n; k && buf[k - 1] != '\n'; k--)
		;
	if (!k) {
		if ((size_t)n < sizeof(buf))
			return 0; /* a line being written */
		k = (size_t)n;
	}
	w = write(out, buf, k);
	if (w < 0)
		return -errno;
	if (write_pos(posfd, pos + (uint64_t)w))
		return -EIO;
	return w;
}

long bpftime_trace_pipe_consume(const char *session_dir, int out_fd)
{
	char path[PATH_MAX];
	int log, posfd;
	long ret;

	snprintf(path, sizeof(path), "%s/trace_pipe", session_dir);
	log = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (log < 0)
		return errno == ENOENT ? 0 : -errno;
	snprintf(path, sizeof(path), "%s/trace_pipe.pos", session_dir);
	posfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (posfd < 0) {
		ret = -errno;
		close(log);
		return ret;
	}
	if (flock(posfd, LOCK_EX))
		ret = -errno;
	else
		ret = consume_locked(log, posfd, out_fd);
	close(posfd); /* and the lock */
	close(log);
	return ret;
}

static void *feed(void *arg)
{
	struct reader *r = arg;
	struct pollfd p = {.fd = r->wfd};

	while (!atomic_load(&r->tp->stop)) {
		long n;

		/* the tool closed its end */
		p.events = 0;
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)))
			break;
		n = bpftime_trace_pipe_consume(r->tp->dir, r->wfd);
		if (n > 0)
			continue;
		if (n < 0 && n != -EAGAIN)
			break; /* EPIPE: closed meanwhile */
		/* nothing new, or the tool's pipe is full */
		p.events = n == -EAGAIN ? POLLOUT : 0;
		poll(&p, 1, TICK_MS);
	}
	close(r->wfd);
	atomic_store(&r->done, true);
	return NULL;
}

/* Join the threads whose tool closed its end (@all: every thread). */
static void reap(struct emul_tracepipe *tp, bool all)
{
	for (struct reader **pp = &tp->readers; *pp;) {
		struct reader *r = *pp;

		if (!all && !atomic_load(&r->done)) {
			pp = &r->next;
			continue;
		}
		pthread_join(r->thread, NULL);
		*pp = r->next;
		free(r);
	}
}

long emul_tracepipe_open(struct bpftime_emul *e, struct bpftime_caller *c,
			 struct emul_tracepipe **tpp, int flags)
{
	struct emul_tracepipe *tp = *tpp;
	struct reader *r;
	sigset_t all, old;
	int fds[2], err;
	long ret;

	if (!tp) {
		tp = calloc(1, sizeof(*tp));
		if (!tp)
			return -ENOMEM;
		snprintf(tp->dir, sizeof(tp->dir), "%s", e->session_dir);
		*tpp = tp;
	}
	reap(tp, false);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (pipe2(fds, O_CLOEXEC)) {
		free(r);
		return -errno;
	}
	/* ours never blocks (writes of whole lines, PIPE_BUF at most: all or
	 * -EAGAIN); the tool's blocks unless it asked otherwise */
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) ||
	    ((flags & O_NONBLOCK) && fcntl(fds[0], F_SETFL, O_NONBLOCK))) {
		ret = -errno;
		goto fail;
	}
	r->wfd = fds[1];
	r->tp = tp;
	/* the thread takes no signal: SIGPIPE of a write after the tool
	 * closed stays pending on it and goes with it */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, feed, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ret = -err;
		goto fail;
	}
	r->next = tp->readers;
	tp->readers = r;
	ret = c->ops->install_fd(c->ctx, fds[0], flags & O_CLOEXEC);
	close(fds[0]); /* on failure the thread sees POLLERR and ends */
	return ret;
fail:
	close(fds[0]);
	close(fds[1]);
	free(r);
	return ret;
}

void emul_tracepipe_free(struct emul_tracepipe *tp)
{
	if (!tp)
		return;
	atomic_store(&tp->stop, true);
	reap(tp, true);
	free(tp);
}
