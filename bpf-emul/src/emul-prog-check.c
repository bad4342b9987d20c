// SPDX-License-Identifier: MIT
/*
 * What BPF_PROG_LOAD can decide without the verifier's type system, on top
 * of the vm's structural checks (bpftime_vm__load):
 *
 *   - the control flow graph (check_cfg()): every instruction must be
 *     reachable along some edge, "unreachable insn %d" (-EINVAL);
 *   - live code: the paths the verifier walks, with branches on registers
 *     whose value is a known constant folded. libbpf relies on this: it
 *     turns the ld_imm64 of a map it did not create into
 *     "call 2001000000+idx" and CO-RE guards (bpf_core_type_exists() ...)
 *     become "r1 = 0; if r1 == 0 goto"; such code must load
 *     (tool-surface.md 5.8). emul-prog.c replaces unknown calls in dead
 *     code by "ja -1", as the kernel's sanitize_dead_code();
 *   - on live paths, what is certain whatever the types: a register read
 *     before it is written ("R%d !read_ok", -EACCES), a helper argument
 *     that is the program's ctx where the prototype wants memory or a map
 *     ("R1 type=ctx expected=...", -EACCES: bpftrace probes helpers with
 *     "call X; exit" and reads the log), GPL-only helpers from non-GPL
 *     programs (-EINVAL).
 *
 * The walk is a forward data-flow over the instructions with a small
 * lattice per register: uninitialised, ctx, pointer, known constant, or
 * anything (the join of two different facts). It reports only what holds
 * on every path that reaches an instruction, so it never refuses what the
 * kernel accepts; it accepts much that the kernel refuses (the checked
 * interpreter is the safety net until the verifier exists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"

#define MAX_FOLD_INSNS (256u * 1024) /* above: no constant folding (memory) */

enum rkind { R_UNINIT, R_ANY, R_CONST, R_CTX, R_PTR };

struct rstate {
	uint8_t kind[11];
	uint64_t val[11];
};

struct walk {
	const struct bpf_insn *insns;
	uint32_t cnt;
	bool fold, gpl;
	uint32_t type, eat; /* the program type, expected_attach_type */
	struct emul_vlog *log;
	struct rstate *st; /* fold: state at the entry of each insn */
	uint8_t *seen;
	uint32_t *queue;
	uint8_t *queued;
	uint32_t qlen;
	int err;
};

static bool join(struct rstate *into, const struct rstate *from)
{
	bool changed = false;

	for (int r = 0; r < 11; r++) {
		if (into->kind[r] == from->kind[r] &&
		    (into->kind[r] != R_CONST || into->val[r] == from->val[r]))
			continue;
		if (into->kind[r] != R_ANY) {
			into->kind[r] = R_ANY;
			changed = true;
		}
	}
	return changed;
}

static void push(struct walk *w, uint32_t i, const struct rstate *s)
{
	bool changed;

	if (i >= w->cnt)
		return; /* out of range: the vm's checks report it */
	if (!w->seen[i]) {
		w->seen[i] = 1;
		if (w->fold)
			w->st[i] = *s;
		changed = true;
	} else {
		changed = w->fold && join(&w->st[i], s);
	}
	if (changed && !w->queued[i]) {
		w->queued[i] = 1;
		w->queue[w->qlen++] = i;
	}
}

static int fail(struct walk *w, int err, uint32_t i, const char *what, const char *msg)
{
	if (!w->err) {
		emul_vlog(w->log, "%u: %s\n%s\n", i, what, msg);
		w->err = err;
	}
	return err;
}

static int need(struct walk *w, const struct rstate *s, uint32_t i, int reg)
{
	char what[16], msg[32];

	if (!w->fold || reg > 10 || s->kind[reg] != R_UNINIT)
		return 0;
	snprintf(what, sizeof(what), "(%02x)", w->insns[i].code);
	snprintf(msg, sizeof(msg), "R%d !read_ok", reg);
	return fail(w, -EACCES, i, what, msg);
}

static const char *expected(uint8_t arg)
{
	switch (arg) {
	case EMUL_ARG_MEM:
		return "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";
	case EMUL_ARG_MAP:
		return "map_ptr";
	case EMUL_ARG_RINGBUF:
		return "ringbuf_mem";
	}
	return NULL;
}

/* check_helper_call() as far as it is certain: in argument order, an
 * uninitialised register, then ctx where another kind is wanted */
static int check_call(struct walk *w, const struct rstate *s, uint32_t i, int32_t id)
{
	const struct emul_helper *h = emul_helper_find((uint32_t)id);
	char what[64], msg[160];
	int err;

	if (!h || !w->fold)
		return 0;
	snprintf(what, sizeof(what), "(85) call bpf_%s#%d", h->name, id);
	err = emul_helper_check_type(h, w->type, w->eat, false, msg, sizeof(msg));
	if (err)
		return fail(w, err, i, what, msg);
	if (h->gpl_only && !w->gpl)
		return fail(w, -EINVAL, i, what,
			    "cannot call GPL-restricted function from non-GPL compatible program");
	for (int a = 0; a < 5 && h->arg[a]; a++) {
		int reg = a + 1;

		if (s->kind[reg] == R_UNINIT) {
			snprintf(msg, sizeof(msg), "R%d !read_ok", reg);
			return fail(w, -EACCES, i, what, msg);
		}
		if (s->kind[reg] == R_CTX && expected(h->arg[a])) {
			snprintf(msg, sizeof(msg), "R%d type=ctx expected=%s", reg,
				 expected(h->arg[a]));
			return fail(w, -EACCES, i, what, msg);
		}
	}
	err = emul_helper_check_type(h, w->type, w->eat, true, msg, sizeof(msg));
	return err ? fail(w, err, i, what, msg) : 0;
}

static void set(struct rstate *s, int reg, uint8_t kind, uint64_t val)
{
	if (reg > 10)
		return;
	s->kind[reg] = kind;
	s->val[reg] = kind == R_CONST ? val : 0;
}

static void clobber_call(struct rstate *s)
{
	set(s, 0, R_ANY, 0);
	for (int r = 1; r <= 5; r++)
		set(s, r, R_UNINIT, 0);
}

static bool alu_const(uint8_t op, uint64_t a, uint64_t b, bool is64, uint64_t *out)
{
	switch (op) {
	case BPF_ADD:
		*out = a + b;
		break;
	case BPF_SUB:
		*out = a - b;
		break;
	case BPF_MUL:
		*out = a * b;
		break;
	case BPF_OR:
		*out = a | b;
		break;
	case BPF_AND:
		*out = a & b;
		break;
	case BPF_XOR:
		*out = a ^ b;
		break;
	case BPF_LSH:
		*out = a << (b & (is64 ? 63 : 31));
		break;
	case BPF_RSH:
		*out = is64 ? a >> (b & 63) : (uint32_t)a >> (b & 31);
		break;
	default:
		return false;
	}
	if (!is64)
		*out = (uint32_t)*out;
	return true;
}

static void step_alu(struct walk *w, struct rstate *s, const struct bpf_insn *in, uint32_t i)
{
	bool is64 = BPF_CLASS(in->code) == BPF_ALU64, x = BPF_SRC(in->code) == BPF_X;
	uint8_t op = BPF_OP(in->code), d = in->dst_reg, r = in->src_reg;
	uint64_t b = x ? 0 : (is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm), v;

	if (d > 10 || (x && r > 10))
		return;
	if (x && need(w, s, i, r))
		return;
	if (x)
		b = s->val[r];
	if (op == BPF_MOV) {
		if (!x)
			set(s, d, R_CONST, b);
		else if (in->off)
			set(s, d, R_ANY, 0); /* movsx */
		else if (is64)
			set(s, d, s->kind[r], s->val[r]);
		else
			set(s, d, s->kind[r] == R_CONST ? R_CONST : R_ANY, (uint32_t)s->val[r]);
		return;
	}
	if (need(w, s, i, d))
		return;
	if (s->kind[d] == R_CONST && (!x || s->kind[r] == R_CONST) && !in->off &&
	    alu_const(op, s->val[d], b, is64, &v))
		set(s, d, R_CONST, v);
	else if (is64 && (op == BPF_ADD || op == BPF_SUB) &&
		 (s->kind[d] == R_CTX || s->kind[d] == R_PTR))
		set(s, d, R_PTR, 0);
	else
		set(s, d, R_ANY, 0);
}

/* the outcome of a conditional jump on constants: 1 taken, 0 not, -1 unknown */
static int jump_const(uint8_t op, uint64_t a, uint64_t b, bool is64)
{
	int64_t sa = is64 ? (int64_t)a : (int32_t)a, sb = is64 ? (int64_t)b : (int32_t)b;

	if (!is64) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	switch (op) {
	case BPF_JEQ:
		return a == b;
	case BPF_JNE:
		return a != b;
	case BPF_JGT:
		return a > b;
	case BPF_JGE:
		return a >= b;
	case BPF_JLT:
		return a < b;
	case BPF_JLE:
		return a <= b;
	case BPF_JSET:
		return (a & b) != 0;
	case BPF_JSGT:
		return sa > sb;
	case BPF_JSGE:
		return sa >= sb;
	case BPF_JSLT:
		return sa < sb;
	case BPF_JSLE:
		return sa <= sb;
	}
	return -1;
}

static void step_cond(struct walk *w, struct rstate *s, const struct bpf_insn *in, uint32_t i)
{
	bool is64 = BPF_CLASS(in->code) == BPF_JMP, x = BPF_SRC(in->code) == BPF_X;
	uint8_t d = in->dst_reg, r = in->src_reg;
	int taken = -1;

	if (d > 10 || (x && r > 10) || need(w, s, i, d) || (x && need(w, s, i, r)))
		return;
	if (w->fold && s->kind[d] == R_CONST && (!x || s->kind[r] == R_CONST))
		taken = jump_const(BPF_OP(in->code), s->val[d],
				   x ? s->val[r] : (uint64_t)(int64_t)in->imm, is64);
	if (taken != 0)
		push(w, i + in->off + 1, s);
	if (taken != 1)
		push(w, i + 1, s);
}

static void step_call(struct walk *w, struct rstate *s, const struct bpf_insn *in, uint32_t i)
{
	struct rstate callee;

	if (in->src_reg == BPF_PSEUDO_CALL) {
		/* the callee sees r1-r5 and its frame pointer; r6-r9 are its own */
		callee = *s;
		set(&callee, 0, R_UNINIT, 0);
		for (int r = 6; r <= 9; r++)
			set(&callee, r, R_UNINIT, 0);
		push(w, i + in->imm + 1, &callee);
	} else if (in->src_reg == 0) {
		if (check_call(w, s, i, in->imm))
			return;
	} else {
		return; /* kfuncs: the vm refuses them */
	}
	clobber_call(s);
	push(w, i + 1, s);
}

static void step_ldimm64(struct walk *w, struct rstate *s, const struct bpf_insn *in, uint32_t i)
{
	struct rstate cb;

	if (i + 1 >= w->cnt || in->dst_reg > 10)
		return;
	if (in->src_reg == 0) {
		set(s, in->dst_reg, R_CONST,
		    (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
	} else {
		set(s, in->dst_reg, R_PTR, 0);
		if (in->src_reg == BPF_PSEUDO_FUNC) {
			/* a callback: its arguments are whatever the helper passes */
			memset(&cb, 0, sizeof(cb));
			for (int r = 1; r <= 5; r++)
				set(&cb, r, R_ANY, 0);
			set(&cb, 10, R_PTR, 0);
			push(w, i + in->imm + 1, &cb);
		}
	}
	push(w, i + 2, s);
}

static void step_mem(struct walk *w, struct rstate *s, const struct bpf_insn *in, uint32_t i)
{
	uint8_t cls = BPF_CLASS(in->code);

	if (in->dst_reg > 10 || in->src_reg > 10)
		return;
	if (cls == BPF_LDX) {
		if (need(w, s, i, in->src_reg))
			return;
		set(s, in->dst_reg, R_ANY, 0);
	} else {
		if (need(w, s, i, in->dst_reg) || (cls == BPF_STX && need(w, s, i, in->src_reg)))
			return;
		if (cls == BPF_STX && BPF_MODE(in->code) == BPF_ATOMIC) {
			if (in->imm == BPF_CMPXCHG)
				set(s, 0, R_ANY, 0);
			else if (in->imm & BPF_FETCH)
				set(s, in->src_reg, R_ANY, 0);
		}
	}
	push(w, i + 1, s);
}

static void step(struct walk *w, uint32_t i)
{
	const struct bpf_insn *in = &w->insns[i];
	struct rstate s;

	if (w->fold)
		s = w->st[i];
	else
		memset(&s, 0, sizeof(s));
	switch (BPF_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		step_alu(w, &s, in, i);
		push(w, i + 1, &s);
		break;
	case BPF_LD:
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			step_ldimm64(w, &s, in, i);
		break; /* LD_ABS/IND: the vm refuses them */
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		step_mem(w, &s, in, i);
		break;
	case BPF_JMP:
	case BPF_JMP32:
		if (BPF_OP(in->code) == BPF_JA)
			push(w, i + (BPF_CLASS(in->code) == BPF_JMP32 ? in->imm : in->off) + 1, &s);
		else if (BPF_OP(in->code) == BPF_CALL)
			step_call(w, &s, in, i);
		else if (BPF_OP(in->code) == BPF_EXIT)
			need(w, &s, i, 0);
		else
			step_cond(w, &s, in, i);
		break;
	}
}

static int walk(struct walk *w)
{
	struct rstate entry;

	memset(&entry, 0, sizeof(entry));
	entry.kind[1] = R_CTX;
	entry.kind[10] = R_PTR;
	push(w, 0, &entry);
	while (w->qlen && !w->err) {
		uint32_t i = w->queue[--w->qlen];

		w->queued[i] = 0;
		step(w, i);
	}
	return w->err;
}

static uint32_t count_subprogs(const struct bpf_insn *insns, uint32_t cnt)
{
	uint8_t *start = calloc(cnt, 1);
	uint32_t n = 1;

	if (!start)
		return 1;
	for (uint32_t i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		int64_t t = (int64_t)i + in->imm + 1;
		bool call = in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
		bool func =
		    in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC;

		if ((call || func) && t > 0 && t < cnt && !start[t]) {
			start[t] = 1;
			n++;
		}
	}
	free(start);
	return n;
}

/* one walk with @tmpl's settings and its own work lists */
static int run_walk(const struct walk *tmpl)
{
	struct walk w = *tmpl;
	int err = -ENOMEM;

	w.queue = malloc(sizeof(*w.queue) * w.cnt);
	w.queued = calloc(w.cnt, 1);
	if (w.fold)
		w.st = malloc(sizeof(*w.st) * w.cnt);
	if (w.queue && w.queued && (!w.fold || w.st))
		err = walk(&w);
	free(w.queue);
	free(w.queued);
	free(w.st);
	return err;
}

int emul_prog_scan(const struct bpf_insn *insns, uint32_t cnt, bool gpl, uint32_t type,
		   uint32_t eat, struct emul_vlog *log, struct emul_prog_scan *scan)
{
	struct walk w = {
	    .insns = insns, .cnt = cnt, .gpl = gpl, .type = type, .eat = eat, .log = log};
	int err;

	memset(scan, 0, sizeof(*scan));
	scan->cfg = calloc(cnt, 1);
	scan->live = calloc(cnt, 1);
	if (!scan->cfg || !scan->live)
		return -ENOMEM;
	scan->nr_subprogs = count_subprogs(insns, cnt);
	w.seen = scan->cfg;
	err = run_walk(&w);
	if (err)
		return err;
	if (cnt > MAX_FOLD_INSNS) {
		memcpy(scan->live, scan->cfg, cnt);
	} else {
		w.fold = true;
		w.seen = scan->live;
		err = run_walk(&w);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < cnt; i++)
		scan->processed += scan->live[i];
	return 0;
}

void emul_prog_scan_free(struct emul_prog_scan *scan)
{
	free(scan->cfg);
	free(scan->live);
	scan->cfg = scan->live = NULL;
}
