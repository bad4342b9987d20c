/* SPDX-License-Identifier: MIT */
/*
 * Internal layout of the maps module.
 *
 * Region file (every offset is from the start of the file):
 *
 *   0            struct region_hdr: magic, version, sizes, allocator state,
 *                the map table (id -> descriptor offset), CPU slot owners
 *   hdr_size..   blocks of the allocator: a 64-byte block header, then the
 *                payload; a block is a power of two bytes long
 *
 * Who writes what: the allocator fields and the map table are written under
 * their locks by whoever creates or destroys maps (the supervisor, tests);
 * a map's data is written by the map's operations, from any process; the
 * CPU slot owners by whoever takes or puts a slot.
 *
 * Every structure here crosses process boundaries: fixed-width fields, a
 * size or version field, and static size checks.
 */
#ifndef BPFTIME_MAP_INTERNAL_H
#define BPFTIME_MAP_INTERNAL_H

#include <limits.h>
#include <linux/limits.h> /* PATH_MAX, also for freestanding builds (the agent) */
#include <stddef.h>
#include <stdint.h>
#include <bpftime/maps.h>
#include "map-sync.h"

/* REGION_VERSION 2: bpftime_map_attr.spin_lock_off (map_desc grew) */
#define REGION_MAGIC       0x4d505442u /* "BTPM" */
#define REGION_VERSION     2
#define REGION_NR_CLASSES  48 /* blocks of 2^6 .. 2^53 bytes */
#define REGION_MIN_CLASS   7  /* 128 bytes: header + 64 bytes of payload */
#define REGION_BLOCK_HDR   64 /* payloads are 64-byte aligned */
#define REGION_GROW_STEP   (4ull << 20)
#define REGION_DEFAULT_MAX (16ull << 30)

struct region_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size; /* sizeof(struct region_hdr) of the creator */
	uint32_t nr_cpus;
	uint64_t max_size;                      /* address space every process reserves */
	uint64_t size;                          /* bytes of the file; only grows (release store) */
	uint64_t bump;                          /* first never-allocated byte */
	uint64_t free_class[REGION_NR_CLASSES]; /* offset of the first free block */
	uint32_t alloc_lock;                    /* bump, free_class, size */
	uint32_t table_lock;                    /* maps[], next_id */
	uint32_t next_id;
	uint32_t generation;                 /* bumped per create: names per-map files uniquely */
	uint64_t maps[BPFTIME_MAP_MAX_MAPS]; /* descriptor offset, 0: free */
	uint32_t cpu_owner[BPFTIME_MAP_MAX_CPUS]; /* TID holding the slot, 0: free */
	uint32_t reserved[2];
};
_Static_assert(sizeof(struct region_hdr) % 64 == 0, "blocks start 64-byte aligned");
_Static_assert(sizeof(struct region_hdr) == 40 + 8 * REGION_NR_CLASSES + 16 +
						8 * BPFTIME_MAP_MAX_MAPS +
						4 * BPFTIME_MAP_MAX_CPUS + 8,
	       "region_hdr has no hidden padding");

struct region_block {
	uint32_t cls; /* the block is 1 << cls bytes */
	uint32_t used;
	uint64_t next_free;    /* offset of the next free block of this class */
	uint64_t payload_size; /* what was asked for */
	uint8_t pad[REGION_BLOCK_HDR - 24];
};
_Static_assert(sizeof(struct region_block) == REGION_BLOCK_HDR, "block header size");

_Static_assert(sizeof(struct bpftime_map_attr) == 80, "bpftime_map_attr layout");
_Static_assert(offsetof(struct bpftime_map_attr, spin_lock_off) == 72, "bpftime_map_attr layout");

#define MAP_FILE_NAME_LEN 64

/* One map, shared. Type-specific state is at data_off. */
struct map_desc {
	uint32_t size; /* sizeof(struct map_desc) of the creator */
	uint32_t id;
	struct bpftime_map_attr attr;
	uint32_t nr_cpus;
	uint32_t frozen;        /* set once by freeze; read by syscall-side writers */
	uint32_t writable_maps; /* mmapable maps: writable mmaps seen (freeze refuses) */
	uint32_t lock;          /* for types that serialise every operation */
	uint64_t data_off;
	uint64_t data_size;
	char file[MAP_FILE_NAME_LEN]; /* data file name in the region's directory, or "" */
	uint64_t gen;                 /* unique per creation: a handle is stale if it differs */
	uint64_t reserved[7];
};
_Static_assert(sizeof(struct map_desc) == 8 + 80 + 16 + 16 + MAP_FILE_NAME_LEN + 64,
	       "map_desc has no hidden padding");

struct map_ops;

/* This process's view of one map. */
struct bpftime_map {
	struct bpftime_map_region *r;
	struct map_desc *d;
	const struct map_ops *ops;
	uint8_t *data;     /* the type's state: region base + d->data_off */
	uint8_t *file_mem; /* maps with a data file: this process's mapping of it */
	uint64_t file_size;
	uint64_t desc_off;   /* the table entry this handle was made from */
	uint64_t gen;        /* ... and the generation of that descriptor */
	uint32_t state;      /* 0 empty, 1 being set up, 2 ready (release) */
	uint32_t setup_tid;  /* the thread setting it up (state 1) */
	char file_path[272]; /* dir (<= 200) + "/" + file name (< 64) */
};

struct bpftime_map_region {
	int fd;
	uint8_t *base;
	uint64_t mapped; /* bytes of the file mapped at base */
	uint64_t max_size;
	struct region_hdr *hdr;
	uint32_t nr_cpus;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	struct bpftime_map *handles; /* BPFTIME_MAP_MAX_MAPS, mmap'd at open */
	/* join_raw (agents): the file fd must still be, checked before each
	 * growth (a target may close or reuse our fd); 0: not checked */
	uint64_t dev, ino;
	uint32_t max_handle_id; /* highest id ever set up in handles (atomic max) */
};

/*
 * The operations of one map type. Syscall-side functions take and return
 * what bpf(2) does (per-CPU values as nr_cpus slots); NULL entries answer
 * as the kernel does for a type without the operation (see map.c).
 * Everything but check/alloc/free runs on the operation path: no libc.
 */
struct map_ops {
	const char *name;
	/* create-time checks: attr alone decides, as map_alloc_check() */
	int (*check)(const struct bpftime_map_attr *attr, uint32_t nr_cpus);
	/* optional, after check: checks that need other maps of the region
	 * (map-in-map: the template named by inner_map_id, as map_alloc) */
	int (*check_region)(struct bpftime_map_region *r, const struct bpftime_map_attr *attr);
	/* bytes of region data, and of the data file (0: none) */
	uint64_t (*data_size)(const struct bpftime_map_attr *attr, uint32_t nr_cpus);
	uint64_t (*file_size)(const struct bpftime_map_attr *attr, uint32_t nr_cpus);
	/* initialise zeroed data (and file memory) of a new map */
	int (*init)(struct bpftime_map *m);
	/* release what the map holds besides its data (references to inner maps) */
	void (*release)(struct bpftime_map *m);

	int (*lookup)(struct bpftime_map *m, const void *key, void *value, uint64_t flags);
	int (*update)(struct bpftime_map *m, const void *key, const void *value, uint64_t flags);
	int (*delete)(struct bpftime_map *m, const void *key);
	int (*get_next_key)(struct bpftime_map *m, const void *key, void *next_key);
	int (*lookup_and_delete)(struct bpftime_map *m, const void *key, void *value,
				 uint64_t flags);
	/* batches: NULL means the generic get_next_key-based one (as the kernel's
	 * generic_map_*_batch); hash maps bring their own, bucket-based */
	uint32_t batch_token_size;
	/* MAP_NO_*_BATCH: batch commands whose kernel op is NULL for this type,
	 * answered -ENOTSUPP after the permission check (bpf_map_do_batch) */
	uint32_t no_batch;
	int (*lookup_batch)(struct bpftime_map *m, const void *in_batch, void *out_batch,
			    void *keys, void *values, uint32_t *count, uint64_t elem_flags,
			    bool and_delete);

	void *(*prog_lookup)(struct bpftime_map *m, const void *key, uint32_t cpu);
	long (*prog_update)(struct bpftime_map *m, const void *key, const void *value,
			    uint64_t flags, uint32_t cpu);
	long (*prog_delete)(struct bpftime_map *m, const void *key, uint32_t cpu);
	long (*push)(struct bpftime_map *m, const void *value, uint64_t flags);
	long (*pop)(struct bpftime_map *m, void *value);
	long (*peek)(struct bpftime_map *m, void *value);
};

#define MAP_NO_LOOKUP_BATCH (1u << 0) /* lookup and lookup_and_delete batches */
#define MAP_NO_UPDATE_BATCH (1u << 1)
#define MAP_NO_DELETE_BATCH (1u << 2)
#define MAP_NO_BATCH        (MAP_NO_LOOKUP_BATCH | MAP_NO_UPDATE_BATCH | MAP_NO_DELETE_BATCH)

/* map.c: the ops of @map_type, NULL when unknown. */
const struct map_ops *bpftime_map_ops_of(uint32_t map_type);

/* A table entry naming an id taken by a map still being created: never a
 * descriptor offset (those are 64-byte aligned). */
#define MAP_ID_RESERVED 1ull

/* map-handle.c (run path): the descriptor offset of map @id, 0 if none. */
uint64_t bpftime_map_table_off(const struct bpftime_map_region *r, uint32_t id);
/* map-handle.c (run path): this process's handle of map @id, set up with
 * raw syscalls on first use; 0 or -ENOENT, -EINVAL (corrupt descriptor),
 * the errno of opening or mapping its file. */
int bpftime_map_handle(struct bpftime_map_region *r, uint32_t id, struct bpftime_map **out);
/* map-handle.c: set up @m from the descriptor at @off (no table involved) */
int bpftime_map_setup_handle(struct bpftime_map_region *r, struct bpftime_map *m, uint64_t off);

/* region.c: allocate @size zeroed bytes (64-byte aligned) in the region;
 * the offset, or -ENOMEM with a message. Control plane. */
int64_t bpftime_region_alloc(struct bpftime_map_region *r, uint64_t size);
void bpftime_region_free(struct bpftime_map_region *r, uint64_t off);
/* map-handle.c (run path): st_dev and st_ino of @fd (raw fstat) */
int bpftime_region_fd_identity(int fd, uint64_t *dev, uint64_t *ino);
/* map-handle.c (run path): @fd moved out of the target's way (a high
 * number), or @fd itself when it cannot be */
int bpftime_region_fd_high(int fd);
/* map-handle.c (run path): make [0, end) of the file mapped in this process */
int bpftime_region_ensure(struct bpftime_map_region *r, uint64_t end);

/* [perf-files] map.c: bpftime_map__create, with the data file @adopt (an
 * existing empty file of the region's directory, which the map then owns
 * and removes) instead of a new one; NULL: a new one. */
int bpftime_map_create_adopt(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			     uint32_t *id, const char *adopt);

/* map.c: the path of the data file of @d into @buf; -ENAMETOOLONG */
int bpftime_map_file_path(const struct bpftime_map_region *r, const struct map_desc *d, char *buf,
			  size_t size);

/* map-log.c: printf to the log at @level; never changes errno. */
void bpftime_map_log(enum bpftime_map_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* log @fmt at WARN level and return @err */
int bpftime_map_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Helpers for types. */

/* bpf_map_attr_numa_node(): whether the map is pinned to a node. With
 * BPF_F_NUMA_NODE, numa_node -1 is still NUMA_NO_NODE, so per-CPU types
 * (which refuse a node) accept it. */
static inline bool map_numa_pinned(const struct bpftime_map_attr *a)
{
	return (a->map_flags & BPF_F_NUMA_NODE) && a->numa_node != UINT32_MAX;
}

static inline uint32_t map_round8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

/*
 * Copies for the operation paths, without libc: small sizes by moves, the
 * rest with rep movsb/stosb (fast on every x86-64 with ERMSB). Plain loops
 * would be turned into memcpy() calls by the compiler.
 */
static inline void map_copy(void *dst, const void *src, uint64_t n)
{
	if (n == 8) {
		uint64_t v;

		__builtin_memcpy(&v, src, 8);
		__builtin_memcpy(dst, &v, 8);
		return;
	}
	if (n == 4) {
		uint32_t v;

		__builtin_memcpy(&v, src, 4);
		__builtin_memcpy(dst, &v, 4);
		return;
	}
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void map_zero(void *dst, uint64_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

/*
 * Values with a struct bpf_spin_lock (map-spin-lock.c, run path). @lock_off
 * is as bpftime_map_attr.spin_lock_off: the lock word's offset + 1, 0 for
 * values without one (then these are plain copies). @tid 0: looked up.
 */
static inline bool map_has_lock(const struct bpftime_map_attr *a)
{
	return a->spin_lock_off != 0;
}

/* copy_map_value(): all of a value but its lock word. */
void bpftime_map_value_copy(void *dst, const void *src, uint32_t size, uint32_t lock_off);
/* What a syscall-side lookup returns (bpf_map_copy_value()): the value
 * copied holding its lock when @flags has BPF_F_LOCK
 * (copy_map_value_locked(), lock_src), the lock word zeroed in @dst
 * (check_and_init_map_value()). */
void bpftime_map_value_read(void *dst, const void *src, uint32_t size, uint32_t lock_off,
			    uint64_t flags, uint32_t tid);
/* An update's copy into the map's value @dst: holding @dst's lock with
 * BPF_F_LOCK (copy_map_value_locked()), the lock word never written. */
void bpftime_map_value_write(void *dst, const void *src, uint32_t size, uint32_t lock_off,
			     uint64_t flags, uint32_t tid);
/* The TID that program-side operations on CPU slot @cpu lock with: the
 * slot's owner, else the caller's (a syscall). */
uint32_t bpftime_map_prog_tid(const struct bpftime_map *m, uint32_t cpu);

static inline int map_memcmp(const void *a, const void *b, uint64_t n)
{
	const uint8_t *x = a, *y = b;

	for (uint64_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

#endif /* BPFTIME_MAP_INTERNAL_H */
