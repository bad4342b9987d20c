/* SPDX-License-Identifier: MIT */
/*
 * The applier's raw system calls and byte helpers: it runs inside targets
 * whose libc we cannot rely on (static, musl, Go, a thread holding libc's
 * locks), so no errno, no wrappers; -errno returns as the kernel gives them.
 */
#ifndef BPFTIME_RW_SYS_H
#define BPFTIME_RW_SYS_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/syscall.h>

#define RW_PAGE_SIZE 4096UL
#define RW_LINE_SIZE 64UL /* x86-64 cache line: the unit instruction fetch sees whole */

/* <sys/mman.h> and <linux/membarrier.h> values, spelled out so that the
 * applier includes no libc header with inline functions. */
#define RW_PROT_READ                0x1
#define RW_PROT_WRITE               0x2
#define RW_PROT_EXEC                0x4
#define RW_MAP_PRIVATE              0x02
#define RW_MAP_ANONYMOUS            0x20
#define RW_MAP_FIXED_NOREPLACE      0x100000 /* Linux 4.17; older kernels treat it as a hint */
#define RW_MEMBARRIER_SYNC_CORE     (1 << 5) /* MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE */
#define RW_MEMBARRIER_REG_SYNC_CORE (1 << 6) /* ..._REGISTER_PRIVATE_EXPEDITED_SYNC_CORE */

static inline long rw_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long rw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
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

static inline long rw_mmap_anon(uint64_t hint, size_t len, int prot, int flags)
{
	return rw_syscall6(SYS_mmap, (long)hint, (long)len, prot,
			   RW_MAP_PRIVATE | RW_MAP_ANONYMOUS | flags, -1, 0);
}

static inline long rw_munmap(uint64_t addr, size_t len)
{
	return rw_syscall3(SYS_munmap, (long)addr, (long)len, 0);
}

/* Anonymous read-write memory exactly at @at (MAP_FIXED_NOREPLACE): 0, or
 * -errno; -EEXIST also when a kernel before 4.17 ignored the flag and
 * mapped elsewhere (undone). */
static inline long rw_map_at(uint64_t at, size_t len)
{
	long r = rw_mmap_anon(at, len, RW_PROT_READ | RW_PROT_WRITE, RW_MAP_FIXED_NOREPLACE);

	if (r < 0 && r > -4096)
		return r;
	if ((uint64_t)r == at)
		return 0;
	rw_munmap((uint64_t)r, len);
	return -EEXIST;
}

static inline long rw_mprotect(uint64_t addr, size_t len, int prot)
{
	return rw_syscall3(SYS_mprotect, (long)addr, (long)len, prot);
}

static inline long rw_membarrier(int cmd)
{
	return rw_syscall3(SYS_membarrier, cmd, 0, 0);
}

/* Byte loops, not memcpy: no libc. volatile keeps gcc from calling one. */
static inline void rw_copy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
}

static inline void rw_zero(void *dst, size_t n)
{
	volatile uint8_t *d = dst;

	while (n--)
		*d++ = 0;
}

static inline int rw_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const uint8_t *y = b;

	while (n--)
		if (*x++ != *y++)
			return 0;
	return 1;
}

/* rw-patch.c: replace the 5 bytes at @site, which must hold @old, by @new
 * on writable pages, without a torn instruction visible to threads running
 * them (one locked cmpxchg of an 8-byte window in the line, else an EB FE
 * guard); the caller makes the pages writable and then calls
 * rw_sync_cores(). 0, -EOPNOTSUPP (the site is a line's last byte),
 * -EILSEQ (not @old), -EBUSY (the window changed meanwhile). Shared by the
 * entry hooks and the syscall sites (rw-syscall.c). */
int rw_write5(uint64_t site, const uint8_t *old, const uint8_t *new);
/* The same when only the first @n bytes change (@new's others equal @old's):
 * the line rules apply to those @n bytes, and the others are never written
 * with another value (a thread may be executing them). */
int rw_write_n(uint64_t site, const uint8_t *old, const uint8_t *new, unsigned int n);
/* membarrier SYNC_CORE: every core re-fetches instructions. */
void rw_sync_cores(void);

#endif /* BPFTIME_RW_SYS_H */
