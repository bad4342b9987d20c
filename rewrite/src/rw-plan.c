// SPDX-License-Identifier: MIT
/*
 * The planner: which instructions a 5-byte jmp at a site displaces, and the
 * template the agent copies into its trampoline to run them elsewhere.
 *
 * Template layout (code[] of the plan; offsets are fixed at plan time):
 *
 *   relocated insn 0          each as rw-reloc.c rewrites it
 *   ...
 *   jmp site+n                E9 rel32, REL32 fix-up to target n
 *   (pad to 8)
 *   literal 0                 8 bytes, ABS64 fix-up (a call's return address)
 *
 * The agent binds the fix-ups once per process; nothing in the template
 * depends on where the planner saw the code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rw-plan-internal.h"

_Static_assert(sizeof(struct bpftime_rw_fixup) == 16, "fix-up layout crosses processes");
_Static_assert(sizeof(struct bpftime_rw_plan) ==
		   40 + BPFTIME_RW_ORIG_MAX + BPFTIME_RW_CODE_MAX + 16 * BPFTIME_RW_FIXUP_MAX,
	       "plan layout crosses processes");
_Static_assert(offsetof(struct bpftime_rw_plan, orig) == 40, "plan layout crosses processes");
_Static_assert(BPFTIME_RW_CODE_MAX <= 255, "code_len is a byte");

int rw_refuse(struct rw_plan_ctx *pc, int err, const char *fmt, ...)
{
	va_list ap;

	if (!pc->opts || !pc->opts->errbuf || !pc->opts->errbuf_sz)
		return err;
	va_start(ap, fmt);
	vsnprintf(pc->opts->errbuf, pc->opts->errbuf_sz, fmt, ap);
	va_end(ap);
	return err;
}

int rw_emit(struct rw_plan_ctx *pc, const void *bytes, size_t n)
{
	struct bpftime_rw_plan *plan = pc->plan;

	/* code_len + n <= CODE_MAX: the template never outgrows the plan */
	if (plan->code_len + n > BPFTIME_RW_CODE_MAX)
		return rw_refuse(pc, -EOPNOTSUPP, "site %#lx: relocated code exceeds %d bytes",
				 (unsigned long)pc->site, BPFTIME_RW_CODE_MAX);
	memcpy(plan->code + plan->code_len, bytes, n);
	plan->code_len += n;
	return 0;
}

int rw_fixup(struct rw_plan_ctx *pc, uint16_t kind, size_t off, size_t end, int64_t target)
{
	struct bpftime_rw_plan *plan = pc->plan;
	struct bpftime_rw_fixup *f;

	if (plan->nr_fixups >= BPFTIME_RW_FIXUP_MAX)
		return rw_refuse(pc, -EOPNOTSUPP, "site %#lx: more than %d fix-ups",
				 (unsigned long)pc->site, BPFTIME_RW_FIXUP_MAX);
	f = &plan->fixups[plan->nr_fixups++];
	f->kind = kind;
	f->off = off;
	f->end = end;
	f->target = target;
	if (target < plan->reach_min)
		plan->reach_min = target;
	if (target > plan->reach_max)
		plan->reach_max = target;
	return 0;
}

/* push qword [rip+lit]: the literal is placed (and its disp set) at the end. */
int rw_push_lit(struct rw_plan_ctx *pc, int64_t target)
{
	static const uint8_t push[] = {0xff, 0x35, 0, 0, 0, 0}; /* push [rip+0] */
	struct rw_lit_ref *ref;
	int err;

	if (pc->nr_lits >= sizeof(pc->lits) / sizeof(pc->lits[0]))
		return rw_refuse(pc, -EOPNOTSUPP, "site %#lx: too many literals",
				 (unsigned long)pc->site);
	ref = &pc->lits[pc->nr_lits++];
	ref->disp_off = pc->plan->code_len + 2;
	err = rw_emit(pc, push, sizeof(push));
	ref->end = pc->plan->code_len;
	ref->target = target;
	return err;
}

/* jmp site+n, then the literals the pushes refer to. */
static int finish_template(struct rw_plan_ctx *pc)
{
	static const uint8_t jmp[] = {0xe9, 0, 0, 0, 0}; /* jmp site+n */
	static const uint8_t zero[8];
	struct bpftime_rw_plan *plan = pc->plan;
	unsigned int i;
	int err;

	if (!pc->ended) {
		err = rw_emit(pc, jmp, sizeof(jmp));
		if (!err)
			err = rw_fixup(pc, BPFTIME_RW_FIXUP_REL32, plan->code_len - 4,
				       plan->code_len, plan->orig_len);
		if (err)
			return err;
	}
	for (i = 0; i < pc->nr_lits; i++) {
		struct rw_lit_ref *ref = &pc->lits[i];
		int32_t disp;

		/* pad to 8: the agent places code[] 8-aligned, so literals are too */
		err = rw_emit(pc, zero, (8 - plan->code_len % 8) % 8);
		if (err)
			return err;
		disp = (int32_t)(plan->code_len - ref->end);
		memcpy(plan->code + ref->disp_off, &disp, 4);
		err = rw_emit(pc, zero, 8);
		if (!err)
			err = rw_fixup(pc, BPFTIME_RW_FIXUP_ABS64, plan->code_len - 8, 0,
				       ref->target);
		if (err)
			return err;
	}
	return 0;
}

/* Decode from the site until at least 5 bytes of whole instructions. */
static int displace(struct rw_plan_ctx *pc)
{
	struct bpftime_rw_plan *plan = pc->plan;
	uint64_t off = pc->site - pc->addr;
	cs_insn *insn = cs_malloc(pc->cs);
	int err = 0;

	if (!insn)
		return -ENOMEM;
	while (plan->orig_len < BPFTIME_RW_JMP_LEN) {
		const uint8_t *p = pc->code + off + plan->orig_len;
		size_t left = pc->len - off - plan->orig_len;
		uint64_t a = pc->site + plan->orig_len;

		if (pc->ended) {
			err = rw_refuse(
			    pc, -EOPNOTSUPP,
			    "site %#lx: an unconditional jmp/ret at site+%u is followed by "
			    "displaced bytes, reachable only by a jump into the patch",
			    (unsigned long)pc->site, plan->orig_len - 1);
			break;
		}
		if (!cs_disasm_iter(pc->cs, &p, &left, &a, insn)) {
			err = rw_refuse(pc, -ENOEXEC, "site %#lx: no valid instruction at site+%u",
					(unsigned long)pc->site, plan->orig_len);
			break;
		}
		err = rw_reloc_insn(pc, insn);
		if (err)
			break;
		memcpy(plan->orig + plan->orig_len, insn->bytes, insn->size);
		plan->orig_len += insn->size;
		plan->nr_insns++;
	}
	cs_free(insn, 1);
	return err;
}

static int check_args(const void *code, size_t code_len, uint64_t code_addr, uint64_t site_addr,
		      struct bpftime_rw_plan_opts *opts, struct bpftime_rw_plan *plan)
{
	if (!code || !plan || site_addr < code_addr || site_addr - code_addr >= code_len)
		return -EINVAL;
	if (code_addr + code_len < code_addr)
		return -EINVAL;
	if (opts && opts->sz < sizeof(*opts))
		return -EINVAL;
	return 0;
}

/* Before decoding at the site: is it inside its function, on a boundary? */
static int check_func_start(struct rw_plan_ctx *pc)
{
	struct bpftime_rw_plan_opts *o = pc->opts;
	uint64_t end;

	if (!o || !o->func_size)
		return 0;
	end = o->func_start + o->func_size;
	if (pc->site < o->func_start || pc->site >= end)
		return rw_refuse(pc, -EINVAL, "site %#lx is outside its function [%#lx, %#lx)",
				 (unsigned long)pc->site, (unsigned long)o->func_start,
				 (unsigned long)end);
	/* the function's bytes are what the boundary sweep decodes */
	if (o->func_start < pc->addr || end > pc->addr + pc->len)
		return rw_refuse(pc, -EINVAL, "function [%#lx, %#lx) is not inside the code given",
				 (unsigned long)o->func_start, (unsigned long)end);
	return rw_check_boundary(pc, o->func_start);
}

/* After: the displaced bytes must not spill into the next function. */
static int check_func_end(struct rw_plan_ctx *pc)
{
	struct bpftime_rw_plan_opts *o = pc->opts;

	if (!o || !o->func_size || pc->site + pc->plan->orig_len <= o->func_start + o->func_size)
		return 0;
	return rw_refuse(pc, -EOPNOTSUPP,
			 "site %#lx: the %u displaced bytes run past the end of the %lu-byte "
			 "function at %#lx",
			 (unsigned long)pc->site, pc->plan->orig_len, (unsigned long)o->func_size,
			 (unsigned long)o->func_start);
}

static int plan_site(struct rw_plan_ctx *pc)
{
	int err;

	err = check_func_start(pc);
	if (!err)
		err = displace(pc);
	if (!err)
		err = check_func_end(pc);
	if (!err)
		err = rw_scan_branches(pc, pc->plan->orig_len);
	if (!err)
		err = finish_template(pc);
	return err;
}

int bpftime_rw__plan(const void *code, size_t code_len, uint64_t code_addr, uint64_t site_addr,
		     struct bpftime_rw_plan_opts *opts, struct bpftime_rw_plan *plan)
{
	struct rw_plan_ctx pc = {0};
	int err;

	err = check_args(code, code_len, code_addr, site_addr, opts, plan);
	if (err)
		return err;
	if (opts && opts->errbuf && opts->errbuf_sz)
		opts->errbuf[0] = '\0';
	memset(plan, 0, sizeof(*plan));
	plan->size = sizeof(*plan);
	plan->version = BPFTIME_RW_PLAN_VERSION;
	plan->site = site_addr;
	plan->reach_min = 0;
	plan->reach_max = BPFTIME_RW_JMP_LEN;

	pc = (struct rw_plan_ctx){.code = code,
				  .len = code_len,
				  .addr = code_addr,
				  .site = site_addr,
				  .plan = plan,
				  .opts = opts};
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &pc.cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(pc.cs, CS_OPT_DETAIL, CS_OPT_ON);
	err = plan_site(&pc);
	cs_close(&pc.cs);
	if (!err && plan->orig_len > plan->reach_max)
		plan->reach_max = plan->orig_len;
	if (err)
		memset(plan, 0, sizeof(*plan));
	return err;
}
