/* SPDX-License-Identifier: MIT */
/*
 * Let libbpf's own consumers (ring_buffer, perf_buffer) read our buffers,
 * before bpf-emul exists: the test program defines syscall(), ioctl() and
 * epoll_ctl(), which libbpf.so calls through the PLT, and answers the calls
 * that name one of our fds the way bpf-emul and the supervisor will:
 *
 *   syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD)   the map's type and sizes
 *   syscall(__NR_bpf, BPF_MAP_UPDATE/DELETE_ELEM) bpftime_map__*_elem, perf
 *                                               fds turned into perf buffer ids
 *   syscall(__NR_perf_event_open, BPF_OUTPUT)   a perf buffer of
 *                                               shim_perf_pages pages; the fd
 *                                               is its data file
 *   ioctl(PERF_EVENT_IOC_ENABLE / _DISABLE)     bpftime_map__perfbuf_enable
 *   epoll_ctl(ADD, our fd)                      an eventfd of ours is added in
 *                                               its place (edge-triggered, the
 *                                               tool's event data), and a waker
 *                                               thread writes it each time
 *                                               bpftime_map__*_wait says so
 *
 * Everything else goes to the kernel unchanged (raw syscalls). libbpf 1.1
 * makes exactly these calls (checked with strace): ring_buffer__add mmaps the
 * map fd twice (consumer page RW, then producer page + 2 * size RO from
 * PAGE_SIZE), perf_buffer__new mmaps each perf fd RW from 0.
 *
 * Included by one .c file of a test program: it defines functions.
 */
#ifndef BPFTIME_MAPS_TEST_LIBBPF_H
#define BPFTIME_MAPS_TEST_LIBBPF_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <bpftime/maps.h>

#define SHIM_MAX_FD 1024
#define SHIM_FN     static __attribute__((unused))

enum shim_kind { SHIM_NONE, SHIM_MAP, SHIM_PERF };

struct shim_fd {
	enum shim_kind kind;
	struct bpftime_map *m; /* the map, or the perf buffer */
	int eventfd;           /* what epoll sees in place of this fd, -1: none */
	pthread_t waker;
};

static struct shim_fd shim_fds[SHIM_MAX_FD];
static struct bpftime_map_region *shim_region; /* for perf_event_open */
static uint32_t shim_perf_pages;               /* 0: perf_event_open goes to the kernel */
static volatile int shim_stop;

SHIM_FN long shim_raw(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

SHIM_FN struct shim_fd *shim_of(long fd, enum shim_kind kind)
{
	if (fd < 0 || fd >= SHIM_MAX_FD || shim_fds[fd].kind != kind)
		return NULL;
	return &shim_fds[fd];
}

/* An fd that stands for map or perf buffer @m: its data file if it has
 * one (what a tool mmaps), else any file. */
SHIM_FN int shim_register(struct bpftime_map *m, enum shim_kind kind)
{
	const char *path = bpftime_map__file(m);
	int fd = open(path ? path : "/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0 || fd >= SHIM_MAX_FD)
		return -1;
	shim_fds[fd].kind = kind;
	shim_fds[fd].m = m;
	shim_fds[fd].eventfd = -1;
	return fd;
}

SHIM_FN void shim_unregister(int fd)
{
	if (fd >= 0 && fd < SHIM_MAX_FD)
		shim_fds[fd].kind = SHIM_NONE;
}

SHIM_FN long shim_get_info(union bpf_attr *attr)
{
	struct shim_fd *s = shim_of(attr->info.bpf_fd, SHIM_MAP);
	const struct bpftime_map_attr *a;
	struct bpf_map_info info;
	uint32_t len;

	if (!s)
		return 1; /* not ours */
	a = bpftime_map__attr(s->m);
	memset(&info, 0, sizeof(info));
	info.type = a->map_type;
	info.id = bpftime_map__id(s->m);
	info.key_size = a->key_size;
	info.value_size = a->value_size;
	info.max_entries = a->max_entries;
	info.map_flags = a->map_flags;
	memcpy(info.name, a->map_name, sizeof(info.name));
	len = attr->info.info_len < sizeof(info) ? attr->info.info_len : sizeof(info);
	memcpy((void *)(uintptr_t)attr->info.info, &info, len);
	attr->info.info_len = len;
	return 0;
}

/* BPF_MAP_UPDATE_ELEM / DELETE_ELEM on one of our maps; 1: not ours. */
SHIM_FN long shim_map_elem(int cmd, union bpf_attr *attr)
{
	struct shim_fd *s = shim_of(attr->map_fd, SHIM_MAP), *p;
	const void *key = (const void *)(uintptr_t)attr->key;
	uint32_t value;

	if (!s)
		return 1;
	if (cmd == BPF_MAP_DELETE_ELEM)
		return bpftime_map__delete_elem(s->m, key);
	/* bpf-emul's job: a perf event fd becomes the perf buffer's id */
	memcpy(&value, (const void *)(uintptr_t)attr->value, sizeof(value));
	p = shim_of(value, SHIM_PERF);
	if (bpftime_map__attr(s->m)->map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		value = p ? bpftime_map__id(p->m) : 0;
	return bpftime_map__update_elem(s->m, key, &value, attr->flags);
}

SHIM_FN long shim_bpf(long cmd, union bpf_attr *attr)
{
	switch (cmd) {
	case BPF_OBJ_GET_INFO_BY_FD:
		return shim_get_info(attr);
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
		return shim_map_elem((int)cmd, attr);
	}
	return 1;
}

SHIM_FN long shim_perf_event_open(struct perf_event_attr *attr, long pid, long cpu)
{
	struct bpftime_map_perfbuf_opts o = {.sz = sizeof(o)};
	uint32_t id;
	int err, fd;

	if (!shim_perf_pages || attr->type != PERF_TYPE_SOFTWARE ||
	    attr->config != PERF_COUNT_SW_BPF_OUTPUT)
		return 1;
	o.page_cnt = shim_perf_pages;
	o.cpu = cpu < 0 ? BPFTIME_PERFBUF_ANY_CPU : (uint32_t)cpu;
	o.wakeup = attr->watermark ? attr->wakeup_watermark : attr->wakeup_events;
	o.watermark = attr->watermark;
	o.disabled = attr->disabled;
	err = bpftime_map__perfbuf_create(shim_region, &o, &id);
	if (err)
		return err;
	fd = shim_register(bpftime_map__get(shim_region, id), SHIM_PERF);
	return fd < 0 ? -EMFILE : fd;
}

long syscall(long nr, ...)
{
	long a[6], ret = 1;
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf)
		ret = shim_bpf(a[0], (union bpf_attr *)a[1]);
	else if (nr == __NR_perf_event_open)
		ret = shim_perf_event_open((struct perf_event_attr *)a[0], a[1], a[2]);
	if (ret == 1)
		ret = shim_raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

int ioctl(int fd, unsigned long req, ...)
{
	struct shim_fd *s = shim_of(fd, SHIM_PERF);
	long arg, ret;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, long);
	va_end(ap);
	if (!s)
		ret = shim_raw(SYS_ioctl, fd, (long)req, arg, 0, 0, 0);
	else if (req == PERF_EVENT_IOC_ENABLE || req == PERF_EVENT_IOC_DISABLE)
		ret = bpftime_map__perfbuf_enable(s->m, req == PERF_EVENT_IOC_ENABLE);
	else
		ret = -ENOTTY;
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

/* The supervisor's part: wait on the buffer, signal the tool's epoll. */
SHIM_FN void *shim_waker(void *arg)
{
	struct shim_fd *s = arg;
	uint64_t one = 1;

	while (!shim_stop) {
		bool ring = bpftime_map__attr(s->m)->map_type == BPF_MAP_TYPE_RINGBUF;
		int r = ring ? bpftime_map__ringbuf_wait(s->m, 20)
			     : bpftime_map__perfbuf_wait(s->m, 20);

		if (r != 1)
			continue;
		if (write(s->eventfd, &one, sizeof(one)) != sizeof(one))
			break;
		/* a ring stays ready until the tool consumes: let it run */
		if (ring)
			usleep(200);
	}
	return NULL;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct shim_fd *s = shim_of(fd, SHIM_MAP);
	struct epoll_event e;
	long ret;

	if (!s)
		s = shim_of(fd, SHIM_PERF);
	if (!s || (op == EPOLL_CTL_ADD && s->eventfd >= 0)) {
		ret = shim_raw(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0, 0);
	} else if (op == EPOLL_CTL_ADD) {
		s->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		e.events = EPOLLIN | EPOLLET;
		e.data = ev->data;
		ret = shim_raw(SYS_epoll_ctl, epfd, op, s->eventfd, (long)&e, 0, 0);
		if (!ret)
			ret = -pthread_create(&s->waker, NULL, shim_waker, s);
	} else {
		ret = shim_raw(SYS_epoll_ctl, epfd, op, s->eventfd, (long)ev, 0, 0);
	}
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return 0;
}

/* Stop the waker threads and forget every fd (their files stay open with
 * the caller, who closes them). */
SHIM_FN void shim_reset(void)
{
	shim_stop = 1;
	for (int fd = 0; fd < SHIM_MAX_FD; fd++) {
		if (shim_fds[fd].kind != SHIM_NONE && shim_fds[fd].eventfd >= 0) {
			pthread_join(shim_fds[fd].waker, NULL);
			close(shim_fds[fd].eventfd);
		}
		shim_fds[fd].kind = SHIM_NONE;
		shim_fds[fd].eventfd = -1;
	}
	shim_stop = 0;
	shim_perf_pages = 0;
}

#endif /* BPFTIME_MAPS_TEST_LIBBPF_H */
