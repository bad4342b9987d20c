/* SPDX-License-Identifier: MIT */
/*
 * Internal layout of the obj module, shared by its parts:
 *
 *   obj.c       open/free, accessors; drives the steps below in order
 *   obj-elf.c   ELF header, sections, symbols, relocations (libelf)
 *   obj-btf.c   the .BTF section: header, type table, strings, sizes
 *   obj-maps.c  maps: BTF-defined ones in .maps, global data sections
 *   obj-link.c  programs: discovery, relocation, appending .text
 *   obj-data.c  the runtime side: ld_imm64 resolution, regions
 *
 * Parsing works on a private copy of the file (struct obj_ctx), which is
 * dropped once the object is built: a struct bpftime_obj owns only what it
 * hands out (names, linked instructions, map definitions and data).
 */
#ifndef BPFTIME_OBJ_INTERNAL_H
#define BPFTIME_OBJ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <linux/btf.h>
#include <bpftime/obj.h>

#define OBJ_INSN_SZ ((uint64_t)sizeof(struct bpf_insn))

struct obj_prog {
	char *name;
	char *sec_name;
	struct bpf_insn *insns; /* linked */
	size_t cnt;
};

struct obj_map {
	struct bpftime_obj_map pub; /* pub.name and pub.init are owned here */
	size_t shndx;               /* while parsing: .maps or the data section */
	uint64_t sec_off;           /* .maps: offset of the map variable */
	void *data;                 /* global data: the live copy, made on first resolve */
};

struct bpftime_obj {
	struct obj_prog *progs;
	size_t nr_progs;
	struct obj_map *maps;
	size_t nr_maps;
};

/* ---- parse state, alive only during bpftime_obj__open_mem ---- */

struct obj_rel {
	uint64_t off; /* byte offset in the target section, a multiple of 8 */
	uint32_t type;
	uint32_t sym; /* < ctx->nr_syms */
};

struct obj_sec {
	const char *name;
	GElf_Shdr sh;
	const uint8_t *data;  /* sh.sh_size bytes, NULL when not loaded or NOBITS */
	struct obj_rel *rels; /* exec sections: sorted by offset, no duplicates */
	size_t nr_rels;
};

struct obj_sym {
	const char *name; /* STT_SECTION symbols get their section's name */
	uint64_t value;
	uint64_t size;
	size_t shndx; /* SHN_UNDEF, SHN_ABS, ... or < ctx->nr_secs */
	uint8_t type;
	uint8_t bind;
};

struct obj_btf {
	void *buf; /* aligned copy of the section */
	const uint8_t *types;
	uint32_t types_len;
	const char *strs; /* strs[strs_len - 1] == '\0' */
	uint32_t strs_len;
	uint32_t nr_types; /* ids 1..nr_types are valid; 0 is void */
	uint32_t *offs;    /* offs[id]: offset of type @id in types */
};

struct obj_ctx {
	struct bpftime_obj *obj;
	const char *name; /* the file, for messages */
	char *err;
	size_t err_size;
	void *image; /* our copy of the file */
	size_t size;
	Elf *elf;
	struct obj_sec *secs;
	size_t nr_secs;
	struct obj_sym *syms;
	size_t nr_syms;
	size_t text;     /* section index of .text; 0: none */
	size_t maps_sec; /* section index of .maps; 0: none */
	size_t btf_sec;  /* section index of .BTF; 0: none */
	struct obj_btf btf;
};

/* obj.c: write "<file>: <message>" once (the innermost failure wins). */
int obj_error(struct obj_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* obj-elf.c */
int obj_elf_open(struct obj_ctx *ctx);
int obj_elf_sections(struct obj_ctx *ctx);
int obj_elf_load(struct obj_ctx *ctx, size_t idx);
int obj_elf_symbols(struct obj_ctx *ctx);
int obj_elf_relocs(struct obj_ctx *ctx);
bool obj_sec_is_exec(const struct obj_ctx *ctx, size_t idx);
void obj_elf_close(struct obj_ctx *ctx);

/* obj-btf.c */
int obj_btf_parse(struct obj_ctx *ctx, const void *data, size_t size);
void obj_btf_free(struct obj_btf *btf);
const struct btf_type *obj_btf_type(const struct obj_btf *btf, uint32_t id);
const char *obj_btf_str(const struct obj_btf *btf, uint32_t off);
int obj_btf_skip_mods(struct obj_ctx *ctx, uint32_t id, uint32_t *out);
int obj_btf_size(struct obj_ctx *ctx, uint32_t id, uint32_t *size);
int obj_btf_find_datasec(const struct obj_btf *btf, const char *name);

/* obj-maps.c */
int obj_collect_maps(struct obj_ctx *ctx);
int obj_map_by_sym(const struct obj_ctx *ctx, const struct obj_sym *sym);

/* obj-link.c */
int obj_collect_progs(struct obj_ctx *ctx);

#endif /* BPFTIME_OBJ_INTERNAL_H */
