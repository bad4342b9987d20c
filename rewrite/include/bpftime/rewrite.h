/* SPDX-License-Identifier: MIT */
/*
 * rewrite: x86-64 function-entry hooks at any instruction boundary.
 *
 * Two halves, on the two sides of the design's split (DESIGN.md, "The agent
 * is small and freestanding"):
 *
 *   planner (supervisor; libc, capstone, libelf)
 *       bpftime_rw__plan()       code bytes + address of a site
 *       bpftime_rw__plan_file()  a probed file + file offset
 *     -> struct bpftime_rw_plan: fixed-size, versioned, no pointers, so it
 *        can sit in the session's shared memory. It holds the bytes the jmp
 *        overwrites (checked before patching, restored on detach) and the
 *        displaced instructions relocated into a byte template whose
 *        fix-ups are relative to the patch site.
 *
 *   applier (agent; freestanding: raw syscalls, no libc, no TLS, no malloc)
 *       bpftime_rw__prepare()    map a trampoline page within +-2 GiB of
 *                                the site, emit save / call / restore, bind
 *                                the template to this process's addresses
 *       bpftime_rw__patch()      check the site's bytes, write the jmp
 *       bpftime_rw__unpatch()    put the original bytes back
 *       bpftime_rw__release()    unmap the trampoline
 *
 *   site:  jmp rel32 ------------------> trampoline:
 *          (rest of the displaced         lea -128(%rsp),%rsp; push pt_regs
 *           bytes, now dead)              save xmm0-15; call handler(ctx, regs)
 *   site+n: <----------------------.      restore xmm, GPRs, flags, %rsp
 *                                  '----- relocated displaced insns; jmp site+n
 *                                         (handler returned 1: restore; ret;
 *                                          2: restore; pop; jmp gate, which
 *                                          calls the displaced insns)
 */
#ifndef BPFTIME_REWRITE_H
#define BPFTIME_REWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The kernel's x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h), field
 * for field, so that BPF programs built for uprobes read their arguments
 * (PT_REGS_PARM1() is ->di, and CO-RE offsets) from the same places.
 */
struct bpftime_regs {
	__u64 r15;
	__u64 r14;
	__u64 r13;
	__u64 r12;
	__u64 bp;
	__u64 bx;
	__u64 r11;
	__u64 r10;
	__u64 r9;
	__u64 r8;
	__u64 ax;
	__u64 cx;
	__u64 dx;
	__u64 si;
	__u64 di;
	__u64 orig_ax; /* -1: not a syscall, as for a kernel uprobe */
	__u64 ip;      /* the probed address, as the kernel's uprobe sets it */
	__u64 cs;      /* __USER_CS (0x33) */
	__u64 flags;
	__u64 sp; /* %rsp when the probed instruction was reached */
	__u64 ss; /* __USER_DS (0x2b) */
};

/*
 * Called on every hit, on the thread's own stack, with the thread's GPRs,
 * flags and xmm0-15 saved. Writes to the GPR fields take effect when the
 * handler returns; writes to ip, sp, flags, cs, ss and orig_ax are ignored.
 * The handler must not use AVX (the upper halves of ymm/zmm are not saved)
 * nor change MXCSR or the x87 control word.
 *
 * Returns what happens next:
 *   0  continue: the displaced instructions run, then the code after them.
 *   1  return from the function now: every register is restored as above
 *      (so ->ax as the handler set it is the return value), then, instead
 *      of the displaced instructions, a `ret` runs at the site's %rsp: it
 *      pops *(sp) into ip, as the kernel's bpf_override_return() does
 *      (regs_set_return_value + override_function_with_return: ip = *(sp),
 *      sp += 8). Only meaningful at a function's entry, where [%rsp] is the
 *      return address; anywhere else it jumps to whatever is at [%rsp].
 *      The applier cannot tell: the caller decides (as the kernel, which
 *      allows the override only for probes at a function's entry).
 *   2  continue, calling the rest of the function (for a return probe at
 *      a function's entry): the handler has kept the return address at
 *      the site's %rsp and set ->ip to a gate. Every register is restored
 *      as for 0, the return address is popped and the gate is entered by
 *      a jmp with *(%rsp - 16) holding the address of the displaced
 *      instructions (the red zone: a signal frame skips it). The gate
 *      must `call *-16(%rsp)`: the call puts its own return address where
 *      the popped one was and on the CPU's return stack buffer, so the
 *      function's ret comes back to the gate predicted, and the gate can
 *      go on to the kept address with a ret, predicted too (the caller's
 *      own call is next on the buffer). Hijacking the return address in
 *      place instead costs two mispredicted returns.
 * Other values are reserved and behave as 1.
 */
typedef int (*bpftime_rw_handler_fn)(void *ctx, struct bpftime_regs *regs);

#define BPFTIME_RW_PLAN_VERSION 1
#define BPFTIME_RW_ORIG_MAX     24  /* a jmp needs 5 bytes; an insn is at most 15 */
#define BPFTIME_RW_CODE_MAX     128 /* worst case of 5 relocated insns is ~96 */
#define BPFTIME_RW_FIXUP_MAX    16
#define BPFTIME_RW_JMP_LEN      5

enum bpftime_rw_fixup_kind {
	/* int32 at code[off] = (site + target) - (code + end) */
	BPFTIME_RW_FIXUP_REL32 = 1,
	/* uint64 at code[off] = site + target */
	BPFTIME_RW_FIXUP_ABS64 = 2,
};

struct bpftime_rw_fixup {
	uint16_t kind; /* enum bpftime_rw_fixup_kind */
	uint16_t off;  /* where the field is, in code[] */
	uint16_t end;  /* REL32: the end of the insn the field belongs to */
	uint16_t pad;
	int64_t target; /* an address, relative to the patch site */
};

/*
 * A patch for one site, position-independent: every address in it is
 * relative to the site. Written by the planner only; the applier validates
 * the lengths and offsets before using any of them.
 */
struct bpftime_rw_plan {
	uint32_t size;    /* sizeof(struct bpftime_rw_plan) as the planner knew it */
	uint16_t version; /* BPFTIME_RW_PLAN_VERSION */
	uint16_t flags;   /* none defined yet: must be 0 */
	uint64_t site;    /* the site in the planner's address space (logs only) */
	uint8_t orig_len; /* n: whole instructions displaced, >= 5 */
	uint8_t code_len; /* bytes of code[] used */
	uint8_t nr_fixups;
	uint8_t nr_insns; /* instructions displaced */
	uint32_t pad;
	/* Lowest and highest fix-up target (site-relative, 0 and orig_len
	 * included): where the trampoline may go so that every rel32 fits. */
	int64_t reach_min;
	int64_t reach_max;
	uint8_t orig[BPFTIME_RW_ORIG_MAX];
	uint8_t code[BPFTIME_RW_CODE_MAX];
	struct bpftime_rw_fixup fixups[BPFTIME_RW_FIXUP_MAX];
};

/* ---- planner (supervisor side) ---------------------------------------- */

struct bpftime_rw_plan_opts {
	size_t sz; /* sizeof(struct bpftime_rw_plan_opts) */
	/* The function holding the site, in the code's address space; 0/0
	 * when unknown. With it, the planner checks that the site is an
	 * instruction boundary of the function and that the displaced bytes
	 * stay inside it. */
	uint64_t func_start;
	uint64_t func_size;
	/* Where a refusal is explained ("site+2: ..."); may be NULL. */
	char *errbuf;
	size_t errbuf_sz;
	/* Filled in: instructions decoded by the branch scan. */
	uint64_t scanned_insns;
};

/**
 * @brief Plan a jmp hook at @p site_addr.
 *
 * @p code holds @p code_len bytes of machine code whose first byte is at
 * address @p code_addr (a virtual address or a file offset: any linear
 * space in which the code's rel32 operands are correct). The whole buffer
 * is scanned for direct branches (jmp, jcc, call, loop, jrcxz, xbegin) into
 * bytes 1..n-1 of the displaced range: pass a whole section to catch gcc's
 * .cold parts, which jump back into their function's body. Indirect
 * branches (jump tables, exception landing pads) cannot be seen.
 *
 * @return 0 and *plan filled; -EINVAL for bad arguments; -ENOEXEC when the
 * bytes at the site do not decode; -EOPNOTSUPP when the site cannot be
 * patched safely, with the reason in opts->errbuf. Thread-safe.
 */
int bpftime_rw__plan(const void *code, size_t code_len, uint64_t code_addr, uint64_t site_addr,
		     struct bpftime_rw_plan_opts *opts, struct bpftime_rw_plan *plan);

/**
 * @brief Plan a jmp hook at file offset @p file_off of the ELF file @p path.
 *
 * The site's executable section is decoded and scanned whole; the function
 * symbol (.symtab, else .dynsym) that covers the site gives the function
 * bounds. opts' func_start/func_size are ignored. plan->site is the file
 * offset.
 *
 * @return as bpftime_rw__plan(), plus -errno from opening the file and
 * -ENOENT when no executable section holds @p file_off.
 */
int bpftime_rw__plan_file(const char *path, uint64_t file_off, struct bpftime_rw_plan_opts *opts,
			  struct bpftime_rw_plan *plan);

/**
 * @brief Find the file offset of the function symbol @p name in @p path
 * (.symtab, else .dynsym), for tools and tests that name a function.
 * @return 0 and *file_off, *size; -ENOENT when absent; -errno otherwise.
 */
int bpftime_rw__elf_func_offset(const char *path, const char *name, uint64_t *file_off,
				uint64_t *size);

/* ---- applier (agent side, freestanding) ------------------------------- */

/*
 * One hook, in memory the caller provides (the agent allocates nothing).
 * All fields are private to the applier.
 */
struct bpftime_rw_hook {
	uint64_t site;       /* runtime address of the patch */
	uint64_t tramp;      /* the trampoline page, 0 when none */
	uint64_t tramp_size; /* bytes mapped */
	uint32_t prot;       /* the site pages' protection to restore */
	uint8_t patched;
	uint8_t pad[3];
	uint8_t orig[BPFTIME_RW_JMP_LEN + 3];
	uint8_t jmp[BPFTIME_RW_JMP_LEN + 3];
};

struct bpftime_rw_prepare_opts {
	size_t sz; /* sizeof(struct bpftime_rw_prepare_opts) */
	/* Protection of the page(s) holding the site, restored after each
	 * write; 0 means PROT_READ | PROT_EXEC. */
	uint32_t site_prot;
	/* BPFTIME_RW_PREPARE_* */
	uint32_t flags;
};

/* The handler touches no SSE or x87 state (it is built with
 * -mgeneral-regs-only, as the agent is): the trampoline does not save and
 * restore xmm0-15, 32 instructions fewer per hit. */
#define BPFTIME_RW_PREPARE_NO_FPU (1u << 0)

/**
 * @brief Build the trampoline for @p plan at runtime address @p site.
 *
 * Maps one page (raw mmap with MAP_FIXED_NOREPLACE hints, searched outward
 * from the site so that the jmp and every rel32 fix-up reach), writes the
 * register save, the call of @p fn(@p ctx, regs), the restore and the bound
 * template, then makes it read-only executable. The site is not touched.
 *
 * @return 0; -EINVAL for a malformed plan; -ENOMEM when no free page is in
 * reach; -ERANGE when a fix-up does not fit; -errno from mmap/mprotect.
 * Not thread-safe for the same @p hook; no libc, no allocation.
 */
int bpftime_rw__prepare(struct bpftime_rw_hook *hook, const struct bpftime_rw_plan *plan,
			uint64_t site, bpftime_rw_handler_fn fn, void *ctx,
			const struct bpftime_rw_prepare_opts *opts);

/**
 * @brief Write the jmp at the site, safely for threads running the code.
 *
 * Checks that the site holds the planned bytes, makes its page(s) RWX (not
 * RW: other threads may be executing them), writes the 5 bytes without a
 * torn instruction being visible (see rw-patch.c), serialises every core
 * (membarrier SYNC_CORE) and restores the protection.
 *
 * @return 0; -EALREADY when patched; -EILSEQ when the site's bytes differ
 * from the plan's; -EOPNOTSUPP when the site starts on the last byte of a
 * cache line; -errno from mprotect. Callers serialise patch and unpatch
 * calls on the same pages.
 */
int bpftime_rw__patch(struct bpftime_rw_hook *hook);

/**
 * @brief Restore the original bytes. The trampoline stays mapped: a thread
 * may still be inside it.
 * @return 0; -EALREADY when not patched; -EILSEQ when the site no longer
 * holds our jmp; -errno from mprotect.
 */
int bpftime_rw__unpatch(struct bpftime_rw_hook *hook);

/**
 * @brief Unpatch if needed and unmap the trampoline. Only when no thread
 * can be inside the trampoline (the agent decides: e.g. after a grace
 * period). Accepts a zeroed or half-prepared hook.
 * @return 0 or -errno.
 */
int bpftime_rw__release(struct bpftime_rw_hook *hook);

/**
 * @brief In a fork child, before anything else runs code: finish the
 * patch or unpatch the parent was writing behind its `jmp .` guard when it
 * forked (the child has no thread to finish it, and a thread of its that
 * reached the site would spin there forever).
 * @return 0 when none was in progress, 1 when it was finished, -EPERM when
 * the pages could not be made read-only again.
 */
int bpftime_rw__forked(void);

#ifdef __cplusplus
}
#endif

#endif /* BPFTIME_REWRITE_H */
