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
 */
#ifndef BPFTIME_OBJ_H
#define BPFTIME_OBJ_H

#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>
#include <bpftime/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpftime_obj;

/** @brief A map the object declares (BTF-defined in .maps, or global data). */
struct bpftime_obj_map {
	const char *name;      /* "counts", or ".data", ".rodata", ".bss", ".rodata.str1.1" */
	uint32_t type;         /* BPF_MAP_TYPE_*; ARRAY for global data */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;    /* BPF_F_RDONLY_PROG for .rodata */
	bool global_data;      /* a .data/.rodata/.bss section */
	const void *init;      /* global data: the section's bytes (NULL for .bss) */
	size_t init_size;
};

/**
 * @brief Parse the object at @path. On failure returns NULL, sets errno and,
 * when @err is not NULL, writes a message naming the file and the problem.
 */
struct bpftime_obj *bpftime_obj__open(const char *path, char *err, size_t err_size);

/** @brief As bpftime_obj__open, from memory (copied). Fuzzable. */
struct bpftime_obj *bpftime_obj__open_mem(const void *buf, size_t size, char *err,
					  size_t err_size);

/** @brief Free @obj and every buffer it handed out; NULL is accepted. */
void bpftime_obj__free(struct bpftime_obj *obj);

size_t bpftime_obj__prog_cnt(const struct bpftime_obj *obj);
/** @brief The function's symbol name. */
const char *bpftime_obj__prog_name(const struct bpftime_obj *obj, size_t idx);
/** @brief The ELF section it lives in ("uprobe/...", "xdp", ".text"). */
const char *bpftime_obj__prog_section(const struct bpftime_obj *obj, size_t idx);
/** @brief Index of the first program whose section or name is @name, or -ENOENT. */
int bpftime_obj__prog_find(const struct bpftime_obj *obj, const char *name);
/** @brief The linked instructions of program @idx; owned by @obj. */
const struct bpf_insn *bpftime_obj__prog_insns(const struct bpftime_obj *obj, size_t idx,
					       size_t *cnt);

size_t bpftime_obj__map_cnt(const struct bpftime_obj *obj);
const struct bpftime_obj_map *bpftime_obj__map(const struct bpftime_obj *obj, size_t idx);

/**
 * @brief A bpftime_vm_ldimm64_fn for vms that run this object's programs
 * (opts.host = the obj): BPF_PSEUDO_MAP_IDX_VALUE on global data resolves to
 * the address of the obj's own copy of that section (made on first use from
 * the section's bytes, zeroed for .bss, and shared by every program of the
 * obj); other maps give -EOPNOTSUPP (no map runtime here yet).
 */
int bpftime_obj__resolve_ldimm64(void *obj, const struct bpftime_vm_ldimm64 *req,
				 uint64_t *value);

/**
 * @brief Register the obj's global data copies as regions of @vm for the
 * bounds-checked mode (.rodata read-only). Call after load (the copies are
 * made while resolving).
 * @return 0 or -errno from bpftime_vm__add_region.
 */
int bpftime_obj__add_regions(struct bpftime_obj *obj, struct bpftime_vm *vm);

/** @brief The obj's copy of global data map @idx (NULL before first use). */
void *bpftime_obj__global_data(struct bpftime_obj *obj, size_t idx);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_OBJ_H */
