// SPDX-License-Identifier: MIT
/*
 * The applier's trampoline (agent side, freestanding: raw syscalls, no libc,
 * no TLS, no allocation; checked by test/vm/runpath_symbols.sh).
 *
 * One page per hook, within rel32 reach of the site and of every fix-up
 * target of the plan:
 *
 *   +0     stub: save pt_regs + xmm0-15 (not with BPFTIME_RW_PREPARE_NO_FPU),
 *          call fn(ctx, regs), jnz to
 *          "return" if fn returned non-zero, restore
 *   +n8    the plan's template, 8-aligned (its literals need it), bound to
 *          this site: relocated insns, jmp site+orig_len, literals
 *   nonzero fn returned 2: the gate's and the displaced instructions'
 *          addresses into the red zone, the same restore, pop the return
 *          address, jmp to the gate (rewrite.h); else the same restore,
 *          then ret: pops the return address at the site's %rsp (fn's
 *          "return from the function now")
 *
 * Stack while the handler runs (the red zone of the probed code is kept):
 *
 *   entry %rsp ->  [128 bytes: red zone of the interrupted code, untouched]
 *                  struct bpftime_regs (ss at the top ... r15 at the bottom)
 *   %rbp       ->  r15
 *                  [0-15 bytes of alignment]
 *                  xmm0-15 (256 bytes, 16-aligned)
 *   %rsp       ->  (16-aligned at the call, as the SysV ABI wants)
 */
#include <errno.h>
#include <stdbool.h>

#include "bpftime/rewrite.h"
#include "rw-sys.h"

#define TRAMP_SIZE   RW_PAGE_SIZE
#define SEARCH_STEP  0x10000UL /* 64 KiB: mmap's usual granularity of holes */
#define SEARCH_TRIES 16384     /* x 64 KiB = 1 GiB each way */
#define REACH        0x7fffffffL

struct tbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int overflow;
};

static void put(struct tbuf *b, const uint8_t *bytes, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	rw_copy(b->p + b->len, bytes, n);
	b->len += n;
}

static void put64(struct tbuf *b, uint64_t v)
{
	uint8_t le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	put(b, le, 8);
}

/* movaps [rsp+16*i], xmm_i (op 0x29) or movaps xmm_i, [rsp+16*i] (0x28) */
static void put_xmm(struct tbuf *b, uint8_t op, unsigned int i)
{
	uint8_t insn[10], n = 0;
	uint32_t disp = 16 * i;

	if (i >= 8)
		insn[n++] = 0x44; /* REX.R: xmm8-15 */
	insn[n++] = 0x0f;
	insn[n++] = op;
	insn[n++] = (uint8_t)(((disp < 128) ? 0x44 : 0x84) | ((i & 7) << 3)); /* [SIB+disp] */
	insn[n++] = 0x24;                                                     /* SIB: base rsp */
	insn[n++] = (uint8_t)disp;
	if (disp >= 128) {
		insn[n++] = (uint8_t)(disp >> 8);
		insn[n++] = 0;
		insn[n++] = 0;
	}
	put(b, insn, n);
}

/* Build struct bpftime_regs on the stack, flags first touched after pushfq. */
static void emit_save(struct tbuf *b, uint64_t site, bool xmm)
{
	static const uint8_t save[] = {
	    0x48, 0x8d, 0x64, 0x24, 0x80, /* lea -0x80(%rsp),%rsp: over the red zone */
	    0x6a, 0x2b,                   /* push $0x2b             ss (__USER_DS) */
	    0x54,                         /* push %rsp              sp (fixed below) */
	    0x9c,                         /* pushfq                 flags */
	    0x6a, 0x33,                   /* push $0x33             cs (__USER_CS) */
	    0x6a, 0x00,                   /* push $0                ip (set below) */
	    0x6a, 0xff,                   /* push $-1               orig_ax */
	    0x57, 0x56, 0x52, 0x51, 0x50, /* push %rdi %rsi %rdx %rcx %rax */
	    0x41, 0x50, 0x41, 0x51,       /* push %r8 %r9 */
	    0x41, 0x52, 0x41, 0x53,       /* push %r10 %r11 */
	    0x53, 0x55,                   /* push %rbx %rbp */
	    0x41, 0x54, 0x41, 0x55,       /* push %r12 %r13 */
	    0x41, 0x56, 0x41, 0x57,       /* push %r14 %r15 */
	    /* addq $136,152(%rsp): push %rsp saw entry-128-8 */
	    0x48, 0x81, 0x84, 0x24, 0x98, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x48,
	    0xb8, /* movabs $site,%rax (imm64 follows) */
	};
	static const uint8_t set_ip[] = {
	    0x48, 0x89, 0x84, 0x24, 0x80, 0x00, 0x00, 0x00, /* mov %rax,128(%rsp)  ip */
	    0x48, 0x89, 0xe5,                               /* mov %rsp,%rbp       regs */
	    0x48, 0x83, 0xe4, 0xf0,                         /* and $-16,%rsp */
	};
	static const uint8_t xmm_area[] = {
	    0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00, /* sub $256,%rsp       xmm area */
	};
	unsigned int i;

	put(b, save, sizeof(save));
	put64(b, site);
	put(b, set_ip, sizeof(set_ip));
	if (!xmm)
		return;
	put(b, xmm_area, sizeof(xmm_area));
	for (i = 0; i < 16; i++)
		put_xmm(b, 0x29, i);
}

static void emit_call(struct tbuf *b, bpftime_rw_handler_fn fn, void *ctx)
{
	static const uint8_t args[] = {
	    0xfc,             /* cld: the ABI wants DF=0 at a call */
	    0x48, 0x89, 0xee, /* mov %rbp,%rsi       regs */
	    0x48, 0xbf,       /* movabs $ctx,%rdi */
	};
	static const uint8_t fn_op[] = {0x48, 0xb8}; /* movabs $fn,%rax */
	static const uint8_t call[] = {0xff, 0xd0};  /* call *%rax */

	put(b, args, sizeof(args));
	put64(b, (uint64_t)(uintptr_t)ctx);
	put(b, fn_op, sizeof(fn_op));
	put64(b, (uint64_t)(uintptr_t)fn);
	put(b, call, sizeof(call));
}

/* test %eax,%eax; jnz rel32: to the return path when the handler returned
 * non-zero. The rel32 is filled in by patch_jnz() once the path is placed.
 * @return the offset of the rel32 field in the trampoline. */
static size_t emit_test_jnz(struct tbuf *b)
{
	static const uint8_t test_jnz[] = {
	    0x85, 0xc0,                         /* test %eax,%eax */
	    0x0f, 0x85, 0x00, 0x00, 0x00, 0x00, /* jnz rel32 (set by patch_jnz) */
	};

	put(b, test_jnz, sizeof(test_jnz));
	return b->len - 4;
}

/* Return value 2 (rewrite.h): into the red zone below the site's %rsp
 * (regs + 296: 168 of regs, 128 of red zone), *(sp - 16) = regs->ip (the
 * gate) and *(sp - 8) = @code_addr; the restore follows, then pop; jmp.
 * cmp $2,%eax; jne rel32 first (to the override path: @return the offset
 * of its rel32, set by patch_jnz). */
static size_t emit_gate_setup(struct tbuf *b, uint64_t tramp, uint64_t code_addr)
{
	static const uint8_t cmp_jne[] = {
	    0x83, 0xf8, 0x02,                   /* cmp $2,%eax */
	    0x0f, 0x85, 0x00, 0x00, 0x00, 0x00, /* jne rel32 (set by patch_jnz) */
	};
	static const uint8_t gate[] = {
	    0x48, 0x8b, 0x85, 0x80, 0x00, 0x00, 0x00, /* mov 128(%rbp),%rax    ip: the gate */
	    0x48, 0x89, 0x85, 0x18, 0x01, 0x00, 0x00, /* mov %rax,280(%rbp)    sp - 16 */
	    0x48, 0x8d, 0x05,                         /* lea code(%rip),%rax (rel32 follows) */
	};
	static const uint8_t store_code[] = {
	    0x48, 0x89, 0x85, 0x20, 0x01, 0x00, 0x00, /* mov %rax,288(%rbp)    sp - 8 */
	};
	size_t jne;
	uint32_t rel;
	uint8_t le[4];
	unsigned int k;

	put(b, cmp_jne, sizeof(cmp_jne));
	jne = b->len - 4;
	put(b, gate, sizeof(gate));
	rel = (uint32_t)(code_addr - (tramp + b->len + 4));
	for (k = 0; k < 4; k++)
		le[k] = (uint8_t)(rel >> (8 * k));
	put(b, le, sizeof(le));
	put(b, store_code, sizeof(store_code));
	return jne;
}

static void emit_gate_jmp(struct tbuf *b)
{
	static const uint8_t pop_jmp[] = {
	    0x48, 0x8d, 0x64, 0x24, 0x08, /* lea 8(%rsp),%rsp      the return address */
	    0xff, 0x64, 0x24, 0xe8,       /* jmp *-24(%rsp)        the gate */
	};

	put(b, pop_jmp, sizeof(pop_jmp));
}

static void patch_jnz(struct tbuf *b, size_t field, size_t target)
{
	uint32_t rel = (uint32_t)(target - (field + 4));
	unsigned int k;

	if (b->overflow)
		return;
	for (k = 0; k < 4; k++)
		b->p[field + k] = (uint8_t)(rel >> (8 * k));
}

/*
 * The flags without popfq, which is microcoded (it may change IF, AC,
 * TF...; ~4 ns in a loop here, ~1 ns of a hit). What the handler can
 * change are the arithmetic flags and DF (cld before the call; C code keeps DF 0): sahf
 * puts back SF ZF AF PF CF from the saved low byte, add %cl,%cl sets OF
 * to the saved bit 11 (0x80 + 0x80 overflows, 0 + 0 does not; its other
 * flags are overwritten by sahf), std puts back a set DF. TF, AC and the
 * rest were never changed. Runs after the pops of r15..r8, so %rsp points
 * at the saved ax; rax and rcx are scratch until their pops.
 */
static void emit_flags_sahf(struct tbuf *b)
{
	static const uint8_t flags[] = {
	    0xf6, 0x44, 0x24, 0x41, 0x04, /* testb $0x04,65(%rsp)   DF (bit 10) */
	    0x74, 0x01,                   /* jz 1f */
	    0xfd,                         /* std */
	    0x8a, 0x4c, 0x24, 0x41,       /* 1: mov 65(%rsp),%cl  bits 8-15 */
	    0xc0, 0xe1, 0x04,             /* shl $4,%cl            OF (bit 11) to bit 7 */
	    0x80, 0xe1, 0x80,             /* and $0x80,%cl */
	    0x00, 0xc9,                   /* add %cl,%cl           OF */
	    0x8a, 0x64, 0x24, 0x40,       /* mov 64(%rsp),%ah      bits 0-7 */
	    0x9e,                         /* sahf                  SF ZF AF PF CF */
	};

	put(b, flags, sizeof(flags));
}

static void emit_restore(struct tbuf *b, bool xmm, bool sahf)
{
	static const uint8_t restore_hi[] = {
	    0x48, 0x89, 0xec,       /* mov %rbp,%rsp */
	    0x41, 0x5f, 0x41, 0x5e, /* pop %r15 %r14 */
	    0x41, 0x5d, 0x41, 0x5c, /* pop %r13 %r12 */
	    0x5d, 0x5b,             /* pop %rbp %rbx */
	    0x41, 0x5b, 0x41, 0x5a, /* pop %r11 %r10 */
	    0x41, 0x59, 0x41, 0x58, /* pop %r9 %r8 */
	};
	static const uint8_t restore_lo[] = {
	    0x58, 0x59, 0x5a, 0x5e, 0x5f, /* pop %rax %rcx %rdx %rsi %rdi */
	};
	static const uint8_t popf[] = {
	    0x48,
	    0x8d,
	    0x64,
	    0x24,
	    0x18, /* lea 24(%rsp),%rsp: orig_ax, ip, cs */
	    0x9d, /* popfq */
	    /* lea 144(%rsp),%rsp: sp, ss and the red zone; flags untouched */
	    0x48,
	    0x8d,
	    0xa4,
	    0x24,
	    0x90,
	    0x00,
	    0x00,
	    0x00,
	};
	static const uint8_t skip[] = {
	    /* lea 176(%rsp),%rsp: orig_ax, ip, cs, flags, sp, ss, red zone */
	    0x48, 0x8d, 0xa4, 0x24, 0xb0, 0x00, 0x00, 0x00,
	};
	unsigned int i;

	for (i = 0; xmm && i < 16; i++)
		put_xmm(b, 0x28, i);
	put(b, restore_hi, sizeof(restore_hi));
	if (sahf)
		emit_flags_sahf(b);
	put(b, restore_lo, sizeof(restore_lo));
	if (sahf)
		put(b, skip, sizeof(skip));
	else
		put(b, popf, sizeof(popf));
}

/* LAHF/SAHF in 64-bit mode (CPUID 0x80000001 ECX bit 0): every x86-64 CPU
 * but the first Athlon 64s and Pentium 4s. */
static bool have_sahf(void)
{
	uint32_t a = 0x80000000u, bx, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(bx), "+c"(c), "=d"(d));
	if (a < 0x80000001u)
		return false;
	a = 0x80000001u;
	c = 0;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(bx), "+c"(c), "=d"(d));
	return c & 1;
}

/* The plan comes from shared memory: every length and offset is checked
 * before it is used. */
static int check_plan(const struct bpftime_rw_plan *plan)
{
	unsigned int i;

	if (plan->size != sizeof(*plan) || plan->version != BPFTIME_RW_PLAN_VERSION || plan->flags)
		return -EINVAL;
	if (plan->orig_len < BPFTIME_RW_JMP_LEN || plan->orig_len > BPFTIME_RW_ORIG_MAX ||
	    plan->code_len > BPFTIME_RW_CODE_MAX || plan->nr_fixups > BPFTIME_RW_FIXUP_MAX)
		return -EINVAL;
	if (plan->reach_min > 0 || plan->reach_max < plan->orig_len || plan->reach_min < -REACH ||
	    plan->reach_max > REACH)
		return -EINVAL;
	for (i = 0; i < plan->nr_fixups; i++) {
		const struct bpftime_rw_fixup *f = &plan->fixups[i];

		/* the field, and for REL32 its insn end, lie inside code_len */
		if (f->kind == BPFTIME_RW_FIXUP_REL32) {
			if (f->off + 4u > f->end || f->end > plan->code_len)
				return -EINVAL;
		} else if (f->kind != BPFTIME_RW_FIXUP_ABS64 || f->off + 8u > plan->code_len) {
			return -EINVAL;
		}
		if (f->target < plan->reach_min || f->target > plan->reach_max)
			return -EINVAL;
	}
	return 0;
}

static int bind_fixups(uint8_t *code, uint64_t code_addr, const struct bpftime_rw_plan *plan,
		       uint64_t site)
{
	unsigned int i, k;

	for (i = 0; i < plan->nr_fixups; i++) {
		const struct bpftime_rw_fixup *f = &plan->fixups[i];
		uint64_t abs = site + (uint64_t)f->target;
		int64_t rel = (int64_t)(abs - (code_addr + f->end));
		unsigned int n = f->kind == BPFTIME_RW_FIXUP_ABS64 ? 8 : 4;
		uint64_t v = n == 8 ? abs : (uint64_t)rel;

		if (n == 4 && (rel > REACH || rel < -REACH - 1))
			return -ERANGE;
		for (k = 0; k < n; k++)
			code[f->off + k] = (uint8_t)(v >> (8 * k));
	}
	return 0;
}

/* Try one address; 1 when mapped there, 0 to try another, -errno to stop. */
static int try_map(uint64_t cand)
{
	long r = rw_map_at(cand, TRAMP_SIZE);

	if (!r)
		return 1;
	return (r == -EEXIST || r == -ENOMEM || r == -EPERM) ? 0 : (int)r;
}

/* Outward from the site, in [lo, hi]: the nearest free 64 KiB slot. */
static int map_near(uint64_t site, const struct bpftime_rw_plan *plan, uint64_t *out)
{
	int64_t s = (int64_t)site;
	int64_t lo = s + plan->reach_max - REACH + 2 * (int64_t)TRAMP_SIZE;
	int64_t hi = s + plan->reach_min + REACH - 2 * (int64_t)TRAMP_SIZE;
	int64_t base = (int64_t)(site & ~(SEARCH_STEP - 1));
	int64_t i;
	int r;

	if (lo < (int64_t)SEARCH_STEP)
		lo = SEARCH_STEP; /* below vm.mmap_min_addr */
	for (i = 1; i <= SEARCH_TRIES; i++) {
		int64_t down = base - i * (int64_t)SEARCH_STEP;
		int64_t up = base + i * (int64_t)SEARCH_STEP;

		if (down < lo && up > hi)
			break;
		r = down >= lo ? try_map((uint64_t)down) : 0;
		if (r == 1) {
			*out = (uint64_t)down;
			return 0;
		}
		if (!r && up <= hi)
			r = try_map((uint64_t)up);
		if (r == 1) {
			*out = (uint64_t)up;
			return 0;
		}
		if (r < 0)
			return r;
	}
	return -ENOMEM;
}

static int fill_tramp(struct bpftime_rw_hook *hook, const struct bpftime_rw_plan *plan,
		      bpftime_rw_handler_fn fn, void *ctx, bool xmm)
{
	bool sahf = have_sahf();
	struct tbuf b = {.p = (uint8_t *)(uintptr_t)hook->tramp, .cap = TRAMP_SIZE};
	static const uint8_t nops[8] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
	static const uint8_t ret[] = {0xc3};
	uint64_t code_addr;
	size_t jnz, jne;

	emit_save(&b, hook->site, xmm);
	emit_call(&b, fn, ctx);
	jnz = emit_test_jnz(&b);
	emit_restore(&b, xmm, sahf);
	put(&b, nops, (8 - b.len % 8) % 8); /* falls through into the template */
	code_addr = hook->tramp + b.len;
	put(&b, plan->code, plan->code_len);
	/* The handler returned 2: the displaced instructions are called
	 * through its gate (rewrite.h). */
	patch_jnz(&b, jnz, b.len);
	jne = emit_gate_setup(&b, hook->tramp, code_addr);
	emit_restore(&b, xmm, sahf);
	emit_gate_jmp(&b);
	/* Anything else non-zero: the same restore (ax as the handler left
	 * it), then ret at the site's %rsp instead of the displaced
	 * instructions, as the kernel's override_function_with_return(). */
	patch_jnz(&b, jne, b.len);
	emit_restore(&b, xmm, sahf);
	put(&b, ret, sizeof(ret));
	if (b.overflow)
		return -E2BIG;
	return bind_fixups(b.p + (code_addr - hook->tramp), code_addr, plan, hook->site);
}

static void make_jmp(struct bpftime_rw_hook *hook, const struct bpftime_rw_plan *plan)
{
	int32_t rel = (int32_t)(int64_t)(hook->tramp - (hook->site + BPFTIME_RW_JMP_LEN));
	unsigned int k;

	hook->jmp[0] = 0xe9; /* jmp rel32 to the trampoline */
	for (k = 0; k < 4; k++)
		hook->jmp[1 + k] = (uint8_t)((uint32_t)rel >> (8 * k));
	rw_copy(hook->orig, plan->orig, BPFTIME_RW_JMP_LEN);
}

int bpftime_rw__prepare(struct bpftime_rw_hook *hook, const struct bpftime_rw_plan *plan,
			uint64_t site, bpftime_rw_handler_fn fn, void *ctx,
			const struct bpftime_rw_prepare_opts *opts)
{
	uint64_t tramp = 0;
	int err;

	if (!hook || !plan || !fn || !site || (opts && opts->sz < sizeof(*opts)))
		return -EINVAL;
	err = check_plan(plan);
	if (err)
		return err;
	rw_zero(hook, sizeof(*hook));
	hook->site = site;
	hook->prot = (opts && opts->site_prot) ? opts->site_prot : RW_PROT_READ | RW_PROT_EXEC;
	err = map_near(site, plan, &tramp);
	if (err)
		return err;
	hook->tramp = tramp;
	hook->tramp_size = TRAMP_SIZE;
	err = fill_tramp(hook, plan, fn, ctx, !(opts && (opts->flags & BPFTIME_RW_PREPARE_NO_FPU)));
	if (!err)
		err = (int)rw_mprotect(tramp, TRAMP_SIZE, RW_PROT_READ | RW_PROT_EXEC);
	if (err)
		goto err_unmap;
	make_jmp(hook, plan);
	/* SYNC_CORE needs registering once per process; -EINVAL on kernels
	 * without it, where patching still works (see rw-patch.c). */
	rw_membarrier(RW_MEMBARRIER_REG_SYNC_CORE);
	return 0;
err_unmap:
	rw_munmap(tramp, TRAMP_SIZE);
	rw_zero(hook, sizeof(*hook));
	return err;
}
