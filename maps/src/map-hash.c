// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH, as kernel/bpf/hashtab.c,
 * and the table core that map-lru.c shares (layout in map-hash.h).
 *
 * Syscall-side operations take the bucket lock, so a lookup never sees an
 * update half-done. Program-side lookups read the chain without the lock
 * and retry when the bucket's seq moved; the pointer they return is into a
 * preallocated element, valid memory for the life of the map, and, as with
 * the kernel's preallocated maps, an element freed meanwhile may be reused.
 *
 * Replacing the value of a HASH element links a freshly filled spare in
 * the old element's place (htab_map_update_elem() does the same with its
 * extra_elems), so that neither side ever reads a value half-written. Only
 * when every spare is taken (more concurrent replacements than nr_cpus, or
 * spares lost to killed processes) is the value rewritten in place. Per-CPU
 * values are rewritten in place, as in the kernel.
 *
 * A HASH value may hold a bpf_spin_lock (map-spin-lock.c): copies go
 * around its word; a BPF_F_LOCK update of an existing key rewrites the
 * value in place holding that lock (htab_map_update_elem()'s BPF_F_LOCK
 * path), one of a new key is a normal insert; BPF_F_LOCK lookups and
 * batches copy holding it. The bucket lock is taken first.
 */
#include <errno.h>
#include "map-hash.h"
#include "map-sys.h"

/* htab_map_alloc_check(): keys and values must fit a kmalloc() with the
 * element header: KMALLOC_MAX_SIZE (4 MiB on x86-64) - sizeof(struct
 * htab_elem) (48); probed: key 4 + value 4194251 is accepted, + 1 is E2BIG. */
#define KMALLOC_MAX_SIZE   (1ull << 22)
#define KERNEL_HTAB_ELEM   48
#define PCPU_MIN_UNIT_SIZE (32 << 10)
#define KERNEL_BUCKET_SIZE 16 /* sizeof(struct bucket) in hashtab.c */
#define HTAB_CREATE_FLAG_MASK                                                                      \
	(BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | \
	 BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED)
/* The kernel's ENOTSUPP (524). */
#define MAP_ENOTSUPP 524
/* Lock-free tries of a program-side lookup before it takes the lock. */
#define RCU_TRIES 64

/* ---- create ---- */

static bool type_percpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool type_lru(uint32_t t)
{
	return t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static uint64_t roundup_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* As htab_map_alloc_check(), in its order, then the size checks of htab_map_alloc(). */
int bpftime_map_htab_check(const struct bpftime_map_attr *a, uint32_t max_entries)
{
	bool percpu = type_percpu(a->map_type), lru = type_lru(a->map_type);
	bool percpu_lru = a->map_flags & BPF_F_NO_COMMON_LRU;
	bool prealloc = !(a->map_flags & BPF_F_NO_PREALLOC);
	/* bpf_map_attr_numa_node(): with the flag, numa_node -1 still means none */
	bool numa = (a->map_flags & BPF_F_NUMA_NODE) && a->numa_node != UINT32_MAX;

	/* BPF_F_ZERO_SEED needs CAP_SYS_ADMIN (-EPERM): the caller's business */
	if ((a->map_flags & ~HTAB_CREATE_FLAG_MASK) ||
	    ((a->map_flags & BPF_F_RDONLY_PROG) && (a->map_flags & BPF_F_WRONLY_PROG)))
		return -EINVAL;
	if (!lru && percpu_lru)
		return -EINVAL;
	if (lru && !prealloc)
		return -MAP_ENOTSUPP;
	if (numa && (percpu || percpu_lru))
		return -EINVAL;
	if (a->max_entries == 0 || a->key_size == 0 || a->value_size == 0)
		return -EINVAL;
	if ((uint64_t)a->key_size + a->value_size >= KMALLOC_MAX_SIZE - KERNEL_HTAB_ELEM)
		return -E2BIG;
	if (percpu && map_round8(a->value_size) > PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	/* htab_map_alloc(): n_buckets = roundup_pow_of_two(max_entries) must
	 * keep the bucket array u32-sized: max_entries <= 2^27 */
	if (max_entries > (1u << 31) || roundup_pow2(max_entries) > UINT32_MAX / KERNEL_BUCKET_SIZE)
		return -E2BIG;
	return 0;
}

static uint64_t round64(uint64_t v)
{
	return (v + 63) & ~63ull;
}

/* The one place that decides the layout: data_size() and init() agree. */
static void layout(struct htab *h, const struct bpftime_map_attr *a, uint32_t nr_cpus,
		   uint32_t max_entries, uint32_t nr_elems, uint32_t nr_lists)
{
	uint64_t off = sizeof(struct htab);

	h->size = sizeof(*h);
	h->n_buckets = (uint32_t)roundup_pow2(max_entries);
	h->key_size = a->key_size;
	h->value_size = a->value_size;
	h->percpu = type_percpu(a->map_type);
	h->lock_off = a->spin_lock_off; /* creation allows it for HASH only */
	h->vstride = map_round8(a->value_size) * (h->percpu ? nr_cpus : 1);
	h->nr_cpus = nr_cpus;
	h->nr_elems = nr_elems;
	h->max_entries = max_entries;
	h->nr_lists = nr_lists;
	h->elem_size = sizeof(struct htab_elem) + map_round8(a->key_size) + (uint64_t)h->vstride;
	h->buckets_off = off;
	off += (uint64_t)h->n_buckets * sizeof(struct htab_bucket);
	h->lists_off = off;
	off += (uint64_t)nr_lists * sizeof(struct htab_lru_list);
	h->fnext_off = off;
	off = round64(off + (uint64_t)nr_elems * sizeof(uint32_t));
	h->elems_off = off;
}

uint64_t bpftime_map_htab_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus,
				    uint32_t max_entries, uint32_t nr_elems, uint32_t nr_lists)
{
	struct htab h;

	layout(&h, a, nr_cpus, max_entries, nr_elems, nr_lists);
	return h.elems_off + (uint64_t)nr_elems * h.elem_size;
}

/* htab_map_alloc(): get_random_u32() unless BPF_F_ZERO_SEED. */
static uint32_t random_seed(void)
{
	uint32_t v = 0, lo, hi;

	if (map_syscall6(SYS_getrandom, (long)&v, sizeof(v), 0, 0, 0, 0) == sizeof(v))
		return v;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo * 0x9e3779b1u ^ hi;
}

void bpftime_map_htab_init(struct bpftime_map *m, uint32_t max_entries, uint32_t nr_elems,
			   uint32_t nr_lists)
{
	struct htab *h = htab_of(m);

	layout(h, &m->d->attr, m->d->nr_cpus, max_entries, nr_elems, nr_lists);
	h->hashrnd = (m->d->attr.map_flags & BPF_F_ZERO_SEED) ? 0 : random_seed();
}

void bpftime_map_htab_fill_freelist(struct htab *h, struct map_freelist *fl, uint32_t first,
				    uint32_t n)
{
	uint32_t *next = htab_fnext(h);

	/* The encoding of map-sync.h: head and next words hold index + 1. */
	for (uint32_t i = 0; i < n; i++)
		next[first + i] = i + 1 < n ? first + i + 2 : 0;
	fl->head = n ? first + 1 : 0;
}

/* ---- hashing ---- */

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t mix_word(uint64_t x, uint64_t w)
{
	return rotl64(x ^ (w * 0xbf58476d1ce4e5b9ull), 27) * 0x94d049bb133111ebull;
}

/*
 * Our own bucket hash: the key's 64-bit words folded into a 64-bit state by
 * multiply-rotate rounds, then the splitmix64 finaliser, folded to 32 bits.
 * Only the bucket order (get_next_key, batches) depends on it.
 */
uint32_t bpftime_map_htab_hash(const struct htab *h, const void *key)
{
	const uint8_t *p = key;
	uint32_t len = h->key_size, i = 0, w4;
	uint64_t x = ((uint64_t)h->hashrnd << 32 | len) * 0x9e3779b97f4a7c15ull, w;

	for (; i + 8 <= len; i += 8) {
		__builtin_memcpy(&w, p + i, 8);
		x = mix_word(x, w);
	}
	if (i < len) {
		w = 0;
		if (i + 4 <= len) {
			__builtin_memcpy(&w4, p + i, 4);
			w = w4;
			i += 4;
		}
		for (int s = 32; i < len; i++, s += 8)
			w |= (uint64_t)p[i] << s;
		x = mix_word(x, w);
	}
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uint32_t)(x ^ (x >> 32));
}

static bool key_eq(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t x, y;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		__builtin_memcpy(&x, a + i, 8);
		__builtin_memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	for (; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ---- buckets: locking, repair, chain changes ---- */

/* Is element @idx in @b's chain? Under the lock; chains never cycle. */
static bool in_chain(const struct htab *h, const struct htab_bucket *b, uint32_t idx)
{
	uint32_t cur = b->head;

	for (uint32_t n = 0; cur && cur <= h->nr_elems && n < h->nr_elems; n++) {
		if (cur - 1 == idx)
			return true;
		cur = htab_elem(h, cur - 1)->next;
	}
	return false;
}

static void settle_intent(struct htab *h, struct htab_bucket *b, uint32_t *intent)
{
	uint32_t v = *intent, idx = (v & ~HTAB_SPARE_BIT) - 1;

	if (!v)
		return;
	/* Cleared before the free: a repairer killed in between loses the
	 * element, one killed after the free cannot free it twice. */
	__atomic_store_n(intent, 0, __ATOMIC_RELEASE);
	if (idx < h->nr_elems && !in_chain(h, b, idx))
		bpftime_map_htab_free(h, idx, v & HTAB_SPARE_BIT);
}

/*
 * Every change to a chain is one aligned 32-bit store (a release store,
 * so that it cannot be reordered before what precedes it), which takes the
 * chain from one well-formed list to another; the intents say which
 * element a holder had in hand:
 *
 *   bucket  [ lock | seq | head | add | del ]
 *                           |
 *                           v
 *   chain   [e1] -next-> [e2] -next-> [e3] -next-> 0      (index + 1, 0 ends)
 *
 *   insert N:   add = N      (N popped: before any write to N)
 *               N.next = head, N.linked = 1
 *               seq++ (odd)  head = N  seq++ (even)       <- publishes N
 *               add = 0
 *   replace     add = N      (N popped from the spares, then filled)
 *   O by N:     del = O, N.next = O.next
 *               seq++  *link = N  seq++                   <- O out, N in
 *               add = 0, del = 0, O to the spares
 *   delete E:   del = E
 *               seq++  *link = E.next  seq++              <- E out
 *               del = 0, E to the freelist (LRU eviction: to the evictor)
 *
 * A holder killed anywhere leaves a well-formed chain, maybe an odd seq,
 * and intents naming the elements it held. Repair, by the waiter that took
 * the lock over: an intent whose element is not in the chain was never
 * linked (add) or was unlinked but not freed (del): free it; one whose
 * element is in the chain needs nothing. Then make seq even. An element is
 * lost only between its pop and its add intent, or between clearing an
 * intent and the free; never duplicated: intents are cleared before frees.
 */
static void htab_repair(struct htab *h, struct htab_bucket *b)
{
	uint32_t seq = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);

	settle_intent(h, b, &b->add);
	settle_intent(h, b, &b->del);
	if (seq & 1)
		__atomic_store_n(&b->seq, seq + 1, __ATOMIC_RELEASE);
}

void bpftime_map_htab_lock(struct htab *h, struct htab_bucket *b, uint32_t tid)
{
	if (bpftime_map_lock(&b->lock, tid) == 1)
		htab_repair(h, b);
}

bool bpftime_map_htab_trylock(struct htab *h, struct htab_bucket *b, uint32_t tid)
{
	uint32_t cur = 0;

	if (__atomic_compare_exchange_n(&b->lock, &cur, tid, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return true;
	/* as bpftime_map_lock(): our own TID here is a dead thread's (the
	 * caller holds no lock of this bucket) */
	if ((cur != tid && !bpftime_map_task_gone(cur)) ||
	    !__atomic_compare_exchange_n(&b->lock, &cur, tid, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false;
	htab_repair(h, b);
	return true;
}

void bpftime_map_htab_unlock(struct htab_bucket *b)
{
	bpftime_map_unlock(&b->lock);
}

static void seq_begin(struct htab_bucket *b)
{
	__atomic_store_n(&b->seq, __atomic_load_n(&b->seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
	/* The odd count before the chain stores: pairs with the acquire
	 * fence of prog_find_once(). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void seq_end(struct htab_bucket *b)
{
	/* The chain stores before the even count: pairs with the first
	 * acquire load of prog_find_once(). */
	__atomic_store_n(&b->seq, __atomic_load_n(&b->seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

struct htab_elem *bpftime_map_htab_find(struct htab *h, struct htab_bucket *b, uint32_t hash,
					const void *key, uint32_t **link)
{
	uint32_t *l = &b->head;

	for (uint32_t n = 0; *l && n < h->nr_elems; n++) {
		struct htab_elem *e = htab_elem(h, *l - 1);

		if (e->hash == hash && key_eq(htab_key(e), key, h->key_size)) {
			if (link)
				*link = l;
			return e;
		}
		l = &e->next;
	}
	return NULL;
}

/* One lock-free walk; false when a writer may have disturbed it. */
static bool prog_find_once(struct htab *h, struct htab_bucket *b, uint32_t hash, const void *key,
			   struct htab_elem **out)
{
	uint32_t seq = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE), n = 0;
	uint32_t cur = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
	struct htab_elem *found = NULL;

	if (seq & 1)
		return false;
	/* Elements may move to other chains under us: bound the walk, and
	 * trust nothing until seq is seen unchanged. */
	for (; cur && cur <= h->nr_elems && n < h->nr_elems; n++) {
		struct htab_elem *e = htab_elem(h, cur - 1);

		if (__atomic_load_n(&e->hash, __ATOMIC_RELAXED) == hash &&
		    key_eq(htab_key(e), key, h->key_size)) {
			found = e;
			break;
		}
		cur = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE);
	}
	/* Pairs with the release fence of seq_begin(). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) != seq)
		return false;
	*out = found;
	return true;
}

struct htab_elem *bpftime_map_htab_prog_find(const struct bpftime_map *m, struct htab_bucket *b,
					     uint32_t hash, const void *key, uint32_t cpu)
{
	struct htab *h = htab_of(m);
	struct htab_elem *e = NULL;

	for (int i = 0; i < RCU_TRIES; i++) {
		if (prog_find_once(h, b, hash, key, &e))
			return e;
		map_cpu_relax();
	}
	/* Writers keep the bucket busy, or one died in it: the lock waits
	 * for them, or takes over and repairs. */
	bpftime_map_htab_lock(h, b, bpftime_map_prog_tid(m, cpu));
	e = bpftime_map_htab_find(h, b, hash, key, NULL);
	bpftime_map_htab_unlock(b);
	return e;
}

void bpftime_map_htab_free(struct htab *h, uint32_t idx, bool spare)
{
	struct htab_elem *e = htab_elem(h, idx);
	struct map_freelist *fl = spare ? &h->spare : &h->free;

	__atomic_store_n(&e->linked, 0, __ATOMIC_RELAXED);
	if (h->nr_lists) {
		struct htab_lru_list *l = htab_home_list(h, idx);

		/* the flag and the count change together (map-lru.c) */
		if (__atomic_exchange_n(&e->active, 0, __ATOMIC_RELAXED))
			__atomic_fetch_sub(&l->nr_active, 1, __ATOMIC_RELAXED);
		fl = &l->free;
	}
	map_freelist_push(fl, htab_fnext(h), idx);
}

void bpftime_map_htab_link(struct htab *h, struct htab_bucket *b, struct htab_elem *e)
{
	__atomic_store_n(&e->next, b->head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->linked, 1, __ATOMIC_RELAXED);
	seq_begin(b);
	/* Publishes the element's key and value: pairs with the acquire
	 * loads of the chain in prog_find_once(). */
	__atomic_store_n(&b->head, htab_idx(h, e) + 1, __ATOMIC_RELEASE);
	seq_end(b);
	__atomic_store_n(&b->add, 0, __ATOMIC_RELEASE);
}

void bpftime_map_htab_replace(struct htab *h, struct htab_bucket *b, uint32_t *link,
			      struct htab_elem *o, struct htab_elem *n, bool spare)
{
	uint32_t oi = htab_idx(h, o);

	__atomic_store_n(&b->del, (oi + 1) | (spare ? HTAB_SPARE_BIT : 0), __ATOMIC_RELEASE);
	__atomic_store_n(&n->next, o->next, __ATOMIC_RELAXED);
	__atomic_store_n(&n->linked, 1, __ATOMIC_RELAXED);
	seq_begin(b);
	__atomic_store_n(link, htab_idx(h, n) + 1, __ATOMIC_RELEASE);
	seq_end(b);
	__atomic_store_n(&b->add, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&b->del, 0, __ATOMIC_RELEASE);
	bpftime_map_htab_free(h, oi, spare);
}

void bpftime_map_htab_detach(struct htab *h, struct htab_bucket *b, uint32_t *link,
			     struct htab_elem *e)
{
	__atomic_store_n(&b->del, htab_idx(h, e) + 1, __ATOMIC_RELEASE);
	seq_begin(b);
	__atomic_store_n(link, e->next, __ATOMIC_RELEASE);
	seq_end(b);
	__atomic_store_n(&e->linked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->del, 0, __ATOMIC_RELEASE);
}

void bpftime_map_htab_unlink(struct htab *h, struct htab_bucket *b, uint32_t *link,
			     struct htab_elem *e)
{
	bpftime_map_htab_detach(h, b, link, e);
	bpftime_map_htab_free(h, htab_idx(h, e), false);
}

void bpftime_map_htab_abandon(struct htab *h, struct htab_bucket *b, struct htab_elem *e,
			      bool spare)
{
	__atomic_store_n(&b->add, 0, __ATOMIC_RELEASE);
	bpftime_map_htab_free(h, htab_idx(h, e), spare);
}

void bpftime_map_htab_pcpu_copy(struct htab *h, struct htab_elem *e, const void *value,
				bool onallcpus, uint32_t cpu, bool fresh)
{
	/* bpf(2)'s buffer has our layout: one round_up(value_size, 8) slot
	 * per CPU, padding included (pcpu_copy_value) */
	if (onallcpus) {
		map_copy(htab_value(h, e), value, h->vstride);
		return;
	}
	/* pcpu_init_value(): a program's new element is zero on other CPUs */
	if (fresh)
		map_zero(htab_value(h, e), h->vstride);
	map_copy(htab_cpu_value(h, e, cpu), value, h->value_size);
}

/* What bpf(2) copies out: value_size bytes (a spin lock's word zeroed,
 * copied under that lock with BPF_F_LOCK), or every CPU's slot. */
static void copy_out(struct htab *h, struct htab_elem *e, void *value, uint64_t flags, uint32_t tid)
{
	if (h->percpu)
		map_copy(value, htab_value(h, e), h->vstride);
	else
		bpftime_map_value_read(value, htab_value(h, e), h->value_size, h->lock_off, flags,
				       tid);
}

/* ---- operations shared by the four types (syscall side) ---- */

int bpftime_map_htab_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	struct htab *h = htab_of(m);
	uint32_t hash = bpftime_map_htab_hash(h, key);
	struct htab_bucket *b = htab_bucket_of(h, hash);
	uint32_t tid = map_sys_gettid();
	struct htab_elem *e;

	/* No LRU reference from here: htab_lru_map_lookup_elem_sys() and
	 * bpf_percpu_hash_copy() leave the LRU order to programs. */
	bpftime_map_htab_lock(h, b, tid);
	e = bpftime_map_htab_find(h, b, hash, key, NULL);
	if (e)
		copy_out(h, e, value, flags, tid);
	bpftime_map_htab_unlock(b);
	return e ? 0 : -ENOENT;
}

static int delete_tid(struct bpftime_map *m, const void *key, void *value, uint64_t flags,
		      uint32_t tid)
{
	struct htab *h = htab_of(m);
	uint32_t hash = bpftime_map_htab_hash(h, key), *link;
	struct htab_bucket *b = htab_bucket_of(h, hash);
	struct htab_elem *e;

	bpftime_map_htab_lock(h, b, tid);
	e = bpftime_map_htab_find(h, b, hash, key, &link);
	if (e) {
		if (value)
			copy_out(h, e, value, flags, tid);
		bpftime_map_htab_unlink(h, b, link, e);
	}
	bpftime_map_htab_unlock(b);
	return e ? 0 : -ENOENT;
}

/* As htab_map_delete_elem() / htab_lru_map_delete_elem(). */
int bpftime_map_htab_delete(struct bpftime_map *m, const void *key)
{
	return delete_tid(m, key, NULL, 0, map_sys_gettid());
}

/* As __htab_map_lookup_and_delete_elem(). */
int bpftime_map_htab_lookup_and_delete(struct bpftime_map *m, const void *key, void *value,
				       uint64_t flags)
{
	return delete_tid(m, key, value, flags, map_sys_gettid());
}

long bpftime_map_htab_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM; /* the verifier refuses such calls */
	return delete_tid(m, key, NULL, 0, bpftime_map_prog_tid(m, cpu));
}

/* The key of the first element of bucket @i, if it has one. */
static bool first_key(struct htab *h, uint32_t i, void *next_key, uint32_t tid)
{
	struct htab_bucket *b = htab_bucket(h, i);
	bool found = false;

	/* as the kernel's batch, lock only buckets that look non-empty */
	if (!__atomic_load_n(&b->head, __ATOMIC_ACQUIRE))
		return false;
	bpftime_map_htab_lock(h, b, tid);
	if (b->head) {
		map_copy(next_key, htab_key(htab_elem(h, b->head - 1)), h->key_size);
		found = true;
	}
	bpftime_map_htab_unlock(b);
	return found;
}

/* As htab_map_get_next_key(): the next element of the key's chain, else the
 * first of the following buckets; a NULL or missing key restarts at the
 * first bucket. */
int bpftime_map_htab_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	struct htab *h = htab_of(m);
	uint32_t tid = map_sys_gettid(), i = 0;

	if (key) {
		uint32_t hash = bpftime_map_htab_hash(h, key);
		struct htab_bucket *b = htab_bucket_of(h, hash);
		struct htab_elem *e;
		bool done = false;

		bpftime_map_htab_lock(h, b, tid);
		e = bpftime_map_htab_find(h, b, hash, key, NULL);
		if (e && e->next) {
			map_copy(next_key, htab_key(htab_elem(h, e->next - 1)), h->key_size);
			done = true;
		}
		bpftime_map_htab_unlock(b);
		if (done)
			return 0;
		if (e)
			i = (hash & (h->n_buckets - 1)) + 1;
	}
	for (; i < h->n_buckets; i++)
		if (first_key(h, i, next_key, tid))
			return 0;
	return -ENOENT;
}

/* ---- batches: __htab_map_lookup_and_delete_batch() ---- */

struct batch_out {
	uint8_t *keys, *values;
	uint32_t vsize;
	uint32_t total, max;
	uint64_t elem_flags; /* BPF_F_LOCK: values copied under their lock */
};

static uint32_t chain_len(const struct htab *h, const struct htab_bucket *b)
{
	uint32_t n = 0;

	for (uint32_t cur = b->head; cur && n < h->nr_elems; n++)
		cur = htab_elem(h, cur - 1)->next;
	return n;
}

/*
 * Copy (and delete) all of bucket @b, or nothing: -ENOSPC when its
 * elements do not fit what is left of the caller's room.
 */
static int batch_bucket(struct htab *h, struct htab_bucket *b, struct batch_out *o, bool and_delete,
			uint32_t tid)
{
	uint32_t n;

	if (!__atomic_load_n(&b->head, __ATOMIC_ACQUIRE))
		return 0;
	bpftime_map_htab_lock(h, b, tid);
	n = chain_len(h, b);
	if (n > o->max - o->total) {
		bpftime_map_htab_unlock(b);
		return -ENOSPC;
	}
	for (uint32_t cur = b->head; cur; cur = htab_elem(h, cur - 1)->next) {
		struct htab_elem *e = htab_elem(h, cur - 1);

		map_copy(o->keys + (uint64_t)o->total * h->key_size, htab_key(e), h->key_size);
		copy_out(h, e, o->values + (uint64_t)o->total * o->vsize, o->elem_flags, tid);
		o->total++;
	}
	while (and_delete && b->head)
		bpftime_map_htab_unlink(h, b, &b->head, htab_elem(h, b->head - 1));
	bpftime_map_htab_unlock(b);
	return 0;
}

/*
 * The token is a bucket index (u32); a batch holds whole buckets. -ENOSPC
 * only when the first bucket alone does not fit; the walk's end is -ENOENT,
 * together with the elements of that last batch.
 */
int bpftime_map_htab_lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
				  void *keys, void *values, uint32_t *count, uint64_t elem_flags,
				  bool and_delete)
{
	struct htab *h = htab_of(m);
	struct batch_out o = {
	    .keys = keys, .values = values, .max = *count, .elem_flags = elem_flags};
	uint32_t batch = 0, tid;
	int ret;

	if (!o.max)
		return 0;
	*count = 0;
	if (in_batch)
		map_copy(&batch, in_batch, sizeof(batch));
	if (batch >= h->n_buckets)
		return -ENOENT;
	o.vsize = h->percpu ? h->vstride : h->value_size;
	tid = map_sys_gettid();
	for (;;) {
		ret = batch_bucket(h, htab_bucket(h, batch), &o, and_delete, tid);
		if (ret) {
			if (o.total)
				ret = 0; /* a full batch: continue from this bucket */
			break;
		}
		if (++batch >= h->n_buckets) {
			ret = -ENOENT;
			break;
		}
	}
	map_copy(out_batch, &batch, sizeof(batch));
	*count = o.total;
	return ret;
}

/* ---- HASH and PERCPU_HASH ---- */

static int hash_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return bpftime_map_htab_check(a, a->max_entries);
}

/* The kernel's extra_elems: one spare per CPU for replacements (HASH only). */
static uint32_t nr_spares(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return type_percpu(a->map_type) ? 0 : nr_cpus;
}

static uint64_t hash_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return bpftime_map_htab_data_size(a, nr_cpus, a->max_entries,
					  a->max_entries + nr_spares(a, nr_cpus), 0);
}

static int hash_init(struct bpftime_map *m)
{
	const struct bpftime_map_attr *a = &m->d->attr;
	uint32_t spares = nr_spares(a, m->d->nr_cpus);
	struct htab *h = htab_of(m);

	bpftime_map_htab_init(m, a->max_entries, a->max_entries + spares, 0);
	bpftime_map_htab_fill_freelist(h, &h->free, 0, a->max_entries);
	bpftime_map_htab_fill_freelist(h, &h->spare, a->max_entries, spares);
	return 0;
}

static struct htab_elem *pop(struct htab *h, struct map_freelist *fl)
{
	int64_t idx = map_freelist_pop(fl, htab_fnext(h), h->nr_elems);

	return idx < 0 ? NULL : htab_elem(h, (uint32_t)idx);
}

/* HASH, under the lock: a new element, or a filled spare in the old one's place. */
static int store_plain(struct htab *h, struct htab_bucket *b, uint32_t *link, struct htab_elem *o,
		       uint32_t hash, const void *key, const void *value)
{
	struct htab_elem *n = pop(h, o ? &h->spare : &h->free);

	if (!n && !o)
		return -E2BIG; /* every preallocated element is in use */
	if (!n) {
		/* no spare left: rewrite in place, as the kernel's BPF_F_LOCK path */
		bpftime_map_value_copy(htab_value(h, o), value, h->value_size, h->lock_off);
		return 0;
	}
	htab_claim(h, b, n, o != NULL);
	htab_set_key(h, n, hash, key);
	/* a spin lock's word stays as the element has it: free, unless a
	 * program still holds it through a stale pointer (as the kernel's
	 * reused elements) or a holder died (the next locker takes it over) */
	bpftime_map_value_copy(htab_value(h, n), value, h->value_size, h->lock_off);
	if (o)
		bpftime_map_htab_replace(h, b, link, o, n, true);
	else
		bpftime_map_htab_link(h, b, n);
	return 0;
}

/* PERCPU_HASH, under the lock: in place, as __htab_percpu_map_update_elem(). */
static int store_pcpu(struct htab *h, struct htab_bucket *b, struct htab_elem *o, uint32_t hash,
		      const void *key, const void *value, bool onallcpus, uint32_t cpu)
{
	struct htab_elem *n;

	if (o) {
		bpftime_map_htab_pcpu_copy(h, o, value, onallcpus, cpu, false);
		return 0;
	}
	n = pop(h, &h->free);
	if (!n)
		return -E2BIG;
	htab_claim(h, b, n, false);
	htab_set_key(h, n, hash, key);
	bpftime_map_htab_pcpu_copy(h, n, value, onallcpus, cpu, true);
	bpftime_map_htab_link(h, b, n);
	return 0;
}

/* As htab_map_update_elem() / htab_percpu_map_update_elem(). */
static int hash_update_tid(struct bpftime_map *m, const void *key, const void *value,
			   uint64_t flags, uint32_t tid, bool onallcpus, uint32_t cpu)
{
	struct htab *h = htab_of(m);
	uint32_t hash, *link = NULL;
	struct htab_bucket *b;
	struct htab_elem *o;
	int err;

	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	/* the helper's case: the syscall side refused it already */
	if ((flags & BPF_F_LOCK) && !h->lock_off)
		return -EINVAL;
	hash = bpftime_map_htab_hash(h, key);
	b = htab_bucket_of(h, hash);
	bpftime_map_htab_lock(h, b, tid);
	o = bpftime_map_htab_find(h, b, hash, key, &link);
	err = htab_check_flags(o, flags);
	if (!err && o && (flags & BPF_F_LOCK))
		/* in place, holding the value's lock: the kernel does so after a
		 * lookup without the bucket lock; under it, the element cannot be
		 * deleted and reused for another key meanwhile */
		bpftime_map_value_write(htab_value(h, o), value, h->value_size, h->lock_off, flags,
					tid);
	else if (!err)
		err = h->percpu ? store_pcpu(h, b, o, hash, key, value, onallcpus, cpu)
				: store_plain(h, b, link, o, hash, key, value);
	bpftime_map_htab_unlock(b);
	return err;
}

static int hash_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	return hash_update_tid(m, key, value, flags, map_sys_gettid(), true, 0);
}

static void *hash_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	struct htab *h = htab_of(m);
	uint32_t hash = bpftime_map_htab_hash(h, key);
	struct htab_elem *e;

	if (h->percpu && cpu >= h->nr_cpus)
		return NULL;
	e = bpftime_map_htab_prog_find(m, htab_bucket_of(h, hash), hash, key, cpu);
	if (!e)
		return NULL;
	return h->percpu ? htab_cpu_value(h, e, cpu) : htab_value(h, e);
}

/* From a program, a per-CPU hash sets this CPU's value only. */
static long hash_prog_update(struct bpftime_map *m, const void *key, const void *value,
			     uint64_t flags, uint32_t cpu)
{
	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM; /* the verifier refuses such calls */
	if (htab_of(m)->percpu && cpu >= htab_of(m)->nr_cpus)
		return -EINVAL;
	return hash_update_tid(m, key, value, flags, bpftime_map_prog_tid(m, cpu), false, cpu);
}

#define HASH_OPS(NAME)                                                                             \
	{                                                                                          \
		.name = NAME, .check = hash_check, .data_size = hash_data_size, .init = hash_init, \
		.lookup = bpftime_map_htab_lookup, .update = hash_update,                          \
		.delete = bpftime_map_htab_delete, .get_next_key = bpftime_map_htab_get_next_key,  \
		.lookup_and_delete = bpftime_map_htab_lookup_and_delete,                           \
		.batch_token_size = sizeof(uint32_t),                                              \
		.lookup_batch = bpftime_map_htab_lookup_batch, .prog_lookup = hash_prog_lookup,    \
		.prog_update = hash_prog_update, .prog_delete = bpftime_map_htab_prog_delete,      \
	}

const struct map_ops bpftime_map_hash_ops = HASH_OPS("hash");
const struct map_ops bpftime_map_percpu_hash_ops = HASH_OPS("percpu_hash");
