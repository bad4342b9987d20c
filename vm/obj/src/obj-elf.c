// SPDX-License-Identifier: MIT
/*
 * The ELF layer: header checks, the section table, the symbol table and the
 * relocations of executable sections, read with libelf from our private copy
 * of the file.
 *
 * Every size, offset and index read from the file is untrusted. libelf
 * checks some of them itself, but we check each one that we rely on
 * before using it, so that the rest of the module can index the arrays
 * built here without further checks:
 *   - every section with file contents lies inside the file;
 *   - every symbol's section index is a valid section or a special index;
 *   - every relocation names an existing symbol and an instruction slot of
 *     its (executable) target section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "obj-internal.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OBJ_ELFDATA ELFDATA2LSB
#else
#define OBJ_ELFDATA ELFDATA2MSB
#endif

bool obj_sec_is_exec(const struct obj_ctx *ctx, size_t idx)
{
	const GElf_Shdr *sh;

	if (idx == 0 || idx >= ctx->nr_secs)
		return false;
	sh = &ctx->secs[idx].sh;
	return sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR);
}

static int check_ehdr(struct obj_ctx *ctx, Elf64_Ehdr *eh)
{
	/* e_ident must be inside the file before we compare it */
	if (ctx->size < SELFMAG || memcmp(ctx->image, ELFMAG, SELFMAG))
		return obj_error(ctx, -ENOEXEC, "not an ELF file");
	/* the whole header must be inside the file before we copy it */
	if (ctx->size < sizeof(*eh))
		return obj_error(ctx, -ENOEXEC, "truncated ELF header (%zu of %zu bytes)",
				 ctx->size, sizeof(*eh));
	memcpy(eh, ctx->image, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return obj_error(ctx, -ENOEXEC, "not a 64-bit ELF (class %u)",
				 eh->e_ident[EI_CLASS]);
	/* multi-byte fields below are only meaningful in our byte order */
	if (eh->e_ident[EI_DATA] != OBJ_ELFDATA)
		return obj_error(ctx, -ENOEXEC,
				 "ELF byte order %u differs from this machine's (compile with "
				 "-target bpf, not bpfeb/bpfel)",
				 eh->e_ident[EI_DATA]);
	if (eh->e_machine != EM_BPF)
		return obj_error(ctx, -ENOEXEC, "e_machine %u is not EM_BPF (%u)", eh->e_machine,
				 EM_BPF);
	if (eh->e_type != ET_REL)
		return obj_error(ctx, -ENOEXEC, "not a relocatable object (e_type %u)", eh->e_type);
	return 0;
}

/* The section header table, checked before libelf walks it. */
static int check_shdr_table(struct obj_ctx *ctx, const Elf64_Ehdr *eh)
{
	if (eh->e_shnum == 0)
		return obj_error(ctx, -EINVAL, "%s",
				 eh->e_shoff ? "extended section numbering is not supported"
					     : "no section header table");
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return obj_error(ctx, -EINVAL, "e_shentsize %u is not %zu", eh->e_shentsize,
				 sizeof(Elf64_Shdr));
	/* the table [e_shoff, e_shoff + e_shnum * 64) lies inside the file */
	if (eh->e_shoff > ctx->size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > ctx->size - eh->e_shoff)
		return obj_error(ctx, -EINVAL,
				 "section header table at %llu (%u entries) is beyond the end of "
				 "the file (%zu bytes): truncated?",
				 (unsigned long long)eh->e_shoff, eh->e_shnum, ctx->size);
	/* section names come from a real section */
	if (eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum)
		return obj_error(ctx, -EINVAL,
				 "section name table index %u out of range (%u sections)",
				 eh->e_shstrndx, eh->e_shnum);
	return 0;
}

int obj_elf_open(struct obj_ctx *ctx)
{
	Elf64_Ehdr eh;
	int err;

	err = check_ehdr(ctx, &eh);
	if (!err)
		err = check_shdr_table(ctx, &eh);
	if (err)
		return err;
	/* Only sets the library's version; idempotent, and every caller wants
	 * the same one. */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return obj_error(ctx, -EINVAL, "libelf: %s", elf_errmsg(-1));
	ctx->elf = elf_memory(ctx->image, ctx->size);
	if (!ctx->elf || elf_kind(ctx->elf) != ELF_K_ELF)
		return obj_error(ctx, -EINVAL, "libelf cannot read it: %s", elf_errmsg(-1));
	return 0;
}

/* Remember the sections the rest of the module looks for by name. */
static int note_special(struct obj_ctx *ctx, size_t i)
{
	const struct obj_sec *s = &ctx->secs[i];
	size_t *slot = NULL;

	if (!strcmp(s->name, "maps") && s->sh.sh_type == SHT_PROGBITS)
		return obj_error(ctx, -EOPNOTSUPP,
				 "legacy 'maps' section (struct bpf_map_def) is not supported; "
				 "declare maps in SEC(\".maps\") with BTF (__uint/__type)");
	if (!strcmp(s->name, ".text") && obj_sec_is_exec(ctx, i))
		slot = &ctx->text;
	else if (!strcmp(s->name, ".maps"))
		slot = &ctx->maps_sec;
	else if (!strcmp(s->name, ".BTF"))
		slot = &ctx->btf_sec;
	if (!slot)
		return 0;
	if (*slot)
		return obj_error(ctx, -EINVAL, "two sections named '%s' (%zu and %zu)", s->name,
				 *slot, i);
	*slot = i;
	return 0;
}

static int read_section(struct obj_ctx *ctx, size_t i, size_t shstrndx)
{
	struct obj_sec *s = &ctx->secs[i];
	Elf_Scn *scn = elf_getscn(ctx->elf, i);

	if (!scn || !gelf_getshdr(scn, &s->sh))
		return obj_error(ctx, -EINVAL, "section %zu: bad header: %s", i, elf_errmsg(-1));
	s->name = elf_strptr(ctx->elf, shstrndx, s->sh.sh_name);
	if (!s->name)
		return obj_error(ctx, -EINVAL,
				 "section %zu: name offset %u is outside the name table", i,
				 s->sh.sh_name);
	/* contents [sh_offset, sh_offset + sh_size) lie inside the file */
	if (s->sh.sh_type != SHT_NOBITS && s->sh.sh_type != SHT_NULL &&
	    (s->sh.sh_offset > ctx->size || s->sh.sh_size > ctx->size - s->sh.sh_offset))
		return obj_error(ctx, -EINVAL,
				 "section '%s' (%zu): offset %llu + size %llu is beyond the end of "
				 "the file (%zu bytes)",
				 s->name, i, (unsigned long long)s->sh.sh_offset,
				 (unsigned long long)s->sh.sh_size, ctx->size);
	/* instructions are whole: no section ends in the middle of one */
	if (obj_sec_is_exec(ctx, i) && s->sh.sh_size % OBJ_INSN_SZ)
		return obj_error(
		    ctx, -EINVAL,
		    "section '%s': size %llu is not a multiple of the instruction size", s->name,
		    (unsigned long long)s->sh.sh_size);
	return note_special(ctx, i);
}

int obj_elf_sections(struct obj_ctx *ctx)
{
	size_t n, shstrndx;
	int err;

	if (elf_getshdrnum(ctx->elf, &n) || elf_getshdrstrndx(ctx->elf, &shstrndx))
		return obj_error(ctx, -EINVAL, "bad section table: %s", elf_errmsg(-1));
	ctx->secs = calloc(n, sizeof(*ctx->secs));
	if (!ctx->secs)
		return obj_error(ctx, -ENOMEM, "out of memory for %zu sections", n);
	ctx->nr_secs = n;
	for (size_t i = 1; i < n; i++) {
		err = read_section(ctx, i, shstrndx);
		if (err)
			return err;
	}
	return 0;
}

/* Point secs[idx].data at its bytes (byte-typed sections only). */
int obj_elf_load(struct obj_ctx *ctx, size_t idx)
{
	struct obj_sec *s = &ctx->secs[idx];
	Elf_Data *d;

	if (s->data || s->sh.sh_type == SHT_NOBITS || s->sh.sh_size == 0)
		return 0;
	d = elf_getdata(elf_getscn(ctx->elf, idx), NULL);
	if (!d || !d->d_buf)
		return obj_error(ctx, -EINVAL, "section '%s': cannot read data: %s", s->name,
				 elf_errmsg(-1));
	/* the rest of the module reads sh_size bytes from data */
	if (d->d_size != s->sh.sh_size)
		return obj_error(ctx, -EINVAL,
				 "section '%s': data size %zu differs from sh_size %llu", s->name,
				 d->d_size, (unsigned long long)s->sh.sh_size);
	s->data = d->d_buf;
	return 0;
}

void obj_elf_close(struct obj_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_secs; i++)
		free(ctx->secs[i].rels);
	free(ctx->secs);
	free(ctx->syms);
	ctx->secs = NULL;
	ctx->syms = NULL;
	ctx->nr_secs = ctx->nr_syms = 0;
	if (ctx->elf)
		elf_end(ctx->elf);
	ctx->elf = NULL;
}
