// SPDX-License-Identifier: MIT
/*
 * BPF_OBJ_PIN and BPF_OBJ_GET: an emulated bpffs at /sys/fs/bpf.
 *
 * Pins live in the session, a table of absolute paths, each holding a
 * reference on its object as a bpffs inode does. Paths are made absolute
 * against the caller's cwd (or the directory fd of BPF_F_PATH_FD) and
 * normalised lexically. The kernel's answers (probed on 6.18, with bpffs
 * mounted at /sys/fs/bpf):
 *
 *   PIN  file_flags other than BPF_F_PATH_FD, or a path_fd without it:
 *        -EINVAL; the fd before the path: no fd, or no map, program or
 *        link behind it: -EINVAL (bpf_fd_probe_obj); the path: unreadable
 *        -EFAULT, PATH_MAX or longer -ENAMETOOLONG, empty -ENOENT; a
 *        parent directory outside bpffs -EPERM, one that does not exist
 *        -ENOENT; the name taken (a pin, or a directory such as
 *        /sys/fs/bpf itself) -EEXIST.
 *   GET  bpf_fd set, file_flags other than BPF_F_RDONLY / BPF_F_WRONLY /
 *        BPF_F_PATH_FD, or both access flags: -EINVAL; no pin there:
 *        -ENOENT, or -EACCES when the path names a file that is no bpf
 *        object (a directory, /etc/passwd); a program or link opened with
 *        an access flag: -EINVAL; a map gets an fd with the asked access
 *        (the pin does not remember the pinning fd's).
 *
 * Directories under /sys/fs/bpf are the host's: a pin's parent must be
 * /sys/fs/bpf or a directory that exists there (the tool's mkdir is not
 * trapped). Limits: pins are not files: the tool's unlink() of a pin is
 * not seen (it fails with ENOENT, or removes a real file), so a pin lasts
 * until the session ends; stat() and readdir() do not show them.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "emul-internal.h"

#ifndef BPF_F_PATH_FD
#define BPF_F_PATH_FD (1U << 14) /* Linux 6.5 */
#endif

#define BPFFS             "/sys/fs/bpf"
#define PATH_FD_OFFSET    16 /* union bpf_attr: path_fd follows file_flags (6.5) */
#define BPF_OBJ_LAST_SIZE (PATH_FD_OFFSET + sizeof(uint32_t))

struct pin {
	char *path;
	struct emul_obj *obj; /* referenced */
};

struct pins {
	struct pin *v;
	uint32_t n, cap;
};

static struct pins *pins_of(struct bpftime_emul *e)
{
	if (!e->pins)
		e->pins = calloc(1, sizeof(struct pins));
	return e->pins;
}

static struct pin *find_pin(struct pins *p, const char *path)
{
	for (uint32_t i = 0; p && i < p->n; i++)
		if (!strcmp(p->v[i].path, path))
			return &p->v[i];
	return NULL;
}

void emul_pins_free(struct bpftime_emul *e)
{
	struct pins *p = e->pins;

	if (!p)
		return;
	for (uint32_t i = 0; i < p->n; i++) {
		emul_obj_put(e, p->v[i].obj);
		free(p->v[i].path);
	}
	free(p->v);
	free(p);
	e->pins = NULL;
}

/* ---- paths ---- */

static uint32_t path_fd(const union bpf_attr *attr)
{
	uint32_t fd;

	memcpy(&fd, (const uint8_t *)attr + PATH_FD_OFFSET, sizeof(fd));
	return fd;
}

/* The directory relative paths start from: BPF_F_PATH_FD's fd (AT_FDCWD
 * included), else the caller's cwd. */
static int base_dir(struct bpftime_caller *c, const union bpf_attr *attr, char *out, size_t size)
{
	int fd = (attr->file_flags & BPF_F_PATH_FD) ? (int)path_fd(attr) : AT_FDCWD;
	char link[64];
	ssize_t n;
	int ours = -1;

	if (fd == AT_FDCWD) {
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)c->pid);
	} else {
		ours = c->ops->get_fd(c->ctx, fd);
		if (ours < 0)
			return -EBADF;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", ours);
	}
	n = readlink(link, out, size - 1);
	if (ours >= 0)
		close(ours);
	if (n < 0)
		return -ENOENT;
	out[n] = 0;
	return 0;
}

/* Drop "." and empty components, apply ".." (lexically), in place. */
static void normalise(char *path)
{
	char *out = path, *p = path;

	while (*p) {
		char *end = strchrnul(p + 1, '/');
		size_t len = (size_t)(end - p - 1); /* the component after the '/' */

		if (len == 0 || (len == 1 && p[1] == '.')) {
			/* nothing */
		} else if (len == 2 && p[1] == '.' && p[2] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			memmove(out, p, len + 1);
			out += len + 1;
		}
		p = end;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/* The caller's pathname, absolute and normalised (bpf_obj_pin_user's
 * strncpy_from_user of PATH_MAX bytes). */
static int read_path(struct bpftime_caller *c, const union bpf_attr *attr, char *out)
{
	char rel[PATH_MAX], base[PATH_MAX];
	long len = emul_read_str(c, rel, attr->pathname, sizeof(rel), ENAMETOOLONG);
	int err;

	if (len < 0)
		return (int)len;
	if (!len)
		return -ENOENT;
	if (rel[0] == '/') {
		memcpy(out, rel, (size_t)len + 1);
	} else {
		err = base_dir(c, attr, base, sizeof(base));
		if (err)
			return err;
		if (snprintf(out, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	normalise(out);
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* bpf_obj_do_pin(): where the new name may go. */
static int check_pin_path(struct pins *p, const char *path)
{
	char parent[PATH_MAX];
	char *slash;

	if (!strcmp(path, BPFFS) || find_pin(p, path))
		return -EEXIST;
	strcpy(parent, path);
	slash = strrchr(parent, '/');
	*slash = 0;
	if (strncmp(path, BPFFS "/", sizeof(BPFFS)))
		return -EPERM; /* a parent outside bpffs: bpf_get_inode() */
	if (strcmp(parent, BPFFS) && !is_dir(parent))
		return -ENOENT;
	if (is_dir(path))
		return -EEXIST;
	return 0;
}

/* ---- OBJ_PIN ---- */

static struct emul_obj *pinnable(struct bpftime_emul *e, struct bpftime_caller *c, int fd)
{
	int err;
	struct emul_obj *o = emul_obj_from_fd(e, c, fd, &err);

	/* bpf_fd_probe_obj(): programs, maps and links; -EINVAL for the rest */
	if (o && (o->type == EMUL_OBJ_PROG || o->type == EMUL_OBJ_MAP || o->type == EMUL_OBJ_LINK))
		return o;
	return NULL;
}

static int add_pin(struct pins *p, const char *path, struct emul_obj *o)
{
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? 2 * p->cap : 8;
		struct pin *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].path = strdup(path);
	if (!p->v[p->n].path)
		return -ENOMEM;
	p->v[p->n++].obj = o;
	emul_obj_get(o);
	return 0;
}

long emul_cmd_obj_pin(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
		      uint64_t uattr, uint32_t size)
{
	char path[PATH_MAX];
	struct pins *p = pins_of(e);
	struct emul_obj *o;
	int err;

	if (emul_attr_tail_nonzero(attr, BPF_OBJ_LAST_SIZE) || (attr->file_flags & ~BPF_F_PATH_FD))
		return -EINVAL;
	/* a path_fd needs BPF_F_PATH_FD */
	if (!(attr->file_flags & BPF_F_PATH_FD) && path_fd(attr))
		return -EINVAL;
	o = pinnable(e, c, (int)attr->bpf_fd);
	if (!o)
		return -EINVAL;
	if (!p)
		return -ENOMEM;
	err = read_path(c, attr, path);
	if (!err)
		err = check_pin_path(p, path);
	if (!err)
		err = add_pin(p, path, o);
	if (err)
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "pin of object %u: %s", o->id, strerror(-err));
	return err;
}

/* ---- OBJ_GET ---- */

#define BPF_OBJ_FLAG_MASK (BPF_F_RDONLY | BPF_F_WRONLY)

long emul_cmd_obj_get(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
		      uint64_t uattr, uint32_t size)
{
	uint32_t acc = attr->file_flags & BPF_OBJ_FLAG_MASK;
	char path[PATH_MAX];
	struct pin *pin;
	int err;

	if (emul_attr_tail_nonzero(attr, BPF_OBJ_LAST_SIZE) || attr->bpf_fd ||
	    (attr->file_flags & ~(BPF_OBJ_FLAG_MASK | BPF_F_PATH_FD)))
		return -EINVAL;
	if ((!(attr->file_flags & BPF_F_PATH_FD) && path_fd(attr)) || acc == BPF_OBJ_FLAG_MASK)
		return -EINVAL;
	err = read_path(c, attr, path);
	if (err)
		return err;
	pin = find_pin(e->pins, path);
	if (!pin) {
		struct stat st;

		/* a file that exists but is no bpf object */
		return stat(path, &st) ? -ENOENT : -EACCES;
	}
	if (pin->obj->type == EMUL_OBJ_MAP)
		return emul_map_install(e, c, pin->obj, acc);
	/* bpf_obj_get_user(): programs and links open read-write only */
	if (acc)
		return -EINVAL;
	return emul_obj_install(e, c, pin->obj, O_CLOEXEC);
}
