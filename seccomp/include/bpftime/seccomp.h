/* SPDX-License-Identifier: MIT */
/*
 * bpftime seccomp: run a program under a seccomp user-notification filter
 * and answer the syscalls it traps.
 *
 *   spawn     bpftime_seccomp__spawn(): fork; the child sets no_new_privs,
 *             installs a filter whose action is SECCOMP_RET_USER_NOTIF for
 *             the listed syscalls (everything else is allowed), hands the
 *             listener fd to the parent and execs the program. Children of
 *             the program inherit the filter: their trapped calls reach the
 *             same listener.
 *   loop      struct bpftime_seccomp: receives each notification, hands it to
 *             a handler as a struct bpftime_caller (bpf-emul.h) over the
 *             trapped thread, and sends the handler's answer back, or lets
 *             the kernel run the call (BPFTIME_EMUL_CONTINUE).
 *
 * The handler is a callback: this module knows nothing about bpf(2); the
 * supervisor passes a function that calls bpftime_emul__syscall().
 *
 * When the listener closes (the supervisor exits or dies), the kernel
 * answers every pending and future trapped call with ENOSYS: the program sees
 * errors, never a hang.
 *
 * Thread-safety: a struct bpftime_seccomp is used by one thread at a time.
 */
#ifndef BPFTIME_SECCOMP_H
#define BPFTIME_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpftime/bpf-emul.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- spawn ---- */

struct bpftime_seccomp_spawn_opts {
	size_t sz; /* sizeof(struct bpftime_seccomp_spawn_opts) */
	/* x86-64 syscall numbers to trap, terminated by -1 (NULL: none), e.g.
	 * bpftime_emul__syscalls(). The child's own hand-over (read, sendmsg,
	 * close, rt_sigprocmask, execve, exit_group) cannot be trapped:
	 * -EINVAL. */
	const int *syscalls;
	size_t : 0;
};
#define bpftime_seccomp_spawn_opts__last_field syscalls

/**
 * @brief Run @argv (searched in PATH, as execvp) under the filter.
 *
 * The program inherits the caller's fds without O_CLOEXEC and its ignored
 * signals (caught ones are reset, as exec would); it starts with an empty
 * signal mask. Where the kernel has them, the
 * listener gets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6) and the
 * filter SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19): once the supervisor
 * has received a call, only a fatal signal interrupts it, as the kernel's
 * own bpf() is not interrupted by signals.
 *
 * Returns once the program has been exec'd: its first trapped call waits
 * until the listener is served.
 *
 * @param pid      out: the child's pid; the caller reaps it
 * @param listener out: the notification fd (O_CLOEXEC), owned by the caller
 * @return 0; or -errno with a message in the log: -ENOENT, -EACCES... when
 *         the program cannot be exec'd (the child is reaped), -EINVAL for
 *         bad options, or the error of installing the filter.
 */
int bpftime_seccomp__spawn(char *const argv[], const struct bpftime_seccomp_spawn_opts *opts,
			   pid_t *pid, int *listener);

/* ---- the notification loop ---- */

/**
 * Answers one trapped call. @caller is valid during the call only; its pid
 * is the thread group, tid the thread that made the call. @args are the six
 * syscall arguments as the kernel saw them.
 *
 * @return the syscall's value (>= 0), -errno (-4095 .. -1), or
 *         BPFTIME_EMUL_CONTINUE to let the kernel run the call. Other
 *         negative values are returned to the caller as values.
 */
typedef long (*bpftime_seccomp_handler_fn)(void *ctx, struct bpftime_caller *caller, long nr,
					   const uint64_t args[6]);

struct bpftime_seccomp;

/**
 * @brief A notification server over @listener (taken over: closed by
 * bpftime_seccomp__free, also on failure).
 * @return the server, or NULL with errno set.
 */
struct bpftime_seccomp *bpftime_seccomp__new(int listener, bpftime_seccomp_handler_fn handler,
					     void *ctx);

/** @brief Close the listener and the cached pidfds. NULL is accepted. */
void bpftime_seccomp__free(struct bpftime_seccomp *s);

/** @brief The listener, to poll for POLLIN in the supervisor's own loop. */
int bpftime_seccomp__fd(const struct bpftime_seccomp *s);

/**
 * @brief Let every trapped call made from code mapped from the file @path
 * (an absolute path; matched by device and inode, or by that path in
 * /proc/PID/maps) run in the kernel without reaching the handler: for
 * bpftime's agent inside the served processes, whose own mmap() and
 * openat() must be the kernel's. Only for a filter that emulates: it does
 * not confine, so a program that calls through that code gains nothing
 * (see seccomp-exempt.c). Replaces an earlier setting.
 * @return 0, or -errno (the file cannot be stat'ed, -ENOMEM, -EINVAL).
 */
int bpftime_seccomp__exempt_code(struct bpftime_seccomp *s, const char *path);

/**
 * @brief Receive one notification, run the handler, send the answer.
 *
 * Blocks until a notification arrives: call it when the listener is
 * readable. A caller that vanished (killed before or during its call) is
 * normal and not an error.
 * @return 1 when a call was answered, 0 when the caller was gone, or -errno
 *         when the listener itself fails.
 */
int bpftime_seccomp__handle_one(struct bpftime_seccomp *s);

/**
 * @brief Send @sig to @pid (kill(2)) without failing with EINTR a call of
 * it that waits for us.
 *
 * The kernel's seccomp wait is interruptible until the supervisor has
 * received the call (WAIT_KILLABLE_RECV covers only the time after): a
 * signal whose handler was installed without SA_RESTART fails a call still
 * queued with EINTR, an open() or ioctl() the kernel itself would never
 * interrupt. So the calls queued on @s's listener are received first (up
 * to 16), the signal is sent, and then they are handled and answered: the
 * handler runs after each call returns, as after the kernel's own calls.
 * A call made between that check and the kill can still fail: a window of
 * microseconds. @s NULL: a plain kill.
 * @return 0, or -errno of kill(2) or of the listener.
 */
int bpftime_seccomp__kill(struct bpftime_seccomp *s, pid_t pid, int sig);

/**
 * @brief Serve notifications until the process @pid (a child of ours)
 * exits, then reap it.
 *
 * Calls trapped by @pid's own children that outlive it are left pending:
 * they fail with ENOSYS when the server is freed.
 * @param status out: the wait status of @pid
 * @return 0, or -errno (the listener failed: @pid is not reaped).
 */
int bpftime_seccomp__loop(struct bpftime_seccomp *s, pid_t pid, int *status);

/**
 * @brief Is the notification behind @caller still pending? False once the
 * calling thread is gone (killed), so that its pid may be recycled. The
 * caller's read op checks it after every copy; a handler may check it
 * before an irreversible act.
 */
bool bpftime_seccomp_caller_valid(const struct bpftime_caller *caller);

/* ---- logging ---- */

enum bpftime_seccomp_log_level {
	BPFTIME_SECCOMP_WARN,
	BPFTIME_SECCOMP_INFO,
	BPFTIME_SECCOMP_DEBUG,
};
typedef void (*bpftime_seccomp_log_fn)(enum bpftime_seccomp_log_level level, const char *msg);
/* Where messages go (default: stderr, "seccomp: " prefix, WARN only unless
 * BPFTIME_LOG_LEVEL=info|debug). NULL restores the default. Returns the
 * previous function. */
bpftime_seccomp_log_fn bpftime_seccomp_set_log(bpftime_seccomp_log_fn fn);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_SECCOMP_H */
