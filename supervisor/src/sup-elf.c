// SPDX-License-Identifier: MIT
/*
 * What the injector needs from ELF files:
 *
 *   - is CMD static? (`bpftime start`): an x86-64 executable without
 *     PT_INTERP is started by the kernel itself and never sees LD_PRELOAD;
 *   - the agent's image: its PT_LOAD segments, its R_X86_64_RELATIVE
 *     relocations (from PT_DYNAMIC, as a loader finds them) and the offsets
 *     of its three exported entry points (from .dynsym).
 *
 * The agent file is ours, but it is read like any input: every offset is
 * checked against the file's size before use, and anything a loader would
 * have to do beyond relative relocations (PLT relocations, symbol
 * relocations, DT_RELR, TLS) is refused: agent/check-agent.sh keeps the
 * build from producing such a file, this keeps a foreign file from being
 * half-loaded into a target.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpftime/agent.h>
#include "sup-internal.h"

#ifndef DT_RELR /* binutils 2.38, glibc 2.36 */
#define DT_RELR 36
#endif

/* [off, off + len) inside a file of @size bytes */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

int sup_elf_kind(const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return SUP_ELF_OTHER; /* a script: its interpreter decides */
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return SUP_ELF_FOREIGN;
	if (eh.e_phentsize != sizeof(ph))
		return -ENOEXEC;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return -ENOEXEC;
		if (ph.p_type == PT_INTERP)
			return SUP_ELF_DYNAMIC;
	}
	return SUP_ELF_STATIC;
}

/* A virtual address of the image -> its file offset. */
static int vaddr_to_off(const struct sup_agent_image *img, uint64_t va, uint64_t len, uint64_t *off)
{
	for (int i = 0; i < img->nload; i++) {
		const struct sup_agent_load *l = &img->load[i];

		if (va >= l->vaddr && va - l->vaddr <= l->filesz &&
		    len <= l->filesz - (va - l->vaddr)) {
			*off = l->offset + (va - l->vaddr);
			return 0;
		}
	}
	return -ENOEXEC;
}

static int read_loads(struct sup_agent_image *img, const uint8_t *f, size_t size,
		      const Elf64_Ehdr *eh, uint64_t *dyn_va)
{
	const Elf64_Phdr *ph;

	if (eh->e_phentsize != sizeof(*ph) ||
	    !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(*ph), size))
		return -ENOEXEC;
	ph = (const Elf64_Phdr *)(f + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		struct sup_agent_load *l;

		if (ph[i].p_type == PT_TLS || ph[i].p_type == PT_INTERP)
			return -ENOEXEC; /* nobody would set up its TLS */
		if (ph[i].p_type == PT_DYNAMIC)
			*dyn_va = ph[i].p_vaddr;
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (img->nload == SUP_AGENT_MAX_LOADS || ph[i].p_filesz > ph[i].p_memsz ||
		    !in_file(ph[i].p_offset, ph[i].p_filesz, size) ||
		    (ph[i].p_vaddr & 4095) != (ph[i].p_offset & 4095))
			return -ENOEXEC;
		l = &img->load[img->nload++];
		l->vaddr = ph[i].p_vaddr;
		l->memsz = ph[i].p_memsz;
		l->filesz = ph[i].p_filesz;
		l->offset = ph[i].p_offset;
		l->prot = (ph[i].p_flags & PF_R ? PROT_READ : 0) |
			  (ph[i].p_flags & PF_W ? PROT_WRITE : 0) |
			  (ph[i].p_flags & PF_X ? PROT_EXEC : 0);
		if (l->vaddr + l->memsz > img->span)
			img->span = l->vaddr + l->memsz;
	}
	img->span = (img->span + 4095) & ~4095ull;
	return img->nload && img->load[0].vaddr == 0 && img->load[0].offset == 0 ? 0 : -ENOEXEC;
}

/* DT_RELA's entries, all of which must be R_X86_64_RELATIVE. */
static int read_relocs(struct sup_agent_image *img, const uint8_t *f, size_t size, uint64_t dyn_va)
{
	uint64_t off, rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
	const Elf64_Dyn *d;
	const Elf64_Rela *r;

	if (vaddr_to_off(img, dyn_va, sizeof(*d), &off))
		return -ENOEXEC;
	for (d = (const Elf64_Dyn *)(f + off);; d++) {
		if (!in_file((uint64_t)((const uint8_t *)d - f), sizeof(*d), size))
			return -ENOEXEC;
		if (d->d_tag == DT_NULL)
			break;
		if (d->d_tag == DT_RELA)
			rela = d->d_un.d_ptr;
		else if (d->d_tag == DT_RELASZ)
			relasz = d->d_un.d_val;
		else if (d->d_tag == DT_RELAENT)
			relaent = d->d_un.d_val;
		else if ((d->d_tag == DT_PLTRELSZ && d->d_un.d_val) || d->d_tag == DT_REL ||
			 d->d_tag == DT_RELR || d->d_tag == DT_TEXTREL || d->d_tag == DT_NEEDED)
			return -ENOEXEC; /* more than relative relocations */
	}
	if (!relasz)
		return 0;
	if (relaent != sizeof(*r) || vaddr_to_off(img, rela, relasz, &off))
		return -ENOEXEC;
	r = (const Elf64_Rela *)(f + off);
	img->nrel = relasz / sizeof(*r);
	img->rel = calloc(img->nrel, sizeof(*img->rel));
	if (!img->rel)
		return -ENOMEM;
	for (size_t i = 0; i < img->nrel; i++) {
		/* the patched word must lie inside the image */
		if (ELF64_R_TYPE(r[i].r_info) != R_X86_64_RELATIVE || r[i].r_offset > img->span - 8)
			return -ENOEXEC;
		img->rel[i].offset = r[i].r_offset;
		img->rel[i].addend = (uint64_t)r[i].r_addend;
	}
	return 0;
}

static int read_symbols(struct sup_agent_image *img, const uint8_t *f, size_t size,
			const Elf64_Ehdr *eh)
{
	const Elf64_Shdr *sh;

	if (eh->e_shentsize != sizeof(*sh) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh), size))
		return -ENOEXEC;
	sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *str = &sh[sh[i].sh_link < eh->e_shnum ? sh[i].sh_link : 0];
		const Elf64_Sym *sym = (const Elf64_Sym *)(f + sh[i].sh_offset);

		if (sh[i].sh_type != SHT_DYNSYM || !in_file(sh[i].sh_offset, sh[i].sh_size, size) ||
		    !in_file(str->sh_offset, str->sh_size, size))
			continue;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++) {
			const char *name = (const char *)f + str->sh_offset + sym[k].st_name;

			/* the name must end inside the string table */
			if (sym[k].st_name >= str->sh_size ||
			    !memchr(name, '\0', str->sh_size - sym[k].st_name))
				continue;
			if (!strcmp(name, "bpftime_agent_main"))
				img->sym_main = sym[k].st_value;
			else if (!strcmp(name, "bpftime_agent_detach"))
				img->sym_detach = sym[k].st_value;
			else if (!strcmp(name, "bpftime_agent_trap"))
				img->sym_trap = sym[k].st_value;
		}
	}
	if (!img->sym_main || !img->sym_detach || !img->sym_trap)
		return -ENOEXEC;
	if (img->sym_main >= img->span || img->sym_detach >= img->span ||
	    img->sym_trap >= img->span)
		return -ENOEXEC;
	return 0;
}

static int parse_image(struct sup_agent_image *img, const uint8_t *f, size_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	uint64_t dyn_va = UINT64_MAX;
	int err;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_DYN)
		return -ENOEXEC;
	err = read_loads(img, f, size, eh, &dyn_va);
	if (!err && dyn_va != UINT64_MAX)
		err = read_relocs(img, f, size, dyn_va);
	if (!err)
		err = read_symbols(img, f, size, eh);
	return err;
}

int sup_agent_image_load(struct sup_agent_image *img, const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *f;
	int err;

	memset(img, 0, sizeof(*img));
	if (fd < 0 || fstat(fd, &st))
		return -errno;
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr) || st.st_size > (64 << 20))
		return -ENOEXEC;
	f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		return -errno;
	snprintf(img->path, sizeof(img->path), "%s", path);
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	err = parse_image(img, f, (size_t)st.st_size);
	munmap(f, (size_t)st.st_size);
	if (err) {
		sup_log(SUP_LOG_ERROR,
			"%s is not an agent the injector can load (it needs PT_LOAD segments, "
			"R_X86_64_RELATIVE relocations only and the bpftime_agent_* entry points)",
			path);
		sup_agent_image_free(img);
	}
	return err;
}

void sup_agent_image_free(struct sup_agent_image *img)
{
	free(img->rel);
	img->rel = NULL;
	img->nrel = 0;
}

/* <dir of /proc/self/exe>/<rel>/libbpftime-agent.so, when it exists. */
static int agent_next_to_us(const char *rel, char *out, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int m;

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	m = snprintf(out, len, "%s/%s/" BPFTIME_AGENT_SONAME, exe, rel);
	if (m < 0 || (size_t)m >= len)
		return -ENAMETOOLONG;
	return access(out, R_OK) ? -errno : 0;
}

int sup_agent_path(char *out, size_t len)
{
	const char *env = getenv("BPFTIME_AGENT");
	char tmp[PATH_MAX];
	int err;

	if (env && *env)
		snprintf(tmp, sizeof(tmp), "%s", env);
	else if (agent_next_to_us("../lib", tmp, sizeof(tmp)) &&
		 agent_next_to_us("../" BPFTIME_LIBDIR, tmp, sizeof(tmp))) {
		sup_log(SUP_LOG_ERROR,
			"cannot find " BPFTIME_AGENT_SONAME " next to bpftime (../lib or "
			"../" BPFTIME_LIBDIR "): set BPFTIME_AGENT to its path");
		return -ENOENT;
	}
	/* LD_PRELOAD and the target's open() want an absolute path */
	if (!realpath(tmp, out)) {
		err = -errno;
		sup_log(SUP_LOG_ERROR, "agent %s: %s", tmp, strerror(-err));
		return err;
	}
	(void)len; /* realpath writes at most PATH_MAX: callers pass that */
	return 0;
}
