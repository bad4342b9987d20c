/* SPDX-License-Identifier: MIT */
/*
 * Raw system calls for the map operation paths, which run inside target
 * processes whose libc we cannot rely on (static, musl, Go): no errno, no
 * libc wrappers, -errno returns as the kernel gives them. x86-64 only, like
 * the rest of the run path.
 */
#ifndef BPFTIME_MAP_SYS_H
#define BPFTIME_MAP_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

static inline long map_syscall1(long nr, long a)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return ret;
}

static inline long map_syscall2(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long map_syscall6(long nr, long a, long b, long c, long d, long e, long f)
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

static inline uint32_t map_sys_gettid(void)
{
	return (uint32_t)map_syscall1(SYS_gettid, 0);
}

/* kill(tid, 0): 0 or -EPERM when a task with that id exists, -ESRCH when not. */
static inline long map_sys_probe_task(uint32_t tid)
{
	return map_syscall2(SYS_kill, (long)tid, 0);
}

static inline void map_sys_yield(void)
{
	map_syscall1(SYS_sched_yield, 0);
}

/* FUTEX_WAIT / FUTEX_WAKE on a word shared between processes. */
#define MAP_FUTEX_WAIT 0
#define MAP_FUTEX_WAKE 1

static inline long map_sys_futex(uint32_t *uaddr, int op, uint32_t val, const void *timeout)
{
	return map_syscall6(SYS_futex, (long)uaddr, op, val, (long)timeout, 0, 0);
}

static inline void map_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

#endif /* BPFTIME_MAP_SYS_H */
