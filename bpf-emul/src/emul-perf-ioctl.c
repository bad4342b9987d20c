// SPDX-License-Identifier: MIT
/*
 * ioctl(2) on objects: perf events answer as _perf_ioctl() on 6.18; the
 * bpf objects' files (maps, programs, links, BTF) have no ioctl, so the
 * kernel's vfs_ioctl() answers -ENOTTY for them. The generic ioctls
 * do_vfs_ioctl() handles for any file (FIOCLEX, FIONCLEX, FIONBIO,
 * FIOASYNC) act on the caller's fd or file flags: the kernel runs them on
 * our file just as on its own (BPFTIME_EMUL_CONTINUE). So do ioctls on
 * fds that are not objects.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/perf_event.h>
#include "emul-internal.h"

#define BPF_TRACE_MAX_PROGS 64 /* kernel/trace/bpf_trace.c */

static bool sampling(const struct emul_obj *o)
{
	const struct perf_event_attr *a = (const struct perf_event_attr *)o->perf.attr.bytes;

	return a->sample_period != 0; /* is_sampling_event(), freq or period */
}

static bool tracing(const struct emul_obj *o)
{
	return o->perf.kind == EMUL_PERF_UPROBE || o->perf.kind == EMUL_PERF_TRACEPOINT ||
	       o->perf.kind == EMUL_PERF_KPROBE;
}

/* PERF_EVENT_IOC_PERIOD: perf_event_period(). */
static long ioc_period(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		       uint64_t arg)
{
	struct perf_event_attr *a = (struct perf_event_attr *)o->perf.attr.bytes;
	uint64_t v;

	if (emul_read(c, &v, arg, sizeof(v)))
		return -EFAULT;
	if (!sampling(o) || !v || (!a->freq && (v >> 63)))
		return -EINVAL;
	a->sample_period = v;
	o->perf.sample_period = v;
	emul_timer_period_changed(e, o);
	return 0;
}

/* PERF_EVENT_IOC_SET_BPF: bpf_prog_get(fd) (-EBADF, -EINVAL for another
 * kind of file), then perf_event_set_bpf_prog(). */
static long ioc_set_bpf(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			uint64_t arg)
{
	struct emul_obj *prog;
	int err;

	prog = emul_obj_from_fd_type(e, c, (int)(uint32_t)arg, EMUL_OBJ_PROG, &err);
	if (!prog)
		return err;
	return emul_perf_attach_prog(e, o, prog);
}

/* PERF_EVENT_IOC_QUERY_BPF: perf_event_query_prog_array(); our events
 * carry one program at most. */
static long ioc_query_bpf(struct bpftime_caller *c, struct emul_obj *o, uint64_t arg)
{
	struct perf_event_query_bpf q;
	uint32_t cnt = o->perf.prog ? 1 : 0;

	if (!tracing(o))
		return -EINVAL;
	if (emul_read(c, &q, arg, sizeof(q)))
		return -EFAULT;
	if (q.ids_len > BPF_TRACE_MAX_PROGS)
		return -E2BIG;
	if (emul_write(c, arg + offsetof(struct perf_event_query_bpf, prog_cnt), &cnt, sizeof(cnt)))
		return -EFAULT;
	if (!q.ids_len || !cnt)
		return 0;
	if (emul_write(c, arg + offsetof(struct perf_event_query_bpf, ids), &o->perf.prog->id,
		       sizeof(uint32_t)))
		return -EFAULT;
	return 0;
}

/* PERF_EVENT_IOC_SET_OUTPUT: only "no redirection" can be had here. */
static long ioc_set_output(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			   uint64_t arg)
{
	struct emul_obj *out;
	int err;

	if ((int)arg == -1)
		return 0;
	out = emul_obj_from_fd(e, c, (int)arg, &err);
	if (!out || out->type != EMUL_OBJ_PERF)
		return -EBADF; /* perf_fget_light(): not a perf event */
	if (out == o)
		return 0;
	emul_log(e, BPFTIME_EMUL_LOG_WARN,
		 "perf event %u: PERF_EVENT_IOC_SET_OUTPUT to another event is not available in "
		 "user space: -EINVAL",
		 o->id);
	return -EINVAL;
}

/* PERF_EVENT_IOC_MODIFY_ATTRIBUTES: perf_event_modify_attr() modifies
 * breakpoints only, which we never have. */
static long ioc_modify(struct bpftime_caller *c, struct emul_obj *o, uint64_t arg)
{
	const struct perf_event_attr *a = (const struct perf_event_attr *)o->perf.attr.bytes;
	uint8_t raw[136];
	uint32_t size;
	int err = emul_perf_copy_attr(c, arg, raw, &size);

	if (err)
		return err;
	return ((struct perf_event_attr *)raw)->type != a->type ? -EINVAL : -EOPNOTSUPP;
}

long emul_perf_ioctl(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     unsigned long req, uint64_t arg)
{
	uint64_t id = o->id;

	switch (req) {
	case PERF_EVENT_IOC_ENABLE:
		return emul_perf_set_enabled(e, o, true);
	case PERF_EVENT_IOC_DISABLE:
		return emul_perf_set_enabled(e, o, false);
	case PERF_EVENT_IOC_RESET:
		return 0;
	case PERF_EVENT_IOC_REFRESH:
		/* _perf_event_refresh(): sampling events, not inherited */
		if (((struct perf_event_attr *)o->perf.attr.bytes)->inherit || !sampling(o))
			return -EINVAL;
		return emul_perf_set_enabled(e, o, true);
	case PERF_EVENT_IOC_PERIOD:
		return ioc_period(e, c, o, arg);
	case PERF_EVENT_IOC_ID:
		return emul_write(c, arg, &id, sizeof(id)) ? -EFAULT : 0;
	case PERF_EVENT_IOC_SET_OUTPUT:
		return ioc_set_output(e, c, o, arg);
	case PERF_EVENT_IOC_SET_FILTER:
		/* perf_event_set_filter(): -EINVAL for events without one */
		if (tracing(o))
			emul_log(e, BPFTIME_EMUL_LOG_WARN,
				 "perf event %u: tracepoint filters are not available in user "
				 "space: -EINVAL",
				 o->id);
		return -EINVAL;
	case PERF_EVENT_IOC_SET_BPF:
		return ioc_set_bpf(e, c, o, arg);
	case PERF_EVENT_IOC_PAUSE_OUTPUT: {
		struct bpftime_map *m =
		    o->perf.perfbuf_id ? bpftime_map__get(e->region, o->perf.perfbuf_id) : NULL;

		/* no ring buffer, or one without data pages: -EINVAL */
		if (!m || !emul_perf_buffer_pages(e, o))
			return -EINVAL;
		return bpftime_map__perfbuf_pause(m, arg != 0);
	}
	case PERF_EVENT_IOC_QUERY_BPF:
		return ioc_query_bpf(c, o, arg);
	case PERF_EVENT_IOC_MODIFY_ATTRIBUTES:
		return ioc_modify(c, o, arg);
	}
	return -ENOTTY;
}

static bool generic_ioctl(unsigned long req)
{
	return req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC;
}

long bpftime_emul__ioctl(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
			 unsigned long req, uint64_t arg)
{
	struct emul_obj *o;
	long ret;
	int err;

	if (generic_ioctl(req))
		return BPFTIME_EMUL_CONTINUE;
	pthread_mutex_lock(&e->lock);
	o = emul_obj_from_fd(e, c, fd, &err);
	if (!o)
		ret = BPFTIME_EMUL_CONTINUE; /* not ours, or no such fd: the kernel's */
	else if (o->type == EMUL_OBJ_PERF)
		ret = emul_perf_ioctl(e, c, o, req, arg);
	else
		ret = -ENOTTY; /* bpf_map_fops & co. have no unlocked_ioctl */
	pthread_mutex_unlock(&e->lock);
	if (o)
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "pid %d ioctl(%d, 0x%lx) = %ld", c->pid, fd,
			 req, ret);
	return ret;
}
