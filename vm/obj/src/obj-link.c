// SPDX-License-Identifier: MIT
/*
 * Programs: which functions they are, and linking each one into a single
 * instruction array, as libbpf does before BPF_PROG_LOAD.
 *
 * A program is an STT_FUNC symbol of an executable section other than .text
 * (when there is none, the first function of .text). Its instructions are
 * copied out of the section; when it calls a .text function or takes the
 * address of one (bpf_loop callbacks), all of .text is appended once after
 * it, and every reference is rewritten relative to that copy:
 *
 *   out: [ program insns a..b of its section ][ .text insns 0..T ]
 *          0                                   text_base = b - a
 *
 * What the relocations mean (clang -target bpf, checked with llvm-objdump):
 *   R_BPF_64_64 on ld_imm64
 *     - symbol in '.maps'       -> src BPF_PSEUDO_MAP_IDX, imm = map index
 *     - symbol in .data/.rodata/.bss*
 *                               -> BPF_PSEUDO_MAP_IDX_VALUE, next imm =
 *                                  symbol value + imm (a byte offset)
 *     - symbol in .text         -> BPF_PSEUDO_FUNC to byte (value + imm)
 *   R_BPF_64_32 on call (src BPF_PSEUDO_CALL)
 *     - target insn = symbol value / 8 + imm + 1 in the symbol's section
 *       (global functions: their own symbol and imm -1; static ones: the
 *       section symbol and imm = index - 1)
 * Calls between functions of one section carry no relocation: they are
 * already relative, and stay so inside the .text copy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "obj-internal.h"

#define LDIMM64 (BPF_LD | BPF_IMM | BPF_DW)
#define CALL    (BPF_JMP | BPF_CALL)

/* One program being linked. */
struct link {
	struct obj_ctx *ctx;
	const char *prog; /* its name, for messages */
	size_t prog_sec;  /* its section */
	uint64_t a, b;    /* its instructions [a, b) in prog_sec */
	struct bpf_insn *out;
	uint64_t text_base; /* where .text goes in out */
	uint64_t text_cnt;  /* instructions in .text (0: none) */
	bool need_text;
};

/* Instructions [a, b) of section @sec, copied to out[base...]. */
struct range {
	size_t sec;
	uint64_t a, b, base;
};

__attribute__((format(printf, 5, 6))) static int
link_error(struct link *l, const struct range *r, uint64_t j, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return obj_error(l->ctx, err, "prog '%s': insn %llu of '%s': %s", l->prog,
			 (unsigned long long)(r->a + j), l->ctx->secs[r->sec].name, msg);
}

static uint64_t sec_insns(const struct obj_ctx *ctx, size_t sec)
{
	return ctx->secs[sec].sh.sh_size / OBJ_INSN_SZ;
}

/* Point the call or ld_imm64 at out[pc] to instruction @t of section @tsec. */
static int set_target(struct link *l, const struct range *r, uint64_t j, uint64_t pc, size_t tsec,
		      uint64_t t)
{
	uint64_t pos;

	if (tsec == l->ctx->text) {
		l->need_text = true;
		pos = l->text_base + t;
	} else if (tsec == l->prog_sec && r->sec == l->prog_sec && t >= l->a && t < l->b) {
		pos = t - l->a;
	} else {
		return link_error(
		    l, r, j, -EINVAL,
		    "reference to insn %llu of '%s', outside the program (subprograms "
		    "must be in .text)",
		    (unsigned long long)t, l->ctx->secs[tsec].name);
	}
	/* both positions are below BPFTIME_VM_MAX_INSNS, so this fits */
	l->out[pc].imm = (int32_t)((int64_t)pos - (int64_t)pc - 1);
	return 0;
}

/* ld_imm64 of a .text function's address: a bpf_loop callback. */
static int func_addr(struct link *l, const struct range *r, uint64_t j, uint64_t pc,
		     const struct obj_sym *sym)
{
	struct bpf_insn *insn = &l->out[pc];
	uint64_t size = l->ctx->secs[l->ctx->text].sh.sh_size;
	int64_t off;

	/* the address is an instruction of .text */
	if (sym->value >= size || (off = (int64_t)sym->value + insn->imm) < 0 ||
	    (uint64_t)off >= size || off % OBJ_INSN_SZ)
		return link_error(
		    l, r, j, -EINVAL,
		    "bad relocation: address of '%s'%+d is not an instruction of .text", sym->name,
		    insn->imm);
	insn[0].src_reg = BPF_PSEUDO_FUNC;
	insn[1].imm = 0;
	return set_target(l, r, j, pc, l->ctx->text, (uint64_t)off / OBJ_INSN_SZ);
}

static int map_ref(struct link *l, const struct range *r, uint64_t j, uint64_t pc,
		   const struct obj_sym *sym)
{
	struct bpf_insn *insn = &l->out[pc];
	int idx = obj_map_by_sym(l->ctx, sym);
	const struct obj_map *m;
	int64_t off;

	if (idx < 0)
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: '%s' in section '%s' is neither a map, global "
				  "data nor a .text function",
				  sym->name, l->ctx->secs[sym->shndx].name);
	m = &l->ctx->obj->maps[idx];
	if (!m->pub.global_data) {
		if (insn->imm)
			return link_error(l, r, j, -EINVAL, "reference to map '%s' at offset %d",
					  sym->name, insn->imm);
		insn[0].src_reg = BPF_PSEUDO_MAP_IDX;
		insn[0].imm = idx;
		insn[1].imm = 0;
		return 0;
	}
	off = (int64_t)insn->imm;
	/* the address stays inside the section, as array_map_direct_value_addr()
	 * requires of direct value accesses */
	if (sym->value >= m->pub.value_size || (off += (int64_t)sym->value) < 0 ||
	    off >= m->pub.value_size)
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: '%s'%+d is outside '%s' (%u bytes)", sym->name,
				  insn->imm, m->pub.name, m->pub.value_size);
	insn[0].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
	insn[0].imm = idx;
	insn[1].imm = (int32_t)off;
	return 0;
}

static int reloc_ldimm64(struct link *l, const struct range *r, uint64_t j, uint64_t pc,
			 const struct obj_sym *sym)
{
	const struct obj_ctx *ctx = l->ctx;

	if (l->out[pc].code != LDIMM64)
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: R_BPF_64_64 against '%s' on opcode 0x%02x, not "
				  "ld_imm64",
				  sym->name, l->out[pc].code);
	if (sym->shndx == SHN_UNDEF)
		return link_error(l, r, j, -EOPNOTSUPP, "extern '%s' is not supported", sym->name);
	if (sym->shndx >= ctx->nr_secs)
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: symbol '%s' is not in a section", sym->name);
	if (sym->shndx == ctx->text)
		return func_addr(l, r, j, pc, sym);
	if (obj_sec_is_exec(ctx, sym->shndx))
		return link_error(l, r, j, -EINVAL,
				  "address of '%s' in '%s': callbacks must be in .text", sym->name,
				  ctx->secs[sym->shndx].name);
	return map_ref(l, r, j, pc, sym);
}

static int reloc_call(struct link *l, const struct range *r, uint64_t j, uint64_t pc,
		      const struct obj_sym *sym)
{
	const struct bpf_insn *insn = &l->out[pc];
	const struct obj_ctx *ctx = l->ctx;
	int64_t t;

	if (insn->code != CALL)
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: R_BPF_64_32 against '%s' on opcode 0x%02x, not "
				  "call",
				  sym->name, insn->code);
	if (insn->src_reg != BPF_PSEUDO_CALL || sym->shndx == SHN_UNDEF)
		return link_error(l, r, j, -EOPNOTSUPP,
				  "call to extern function '%s' (kfunc) is not supported",
				  sym->name);
	if (!obj_sec_is_exec(ctx, sym->shndx))
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: call to '%s', which is not code", sym->name);
	/* the target is an instruction of the symbol's section */
	t = (int64_t)(sym->value / OBJ_INSN_SZ) + insn->imm + 1;
	if (sym->value % OBJ_INSN_SZ || t < 0 || (uint64_t)t >= sec_insns(ctx, sym->shndx))
		return link_error(l, r, j, -EINVAL,
				  "bad relocation: call to '%s'%+d is outside '%s'", sym->name,
				  insn->imm, ctx->secs[sym->shndx].name);
	return set_target(l, r, j, pc, sym->shndx, (uint64_t)t);
}

static int apply_reloc(struct link *l, const struct range *r, uint64_t j, uint64_t pc,
		       const struct obj_rel *rel)
{
	/* rel->sym < nr_syms (obj-symtab.c) */
	const struct obj_sym *sym = &l->ctx->syms[rel->sym];

	switch (rel->type) {
	case R_BPF_NONE:
		return 0;
	case R_BPF_64_64:
		return reloc_ldimm64(l, r, j, pc, sym);
	case R_BPF_64_32:
		return reloc_call(l, r, j, pc, sym);
	}
	return link_error(l, r, j, -EINVAL, "bad relocation: type %u against '%s' is not supported",
			  rel->type, sym->name);
}

/* A BPF-to-BPF call without relocation: relative inside its section. */
static int local_call(struct link *l, const struct range *r, uint64_t j, uint64_t pc)
{
	int64_t t = (int64_t)(r->a + j) + l->out[pc].imm + 1;

	if (t < 0 || (uint64_t)t >= sec_insns(l->ctx, r->sec))
		return link_error(l, r, j, -EINVAL, "call offset %d leaves the section",
				  l->out[pc].imm);
	return set_target(l, r, j, pc, r->sec, (uint64_t)t);
}

/* Index of the first relocation at or after byte @off of @s. */
static size_t first_rel(const struct obj_sec *s, uint64_t off)
{
	size_t lo = 0, hi = s->nr_rels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->rels[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int process_range(struct link *l, const struct range *r)
{
	const struct obj_sec *s = &l->ctx->secs[r->sec];
	size_t ri = first_rel(s, r->a * OBJ_INSN_SZ);
	uint64_t n = r->b - r->a;
	int err = 0;

	for (uint64_t j = 0; j < n && !err; j++) {
		uint64_t pc = r->base + j;
		const struct bpf_insn *insn = &l->out[pc];
		bool wide = insn->code == LDIMM64;

		/* both halves of an ld_imm64 are inside the range */
		if (wide && j + 1 >= n)
			return link_error(l, r, j, -EINVAL, "ld_imm64 has no second half");
		if (ri < s->nr_rels && s->rels[ri].off == (r->a + j) * OBJ_INSN_SZ)
			err = apply_reloc(l, r, j, pc, &s->rels[ri++]);
		else if (insn->code == CALL && insn->src_reg == BPF_PSEUDO_CALL)
			err = local_call(l, r, j, pc);
		j += wide;
		/* no relocation lands on the second half of an ld_imm64 */
		if (!err && ri < s->nr_rels && s->rels[ri].off < (r->a + j + 1) * OBJ_INSN_SZ)
			err = link_error(l, r, j, -EINVAL,
					 "bad relocation: it applies to the second half of an "
					 "ld_imm64");
	}
	return err;
}

/* A program found in the symbol table, before linking. */
struct cand {
	size_t sec;
	uint64_t a, b; /* instructions [a, b) of sec */
	const char *name;
};

static int link_prog(struct obj_ctx *ctx, const struct cand *c, struct obj_prog *prog)
{
	struct link l = {.ctx = ctx, .prog = c->name, .prog_sec = c->sec, .a = c->a, .b = c->b};
	struct range r = {.sec = c->sec, .a = c->a, .b = c->b, .base = 0};
	int err;

	l.text_base = c->b - c->a;
	l.text_cnt = ctx->text ? sec_insns(ctx, ctx->text) : 0;
	/* a program and .text stay addressable by 32-bit offsets */
	if (l.text_base + l.text_cnt > BPFTIME_VM_MAX_INSNS)
		return obj_error(ctx, -E2BIG, "prog '%s': %llu instructions with .text (max %u)",
				 c->name, (unsigned long long)(l.text_base + l.text_cnt),
				 BPFTIME_VM_MAX_INSNS);
	err = obj_elf_load(ctx, c->sec);
	if (!err && ctx->text)
		err = obj_elf_load(ctx, ctx->text);
	if (err)
		return err;
	l.out = malloc((l.text_base + l.text_cnt) * OBJ_INSN_SZ);
	if (!l.out)
		return obj_error(ctx, -ENOMEM, "prog '%s': out of memory", c->name);
	prog->insns = l.out; /* freed with the obj on failure */
	memcpy(l.out, ctx->secs[c->sec].data + c->a * OBJ_INSN_SZ, l.text_base * OBJ_INSN_SZ);
	err = process_range(&l, &r);
	if (err || !l.need_text) {
		prog->cnt = l.text_base;
		return err;
	}
	memcpy(l.out + l.text_base, ctx->secs[ctx->text].data, l.text_cnt * OBJ_INSN_SZ);
	r = (struct range){.sec = ctx->text, .a = 0, .b = l.text_cnt, .base = l.text_base};
	prog->cnt = l.text_base + l.text_cnt;
	return process_range(&l, &r);
}

/* A function symbol covers whole instructions inside its section. */
static int check_func(struct obj_ctx *ctx, const struct obj_sym *s)
{
	uint64_t size = ctx->secs[s->shndx].sh.sh_size;

	if (s->value % OBJ_INSN_SZ || s->size % OBJ_INSN_SZ || !s->size || s->value >= size ||
	    s->size > size - s->value)
		return obj_error(ctx, -EINVAL,
				 "function '%s': offset %llu size %llu is not a range of "
				 "instructions of '%s' (%llu bytes)",
				 s->name, (unsigned long long)s->value, (unsigned long long)s->size,
				 ctx->secs[s->shndx].name, (unsigned long long)size);
	return 0;
}

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return a->a < b->a ? -1 : a->a > b->a;
}

/* Functions of executable sections other than .text; @cands has nr_syms slots. */
static int find_progs(struct obj_ctx *ctx, struct cand *cands, size_t *nr)
{
	int err;

	*nr = 0;
	for (size_t i = 0; i < ctx->nr_syms; i++) {
		const struct obj_sym *s = &ctx->syms[i];

		if (s->type != STT_FUNC || !obj_sec_is_exec(ctx, s->shndx) || s->shndx == ctx->text)
			continue;
		err = check_func(ctx, s);
		if (err)
			return err;
		cands[(*nr)++] = (struct cand){.sec = s->shndx,
					       .a = s->value / OBJ_INSN_SZ,
					       .b = (s->value + s->size) / OBJ_INSN_SZ,
					       .name = s->name};
	}
	qsort(cands, *nr, sizeof(*cands), cmp_cand);
	return 0;
}

/* No program sections: the first function of .text, or all of it. */
static int find_text_prog(struct obj_ctx *ctx, struct cand *c, size_t *nr)
{
	const struct obj_sym *first = NULL;
	int err;

	*nr = 0;
	if (!ctx->text || !ctx->secs[ctx->text].sh.sh_size)
		return 0;
	for (size_t i = 0; i < ctx->nr_syms; i++) {
		const struct obj_sym *s = &ctx->syms[i];

		if (s->type == STT_FUNC && s->shndx == ctx->text &&
		    (!first || s->value < first->value))
			first = s;
	}
	*c = (struct cand){
	    .sec = ctx->text, .a = 0, .b = sec_insns(ctx, ctx->text), .name = ".text"};
	if (first) {
		err = check_func(ctx, first);
		if (err)
			return err;
		c->a = first->value / OBJ_INSN_SZ;
		c->b = (first->value + first->size) / OBJ_INSN_SZ;
		c->name = first->name;
	}
	*nr = 1;
	return 0;
}

static int save_prog(struct obj_ctx *ctx, const struct cand *c)
{
	struct bpftime_obj *obj = ctx->obj;
	struct obj_prog *p = &obj->progs[obj->nr_progs++];

	p->name = strdup(c->name);
	p->sec_name = strdup(ctx->secs[c->sec].name);
	if (!p->name || !p->sec_name)
		return obj_error(ctx, -ENOMEM, "out of memory for prog '%s'", c->name);
	return link_prog(ctx, c, p);
}

int obj_collect_progs(struct obj_ctx *ctx)
{
	struct cand *cands = calloc(ctx->nr_syms + 1, sizeof(*cands));
	size_t nr;
	int err;

	if (!cands)
		return obj_error(ctx, -ENOMEM, "out of memory for %zu symbols", ctx->nr_syms);
	err = find_progs(ctx, cands, &nr);
	if (!err && !nr)
		err = find_text_prog(ctx, cands, &nr);
	if (!err && nr) {
		ctx->obj->progs = calloc(nr, sizeof(*ctx->obj->progs));
		if (!ctx->obj->progs)
			err = obj_error(ctx, -ENOMEM, "out of memory for %zu programs", nr);
	}
	for (size_t i = 0; !err && i < nr; i++)
		err = save_prog(ctx, &cands[i]);
	free(cands);
	return err;
}
