// SPDX-License-Identifier: MIT
/*
 * Writing the 5-byte jmp into code other threads may be running
 * (agent side, freestanding).
 *
 * The kernel's text_poke_bp() puts an int3 first and lets its trap handler
 * steer the threads that hit it; a process cannot do that without a
 * SIGTRAP handler of its own in the target, and int3 costs microseconds.
 * What we do instead, by where the 5 bytes fall in a 64-byte cache line
 * (instruction fetch sees a line either before or after a locked store to
 * it, never half of the store):
 *
 *  - offset 0..59 of a line (59 in 64 sites, and every function entry, which
 *    compilers align): one `lock cmpxchg` of an 8-byte window inside the
 *    line that holds the 5 bytes, the 3 others rewritten with their own
 *    value. A thread fetching the site sees the old instruction or the jmp.
 *  - offset 60..62: the 5 bytes cross into the next line. Three steps, each
 *    followed by a SYNC_CORE membarrier so that no core keeps stale bytes:
 *      1. cmpxchg the first 2 bytes to `jmp .` (EB FE): arriving threads
 *         spin at the site;
 *      2. write bytes 2..4 (nobody decodes them: they are behind the spin);
 *      3. cmpxchg the first 2 bytes to their final value.
 *    A thread spins for at most the two syscalls in between.
 *  - offset 63: refused (-EOPNOTSUPP). Even the 2-byte guard would straddle
 *    two lines; only int3 is 1 byte.
 *
 * rw_write_n is the same for a write whose last 5 - n bytes are unchanged
 * (a punned jmp, rw-syscall.h): only the n changing bytes decide, so they
 * may end a line with the unchanged ones in the next; the guard, when
 * needed, is made of changing bytes only (n >= 2).
 *
 * Unpatching runs the same steps from the jmp back to the original bytes.
 *
 * Known limit, common to every multi-instruction patch made from user
 * space: a thread *stopped* at an instruction boundary strictly inside the
 * displaced range (preempted there, or in a signal handler that interrupted
 * it there) resumes in the middle of the jmp. The kernel avoids it for
 * optimized kprobes with synchronize_rcu_tasks(); we cannot see other
 * threads' %rip without ptrace. Sites whose first instruction is 5 bytes or
 * more have no such boundary.
 *
 * The pages are made RWX, not RW, while writing: other threads may be
 * executing them. Patch and unpatch calls on the same pages must be
 * serialised by the caller (the agent's control thread does them all), or
 * one call's mprotect back to R-X would fault the other's write.
 */
#include <errno.h>

#include "bpftime/rewrite.h"
#include "rw-sys.h"

static int cas64(uint64_t addr, uint64_t old, uint64_t new)
{
	uint64_t prev = old;

	/* address in a register: the window may be unaligned (within a line) */
	__asm__ volatile("lock cmpxchgq %2, (%3)"
			 : "+a"(prev)
			 : "m"(*(volatile char *)addr), "r"(new), "r"(addr)
			 : "memory", "cc");
	return prev == old;
}

static int cas16(uint64_t addr, uint16_t old, uint16_t new)
{
	uint16_t prev = old;

	__asm__ volatile("lock cmpxchgw %2, (%3)"
			 : "+a"(prev)
			 : "m"(*(volatile char *)addr), "r"(new), "r"(addr)
			 : "memory", "cc");
	return prev == old;
}

static uint64_t load_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

/* Every core re-fetches instructions after this (best effort: see above). */
void rw_sync_cores(void)
{
	rw_membarrier(RW_MEMBARRIER_SYNC_CORE);
}

/* The first @n bytes of @new differ from @old (the rest are equal: a
 * punned jmp, rw-syscall.h); they lie in one line. One cmpxchg of the
 * 8-byte window of that line that holds them. */
static int write_window(uint64_t site, const uint8_t *old, const uint8_t *new, unsigned int n)
{
	uint64_t line = site & ~(RW_LINE_SIZE - 1);
	uint64_t a = site < line + 56 ? site : line + 56; /* [a, a+8) in the line */
	uint8_t cur[8], next[8];
	unsigned int i;

	rw_copy(cur, (const void *)(uintptr_t)a, 8);
	rw_copy(next, cur, 8);
	for (i = 0; i < n; i++) {
		if (cur[site - a + i] != old[i])
			return -EILSEQ;
		next[site - a + i] = new[i];
	}
	if (!cas64(a, load_le(cur, 8), load_le(next, 8)))
		return -EBUSY; /* someone else wrote the window meanwhile */
	return 0;
}

/* The guarded write in progress, if any: a fork between its steps gives
 * the child the `jmp .` and no thread to finish it (bpftime_rw__forked). */
static struct {
	uint64_t site; /* 0: none */
	uint8_t new[BPFTIME_RW_JMP_LEN];
	unsigned int n;
} guard;

static int write_guarded(uint64_t site, const uint8_t *old, const uint8_t *new, unsigned int n)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)site;
	unsigned int i;

	rw_copy(guard.new, new, n);
	guard.n = n;
	__atomic_store_n(&guard.site, site, __ATOMIC_SEQ_CST);
	if (!cas16(site, (uint16_t)load_le(old, 2), 0xfeeb)) { /* EB FE: jmp . */
		__atomic_store_n(&guard.site, 0, __ATOMIC_SEQ_CST);
		return -EILSEQ;
	}
	rw_sync_cores();
	for (i = 2; i < n; i++)
		p[i] = new[i];
	rw_sync_cores();
	cas16(site, 0xfeeb, (uint16_t)load_le(new, 2)); /* only we write the guard */
	__atomic_store_n(&guard.site, 0, __ATOMIC_SEQ_CST);
	return 0;
}

int bpftime_rw__forked(void)
{
	uint64_t site = __atomic_load_n(&guard.site, __ATOMIC_SEQ_CST);
	uint64_t first = site & ~(RW_PAGE_SIZE - 1);
	uint64_t len = ((site + BPFTIME_RW_JMP_LEN - 1) | (RW_PAGE_SIZE - 1)) + 1 - first;
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)site;

	if (!site)
		return 0;
	/* the pages are writable still (the parent made them so before it
	 * forked); this thread is the child's only one, and it is here */
	for (unsigned int i = guard.n; i-- > 0;)
		p[i] = guard.new[i];
	guard.site = 0;
	rw_sync_cores();
	/* code pages: read and execute, as every patch leaves them */
	return rw_mprotect(first, len, RW_PROT_READ | RW_PROT_EXEC) ? -EPERM : 1;
}

int rw_write_n(uint64_t site, const uint8_t *old, const uint8_t *new, unsigned int n)
{
	uint64_t line_off = site & (RW_LINE_SIZE - 1);

	if (!n || n > BPFTIME_RW_JMP_LEN ||
	    !rw_equal((const void *)(uintptr_t)site, old, BPFTIME_RW_JMP_LEN))
		return n ? -EILSEQ : -EINVAL;
	if (line_off + n <= RW_LINE_SIZE)
		return write_window(site, old, new, n);
	/* the guard's 2 bytes must be among those changing, in one line */
	if (n < 2 || line_off == RW_LINE_SIZE - 1)
		return -EOPNOTSUPP;
	return write_guarded(site, old, new, n);
}

int rw_write5(uint64_t site, const uint8_t *old, const uint8_t *new)
{
	return rw_write_n(site, old, new, BPFTIME_RW_JMP_LEN);
}

static int write_site(const struct bpftime_rw_hook *hook, const uint8_t *old, const uint8_t *new)
{
	uint64_t site = hook->site;
	uint64_t first = site & ~(RW_PAGE_SIZE - 1);
	uint64_t len = ((site + BPFTIME_RW_JMP_LEN + 3 - 1) | (RW_PAGE_SIZE - 1)) + 1 - first;
	long err;

	err = rw_mprotect(first, len, RW_PROT_READ | RW_PROT_WRITE | RW_PROT_EXEC);
	if (err)
		return (int)err;
	err = rw_write5(site, old, new);
	rw_sync_cores();
	/* the write, if any, is done: report it over a failed mprotect */
	if (rw_mprotect(first, len, (int)hook->prot) && !err)
		err = -EPERM;
	return (int)err;
}

int bpftime_rw__patch(struct bpftime_rw_hook *hook)
{
	int err;

	if (!hook || !hook->tramp)
		return -EINVAL;
	if (hook->patched)
		return -EALREADY;
	err = write_site(hook, hook->orig, hook->jmp);
	if (!err)
		hook->patched = 1;
	return err;
}

int bpftime_rw__unpatch(struct bpftime_rw_hook *hook)
{
	int err;

	if (!hook || !hook->tramp)
		return -EINVAL;
	if (!hook->patched)
		return -EALREADY;
	err = write_site(hook, hook->jmp, hook->orig);
	if (!err)
		hook->patched = 0;
	return err;
}

int bpftime_rw__release(struct bpftime_rw_hook *hook)
{
	int err = 0;

	if (!hook)
		return 0;
	if (hook->patched)
		err = bpftime_rw__unpatch(hook);
	if (err)
		return err; /* still patched: the trampoline must stay */
	if (hook->tramp)
		err = (int)rw_munmap(hook->tramp, hook->tramp_size);
	rw_zero(hook, sizeof(*hook));
	return err;
}
