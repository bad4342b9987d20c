// SPDX-License-Identifier: MIT
/*
 * Syscall-site rewriting: finding `mov $nr,%eax; syscall` sites, building
 * their stubs and writing the jmp (rw-syscall.h). Freestanding.
 *
 * Finding sites. A byte pattern alone would take operands for code (an
 * `41 b8 ...` is mov to %r8d; an imm32 or a displacement may hold b8 and
 * 0f 05), and overwriting a non-instruction corrupts the program. So the
 * executable section is swept linearly from its first byte, as objdump
 * does, with an instruction length decoder: compilers put no data in
 * x86-64 .text (jump tables live in .rodata) and pad with decodable nops
 * or int3, so the sweep stays on the boundaries. Where it cannot decode, it
 * moves on byte by byte and reports nothing until 32 bytes decoded again.
 * The residual risk is a desynchronised sweep that happens to resynchronise
 * exactly on a fake `b8 imm32 0f 05`; sites are further required to have a
 * number below 512.
 *
 * Patching. Only the 5-byte mov changes, to a jmp of the same length: there
 * is no instruction boundary inside the bytes written, so no thread can be
 * stopped in the middle of them, and the syscall after them is untouched.
 * The write is atomic for instruction fetch as in rw-patch.c: one locked
 * cmpxchg of an 8-byte window when the 5 bytes lie in one cache line, else
 * three steps behind an `EB FE` guard, each followed by membarrier
 * SYNC_CORE; a mov starting at the last byte of a line is refused. The
 * pages are made writable once per batch (one mprotect over the whole
 * mapping, not one per site: per-site calls would split the mapping into
 * hundreds of VMAs that never merge back), with one SYNC_CORE at its end
 * for the single-write sites.
 */
#include <errno.h>

#include "rw-sys.h"
#include "rw-syscall.h"

#define SYNC_GOOD    32 /* bytes decoded in a row before sites are trusted */
#define SC_NR_LIMIT  512
#define REACH        0x7fffffffLL
#define SEARCH_STEP  0x10000ULL
#define SEARCH_TRIES 16384

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Can the instruction at @p (@n bytes) run from a copy, at the same %rsp,
 * with the same registers? 0 yes (jcc and %rip-relative operands once
 * relocated), -1 no: other control flow, VEX/EVEX (not needed), nops, int3
 * and endbr64 (padding and the starts of functions and branch targets: a
 * window must not begin before them), and system instructions.
 */
static int window_insn(const uint8_t *p, unsigned int n)
{
	struct bpftime_rw_sc_insn d;
	uint8_t op, m;

	if (bpftime_rw_sc_insn_decode(p, n, &d) != n || d.map >= 4)
		return -1;
	op = d.op;
	m = d.modrm ? p[d.modrm] : 0;
	/* jcc and %rip-relative operands are relocated by the stub */
	if ((d.map == 0 && op >= 0x70 && op <= 0x7f) || (d.map == 1 && op >= 0x80 && op <= 0x8f))
		return 0;
	if (d.map == 0) {
		if (op == 0x90 || op == 0x9a || op == 0xc2 || op == 0xc3 ||
		    (op >= 0xc8 && op <= 0xcf) || (op >= 0xe0 && op <= 0xef) || op == 0xf1 ||
		    op == 0xf4)
			return -1;
		if (op == 0xff && ((m >> 3) & 7) >= 2 && ((m >> 3) & 7) <= 5)
			return -1; /* indirect call / jmp */
		return 0;
	}
	if (d.map == 1 && (op <= 0x0f || op == 0x1e || op == 0x1f || (op >= 0x30 && op <= 0x37) ||
			   op == 0xa2 || op == 0xaa || op == 0xb9 || op == 0xff))
		return -1; /* system, ud, nops, endbr, wrmsr..., cpuid, rsm */
	return 0;
}

#define RING 8 /* instructions remembered before a syscall */

uint64_t bpftime_rw_sc_scan(const uint8_t *code, size_t len, uint64_t addr,
			    bpftime_rw_sc_found_fn found, void *arg)
{
	size_t off = 0, ring[RING];
	unsigned int nring = 0, head = 0;
	uint64_t good = SYNC_GOOD, bad = 0;

	while (off < len) {
		unsigned int n = bpftime_rw_sc_insn_len(code + off, len - off);

		if (!n) {
			bad++;
			off++;
			good = 0;
			nring = 0;
			continue;
		}
		if (n == 2 && code[off] == 0x0f && code[off + 1] == 0x05 && good >= SYNC_GOOD) {
			size_t start = off;

			/* walk back, over what can run in a stub, until the
			 * jmp fits before the syscall (which then stays as it
			 * is: see rw-syscall.h), and past a start at a cache
			 * line's last byte (the jmp could not be written there);
			 * what is found short of 5 bytes is punned */
			for (unsigned int k = 1;
			     k <= nring &&
			     (off - start < 5 || ((addr + start) & (RW_LINE_SIZE - 1)) == 63);
			     k++) {
				size_t at = ring[(head + RING - k) % RING];

				if (window_insn(code + at, (unsigned int)(start - at)) ||
				    off + 2 - at > BPFTIME_RW_SC_WINDOW_MAX)
					break;
				start = at;
			}
			if (start + 5 == off && code[start] == 0xb8 &&
			    le32(code + start + 1) < SC_NR_LIMIT)
				found(arg, BPFTIME_RW_SC_SITE, addr + start,
				      le32(code + start + 1));
			else if (off > start)
				found(arg, BPFTIME_RW_SC_WINDOW, addr + start,
				      (uint32_t)(off + 2 - start));
			else
				found(arg, BPFTIME_RW_SC_OTHER, addr + off, 0);
		}
		ring[head] = off;
		head = (head + 1) % RING;
		if (nring < RING)
			nring++;
		good += n;
		off += n;
	}
	return bad;
}

void bpftime_rw_sc_branches(const uint8_t *code, size_t len, uint64_t addr,
			    void (*fn)(void *arg, uint64_t target), void *arg)
{
	size_t off = 0;

	while (off < len) {
		unsigned int n = bpftime_rw_sc_insn_len(code + off, len - off), i = 0;
		const uint8_t *p = code + off;
		int64_t rel;

		if (!n) {
			off++;
			continue;
		}
		while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 ||
				 p[i] == 0x2e || p[i] == 0x3e || (p[i] & 0xf0) == 0x40))
			i++; /* prefixes: notrack, bnd, REX */
		if (i < n &&
		    ((p[i] >= 0x70 && p[i] <= 0x7f) || (p[i] >= 0xe0 && p[i] <= 0xe3) ||
		     p[i] == 0xeb) &&
		    i + 2 == n) {
			rel = (int8_t)p[i + 1];
			fn(arg, addr + off + n + (uint64_t)rel);
		} else if (i < n && (p[i] == 0xe8 || p[i] == 0xe9) && i + 5 == n) {
			rel = (int32_t)le32(p + i + 1);
			fn(arg, addr + off + n + (uint64_t)rel);
		} else if (i + 1 < n && p[i] == 0x0f && p[i + 1] >= 0x80 && p[i + 1] <= 0x8f &&
			   i + 6 == n) {
			rel = (int32_t)le32(p + i + 2);
			fn(arg, addr + off + n + (uint64_t)rel);
		}
		off += n;
	}
}

/* ---- trampoline memory ---- */

uint64_t bpftime_rw_sc_map_near(uint64_t lo, uint64_t hi, size_t size)
{
	int64_t min = (int64_t)hi - REACH + (int64_t)(2 * RW_PAGE_SIZE);
	int64_t max = (int64_t)lo + REACH - (int64_t)(2 * RW_PAGE_SIZE) - (int64_t)size;
	int64_t down = (int64_t)(lo & ~(SEARCH_STEP - 1));
	int64_t up = (int64_t)((hi + SEARCH_STEP - 1) & ~(SEARCH_STEP - 1));
	int i;

	if (min < (int64_t)SEARCH_STEP)
		min = SEARCH_STEP;
	for (i = 1; i <= SEARCH_TRIES; i++) {
		int64_t d = down - i * (int64_t)SEARCH_STEP;
		int64_t u = up + (i - 1) * (int64_t)SEARCH_STEP;

		if (d < min && u > max)
			break;
		if (d >= min && !rw_map_at((uint64_t)d, size))
			return (uint64_t)d;
		if (u <= max && !rw_map_at((uint64_t)u, size))
			return (uint64_t)u;
	}
	return 0;
}

/* ---- stubs ---- */

struct sbuf {
	uint8_t *p;
	unsigned int n;
	int overflow;
};

static void emit(struct sbuf *b, const uint8_t *bytes, unsigned int n)
{
	if (b->n + n > BPFTIME_RW_SC_STUB_SIZE) {
		b->overflow = 1;
		return;
	}
	rw_copy(b->p + b->n, bytes, n);
	b->n += n;
}

/* Copy the window's instructions but its syscall to @stub's buffer: jcc
 * become jcc rel32 to their original target (which must not be inside the
 * window past its start), %rip-relative displacements are re-aimed. */
static int emit_window(struct sbuf *b, uint64_t stub, uint64_t site, const uint8_t *code,
		       unsigned int len)
{
	unsigned int off = 0;

	while (off < len - 2) {
		struct bpftime_rw_sc_insn d;
		unsigned int n = bpftime_rw_sc_insn_decode(code + off, len - 2 - off, &d);
		uint64_t end = site + off + n;
		int64_t target, rel;
		uint8_t insn[16];

		if (!n)
			return -EINVAL;
		rw_copy(insn, code + off, n);
		if ((d.map == 0 && d.op >= 0x70 && d.op <= 0x7f) ||
		    (d.map == 1 && d.op >= 0x80 && d.op <= 0x8f)) {
			uint8_t jcc[6] = {0x0f, (uint8_t)(d.map ? d.op : d.op + 0x10)};

			if (n != (d.map ? 6u : 2u))
				return -EINVAL; /* prefixed */
			target = (int64_t)end + (d.map ? (int32_t)le32(insn + 2) : (int8_t)insn[1]);
			if (target > (int64_t)site && target < (int64_t)(site + len))
				return -EINVAL;
			rel = target - (int64_t)(stub + b->n + 6);
			if (rel > REACH || rel < -REACH - 1)
				return -ERANGE;
			jcc[2] = (uint8_t)rel;
			jcc[3] = (uint8_t)(rel >> 8);
			jcc[4] = (uint8_t)(rel >> 16);
			jcc[5] = (uint8_t)(rel >> 24);
			emit(b, jcc, 6);
		} else {
			if (d.modrm && (insn[d.modrm] >> 6) == 0 && (insn[d.modrm] & 7) == 5) {
				target = (int64_t)end + (int32_t)le32(insn + d.modrm + 1);
				rel = target - (int64_t)(stub + b->n + n);
				if (rel > REACH || rel < -REACH - 1)
					return -ERANGE;
				insn[d.modrm + 1] = (uint8_t)rel;
				insn[d.modrm + 2] = (uint8_t)(rel >> 8);
				insn[d.modrm + 3] = (uint8_t)(rel >> 16);
				insn[d.modrm + 4] = (uint8_t)(rel >> 24);
			}
			emit(b, insn, n);
		}
		off += n;
	}
	return 0;
}

static void emit32(struct sbuf *b, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	emit(b, le, 4);
}

static void emit64(struct sbuf *b, uint64_t v)
{
	emit32(b, (uint32_t)v);
	emit32(b, (uint32_t)(v >> 32));
}

/* mov $nr,%e<reg>; movabs $fn,%r11; call *%r11 (no mov when @mov_op is 0) */
static void emit_call(struct sbuf *b, uint8_t mov_op, uint32_t nr, uint64_t fn)
{
	static const uint8_t movabs[] = {0x49, 0xbb};
	static const uint8_t call[] = {0x41, 0xff, 0xd3};

	if (mov_op) {
		emit(b, &mov_op, 1);
		emit32(b, nr);
	}
	emit(b, movabs, sizeof(movabs));
	emit64(b, fn);
	emit(b, call, sizeof(call));
}

/* clone, fork-like clone3 and vfork: a child may run on a new stack, or on
 * its parent's, which the parent still needs: it goes straight back. These
 * and rt_sigreturn are the numbers whose syscall cannot be skipped. */
static int child_skips_exit(uint32_t nr)
{
	return nr == 56 || nr == 58 || nr == 435;
}

/*
 * Two layouts (rw-syscall.h). lea -136(%rsp),%rsp steps over the red zone
 * and one word: the entries find the site's %rsp 152 bytes above the one
 * they push, in every layout.
 *   skippable: the syscall right after the enter call (the enter entry
 *     skips it by returning 2 bytes further, %rax the result), below the
 *     red zone;
 *   plain (child_skips_exit numbers and rt_sigreturn): the syscall at the
 *     site's %rsp, between two calls that each move %rsp; the bytes after
 *     the enter call are a lea, so it cannot be skipped.
 */
int bpftime_rw_sc_stub(uint8_t buf[BPFTIME_RW_SC_STUB_SIZE], uint64_t stub, uint64_t site,
		       uint32_t nr, uint64_t enter, uint64_t exit)
{
	static const uint8_t down[] = {0x48, 0x8d, 0xa4, 0x24, 0x78, 0xff, 0xff, 0xff};
	static const uint8_t up[] = {0x48, 0x8d, 0xa4, 0x24, 0x88, 0x00, 0x00, 0x00};
	static const uint8_t sys[] = {0x0f, 0x05};
	/* the child (%rax 0) straight back, over the exit call (down 8, mov
	 * 5, movabs 10, call 3, up 8), without touching the flags (a syscall
	 * keeps them): mov %rax,%rcx; jrcxz (%rcx is the syscall's) */
	static const uint8_t child_back[] = {0x48, 0x89, 0xc1, 0xe3, 34};
	int plain = child_skips_exit(nr) || nr == 15;
	struct sbuf b = {buf, 0, 0};
	int64_t rel;
	uint8_t jmp = 0xe9, mov = 0xb8;

	emit(&b, down, sizeof(down));
	emit_call(&b, 0xb8, nr, enter); /* %eax = nr */
	if (plain) {
		emit(&b, up, sizeof(up));
		emit(&b, &mov, 1); /* %eax = nr again: the entry may not keep it */
		emit32(&b, nr);
	}
	emit(&b, sys, sizeof(sys));
	if (plain) {
		if (child_skips_exit(nr))
			emit(&b, child_back, sizeof(child_back));
		emit(&b, down, sizeof(down));
	}
	emit_call(&b, 0xb9, nr, exit); /* %ecx = nr, %rax = the result */
	emit(&b, up, sizeof(up));
	rel = (int64_t)(site + BPFTIME_RW_SC_SITE_LEN) - (int64_t)(stub + b.n + 5);
	if (rel > REACH || rel < -REACH - 1)
		return -ERANGE;
	emit(&b, &jmp, 1);
	emit32(&b, (uint32_t)rel);
	if (b.overflow)
		return -E2BIG;
	while (b.n < BPFTIME_RW_SC_STUB_SIZE)
		b.p[b.n++] = 0xcc;
	return 0;
}

int bpftime_rw_sc_stub_window(uint8_t buf[BPFTIME_RW_SC_STUB_SIZE], uint64_t stub, uint64_t site,
			      const uint8_t *code, unsigned int len, uint64_t enter, uint64_t exit)
{
	/* numbers whose syscall runs plain, at the site's %rsp, unhooked:
	 * clone, vfork and clone3 (a child may get a new stack), rt_sigreturn
	 * (reads its frame at %rsp). lea -nr(%rax),%ecx; jrcxz plain: no
	 * flag changes (a syscall keeps them; code after it may use them);
	 * %rcx is the syscall's */
	static const uint8_t plain_if[] = {
	    0x8d, 0x48, (uint8_t)-56,                   /* lea -56(%rax),%ecx */
	    0xe3, 0,                                    /* jrcxz plain */
	    0x8d, 0x48, (uint8_t)-58,                   /* lea -58(%rax),%ecx */
	    0xe3, 0,                                    /* jrcxz plain */
	    0x8d, 0x88, 0x4d,         0xfe, 0xff, 0xff, /* lea -435(%rax),%ecx */
	    0xe3, 0,                                    /* jrcxz plain */
	    0x8d, 0x48, (uint8_t)-15,                   /* lea -15(%rax),%ecx */
	    0xe3, 0,                                    /* jrcxz plain */
	};
	static const uint8_t down[] = {0x48, 0x8d, 0xa4, 0x24, 0x78, 0xff, 0xff, 0xff};
	static const uint8_t save_nr[] = {0x48, 0x89, 0x04, 0x24}; /* mov %rax,(%rsp) */
	static const uint8_t load_nr[] = {0x48, 0x8b, 0x0c, 0x24}; /* mov (%rsp),%rcx */
	static const uint8_t movabs[] = {0x49, 0xbb};
	static const uint8_t call[] = {0x41, 0xff, 0xd3};
	static const uint8_t sys[] = {0x0f, 0x05};
	static const uint8_t up[] = {0x48, 0x8d, 0xa4, 0x24, 0x88, 0x00, 0x00, 0x00};
	struct sbuf b = {buf, 0, 0};
	unsigned int jcc_at, plain, back, k;
	uint8_t jmp = 0xe9, short_jmp[2] = {0xeb, 0};
	int64_t rel;
	int err;

	if (len < 3 || len > BPFTIME_RW_SC_WINDOW_MAX || code[len - 2] != 0x0f ||
	    code[len - 1] != 0x05)
		return -EINVAL;
	/* at the site's %rsp: %rax = the number */
	err = emit_window(&b, stub, site, code, len);
	if (err)
		return err;
	jcc_at = b.n;
	emit(&b, plain_if, sizeof(plain_if));
	emit(&b, down, sizeof(down));
	emit(&b, save_nr, sizeof(save_nr));
	emit(&b, movabs, sizeof(movabs));
	emit64(&b, enter);
	emit(&b, call, sizeof(call));
	emit(&b, sys, sizeof(sys));
	emit(&b, load_nr, sizeof(load_nr));
	emit(&b, movabs, sizeof(movabs));
	emit64(&b, exit);
	emit(&b, call, sizeof(call));
	emit(&b, up, sizeof(up));
	back = b.n;
	rel = (int64_t)(site + len) - (int64_t)(stub + b.n + 5);
	if (rel > REACH || rel < -REACH - 1)
		return -ERANGE;
	emit(&b, &jmp, 1);
	emit32(&b, (uint32_t)rel);
	/* plain: the syscall, then back through the jmp above (jmp rel8) */
	plain = b.n;
	emit(&b, sys, sizeof(sys));
	short_jmp[1] = (uint8_t)(back - (b.n + 2));
	emit(&b, short_jmp, sizeof(short_jmp));
	if (b.overflow)
		return -E2BIG;
	/* the jrcxz's rel8: to plain from each one's end */
	for (k = 4; k < sizeof(plain_if); k++)
		if ((k == 4 || k == 9 || k == 17 || k == 22))
			buf[jcc_at + k] = (uint8_t)(plain - (jcc_at + k + 1));
	while (b.n < BPFTIME_RW_SC_STUB_SIZE)
		b.p[b.n++] = 0xcc;
	return 0;
}

/* ---- patching ---- */

/* How many of the jmp's bytes differ from @orig: 5, or fewer for a punned
 * jmp, whose last bytes are the code's own. */
static unsigned int changed(const uint8_t orig[5], const uint8_t jmp[5])
{
	unsigned int n = 5;

	while (n > 1 && orig[n - 1] == jmp[n - 1])
		n--;
	return n;
}

int bpftime_rw_sc_patchable(uint64_t site, unsigned int n)
{
	uint64_t off = site & (RW_LINE_SIZE - 1);

	if (off + n <= RW_LINE_SIZE)
		return 0;
	return n < 2 || off == RW_LINE_SIZE - 1 ? -EOPNOTSUPP : 0;
}

int bpftime_rw_sc_begin(uint64_t start, uint64_t len)
{
	return (int)rw_mprotect(start, len, RW_PROT_READ | RW_PROT_WRITE | RW_PROT_EXEC);
}

int bpftime_rw_sc_end(uint64_t start, uint64_t len, uint32_t prot)
{
	rw_sync_cores();
	return rw_mprotect(start, len, (int)prot) ? -EPERM : 0;
}

static void jmp_bytes(uint8_t jmp[5], uint64_t site, uint64_t stub)
{
	uint32_t rel = (uint32_t)(int32_t)((int64_t)stub - (int64_t)(site + 5));
	int i;

	jmp[0] = 0xe9;
	for (i = 0; i < 4; i++)
		jmp[1 + i] = (uint8_t)(rel >> (8 * i));
}

int bpftime_rw_sc_patch(uint64_t site, const uint8_t orig[5], uint64_t stub)
{
	uint8_t jmp[5];
	int64_t rel = (int64_t)stub - (int64_t)(site + 5);

	if (rel > REACH || rel < -REACH - 1)
		return -ERANGE;
	jmp_bytes(jmp, site, stub);
	/* the pages are writable: _begin */
	return rw_write_n(site, orig, jmp, changed(orig, jmp));
}

int bpftime_rw_sc_unpatch(uint64_t site, const uint8_t orig[5], uint64_t stub)
{
	uint8_t jmp[5];

	jmp_bytes(jmp, site, stub);
	return rw_write_n(site, jmp, orig, changed(orig, jmp));
}
