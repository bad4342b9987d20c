/* SPDX-License-Identifier: MIT */
/*
 * The agent's insides. It is built -nostdlib -ffreestanding: nothing here
 * may call the target's libc, touch TLS (%fs is not even set up when the
 * injector stops a static program at its first instruction) or allocate.
 *
 *   agent-main.c   entry points: the ELF constructor, bpftime_agent_main(),
 *                  bpftime_agent_detach(), the return trap; the one state
 *   agent-env.c    the session directory from /proc/self/environ
 *   agent-log.c    lines to <session>/agent.log, and small formatting
 *   agent-lib.c    memcpy, memset, memmove, memcmp (the compiler emits
 *                  calls to these even in freestanding code), strlen
 *
 * Raw system calls return -errno as the kernel gives it; there is no errno.
 */
#ifndef BPFTIME_AGENT_INTERNAL_H
#define BPFTIME_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/limits.h>

/* ---- raw system calls (x86-64) ---- */

static inline long agent_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long agent_syscall4(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long agent_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int agent_getpid(void)
{
	return (int)agent_syscall3(__NR_getpid, 0, 0, 0);
}

static inline uint32_t agent_getuid(void)
{
	return (uint32_t)agent_syscall3(__NR_getuid, 0, 0, 0);
}

static inline uint32_t agent_getgid(void)
{
	return (uint32_t)agent_syscall3(__NR_getgid, 0, 0, 0);
}

/* struct iovec, without libc's header */
struct agent_iovec {
	void *base;
	size_t len;
};

static inline long agent_process_vm_readv(int pid, const struct agent_iovec *local,
					  unsigned long nlocal, const struct agent_iovec *remote,
					  unsigned long nremote)
{
	return agent_syscall6(__NR_process_vm_readv, pid, (long)local, (long)nlocal, (long)remote,
			      (long)nremote, 0);
}

#define AGENT_GRND_NONBLOCK 0x0001

static inline long agent_getrandom(void *buf, size_t len, unsigned int flags)
{
	return agent_syscall3(__NR_getrandom, (long)buf, (long)len, flags);
}

static inline int agent_tgkill(int tgid, int tid, int sig)
{
	return (int)agent_syscall3(__NR_tgkill, tgid, tid, sig);
}

/* prctl(PR_GET_NAME): the calling thread's comm, 16 bytes with the NUL */
#define AGENT_PR_GET_NAME 16

static inline int agent_get_comm(char buf[16])
{
	return (int)agent_syscall3(__NR_prctl, AGENT_PR_GET_NAME, (long)buf, 0);
}

static inline int agent_openat(const char *path, int flags, int mode)
{
	return (int)agent_syscall4(__NR_openat, AT_FDCWD, (long)path, flags, mode);
}

static inline long agent_read(int fd, void *buf, size_t len)
{
	return agent_syscall3(__NR_read, fd, (long)buf, (long)len);
}

static inline long agent_write(int fd, const void *buf, size_t len)
{
	return agent_syscall3(__NR_write, fd, (long)buf, (long)len);
}

static inline int agent_close(int fd)
{
	return (int)agent_syscall3(__NR_close, fd, 0, 0);
}

static inline int agent_unlink(const char *path)
{
	return (int)agent_syscall3(__NR_unlinkat, AT_FDCWD, (long)path, 0);
}

static inline int agent_rename(const char *from, const char *to)
{
	return (int)agent_syscall4(__NR_renameat, AT_FDCWD, (long)from, AT_FDCWD, (long)to);
}

static inline long agent_readlink(const char *path, char *buf, size_t len)
{
	return agent_syscall4(__NR_readlinkat, AT_FDCWD, (long)path, (long)buf, (long)len);
}

/* ---- memory and strings (agent-lib.c) ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t agent_strlen(const char *s);

/* ---- a small string builder, for paths and log lines (agent-log.c) ---- */

struct agent_buf {
	char *p;
	size_t len; /* bytes written, without the NUL */
	size_t cap;
	int overflow; /* set when something did not fit */
};

void agent_buf_init(struct agent_buf *b, char *p, size_t cap);
void agent_buf_str(struct agent_buf *b, const char *s);
void agent_buf_num(struct agent_buf *b, long v);
void agent_buf_hex(struct agent_buf *b, uint64_t v); /* no 0x */

/* Appends "agent[<pid>]: <a><b>\n" to <session>/agent.log. @session may be
 * NULL (nowhere to log yet: dropped). Never writes to the target's fds. */
void agent_log(const char *session, const char *a, const char *b);
void agent_log_num(const char *session, const char *a, long v);

/* ---- the environment (agent-env.c) ---- */

/* Copies the value of @key from /proc/self/environ into @out. @return its
 * length, -ENOENT when absent, -ENAMETOOLONG, or the -errno of the read. */
long agent_env_get(const char *key, char *out, size_t len);

/* agent-env.c: the value of auxiliary vector entry @type (AT_*) from
 * /proc/self/auxv, as the process was exec'd with; 0 when absent. */
uint64_t agent_auxv(uint64_t type);

#endif /* BPFTIME_AGENT_INTERNAL_H */
