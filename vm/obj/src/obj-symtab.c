// SPDX-License-Identifier: MIT
/*
 * The symbol table and the relocation tables of executable sections.
 *
 * Relocations of other sections (.rel.BTF, .rel.debug_*) are skipped: they
 * patch debug information, which nothing here reads. Those of executable
 * sections are checked once here (symbol index, instruction slot) and kept
 * sorted by offset, so that linking can walk them beside the instructions.
 */
#include <errno.h>
#include <stdlib.h>
#include "obj-internal.h"

/* A table section (symbols, relocations) whose entries are @entsize bytes. */
static int check_table(struct obj_ctx *ctx, size_t idx, size_t entsize, size_t *nr)
{
	const struct obj_sec *s = &ctx->secs[idx];

	/* entries are the size gelf_get* reads, and the table holds whole ones */
	if (s->sh.sh_entsize != entsize || s->sh.sh_size % entsize)
		return obj_error(ctx, -EINVAL,
				 "section '%s': entry size %llu and size %llu do not make a "
				 "table of %zu-byte entries",
				 s->name, (unsigned long long)s->sh.sh_entsize,
				 (unsigned long long)s->sh.sh_size, entsize);
	*nr = s->sh.sh_size / entsize;
	return 0;
}

static int find_symtab(struct obj_ctx *ctx, size_t *symtab)
{
	*symtab = 0;
	for (size_t i = 1; i < ctx->nr_secs; i++) {
		if (ctx->secs[i].sh.sh_type != SHT_SYMTAB)
			continue;
		if (*symtab)
			return obj_error(ctx, -EINVAL, "more than one symbol table");
		*symtab = i;
	}
	return 0;
}

static int read_symbol(struct obj_ctx *ctx, Elf_Data *data, size_t strtab, size_t i)
{
	struct obj_sym *out = &ctx->syms[i];
	GElf_Sym sym;

	if (!gelf_getsym(data, (int)i, &sym))
		return obj_error(ctx, -EINVAL, "symbol %zu: cannot read: %s", i, elf_errmsg(-1));
	out->name = elf_strptr(ctx->elf, strtab, sym.st_name);
	if (!out->name)
		return obj_error(ctx, -EINVAL,
				 "symbol %zu: name offset %u is outside the string table", i,
				 sym.st_name);
	if (sym.st_shndx == SHN_XINDEX)
		return obj_error(ctx, -EOPNOTSUPP, "symbol '%s': extended section index",
				 out->name);
	/* a symbol's section is either special or a real section */
	if (sym.st_shndx < SHN_LORESERVE && sym.st_shndx >= ctx->nr_secs)
		return obj_error(ctx, -EINVAL,
				 "symbol '%s': section index %u out of range (%zu sections)",
				 out->name, sym.st_shndx, ctx->nr_secs);
	out->value = sym.st_value;
	out->size = sym.st_size;
	out->shndx = sym.st_shndx;
	out->type = GELF_ST_TYPE(sym.st_info);
	out->bind = GELF_ST_BIND(sym.st_info);
	if (out->type == STT_SECTION && out->shndx != SHN_UNDEF && out->shndx < ctx->nr_secs)
		out->name = ctx->secs[out->shndx].name;
	return 0;
}

int obj_elf_symbols(struct obj_ctx *ctx)
{
	size_t symtab, strtab, nr;
	Elf_Data *data;
	int err;

	err = find_symtab(ctx, &symtab);
	if (err || !symtab)
		return err;
	err = check_table(ctx, symtab, sizeof(Elf64_Sym), &nr);
	if (err)
		return err;
	strtab = ctx->secs[symtab].sh.sh_link;
	/* names come from a real string table */
	if (strtab == 0 || strtab >= ctx->nr_secs || ctx->secs[strtab].sh.sh_type != SHT_STRTAB)
		return obj_error(ctx, -EINVAL,
				 "symbol table: string table index %zu is not a string "
				 "table",
				 strtab);
	data = elf_getdata(elf_getscn(ctx->elf, symtab), NULL);
	if (!data && nr)
		return obj_error(ctx, -EINVAL, "symbol table: cannot read: %s", elf_errmsg(-1));
	ctx->syms = calloc(nr ? nr : 1, sizeof(*ctx->syms));
	if (!ctx->syms)
		return obj_error(ctx, -ENOMEM, "out of memory for %zu symbols", nr);
	ctx->nr_syms = nr;
	for (size_t i = 0; i < nr; i++) {
		err = read_symbol(ctx, data, strtab, i);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct obj_rel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int read_rel(struct obj_ctx *ctx, Elf_Data *data, size_t rel_idx, size_t i,
		    struct obj_sec *target)
{
	struct obj_rel *r = &target->rels[i];
	GElf_Rel rel;

	if (!gelf_getrel(data, (int)i, &rel))
		return obj_error(ctx, -EINVAL, "section '%s': relocation %zu: cannot read: %s",
				 ctx->secs[rel_idx].name, i, elf_errmsg(-1));
	r->off = rel.r_offset;
	r->type = (uint32_t)GELF_R_TYPE(rel.r_info);
	/* the symbol exists: syms[r->sym] is safe from here on */
	if (GELF_R_SYM(rel.r_info) >= ctx->nr_syms)
		return obj_error(ctx, -EINVAL,
				 "bad relocation %zu in '%s': symbol index %llu out of range (%zu "
				 "symbols)",
				 i, ctx->secs[rel_idx].name,
				 (unsigned long long)GELF_R_SYM(rel.r_info), ctx->nr_syms);
	r->sym = (uint32_t)GELF_R_SYM(rel.r_info);
	/* the offset names a whole instruction slot of the target */
	if (r->off % OBJ_INSN_SZ || r->off >= target->sh.sh_size)
		return obj_error(ctx, -EINVAL,
				 "bad relocation %zu in '%s': offset %llu is not an instruction of "
				 "'%s' (%llu bytes)",
				 i, ctx->secs[rel_idx].name, (unsigned long long)r->off,
				 target->name, (unsigned long long)target->sh.sh_size);
	return 0;
}

static int check_sorted(struct obj_ctx *ctx, const struct obj_sec *target)
{
	for (size_t i = 1; i < target->nr_rels; i++)
		if (target->rels[i].off == target->rels[i - 1].off)
			return obj_error(ctx, -EINVAL,
					 "bad relocation: two relocations at offset %llu of '%s'",
					 (unsigned long long)target->rels[i].off, target->name);
	return 0;
}

static int read_rel_section(struct obj_ctx *ctx, size_t idx)
{
	const struct obj_sec *s = &ctx->secs[idx];
	struct obj_sec *target;
	Elf_Data *data;
	size_t nr;
	int err;

	/* sh_info names the section the entries apply to */
	if (s->sh.sh_info >= ctx->nr_secs)
		return obj_error(ctx, -EINVAL, "section '%s': target section %u out of range",
				 s->name, s->sh.sh_info);
	if (!obj_sec_is_exec(ctx, s->sh.sh_info))
		return 0;
	target = &ctx->secs[s->sh.sh_info];
	if (s->sh.sh_type == SHT_RELA)
		return obj_error(ctx, -EOPNOTSUPP,
				 "section '%s': RELA relocations for code are not "
				 "supported (clang emits REL)",
				 s->name);
	if (!ctx->nr_syms || s->sh.sh_link == 0 || s->sh.sh_link >= ctx->nr_secs ||
	    ctx->secs[s->sh.sh_link].sh.sh_type != SHT_SYMTAB)
		return obj_error(ctx, -EINVAL, "section '%s': sh_link %u is not the symbol table",
				 s->name, s->sh.sh_link);
	if (target->rels)
		return obj_error(ctx, -EINVAL, "two relocation sections for '%s'", target->name);
	err = check_table(ctx, idx, sizeof(Elf64_Rel), &nr);
	if (err || !nr)
		return err;
	data = elf_getdata(elf_getscn(ctx->elf, idx), NULL);
	if (!data)
		return obj_error(ctx, -EINVAL, "section '%s': cannot read: %s", s->name,
				 elf_errmsg(-1));
	target->rels = calloc(nr, sizeof(*target->rels));
	if (!target->rels)
		return obj_error(ctx, -ENOMEM, "out of memory for %zu relocations", nr);
	target->nr_rels = nr;
	for (size_t i = 0; i < nr; i++) {
		err = read_rel(ctx, data, idx, i, target);
		if (err)
			return err;
	}
	qsort(target->rels, nr, sizeof(*target->rels), cmp_rel);
	return check_sorted(ctx, target);
}

int obj_elf_relocs(struct obj_ctx *ctx)
{
	int err;

	for (size_t i = 1; i < ctx->nr_secs; i++) {
		uint32_t type = ctx->secs[i].sh.sh_type;

		if (type != SHT_REL && type != SHT_RELA)
			continue;
		err = read_rel_section(ctx, i);
		if (err)
			return err;
	}
	return 0;
}
