// SPDX-License-Identifier: MIT
/*
 * When does a caller hold no reference to an object any more? The kernel
 * knows from the file's reference count; we see neither close() nor
 * munmap() (trapping them would cost every close of the tool). What we can
 * see is the object's inode: inotify reports IN_OPEN for every open file
 * description of it and IN_CLOSE_* when one is released, which happens only
 * after its last fd (in any process: dup, fork, SCM_RIGHTS) and its last
 * mapping are gone.
 *
 * So each object keeps one description of ours (o->fd) and every caller
 * gets a description of its own (a re-open through /proc/self/fd): the
 * count of open descriptions other than ours is IN_OPEN - IN_CLOSE, and
 * when it falls back to zero after an install, nobody outside holds the
 * object: the table's reference goes (emul_obj_put), as the kernel's last
 * fput would. References held by other objects (a program's maps, a link's
 * program) keep it alive beyond that, as in the kernel.
 *
 * Agents that open a map's data file to map it are counted the same way,
 * which is right: their mapping is a reference too.
 *
 * inotify coalesces identical events that were not read yet, so two opens
 * in a row may count as one and the count reach zero too early. The count
 * is therefore only a hint: when it reaches zero, every process we can see
 * is searched for the inode (its fds and its mappings, /proc/PID/fd and
 * /proc/PID/maps); the object goes only when none holds it, else the count
 * restarts at one. Coalesced closes leave the count too high: the object
 * then stays until the session ends (a leak, never a loss).
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "emul-internal.h"

int emul_lifetime_init(struct bpftime_emul *e)
{
	e->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (e->inotify_fd < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "inotify unavailable (%s): objects live until the session ends",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

void emul_lifetime_fini(struct bpftime_emul *e)
{
	if (e->inotify_fd >= 0)
		close(e->inotify_fd);
	e->inotify_fd = -1;
}

static void proc_fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

int emul_lifetime_watch(struct bpftime_emul *e, struct emul_obj *o)
{
	char path[64];

	o->wd = -1;
	if (e->inotify_fd < 0)
		return 0;
	proc_fd_path(path, sizeof(path), o->fd);
	o->wd = inotify_add_watch(e->inotify_fd, path, IN_OPEN | IN_CLOSE);
	if (o->wd < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "cannot watch object %u: %s", o->id,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

void emul_lifetime_unwatch(struct bpftime_emul *e, struct emul_obj *o)
{
	if (e->inotify_fd >= 0 && o->wd >= 0)
		inotify_rm_watch(e->inotify_fd, o->wd);
	o->wd = -1;
}

/* A new description of @o's file for a caller (see the top of the file). */
int emul_lifetime_reopen(struct bpftime_emul *e, struct emul_obj *o)
{
	char path[64];
	int fd;

	proc_fd_path(path, sizeof(path), o->fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

static struct emul_obj *by_wd(struct bpftime_emul *e, int wd)
{
	for (uint32_t i = 0; i < e->nr_objs; i++)
		if (e->objs[i]->wd == wd)
			return e->objs[i];
	return NULL;
}

static bool fd_holds(int procfd, const char *pid, const struct emul_obj *o)
{
	char path[64];
	struct dirent *d;
	struct stat st;
	bool found = false;
	int dfd;
	DIR *dir;

	snprintf(path, sizeof(path), "%.20s/fd", pid);
	dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false; /* gone, or not ours to look at */
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return false;
	}
	while (!found && (d = readdir(dir)))
		found = d->d_name[0] != '.' && !fstatat(dfd, d->d_name, &st, 0) &&
			st.st_ino == o->ino && st.st_dev == o->dev;
	closedir(dir);
	return found;
}

static bool maps_hold(int procfd, const char *pid, const struct emul_obj *o)
{
	char path[64], line[512];
	unsigned int maj, min;
	unsigned long ino;
	bool found = false;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%.20s/maps", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*x-%*x %*s %*x %x:%x %lu", &maj, &min, &ino) == 3 &&
			ino == (unsigned long)o->ino && maj == major(o->dev) &&
			min == minor(o->dev);
	fclose(f);
	return found;
}

/* Does any process but us hold a file of @o open or mapped? */
static bool held_elsewhere(const struct emul_obj *o)
{
	char self[16];
	struct dirent *d;
	bool found = false;
	DIR *proc = opendir("/proc");

	if (!proc)
		return true; /* cannot tell: keep it */
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while (!found && (d = readdir(proc))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9' || !strcmp(d->d_name, self))
			continue;
		found = fd_holds(dirfd(proc), d->d_name, o) || maps_hold(dirfd(proc), d->d_name, o);
	}
	closedir(proc);
	return found;
}

static void on_event(struct bpftime_emul *e, const struct inotify_event *ev)
{
	struct emul_obj *o;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* counts are lost: keep every object (a leak, never a loss) */
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "inotify queue overflow: objects are kept until the session ends");
		for (uint32_t i = 0; i < e->nr_objs; i++)
			e->objs[i]->pinned_by_overflow = true;
		return;
	}
	o = by_wd(e, ev->wd);
	if (!o)
		return; /* an object already gone: events queued before its unwatch */
	if (ev->mask & IN_OPEN)
		o->opens++;
	if (ev->mask & IN_CLOSE)
		o->opens--;
	if (o->opens <= 0 && o->installed && o->in_table && !o->pinned_by_overflow) {
		if (held_elsewhere(o)) {
			o->opens = 1; /* coalesced opens: still held */
			return;
		}
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "object %u: last reference gone", o->id);
		o->in_table = false;
		emul_obj_put(e, o);
	}
}

int bpftime_emul__event_fd(struct bpftime_emul *e)
{
	return e->inotify_fd;
}

void bpftime_emul__process_events(struct bpftime_emul *e)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (e->inotify_fd < 0)
		return;
	pthread_mutex_lock(&e->lock);
	while ((n = read(e->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			on_event(e, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	pthread_mutex_unlock(&e->lock);
}
