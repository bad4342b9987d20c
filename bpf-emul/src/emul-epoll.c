// SPDX-License-Identifier: MIT
/*
 * epoll_ctl(2) on objects. A memfd or regular file cannot be added to an
 * epoll instance (no poll: -EPERM), so for each registration, one per
 * (epoll instance, caller fd) as the kernel's epitems, we add a file of our
 * own to the caller's epoll instance (which caller->get_fd gives us; the
 * kernel adds it there as we ask), with the caller's events and data:
 *
 *   ring buffer maps and    an eventfd, written by a waiter thread per
 *   perf events             buffer that blocks in
 *                           bpftime_map__ringbuf_wait_wakeup /
 *                           bpftime_map__perfbuf_wait (futexes in the
 *                           region, woken by producers). Added with
 *                           EPOLLET, so that each write is reported once.
 *   other maps              a pipe's write end whose reader is closed:
 *                           EPOLLERR, always, as bpf_map_poll() answers for
 *                           maps without map_poll
 *   programs, links, BTF    -EPERM: no poll in their file operations
 *
 * Perf buffers: perf_poll() reports EPOLLIN once per wake-up (it takes
 * rb->poll); bpftime_map__perfbuf_wait takes the same flag, and each
 * take is one eventfd write: the same. A perf event without a buffer yet
 * (not mmap'd) reports nothing, as on 6.18 (probed); its waiter starts when
 * its mmap creates the buffer (emul_epoll_buffer_changed).
 *
 * Ring buffers differ: the kernel wakes the ring's wait queue when a
 * producer submits the record the consumer has caught up to (or with
 * BPF_RB_FORCE_WAKEUP), and its ringbuf_map_poll is level-triggered
 * (EPOLLIN while data is available). Here the waiter writes once per
 * producer wake-up (bpftime_map__ringbuf_wait_wakeup counts them: none is
 * missed while the waiter is busy writing), as many as the kernel's wake
 * ups. A consumer that reads everything it is woken for (libbpf's
 * ring_buffer does) is woken again by the next submit once it caught up.
 * What the level-triggered poll gives besides, the waiter looks for when no
 * wake-up came for a while (1 ms after one, backing off to 20 ms while
 * records are unread; 100 ms when none are): unread records and a
 * consumer_pos that did not move since the previous look mean a consumer
 * asleep with data (one that left records and polled again, or a submit
 * that read consumer_pos just before the consumer's store of it was
 * visible, a race the kernel's poll covers), and it writes again. Such a
 * consumer waits for that look instead of returning at once; records
 * submitted with BPF_RB_NO_WAKEUP reach a sleeping consumer by it too.
 *
 * Finding a registration: epoll instances are anonymous files that all
 * share one inode, so one is told from another by asking the kernel
 * whether our file is in it (kcmp(KCMP_EPOLL_TFD)). Registrations hold a
 * reference on their object; they go with EPOLL_CTL_DEL, when their caller
 * is gone (bpftime_emul__caller_gone), or with the session. Unlike the
 * kernel's epitems they outlive the caller's close() of the object's fd
 * (we do not see it), which only keeps the object until then.
 *
 * Waiters look at a stop flag every WAIT_SLICE_MS: stopping one (the last
 * registration of its buffer went, the session ends) takes that long at
 * most.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include "emul-internal.h"

#define WAIT_SLICE_MS   100
#define CONSUMER_MIN_MS 1
#define CONSUMER_MAX_MS 20

/* One buffer some registration waits on: its waiter thread. */
struct ep_buf {
	struct bpftime_emul *e;
	struct emul_obj *o; /* not referenced: its registrations hold it */
	struct bpftime_map *m;
	bool ring;
	int stop; /* atomic: set by the stopper, read by the waiter */
	pthread_t th;
	struct ep_buf *next;
};

/* One registration: @fd of the caller in one epoll instance. */
struct ep_reg {
	struct emul_obj *o; /* referenced */
	int fd;             /* the caller's fd number, part of the epitem's key */
	int epfd;           /* the caller's epoll fd (only when kcmp is missing) */
	pid_t pid;          /* the registering process */
	int file;           /* ours, in the caller's epoll instance */
	bool signal;        /* an eventfd (buffers), else an error pipe */
	struct ep_reg *next;
};

struct epoll_state {
	/* regs and bufs; waiters take it to signal, so nobody joins a waiter
	 * holding it */
	pthread_mutex_t lock;
	struct ep_reg *regs;
	struct ep_buf *bufs;
};

static struct epoll_state *state(struct bpftime_emul *e)
{
	struct epoll_state *st = e->epoll;

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	e->epoll = st;
	return st;
}

/* ---- waiters ---- */

/* With st->lock held. */
static void signal_locked(struct epoll_state *st, const struct emul_obj *o)
{
	uint64_t one = 1;

	for (struct ep_reg *r = st->regs; r; r = r->next)
		/* EAGAIN at a full counter: the caller has a report pending */
		if (r->o == o && r->signal && write(r->file, &one, sizeof(one)) < 0)
			continue;
}

static void signal_regs(struct epoll_state *st, const struct emul_obj *o)
{
	pthread_mutex_lock(&st->lock);
	signal_locked(st, o);
	pthread_mutex_unlock(&st->lock);
}

void emul_epoll_flush(struct bpftime_emul *e)
{
	struct epoll_state *st = e->epoll;

	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	/* the perf buffer's poll flag is taken here or by its waiter, never
	 * both: one report per wake-up either way; a ring with unread
	 * records is reported, at worst once more than the waiter would */
	for (struct ep_buf *b = st->bufs; b; b = b->next)
		if (b->ring ? bpftime_map__ringbuf_ready(b->m) == 1
			    : bpftime_map__perfbuf_poll(b->m) == 1)
			signal_locked(st, b->o);
	pthread_mutex_unlock(&st->lock);
}

static bool stopped(struct ep_buf *b)
{
	/* Pairs with the release store in stop_buf(). */
	return __atomic_load_n(&b->stop, __ATOMIC_ACQUIRE);
}

static int backoff(int ms)
{
	return ms * 2 > CONSUMER_MAX_MS ? CONSUMER_MAX_MS : ms * 2;
}

/* A ring buffer's waiter: one write per wake-up, and the looks (see the top). */
static void ring_waiter(struct ep_buf *b, struct epoll_state *st)
{
	uint32_t seq = bpftime_map__ringbuf_wakeups(b->m);
	uint64_t seen = bpftime_map__ringbuf_query(b->m, BPF_RB_CONS_POS);
	int ms = CONSUMER_MIN_MS;

	/* records from before the registration: the poll reports them */
	if (bpftime_map__ringbuf_ready(b->m) == 1)
		signal_regs(st, b->o);
	while (!stopped(b)) {
		int r = bpftime_map__ringbuf_wait_wakeup(b->m, &seq, ms);
		uint64_t cons, prod;

		if (r < 0)
			break;
		/* consumer_pos first: a producer_pos equal to it then means
		 * that the next submit sees the consumer caught up, and wakes */
		cons = bpftime_map__ringbuf_query(b->m, BPF_RB_CONS_POS);
		prod = bpftime_map__ringbuf_query(b->m, BPF_RB_PROD_POS);
		if (r) {
			signal_regs(st, b->o);
			ms = CONSUMER_MIN_MS;
		} else if (cons == prod) {
			ms = WAIT_SLICE_MS;
		} else {
			/* ready() also discards a dead producer's record */
			if (bpftime_map__ringbuf_ready(b->m) == 1 && cons == seen)
				signal_regs(st, b->o);
			ms = backoff(ms);
		}
		seen = cons;
	}
}

static void *waiter(void *arg)
{
	struct ep_buf *b = arg;
	struct epoll_state *st = b->e->epoll;

	if (b->ring) {
		ring_waiter(b, st);
		return NULL;
	}
	while (!stopped(b)) {
		int r = bpftime_map__perfbuf_wait(b->m, WAIT_SLICE_MS);

		if (r < 0)
			break;
		if (r)
			signal_regs(st, b->o);
	}
	return NULL;
}

/* The buffer @o's registrations wait on, or NULL (none yet). */
static struct bpftime_map *buffer_of(struct bpftime_emul *e, struct emul_obj *o, bool *ring)
{
	*ring = o->type == EMUL_OBJ_MAP;
	if (*ring)
		return o->map.m;
	if (!o->perf.perfbuf_id || !emul_perf_buffer_pages(e, o))
		return NULL; /* no buffer, or one that is never written */
	return bpftime_map__get(e->region, o->perf.perfbuf_id);
}

static void start_buf(struct bpftime_emul *e, struct epoll_state *st, struct emul_obj *o)
{
	struct ep_buf *b;
	bool ring;
	struct bpftime_map *m = buffer_of(e, o, &ring);

	if (!m)
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto fail;
	b->e = e;
	b->o = o;
	b->m = m;
	b->ring = ring;
	if (pthread_create(&b->th, NULL, waiter, b)) {
		free(b);
		goto fail;
	}
	pthread_mutex_lock(&st->lock);
	b->next = st->bufs;
	st->bufs = b;
	pthread_mutex_unlock(&st->lock);
	return;
fail:
	emul_log(e, BPFTIME_EMUL_LOG_ERROR,
		 "cannot start the epoll waiter of object %u: epoll will not report it", o->id);
}

/* Stop and join @o's waiter, if it has one. */
static void stop_buf(struct epoll_state *st, struct emul_obj *o)
{
	struct ep_buf **pp, *b = NULL;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->bufs; *pp; pp = &(*pp)->next)
		if ((*pp)->o == o) {
			b = *pp;
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&st->lock);
	if (!b)
		return;
	/* Pairs with the acquire load in stopped(). */
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	pthread_join(b->th, NULL);
	free(b);
}

static bool has_regs(struct epoll_state *st, const struct emul_obj *o)
{
	for (struct ep_reg *r = st->regs; r; r = r->next)
		if (r->o == o)
			return true;
	return false;
}

void emul_epoll_buffer_changed(struct bpftime_emul *e, struct emul_obj *o)
{
	struct epoll_state *st = e->epoll;

	if (!st || !has_regs(st, o))
		return;
	stop_buf(st, o);
	start_buf(e, st, o);
}

/* ---- registrations ---- */

static bool pollable(struct emul_obj *o)
{
	return o->type == EMUL_OBJ_MAP || o->type == EMUL_OBJ_PERF;
}

static bool signalled(struct emul_obj *o)
{
	return o->type == EMUL_OBJ_PERF ||
	       (o->map.m && bpftime_map__attr(o->map.m)->map_type == BPF_MAP_TYPE_RINGBUF);
}

/* The file we register: an eventfd, or a pipe end that reports EPOLLERR. */
static int reg_file(bool signal)
{
	int p[2];

	if (signal) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		return fd < 0 ? -errno : fd;
	}
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	close(p[0]); /* no reader: pipe_poll() reports EPOLLERR to the writer */
	return p[1];
}

/* Whether our @file is in the epoll instance @ep (-1: cannot tell). */
static int in_epoll(int ep, int file)
{
	struct kcmp_epoll_slot slot = {.efd = (uint32_t)ep, .tfd = (uint32_t)file, .toff = 0};
	long r = syscall(SYS_kcmp, getpid(), getpid(), KCMP_EPOLL_TFD, file, &slot);

	if (!r)
		return 1;
	return errno == ENOENT || errno == EINVAL ? 0 : -1;
}

static struct ep_reg *find_reg(struct epoll_state *st, struct bpftime_caller *c, int ep, int epfd,
			       struct emul_obj *o, int fd)
{
	for (struct ep_reg *r = st->regs; r; r = r->next) {
		int in;

		if (r->o != o || r->fd != fd)
			continue;
		in = in_epoll(ep, r->file);
		/* without kcmp: the same process's same epoll fd number */
		if (in == 1 || (in < 0 && r->pid == c->pid && r->epfd == epfd))
			return r;
	}
	return NULL;
}

static void free_reg(struct bpftime_emul *e, struct epoll_state *st, struct ep_reg *r)
{
	struct ep_reg **pp;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->regs; *pp && *pp != r; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = r->next;
	pthread_mutex_unlock(&st->lock);
	/* closing our file takes it out of the epoll instance if still there */
	close(r->file);
	if (!has_regs(st, r->o))
		stop_buf(st, r->o);
	emul_obj_put(e, r->o);
	free(r);
}

/* What we ask of our file: the caller's events, less what it never reports. */
static struct epoll_event our_event(const struct epoll_event *ev, bool signal)
{
	struct epoll_event o = *ev;

	o.events &= ~(uint32_t)(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
	if (signal)
		o.events |= EPOLLET;
	return o;
}

static long reg_add(struct bpftime_emul *e, struct epoll_state *st, struct bpftime_caller *c,
		    int ep, int epfd, struct emul_obj *o, int fd, const struct epoll_event *ev)
{
	struct ep_reg *r = calloc(1, sizeof(*r));
	struct epoll_event oe;
	bool first = !has_regs(st, o);

	if (!r)
		return -ENOMEM;
	r->signal = signalled(o);
	r->file = reg_file(r->signal);
	if (r->file < 0) {
		long err = r->file;

		free(r);
		return err;
	}
	oe = our_event(ev, r->signal);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, r->file, &oe)) {
		long err = -errno;

		close(r->file);
		free(r);
		return err;
	}
	r->o = o;
	r->fd = fd;
	r->epfd = epfd;
	r->pid = c->pid;
	emul_obj_get(o);
	pthread_mutex_lock(&st->lock);
	r->next = st->regs;
	st->regs = r;
	pthread_mutex_unlock(&st->lock);
	if (first && r->signal)
		start_buf(e, st, o);
	return 0;
}

/* ep_op_has_event(), and do_epoll_ctl()'s EPOLLEXCLUSIVE rules. */
static long check_event(int op, const struct epoll_event *ev)
{
	const uint32_t ok = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |
			    EPOLLEXCLUSIVE; /* EPOLLEXCLUSIVE_OK_BITS */

	if (!(ev->events & EPOLLEXCLUSIVE))
		return 0;
	return op == EPOLL_CTL_MOD || (op == EPOLL_CTL_ADD && (ev->events & ~ok)) ? -EINVAL : 0;
}

static bool is_epoll(int fd)
{
	char p[64], target[64];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventpoll]");
}

static long ctl(struct bpftime_emul *e, struct bpftime_caller *c, int ep, int epfd, int op,
		struct emul_obj *o, int fd, const struct epoll_event *ev)
{
	struct epoll_state *st = state(e);
	struct epoll_event oe;
	struct ep_reg *r;
	long err;

	if (!st)
		return -ENOMEM;
	/* do_epoll_ctl(): poll support, then the epoll file, then the op */
	if (!pollable(o))
		return -EPERM;
	if (!is_epoll(ep))
		return -EINVAL;
	err = check_event(op, ev);
	if (err)
		return err;
	r = find_reg(st, c, ep, epfd, o, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		return r ? -EEXIST : reg_add(e, st, c, ep, epfd, o, fd, ev);
	case EPOLL_CTL_MOD:
		if (!r)
			return -ENOENT;
		oe = our_event(ev, r->signal);
		return epoll_ctl(ep, EPOLL_CTL_MOD, r->file, &oe) ? -errno : 0;
	case EPOLL_CTL_DEL:
		if (!r)
			return -ENOENT;
		err = epoll_ctl(ep, EPOLL_CTL_DEL, r->file, NULL) ? -errno : 0;
		free_reg(e, st, r);
		return err;
	}
	return -EINVAL;
}

long bpftime_emul__epoll_ctl(struct bpftime_emul *e, struct bpftime_caller *c, int epfd, int op,
			     int fd, uint64_t uevent)
{
	struct epoll_event ev = {0};
	struct emul_obj *o;
	long ret;
	int err, ep;

	pthread_mutex_lock(&e->lock);
	o = emul_obj_from_fd(e, c, fd, &err);
	if (!o) {
		pthread_mutex_unlock(&e->lock);
		return BPFTIME_EMUL_CONTINUE;
	}
	/* the syscall copies the event first, then looks up the fds */
	if (op != EPOLL_CTL_DEL && emul_read(c, &ev, uevent, sizeof(ev)))
		ret = -EFAULT;
	else if ((ep = c->ops->get_fd(c->ctx, epfd)) < 0)
		ret = -EBADF;
	else {
		ret = ctl(e, c, ep, epfd, op, o, fd, &ev);
		close(ep);
	}
	pthread_mutex_unlock(&e->lock);
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "pid %d epoll_ctl(%d, %d, %d) = %ld", c->pid, epfd, op,
		 fd, ret);
	return ret;
}

/* ---- the end of callers and sessions ---- */

static void drop_regs(struct bpftime_emul *e, bool all, pid_t pid)
{
	struct epoll_state *st = e->epoll;
	struct ep_reg *r;

	if (!st)
		return;
	do {
		pthread_mutex_lock(&st->lock);
		for (r = st->regs; r && !all && r->pid != pid; r = r->next)
			;
		pthread_mutex_unlock(&st->lock);
		if (r)
			free_reg(e, st, r);
	} while (r);
}

void bpftime_emul__caller_gone(struct bpftime_emul *e, pid_t pid)
{
	pthread_mutex_lock(&e->lock);
	drop_regs(e, false, pid);
	pthread_mutex_unlock(&e->lock);
}

void emul_epoll_free(struct bpftime_emul *e)
{
	struct epoll_state *st = e->epoll;

	if (!st)
		return;
	pthread_mutex_lock(&e->lock);
	drop_regs(e, true, 0);
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
	e->epoll = NULL;
}
