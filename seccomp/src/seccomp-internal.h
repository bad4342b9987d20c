/* SPDX-License-Identifier: MIT */
/*
 * Internal parts of the seccomp module:
 *
 *   seccomp-filter.c   the BPF filter, built with libseccomp in the parent
 *   seccomp-spawn.c    fork, the child's side, the hand-over of the listener
 *   seccomp-notify.c   struct bpftime_seccomp: receive, dispatch, respond
 *   seccomp-task.c     thread -> thread group, uid and pidfd (cached)
 *   seccomp-caller.c   struct bpftime_caller over a pending notification
 *   seccomp-exempt.c   calls from the agent's code go to the kernel
 *   seccomp-log.c      the module's log
 */
#ifndef BPFTIME_SECCOMP_INTERNAL_H
#define BPFTIME_SECCOMP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <bpftime/seccomp.h>

/* ---- uapi the 6.1 headers lack ---- */

/* Linux 5.19, "seccomp: Add wait_killable semantic to seccomp user
 * notifier": a received notification waits killable only. */
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* Linux 6.6, "seccomp: add the synchronous mode for seccomp_unotify"
 * (lore.kernel.org/all/20230308073201.3102738-5-avagin@google.com): the
 * supervisor is woken on the caller's CPU and the caller on ours. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
/* Linux 6.9, "pidfd: implement PIDFD_THREAD flag for pidfd_open": a pidfd
 * for one thread rather than its thread group. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* ---- log (seccomp-log.c) ---- */

void sec_log(enum bpftime_seccomp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs at WARN and returns @err. */
int sec_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- filter (seccomp-filter.c) ---- */

/* The compiled filter: trap @syscalls (terminated by -1), allow the rest.
 * @prog->filter is malloc'ed. Uses libseccomp: call before fork. */
int sec_filter_build(const int *syscalls, struct sock_fprog *prog);

/* ---- tasks (seccomp-task.c) ---- */

/* What we know about a thread that made a trapped call. */
struct sec_task {
	pid_t tid; /* 0: empty slot */
	pid_t tgid;
	uid_t uid;   /* real uid when first seen (as the kernel's current_uid()) */
	int pidfd;   /* of the thread (PIDFD_THREAD) or of its group; owned */
	bool of_tid; /* pidfd refers to the thread itself */
};

#define SEC_TASK_SLOTS 128 /* direct-mapped by tid: a collision costs a /proc read */

struct sec_tasks {
	struct sec_task slot[SEC_TASK_SLOTS];
	int thread_pidfd; /* feature cache: -1 not probed, 0 no (before 6.9), 1 yes */
};

void sec_tasks_init(struct sec_tasks *t);
void sec_tasks_release(struct sec_tasks *t);
/* Forget one entry (closes its pidfd). */
void sec_tasks_drop(struct sec_task *k);
/* The task for @tid, a thread blocked in a notification. @return 0 for a
 * cached entry, 1 for one just read (the caller then re-checks the
 * notification, and drops the entry if it is gone: the number may have been
 * recycled meanwhile), -errno when /proc or pidfd_open fail (the thread is
 * gone). */
int sec_tasks_get(struct sec_tasks *t, pid_t tid, struct sec_task **out);

/* ---- exempt code (seccomp-exempt.c) ---- */

#define SEC_EXEMPT_RANGES 4  /* executable mappings of the file per process */
#define SEC_EXEMPT_SLOTS  64 /* direct-mapped by tgid */

/* A process's mappings of the exempt file, as last read. */
struct sec_exempt_proc {
	pid_t tgid; /* 0: empty slot */
	int memfd;  /* /proc/TGID/mem when read: its mm; -1 */
	bool dirty; /* it made a trapped mmap since: read again */
	int n;
	struct {
		uint64_t start, end;
	} range[SEC_EXEMPT_RANGES];
};

struct sec_exempt {
	dev_t dev;
	ino_t ino;
	char path[4096];
	struct sec_exempt_proc slot[SEC_EXEMPT_SLOTS];
};

/* Is the call @nr of process @tgid, made at @ip, the exempt file's? */
bool sec_exempt_call(struct sec_exempt *x, pid_t tgid, long nr, uint64_t ip);
/* Closes and frees @x (NULL is accepted). */
void sec_exempt_release(struct sec_exempt *x);

/* ---- the server and its caller ---- */

struct sec_caller {
	struct bpftime_seccomp *s;
	uint64_t id; /* the notification */
	pid_t tid;
	struct sec_task *task;
};

/* bpftime_seccomp__kill: calls held across a signal, one per thread */
#define SEC_HOLD_MAX 16

struct bpftime_seccomp {
	int listener;
	bpftime_seccomp_handler_fn handler;
	void *ctx;
	struct seccomp_notif *req; /* sized with SECCOMP_GET_NOTIF_SIZES */
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	struct sec_tasks tasks;
	struct sec_exempt *exempt; /* NULL: none */
	bool warned_eperm;         /* one message for unreadable (non-dumpable) callers */
};

extern const struct bpftime_caller_ops sec_caller_ops;

/* Is notification @id still pending on @listener? */
bool sec_id_valid(int listener, uint64_t id);

#endif /* BPFTIME_SECCOMP_INTERNAL_H */
