// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_CREATE, map fds and the references maps hold.
 *
 *   create     union bpf_attr -> struct bpftime_map_attr, in map_create()'s
 *              order: the maps module makes the type's checks and the
 *              name's; the BTF (emul-map-btf.c) and the inner map are
 *              resolved here, their errors placed where the kernel's come.
 *   files      a map with a data file (what a tool mmaps) has that file
 *              as its object file, others a memfd named "bpf-map"; the
 *              caller's fd is a description of its own, opened with the
 *              access BPF_F_RDONLY / BPF_F_WRONLY ask for, which is how
 *              map_get_sys_perms() reads it back from any dup of it.
 *   fd values  PROG_ARRAY, PERF_EVENT_ARRAY, CGROUP_ARRAY and maps of maps
 *              take fds in bpf(2) and store ids in the maps module; the
 *              map object holds a reference on what it names, as the
 *              kernel's does (slots of arrays in o->map.inner, hash of
 *              maps entries found back by the id the map returns).
 *
 * Limits: the kernel clears a prog array when its last user reference
 * goes and removes perf events when the map file that stored them is
 * closed (map_release_uref, perf_event_fd_array_release); neither is done
 * here yet: entries stay until deleted or the map goes. A prog array does
 * not check that the programs it takes are compatible with each other.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "emul-internal.h"

/* ---- fds ---- */

static unsigned fmode_of(int fl)
{
	switch (fl & O_ACCMODE) {
	case O_RDONLY:
		return EMUL_FMODE_READ;
	case O_WRONLY:
		return EMUL_FMODE_WRITE;
	}
	return EMUL_FMODE_READ | EMUL_FMODE_WRITE;
}

static struct emul_obj *by_file(struct bpftime_emul *e, const struct stat *st)
{
	for (uint32_t i = 0; i < e->nr_objs; i++)
		if (e->objs[i]->ino == st->st_ino && e->objs[i]->dev == st->st_dev)
			return e->objs[i];
	return NULL;
}

struct emul_obj *emul_map_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				  int *err, unsigned *fmode)
{
	struct emul_obj *o;
	struct stat st;
	int ours, fl;

	/* __bpf_map_get(): no file is -EBADF, a file of another kind -EINVAL */
	*err = -EBADF;
	if (fd < 0)
		return NULL;
	ours = c->ops->get_fd(c->ctx, fd);
	if (ours < 0)
		return NULL;
	fl = fcntl(ours, F_GETFL);
	if (fstat(ours, &st) || fl < 0) {
		close(ours);
		return NULL;
	}
	close(ours);
	o = by_file(e, &st);
	if (!o || o->type != EMUL_OBJ_MAP) {
		*err = -EINVAL;
		return NULL;
	}
	*fmode = fmode_of(fl);
	return o;
}

int emul_map_perm(unsigned fmode, bool read, bool write)
{
	if ((read && !(fmode & EMUL_FMODE_READ)) || (write && !(fmode & EMUL_FMODE_WRITE)))
		return -EPERM;
	return 0;
}

int emul_map_install(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     uint32_t bpf_flags)
{
	int acc = (bpf_flags & BPF_F_RDONLY)   ? O_RDONLY
		  : (bpf_flags & BPF_F_WRONLY) ? O_WRONLY
					       : O_RDWR;
	char path[64];
	int desc, fd;

	/* a description of the caller's own (emul-lifetime.c counts them),
	 * with the access bpf_get_file_flag() gives the kernel's file */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", o->fd);
	desc = open(path, acc | O_CLOEXEC);
	if (desc < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "map %u: cannot reopen its file: %s", o->id,
			 strerror(errno));
		return errno == EMFILE || errno == ENFILE ? -errno : -ENOMEM;
	}
	/* the kernel's bpf map fds are O_CLOEXEC (bpf_map_new_fd) */
	fd = c->ops->install_fd(c->ctx, desc, O_CLOEXEC);
	close(desc);
	if (fd < 0)
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "pid %d: cannot install a map fd: %s", c->pid,
			 strerror(-fd));
	else
		o->installed = true;
	return fd;
}

/* ---- fd-valued maps ---- */

bool emul_map_fd_valued(const struct emul_obj *o)
{
	switch (bpftime_map__attr(o->map.m)->map_type) {
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return true;
	}
	return false;
}

/* Arrays keep their referenced objects per slot; a hash of maps is
 * looked up (its values are the inner maps' ids). */
static bool has_slots(const struct emul_obj *o)
{
	uint32_t t = bpftime_map__attr(o->map.m)->map_type;

	return t == BPF_MAP_TYPE_PROG_ARRAY || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
	       t == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

/* perf_event_fd_array_get_ptr(): perf_event_get() is -EBADF for any file
 * that is not a perf event. */
static int perf_value(struct bpftime_emul *e, struct bpftime_caller *c, int fd, uint32_t *value,
		      struct emul_obj **ref)
{
	struct emul_obj *p;
	int err, id;

	p = emul_obj_from_fd(e, c, fd, &err);
	if (!p || p->type != EMUL_OBJ_PERF)
		return -EBADF;
	id = emul_perf_buffer_id(e, p);
	if (id < 0)
		return id;
	*value = (uint32_t)id;
	*ref = p;
	return 0;
}

/* cgroup_get_from_fd(): a directory of the cgroup v2 hierarchy, else
 * -EBADF. The cgroup is named by its inode number (the kernel's cgroup id
 * on 64-bit hosts), truncated to the u32 the maps module stores. */
static int cgroup_value(struct bpftime_caller *c, int fd, uint32_t *value)
{
	struct statfs sfs;
	struct stat st;
	int ours = fd < 0 ? -EBADF : c->ops->get_fd(c->ctx, fd);
	int err = -EBADF;

	if (ours < 0)
		return -EBADF;
	if (!fstatfs(ours, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC && !fstat(ours, &st) &&
	    S_ISDIR(st.st_mode)) {
		*value = (uint32_t)st.st_ino;
		err = 0;
	}
	close(ours);
	return err;
}

int emul_map_value_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			   uint32_t *value, struct emul_obj **ref)
{
	int fd = (int)*value, err;
	struct emul_obj *t;

	*ref = NULL;
	switch (bpftime_map__attr(o->map.m)->map_type) {
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
		return perf_value(e, c, fd, value, ref);
	case BPF_MAP_TYPE_CGROUP_ARRAY:
		return cgroup_value(c, fd, value);
	case BPF_MAP_TYPE_PROG_ARRAY:
		/* prog_fd_array_get_ptr(): bpf_prog_get() */
		t = emul_obj_from_fd_type(e, c, fd, EMUL_OBJ_PROG, &err);
		break;
	default:
		/* bpf_map_fd_get_ptr(): __bpf_map_get(); the maps module
		 * compares it with the template (bpf_map_meta_equal) */
		t = emul_obj_from_fd_type(e, c, fd, EMUL_OBJ_MAP, &err);
		break;
	}
	if (!t)
		return err;
	*value = t->id;
	*ref = t;
	return 0;
}

struct emul_obj *emul_map_slot_get(struct bpftime_emul *e, struct emul_obj *o, const void *key)
{
	uint32_t idx, id;

	if (has_slots(o)) {
		memcpy(&idx, key, sizeof(idx));
		return o->map.inner && idx < bpftime_map__attr(o->map.m)->max_entries
			   ? o->map.inner[idx]
			   : NULL;
	}
	if (bpftime_map__attr(o->map.m)->map_type != BPF_MAP_TYPE_HASH_OF_MAPS)
		return NULL;
	if (bpftime_map__lookup_elem(o->map.m, key, &id, 0))
		return NULL;
	return emul_obj_by_id(e, EMUL_OBJ_MAP, id);
}

void emul_map_slot_set(struct bpftime_emul *e, struct emul_obj *o, const void *key,
		       struct emul_obj *ref, struct emul_obj *old)
{
	uint32_t idx;

	if (ref)
		emul_obj_get(ref);
	if (has_slots(o) && o->map.inner) {
		/* the store checked the index against max_entries */
		memcpy(&idx, key, sizeof(idx));
		o->map.inner[idx] = ref;
	}
	emul_obj_put(e, old);
}

/* A hash of maps going away drops the inner maps it names. */
static void put_hash_entries(struct bpftime_emul *e, struct emul_obj *o)
{
	uint32_t ks = bpftime_map__attr(o->map.m)->key_size, id;
	uint8_t *key = malloc(ks), *next = malloc(ks);
	bool first = true;

	while (key && next && !bpftime_map__get_next_key(o->map.m, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, ks);
		if (!bpftime_map__lookup_elem(o->map.m, key, &id, 0))
			emul_obj_put(e, emul_obj_by_id(e, EMUL_OBJ_MAP, id));
	}
	free(key);
	free(next);
}

/* ---- MAP_CREATE ---- */

/* The caller's attr as the maps module takes it. */
static void to_map_attr(const union bpf_attr *a, struct bpftime_map_attr *m)
{
	memset(m, 0, sizeof(*m));
	m->map_type = a->map_type;
	m->key_size = a->key_size;
	m->value_size = a->value_size;
	m->max_entries = a->max_entries;
	m->map_flags = a->map_flags;
	m->numa_node = a->numa_node;
	m->btf_fd = a->btf_fd;
	m->btf_key_type_id = a->btf_key_type_id;
	m->btf_value_type_id = a->btf_value_type_id;
	m->btf_vmlinux_value_type_id = a->btf_vmlinux_value_type_id;
	m->map_extra = a->map_extra;
	memcpy(m->map_name, a->map_name, sizeof(m->map_name));
}

/* What map_create() resolves from fds: the inner map template and the
 * BTF. Errors are kept to be answered in the kernel's order. */
struct create_refs {
	struct emul_obj *btf;
	int inner_err; /* bpf_map_meta_alloc(): from the type's map_alloc */
	int btf_err;   /* btf_get_by_fd(), map_check_btf() before the fields */
	struct emul_map_btf check;
};

static bool is_map_in_map(uint32_t type)
{
	return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

static void resolve_create_refs(struct bpftime_emul *e, struct bpftime_caller *c,
				const union bpf_attr *attr, struct bpftime_map_attr *ma,
				struct create_refs *r)
{
	struct emul_obj *inner;

	memset(r, 0, sizeof(*r));
	if (is_map_in_map(attr->map_type)) {
		inner = emul_obj_from_fd_type(e, c, (int)attr->inner_map_fd, EMUL_OBJ_MAP,
					      &r->inner_err);
		if (inner)
			ma->inner_map_id = inner->id;
	}
	/* map_create() looks at the BTF only when a type id is given */
	if (!attr->btf_key_type_id && !attr->btf_value_type_id)
		return;
	/* btf_get_by_fd(): -EBADF, or -EINVAL for another kind of file */
	r->btf = emul_obj_from_fd_type(e, c, (int)attr->btf_fd, EMUL_OBJ_BTF, &r->btf_err);
	if (r->btf)
		r->btf_err = emul_map_check_btf(r->btf, attr, &r->check);
	if (!r->btf_err)
		ma->spin_lock_off = r->check.spin_lock_off;
}

/* The error the kernel answers after the type's and the name's checks
 * passed, in map_create()'s order; 0 when the map stands. */
static int late_error(const struct create_refs *r)
{
	if (r->btf_err)
		return r->btf_err;
	return r->check.late_err;
}

/* bpftime_map__create() with the errors of the fds map_create() resolves
 * placed where the kernel's come: the inner map's during the type's
 * checks, the BTF's after the name. A map created only to learn that the
 * checks before pass is destroyed again (its id is spent). */
static int create_in_region(struct bpftime_emul *e, const struct bpftime_map_attr *ma,
			    const struct create_refs *r, uint32_t *id)
{
	int err = bpftime_map__create(e->region, ma, id);

	/* inner_map_id 0 names no map: the maps module's -EBADF stands for
	 * the resolution's error, which bpf_map_meta_alloc() gives there */
	if (err == -EBADF && r->inner_err)
		return r->inner_err;
	if (err)
		return err;
	err = r->inner_err ? r->inner_err : late_error(r);
	if (err)
		bpftime_map__destroy(e->region, *id);
	return err;
}

/* The object of new map @id, its fd installed; the map goes on failure. */
static long publish(struct bpftime_emul *e, struct bpftime_caller *c, uint32_t id,
		    const union bpf_attr *attr, struct create_refs *r)
{
	struct bpftime_map *m = bpftime_map__get(e->region, id);
	struct emul_obj *o =
	    m ? emul_obj_new(e, EMUL_OBJ_MAP, "bpf-map", bpftime_map__file(m)) : NULL;
	long fd;

	if (!o) {
		bpftime_map__destroy(e->region, id);
		return -ENOMEM;
	}
	o->id = id;
	o->map.m = m;
	o->map.btf_key_type_id = attr->btf_key_type_id;
	o->map.btf_value_type_id = attr->btf_value_type_id;
	if (r->btf && !late_error(r)) {
		o->map.btf = r->btf;
		o->map.btf_id = r->btf->id;
		emul_obj_get(r->btf);
	}
	if (has_slots(o))
		o->map.inner = calloc(attr->max_entries, sizeof(*o->map.inner));
	if ((has_slots(o) && !o->map.inner) || emul_obj_add(e, o)) {
		emul_map_release(e, o);
		close(o->fd);
		free(o);
		return -ENOMEM;
	}
	fd = emul_map_install(e, c, o, attr->map_flags);
	if (fd < 0)
		emul_obj_put(e, o); /* nothing half-done: the map goes */
	return fd;
}

#define BPF_MAP_CREATE_LAST_FIELD map_extra

long emul_cmd_map_create(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 uint64_t uattr, uint32_t size)
{
	struct bpftime_map_attr ma;
	struct create_refs r;
	uint32_t id;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_CREATE_LAST_FIELD))
		return -EINVAL;
	/* offload to a netdev (bpf_map_offload_map_alloc) has no user space
	 * equivalent */
	if (attr->map_ifindex) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "map '%.16s': map_ifindex %u (device offload) is not available: -EINVAL",
			 attr->map_name, attr->map_ifindex);
		return -EINVAL;
	}
	to_map_attr(attr, &ma);
	resolve_create_refs(e, c, attr, &ma, &r);
	err = create_in_region(e, &ma, &r, &id);
	if (err) {
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "map '%.16s' (type %u): create refused: %s",
			 attr->map_name, attr->map_type, strerror(-err));
		return err;
	}
	return publish(e, c, id, attr, &r);
}

void emul_map_release(struct bpftime_emul *e, struct emul_obj *o)
{
	uint32_t max;

	if (!o->map.m)
		return;
	max = bpftime_map__attr(o->map.m)->max_entries;
	/* the objects the map names: at the session's end every object is
	 * released once anyway and these puts do nothing */
	if (o->map.inner)
		for (uint32_t i = 0; i < max; i++)
			emul_obj_put(e, o->map.inner[i]);
	free(o->map.inner);
	o->map.inner = NULL;
	if (!e->shutting_down && bpftime_map__attr(o->map.m)->map_type == BPF_MAP_TYPE_HASH_OF_MAPS)
		put_hash_entries(e, o);
	emul_obj_put(e, o->map.btf);
	o->map.btf = NULL;
	bpftime_map__destroy(e->region, o->id);
	o->map.m = NULL;
}
