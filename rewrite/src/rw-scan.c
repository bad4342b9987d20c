// SPDX-License-Identifier: MIT
/*
 * Linear sweeps over the code around a site.
 *
 * What is checked, and what cannot be:
 *  - boundary: decoding the function from its first byte lands on the site
 *    (only when the function's bounds are known, from its symbol);
 *  - branches: every direct branch (jmp, jcc, call, loop, jrcxz, xbegin)
 *    decoded in the whole buffer (a section, for plan_file) must not land
 *    on bytes 1..n-1 of the patch: once patched they hold the jmp's rel32.
 *    The buffer includes the displaced instructions themselves, and a
 *    branch among them back to byte 0 (a loop inside the patch) is refused
 *    too: a thread spinning in it would be inside the patch when it lands.
 *  - not seen: indirect targets (switch tables, computed gotos, exception
 *    landing pads, longjmp), and code outside the buffer; a linear sweep can
 *    also mis-decode data in .text, which can only cause a false refusal
 *    (never a missed decoded branch inside the function, whose sweep is
 *    anchored at its start).
 */
#include <errno.h>

#include "rw-plan-internal.h"

/* Undecodable byte: step over it, as objdump does, and resynchronise. */
static bool next_insn(struct rw_plan_ctx *pc, const uint8_t **p, size_t *left, uint64_t *a,
		      cs_insn *insn)
{
	while (*left) {
		if (cs_disasm_iter(pc->cs, p, left, a, insn))
			return true;
		(*p)++;
		(*left)--;
		(*a)++;
	}
	return false;
}

int rw_check_boundary(struct rw_plan_ctx *pc, uint64_t func_start)
{
	const uint8_t *p = pc->code + (func_start - pc->addr);
	size_t left = pc->len - (func_start - pc->addr);
	uint64_t a = func_start;
	cs_insn *insn = cs_malloc(pc->cs);
	int err = 0;

	if (!insn)
		return -ENOMEM;
	/* decode [func_start, site): the last insn must end exactly at site */
	while (a < pc->site) {
		if (!cs_disasm_iter(pc->cs, &p, &left, &a, insn))
			break;
	}
	if (a != pc->site)
		err =
		    rw_refuse(pc, -EOPNOTSUPP,
			      "site %#lx is not an instruction boundary of the function at %#lx "
			      "(decoding from its start reaches %#lx)",
			      (unsigned long)pc->site, (unsigned long)func_start, (unsigned long)a);
	cs_free(insn, 1);
	return err;
}

int rw_scan_branches(struct rw_plan_ctx *pc, uint64_t n)
{
	const uint8_t *p = pc->code;
	size_t left = pc->len;
	uint64_t a = pc->addr, target;
	cs_insn *insn = cs_malloc(pc->cs);
	int err = 0;

	if (!insn)
		return -ENOMEM;
	while (next_insn(pc, &p, &left, &a, insn)) {
		if (pc->opts)
			pc->opts->scanned_insns++;
		if (!rw_rel_branch(insn, &target))
			continue;
		if (target > pc->site && target < pc->site + n) {
			err = rw_refuse(pc, -EOPNOTSUPP,
					"site %#lx: '%s %s' at %#lx branches to site+%lu, inside "
					"the %lu bytes the jmp displaces",
					(unsigned long)pc->site, insn->mnemonic, insn->op_str,
					(unsigned long)insn->address,
					(unsigned long)(target - pc->site), (unsigned long)n);
			break;
		}
		/* a loop within the displaced bytes (e.g. "sub $1,%rdi; jnz site"):
		 * a thread spinning in it is at an instruction inside the patch
		 * when the jmp lands, and runs the jmp's rel32 as code. The
		 * kernel's one-byte int3 has no such window; our patch does. */
		if (insn->address > pc->site && insn->address < pc->site + n &&
		    target >= pc->site && target < pc->site + n) {
			err = rw_refuse(pc, -EOPNOTSUPP,
					"site %#lx: '%s %s' at site+%lu loops back to site+%lu: "
					"a thread running the loop would execute the middle of "
					"the jmp that replaces these %lu bytes",
					(unsigned long)pc->site, insn->mnemonic, insn->op_str,
					(unsigned long)(insn->address - pc->site),
					(unsigned long)(target - pc->site), (unsigned long)n);
			break;
		}
	}
	cs_free(insn, 1);
	return err;
}
