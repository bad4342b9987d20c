// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_BLOOM_FILTER, as kernel/bpf/bloom_filter.c.
 *
 *   data: | struct bloom_hdr (64) | bitset: bitset_bytes, 64-bit words |
 *
 * A push sets, for each of the nr_hash_funcs hash functions i, the bit
 * jhash(value, value_size, seed + i) & bitset_mask; a peek answers 0 when
 * all of them are set (maybe present) and -ENOENT otherwise (absent). Bits
 * are set with atomic ORs and never cleared, so there is no lock and
 * nothing a killed process can leave half-done: a push cut short has set
 * some of its bits, which only raises the false-positive rate, as a
 * concurrent push does in the kernel.
 *
 * Sizing and hashing are the kernel's (bloom_map_alloc(), hash()), so a
 * BPF_F_ZERO_SEED filter sets the same bits as Linux and answers the same
 * false positives. Otherwise the seed is random, drawn at creation.
 *
 * Syscall side (map_lookup_elem(), bpf_map_update_value()): lookup = peek
 * with @value as input, update = push; delete and get_next_key are
 * -EOPNOTSUPP, lookup_and_delete and batches -ENOTSUPP; the key must be
 * NULL (key_size 0: ___bpf_copy_key() refuses a key pointer with -EINVAL).
 */
#include <errno.h>
#include "map-internal.h"
#include "map-jhash.h"
#include "map-sys.h"

#define BLOOM_CREATE_FLAG_MASK                                                                     \
	(BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG |     \
	 BPF_F_WRONLY_PROG)
#define KMALLOC_MAX_SIZE     (4u << 20) /* x86-64: 2^(MAX_PAGE_ORDER + PAGE_SHIFT) */
#define BLOOM_DEFAULT_HASHES 5
#define BLOOM_HDR_SIZE       64
#define MAP_ENOTSUPP         524 /* the kernel's ENOTSUPP, not in the UAPI */

/* Written once by init; read-only afterwards. */
struct bloom_hdr {
	uint32_t nr_hash_funcs;
	uint32_t bitset_mask; /* bits - 1: a power of two minus one, or U32_MAX */
	uint32_t hash_seed;
	uint32_t reserved0;
	uint64_t bitset_bytes;
	uint8_t reserved[40];
};
_Static_assert(sizeof(struct bloom_hdr) == BLOOM_HDR_SIZE, "bloom header layout");

static struct bloom_hdr *hdr(const struct bpftime_map *m)
{
	return (struct bloom_hdr *)m->data;
}

static uint64_t *bitset(const struct bpftime_map *m)
{
	return (uint64_t *)(m->data + BLOOM_HDR_SIZE);
}

/* As bloom_map_alloc_check() then the attribute checks of bloom_map_alloc(). */
static int bloom_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->value_size > KMALLOC_MAX_SIZE)
		return -E2BIG;
	if (a->key_size != 0 || a->value_size == 0 || a->max_entries == 0 ||
	    (a->map_flags & ~BLOOM_CREATE_FLAG_MASK) ||
	    ((a->map_flags & BPF_F_RDONLY_PROG) && (a->map_flags & BPF_F_WRONLY_PROG)) ||
	    /* the low 4 bits of map_extra are the number of hash functions */
	    (a->map_extra & ~0xfull))
		return -EINVAL;
	return 0;
}

static uint32_t nr_hashes(const struct bpftime_map_attr *a)
{
	return a->map_extra ? (uint32_t)a->map_extra : BLOOM_DEFAULT_HASHES;
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/*
 * The bitset size of bloom_map_alloc(): n * k / ln(2) bits, with 7/5 for
 * 1/ln(2), at least one long and rounded up to a power of two; 2^32 bits
 * (mask U32_MAX) once that would pass 2^31. Returns the mask and sets
 * *@bytes (a multiple of 8).
 */
static uint32_t bitset_geometry(const struct bpftime_map_attr *a, uint64_t *bytes)
{
	uint64_t nr_bits = (uint64_t)a->max_entries * nr_hashes(a);

	/* check_mul_overflow() on u32 for both products, then the 2^31 cap
	 * (which the second product passes first) */
	if (nr_bits > UINT32_MAX || nr_bits / 5 * 7 > (1ull << 31)) {
		*bytes = ((uint64_t)UINT32_MAX + 7) / 8;
		return UINT32_MAX;
	}
	nr_bits = (nr_bits / 5) * 7;
	nr_bits = nr_bits <= 64 ? 64 : pow2_at_least(nr_bits);
	*bytes = (nr_bits / 8 + 7) / 8 * 8;
	return (uint32_t)(nr_bits - 1);
}

static uint64_t bloom_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint64_t bytes;

	bitset_geometry(a, &bytes);
	return BLOOM_HDR_SIZE + bytes;
}

/* get_random_u32() for the seed: getrandom(2), raw (no libc in map files). */
static uint32_t random_seed(void)
{
	uint32_t seed = 0;
	uint32_t lo, hi;

	if (map_syscall6(SYS_getrandom, (long)&seed, sizeof(seed), 0, 0, 0, 0) == sizeof(seed))
		return seed;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo ^ hi;
}

static int bloom_init(struct bpftime_map *m)
{
	struct bloom_hdr *h = hdr(m);

	h->nr_hash_funcs = nr_hashes(&m->d->attr);
	h->bitset_mask = bitset_geometry(&m->d->attr, &h->bitset_bytes);
	h->hash_seed = (m->d->attr.map_flags & BPF_F_ZERO_SEED) ? 0 : random_seed();
	return 0;
}

/* As hash(): jhash2 for 4-byte multiples, jhash otherwise (the same function). */
static uint32_t bit_of(const struct bpftime_map *m, const void *value, uint32_t i)
{
	const struct bloom_hdr *h = hdr(m);

	return map_jhash(value, m->d->attr.value_size, h->hash_seed + i) & h->bitset_mask;
}

/* As bloom_map_push_elem(): only BPF_ANY. */
static long bloom_push(struct bpftime_map *m, const void *value, uint64_t flags)
{
	uint64_t *bits = bitset(m);

	if (flags != BPF_ANY)
		return -EINVAL;
	for (uint32_t i = 0; i < hdr(m)->nr_hash_funcs; i++) {
		uint32_t b = bit_of(m, value, i);

		/* set_bit(): atomic, no ordering (bits carry no data) */
		__atomic_fetch_or(&bits[b / 64], 1ull << (b % 64), __ATOMIC_RELAXED);
	}
	return 0;
}

/* As bloom_map_peek_elem(): -ENOENT means certainly absent. */
static long bloom_peek(struct bpftime_map *m, void *value)
{
	const uint64_t *bits = bitset(m);

	for (uint32_t i = 0; i < hdr(m)->nr_hash_funcs; i++) {
		uint32_t b = bit_of(m, value, i);

		if (!(__atomic_load_n(&bits[b / 64], __ATOMIC_RELAXED) & (1ull << (b % 64))))
			return -ENOENT;
	}
	return 0;
}

static long bloom_pop(struct bpftime_map *m, void *value)
{
	return -EOPNOTSUPP; /* bloom_map_pop_elem() */
}

/* ---- syscall side: a key pointer is -EINVAL before anything else ---- */

static int bloom_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	return key ? -EINVAL : (int)bloom_peek(m, value);
}

static int bloom_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	return key ? -EINVAL : (int)bloom_push(m, value, flags);
}

static int bloom_delete(struct bpftime_map *m, const void *key)
{
	return key ? -EINVAL : -EOPNOTSUPP; /* bloom_map_delete_elem() */
}

static int bloom_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	return key ? -EINVAL : -EOPNOTSUPP; /* bloom_map_get_next_key() */
}

/* map_lookup_and_delete_elem(): not a queue, stack or hash: -ENOTSUPP */
static int bloom_lookup_and_delete(struct bpftime_map *m, const void *key, void *value,
				   uint64_t flags)
{
	return key ? -EINVAL : -MAP_ENOTSUPP;
}

/* The verifier lets programs call push and peek only; the other helpers
 * answer as bloom_map_update_elem() and _delete_elem() would. */
static long bloom_prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu)
{
	return -EINVAL;
}

static long bloom_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	return -EOPNOTSUPP;
}

const struct map_ops bpftime_map_bloom_filter_ops = {
    .name = "bloom_filter",
    .check = bloom_check,
    .data_size = bloom_data_size,
    .init = bloom_init,
    .lookup = bloom_lookup,
    .update = bloom_update,
    .delete = bloom_delete,
    .get_next_key = bloom_get_next_key,
    .lookup_and_delete = bloom_lookup_and_delete,
    .no_batch = MAP_NO_BATCH,
    .prog_update = bloom_prog_update,
    .prog_delete = bloom_prog_delete,
    .push = bloom_push,
    .pop = bloom_pop,
    .peek = bloom_peek,
};
