// SPDX-License-Identifier: MIT
/*
 * The linker of one object: LLVM's ELF relocatable output becomes an image
 * (vm-image.h) whose code needs no relocation where it lands.
 *
 * Every allocated section but .eh_frame (nothing unwinds through BPF code)
 * is placed one after the other, text first, each at its alignment. Then
 * every relocation is applied against that layout: symbols defined in a
 * placed section resolve to their offset, the data slots (undefined symbols
 * JIT_SLOT_PREFIX<k>) to vm_image_data_off(code length) + 8k. Only
 * PC-relative 32-bit relocations are accepted: an absolute address, a GOT
 * or any other kind would need the loader this design avoids, and is
 * refused with its type named.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "jit-internal.h"

struct obj {
	const uint8_t *p;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	uint16_t shnum;
	int64_t *place; /* offset of each section in the code, -1 if not placed */
	uint32_t code_len;
};

static bool in_obj(const struct obj *o, uint64_t off, uint64_t size)
{
	return off <= o->len && size <= o->len - off;
}

static const char *sec_name(const struct obj *o, uint16_t i)
{
	const Elf64_Shdr *strs = &o->sh[o->eh->e_shstrndx];

	if (o->sh[i].sh_name >= strs->sh_size)
		return "";
	return (const char *)o->p + strs->sh_offset + o->sh[i].sh_name;
}

static int parse(struct obj *o, struct jit_err *e)
{
	o->eh = (const Elf64_Ehdr *)o->p;
	if (o->len < sizeof(*o->eh) || memcmp(o->eh->e_ident, ELFMAG, SELFMAG) ||
	    o->eh->e_ident[EI_CLASS] != ELFCLASS64 || o->eh->e_type != ET_REL ||
	    o->eh->e_machine != EM_X86_64 || o->eh->e_shentsize != sizeof(Elf64_Shdr))
		return jit_error(e, -EIO, "LLVM's output is not an x86-64 relocatable ELF object");
	o->shnum = o->eh->e_shnum;
	if (!in_obj(o, o->eh->e_shoff, (uint64_t)o->shnum * sizeof(Elf64_Shdr)) ||
	    o->eh->e_shstrndx >= o->shnum)
		return jit_error(e, -EIO, "LLVM's object has a bad section table");
	o->sh = (const Elf64_Shdr *)(o->p + o->eh->e_shoff);
	for (uint16_t i = 0; i < o->shnum; i++)
		if (o->sh[i].sh_type != SHT_NOBITS &&
		    !in_obj(o, o->sh[i].sh_offset, o->sh[i].sh_size))
			return jit_error(e, -EIO, "LLVM's object: section %u out of bounds", i);
	return 0;
}

static bool placed_section(const struct obj *o, uint16_t i)
{
	return (o->sh[i].sh_flags & SHF_ALLOC) && o->sh[i].sh_size &&
	       strcmp(sec_name(o, i), ".eh_frame") != 0;
}

/* Text sections first (the entry table points into them), then the rest. */
static int place(struct obj *o, struct jit_err *e)
{
	uint64_t off = 0;

	o->place = malloc(o->shnum * sizeof(*o->place));
	if (!o->place)
		return jit_error(e, -ENOMEM, "out of memory");
	for (uint16_t i = 0; i < o->shnum; i++)
		o->place[i] = -1;
	for (int pass = 0; pass < 2; pass++)
		for (uint16_t i = 0; i < o->shnum; i++) {
			uint64_t align = o->sh[i].sh_addralign ? o->sh[i].sh_addralign : 1;
			bool text = (o->sh[i].sh_flags & SHF_EXECINSTR) != 0;

			if (!placed_section(o, i) || text != (pass == 0))
				continue;
			if (o->sh[i].sh_flags & SHF_WRITE)
				return jit_error(e, -EOPNOTSUPP,
						 "the program needs writable data (%s)",
						 sec_name(o, i));
			if (align > VM_IMAGE_PAGE || (align & (align - 1)))
				return jit_error(e, -EIO, "section %s: alignment %llu",
						 sec_name(o, i), (unsigned long long)align);
			off = (off + align - 1) & ~(align - 1);
			o->place[i] = (int64_t)off;
			off += o->sh[i].sh_size;
		}
	if (off == 0 || off > (1u << 30))
		return jit_error(e, -EIO, "code of %llu bytes", (unsigned long long)off);
	o->code_len = (uint32_t)off;
	return 0;
}

static void copy_sections(const struct obj *o, uint8_t *code)
{
	for (uint16_t i = 0; i < o->shnum; i++) {
		if (o->place[i] < 0)
			continue;
		if (o->sh[i].sh_type == SHT_NOBITS)
			memset(code + o->place[i], 0, o->sh[i].sh_size);
		else
			memcpy(code + o->place[i], o->p + o->sh[i].sh_offset, o->sh[i].sh_size);
	}
}

static const Elf64_Sym *symtab(const struct obj *o, uint32_t link, size_t *n, const char **strs)
{
	const Elf64_Shdr *s = &o->sh[link];

	if (link >= o->shnum || s->sh_type != SHT_SYMTAB || s->sh_entsize != sizeof(Elf64_Sym) ||
	    s->sh_link >= o->shnum)
		return NULL;
	*n = s->sh_size / sizeof(Elf64_Sym);
	*strs = (const char *)o->p + o->sh[s->sh_link].sh_offset;
	return (const Elf64_Sym *)(o->p + s->sh_offset);
}

/* The code offset a symbol stands for: placed sections, or a data slot. */
static int sym_value(const struct obj *o, const Elf64_Sym *sym, const char *name, uint32_t nr_slots,
		     int64_t *v, struct jit_err *e)
{
	size_t plen = strlen(JIT_SLOT_PREFIX);

	if (sym->st_shndx == SHN_UNDEF) {
		char *end;
		unsigned long k;

		if (strncmp(name, JIT_SLOT_PREFIX, plen) != 0)
			return jit_error(e, -EOPNOTSUPP,
					 "the code calls '%s', which an image cannot link", name);
		k = strtoul(name + plen, &end, 10);
		if (*end || k >= nr_slots)
			return jit_error(e, -EIO, "unknown data slot '%s'", name);
		*v = (int64_t)vm_image_data_off(o->code_len) + 8 * (int64_t)k;
		return 0;
	}
	if (sym->st_shndx >= o->shnum || o->place[sym->st_shndx] < 0)
		return jit_error(e, -EIO, "symbol '%s' in a section that is not placed", name);
	*v = o->place[sym->st_shndx] + (int64_t)sym->st_value;
	return 0;
}

static int apply_one(const struct obj *o, uint8_t *code, uint16_t target, const Elf64_Rela *r,
		     const Elf64_Sym *syms, size_t nsyms, const char *strs, uint32_t nr_slots,
		     struct jit_err *e)
{
	uint32_t type = ELF64_R_TYPE(r->r_info), si = ELF64_R_SYM(r->r_info);
	int64_t s, p, v;
	int32_t v32;
	int err;

	if (si >= nsyms)
		return jit_error(e, -EIO, "relocation against symbol %u of %zu", si, nsyms);
	if (type != R_X86_64_PC32 && type != R_X86_64_PLT32)
		return jit_error(e, -EOPNOTSUPP,
				 "relocation type %u against '%s' in %s: not position-independent",
				 type, strs + syms[si].st_name, sec_name(o, target));
	if (r->r_offset + 4 > o->sh[target].sh_size)
		return jit_error(e, -EIO, "relocation past its section");
	err = sym_value(o, &syms[si], strs + syms[si].st_name, nr_slots, &s, e);
	if (err)
		return err;
	p = o->place[target] + (int64_t)r->r_offset;
	v = s + r->r_addend - p;
	if (v != (int32_t)v)
		return jit_error(e, -EIO, "relocation out of 32-bit range");
	v32 = (int32_t)v;
	memcpy(code + p, &v32, 4);
	return 0;
}

static int relocate(const struct obj *o, uint8_t *code, uint32_t nr_slots, struct jit_err *e)
{
	for (uint16_t i = 0; i < o->shnum; i++) {
		const Elf64_Shdr *rs = &o->sh[i];
		const Elf64_Rela *rel;
		const Elf64_Sym *syms;
		const char *strs;
		size_t nsyms;
		int err;

		if (rs->sh_type == SHT_REL)
			return jit_error(e, -EIO, "REL relocations in LLVM's object");
		if (rs->sh_type != SHT_RELA || rs->sh_info >= o->shnum || o->place[rs->sh_info] < 0)
			continue;
		syms = symtab(o, rs->sh_link, &nsyms, &strs);
		if (!syms || rs->sh_entsize != sizeof(Elf64_Rela))
			return jit_error(e, -EIO, "bad relocation section %s", sec_name(o, i));
		rel = (const Elf64_Rela *)(o->p + rs->sh_offset);
		for (size_t k = 0; k < rs->sh_size / sizeof(*rel); k++) {
			err = apply_one(o, code, (uint16_t)rs->sh_info, &rel[k], syms, nsyms, strs,
					nr_slots, e);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Call @fn(@arg, name, code offset) for each JIT_FUNC_PREFIX<insn> and
 * JIT_ENTRY_NAME symbol the object defines; stops at the first non-zero. */
static int each_defined(const struct obj *o, struct jit_err *e,
			int (*fn)(void *arg, const char *name, uint32_t code), void *arg)
{
	for (uint16_t i = 0; i < o->shnum; i++) {
		const Elf64_Sym *syms;
		const char *strs;
		size_t n;

		if (o->sh[i].sh_type != SHT_SYMTAB || !(syms = symtab(o, i, &n, &strs)))
			continue;
		for (size_t k = 0; k < n; k++) {
			const char *name = strs + syms[k].st_name;
			int64_t v;
			int err;

			if (syms[k].st_shndx == SHN_UNDEF ||
			    (strncmp(name, JIT_FUNC_PREFIX, strlen(JIT_FUNC_PREFIX)) &&
			     strcmp(name, JIT_ENTRY_NAME)))
				continue;
			if (sym_value(o, &syms[k], name, 0, &v, e))
				return -EIO;
			err = fn(arg, name, (uint32_t)v);
			if (err)
				return err;
		}
	}
	return 0;
}

/* What the symbols say: each BPF function's code, and the fast entry. */
struct found_funcs {
	const struct bpftime_vm *vm;
	struct vm_image_func *funcs;
	uint32_t cap, nr;
	bool has_entry;
	uint32_t entry;
	struct jit_err *e;
};

static int found_one(void *arg, const char *name, uint32_t code)
{
	struct found_funcs *f = arg;
	unsigned long insn;
	char *end;

	if (!strcmp(name, JIT_ENTRY_NAME)) {
		f->has_entry = true;
		f->entry = code;
		return 0;
	}
	insn = strtoul(name + strlen(JIT_FUNC_PREFIX), &end, 10);
	if (*end || insn >= f->vm->cnt || !f->vm->is_func[insn])
		return 0;
	if (f->nr >= f->cap)
		return jit_error(f->e, -EIO, "function '%s' defined twice", name);
	f->funcs[f->nr++] = (struct vm_image_func){.insn = (uint32_t)insn, .code = code};
	return 0;
}

static uint32_t align16(uint64_t v)
{
	return (uint32_t)((v + 15) & ~15ull);
}

static int assemble(const struct obj *o, const struct bpftime_vm *vm, const struct jit_slots *slots,
		    void **image, size_t *image_len, struct jit_err *e)
{
	struct found_funcs f = {.vm = vm, .e = e};
	uint32_t nfuncs = 0;
	uint32_t funcs_off = align16(sizeof(struct vm_image_hdr));
	uint32_t slots_off, code_off, total;
	struct vm_image_hdr *h;
	uint8_t *img;
	int err;

	for (uint32_t i = 0; i < vm->cnt; i++)
		nfuncs += vm->is_func[i];
	slots_off = align16((uint64_t)funcs_off + nfuncs * sizeof(struct vm_image_func));
	code_off = align16((uint64_t)slots_off + slots->nr * sizeof(struct vm_image_slot));
	total = code_off + o->code_len;
	img = calloc(1, total);
	if (!img)
		return jit_error(e, -ENOMEM, "out of memory");
	h = (struct vm_image_hdr *)img;
	copy_sections(o, img + code_off);
	f.funcs = (struct vm_image_func *)(img + funcs_off);
	f.cap = nfuncs;
	err = relocate(o, img + code_off, slots->nr, e);
	if (!err)
		err = each_defined(o, e, found_one, &f);
	if (!err && f.nr != nfuncs)
		err =
		    jit_error(e, -EIO, "%u of the program's %u functions have code", f.nr, nfuncs);
	/* every image has its entry (vm-image.h) but a counting one */
	if (!err && f.has_entry == (vm->opts.bounds_check && vm->opts.insn_limit))
		err = jit_error(e, -EIO, "the entry is %s",
				f.has_entry ? "in counting code" : "missing");
	if (err) {
		free(img);
		return err;
	}
	memcpy(h->magic, VM_IMAGE_MAGIC, sizeof(VM_IMAGE_MAGIC));
	h->abi = VM_IMAGE_ABI;
	h->flags = (vm->opts.bounds_check ? VM_IMAGE_CHECKED : 0) |
		   (vm->opts.bounds_check && vm->opts.insn_limit ? VM_IMAGE_COUNTED : 0);
	h->insn_hash = vm->insn_hash;
	h->dec_hash = bpftime_vm_dec_hash(vm);
	h->insn_cnt = vm->cnt;
	h->funcs_off = funcs_off;
	h->nr_slots = slots->nr;
	h->slots_off = slots_off;
	if (slots->nr)
		memcpy(img + slots_off, slots->v, slots->nr * sizeof(*slots->v));
	h->nr_funcs = f.nr;
	if (f.has_entry) {
		h->flags |= VM_IMAGE_ENTRY;
		h->entry_code = f.entry;
	}
	h->code_off = code_off;
	h->code_len = o->code_len;
	h->total_len = total;
	*image = img;
	*image_len = total;
	return 0;
}

int jit_link(const struct bpftime_vm *vm, const void *objp, size_t obj_len,
	     const struct jit_slots *slots, void **image, size_t *image_len, struct jit_err *e)
{
	struct obj o = {.p = objp, .len = obj_len};
	int err;

	err = parse(&o, e);
	if (!err)
		err = place(&o, e);
	if (!err)
		err = assemble(&o, vm, slots, image, image_len, e);
	free(o.place);
	return err;
}
