// SPDX-License-Identifier: MIT
/*
 * BPF_LINK_CREATE, as link_create() in kernel/bpf/syscall.c. The link tools
 * make is BPF_PERF_EVENT: a program on a perf event (uprobe, tracepoint,
 * CPU clock), bpf_perf_link_attach() and perf_event_set_bpf_prog():
 *
 *   - flags must be 0 (-EINVAL);
 *   - target_fd must be a perf event: -EBADF otherwise, which is what
 *     libbpf's FEAT_PERF_LINK probe (target_fd -1) expects;
 *   - the program's type must fit the event: KPROBE on uprobes,
 *     TRACEPOINT on tracepoints, PERF_EVENT on software events (-EINVAL);
 *   - one program per event (-EEXIST).
 *
 * Other attach types get what this machine's 6.18 answers (checked with raw
 * bpf(2)): BPF_TRACE_KPROBE_MULTI -EOPNOTSUPP (no CONFIG_FPROBE here; what
 * bpftrace's probe expects), a type that does not fit the program -EINVAL.
 * BPF_TRACE_UPROBE_MULTI is answered as a kernel without it (-EOPNOTSUPP),
 * so that libbpf falls back to perf uprobes, which we have. Attach types
 * that need kernel objects (cgroups, netdevs, sockmaps) are -EOPNOTSUPP
 * with a line in the log.
 */
#include <fcntl.h>
#include <string.h>
#include "emul-internal.h"

#define ATTACH_STRUCT_OPS 44 /* BPF_STRUCT_OPS, 6.4 */
#ifndef BPF_TRACE_UPROBE_MULTI
#define BPF_TRACE_UPROBE_MULTI 48 /* 6.6 */
#endif

/* bpf_prog_attach_check_attach_type() for the program types we load */
static int check_attach_type(const struct emul_prog *p, uint32_t attach)
{
	switch (p->type) {
	case BPF_PROG_TYPE_KPROBE:
		if (p->expected_attach_type == BPF_TRACE_KPROBE_MULTI &&
		    attach != BPF_TRACE_KPROBE_MULTI)
			return -EINVAL;
		if (p->expected_attach_type == BPF_TRACE_UPROBE_MULTI &&
		    attach != BPF_TRACE_UPROBE_MULTI)
			return -EINVAL;
		if (attach != BPF_PERF_EVENT && attach != BPF_TRACE_KPROBE_MULTI &&
		    attach != BPF_TRACE_UPROBE_MULTI)
			return -EINVAL;
		return 0;
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
		return attach == BPF_PERF_EVENT ? 0 : -EINVAL;
	}
	return -EINVAL; /* attach_type_to_prog_type() gives another type */
}

/* perf_event_set_bpf_prog(): which program type an event takes */
static int check_event(const struct emul_perf *ev, const struct emul_prog *p)
{
	switch (ev->kind) {
	case EMUL_PERF_UPROBE:
	case EMUL_PERF_KPROBE:
		return p->type == BPF_PROG_TYPE_KPROBE ? 0 : -EINVAL;
	case EMUL_PERF_TRACEPOINT:
		return p->type == BPF_PROG_TYPE_TRACEPOINT ? 0 : -EINVAL;
	case EMUL_PERF_OUTPUT:
	case EMUL_PERF_CPU_CLOCK:
		/* perf_event_set_bpf_handler(): software events */
		return p->type == BPF_PROG_TYPE_PERF_EVENT ? 0 : -EINVAL;
	}
	return -EINVAL;
}

static long perf_link(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
		      struct emul_obj *prog)
{
	struct emul_obj *ev, *o;
	int err, fd;

	if (attr->link_create.flags)
		return -EINVAL;
	/* perf_event_get(): anything but a perf event is -EBADF */
	ev = emul_obj_from_fd_type(e, c, (int)attr->link_create.target_fd, EMUL_OBJ_PERF, &err);
	if (!ev)
		return -EBADF;
	err = check_event(&ev->perf, &prog->prog);
	if (err)
		return err;
	/* one program per event, through a link or PERF_EVENT_IOC_SET_BPF */
	if (ev->perf.prog)
		return -EEXIST;
	o = emul_obj_new(e, EMUL_OBJ_LINK, "bpf-link", NULL);
	if (!o)
		return -ENOMEM;
	o->link.type = BPF_LINK_TYPE_PERF_EVENT;
	o->link.attach_type = BPF_PERF_EVENT;
	o->link.cookie = attr->link_create.perf_event.bpf_cookie;
	emul_obj_get(prog);
	o->link.prog = prog;
	emul_obj_get(ev);
	o->link.target = ev;
	o->id = e->next_link_id;
	err = emul_obj_add(e, o);
	if (err) {
		emul_obj_put(e, o);
		return err;
	}
	e->next_link_id++;
	/* the event runs the program while the link lives (the link holds
	 * the event; the event holds the program, not the link) */
	err = emul_perf_attach_prog(e, ev, prog);
	if (err) {
		emul_obj_put(e, o);
		return err;
	}
	fd = emul_obj_install(e, c, o, O_CLOEXEC);
	if (fd < 0)
		emul_obj_put(e, o);
	return fd;
}

long emul_cmd_link_create(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			  uint64_t uattr, uint32_t size)
{
	uint32_t attach = attr->link_create.attach_type;
	struct emul_obj *prog;
	int err;

	(void)uattr;
	(void)size;
	/* CHECK_ATTR(BPF_LINK_CREATE): the union member is the last field */
	if (EMUL_CHECK_ATTR(attr, link_create))
		return -EINVAL;
	if (attach == ATTACH_STRUCT_OPS) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "BPF_LINK_CREATE: struct_ops: -EINVAL");
		return -EINVAL; /* no struct_ops map can exist here */
	}
	prog = emul_obj_from_fd_type(e, c, (int)attr->link_create.prog_fd, EMUL_OBJ_PROG, &err);
	if (!prog)
		return err;
	err = check_attach_type(&prog->prog, attach);
	if (err)
		return err;
	if (attach == BPF_PERF_EVENT)
		return perf_link(e, c, attr, prog);
	emul_log(e, BPFTIME_EMUL_LOG_INFO,
		 "BPF_LINK_CREATE: attach type %u is not available in user space: -EOPNOTSUPP",
		 attach);
	return -EOPNOTSUPP; /* kprobe_multi (as on this kernel), uprobe_multi */
}

void emul_link_release(struct bpftime_emul *e, struct emul_obj *o)
{
	/* bpf_perf_link_release(): the event stops running the program */
	if (o->link.target && o->link.target->perf.prog == o->link.prog)
		emul_perf_detach_prog(e, o->link.target);
	emul_obj_put(e, o->link.prog);
	emul_obj_put(e, o->link.target);
}

/*
 * The perf_event member of 6.18's struct bpf_link_info, which our 6.1
 * header lacks (offsets after type, id, prog_id): the event's kind, then
 * for uprobes file_name, name_len, offset, cookie, for kprobes func_name,
 * name_len, offset, addr, missed, cookie and for tracepoints tp_name,
 * name_len, cookie (bpf_perf_link_fill_link_info()).
 */
enum {
	PERF_INFO_TYPE = 16,
	PERF_INFO_NAME = 24,
	PERF_INFO_NAME_LEN = 32,
	PERF_INFO_OFFSET = 36, /* uprobe */
	PERF_INFO_UPROBE_COOKIE = 40,
	PERF_INFO_TP_COOKIE = 40,
	PERF_INFO_KPROBE_COOKIE = 56, /* after addr and missed (both 0 here) */
};
enum {
	PERF_EVENT_UPROBE = 1,
	PERF_EVENT_URETPROBE = 2,
	PERF_EVENT_KPROBE = 3,
	PERF_EVENT_KRETPROBE = 4,
	PERF_EVENT_TRACEPOINT = 5,
};

/* bpf_copy_to_user(): the name with its NUL, or as much as fits and
 * -ENOSPC; the length needed is written back either way */
static int copy_name(struct bpftime_caller *c, uint8_t *info, const char *name)
{
	uint32_t ulen, len = (uint32_t)strlen(name);
	uint64_t uname;
	char nul = 0;

	memcpy(&uname, info + PERF_INFO_NAME, sizeof(uname));
	memcpy(&ulen, info + PERF_INFO_NAME_LEN, sizeof(ulen));
	if (!uname != !ulen)
		return -EINVAL;
	len++;
	memcpy(info + PERF_INFO_NAME_LEN, &len, sizeof(len));
	if (!uname)
		return 0;
	if (ulen >= len)
		return emul_write(c, uname, name, len) ? -EFAULT : 0;
	if (emul_write(c, uname, name, ulen - 1) || emul_write(c, uname + ulen - 1, &nul, 1))
		return -EFAULT;
	return -ENOSPC;
}

static int perf_event_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			   uint8_t *info)
{
	const struct emul_perf *p = &o->link.target->perf;
	const char *cat, *name = NULL;
	uint32_t type = 0, off32;

	if (p->kind == EMUL_PERF_UPROBE) {
		type = p->retprobe ? PERF_EVENT_URETPROBE : PERF_EVENT_UPROBE;
		off32 = (uint32_t)p->offset;
		memcpy(info + PERF_INFO_OFFSET, &off32, sizeof(off32));
		memcpy(info + PERF_INFO_UPROBE_COOKIE, &o->link.cookie, sizeof(o->link.cookie));
		name = p->path;
	} else if (p->kind == EMUL_PERF_KPROBE) {
		/* offset 0; addr is a kernel address (0 without
		 * kallsyms_show_value(), and we have none) */
		type = p->retprobe ? PERF_EVENT_KRETPROBE : PERF_EVENT_KPROBE;
		memcpy(info + PERF_INFO_KPROBE_COOKIE, &o->link.cookie, sizeof(o->link.cookie));
		name = p->path;
	} else if (p->kind == EMUL_PERF_TRACEPOINT) {
		type = PERF_EVENT_TRACEPOINT;
		memcpy(info + PERF_INFO_TP_COOKIE, &o->link.cookie, sizeof(o->link.cookie));
		if (emul_tp_by_id(e, p->tp_id, &cat, &name))
			name = NULL;
	}
	memcpy(info + PERF_INFO_TYPE, &type, sizeof(type));
	return name ? copy_name(c, info, name) : 0;
}

int emul_link_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_link_info *info, uint32_t *len)
{
	info->type = o->link.type;
	info->id = o->id;
	info->prog_id = o->link.prog ? o->link.prog->id : 0;
	/* *len stays 6.18's size (the caller passed it) */
	if (o->link.type == BPF_LINK_TYPE_PERF_EVENT && o->link.target)
		return perf_event_info(e, c, o, (uint8_t *)info);
	return 0;
}
