// SPDX-License-Identifier: MIT
/*
 * Punned jmps for syscall sites with fewer than 5 bytes before them
 * (rw-syscall.h). Freestanding.
 *
 * A WINDOW of `before` < 5 bytes ends with the syscall, and the jmp's last
 * 5 - before bytes lie over the syscall and what follows it. Those bytes
 * must not change: a thread asleep in that syscall when the jmp is written
 * returns after it, or is restarted on it (the kernel rewinds ip by 2 for
 * every -ERESTART* return: a handler with SA_RESTART, a stop and continue,
 * a ptrace attach), and parking cannot move a thread that is in the kernel.
 * So the jmp's rel32 is chosen such that its bytes from offset `before` on
 * ARE the code's bytes there: only the rel32's low `before - 1` bytes are
 * free, and the stub must start in the 256^(before-1) bytes that the fixed
 * high bytes leave (one address for before = 1, 256 bytes for 2, 64 KiB
 * for 3, 16 MiB for 4). A thread arriving at the window's start takes the
 * jmp; one at the syscall or after it runs the original bytes.
 *
 * Where those addresses fall depends on the code's bytes (glibc's
 * `xor %eax,%eax; syscall; cmp $-4096,%rax` puts 0f 05 48 in the rel32:
 * the stub is ~1.2 GB above the site): the range may be outside user space
 * or taken, and the site is then not rewritten (-ERANGE / -ENOMEM).
 */
#include <errno.h>

#include "rw-sys.h"
#include "rw-syscall.h"

#define PAGE 4096ull
/* user space on x86-64 with 4-level paging, less the last page */
#define USER_TOP   0x7ffffffff000ull
#define USER_FLOOR 0x10000ull /* vm.mmap_min_addr's usual value */
#define PAGE_TRIES 256        /* new pages tried per stub */

int bpftime_rw_sc_pun_range(uint64_t site, unsigned int before, const uint8_t orig[5], uint64_t *lo,
			    uint64_t *n)
{
	uint32_t fixed = 0;
	int64_t start;

	if (before < 1 || before > 4)
		return -EINVAL;
	/* jmp byte 1 + i is rel32 byte i; bytes before.. are the code's */
	for (unsigned int i = before - 1; i < 4; i++)
		fixed |= (uint32_t)orig[1 + i] << (8 * i);
	/* the sign is in byte 3, always fixed: the free bytes only add */
	start = (int64_t)(site + 5) + (int32_t)fixed;
	*n = 1ull << (8 * (before - 1));
	if (start < (int64_t)USER_FLOOR ||
	    (uint64_t)start + *n + BPFTIME_RW_SC_STUB_SIZE > USER_TOP)
		return -ERANGE;
	*lo = (uint64_t)start;
	return 0;
}

static uint64_t page_of(uint64_t a)
{
	return a & ~(PAGE - 1);
}

static int add_page(struct bpftime_rw_sc_pun_pool *pool, uint64_t page, uint64_t used)
{
	if (pool->nr == BPFTIME_RW_SC_PUN_PAGES)
		return 0;
	pool->page[pool->nr] = page;
	pool->used[pool->nr] = (uint16_t)used;
	pool->nr++;
	return 1;
}

/* In a page the pool has: the first place at or after its used bytes. */
static uint64_t from_pool(struct bpftime_rw_sc_pun_pool *pool, uint64_t lo, uint64_t n,
			  unsigned int size)
{
	for (uint32_t i = pool->sealed; i < pool->nr; i++) {
		uint64_t free = pool->page[i] + pool->used[i];
		uint64_t at = free > lo ? free : lo;

		if (at < lo + n && at >= pool->page[i] && at + size <= pool->page[i] + PAGE) {
			pool->used[i] = (uint16_t)(at + size - pool->page[i]);
			return at;
		}
	}
	return 0;
}

uint64_t bpftime_rw_sc_pun_alloc(struct bpftime_rw_sc_pun_pool *pool, uint64_t lo, uint64_t n,
				 unsigned int size)
{
	uint64_t at = from_pool(pool, lo, n, size);

	if (at)
		return at;
	if (pool->nr + 2 > BPFTIME_RW_SC_PUN_PAGES)
		return 0;
	/* new pages: the first candidate of each page the range touches */
	for (uint64_t p = page_of(lo), k = 0; p < lo + n && k < PAGE_TRIES; p += PAGE, k++) {
		uint64_t first, last;

		at = p > lo ? p : lo;
		first = page_of(at);
		last = page_of(at + size - 1);
		if (rw_map_at(first, last + PAGE - first))
			continue;
		if (last == first)
			add_page(pool, first, at + size - first);
		else {
			add_page(pool, first, PAGE);
			add_page(pool, last, at + size - last);
		}
		return at;
	}
	return 0;
}

int bpftime_rw_sc_pun_seal(struct bpftime_rw_sc_pun_pool *pool)
{
	int err = 0;

	for (uint32_t i = pool->sealed; i < pool->nr; i++)
		if (rw_mprotect(pool->page[i], PAGE, RW_PROT_READ | RW_PROT_EXEC))
			err = -EPERM;
	pool->sealed = pool->nr;
	return err;
}
