/* SPDX-License-Identifier: MIT */
/*
 * bpftime bpf-emul: the kernel's eBPF ABI, answered in user space.
 *
 * Pure functions over an injected "caller": the process whose syscall is
 * being answered. seccomp/ implements the caller over a trapped process
 * (process_vm_readv, SECCOMP_IOCTL_NOTIF_ADDFD, pidfd_getfd); tests
 * implement it over plain memory in their own process. Nothing here knows
 * about seccomp.
 *
 *   session   struct bpftime_emul: the objects (maps, programs, links, BTF,
 *             perf events), their ids, and the maps region they live in.
 *   object    each is a real file (a memfd, or a map's data file for maps a
 *             tool mmaps); the caller gets its own fd for that file, so dup,
 *             fork, SCM_RIGHTS and exec with CLOEXEC need no emulation. A
 *             caller fd is resolved by the file it refers to (device and
 *             inode), never by its number.
 *
 * Every entry point returns what the syscall returns in the caller: a
 * value >= 0 or -errno, or BPFTIME_EMUL_CONTINUE when the call is not ours
 * (an ioctl on a file that is not an object of the session, an open of a
 * path we do not serve): the caller then lets the kernel run it.
 *
 * Thread-safety: one thread answers calls at a time (a lock inside); the
 * buffer waiters that signal epoll run on their own threads.
 */
#ifndef BPFTIME_BPF_EMUL_H
#define BPFTIME_BPF_EMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Not an errno: "let the kernel run this call" (seccomp: FLAG_CONTINUE). */
#define BPFTIME_EMUL_CONTINUE (-(long)0x7fff0000)

/* ---- the caller ---- */

struct bpftime_caller_ops {
	/* Copy @len bytes from the caller's address @addr. -EFAULT when any of
	 * them cannot be read (the kernel's copy_from_user), else 0. */
	int (*read)(void *ctx, void *dst, uint64_t addr, size_t len);
	/* Copy into the caller. -EFAULT when any byte cannot be written. */
	int (*write)(void *ctx, uint64_t addr, const void *src, size_t len);
	/* Give the caller a new fd for the file our @fd refers to, with
	 * @flags O_CLOEXEC or 0. @return the caller's fd number, or -errno
	 * (-EMFILE). */
	int (*install_fd)(void *ctx, int fd, int flags);
	/* A new fd of ours for the file the caller's @caller_fd refers to (the
	 * emulator closes it), or -EBADF when the caller has no such fd. */
	int (*get_fd)(void *ctx, int caller_fd);
};

struct bpftime_caller {
	const struct bpftime_caller_ops *ops;
	void *ctx;
	pid_t pid; /* thread group of the caller */
	pid_t tid;
	uid_t uid;
};

/* ---- the session ---- */

enum bpftime_emul_log_level {
	BPFTIME_EMUL_LOG_ERROR,
	BPFTIME_EMUL_LOG_WARN,
	BPFTIME_EMUL_LOG_INFO,
	BPFTIME_EMUL_LOG_DEBUG,
};

struct bpftime_emul_opts {
	size_t sz; /* sizeof(struct bpftime_emul_opts) */
	/* session directory (created if missing): the maps region and the
	 * maps' data files live there */
	const char *session_dir;
	/* messages at or below this level go to the log (stderr by default) */
	enum bpftime_emul_log_level log_level;
	/* where the host's vmlinux BTF is read from, served as BTF id 1 (NULL:
	 * /sys/kernel/btf/vmlinux; unreadable: no id 1) */
	const char *vmlinux_btf;
	/* the tracefs we serve: NULL, the host's when it is mounted and
	 * readable (ids then match the host's), else the built-in table of
	 * syscall tracepoints; "" always the built-in table; another path, a
	 * tracefs root to copy from (tests) */
	const char *tracefs_source;
	/* called, without the emulator's lock, after a perf event whose
	 * programs run in a process (a uprobe, a syscall tracepoint or
	 * kprobe) was opened for a target @pid > 0 (a thread id, as
	 * perf_event_open takes it; NULL: nothing): the supervisor injects
	 * the agent there on request (bpftime run --inject) */
	void (*on_target_pid)(void *ctx, pid_t pid);
	void *on_target_ctx;
	/* run programs on the interpreter only (bpftime run --engine interp):
	 * no JIT in the supervisor, no native images for the agents. The JIT
	 * is the default where it is built */
	bool interp_only;
	size_t : 0;
};
#define bpftime_emul_opts__last_field interp_only

struct bpftime_emul;

/**
 * @brief Create a session's emulator. Uses libc.
 * @return the emulator, or NULL with errno set; a message goes to the log.
 */
struct bpftime_emul *bpftime_emul__new(const struct bpftime_emul_opts *opts);
/** @brief Release every object and the region's files. NULL is accepted. */
void bpftime_emul__free(struct bpftime_emul *e);

/* ---- the syscalls we answer ---- */

/** @brief bpf(@cmd, @uattr, @size) as the kernel's __sys_bpf(). */
long bpftime_emul__bpf(struct bpftime_emul *e, struct bpftime_caller *c, int cmd, uint64_t uattr,
		       uint32_t size);

/** @brief perf_event_open(@uattr, @pid, @cpu, @group_fd, @flags). */
long bpftime_emul__perf_event_open(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t uattr,
				   int pid, int cpu, int group_fd, unsigned long flags);

/** @brief ioctl(@fd, @req, @arg): ours for perf event and bpf object fds. */
long bpftime_emul__ioctl(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
			 unsigned long req, uint64_t arg);

/** @brief epoll_ctl(@epfd, @op, @fd, @uevent): ours when @fd is an object. */
long bpftime_emul__epoll_ctl(struct bpftime_emul *e, struct bpftime_caller *c, int epfd, int op,
			     int fd, uint64_t uevent);

/** @brief openat(@dirfd, @upath, @flags, @mode): ours for the tracefs and
 * sysfs files tools read (a read-only memfd with the contents) and the
 * tracefs directories (a directory of the session listing what we serve). */
long bpftime_emul__openat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			  uint64_t upath, int flags, unsigned int mode);

/** @brief faccessat2(@dirfd, @upath, @mode, @flags) (access, faccessat):
 * ours for the paths bpftime_emul__openat serves and their directories. */
long bpftime_emul__faccessat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			     uint64_t upath, int mode, int flags);

/** @brief newfstatat(@dirfd, @upath, @ustat, @flags) (stat, lstat): ours
 * for the paths bpftime_emul__openat serves and their directories. */
long bpftime_emul__newfstatat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			      uint64_t upath, uint64_t ustat, int flags);

/** @brief statx(@dirfd, @upath, @flags, @mask, @ustatx): as newfstatat. */
long bpftime_emul__statx(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			 uint64_t upath, int flags, unsigned int mask, uint64_t ustatx);

/**
 * @brief One syscall by number (the x86-64 table), for the seccomp loop:
 * dispatches to the functions above. @return as they do;
 * BPFTIME_EMUL_CONTINUE for numbers that are not ours.
 */
long bpftime_emul__syscall(struct bpftime_emul *e, struct bpftime_caller *c, long nr,
			   const uint64_t args[6]);

/** @brief The syscall numbers bpftime_emul__syscall answers (for the
 * filter), terminated by -1. mmap is among them: the filter should trap it
 * only when its fd argument (the low 32 bits of arg 4) is not -1, since
 * anonymous mappings are never ours and are frequent. */
const int *bpftime_emul__syscalls(void);

/* ---- for the supervisor ---- */

/** @brief The caller has exited: drop what only it held (epoll registrations). */
void bpftime_emul__caller_gone(struct bpftime_emul *e, pid_t pid);

/**
 * @brief An fd that becomes readable when callers released object files
 * (-1 if the host has no inotify: objects then live until the session
 * ends); call bpftime_emul__process_events() then. The kernel frees an
 * object when its last fd and mapping go; so do we, from these events.
 */
int bpftime_emul__event_fd(struct bpftime_emul *e);
void bpftime_emul__process_events(struct bpftime_emul *e);

/** @brief Print the session's objects (`bpftime status`) to @out. */
void bpftime_emul__dump(struct bpftime_emul *e, FILE *out);

/**
 * @brief Move the bpf_trace_printk lines of session @session_dir not read
 * yet (<session>/trace_pipe) to @out_fd, consuming them as a read of the
 * kernel's trace_pipe does (shared with the tools' opens of trace_pipe).
 * Whole lines, PIPE_BUF bytes at most per call. Needs no emulator
 * (`bpftime trace`). @return the bytes moved, 0 when there is nothing new,
 * or -errno (-EAGAIN: a non-blocking @out_fd is full).
 */
long bpftime_trace_pipe_consume(const char *session_dir, int out_fd);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_BPF_EMUL_H */
