// SPDX-License-Identifier: MIT
/*
 * Relocating one displaced instruction into the template.
 *
 * The template runs at another address, so anything that depends on the
 * instruction's own address is rewritten; addresses are fix-ups relative to
 * the site, bound by the agent:
 *
 *   rip-relative memory operand  copied; disp32 re-aimed (REL32 fix-up). The
 *                                agent puts the trampoline where it fits.
 *   jmp rel8/rel32               jmp rel32 to the original target
 *   jcc rel8/rel32               jcc rel32 to the original target
 *   loop*, jrcxz, jecxz          op +2; jmp +5; jmp rel32 target (they
 *                                have no rel32 form)
 *   call rel32                   push [rip+lit]; jmp rel32 target, lit =
 *                                the original return address: the callee,
 *                                unwinders and "call; pop" tricks see the
 *                                address they would have seen
 *   call r/m (incl. [rip+d])     push [rip+lit]; jmp r/m; or, when the
 *                                return address is inside the jmp's 5
 *                                bytes (call %rax at site+1), a plain call
 *                                from the trampoline that returns into it
 *
 * Refused: xbegin (its abort path and the transaction would start in the
 * trampoline), traps whose reported address would be the trampoline's
 * (int3, int n, int1, into, ud0/1/2, hlt and privileged insns), far
 * transfers, rel16 branches (0x66), indirect calls through %rsp (the push
 * would move the operand), and branches into the displaced range itself.
 * Refused too: syscall and sysenter. Every displaced instruction starts
 * inside the jmp's 5 bytes, and so would the user ip of a thread asleep in
 * that syscall when the jmp is written: it returns after the syscall, or,
 * when a signal restarts the call, the kernel rewinds it to the syscall
 * itself (ip -= 2, as for every -ERESTART* return), and either way it
 * would run the middle of the jmp. Such threads are in the kernel, so
 * parking cannot move them; the kernel's one-byte int3 never covers them.
 */
#include <errno.h>
#include <string.h>

#include "rw-plan-internal.h"

static bool is_loop_op(uint8_t op)
{
	return op >= 0xe0 && op <= 0xe3; /* loopne, loope, loop, jrcxz */
}

bool rw_rel_branch(const cs_insn *insn, uint64_t *target)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t op = x->opcode[0];
	bool rel;

	if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	rel = op == 0xeb || op == 0xe9 || op == 0xe8 || (op >= 0x70 && op <= 0x7f) ||
	      is_loop_op(op) || (op == 0x0f && (x->opcode[1] & 0xf0) == 0x80) ||
	      (op == 0xc7 && x->modrm == 0xf8);
	if (rel)
		*target = (uint64_t)x->operands[0].imm;
	return rel;
}

static uint16_t here(struct rw_plan_ctx *pc)
{
	return pc->plan->code_len;
}

/* E9 rel32 to a site-relative target. */
static int emit_jmp(struct rw_plan_ctx *pc, int64_t target)
{
	static const uint8_t jmp[] = {0xe9, 0, 0, 0, 0};
	int err = rw_emit(pc, jmp, sizeof(jmp));

	return err ?: rw_fixup(pc, BPFTIME_RW_FIXUP_REL32, here(pc) - 4, here(pc), target);
}

static int reloc_loop(struct rw_plan_ctx *pc, const cs_insn *insn, int64_t target)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t seq[5], n = 0;
	int err;

	if (x->prefix[3] == 0x67)
		seq[n++] = 0x67; /* jecxz / loop on %ecx */
	seq[n++] = x->opcode[0];
	seq[n++] = 0x02; /* taken: over the jmp below, onto the jmp rel32 */
	seq[n++] = 0xeb; /* not taken: jmp +5, past the jmp rel32 */
	seq[n++] = 0x05;
	err = rw_emit(pc, seq, n);
	return err ?: emit_jmp(pc, target);
}

static int reloc_jcc(struct rw_plan_ctx *pc, uint8_t cc, int64_t target)
{
	uint8_t jcc[] = {0x0f, (uint8_t)(0x80 | cc), 0, 0, 0, 0}; /* jcc rel32 */
	int err = rw_emit(pc, jcc, sizeof(jcc));

	return err ?: rw_fixup(pc, BPFTIME_RW_FIXUP_REL32, here(pc) - 4, here(pc), target);
}

static int reloc_branch(struct rw_plan_ctx *pc, const cs_insn *insn, uint64_t abs_target)
{
	const cs_x86 *x = &insn->detail->x86;
	int64_t target = (int64_t)(abs_target - pc->site);
	int64_t start = (int64_t)(insn->address - pc->site);
	uint8_t op = x->opcode[0];

	if (x->prefix[2] == 0x66 || x->prefix[0] == 0xf0)
		return rw_refuse(pc, -EOPNOTSUPP, "%#lx: '%s %s': prefixed branch not moved",
				 (unsigned long)insn->address, insn->mnemonic, insn->op_str);
	if (op == 0xc7)
		return rw_refuse(pc, -EOPNOTSUPP,
				 "%#lx: xbegin cannot be moved: the transaction and its abort "
				 "path would start in the trampoline",
				 (unsigned long)insn->address);
	/* A target inside bytes 1..n-1 of the patch is refused by the branch
	 * scan, which also decodes the displaced insns; 0 is the site itself. */
	if (op == 0xe8) {
		/* 5 bytes: its return address is past the jmp, in original code */
		int err = rw_push_lit(pc, start + insn->size);

		pc->ended = true; /* the callee returns to site+n, not to us */
		return err ?: emit_jmp(pc, target);
	}
	if (op == 0xeb || op == 0xe9) {
		pc->ended = true;
		return emit_jmp(pc, target);
	}
	if (is_loop_op(op))
		return reloc_loop(pc, insn, target);
	if (op == 0x0f)
		return reloc_jcc(pc, x->opcode[1] & 0x0f, target);
	return reloc_jcc(pc, op & 0x0f, target);
}

static bool is_rip_relative(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t i;

	for (i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
			return true;
	return false;
}

/* Copy the bytes; re-aim a rip-relative disp32 at the same absolute target. */
static int copy_insn(struct rw_plan_ctx *pc, const cs_insn *insn, const uint8_t *bytes)
{
	const cs_x86 *x = &insn->detail->x86;
	uint16_t start = here(pc);
	int64_t orig_end = (int64_t)(insn->address + insn->size - pc->site);
	int err;

	err = rw_emit(pc, bytes, insn->size);
	if (err || !is_rip_relative(insn))
		return err;
	if (x->encoding.disp_size != 4 || !x->encoding.disp_offset)
		return rw_refuse(pc, -EOPNOTSUPP, "%#lx: '%s %s': no disp32 to re-aim",
				 (unsigned long)insn->address, insn->mnemonic, insn->op_str);
	/* disp32 is relative to the insn's end, also with an imm after it */
	return rw_fixup(pc, BPFTIME_RW_FIXUP_REL32, start + x->encoding.disp_offset,
			start + insn->size, orig_end + x->disp);
}

static bool uses_rsp(const cs_x86 *x)
{
	const cs_x86_op *o = &x->operands[0];

	if (o->type == X86_OP_REG)
		return o->reg == X86_REG_RSP;
	return o->type == X86_OP_MEM && (o->mem.base == X86_REG_RSP || o->mem.index == X86_REG_RSP);
}

/* call r/m -> push [rip+lit]; jmp r/m (FF /2 -> FF /4), lit = return address */
static int reloc_indirect_call(struct rw_plan_ctx *pc, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	int64_t ret_off = (int64_t)(insn->address + insn->size - pc->site);
	uint8_t bytes[16];
	int err;

	if (uses_rsp(x) || !x->encoding.modrm_offset)
		return rw_refuse(pc, -EOPNOTSUPP,
				 "%#lx: '%s %s': an indirect call through %%rsp is not moved",
				 (unsigned long)insn->address, insn->mnemonic, insn->op_str);
	/* A return address inside the jmp's 5 bytes would land in its rel32:
	 * call from the trampoline instead, which returns into the relocated
	 * copy of what follows (the callee sees a trampoline address). */
	if (ret_off < BPFTIME_RW_JMP_LEN)
		return copy_insn(pc, insn, insn->bytes);
	memcpy(bytes, insn->bytes, insn->size);
	bytes[x->encoding.modrm_offset] = (uint8_t)((x->modrm & ~0x38) | (4 << 3));
	err = rw_push_lit(pc, ret_off);
	pc->ended = true;
	return err ?: copy_insn(pc, insn, bytes);
}

static bool has_group(const cs_insn *insn, uint8_t group)
{
	uint8_t i;

	for (i = 0; i < insn->detail->groups_count; i++)
		if (insn->detail->groups[i] == group)
			return true;
	return false;
}

static bool is_trap(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_INT3:
	case X86_INS_INT:
	case X86_INS_INT1:
	case X86_INS_INTO:
	case X86_INS_UD0:
	case X86_INS_UD2B: /* ud1 */
	case X86_INS_UD2:
	case X86_INS_HLT:
		return true;
	default:
		return has_group(insn, X86_GRP_PRIVILEGE) || has_group(insn, X86_GRP_IRET);
	}
}

static bool is_far(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t reg = (x->modrm >> 3) & 7;

	if (insn->id == X86_INS_LCALL || insn->id == X86_INS_LJMP || insn->id == X86_INS_RETF)
		return true;
	return x->opcode[0] == 0xff && x->encoding.modrm_offset && (reg == 3 || reg == 5);
}

int rw_reloc_insn(struct rw_plan_ctx *pc, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	uint64_t target;

	if (is_trap(insn) || is_far(insn))
		return rw_refuse(pc, -EOPNOTSUPP,
				 "%#lx: '%s %s' cannot be moved: it would report or transfer from "
				 "the trampoline's address",
				 (unsigned long)insn->address, insn->mnemonic, insn->op_str);
	if (insn->id == X86_INS_SYSCALL || insn->id == X86_INS_SYSENTER)
		return rw_refuse(pc, -EOPNOTSUPP,
				 "%#lx: '%s' cannot be covered by the jmp: a thread asleep in it "
				 "would resume inside the jmp",
				 (unsigned long)insn->address, insn->mnemonic);
	if (rw_rel_branch(insn, &target))
		return reloc_branch(pc, insn, target);
	if (x->opcode[0] == 0xff && x->encoding.modrm_offset && ((x->modrm >> 3) & 7) == 2)
		return reloc_indirect_call(pc, insn);
	if (has_group(insn, X86_GRP_RET) ||
	    (x->opcode[0] == 0xff && x->encoding.modrm_offset && ((x->modrm >> 3) & 7) == 4))
		pc->ended = true; /* ret, jmp r/m: nothing after them runs */
	return copy_insn(pc, insn, insn->bytes);
}
