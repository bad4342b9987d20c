/* SPDX-License-Identifier: MIT */
/*
 * Syscall-site rewriting (agent side, freestanding: raw syscalls, no libc,
 * no TLS, no allocation). Used by the agent's syscall tracepoints
 * (agent/src/agent-sc*.c).
 *
 * A site is the 7 bytes `mov $nr,%eax; syscall` (b8 imm32 0f 05) found at
 * an instruction boundary by a linear sweep of an executable section with
 * a small x86-64 length decoder (rw-syscall-insn.c). Only the 5-byte mov is
 * overwritten, by `jmp rel32` to a per-site stub; the `syscall` stays, so
 * a thread that was between the two instructions, or code that jumps to
 * the `syscall` itself, still runs the original (unhooked) call:
 *
 *   site:   jmp stub      (was mov $nr,%eax)
 *   site+5: syscall       (unchanged)
 *   site+7: ...     <---------------------------------------.
 *                                                           |
 *   stub:   lea -136(%rsp),%rsp; mov $nr,%eax               |
 *           movabs $enter,%r11; call *%r11                  |
 *           syscall    <- skipped: enter returns past it    |
 *           mov $nr,%ecx; movabs $exit,%r11; call *%r11     |
 *           lea 136(%rsp),%rsp                              |
 *   back:   jmp site+7 -------------------------------------'
 *
 * clone, clone3, vfork (a child may run on its parent's stack and returns
 * straight to site+7: `mov %rax,%rcx; jrcxz back` after the syscall) and
 * rt_sigreturn (reads its frame at %rsp) have the PLAIN layout instead:
 * the syscall (`mov $nr,%eax; syscall`) at the site's %rsp, between the
 * enter call and the exit call, each in its own lea -136 / lea 136 pair.
 *
 * No stub instruction changes the flags (lea, mov, jrcxz; the WINDOW's
 * number checks are `lea -nr(%rax),%ecx; jrcxz`): a syscall keeps them,
 * so code after one may rely on flags set before it, and the entries put
 * back what their handlers change.
 *
 * Skipping the syscall (bpf_override_return() from a kprobe on the
 * syscall's wrapper): in every stub that can get there but the PLAIN
 * ones, the 2 bytes right after the enter call are the `syscall`, and
 * what follows it needs only %rax (the result). So the enter entry skips
 * the call by returning to its return address + 2 with %rax = the result:
 * the exit call then runs as after a real syscall. It checks those 2
 * bytes are 0f 05 first, and never skips clone, clone3, vfork and
 * rt_sigreturn (PLAIN at SITEs; run plain, without the enter call, from a
 * WINDOW). No byte of any stub is spent on it.
 *
 * Other syscalls are rewritten as a WINDOW: the syscall and the fewest
 * instructions right before it that make 5 bytes before the syscall, when
 * those can run from a copy (jcc and %rip-relative operands relocated; no
 * other branch, no nop or endbr64: they mark where functions and branch
 * targets start), such as glibc's `mov %r8d,%eax; syscall`, `je 1f; xor
 * %eax,%eax; syscall` (read(2) in a single-threaded process) and musl's
 * __syscall_cp_c. The jmp replaces the window's first 5 bytes and never
 * the syscall: a thread asleep in it when the jmp is written returns after
 * it, or is restarted on it (ip -= 2), and no park can move a thread that
 * is in the kernel. Where fewer than 5 bytes can be had (glibc's _exit and
 * __read_nocancel: a 2-byte instruction at a branch target or a function's
 * start, then the syscall), the jmp is PUNNED (rw-syscall-pun.c): its last
 * bytes are the syscall's and its successor's own, which fixes the high
 * bytes of its rel32, and the stub is placed where they point. The stub
 * runs a copy of the window but its syscall at the site's %rsp (so %rax
 * holds the number, however it was computed), saves %rax in a stack word
 * of its own for the exit call, then as above, and returns to the end of
 * the syscall. clone, vfork, clone3 and rt_sigreturn run plain at the
 * site's %rsp from a window (unhooked). A window may have instruction
 * boundaries inside the bytes written: a thread stopped at one while we
 * patch (preempted there, or in a signal handler that interrupted it
 * there) would resume inside the jmp; the agent parks running threads
 * around the write and waits for one that sits there. A direct branch
 * into the bytes written (bpftime_rw_sc_branches) moves the window's
 * start to its target (it may then be punned); indirect ones (jump
 * tables, landing pads) cannot be seen.
 *
 * %rax, %rcx and %r11 are dead at the site (the mov sets the first, the
 * syscall clobbers the others), so the stub may use them. enter and exit
 * are the caller's entry points, which must preserve every other register
 * (and %rax for exit: the result).
 */
#ifndef BPFTIME_RW_SYSCALL_H
#define BPFTIME_RW_SYSCALL_H

#include <stddef.h>
#include <stdint.h>

#define BPFTIME_RW_SC_STUB_SIZE  128 /* bytes per stub, 16-aligned */
#define BPFTIME_RW_SC_WINDOW_MAX 40  /* bytes of a WINDOW site */
#define BPFTIME_RW_SC_SITE_LEN   7   /* mov $nr,%eax; syscall */

/* The length of the x86-64 (64-bit mode) instruction at @p (at most @avail
 * bytes readable). @return 1..15, or 0 when it does not decode. */
unsigned int bpftime_rw_sc_insn_len(const uint8_t *p, size_t avail);

/* What the decoder saw: the opcode map (0 one-byte, 1 0f, 2 0f38, 3 0f3a,
 * 4 VEX/EVEX), the opcode, where its ModRM byte is (0: none) and REX. */
struct bpftime_rw_sc_insn {
	uint8_t map;
	uint8_t op;
	uint8_t modrm;
	uint8_t rex;
};

/* bpftime_rw_sc_insn_len, and @d filled when it decodes. */
unsigned int bpftime_rw_sc_insn_decode(const uint8_t *p, size_t avail,
				       struct bpftime_rw_sc_insn *d);

enum bpftime_rw_sc_kind {
	BPFTIME_RW_SC_SITE = 1, /* mov $nr,%eax; syscall: rewritable */
	/* a syscall with no instruction before it that can run from a copy */
	BPFTIME_RW_SC_OTHER = 2,
	/* a few instructions that set %rax (from a register or an immediate)
	 * and the argument registers, then the syscall: rewritable (punned
	 * when short) up to the last branch target inside it
	 * (bpftime_rw_sc_branches) */
	BPFTIME_RW_SC_WINDOW = 3,
};

/* Called for each `syscall` instruction found: @addr is the mov (SITE),
 * the window's first instruction (WINDOW) or the syscall (OTHER) at its
 * address in the code's space; @nr the number for a SITE, the window's
 * length (its syscall included: 3 and more; a window of fewer than 7 is
 * punned) for a WINDOW. */
typedef void (*bpftime_rw_sc_found_fn)(void *arg, int kind, uint64_t addr, uint32_t nr);

/* Linear-sweep as bpftime_rw_sc_scan and report the target of every
 * direct branch (jmp, jcc, call, loop, jrcxz) to @fn. A WINDOW must not
 * contain a target between its first byte and its syscall: it then starts
 * at the target instead (the syscall itself may be one: it is not
 * written). */
void bpftime_rw_sc_branches(const uint8_t *code, size_t len, uint64_t addr,
			    void (*fn)(void *arg, uint64_t target), void *arg);

/* Linear-sweep @len bytes at @code (address @addr in the space reported)
 * from its first byte, which must be an instruction boundary (a section's
 * start). Bytes that do not decode are skipped one by one, and no site is
 * reported until 32 bytes decoded again. @return the number of bytes that
 * did not decode. */
uint64_t bpftime_rw_sc_scan(const uint8_t *code, size_t len, uint64_t addr,
			    bpftime_rw_sc_found_fn found, void *arg);

/* Map @size bytes (a page multiple) read-write within rel32 reach of every
 * address in [lo, hi). @return the address, or 0. */
uint64_t bpftime_rw_sc_map_near(uint64_t lo, uint64_t hi, size_t size);

/* Write the stub for @site (whose syscall number is @nr) into @buf, which
 * will be executed at @stub. @return 0, or -ERANGE out of rel32 reach. */
int bpftime_rw_sc_stub(uint8_t buf[BPFTIME_RW_SC_STUB_SIZE], uint64_t stub, uint64_t site,
		       uint32_t nr, uint64_t enter, uint64_t exit);

/* The stub of a WINDOW site: @code is its @len original bytes. The copy
 * runs first, at the site's %rsp; the number is then in %rax and is kept
 * on the stub's stack word for the exit call. @return 0, -ERANGE, -EINVAL. */
int bpftime_rw_sc_stub_window(uint8_t buf[BPFTIME_RW_SC_STUB_SIZE], uint64_t stub, uint64_t site,
			      const uint8_t *code, unsigned int len, uint64_t enter, uint64_t exit);

/* Make [start, start+len) writable (and executable) for a batch of
 * patch / unpatch calls; _end syncs every core and restores @prot.
 * @return 0 or -errno. */
int bpftime_rw_sc_begin(uint64_t start, uint64_t len);
int bpftime_rw_sc_end(uint64_t start, uint64_t len, uint32_t prot);

/* Write `jmp stub` over the 5 bytes at @site (checked to be @orig), or put
 * them back, between _begin and _end. A SITE's 5 bytes are its mov; a
 * WINDOW's its first 5 bytes. Serialise calls (one thread does them all).
 * @return 0; -EILSEQ the bytes are not what they should be; -EOPNOTSUPP
 * the first byte is the last of a cache line. */
int bpftime_rw_sc_patch(uint64_t site, const uint8_t orig[5], uint64_t stub);
int bpftime_rw_sc_unpatch(uint64_t site, const uint8_t orig[5], uint64_t stub);

/* Can the first @n bytes at @site (5, or a punned window's `before`)
 * ever be written by bpftime_rw_sc_patch (known before trying)? @return 0,
 * or -EOPNOTSUPP as bpftime_rw_sc_patch would. */
int bpftime_rw_sc_patchable(uint64_t site, unsigned int n);

/* ---- punned windows (rw-syscall-pun.c) ---- */

/* Where the stub of a punned WINDOW at @site may start: [*lo, *lo + *n),
 * given its @before bytes (1..4) and the 5 code bytes @orig at @site.
 * @return 0, -EINVAL (@before), -ERANGE (not in user space). */
int bpftime_rw_sc_pun_range(uint64_t site, unsigned int before, const uint8_t orig[5], uint64_t *lo,
			    uint64_t *n);

#define BPFTIME_RW_SC_PUN_PAGES 128

/* Pages of punned stubs: written while unsealed, then read-only code. */
struct bpftime_rw_sc_pun_pool {
	uint64_t page[BPFTIME_RW_SC_PUN_PAGES];
	uint16_t used[BPFTIME_RW_SC_PUN_PAGES]; /* bytes given out from the start */
	uint32_t nr;
	uint32_t sealed; /* pages [0, sealed) are read-only: never given again */
};

/* @size writable bytes starting in [@lo, @lo + @n): in an unsealed page of
 * @pool, else in pages mapped for it. @return the address, or 0. */
uint64_t bpftime_rw_sc_pun_alloc(struct bpftime_rw_sc_pun_pool *pool, uint64_t lo, uint64_t n,
				 unsigned int size);

/* Make the unsealed pages read-only code. @return 0 or -EPERM. */
int bpftime_rw_sc_pun_seal(struct bpftime_rw_sc_pun_pool *pool);

#endif /* BPFTIME_RW_SYSCALL_H */
