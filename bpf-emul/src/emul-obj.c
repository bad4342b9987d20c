// SPDX-License-Identifier: MIT
/*
 * The object table. Every object is a real file: a memfd of its own, or the
 * data file of a map that tools mmap (ring buffers, BPF_F_MMAPABLE arrays),
 * so that the caller's fd can be mmap'd with the kernel's layout. A caller
 * fd is resolved by asking the caller for the file behind it and looking up
 * its device and inode: fd numbers mean nothing to us, which is what makes
 * dup, fork, SCM_RIGHTS and exec with CLOEXEC work untouched.
 *
 * References, as the kernel's: the table holds one for every live object,
 * other objects hold theirs (a program its maps, a link its program and
 * perf event, a map of maps its inner maps). The table's reference goes when
 * no caller holds a file of the object any more (emul-lifetime.c, later) or
 * when the session ends.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "emul-internal.h"

long emul_read_str(struct bpftime_caller *c, char *dst, uint64_t addr, size_t max, int toolong)
{
	/* byte-wise reads would cost a syscall each in seccomp's caller:
	 * read in chunks that stop at page ends, so that a string ending just
	 * before an unmapped page still reads */
	size_t got = 0;

	while (got < max) {
		uint64_t a = addr + got;
		size_t chunk = 4096 - (a & 4095);

		if (chunk > max - got)
			chunk = max - got;
		if (emul_read(c, dst + got, a, chunk))
			return -EFAULT;
		for (size_t i = 0; i < chunk; i++)
			if (!dst[got + i])
				return (long)(got + i);
		got += chunk;
	}
	dst[max - 1] = 0;
	return -toolong;
}

static int open_file(const char *name, const char *file)
{
	if (file)
		return open(file, O_RDWR | O_CLOEXEC);
	return memfd_create(name, MFD_CLOEXEC);
}

struct emul_obj *emul_obj_new(struct bpftime_emul *e, enum emul_obj_type type, const char *name,
			      const char *file)
{
	struct emul_obj *o = calloc(1, sizeof(*o));
	struct stat st;

	if (!o)
		return NULL;
	o->type = type;
	o->refcnt = 1;
	o->wd = -1;
	o->fd = open_file(name, file);
	if (o->fd < 0 || fstat(o->fd, &st)) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "cannot create the file of %s object %s: %s",
			 name, file ? file : "(memfd)", strerror(errno));
		if (o->fd >= 0)
			close(o->fd);
		free(o);
		return NULL;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return o;
}

int emul_obj_add(struct bpftime_emul *e, struct emul_obj *o)
{
	if (e->nr_objs == e->cap_objs) {
		uint32_t cap = e->cap_objs ? e->cap_objs * 2 : 64;
		struct emul_obj **n = realloc(e->objs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		e->objs = n;
		e->cap_objs = cap;
	}
	e->objs[e->nr_objs++] = o;
	o->in_table = true;
	emul_lifetime_watch(e, o);
	return 0;
}

int emul_obj_install(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     int flags)
{
	/* a description of the caller's own, so that we see it go */
	int desc = emul_lifetime_reopen(e, o), fd;

	if (desc < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "cannot reopen object %u: %s", o->id,
			 strerror(-desc));
		return desc == -EMFILE || desc == -ENFILE ? desc : -ENOMEM;
	}
	fd = c->ops->install_fd(c->ctx, desc, flags);
	close(desc);
	if (fd < 0)
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "pid %d: cannot install an fd: %s", c->pid,
			 strerror(-fd));
	else
		o->installed = true;
	return fd;
}

static struct emul_obj *by_file(struct bpftime_emul *e, dev_t dev, ino_t ino)
{
	for (uint32_t i = 0; i < e->nr_objs; i++)
		if (e->objs[i]->ino == ino && e->objs[i]->dev == dev)
			return e->objs[i];
	return NULL;
}

struct emul_obj *emul_obj_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				  int *err)
{
	struct emul_obj *o;
	struct stat st;
	int ours;

	/* fdget(): a negative or closed fd is -EBADF */
	if (fd < 0) {
		*err = -EBADF;
		return NULL;
	}
	ours = c->ops->get_fd(c->ctx, fd);
	if (ours < 0) {
		*err = -EBADF;
		return NULL;
	}
	if (fstat(ours, &st)) {
		*err = -EBADF;
		close(ours);
		return NULL;
	}
	close(ours);
	o = by_file(e, st.st_dev, st.st_ino);
	if (!o)
		*err = -EINVAL; /* a file that is not a bpf object */
	return o;
}

struct emul_obj *emul_obj_from_fd_type(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				       enum emul_obj_type type, int *err)
{
	struct emul_obj *o = emul_obj_from_fd(e, c, fd, err);

	if (o && o->type != type) {
		*err = -EINVAL;
		return NULL;
	}
	return o;
}

struct emul_obj *emul_obj_by_id(struct bpftime_emul *e, enum emul_obj_type type, uint32_t id)
{
	for (uint32_t i = 0; i < e->nr_objs; i++)
		if (e->objs[i]->type == type && e->objs[i]->id == id)
			return e->objs[i];
	return NULL;
}

struct emul_obj *emul_obj_next(struct bpftime_emul *e, enum emul_obj_type type, uint32_t id)
{
	struct emul_obj *best = NULL;

	for (uint32_t i = 0; i < e->nr_objs; i++) {
		struct emul_obj *o = e->objs[i];

		if (o->type == type && o->id > id && (!best || o->id < best->id))
			best = o;
	}
	return best;
}

void emul_obj_get(struct emul_obj *o)
{
	o->refcnt++;
}

static void unlink_obj(struct bpftime_emul *e, struct emul_obj *o)
{
	for (uint32_t i = 0; i < e->nr_objs; i++)
		if (e->objs[i] == o) {
			e->objs[i] = e->objs[--e->nr_objs];
			return;
		}
}

static void release(struct bpftime_emul *e, struct emul_obj *o)
{
	switch (o->type) {
	case EMUL_OBJ_MAP:
		emul_map_release(e, o);
		break;
	case EMUL_OBJ_PROG:
		emul_prog_release(e, o);
		break;
	case EMUL_OBJ_LINK:
		emul_link_release(e, o);
		break;
	case EMUL_OBJ_BTF:
		emul_btf_release(e, o);
		break;
	case EMUL_OBJ_PERF:
		emul_perf_release(e, o);
		break;
	}
	close(o->fd);
	free(o);
}

void emul_obj_put(struct bpftime_emul *e, struct emul_obj *o)
{
	/* at the end of the session every object is released once, in any
	 * order (references may form cycles, e.g. a program in a prog array
	 * it uses): puts from the releases are then no-ops */
	if (!o || e->shutting_down || --o->refcnt > 0)
		return;
	unlink_obj(e, o);
	emul_lifetime_unwatch(e, o);
	release(e, o);
}

void emul_obj_release_all(struct bpftime_emul *e)
{
	e->shutting_down = true;
	while (e->nr_objs)
		release(e, e->objs[--e->nr_objs]);
}
