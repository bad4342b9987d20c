// SPDX-License-Identifier: MIT
/*
 * Planning from a probed file, as a uprobe names its site: a path and a file
 * offset. The executable section holding the offset is decoded in its own
 * virtual addresses (so rel32 operands mean what they mean at run time) and
 * scanned whole; the function symbol covering the site bounds the
 * displaced range. The agent later turns the offset into an address by
 * matching its mappings (device, inode, file offset).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "rw-plan-internal.h"

struct rw_elf {
	int fd;
	Elf *elf;
};

static void elf_close(struct rw_elf *e)
{
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
}

static int elf_open(struct rw_elf *e, const char *path)
{
	e->elf = NULL;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || gelf_getclass(e->elf) != ELFCLASS64)
		return -ENOEXEC;
	return 0;
}

/* The SHF_EXECINSTR PROGBITS section whose file bytes hold @off. */
static Elf_Scn *exec_section(Elf *elf, uint64_t off, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, sh) || sh->sh_type != SHT_PROGBITS ||
		    !(sh->sh_flags & SHF_EXECINSTR))
			continue;
		if (off >= sh->sh_offset && off - sh->sh_offset < sh->sh_size)
			return scn;
	}
	return NULL;
}

typedef bool (*sym_match_fn)(const GElf_Sym *sym, const char *name, void *arg);

/* Walk .symtab, then .dynsym (stripped files keep only the latter). */
static bool find_sym(Elf *elf, sym_match_fn match, void *arg, GElf_Sym *out)
{
	static const Elf64_Word types[] = {SHT_SYMTAB, SHT_DYNSYM};
	unsigned int t;

	for (t = 0; t < 2; t++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;

		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *d;
			size_t i;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t] || !sh.sh_entsize)
				continue;
			d = elf_getdata(scn, NULL);
			for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
				const char *name;

				if (!gelf_getsym(d, (int)i, out))
					continue;
				name = elf_strptr(elf, sh.sh_link, out->st_name);
				if (name && match(out, name, arg))
					return true;
			}
		}
	}
	return false;
}

static bool is_func(const GElf_Sym *s)
{
	int type = GELF_ST_TYPE(s->st_info);

	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF &&
	       s->st_shndx < SHN_LORESERVE;
}

static bool covers(const GElf_Sym *s, const char *name, void *arg)
{
	uint64_t va = *(uint64_t *)arg;

	return is_func(s) && s->st_size && va >= s->st_value && va - s->st_value < s->st_size;
}

static bool named(const GElf_Sym *s, const char *name, void *arg)
{
	return is_func(s) && !strcmp(name, (const char *)arg);
}

static int plan_in_section(Elf_Scn *scn, const GElf_Shdr *sh, Elf *elf, uint64_t file_off,
			   struct bpftime_rw_plan_opts *opts, struct bpftime_rw_plan *plan)
{
	struct bpftime_rw_plan_opts local = {.sz = sizeof(local)};
	uint64_t site = sh->sh_addr + (file_off - sh->sh_offset);
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Sym sym;
	int err;

	/* the section's bytes: sh_size of them, or the file is truncated */
	if (!d || !d->d_buf || d->d_size != sh->sh_size)
		return -ENOEXEC;
	if (!opts)
		opts = &local;
	opts->func_start = 0;
	opts->func_size = 0;
	if (find_sym(elf, covers, &site, &sym) && sym.st_value >= sh->sh_addr &&
	    sym.st_value + sym.st_size <= sh->sh_addr + sh->sh_size) {
		opts->func_start = sym.st_value;
		opts->func_size = sym.st_size;
	}
	err = bpftime_rw__plan(d->d_buf, d->d_size, sh->sh_addr, site, opts, plan);
	if (!err)
		plan->site = file_off;
	return err;
}

int bpftime_rw__plan_file(const char *path, uint64_t file_off, struct bpftime_rw_plan_opts *opts,
			  struct bpftime_rw_plan *plan)
{
	struct rw_elf e;
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	if (!path || !plan || (opts && opts->sz < sizeof(*opts)))
		return -EINVAL;
	err = elf_open(&e, path);
	if (err)
		goto out;
	scn = exec_section(e.elf, file_off, &sh);
	err = scn ? plan_in_section(scn, &sh, e.elf, file_off, opts, plan) : -ENOENT;
out:
	elf_close(&e);
	return err;
}

int bpftime_rw__elf_func_offset(const char *path, const char *name, uint64_t *file_off,
				uint64_t *size)
{
	struct rw_elf e;
	GElf_Shdr sh;
	GElf_Sym sym;
	int err;

	if (!path || !name || !file_off || !size)
		return -EINVAL;
	err = elf_open(&e, path);
	if (err)
		goto out;
	err = -ENOENT;
	if (!find_sym(e.elf, named, (void *)name, &sym))
		goto out;
	if (!gelf_getshdr(elf_getscn(e.elf, sym.st_shndx), &sh) || sym.st_value < sh.sh_addr)
		goto out;
	*file_off = sym.st_value - sh.sh_addr + sh.sh_offset;
	*size = sym.st_size;
	err = 0;
out:
	elf_close(&e);
	return err;
}
