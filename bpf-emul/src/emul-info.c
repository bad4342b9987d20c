// SPDX-License-Identifier: MIT
/*
 * BPF_OBJ_GET_INFO_BY_FD, the *_GET_NEXT_ID commands and the
 * *_GET_FD_BY_ID commands, as kernel/bpf/syscall.c answers them (probed
 * on 6.18):
 *
 *   info     a closed fd is -EBADFD (not -EBADF), a file that is no map,
 *            program, BTF or link -EINVAL; info_len past the kernel's
 *            struct must point at zeros (-E2BIG; more than a page is
 *            -E2BIG), min(info_len, sizeof) bytes are written back and
 *            info_len becomes that; an unreadable or unwritable info is
 *            -EFAULT, but info_len 0 touches nothing.
 *   next id  start_id >= INT_MAX is -EINVAL, no object above it -ENOENT.
 *            Map ids skip the maps module's internal perf buffers (they
 *            are no map objects); BTF ids include the vmlinux BTF (id 1)
 *            once it is made.
 *   fd by id map: open_flags BPF_F_RDONLY / BPF_F_WRONLY (both, or any
 *            other bit: -EINVAL, before the id is looked up); programs and
 *            links take no flags (CHECK_ATTR ends at their id); BTF takes
 *            next_id (6.18 reads up to a token fd) but no open_flags.
 *            No such id: -ENOENT.
 * The kernel's CAP_SYS_ADMIN checks (-EPERM) are not made: the session's
 * objects are the caller's own.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"

#define PAGE_SZ 4096u

/* ---- OBJ_GET_INFO_BY_FD ---- */

int emul_map_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_map_info *info, uint32_t *len)
{
	const struct bpftime_map_attr *a = bpftime_map__attr(o->map.m);

	/* bpf_map_get_info_by_fd(): nothing of the caller's struct is read */
	memset(info, 0, sizeof(*info));
	info->type = a->map_type;
	info->id = o->id;
	info->key_size = a->key_size;
	info->value_size = a->value_size;
	info->max_entries = a->max_entries;
	/* bpf_map_flags_retain_permanent(): the fd's access flags are not
	 * the map's */
	info->map_flags = a->map_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY);
	info->map_extra = a->map_extra;
	memcpy(info->name, a->map_name, sizeof(info->name));
	if (o->map.btf) {
		info->btf_id = o->map.btf_id;
		info->btf_key_type_id = o->map.btf_key_type_id;
		info->btf_value_type_id = o->map.btf_value_type_id;
	}
	info->btf_vmlinux_value_type_id = a->btf_vmlinux_value_type_id;
	/* *len stays the 6.18 size the caller passed: the rest is zeros */
	return 0;
}

/* The size of the kernel's info struct for @type. */
#define MAP_INFO_SIZE_6_18  104u
#define LINK_INFO_SIZE_6_18 64u /* probed: a perf_event link's info_len */
_Static_assert(LINK_INFO_SIZE_6_18 >= sizeof(struct bpf_link_info), "link info size");
_Static_assert(MAP_INFO_SIZE_6_18 >= sizeof(struct bpf_map_info), "map info size");

static uint32_t info_size(enum emul_obj_type type)
{
	switch (type) {
	case EMUL_OBJ_MAP:
		/* 6.18's struct is 104 bytes (probed: info_len comes back 104);
		 * the fields past our header's 88 (the map's hash) stay 0 */
		return MAP_INFO_SIZE_6_18;
	case EMUL_OBJ_PROG:
		return sizeof(struct bpf_prog_info);
	case EMUL_OBJ_BTF:
		return sizeof(struct bpf_btf_info);
	case EMUL_OBJ_LINK:
		return LINK_INFO_SIZE_6_18;
	default:
		return 0;
	}
}

/* bpf_check_uarg_tail_zero() on the caller's info struct. */
static int check_tail(struct bpftime_caller *c, uint64_t uinfo, uint32_t expected, uint32_t len)
{
	uint8_t tail[PAGE_SZ];

	if (len > PAGE_SZ)
		return -E2BIG;
	if (len <= expected)
		return 0;
	if (emul_read(c, tail, uinfo + expected, len - expected))
		return -EFAULT;
	for (uint32_t i = 0; i < len - expected; i++)
		if (tail[i])
			return -E2BIG;
	return 0;
}

static int fill_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     void *info, uint32_t *len)
{
	switch (o->type) {
	case EMUL_OBJ_MAP:
		return emul_map_info(e, c, o, info, len);
	case EMUL_OBJ_PROG:
		return emul_prog_info(e, c, o, info, len);
	case EMUL_OBJ_BTF:
		return emul_btf_info(e, c, o, info, len);
	case EMUL_OBJ_LINK:
		return emul_link_info(e, c, o, info, len);
	default:
		return -EINVAL;
	}
}

#define BPF_OBJ_GET_INFO_BY_FD_LAST_FIELD info.info

long emul_cmd_obj_get_info_by_fd(struct bpftime_emul *e, struct bpftime_caller *c,
				 union bpf_attr *attr, uint64_t uattr, uint32_t size)
{
	uint32_t ulen = attr->info.info_len, ksize, len;
	uint64_t uinfo = attr->info.info;
	struct emul_obj *o;
	void *info;
	int err;

	if (EMUL_CHECK_ATTR(attr, BPF_OBJ_GET_INFO_BY_FD_LAST_FIELD))
		return -EINVAL;
	o = emul_obj_from_fd(e, c, (int)attr->info.bpf_fd, &err);
	/* bpf_obj_get_info_by_fd(): no file is -EBADFD */
	if (!o)
		return err == -EBADF ? -EBADFD : err;
	ksize = info_size(o->type);
	if (!ksize)
		return -EINVAL; /* a perf event */
	err = check_tail(c, uinfo, ksize, ulen);
	if (err)
		return err;
	len = ulen < ksize ? ulen : ksize;
	info = calloc(1, ksize);
	if (!info)
		return -ENOMEM;
	/* the caller's struct in: programs and BTF read pointers from it */
	err = emul_read(c, info, uinfo, len) ? -EFAULT : 0;
	if (!err)
		err = fill_info(e, c, o, info, &ksize);
	len = ulen < ksize ? ulen : ksize;
	/* btf_get_info_by_fd(): a name buffer too short still gets the info
	 * written back, then -ENOSPC */
	if ((!err || err == -ENOSPC) &&
	    (emul_write(c, uinfo, info, len) ||
	     emul_write(c, uattr + offsetof(union bpf_attr, info.info_len), &len, sizeof(len))))
		err = -EFAULT;
	free(info);
	return err;
}

/* ---- GET_NEXT_ID ---- */

#define BPF_OBJ_GET_NEXT_ID_LAST_FIELD next_id

static long get_next_id(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			uint64_t uattr, enum emul_obj_type type)
{
	struct emul_obj *o;

	if (EMUL_CHECK_ATTR(attr, BPF_OBJ_GET_NEXT_ID_LAST_FIELD) || attr->start_id >= INT_MAX)
		return -EINVAL;
	/* the vmlinux BTF is id 1 from the first time anyone asks */
	if (type == EMUL_OBJ_BTF)
		emul_btf_vmlinux(e);
	o = emul_obj_next(e, type, attr->start_id);
	if (!o)
		return -ENOENT;
	if (emul_write(c, uattr + offsetof(union bpf_attr, next_id), &o->id, sizeof(o->id)))
		return -EFAULT;
	return 0;
}

/* ---- GET_FD_BY_ID ---- */

#define BPF_MAP_GET_FD_BY_ID_LAST_FIELD  open_flags
#define BPF_PROG_GET_FD_BY_ID_LAST_FIELD prog_id
#define BPF_LINK_GET_FD_BY_ID_LAST_FIELD link_id
/* 6.18 reads up to fd_by_id_token_fd, past open_flags (BPF_F_TOKEN_FD
 * only): next_id is accepted, open_flags refused */
#define BPF_BTF_GET_FD_BY_ID_LAST_FIELD open_flags

static int check_fd_by_id(const union bpf_attr *attr, enum emul_obj_type type)
{
	switch (type) {
	case EMUL_OBJ_MAP:
		if (EMUL_CHECK_ATTR(attr, BPF_MAP_GET_FD_BY_ID_LAST_FIELD))
			return -EINVAL;
		/* bpf_get_file_flag(): both access flags at once */
		if ((attr->open_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY)) ||
		    (attr->open_flags & BPF_F_RDONLY && attr->open_flags & BPF_F_WRONLY))
			return -EINVAL;
		return 0;
	case EMUL_OBJ_PROG:
		return EMUL_CHECK_ATTR(attr, BPF_PROG_GET_FD_BY_ID_LAST_FIELD) ? -EINVAL : 0;
	case EMUL_OBJ_LINK:
		return EMUL_CHECK_ATTR(attr, BPF_LINK_GET_FD_BY_ID_LAST_FIELD) ? -EINVAL : 0;
	default:
		return EMUL_CHECK_ATTR(attr, BPF_BTF_GET_FD_BY_ID_LAST_FIELD) || attr->open_flags
			   ? -EINVAL
			   : 0;
	}
}

static long get_fd_by_id(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			 enum emul_obj_type type)
{
	struct emul_obj *o;
	int err = check_fd_by_id(attr, type);

	if (err)
		return err;
	if (type == EMUL_OBJ_BTF && attr->btf_id == 1)
		o = emul_btf_vmlinux(e);
	else
		o = emul_obj_by_id(e, type, attr->map_id); /* the id of any type */
	if (!o || !attr->map_id)
		return -ENOENT;
	if (type == EMUL_OBJ_MAP)
		return emul_map_install(e, c, o, attr->open_flags);
	return emul_obj_install(e, c, o, O_CLOEXEC);
}

#define ID_CMDS(kind, TYPE)                                                                        \
	long emul_cmd_##kind##_get_next_id(struct bpftime_emul *e, struct bpftime_caller *c,       \
					   union bpf_attr *attr, uint64_t uattr, uint32_t size)    \
	{                                                                                          \
		return get_next_id(e, c, attr, uattr, TYPE);                                       \
	}                                                                                          \
	long emul_cmd_##kind##_get_fd_by_id(struct bpftime_emul *e, struct bpftime_caller *c,      \
					    union bpf_attr *attr, uint64_t uattr, uint32_t size)   \
	{                                                                                          \
		return get_fd_by_id(e, c, attr, TYPE);                                             \
	}

ID_CMDS(map, EMUL_OBJ_MAP)
ID_CMDS(prog, EMUL_OBJ_PROG)
ID_CMDS(btf, EMUL_OBJ_BTF)
ID_CMDS(link, EMUL_OBJ_LINK)
