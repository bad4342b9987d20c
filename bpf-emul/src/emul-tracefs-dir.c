// SPDX-License-Identifier: MIT
/*
 * The tracefs directories we serve (emul-files.c) opened as directories,
 * so that glob(3) (bpftrace 0.17 globs the format files of a tracepoint
 * wildcard such as syscalls:sys_enter_sync_file_range*), ls and readdir
 * list them. The caller gets a real directory of the session,
 *
 *   SESSION/tracefs/REST        REST: "", "/events", "/events/syscalls", ...
 *
 * with one empty subdirectory per entry we serve there, made at each open
 * (mkdir -p; entries only ever come from the same lists, so the directory
 * holds exactly them): getdents64, fstat and close are then the kernel's.
 * Only directories are materialised: files are served by path (a memfd per
 * open), and a relative open below such an fd finds nothing (-ENOENT)
 * rather than a stale or empty copy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "emul-tracefs-dir.h"

#define TRACEFS_SUBDIR "/tracefs"

void emul_names_add(struct emul_names *l, const char *name)
{
	char **v;

	if (l->err)
		return;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		l->err = -ENOMEM;
		return;
	}
	l->v = v;
	v[l->n] = strdup(name);
	if (!v[l->n])
		l->err = -ENOMEM;
	else
		l->n++;
}

void emul_names_free(struct emul_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* mkdir -p @path (absolute), 0700: the session directory is private. */
static int make_path(char *path)
{
	for (char *s = strchr(path + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			int err = -errno;

			if (s)
				*s = '/';
			return err;
		}
		if (!s)
			return 0;
		*s = '/';
	}
}

/* open(2) of a directory (do_sys_open, may_open): O_TMPFILE needs the
 * filesystem's tmpfile (tracefs has none), O_CREAT | O_DIRECTORY is
 * -EINVAL, and writing or creating is -EISDIR. */
static int dir_open_flags(int flags)
{
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return -EOPNOTSUPP;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		return -EISDIR;
	return (flags & (O_DIRECTORY | O_NONBLOCK | O_NOFOLLOW | O_PATH | O_NOATIME)) | O_RDONLY |
	       O_CLOEXEC;
}

int emul_tracefs_dir_open(const char *session_dir, const char *rest, const struct emul_names *l,
			  int flags)
{
	char path[PATH_MAX];
	int oflags = dir_open_flags(flags), dfd, err;
	int n = snprintf(path, sizeof(path), "%s" TRACEFS_SUBDIR "%s", session_dir, rest);

	if (oflags < 0)
		return oflags;
	if (l->err)
		return l->err;
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	err = make_path(path);
	if (err)
		return err;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (size_t i = 0; i < l->n; i++)
		if (mkdirat(dfd, l->v[i], 0700) && errno != EEXIST) {
			err = -errno;
			close(dfd);
			return err;
		}
	close(dfd);
	dfd = open(path, oflags);
	return dfd < 0 ? -errno : dfd;
}

/* rm -r of @name in @at; @depth bounds the recursion (ours is 4 deep). */
static void remove_tree(int at, const char *name, int depth)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0) {
		unlinkat(at, name, 0); /* not a directory (or gone) */
		return;
	}
	d = depth > 0 ? fdopendir(fd) : NULL;
	if (!d) {
		close(fd);
	} else {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_tree(dirfd(d), de->d_name, depth - 1);
		closedir(d);
	}
	unlinkat(at, name, AT_REMOVEDIR);
}

void emul_tracefs_dir_remove(const char *session_dir)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s" TRACEFS_SUBDIR, session_dir);

	if (n > 0 && (size_t)n < sizeof(path))
		remove_tree(AT_FDCWD, path, 8);
}
