/* SPDX-License-Identifier: MIT */
/*
 * Raw system calls of the agent's runtime (the follower thread, mappings,
 * futexes, thread creation). Each returns what the kernel returns: a value
 * or -errno. agent-internal.h has the few the loader-facing part needs.
 */
#ifndef BPFTIME_AGENT_SYS_H
#define BPFTIME_AGENT_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/time.h>

/* the kernel's struct timespec on x86-64, under our own name: libc headers
 * and linux/time.h disagree about who defines struct timespec */
struct agent_timespec {
	long sec;
	long nsec;
};

static inline long agent_sys6(long nr, long a, long b, long c, long d, long e, long f)
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

static inline int agent_sys_failed(long v)
{
	return v < 0 && v > -4096;
}

static inline void *agent_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	long p = agent_sys6(__NR_mmap, (long)addr, (long)len, prot, flags, fd, off);

	return agent_sys_failed(p) ? NULL : (void *)p;
}

static inline int agent_sys_munmap(void *addr, size_t len)
{
	return (int)agent_sys6(__NR_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

static inline int agent_sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)agent_sys6(__NR_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
}

static inline int agent_sys_gettid(void)
{
	return (int)agent_sys6(__NR_gettid, 0, 0, 0, 0, 0, 0);
}

static inline int agent_sys_kill(int pid, int sig)
{
	return (int)agent_sys6(__NR_kill, pid, sig, 0, 0, 0, 0);
}

/* Sleeps @ns nanoseconds (less when a signal comes). */
static inline void agent_sys_nap(uint64_t ns)
{
	struct agent_timespec ts = {(long)(ns / 1000000000u), (long)(ns % 1000000000u)};

	agent_sys6(__NR_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}

static inline uint64_t agent_sys_now_ns(void)
{
	struct agent_timespec ts;

	agent_sys6(__NR_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
	return (uint64_t)ts.sec * 1000000000u + (uint64_t)ts.nsec;
}

/* FUTEX_WAIT (process-private when @priv) while *@addr == @val. */
static inline long agent_sys_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns, int priv)
{
	struct agent_timespec ts = {(long)(timeout_ns / 1000000000u),
				    (long)(timeout_ns % 1000000000u)};

	return agent_sys6(__NR_futex, (long)addr, FUTEX_WAIT | (priv ? FUTEX_PRIVATE_FLAG : 0), val,
			  (long)&ts, 0, 0);
}

static inline long agent_sys_futex_wake(uint32_t *addr, int n, int priv)
{
	return agent_sys6(__NR_futex, (long)addr, FUTEX_WAKE | (priv ? FUTEX_PRIVATE_FLAG : 0), n,
			  0, 0, 0);
}

#endif /* BPFTIME_AGENT_SYS_H */
