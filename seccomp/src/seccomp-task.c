// SPDX-License-Identifier: MIT
/*
 * Who is calling: a notification names the calling thread (its TID, in our
 * pid namespace); the emulator wants the thread group, the uid, and a pidfd
 * to take fds from (pidfd_getfd).
 *
 * Reading /proc/TID/status costs ~10 us here, close to the whole round trip
 * of a trapped call (~13 us), so the answer is cached per TID with a pidfd
 * (~0.3 us to re-check). A cached TID is only trusted while the thread it
 * was read from lives: a pidfd becomes readable when its task exits, and
 * only after that can the number be recycled (by another process, or by
 * execve in another thread of the group, which gives that thread the
 * leader's number and frees its own). Since Linux 6.9 the pidfd is the
 * thread's own (PIDFD_THREAD). Before, it is the group's, which outlives
 * its threads: for a thread other than the leader, the check adds a stat of
 * /proc/TGID/task/TID, which procfs only resolves for a thread of that
 * group.
 *
 * A new entry is read while the thread is blocked in its notification;
 * seccomp-notify.c re-checks the notification afterwards (NOTIF_ID_VALID),
 * so an entry is never made from a recycled number.
 *
 * The uid is read once per thread: it only feeds informational fields
 * (bpf_prog_info.created_by_uid), and a thread that changes uids after its
 * first trapped call keeps the first one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "seccomp-internal.h"

void sec_tasks_init(struct sec_tasks *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < SEC_TASK_SLOTS; i++)
		t->slot[i].pidfd = -1;
	t->thread_pidfd = -1;
}

void sec_tasks_drop(struct sec_task *k)
{
	if (k->pidfd >= 0)
		close(k->pidfd);
	memset(k, 0, sizeof(*k));
	k->pidfd = -1;
}

void sec_tasks_release(struct sec_tasks *t)
{
	for (int i = 0; i < SEC_TASK_SLOTS; i++)
		sec_tasks_drop(&t->slot[i]);
}

/* The number after @key ("\nTgid:\t") in /proc status text. */
static int status_field(const char *text, const char *key, long *out)
{
	const char *p = strstr(text, key);
	char *end;

	if (!p)
		return -EPROTO;
	p += strlen(key);
	*out = strtol(p, &end, 10);
	return end == p ? -EPROTO : 0;
}

static int read_status(pid_t tid, pid_t *tgid, uid_t *uid)
{
	char path[64], buf[4096];
	long v_tgid, v_uid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Tgid and Uid are in the first few hundred bytes */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = 0;
	if (status_field(buf, "\nTgid:\t", &v_tgid) || status_field(buf, "\nUid:\t", &v_uid) ||
	    v_tgid <= 0)
		return sec_err(-EPROTO, "%s: no Tgid or Uid line", path);
	*tgid = (pid_t)v_tgid;
	*uid = (uid_t)v_uid; /* the first of the four is the real uid */
	return 0;
}

/* The thread's own pidfd where the kernel has PIDFD_THREAD (6.9; earlier
 * kernels refuse the flag with EINVAL), else the group's. */
static int open_pidfd(struct sec_tasks *t, pid_t tid, pid_t tgid, bool *of_tid)
{
	long fd;

	if (t->thread_pidfd != 0) {
		fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
		if (fd >= 0) {
			t->thread_pidfd = 1;
			*of_tid = true;
			return (int)fd;
		}
		if (errno != EINVAL)
			return -errno;
		if (t->thread_pidfd < 0)
			t->thread_pidfd = 0;
	}
	*of_tid = false;
	fd = syscall(SYS_pidfd_open, tgid, 0);
	return fd < 0 ? -errno : (int)fd;
}

static bool still_valid(const struct sec_task *k)
{
	struct pollfd p = {.fd = k->pidfd, .events = POLLIN};
	char path[64];
	struct stat st;

	/* readable: the task (thread or group) has exited */
	if (poll(&p, 1, 0) != 0)
		return false;
	if (k->of_tid || k->tid == k->tgid)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)k->tgid, (int)k->tid);
	return stat(path, &st) == 0;
}

int sec_tasks_get(struct sec_tasks *t, pid_t tid, struct sec_task **out)
{
	struct sec_task *k = &t->slot[(unsigned int)tid % SEC_TASK_SLOTS];
	pid_t tgid;
	uid_t uid;
	int fd, err;

	if (k->tid == tid && still_valid(k)) {
		*out = k;
		return 0;
	}
	sec_tasks_drop(k);
	err = read_status(tid, &tgid, &uid);
	if (err)
		return err;
	fd = open_pidfd(t, tid, tgid, &k->of_tid);
	if (fd < 0)
		return fd;
	k->tid = tid;
	k->tgid = tgid;
	k->uid = uid;
	k->pidfd = fd;
	*out = k;
	return 1;
}
