// SPDX-License-Identifier: MIT
/*
 * The notification server: receive, resolve the caller, run the handler,
 * respond. Nothing here interprets a syscall.
 *
 * What the kernel does that shapes this (kernel/seccomp.c, seccomp_unotify(2)):
 *   - RECV wants a zeroed buffer (check_zeroed_user), sized as
 *     SECCOMP_GET_NOTIF_SIZES says so that a newer kernel's larger struct
 *     fits;
 *   - RECV gives ENOENT when the caller was killed between the wake-up and
 *     the receive, SEND gives ENOENT when it is gone by the time we answer:
 *     both are normal. SEND checks the notification id under the filter's
 *     lock, which is also what a NOTIF_ID_VALID just before it would check;
 *     the check that matters is the one after reading the caller's memory
 *     and before acting on it (seccomp-caller.c);
 *   - a response is an error (-errno in .error), a value (.val), or
 *     SECCOMP_USER_NOTIF_FLAG_CONTINUE with both zero: the kernel then runs
 *     the call itself.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include "seccomp-internal.h"

static void *alloc_at_least(size_t kernel, size_t ours, size_t *size)
{
	*size = kernel > ours ? kernel : ours;
	return calloc(1, *size);
}

struct bpftime_seccomp *bpftime_seccomp__new(int listener, bpftime_seccomp_handler_fn handler,
					     void *ctx)
{
	struct seccomp_notif_sizes sizes;
	struct bpftime_seccomp *s;

	if (listener < 0 || !handler) {
		if (listener >= 0)
			close(listener);
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(listener);
		return NULL;
	}
	s->listener = listener;
	s->handler = handler;
	s->ctx = ctx;
	sec_tasks_init(&s->tasks);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)) {
		sec_log(BPFTIME_SECCOMP_WARN, "SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
		goto err;
	}
	s->req = alloc_at_least(sizes.seccomp_notif, sizeof(*s->req), &s->req_size);
	s->resp = alloc_at_least(sizes.seccomp_notif_resp, sizeof(*s->resp), &s->resp_size);
	if (!s->req || !s->resp)
		goto err;
	return s;
err:
	bpftime_seccomp__free(s);
	return NULL;
}

void bpftime_seccomp__free(struct bpftime_seccomp *s)
{
	int saved = errno;

	if (!s)
		return;
	sec_tasks_release(&s->tasks);
	sec_exempt_release(s->exempt);
	if (s->listener >= 0)
		close(s->listener);
	free(s->req);
	free(s->resp);
	free(s);
	errno = saved;
}

int bpftime_seccomp__fd(const struct bpftime_seccomp *s)
{
	return s->listener;
}

/* 0 with a notification in @n (s->req_size bytes), -ENOENT when its
 * caller is gone. */
static int recv_one(struct bpftime_seccomp *s, struct seccomp_notif *n)
{
	for (;;) {
		memset(n, 0, s->req_size);
		if (!ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n))
			return 0;
		if (errno == ENOENT)
			return -ENOENT;
		if (errno != EINTR)
			return sec_err(-errno, "SECCOMP_IOCTL_NOTIF_RECV: %s", strerror(errno));
	}
}

/* Run the handler for the notification @n. */
static long dispatch(struct bpftime_seccomp *s, const struct seccomp_notif *n)
{
	struct sec_caller sc = {.s = s, .id = n->id, .tid = (pid_t)n->pid};
	struct bpftime_caller c = {.ops = &sec_caller_ops, .ctx = &sc, .tid = (pid_t)n->pid};
	uint64_t args[6];
	int fresh;

	/* only x86-64 calls are trapped (seccomp-filter.c); be sure */
	if (n->data.arch != AUDIT_ARCH_X86_64)
		return BPFTIME_EMUL_CONTINUE;
	fresh = sec_tasks_get(&s->tasks, (pid_t)n->pid, &sc.task);
	if (fresh < 0) {
		if (sec_id_valid(s->listener, n->id))
			sec_log(BPFTIME_SECCOMP_WARN, "tid %u: cannot tell its process: %s", n->pid,
				strerror(-fresh));
		return -ENOSYS;
	}
	if (fresh && !sec_id_valid(s->listener, n->id)) {
		/* gone while we read /proc: the entry may describe a recycled tid */
		sec_tasks_drop(sc.task);
		return -ESRCH;
	}
	/* the agent's own calls: the kernel's (seccomp-exempt.c) */
	if (s->exempt &&
	    sec_exempt_call(s->exempt, sc.task->tgid, n->data.nr, n->data.instruction_pointer))
		return BPFTIME_EMUL_CONTINUE;
	c.pid = sc.task->tgid;
	c.uid = sc.task->uid;
	memcpy(args, n->data.args, sizeof(args));
	return s->handler(s->ctx, &c, n->data.nr, args);
}

/* 1 when answered, 0 when the caller is gone, -errno. */
static int respond(struct bpftime_seccomp *s, uint64_t id, long result)
{
	struct seccomp_notif_resp *r = s->resp;

	memset(r, 0, s->resp_size);
	r->id = id;
	if (result == BPFTIME_EMUL_CONTINUE)
		r->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (result < 0 && result >= -4095) /* the kernel's MAX_ERRNO */
		r->error = (int32_t)result;
	else
		r->val = result;
	for (;;) {
		if (!ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, r))
			return 1;
		if (errno == ENOENT) {
			sec_log(BPFTIME_SECCOMP_DEBUG, "notification %llu: the caller is gone",
				(unsigned long long)id);
			return 0;
		}
		if (errno != EINTR)
			return sec_err(-errno, "SECCOMP_IOCTL_NOTIF_SEND: %s", strerror(errno));
	}
}

int bpftime_seccomp__handle_one(struct bpftime_seccomp *s)
{
	long result;
	int err;

	err = recv_one(s, s->req);
	if (err)
		return err == -ENOENT ? 0 : err;
	result = dispatch(s, s->req);
	return respond(s, s->req->id, result);
}

/* Is a call waiting on the listener, not received yet? */
static bool call_waiting(const struct bpftime_seccomp *s)
{
	struct pollfd p = {.fd = s->listener, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Receive the calls waiting now (at most @max) into new buffers. */
static size_t hold_waiting(struct bpftime_seccomp *s, struct seccomp_notif **held, size_t max)
{
	size_t n = 0;

	while (n < max && call_waiting(s)) {
		struct seccomp_notif *req = malloc(s->req_size);
		int err;

		if (!req)
			break;
		err = recv_one(s, req);
		if (err) {
			free(req);
			if (err == -ENOENT)
				continue; /* its caller was killed meanwhile */
			break;
		}
		held[n++] = req;
	}
	return n;
}

int bpftime_seccomp__kill(struct bpftime_seccomp *s, pid_t pid, int sig)
{
	struct seccomp_notif *held[SEC_HOLD_MAX];
	size_t n = 0;
	int err = 0, r;

	/* A call queued but not received waits interruptibly: a signal with
	 * a handler installed without SA_RESTART fails it with EINTR now (an
	 * open() or ioctl() the kernel would never interrupt). Received, it
	 * waits killably (WAIT_KILLABLE_RECV): the signal stays pending
	 * until our answer and its handler runs after the call returns. */
	if (s)
		n = hold_waiting(s, held, SEC_HOLD_MAX);
	if (kill(pid, sig))
		err = -errno;
	for (size_t i = 0; i < n; i++) {
		r = respond(s, held[i]->id, dispatch(s, held[i]));
		if (r < 0 && !err)
			err = r;
		free(held[i]);
	}
	return err;
}

static int reap(pid_t pid, int *status)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return sec_err(-errno, "waitpid(%d): %s", (int)pid, strerror(errno));
	}
	if (status)
		*status = st;
	return 0;
}

static int serve_until_exit(struct bpftime_seccomp *s, int pidfd, pid_t pid, int *status)
{
	struct pollfd p[2] = {
	    {.fd = s->listener, .events = POLLIN},
	    {.fd = pidfd, .events = POLLIN},
	};
	int err;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sec_err(-errno, "poll: %s", strerror(errno));
		}
		if (p[0].revents & POLLNVAL)
			return -EBADF;
		if (p[0].revents & POLLIN) {
			err = bpftime_seccomp__handle_one(s);
			if (err < 0)
				return err;
		} else if (p[0].revents & POLLHUP) {
			/* no task uses the filter any more (they are reaped):
			 * stop polling the listener, which stays in HUP */
			p[0].fd = -1;
		}
		if (p[1].revents)
			return reap(pid, status);
	}
}

int bpftime_seccomp__loop(struct bpftime_seccomp *s, pid_t pid, int *status)
{
	long pidfd;
	int err;

	if (!s || pid <= 0)
		return -EINVAL;
	/* a pidfd is readable once the process has exited (Linux 5.3) */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return sec_err(-errno, "pidfd_open(%d): %s", (int)pid, strerror(errno));
	err = serve_until_exit(s, (int)pidfd, pid, status);
	close((int)pidfd);
	return err;
}
