/* SPDX-License-Identifier: MIT */
/*
 * Hash tables shared by map-hash.c (HASH, PERCPU_HASH) and map-lru.c
 * (LRU_HASH, LRU_PERCPU_HASH), as kernel/bpf/hashtab.c shares one table
 * between the four types.
 *
 * Layout of a map's data (offsets from the start of struct htab; every
 * reference between elements is an index, never a pointer):
 *
 *   struct htab            sizes, seed, freelist heads
 *   buckets[n_buckets]     struct htab_bucket: lock, seq, chain head, intents
 *   lists[nr_lists]        LRU only: struct htab_lru_list (1, or one per CPU)
 *   fnext[nr_elems]        "next" words of the freelists (map-sync.h)
 *   elems[nr_elems]        struct htab_elem + key + value, elem_size apart
 *
 * Every element is preallocated, as the kernel's default (prealloc) maps:
 * HASH has max_entries elements on its freelist plus nr_cpus spares (the
 * kernel's per-CPU extra_elems) that replacements swap in, so that a value
 * is never rewritten in place; per-CPU hashes update values in place as the
 * kernel does and need no spares; LRU maps have max_entries elements and
 * evict instead of failing.
 *
 * A bucket is a singly linked chain of element indexes (+1, 0 ends it),
 * changed only under the bucket's robust lock; program-side lookups read
 * it without the lock, validated by the bucket's sequence counter. The
 * update order that makes every state left by a killed holder repairable is
 * described above htab_repair() in map-hash.c.
 */
#ifndef BPFTIME_MAP_HASH_H
#define BPFTIME_MAP_HASH_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include "map-internal.h"
#include "map-sync.h"

/* An intent names an element + 1; this bit says it belongs to the spares. */
#define HTAB_SPARE_BIT 0x80000000u

struct htab_bucket {
	uint32_t lock; /* TID of the holder (map-sync.h), 0: free */
	uint32_t seq;  /* odd while a holder changes the chain; lock-free readers retry */
	uint32_t head; /* first element + 1, 0: empty; written under the lock (release) */
	uint32_t add;  /* intent: element being linked (+1 | HTAB_SPARE_BIT), 0: none */
	uint32_t del;  /* intent: element being unlinked, 0: none */
	uint32_t pad[3];
};
_Static_assert(sizeof(struct htab_bucket) == 32, "htab_bucket layout");

/* Element header; the key follows (round8), then the value(s) (round8 each). */
struct htab_elem {
	uint32_t next;  /* next element of the chain + 1; under the bucket lock */
	uint32_t hash;  /* written before the element is linked */
	uint8_t linked; /* hint for LRU eviction: 1 while in a chain (checked under the lock) */
	uint8_t ref;    /* LRU: set by program-side lookups, cleared by the clock hand */
	uint8_t active; /* LRU: on the "active" side (referenced when the hand passed) */
	uint8_t pad[5];
};
_Static_assert(sizeof(struct htab_elem) == 16, "htab_elem layout");

/* One LRU list: the whole pool (common LRU) or one CPU's share of it. */
struct htab_lru_list {
	struct map_freelist free; /* elements of this list that are in no chain */
	uint32_t lock;            /* serialises shrinking, as the kernel's lru list lock */
	uint32_t first;           /* elements [first, first + size) belong to this list */
	uint32_t size;
	uint32_t hand;      /* clock hand: a position counter, taken modulo size */
	uint32_t nr_active; /* elements with active set (a heuristic: may drift on a kill) */
	uint32_t target;    /* elements one shrink evicts (the kernel's target_free) */
	uint32_t nr_scans;  /* inactive elements one shrink looks at (the kernel's nr_scans) */
	uint32_t pad[7];
};
_Static_assert(sizeof(struct htab_lru_list) == 64, "htab_lru_list layout");

struct htab {
	uint32_t size; /* sizeof(struct htab) of the creator */
	uint32_t n_buckets;
	uint32_t hashrnd;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t vstride; /* bytes of value per element: round8, times nr_cpus when per-CPU */
	uint32_t nr_cpus;
	uint32_t nr_elems; /* the pool */
	uint32_t max_entries;
	uint32_t nr_lists; /* LRU lists; 0: not an LRU map */
	uint32_t percpu;
	uint32_t lock_off; /* HASH: the value's bpf_spin_lock, as attr.spin_lock_off */
	uint64_t elem_size;
	uint64_t buckets_off;
	uint64_t lists_off;
	uint64_t fnext_off;
	uint64_t elems_off;
	struct map_freelist free;  /* HASH / PERCPU_HASH: elements not in the map */
	struct map_freelist spare; /* HASH: spare elements for replacements */
	uint64_t reserved[3];
};
_Static_assert(sizeof(struct htab) == 128, "htab layout");

static inline struct htab *htab_of(const struct bpftime_map *m)
{
	return (struct htab *)m->data;
}

static inline struct htab_bucket *htab_bucket(const struct htab *h, uint32_t i)
{
	return (struct htab_bucket *)((uint8_t *)h + h->buckets_off) + i;
}

static inline struct htab_bucket *htab_bucket_of(const struct htab *h, uint32_t hash)
{
	return htab_bucket(h, hash & (h->n_buckets - 1));
}

static inline struct htab_lru_list *htab_list(const struct htab *h, uint32_t i)
{
	return (struct htab_lru_list *)((uint8_t *)h + h->lists_off) + i;
}

static inline uint32_t *htab_fnext(const struct htab *h)
{
	return (uint32_t *)((uint8_t *)h + h->fnext_off);
}

static inline struct htab_elem *htab_elem(const struct htab *h, uint32_t idx)
{
	return (struct htab_elem *)((uint8_t *)h + h->elems_off + (uint64_t)idx * h->elem_size);
}

static inline uint32_t htab_idx(const struct htab *h, const struct htab_elem *e)
{
	return (uint32_t)(((const uint8_t *)e - ((const uint8_t *)h + h->elems_off)) /
			  h->elem_size);
}

static inline uint8_t *htab_key(struct htab_elem *e)
{
	return (uint8_t *)(e + 1);
}

static inline uint8_t *htab_value(const struct htab *h, struct htab_elem *e)
{
	return (uint8_t *)(e + 1) + map_round8(h->key_size);
}

/* The value of CPU slot @cpu of a per-CPU element. */
static inline uint8_t *htab_cpu_value(const struct htab *h, struct htab_elem *e, uint32_t cpu)
{
	return htab_value(h, e) + (uint64_t)cpu * map_round8(h->value_size);
}

/* The LRU list an element returns to when freed. */
static inline struct htab_lru_list *htab_home_list(const struct htab *h, uint32_t idx)
{
	return htab_list(h, h->nr_lists == 1 ? 0 : idx / htab_list(h, 0)->size);
}

uint32_t bpftime_map_htab_hash(const struct htab *h, const void *key);

/* ---- table core (map-hash.c) ---- */

/* Sizes and layout shared by both families: @nr_elems, @nr_lists decided by the type. */
uint64_t bpftime_map_htab_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus,
				    uint32_t max_entries, uint32_t nr_elems, uint32_t nr_lists);
/* Fill the header of a zeroed table; freelists are left to the type. */
void bpftime_map_htab_init(struct bpftime_map *m, uint32_t max_entries, uint32_t nr_elems,
			   uint32_t nr_lists);
/* Make [first, first + n) the content of freelist @fl, popped in index order. */
void bpftime_map_htab_fill_freelist(struct htab *h, struct map_freelist *fl, uint32_t first,
				    uint32_t n);

/* Lock @b for @tid; repairs what a dead holder left (see htab_repair). */
void bpftime_map_htab_lock(struct htab *h, struct htab_bucket *b, uint32_t tid);
/* Take @b only if that needs no waiting (a dead holder is taken over). */
bool bpftime_map_htab_trylock(struct htab *h, struct htab_bucket *b, uint32_t tid);
void bpftime_map_htab_unlock(struct htab_bucket *b);
/* Under the lock: the element with @key (*@link: the word that points at
 * it, for unlinking), or NULL. */
struct htab_elem *bpftime_map_htab_find(struct htab *h, struct htab_bucket *b, uint32_t hash,
					const void *key, uint32_t **link);
/* Program side: the element with @key or NULL, read without the lock
 * (validated by the bucket's seq); falls back to the lock of CPU slot
 * @cpu's owner when writers keep the bucket busy or one died in it. */
struct htab_elem *bpftime_map_htab_prog_find(const struct bpftime_map *m, struct htab_bucket *b,
					     uint32_t hash, const void *key, uint32_t cpu);

/*
 * Chain changes, under the bucket lock, in the order htab_repair() relies
 * on. An element taken from a freelist is claimed first (the add intent),
 * then filled, then linked or replaces the old one, or is abandoned.
 */
static inline void htab_claim(struct htab *h, struct htab_bucket *b, struct htab_elem *e,
			      bool spare)
{
	/* Before any write to @e: a repairer frees it if it never got linked. */
	__atomic_store_n(&b->add, (htab_idx(h, e) + 1) | (spare ? HTAB_SPARE_BIT : 0),
			 __ATOMIC_RELEASE);
}
/* Publish the claimed @e at the head of the chain. */
void bpftime_map_htab_link(struct htab *h, struct htab_bucket *b, struct htab_elem *e);
/* Put the claimed @n in @o's place in one store; @o is freed (to the spares
 * when @spare, as the kernel stashes it in extra_elems). */
void bpftime_map_htab_replace(struct htab *h, struct htab_bucket *b, uint32_t *link,
			      struct htab_elem *o, struct htab_elem *n, bool spare);
/* Unlink @e (reached through *@link) and free it. */
void bpftime_map_htab_unlink(struct htab *h, struct htab_bucket *b, uint32_t *link,
			     struct htab_elem *e);
/* Unlink @e and keep it (LRU eviction): the caller owns it. */
void bpftime_map_htab_detach(struct htab *h, struct htab_bucket *b, uint32_t *link,
			     struct htab_elem *e);
/* Give back the claimed @e unlinked (the update failed or did not need it). */
void bpftime_map_htab_abandon(struct htab *h, struct htab_bucket *b, struct htab_elem *e,
			      bool spare);
/* Give back an element that is in no chain and named by no intent. */
void bpftime_map_htab_free(struct htab *h, uint32_t idx, bool spare);

/* As check_flags() in hashtab.c. */
static inline int htab_check_flags(const struct htab_elem *old, uint64_t flags)
{
	if (old && (flags & ~(uint64_t)BPF_F_LOCK) == BPF_NOEXIST)
		return -EEXIST;
	if (!old && (flags & ~(uint64_t)BPF_F_LOCK) == BPF_EXIST)
		return -ENOENT;
	return 0;
}

/* Fill a private element's key and hash. */
static inline void htab_set_key(struct htab *h, struct htab_elem *e, uint32_t hash, const void *key)
{
	/* lock-free readers that wandered onto a stale index may read it */
	__atomic_store_n(&e->hash, hash, __ATOMIC_RELAXED);
	map_copy(htab_key(e), key, h->key_size);
}

/* Per-CPU values: all slots from a syscall buffer, or one slot from a
 * program (others zeroed for a new element, as pcpu_init_value()). */
void bpftime_map_htab_pcpu_copy(struct htab *h, struct htab_elem *e, const void *value,
				bool onallcpus, uint32_t cpu, bool fresh);

/* Shared ops: the syscall side and program-side delete are the same for all four types. */
int bpftime_map_htab_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags);
int bpftime_map_htab_delete(struct bpftime_map *m, const void *key);
int bpftime_map_htab_get_next_key(struct bpftime_map *m, const void *key, void *next_key);
int bpftime_map_htab_lookup_and_delete(struct bpftime_map *m, const void *key, void *value,
				       uint64_t flags);
int bpftime_map_htab_lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
				  void *keys, void *values, uint32_t *count, uint64_t elem_flags,
				  bool and_delete);
long bpftime_map_htab_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu);

/* Create-time checks common to the four types, as htab_map_alloc_check()
 * and htab_map_alloc() (max_entries is the one after LRU rounding). */
int bpftime_map_htab_check(const struct bpftime_map_attr *a, uint32_t max_entries);

#endif /* BPFTIME_MAP_HASH_H */
