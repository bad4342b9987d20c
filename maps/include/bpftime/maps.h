/* SPDX-License-Identifier: MIT */
/*
 * bpftime maps: every eBPF map type, in memory shared by the processes of a
 * session, with the kernel's semantics.
 *
 *   region    one file per session (default /dev/shm/bpftime-<session>/maps),
 *             mapped by every process at its own address; everything inside
 *             is addressed by offsets. It grows in place: each process
 *             reserves the address space once and maps more of the file as
 *             it grows, so nothing already mapped ever moves.
 *   map       a descriptor and its data in the region (maps a tool mmaps, such
 *             as ring buffers and BPF_F_MMAPABLE arrays, keep their data in a
 *             file of their own next to the region, with the kernel's layout).
 *   handle    struct bpftime_map: this process's view of one map.
 *
 * Two sides, as in the kernel:
 *   - the syscall side (bpftime_map__lookup_elem & co.) has bpf(2)'s
 *     semantics: values are copied, per-CPU values come as one
 *     round_up(value_size, 8) slot per CPU, errors are the kernel's errno;
 *   - the program side (bpftime_map__prog_*) has the helpers' semantics:
 *     lookups return pointers into the map, per-CPU maps act on one CPU slot.
 *
 * Operation paths (both sides, batch operations included) make no libc
 * call, do not allocate from the process heap and use no thread-local
 * storage: they run inside targets whose libc we cannot rely on. Creating,
 * opening and destroying use libc.
 *
 * Per-CPU maps and "CPUs": a thread that runs a program first takes a CPU
 * slot (bpftime_map_region__cpu_get), which no other thread in any process
 * holds until it is put back. Per-CPU values are indexed by slot, so two
 * threads that share a CPU, or a thread that migrates, never interleave
 * their updates of one per-CPU value.
 */
#ifndef BPFTIME_MAPS_H
#define BPFTIME_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPFTIME_MAP_MAX_MAPS 4096 /* map ids are 1 .. BPFTIME_MAP_MAX_MAPS - 1 */
#define BPFTIME_MAP_MAX_CPUS 1024

struct bpftime_map_region;
struct bpftime_map;

struct bpftime_map_region_opts {
	size_t sz; /* sizeof(struct bpftime_map_region_opts) */
	/* the region file; NULL: /dev/shm/bpftime-<session>/maps */
	const char *path;
	/* used when @path is NULL; NULL: "default" */
	const char *session;
	/* create a new region (replacing a file at @path) instead of joining one */
	bool create;
	/* create: the CPU slots of per-CPU maps; 0: the possible CPUs, as
	 * libbpf_num_possible_cpus() counts them */
	uint32_t nr_cpus;
	/* address space each process reserves; the region never grows past it.
	 * 0: 16 GiB (only what is used costs memory) */
	uint64_t max_size;
	size_t : 0;
};
#define bpftime_map_region_opts__last_field max_size

/**
 * @brief Create or join a region. Uses libc; not for the operation paths.
 * @return the region, or NULL with errno set (ENOENT: no region to join,
 * EINVAL: not a region of this version, ENOMEM, or the errno of the file
 * operation); a message goes to the log.
 */
struct bpftime_map_region *bpftime_map_region__open(const struct bpftime_map_region_opts *opts);

/** @brief Unmap the region; maps stay in the file for the other processes. NULL is accepted. */
void bpftime_map_region__close(struct bpftime_map_region *r);

/** @brief Remove the region's file and its maps' files (the creator, at the end). */
int bpftime_map_region__unlink(struct bpftime_map_region *r);

uint32_t bpftime_map_region__nr_cpus(const struct bpftime_map_region *r);
const char *bpftime_map_region__path(const struct bpftime_map_region *r);

/**
 * @brief Take a CPU slot for the calling thread, whose TID is @tid (the
 * caller caches it: a gettid() per run would cost more than the run): @hint
 * (the CPU it runs on) if free, else another one. Run path. Returns the
 * slot; it spins (yielding) while every slot is held, and takes over slots
 * whose holders died.
 */
uint32_t bpftime_map_region__cpu_get(struct bpftime_map_region *r, uint32_t hint, uint32_t tid);
void bpftime_map_region__cpu_put(struct bpftime_map_region *r, uint32_t slot);

/* The MAP_CREATE fields of union bpf_attr that maps use. */
struct bpftime_map_attr {
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t inner_map_id; /* map-in-map: id of the template map in this region */
	uint32_t numa_node;
	uint32_t btf_fd; /* stored, not interpreted */
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t btf_vmlinux_value_type_id;
	uint32_t pad;
	uint64_t map_extra; /* bloom filter: number of hash functions */
	char map_name[16];
};

/**
 * @brief Create a map, with the kernel's create-time checks for its type.
 * Uses libc (control plane). The message for a refusal goes to the log.
 * @return 0 with *@id set; -EINVAL (bad sizes or flags, unknown type: the
 * kernel's answer to an unknown map_type), -E2BIG, -ENOSPC (no free map id),
 * -ENOMEM (region full), -EOPNOTSUPP (a type the kernel has that we lack).
 */
int bpftime_map__create(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			uint32_t *id);

/** @brief Destroy map @id: no program or handle may use it any more. */
int bpftime_map__destroy(struct bpftime_map_region *r, uint32_t id);

/**
 * @brief This process's handle of map @id, or NULL with errno ENOENT. The
 * handle lives as long as the region handle. Thread-safe; no allocation.
 */
struct bpftime_map *bpftime_map__get(struct bpftime_map_region *r, uint32_t id);

uint32_t bpftime_map__id(const struct bpftime_map *m);
const struct bpftime_map_attr *bpftime_map__attr(const struct bpftime_map *m);

/**
 * @brief Path of the map's own data file (ring buffers, perf buffers,
 * BPF_F_MMAPABLE arrays: what a tool mmaps, in the kernel's layout), or
 * NULL for maps that live in the region only.
 */
const char *bpftime_map__file(const struct bpftime_map *m);

/** @brief Bytes of value a syscall-side lookup copies (per-CPU: all slots). */
uint32_t bpftime_map__value_size(const struct bpftime_map *m);

/* ---- syscall side: bpf(2) semantics, -errno returns ---- */

int bpftime_map__lookup_elem(struct bpftime_map *m, const void *key, void *value, uint64_t flags);
int bpftime_map__update_elem(struct bpftime_map *m, const void *key, const void *value,
			     uint64_t flags);
int bpftime_map__delete_elem(struct bpftime_map *m, const void *key);
/* @key NULL (or, for hash maps, a missing key): the first key */
int bpftime_map__get_next_key(struct bpftime_map *m, const void *key, void *next_key);
int bpftime_map__lookup_and_delete_elem(struct bpftime_map *m, const void *key, void *value,
					uint64_t flags);
int bpftime_map__freeze(struct bpftime_map *m);
bool bpftime_map__frozen(const struct bpftime_map *m);

/*
 * Batches, as BPF_MAP_*_BATCH: @in_batch NULL starts; @out_batch receives
 * the token to continue from (bpftime_map__batch_token_size bytes); *@count
 * is the room in @keys/@values on entry and the number of elements on exit.
 * The last batch returns -ENOENT together with its elements.
 */
uint32_t bpftime_map__batch_token_size(const struct bpftime_map *m);
int bpftime_map__lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
			      void *keys, void *values, uint32_t *count, uint64_t elem_flags,
			      bool and_delete);
int bpftime_map__update_batch(struct bpftime_map *m, const void *keys, const void *values,
			      uint32_t *count, uint64_t elem_flags);
int bpftime_map__delete_batch(struct bpftime_map *m, const void *keys, uint32_t *count,
			      uint64_t elem_flags);

/* ---- program side: helper semantics, run path ---- */

/* bpf_map_lookup_elem: a pointer to the value (of @cpu for per-CPU maps) or NULL */
void *bpftime_map__prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu);
long bpftime_map__prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu);
long bpftime_map__prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu);
/* bpf_map_push_elem / pop / peek (queue, stack, bloom filter) */
long bpftime_map__prog_push(struct bpftime_map *m, const void *value, uint64_t flags);
long bpftime_map__prog_pop(struct bpftime_map *m, void *value);
long bpftime_map__prog_peek(struct bpftime_map *m, void *value);

/* ---- logging ---- */

enum bpftime_map_log_level { BPFTIME_MAP_WARN, BPFTIME_MAP_INFO, BPFTIME_MAP_DEBUG };
typedef void (*bpftime_map_log_fn)(enum bpftime_map_log_level level, const char *msg);
/* Where messages go (default: stderr, "maps: " prefix, WARN only unless
 * BPFTIME_LOG_LEVEL=info|debug). Returns the previous function. */
bpftime_map_log_fn bpftime_map_set_log(bpftime_map_log_fn fn);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_MAPS_H */
