/* SPDX-License-Identifier: MIT */
/*
 * The planner's internals (supervisor side; libc and capstone allowed).
 *
 *   rw-plan.c   entry point: decode the displaced instructions, lay out the
 *               template (relocated insns, jmp back, literals), fill the plan
 *   rw-reloc.c  one displaced instruction -> relocated bytes + fix-ups
 *   rw-scan.c   linear sweeps: the site is an instruction boundary of its
 *               function; no direct branch lands inside the displaced range
 *   rw-elf.c    a probed file: section, function symbol, file offsets
 */
#ifndef BPFTIME_RW_PLAN_INTERNAL_H
#define BPFTIME_RW_PLAN_INTERNAL_H

#include <stdbool.h>
#include <capstone/capstone.h>

#include "bpftime/rewrite.h"

/* A "push [rip+lit]" whose 8-byte literal goes after the jmp back. */
struct rw_lit_ref {
	uint16_t disp_off; /* the push's disp32, in code[] */
	uint16_t end;      /* the push's end, in code[] */
	int64_t target;    /* the literal's value, site-relative */
};

struct rw_plan_ctx {
	csh cs;
	const uint8_t *code; /* the caller's buffer, not owned */
	size_t len;
	uint64_t addr; /* address of code[0] */
	uint64_t site;
	struct bpftime_rw_plan *plan;
	struct bpftime_rw_plan_opts *opts; /* may be NULL */
	struct rw_lit_ref lits[2];
	unsigned int nr_lits;
	bool ended; /* an unconditional jmp or ret was displaced */
};

/* Writes the reason to opts->errbuf; returns @err. */
int rw_refuse(struct rw_plan_ctx *pc, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int rw_emit(struct rw_plan_ctx *pc, const void *bytes, size_t n);
int rw_fixup(struct rw_plan_ctx *pc, uint16_t kind, size_t off, size_t end, int64_t target);
int rw_push_lit(struct rw_plan_ctx *pc, int64_t target);

int rw_reloc_insn(struct rw_plan_ctx *pc, const cs_insn *insn);

/* True, with the target, for jmp/jcc/call/loop/jrcxz/xbegin rel8/rel32. */
bool rw_rel_branch(const cs_insn *insn, uint64_t *target);

int rw_check_boundary(struct rw_plan_ctx *pc, uint64_t func_start);
int rw_scan_branches(struct rw_plan_ctx *pc, uint64_t n);

#endif /* BPFTIME_RW_PLAN_INTERNAL_H */
