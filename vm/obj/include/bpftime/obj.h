/* SPDX-License-Identifier: MIT */
/*
 * bpftime obj: reading BPF ELF objects as clang -target bpf writes them,
 * without the kernel, for bpftime-vm and the benchmarks.
 *
 * Programs are the functions in executable sections other than .text (the
 * first function of .text when there are no such sections). Each program
 * comes out linked, as libbpf links it: the .text functions it calls (or
 * takes the address of, for bpf_loop callbacks) are appended after it and
 * the call and BPF_PSEUDO_FUNC offsets fixed. Map references come out as
 * BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE with the index of the map in
 * this object's map list; global data sections (.data*, .rodata*, .bss) are
 * maps too (array, one element), as libbpf makes them.
 *
 * Limits: all of .text is appended, not only the functions a program
 * reaches, so a .text function that cannot be linked (an extern, a kfunc
 * call) fails every program that uses .text. Legacy 'maps' sections
 * (struct bpf_map_def), externs (.kconfig, .ksyms) and kfunc calls are
 * refused with EOPNOTSUPP. Objects must be little-endian (-target bpf on
 * x86-64 and arm64 hosts).
 *
 * Thread safety: an opened obj may be read from any thread. Loading vms
 * through bpftime_obj__resolve_ldimm64 makes the global data copies, so
 * loads of one obj's programs must not run concurrently; runs may.
 */
#ifndef BPFTIME_OBJ_H
#define BPFTIME_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>
#include <bpftime/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpftime_obj;

/**
 * @brief A map the object declares. Order: the BTF-defined maps of .maps as
 * the '.maps' DATASEC lists them, then one per non-empty .data*, .rodata*
 * or .bss* section, in section order.
 */
struct bpftime_obj_map {
	const char *name; /* "counts", or ".data", ".rodata", ".bss", ".rodata.str1.1" */
	uint32_t type;    /* BPF_MAP_TYPE_*; ARRAY for global data */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags; /* BPF_F_RDONLY_PROG for .rodata */
	bool global_data;   /* a .data/.rodata/.bss section */
	const void *init;   /* global data: the section's bytes (NULL for .bss) */
	size_t init_size;   /* == value_size when init is set */
};

/**
 * @brief Parse the object at @path and link its programs. On failure
 * returns NULL, sets errno and, when @err is not NULL, writes one line
 * "<path>: <problem>" into it (truncated to @err_size):
 *   ENOEXEC     not a BPF ELF object (magic, class, byte order, e_machine,
 *               e_type)
 *   EINVAL      malformed: anything out of bounds or inconsistent
 *   EOPNOTSUPP  a feature this reader refuses (see above)
 *   E2BIG       a program or a global data section too large
 *   ENOMEM; and open/read errors (ENOENT, EACCES, EISDIR...)
 * Every size, offset and index in the file is checked: no input crashes it.
 */
struct bpftime_obj *bpftime_obj__open(const char *path, char *err, size_t err_size);

/**
 * @brief As bpftime_obj__open, from @size bytes at @buf (copied; the caller
 * keeps @buf). Messages name the input "(memory)". Fuzzable.
 */
struct bpftime_obj *bpftime_obj__open_mem(const void *buf, size_t size, char *err, size_t err_size);

/** @brief Free @obj and every buffer it handed out; NULL is accepted. */
void bpftime_obj__free(struct bpftime_obj *obj);

/**
 * @brief Number of programs: the functions of executable sections other
 * than .text, in section order then offset order. An object without such
 * sections has one, the first function of .text (or all of .text, named
 * ".text", when it has no function symbol); one without code has none.
 */
size_t bpftime_obj__prog_cnt(const struct bpftime_obj *obj);
/** @brief The function's symbol name; NULL when @idx is out of range. */
const char *bpftime_obj__prog_name(const struct bpftime_obj *obj, size_t idx);
/** @brief The ELF section it lives in ("uprobe/...", "xdp", ".text"); NULL out of range. */
const char *bpftime_obj__prog_section(const struct bpftime_obj *obj, size_t idx);
/** @brief Index of the first program whose section or name is @name; -ENOENT, -EINVAL. */
int bpftime_obj__prog_find(const struct bpftime_obj *obj, const char *name);
/**
 * @brief The linked instructions of program @idx (NULL out of range), owned
 * by @obj: the program, then all of .text if it calls or takes the address
 * of a .text function. Maps are BPF_PSEUDO_MAP_IDX (BTF maps) and
 * BPF_PSEUDO_MAP_IDX_VALUE (global data, next imm = byte offset) ld_imm64s;
 * callbacks BPF_PSEUDO_FUNC; calls BPF_PSEUDO_CALL, all relative.
 */
const struct bpf_insn *bpftime_obj__prog_insns(const struct bpftime_obj *obj, size_t idx,
					       size_t *cnt);

size_t bpftime_obj__map_cnt(const struct bpftime_obj *obj);
/** @brief Map @idx, owned by @obj; NULL out of range. */
const struct bpftime_obj_map *bpftime_obj__map(const struct bpftime_obj *obj, size_t idx);

/**
 * @brief A bpftime_vm_ldimm64_fn for vms that run this object's programs
 * (opts.host = the obj): BPF_PSEUDO_MAP_IDX_VALUE on global data resolves to
 * the address of the obj's own copy of that section (made on first use from
 * the section's bytes, zeroed for .bss, and shared by every program of the
 * obj); other maps give -EOPNOTSUPP (no map runtime here yet).
 * @return 0; -EINVAL for an index or offset out of range (as the kernel's
 * array_map_direct_value_addr), -EOPNOTSUPP, -ENOMEM. Not thread-safe.
 */
int bpftime_obj__resolve_ldimm64(void *obj, const struct bpftime_vm_ldimm64 *req, uint64_t *value);

/**
 * @brief Register the obj's global data copies as regions of @vm for the
 * bounds-checked mode (.rodata read-only). Call after load (the copies are
 * made while resolving).
 * @return 0 or -errno from bpftime_vm__add_region.
 */
int bpftime_obj__add_regions(struct bpftime_obj *obj, struct bpftime_vm *vm);

/**
 * @brief The obj's copy of global data map @idx (value_size bytes): what
 * programs read and wrote. NULL before first use, for other maps and out
 * of range.
 */
void *bpftime_obj__global_data(struct bpftime_obj *obj, size_t idx);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_OBJ_H */
