// SPDX-License-Identifier: MIT
/*
 * The element commands: MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM,
 * MAP_GET_NEXT_KEY, MAP_LOOKUP_AND_DELETE_ELEM and MAP_FREEZE.
 *
 * Each makes the checks of its kernel/bpf/syscall.c function in that
 * function's order (probed on 6.18), because the first failing check
 * decides the errno: CHECK_ATTR, the flags some commands look at before
 * the fd, the fd (__bpf_map_get), the fd's access (map_get_sys_perms: a
 * BPF_F_RDONLY fd cannot write, a BPF_F_WRONLY one cannot read, a frozen
 * map cannot be written from the syscall side), BPF_F_LOCK, then the key
 * copied from the caller (__bpf_copy_key: -EFAULT), the value, the type's
 * operation (the maps module), and the copy back (-EFAULT, after the
 * operation: a LOOKUP_AND_DELETE whose value cannot be written back has
 * still deleted, as in the kernel).
 */
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"

/* A command's map, the caller's buffers for one key and one value. */
struct elem_ctx {
	struct emul_obj *o;
	struct bpftime_map *m;
	const struct bpftime_map_attr *a;
	void *key;   /* NULL: no key (key-less maps, or the first key) */
	void *value; /* bpftime_map__value_size() bytes */
	void *kbuf;
};

static void elem_ctx_free(struct elem_ctx *x)
{
	free(x->kbuf);
	free(x->value);
}

/* The map behind @fd and the access the command needs. */
static int elem_map(struct bpftime_emul *e, struct bpftime_caller *c, int fd, bool read, bool write,
		    struct elem_ctx *x)
{
	unsigned fmode = 0;
	int err;

	memset(x, 0, sizeof(*x));
	x->o = emul_map_from_fd(e, c, fd, &err, &fmode);
	if (!x->o)
		return err;
	x->m = x->o->map.m;
	x->a = bpftime_map__attr(x->m);
	err = emul_map_perm(fmode, read, write);
	/* map_get_sys_perms(): a frozen map's fds have lost FMODE_CAN_WRITE */
	if (!err && write && bpftime_map__frozen(x->m))
		err = -EPERM;
	return err;
}

/* BPF_F_LOCK needs a bpf_spin_lock in the value (btf_record_has_field). */
static int check_lock(const struct elem_ctx *x, uint64_t flags)
{
	return (flags & BPF_F_LOCK) && !x->a->spin_lock_off ? -EINVAL : 0;
}

/* __bpf_copy_key(): key-less maps take no key pointer, the others read
 * key_size bytes. @ukey 0 with @optional (GET_NEXT_KEY) asks for no key. */
static int copy_key(struct bpftime_caller *c, struct elem_ctx *x, uint64_t ukey, bool optional)
{
	if (optional && !ukey)
		return 0;
	if (!x->a->key_size)
		return ukey ? -EINVAL : 0;
	x->kbuf = malloc(x->a->key_size);
	if (!x->kbuf)
		return -ENOMEM;
	if (emul_read(c, x->kbuf, ukey, x->a->key_size))
		return -EFAULT;
	x->key = x->kbuf;
	return 0;
}

static int alloc_value(struct elem_ctx *x)
{
	x->value = calloc(1, bpftime_map__value_size(x->m) ?: 1);
	return x->value ? 0 : -ENOMEM;
}

#define BPF_MAP_LOOKUP_ELEM_LAST_FIELD flags

long emul_cmd_map_lookup_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	struct elem_ctx x;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_LOOKUP_ELEM_LAST_FIELD))
		return -EINVAL;
	/* map_lookup_elem(): the flags before the fd */
	if (attr->flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	err = elem_map(e, c, (int)attr->map_fd, true, false, &x);
	if (!err)
		err = check_lock(&x, attr->flags);
	if (!err)
		err = copy_key(c, &x, attr->key, false);
	if (!err)
		err = alloc_value(&x);
	if (!err && x.a->map_type == BPF_MAP_TYPE_BLOOM_FILTER) {
		/* a bloom filter's lookup takes the value to look for */
		err = emul_read(c, x.value, attr->value, x.a->value_size) ? -EFAULT : 0;
		if (!err)
			err = bpftime_map__lookup_elem(x.m, x.key, x.value, attr->flags);
		elem_ctx_free(&x);
		return err;
	}
	if (!err)
		err = bpftime_map__lookup_elem(x.m, x.key, x.value, attr->flags);
	if (!err && emul_write(c, attr->value, x.value, bpftime_map__value_size(x.m)))
		err = -EFAULT;
	elem_ctx_free(&x);
	return err;
}

/*
 * An fd-valued map's update: bpf_fd_array_map_update_elem() judges the
 * flags and the index before it resolves the fd; a hash of maps resolves
 * first (bpf_fd_htab_map_update_elem). The stored object gets the map's
 * reference, the replaced one loses it.
 */
int emul_map_update_fd_value(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			     const void *key, void *value, uint64_t flags, bool batch)
{
	const struct bpftime_map_attr *a = bpftime_map__attr(o->map.m);
	struct emul_obj *ref, *old;
	uint32_t idx, one = 1;
	int err;

	if (a->map_type != BPF_MAP_TYPE_HASH_OF_MAPS) {
		memcpy(&idx, key, sizeof(idx));
		if (flags != BPF_ANY)
			return -EINVAL;
		if (idx >= a->max_entries)
			return -E2BIG;
	}
	err = emul_map_value_from_fd(e, c, o, value, &ref);
	if (err)
		return err;
	old = emul_map_slot_get(e, o, key);
	err = batch ? bpftime_map__update_batch(o->map.m, key, value, &one, flags)
		    : bpftime_map__update_elem(o->map.m, key, value, flags);
	if (!err)
		emul_map_slot_set(e, o, key, ref, old);
	return err;
}

#define BPF_MAP_UPDATE_ELEM_LAST_FIELD flags

long emul_cmd_map_update_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	struct elem_ctx x;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_UPDATE_ELEM_LAST_FIELD))
		return -EINVAL;
	err = elem_map(e, c, (int)attr->map_fd, false, true, &x);
	if (!err)
		err = check_lock(&x, attr->flags);
	if (!err)
		err = copy_key(c, &x, attr->key, false);
	if (!err)
		err = alloc_value(&x);
	if (!err && emul_read(c, x.value, attr->value, bpftime_map__value_size(x.m)))
		err = -EFAULT;
	if (!err && emul_map_fd_valued(x.o))
		err = emul_map_update_fd_value(e, c, x.o, x.key, x.value, attr->flags, false);
	else if (!err)
		err = bpftime_map__update_elem(x.m, x.key, x.value, attr->flags);
	elem_ctx_free(&x);
	return err;
}

#define BPF_MAP_DELETE_ELEM_LAST_FIELD key

long emul_cmd_map_delete_elem(struct bpftime_emul *e, struct bpftime_caller *c,
			      union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	struct emul_obj *old = NULL;
	struct elem_ctx x;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_DELETE_ELEM_LAST_FIELD))
		return -EINVAL;
	err = elem_map(e, c, (int)attr->map_fd, false, true, &x);
	if (!err)
		err = copy_key(c, &x, attr->key, false);
	if (!err && x.key && emul_map_fd_valued(x.o))
		old = emul_map_slot_get(e, x.o, x.key);
	if (!err)
		err = bpftime_map__delete_elem(x.m, x.key);
	if (!err && old)
		emul_map_slot_set(e, x.o, x.key, NULL, old);
	elem_ctx_free(&x);
	return err;
}

#define BPF_MAP_GET_NEXT_KEY_LAST_FIELD next_key

long emul_cmd_map_get_next_key(struct bpftime_emul *e, struct bpftime_caller *c,
			       union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	struct elem_ctx x;
	void *next = NULL;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_GET_NEXT_KEY_LAST_FIELD))
		return -EINVAL;
	err = elem_map(e, c, (int)attr->map_fd, true, false, &x);
	/* a key of 0 asks for the first key; a missing key of a hash map
	 * gives the first key too (the maps module, as htab_map_get_next_key) */
	if (!err)
		err = copy_key(c, &x, attr->key, true);
	if (!err) {
		next = calloc(1, x.a->key_size ?: 1);
		err = next ? 0 : -ENOMEM;
	}
	if (!err)
		err = bpftime_map__get_next_key(x.m, x.key, next);
	if (!err && emul_write(c, attr->next_key, next, x.a->key_size))
		err = -EFAULT;
	free(next);
	elem_ctx_free(&x);
	return err;
}

#define BPF_MAP_LOOKUP_AND_DELETE_ELEM_LAST_FIELD flags

static bool is_queue(uint32_t type)
{
	return type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK;
}

long emul_cmd_map_lookup_and_delete_elem(struct bpftime_emul *e, struct bpftime_caller *c,
					 union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	struct elem_ctx x;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_LOOKUP_AND_DELETE_ELEM_LAST_FIELD))
		return -EINVAL;
	if (attr->flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	err = elem_map(e, c, (int)attr->map_fd, true, true, &x);
	/* map_lookup_and_delete_elem(): queues and stacks take no flags */
	if (!err && attr->flags && is_queue(x.a->map_type))
		err = -EINVAL;
	if (!err)
		err = check_lock(&x, attr->flags);
	if (!err)
		err = copy_key(c, &x, attr->key, false);
	if (!err)
		err = alloc_value(&x);
	if (!err)
		err = bpftime_map__lookup_and_delete_elem(x.m, x.key, x.value, attr->flags);
	if (!err && emul_write(c, attr->value, x.value, bpftime_map__value_size(x.m)))
		err = -EFAULT;
	elem_ctx_free(&x);
	return err;
}

#define BPF_MAP_FREEZE_LAST_FIELD map_fd

long emul_cmd_map_freeze(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 uint64_t uattr, uint32_t size)
{
	struct emul_obj *o;
	unsigned fmode = 0;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_MAP_FREEZE_LAST_FIELD))
		return -EINVAL;
	o = emul_map_from_fd(e, c, (int)attr->map_fd, &err, &fmode);
	if (!o)
		return err;
	/* map_freeze(): a map with special fields (a spin lock) before the
	 * fd's access; frozen twice is -EPERM (the fd lost its write access) */
	if (bpftime_map__attr(o->map.m)->spin_lock_off)
		return -EMUL_ENOTSUPP;
	err = emul_map_perm(fmode, false, true);
	if (err)
		return err;
	/* bpf_map_write_active(): a writable mmap of it exists */
	if ((bpftime_map__attr(o->map.m)->map_flags & BPF_F_MMAPABLE) && emul_mapped_writable(c, o))
		return -EBUSY;
	return bpftime_map__freeze(o->map.m);
}
