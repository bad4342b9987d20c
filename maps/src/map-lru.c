// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH, as the LRU half of
 * kernel/bpf/hashtab.c over kernel/bpf/bpf_lru_list.c, on the table core of
 * map-hash.c.
 *
 * The kernel keeps active/inactive/free lists per map (or, with
 * BPF_F_NO_COMMON_LRU, per CPU). Doubly linked lists in memory shared by
 * processes that may die in the middle of a list splice are hard to repair,
 * so we approximate them with a clock over the element pool, which needs no
 * list at all:
 *
 *   pool    [e0][e1][e2] ... [eN-1]      (per-CPU LRU: one slice per CPU)
 *                 ^ hand (a counter, taken modulo the slice size)
 *
 *   e.ref     set by program-side lookups (bpf_lru_node_set_ref()), and by
 *             an update that replaces a key (htab_lru_map_update_elem())
 *   e.active  the kernel's "active list": set when the hand finds ref set,
 *             cleared ("rotated to inactive") when actives outnumber
 *             inactives, as __bpf_lru_list_rotate_active() does
 *
 * An update takes an element from its list's freelist while it holds the
 * target bucket's lock, and claims it there at once (an intent, see
 * htab_repair() in map-hash.c), so that a process killed at any point
 * loses an element only between those two instructions. When the freelist
 * is empty, the updater shrinks the list under the list's lock, as
 * bpf_lru_list_pop_free_to_local() and __bpf_lru_list_shrink() do: the
 * hand sweeps, promoting referenced elements and picking unreferenced
 * inactive ones, up to target_free of them (the kernel's batch, so a full
 * map drops by as many elements as the kernel's does), among no more than
 * nr_scans inactive ones; if it picked none, the first inactive one, else
 * the first at all, goes regardless of its bit (the kernel's force
 * shrink). Victims leave their buckets (htab_lru_map_delete_node()) for the
 * freelist, and the updater pops right away, before others can take them
 * all (the kernel keeps them on the CPU's local list for the same reason).
 *
 * Locks: an updater holds its bucket while it waits for the list lock; the
 * list lock's holder only tries the victims' bucket locks and passes over
 * busy ones, so no two waits can form a cycle.
 *
 * Observable contract, probed on 6.18 with syscalls pinned to one CPU
 * (test_maps_lru.c checks each): updates never fail for lack of room;
 * eviction takes the oldest unreferenced elements; program lookups protect
 * elements, syscall lookups do not; an update takes its element before it
 * looks at the key, so a full map loses an element even to an update that
 * then fails with -EEXIST / -ENOENT, or (LRU_HASH) that replaces a key,
 * and the eviction can take the very key being updated (BPF_EXIST then
 * fails with -ENOENT, BPF_NOEXIST succeeds); LRU_PERCPU_HASH takes none
 * for BPF_EXIST. With BPF_F_NO_COMMON_LRU,
 * max_entries is rounded to a multiple of the CPUs and each CPU evicts only
 * from its own share, so one CPU alone holds max_entries / nr_cpus.
 *
 * Known differences (LRU order is not part of bpf(2)'s contract): the
 * kernel also caches free elements per CPU (a common LRU of 1000 filled
 * from one CPU holds 976, ours 1000 until the first shrink), and in maps
 * so small that its active list outgrows the inactive one it demotes
 * referenced elements earlier than our hand does.
 */
#include <errno.h>
#include "map-hash.h"
#include "map-sys.h"

#define LOCAL_FREE_TARGET  128 /* bpf_lru_list.h */
#define PERCPU_FREE_TARGET 4

/* htab_map_alloc(): a per-CPU LRU gives each CPU the same share, >= 1. */
static uint32_t lru_max_entries(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint32_t n = a->max_entries, r;

	if (!(a->map_flags & BPF_F_NO_COMMON_LRU))
		return n;
	r = (n + nr_cpus - 1) / nr_cpus * nr_cpus; /* u32, wrapping as the kernel's roundup() */
	return r < n ? n / nr_cpus * nr_cpus : r;
}

static uint32_t lru_nr_lists(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (a->map_flags & BPF_F_NO_COMMON_LRU) ? nr_cpus : 1;
}

static int lru_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return bpftime_map_htab_check(a, lru_max_entries(a, nr_cpus));
}

static uint64_t lru_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint32_t max = lru_max_entries(a, nr_cpus);

	return bpftime_map_htab_data_size(a, nr_cpus, max, max, lru_nr_lists(a, nr_cpus));
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int lru_init(struct bpftime_map *m)
{
	uint32_t nr_cpus = m->d->nr_cpus, max = lru_max_entries(&m->d->attr, nr_cpus);
	uint32_t nr_lists = lru_nr_lists(&m->d->attr, nr_cpus), per = max / nr_lists;
	struct htab *h = htab_of(m);

	bpftime_map_htab_init(m, max, max, nr_lists);
	for (uint32_t i = 0; i < nr_lists; i++) {
		struct htab_lru_list *l = htab_list(h, i);

		l->first = i * per;
		l->size = per;
		/* bpf_common_lru_populate(): target_free adapts to the size
		 * (since 6.16); bpf_percpu_lru_pop_free() shrinks by 4 */
		l->target = nr_lists == 1 ? clamp_u32(max / nr_cpus / 2, 1, LOCAL_FREE_TARGET)
					  : PERCPU_FREE_TARGET;
		l->nr_scans = nr_lists == 1 ? LOCAL_FREE_TARGET : PERCPU_FREE_TARGET;
		bpftime_map_htab_fill_freelist(h, &l->free, l->first, per);
	}
	/* the map's max_entries is the rounded one (bpf_map_info shows it) */
	m->d->attr.max_entries = max;
	return 0;
}

/* ---- the clock ---- */

static uint32_t this_cpu(void)
{
	unsigned cpu = 0;

	map_syscall6(SYS_getcpu, (long)&cpu, 0, 0, 0, 0, 0);
	return cpu;
}

static struct htab_lru_list *list_for_cpu(const struct htab *h, uint32_t cpu)
{
	return htab_list(h, h->nr_lists == 1 ? 0 : cpu % h->nr_lists);
}

static struct htab_elem *hand_next(const struct htab *h, struct htab_lru_list *l)
{
	uint32_t pos = __atomic_fetch_add(&l->hand, 1, __ATOMIC_RELAXED);

	return htab_elem(h, l->first + pos % l->size);
}

static void set_active(struct htab_lru_list *l, struct htab_elem *e, uint8_t on)
{
	/* the count follows the flag's transitions, whoever makes them */
	if (__atomic_exchange_n(&e->active, on, __ATOMIC_RELAXED) != on)
		__atomic_fetch_add(&l->nr_active, on ? 1u : (uint32_t)-1, __ATOMIC_RELAXED);
}

/*
 * As htab_lru_map_delete_node(): take @e out of its bucket if it is still
 * there. The caller holds @held (the bucket it will put its new element
 * in), so other buckets are only tried: waiting for one while holding
 * another could deadlock; a busy bucket's element is simply passed over.
 */
static bool evict(struct htab *h, struct htab_elem *e, struct htab_bucket *held, uint32_t tid)
{
	uint32_t hash = __atomic_load_n(&e->hash, __ATOMIC_RELAXED), *link;
	struct htab_bucket *b = htab_bucket_of(h, hash);
	bool found = false;

	if (b != held && !bpftime_map_htab_trylock(h, b, tid))
		return false;
	link = &b->head;
	for (uint32_t n = 0; *link && n < h->nr_elems; n++) {
		struct htab_elem *cur = htab_elem(h, *link - 1);

		if (cur == e) {
			bpftime_map_htab_detach(h, b, link, e);
			found = true;
			break;
		}
		link = &cur->next;
	}
	if (b != held)
		bpftime_map_htab_unlock(b);
	return found;
}

/*
 * One turn of the hand, as __bpf_lru_list_rotate() then
 * __bpf_lru_list_shrink_inactive(): pick up to target unreferenced
 * inactive elements among the next nr_scans inactive ones. The victims go
 * to the freelist last first, so that new keys take them in the hand's
 * order: the order the hand will come back to them, oldest first.
 */
static uint32_t shrink_inactive(struct htab *h, struct htab_lru_list *l, struct htab_bucket *held,
				uint32_t tid)
{
	/* bpf_lru_list_inactive_low(), decided once per shrink as the kernel rotates once */
	bool demote = 2 * (uint64_t)__atomic_load_n(&l->nr_active, __ATOMIC_RELAXED) > l->size;
	struct htab_elem *victims[LOCAL_FREE_TARGET];
	uint32_t scanned = 0, n = 0, evicted = 0;

	/* the array bounds what a corrupt target could ask for */
	for (uint32_t pos = 0;
	     pos < l->size && scanned < l->nr_scans && n < l->target && n < LOCAL_FREE_TARGET;
	     pos++) {
		struct htab_elem *e = hand_next(h, l);
		bool ref = __atomic_load_n(&e->ref, __ATOMIC_RELAXED);

		if (!__atomic_load_n(&e->linked, __ATOMIC_RELAXED))
			continue;
		if (ref)
			__atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
		if (__atomic_load_n(&e->active, __ATOMIC_RELAXED)) {
			if (!ref && demote)
				set_active(l, e, 0);
			continue;
		}
		scanned++;
		if (ref)
			set_active(l, e, 1);
		else
			victims[n++] = e;
	}
	while (n--)
		if (evict(h, victims[n], held, tid)) {
			bpftime_map_htab_free(h, htab_idx(h, victims[n]), false);
			evicted++;
		}
	return evicted;
}

/* The kernel's force shrink: the first inactive element, else the first at all. */
static uint32_t shrink_force(struct htab *h, struct htab_lru_list *l, struct htab_bucket *held,
			     uint32_t tid)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t pos = 0; pos < l->size; pos++) {
			struct htab_elem *e = hand_next(h, l);

			if (!__atomic_load_n(&e->linked, __ATOMIC_RELAXED) ||
			    (pass == 0 && __atomic_load_n(&e->active, __ATOMIC_RELAXED)))
				continue;
			if (evict(h, e, held, tid)) {
				bpftime_map_htab_free(h, htab_idx(h, e), false);
				return 1;
			}
		}
	return 0;
}

static int64_t pop_free(struct htab *h, struct htab_lru_list *l)
{
	return map_freelist_pop(&l->free, htab_fnext(h), h->nr_elems);
}

/*
 * As bpf_lru_list_pop_free_to_local() and the pop after it: refill the
 * freelist by eviction and take an element, under the list's lock (one
 * shrink at a time). Others may pop what a shrink frees before we do:
 * shrink again while that makes progress.
 */
static int64_t shrink_and_pop(struct htab *h, struct htab_lru_list *l, struct htab_bucket *held,
			      uint32_t tid)
{
	int64_t idx;

	/* A holder killed while shrinking leaves nothing to repair: each
	 * eviction completes under its bucket lock. Holders of the list lock
	 * never wait for a bucket lock, so waiting for it here is safe. */
	bpftime_map_lock(&l->lock, tid);
	idx = pop_free(h, l);
	for (int i = 0; idx < 0 && i < 16; i++) {
		if (!shrink_inactive(h, l, held, tid) && !shrink_force(h, l, held, tid))
			break;
		idx = pop_free(h, l);
	}
	bpftime_map_unlock(&l->lock);
	return idx;
}

/*
 * As prealloc_lru_pop(), but with the target bucket @b held, so that the
 * element is claimed there (a repairer would free it) the instruction
 * after it leaves the freelist: lock @b and return a fresh element claimed
 * in it, or NULL, still holding @b, when none can be had (-ENOMEM, as in
 * the kernel): every element held by updates in flight, or in buckets that
 * stayed busy.
 */
static struct htab_elem *lock_with_elem(struct htab *h, struct htab_lru_list *l,
					struct htab_bucket *b, uint32_t tid)
{
	struct htab_elem *e;
	int64_t idx;

	bpftime_map_htab_lock(h, b, tid);
	for (int tries = 0;; tries++) {
		idx = pop_free(h, l);
		if (idx < 0)
			idx = shrink_and_pop(h, l, b, tid);
		if (idx >= 0)
			break;
		if (tries == 64)
			return NULL;
		/* the victims' buckets were busy: let their holders on */
		bpftime_map_htab_unlock(b);
		map_sys_yield();
		bpftime_map_htab_lock(h, b, tid);
	}
	e = htab_elem(h, (uint32_t)idx);
	htab_claim(h, b, e, false);
	__atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
	set_active(l, e, 0);
	return e;
}

/* ---- updates ---- */

struct lru_req {
	const void *key, *value;
	uint64_t flags;
	uint32_t hash, tid, cpu;
	bool onallcpus;
};

/* As htab_lru_map_update_elem(): an element is taken before the key is looked up. */
static int update_plain(struct htab *h, const struct lru_req *q)
{
	struct htab_bucket *b = htab_bucket_of(h, q->hash);
	struct htab_elem *n = lock_with_elem(h, list_for_cpu(h, q->cpu), b, q->tid), *o;
	uint32_t *link;
	int err = -ENOMEM;

	if (n) {
		htab_set_key(h, n, q->hash, q->key);
		map_copy(htab_value(h, n), q->value, h->value_size);
		o = bpftime_map_htab_find(h, b, q->hash, q->key, &link);
		err = htab_check_flags(o, q->flags);
		if (err) {
			bpftime_map_htab_abandon(h, b, n, false);
		} else if (o) {
			__atomic_store_n(&n->ref, 1, __ATOMIC_RELAXED);
			bpftime_map_htab_replace(h, b, link, o, n, false);
		} else {
			bpftime_map_htab_link(h, b, n);
		}
	}
	bpftime_map_htab_unlock(b);
	return err;
}

/* As __htab_lru_percpu_map_update_elem(): in place; no element taken for BPF_EXIST. */
static int update_pcpu(struct htab *h, const struct lru_req *q)
{
	struct htab_bucket *b = htab_bucket_of(h, q->hash);
	struct htab_elem *n = NULL, *o;
	int err;

	if (q->flags == BPF_EXIST)
		bpftime_map_htab_lock(h, b, q->tid);
	else if (!(n = lock_with_elem(h, list_for_cpu(h, q->cpu), b, q->tid))) {
		bpftime_map_htab_unlock(b);
		return -ENOMEM;
	}
	o = bpftime_map_htab_find(h, b, q->hash, q->key, NULL);
	err = htab_check_flags(o, q->flags);
	if (!err && o) {
		__atomic_store_n(&o->ref, 1, __ATOMIC_RELAXED);
		bpftime_map_htab_pcpu_copy(h, o, q->value, q->onallcpus, q->cpu, false);
	} else if (!err) {
		htab_set_key(h, n, q->hash, q->key);
		bpftime_map_htab_pcpu_copy(h, n, q->value, q->onallcpus, q->cpu, true);
		bpftime_map_htab_link(h, b, n);
		n = NULL;
	}
	if (n)
		bpftime_map_htab_abandon(h, b, n, false);
	bpftime_map_htab_unlock(b);
	return err;
}

static int lru_update_req(struct bpftime_map *m, struct lru_req *q)
{
	struct htab *h = htab_of(m);

	/* htab_lru_map_update_elem(): flags beyond BPF_EXIST, BPF_F_LOCK included */
	if (q->flags > BPF_EXIST)
		return -EINVAL;
	q->hash = bpftime_map_htab_hash(h, q->key);
	return h->percpu ? update_pcpu(h, q) : update_plain(h, q);
}

static int lru_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	struct htab *h = htab_of(m);
	struct lru_req q = {.key = key, .value = value, .flags = flags, .onallcpus = true};

	q.tid = map_sys_gettid();
	/* bpf(2) runs on some CPU: a per-CPU LRU takes from that CPU's share */
	q.cpu = h->nr_lists > 1 ? this_cpu() : 0;
	return lru_update_req(m, &q);
}

/* As htab_lru_map_lookup_elem(): programs mark what they use. */
static void *lru_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	struct htab *h = htab_of(m);
	uint32_t hash = bpftime_map_htab_hash(h, key);
	struct htab_elem *e;

	if (h->percpu && cpu >= h->nr_cpus)
		return NULL;
	e = bpftime_map_htab_prog_find(m, htab_bucket_of(h, hash), hash, key, cpu);
	if (!e)
		return NULL;
	/* bpf_lru_node_set_ref(): write only when it changes the line */
	if (!__atomic_load_n(&e->ref, __ATOMIC_RELAXED))
		__atomic_store_n(&e->ref, 1, __ATOMIC_RELAXED);
	return h->percpu ? htab_cpu_value(h, e, cpu) : htab_value(h, e);
}

static long lru_prog_update(struct bpftime_map *m, const void *key, const void *value,
			    uint64_t flags, uint32_t cpu)
{
	struct lru_req q = {.key = key, .value = value, .flags = flags, .cpu = cpu};

	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM; /* the verifier refuses such calls */
	if (cpu >= htab_of(m)->nr_cpus)
		return -EINVAL;
	q.tid = bpftime_map_prog_tid(m, cpu);
	return lru_update_req(m, &q);
}

#define LRU_OPS(NAME)                                                                              \
	{                                                                                          \
		.name = NAME, .check = lru_check, .data_size = lru_data_size, .init = lru_init,    \
		.lookup = bpftime_map_htab_lookup, .update = lru_update,                           \
		.delete = bpftime_map_htab_delete, .get_next_key = bpftime_map_htab_get_next_key,  \
		.lookup_and_delete = bpftime_map_htab_lookup_and_delete,                           \
		.batch_token_size = sizeof(uint32_t),                                              \
		.lookup_batch = bpftime_map_htab_lookup_batch, .prog_lookup = lru_prog_lookup,     \
		.prog_update = lru_prog_update, .prog_delete = bpftime_map_htab_prog_delete,       \
	}

const struct map_ops bpftime_map_lru_hash_ops = LRU_OPS("lru_hash");
const struct map_ops bpftime_map_lru_percpu_hash_ops = LRU_OPS("lru_percpu_hash");
