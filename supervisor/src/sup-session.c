// SPDX-License-Identifier: MIT
/*
 * Sessions: one directory per session under a per-user base directory,
 *
 *   /dev/shm/bpftime-<uid>/           0700, owned by the user
 *       <name>/                       0700: the emulator's region and map files
 *           control                   the supervisor's unix socket (`status`)
 *           tracefs/                  the tracefs directories the tool opened
 *                                     (bpf-emul's emul-tracefs-dir.c)
 *
 * The base directory is private so that two users never share a session,
 * and we refuse one that another user owns (someone could pre-create it in
 * the world-writable /dev/shm to read our maps).
 *
 * A live supervisor holds flock(LOCK_EX) on its session's directory: the
 * lock goes away with the process however it dies, so "stale" (a session
 * whose supervisor is gone) is exactly "the lock can be taken". That also
 * makes `status --clean` safe against a supervisor starting in the same
 * directory: whoever holds the lock owns the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sup-internal.h"

int sup_base_dir(const char *override, char *out, size_t len)
{
	const char *env = getenv("BPFTIME_SESSION_DIR");
	int n;

	if (override)
		n = snprintf(out, len, "%s", override);
	else if (env && *env)
		n = snprintf(out, len, "%s", env);
	else
		n = snprintf(out, len, "/dev/shm/bpftime-%u", (unsigned int)getuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* @path must be a directory (not a symlink to one) owned by us. */
static int check_private_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		sup_log(SUP_LOG_ERROR, "%s is not a directory: remove it or use --session-dir DIR",
			path);
		return -ENOTDIR;
	}
	if (st.st_uid != getuid()) {
		sup_log(SUP_LOG_ERROR,
			"%s belongs to uid %u, not to you (uid %u): sessions must be private; "
			"remove it or use --session-dir DIR",
			path, (unsigned int)st.st_uid, (unsigned int)getuid());
		return -EPERM;
	}
	if ((st.st_mode & 077) && chmod(path, 0700) == 0)
		sup_log(SUP_LOG_INFO, "%s was open to other users: made it 0700", path);
	return 0;
}

int sup_base_prepare(const char *base)
{
	if (mkdir(base, 0700) && errno != EEXIST) {
		int err = -errno;

		sup_log(SUP_LOG_ERROR,
			"cannot create the session directory %s: %s (use --session-dir DIR)", base,
			strerror(-err));
		return err;
	}
	return check_private_dir(base);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool sup_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SUP_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(name[i]))
			return false;
	}
	return true;
}

void sup_name_generate(const char *tool, pid_t pid, char *out, size_t len)
{
	const char *base = strrchr(tool, '/');
	char stem[32];
	size_t i;

	base = base ? base + 1 : tool;
	for (i = 0; base[i] && i < sizeof(stem) - 1; i++)
		stem[i] = name_char(base[i]) ? base[i] : '_';
	stem[i] = '\0';
	if (i == 0 || stem[0] == '.')
		stem[0] = 's';
	snprintf(out, len, "%s-%d", stem, (int)pid);
}

int sup_session_init(struct sup_session *s, const char *base, const char *name)
{
	int n;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (!sup_name_valid(name))
		return -EINVAL;
	snprintf(s->base, sizeof(s->base), "%s", base);
	snprintf(s->name, sizeof(s->name), "%s", name);
	n = snprintf(s->dir, sizeof(s->dir), "%s/%s", base, name);
	if (n < 0 || (size_t)n >= sizeof(s->dir))
		return -ENAMETOOLONG;
	n = snprintf(s->sock, sizeof(s->sock), "%s/" SUP_SOCK_NAME, s->dir);
	if (n < 0 || (size_t)n >= sizeof(s->sock))
		return -ENAMETOOLONG;
	return 0;
}

/* Opens and locks the directory; -EBUSY when a live supervisor has it, and
 * -ENOENT when it was removed between open and lock (by --clean). */
static int lock_dir(struct sup_session *s)
{
	cleanup_close int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat held, now;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	/* the directory we locked must still be the one at the path */
	if (fstat(fd, &held) || stat(s->dir, &now) || held.st_ino != now.st_ino ||
	    held.st_dev != now.st_dev)
		return -ENOENT;
	s->lock_fd = sup_steal_fd(&fd);
	return 0;
}

/* Removes @name in @dfd, and all under it when it is a directory (the
 * emulator's tracefs directories, bpf-emul's emul-tracefs-dir.c, a few
 * levels deep; @depth bounds the recursion). */
static int remove_entry(int dfd, const char *name, int depth)
{
	struct dirent *de;
	int fd, err = 0;
	DIR *d;

	if (!unlinkat(dfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR || depth <= 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			int e = remove_entry(dirfd(d), de->d_name, depth - 1);

			err = err ? err : e;
		}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* Removes what a previous supervisor left (we hold the lock). */
static int empty_dir(struct sup_session *s)
{
	int dfd = dup(s->lock_fd);
	struct dirent *de;
	int err = 0;
	DIR *d;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		e = remove_entry(s->lock_fd, de->d_name, 8);
		err = err ? err : e;
	}
	closedir(d);
	return err;
}

int sup_session_claim(struct sup_session *s)
{
	bool created;
	int err;

	for (int tries = 0; tries < 3; tries++) {
		created = mkdir(s->dir, 0700) == 0;
		if (!created && errno != EEXIST)
			return -errno;
		err = check_private_dir(s->dir);
		if (err)
			return err;
		err = lock_dir(s);
		if (err == -ENOENT)
			continue; /* removed by a concurrent --clean: again */
		/* `bpftime status` takes the lock for a moment to tell a live
		 * session from a stale one: held, but no control socket yet,
		 * is that (or a supervisor starting); look again for 1 s */
		for (int wait = 0; err == -EBUSY && wait < 100 && access(s->sock, F_OK); wait++) {
			usleep(10000);
			err = lock_dir(s);
		}
		if (err)
			return err;
		if (!created) {
			sup_log(SUP_LOG_INFO,
				"session %s: taking over what a previous supervisor left", s->name);
			err = empty_dir(s);
			if (err)
				sup_log(SUP_LOG_WARN, "session %s: cannot empty %s: %s", s->name,
					s->dir, strerror(-err));
		}
		return 0;
	}
	return -EAGAIN;
}

int sup_session_try_lock(struct sup_session *s)
{
	return lock_dir(s);
}

int sup_session_remove(struct sup_session *s)
{
	int err = empty_dir(s);

	if (err)
		return err;
	if (rmdir(s->dir) && errno != ENOENT)
		return -errno;
	return 0;
}

void sup_session_release(struct sup_session *s)
{
	sup_close_and_reset(&s->lock_fd);
}

int sup_agent_session(const struct sup_opts *o, struct sup_session *s)
{
	char base[PATH_MAX], name[SUP_NAME_MAX + 1];
	int err;

	err = sup_base_dir(o->base_dir, base, sizeof(base));
	if (!err)
		err = sup_base_prepare(base);
	if (err)
		return err;
	/* the session the first `bpftime run` without --session serves */
	snprintf(name, sizeof(name), "%s", o->session ? o->session : SUP_SESSION_DEFAULT);
	err = sup_session_init(s, base, name);
	if (err) {
		sup_log(SUP_LOG_ERROR, "session path %s/%s is too long", base, name);
		return err;
	}
	/* no lock: the session belongs to the `bpftime run` that serves it */
	if (mkdir(s->dir, 0700) && errno != EEXIST) {
		err = -errno;
		sup_log(SUP_LOG_ERROR, "cannot create the session directory %s: %s", s->dir,
			strerror(-err));
		return err;
	}
	return check_private_dir(s->dir);
}
