// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_LPM_TRIE, as kernel/bpf/lpm_trie.c: keys are struct
 * bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[key_size - 4]; }, lookups
 * find the longest stored prefix of the key, updates and deletes act on
 * the exact prefix.
 *
 * The trie is the kernel's: a binary tree where each node holds a prefix,
 * a child's prefix extends its parent's, and the bit after the parent's
 * prefix picks the child. Intermediate nodes (LPM_IM, no value) join two
 * subtrees whose prefixes diverge; each has exactly two children.
 *
 *   data: | struct lpm_hdr (64) | free ring: u32[nr_nodes] | nodes |
 *   node: | child[2] prefixlen flags (16) | data (round 8) | value (round 8) |
 *
 * Nodes: 2 * max_entries, preallocated. A trie of n entries holds at most
 * n - 1 intermediate nodes (each has two children, the leaves are
 * entries), plus one node an update fills before the one it replaces is
 * freed, so operations never allocate and never run out.
 *
 * Concurrency. Writers (update, delete) and the syscall-side readers hold
 * the map's robust lock (d->lock). Program-side lookups take no lock, as
 * the kernel's RCU lookup takes none: every change to the tree is one
 * store (a child or root index, or a node's flags) of a node filled before
 * it became reachable (release store, paired with the readers' acquire
 * loads), so a reader sees the tree before or after it. Freed nodes go to
 * the tail of a FIFO ring and are reused last, which stands in for the RCU
 * grace period: a reader still walking a node freed under it meets it
 * rewritten only after all other free nodes have been used. With a small
 * max_entries and heavy churn that can be soon, so every reuse also bumps
 * reuse_gen, and a walk that saw it move walks again (find_longest). The
 * walk always ends, as a child must have a longer prefix than its parent.
 *
 * Death of a lock holder. The tree is valid after every single store, so
 * what a killed writer can leave behind is bookkeeping: a node taken from
 * the ring but not linked, a node unlinked but not returned, a stale
 * n_entries. The next locker is told (bpftime_map_lock returns 1) and
 * rebuilds both from the tree (repair()).
 */
#include <errno.h>
#include "map-internal.h"
#include "map-sys.h"

#define LPM_CREATE_FLAG_MASK                                                                       \
	(BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG |   \
	 BPF_F_WRONLY_PROG)
#define KMALLOC_MAX_SIZE  (4u << 20) /* x86-64: 2^(MAX_PAGE_ORDER + PAGE_SHIFT) */
#define LPM_DATA_SIZE_MAX 256
#define LPM_DATA_SIZE_MIN 1
#define LPM_KERNEL_NODE   24 /* sizeof(struct lpm_trie_node) in 6.18 (probed) */
#define LPM_VAL_SIZE_MAX  (KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_KERNEL_NODE)
#define LPM_KEY_HDR       4 /* bpf_lpm_trie_key_u8.prefixlen */
#define LPM_HDR_SIZE      64
#define LPM_NODE_HDR      16

#define LPM_IM   1u /* intermediate node: no value, two children */
#define LPM_MARK 2u /* repair(): reached from the root */

/* root, n_entries and the ring: under d->lock; the rest written by init. */
struct lpm_hdr {
	uint32_t root;      /* node index + 1; 0: empty (release store) */
	uint32_t n_entries; /* nodes with a value */
	uint32_t nr_nodes;
	uint32_t data_size; /* key_size - 4 */
	uint32_t max_prefixlen;
	uint32_t node_size;
	uint32_t value_off; /* from the node's start */
	uint32_t free_head; /* ring index of the next node to reuse */
	uint32_t free_count;
	/* +1 (a full barrier) each time a node leaves the ring to be
	 * rewritten: a lock-free walk that saw it move may have read a
	 * rewritten node, and walks again (find_longest) */
	uint32_t reuse_gen;
	uint32_t reserved[6];
};
_Static_assert(sizeof(struct lpm_hdr) == LPM_HDR_SIZE, "lpm header layout");

struct lpm_node {
	uint32_t child[2]; /* node index + 1; 0: none (release store) */
	uint32_t prefixlen;
	uint32_t flags; /* LPM_IM, LPM_MARK (atomic) */
	uint8_t data[];
};
_Static_assert(sizeof(struct lpm_node) == LPM_NODE_HDR, "lpm node layout");

/* The key as the map sees it: a copy of prefixlen, data in place. */
struct lpm_key {
	uint32_t prefixlen;
	const uint8_t *data;
};

/* ---- layout ---- */

static struct lpm_hdr *hdr(const struct bpftime_map *m)
{
	return (struct lpm_hdr *)m->data;
}

static uint32_t *ring(const struct bpftime_map *m)
{
	return (uint32_t *)(m->data + LPM_HDR_SIZE);
}

static uint64_t nodes_off(uint64_t nr_nodes)
{
	return (LPM_HDR_SIZE + 4 * nr_nodes + 7) & ~7ull;
}

static struct lpm_node *node(const struct bpftime_map *m, uint32_t i)
{
	const struct lpm_hdr *h = hdr(m);

	return (struct lpm_node *)(m->data + nodes_off(h->nr_nodes) + (uint64_t)i * h->node_size);
}

/* A child or root index (index + 1) as a node, NULL for 0 or out of range. */
static struct lpm_node *at(const struct bpftime_map *m, uint32_t ref)
{
	return ref && ref <= hdr(m)->nr_nodes ? node(m, ref - 1) : NULL;
}

static uint32_t ref_of(const struct bpftime_map *m, const struct lpm_node *n)
{
	const struct lpm_hdr *h = hdr(m);

	return (uint32_t)(((const uint8_t *)n - (m->data + nodes_off(h->nr_nodes))) /
			  h->node_size) +
	       1;
}

static uint8_t *value_of(const struct bpftime_map *m, struct lpm_node *n)
{
	return (uint8_t *)n + hdr(m)->value_off;
}

static struct lpm_key key_of(const void *key)
{
	struct lpm_key k;

	map_copy(&k.prefixlen, key, sizeof(k.prefixlen));
	k.data = (const uint8_t *)key + LPM_KEY_HDR;
	return k;
}

/* ---- creation ---- */

/* As trie_alloc(). */
static int lpm_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->max_entries == 0 || !(a->map_flags & BPF_F_NO_PREALLOC) ||
	    (a->map_flags & ~LPM_CREATE_FLAG_MASK) ||
	    ((a->map_flags & BPF_F_RDONLY_PROG) && (a->map_flags & BPF_F_WRONLY_PROG)) ||
	    a->key_size < LPM_KEY_HDR + LPM_DATA_SIZE_MIN ||
	    a->key_size > LPM_KEY_HDR + LPM_DATA_SIZE_MAX || a->value_size < 1 ||
	    a->value_size > LPM_VAL_SIZE_MAX)
		return -EINVAL;
	return 0;
}

static uint32_t value_off(const struct bpftime_map_attr *a)
{
	return map_round8(LPM_NODE_HDR + a->key_size - LPM_KEY_HDR);
}

static uint64_t lpm_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint64_t nr = 2ull * a->max_entries;

	if (nr > UINT32_MAX - 1) {
		/* more nodes than u32 indexes: no region holds that (-ENOMEM) */
		bpftime_map_log(BPFTIME_MAP_WARN,
				"map '%.16s' (lpm_trie): %u entries need 2^32 nodes or more",
				a->map_name, a->max_entries);
		return UINT64_MAX;
	}
	return nodes_off(nr) + nr * (value_off(a) + map_round8(a->value_size));
}

static int lpm_init(struct bpftime_map *m)
{
	struct lpm_hdr *h = hdr(m);
	const struct bpftime_map_attr *a = &m->d->attr;

	h->nr_nodes = 2 * a->max_entries;
	h->data_size = a->key_size - LPM_KEY_HDR;
	h->max_prefixlen = 8 * h->data_size;
	h->value_off = value_off(a);
	h->node_size = h->value_off + map_round8(a->value_size);
	for (uint32_t i = 0; i < h->nr_nodes; i++)
		ring(m)[i] = i;
	h->free_count = h->nr_nodes;
	return 0;
}

/* ---- bits ---- */

/* extract_bit(): bit @i of @data, most significant first. */
static uint32_t bit_at(const uint8_t *data, uint32_t i)
{
	return (data[i / 8] >> (7 - i % 8)) & 1;
}

/*
 * longest_prefix_match(): how many leading bits a node's prefix (@data,
 * @len bits) and @k share, at most the shorter of the two lengths.
 */
static uint32_t prefix_match(const uint8_t *data, uint32_t len, const struct lpm_key *k)
{
	uint32_t limit = len < k->prefixlen ? len : k->prefixlen;
	uint32_t bits = 0;

	for (uint32_t i = 0; bits < limit; i++, bits += 8) {
		uint32_t x = data[i] ^ k->data[i];

		if (x) {
			bits += (uint32_t)__builtin_clz(x) - 24;
			break;
		}
	}
	return bits < limit ? bits : limit;
}

static uint32_t match_node(const struct lpm_node *n, const struct lpm_key *k)
{
	return prefix_match(n->data, n->prefixlen, k);
}

static uint32_t load_ref(const uint32_t *ref)
{
	/* Pairs with the release store that published the node. */
	return __atomic_load_n(ref, __ATOMIC_ACQUIRE);
}

static void publish(uint32_t *ref, uint32_t v)
{
	__atomic_store_n(ref, v, __ATOMIC_RELEASE);
}

static uint32_t flags_of(const struct lpm_node *n)
{
	return __atomic_load_n(&n->flags, __ATOMIC_RELAXED);
}

/* ---- the node pool: a FIFO ring, under d->lock ---- */

static struct lpm_node *node_take(struct bpftime_map *m)
{
	struct lpm_hdr *h = hdr(m);
	uint32_t i;

	if (h->free_count == 0)
		return NULL;
	i = ring(m)[h->free_head];
	h->free_head = h->free_head + 1 == h->nr_nodes ? 0 : h->free_head + 1;
	h->free_count--;
	/* before the caller rewrites it: seq_cst orders the stores after */
	__atomic_fetch_add(&h->reuse_gen, 1, __ATOMIC_SEQ_CST);
	return node(m, i);
}

static void node_give(struct bpftime_map *m, struct lpm_node *n)
{
	struct lpm_hdr *h = hdr(m);

	if (h->free_count == h->nr_nodes)
		return; /* cannot happen: every node is counted once */
	ring(m)[((uint64_t)h->free_head + h->free_count) % h->nr_nodes] = ref_of(m, n) - 1;
	h->free_count++;
}

/* A node off the ring, filled but not yet reachable: @k's prefix and data,
 * @value (NULL: an intermediate node, whose data the caller sets). */
static struct lpm_node *node_new(struct bpftime_map *m, const struct lpm_key *k, const void *value)
{
	struct lpm_node *n = node_take(m);

	if (!n)
		return NULL;
	n->child[0] = n->child[1] = 0;
	n->prefixlen = k->prefixlen;
	__atomic_store_n(&n->flags, value ? 0 : LPM_IM, __ATOMIC_RELAXED);
	map_copy(n->data, k->data, hdr(m)->data_size);
	if (value)
		map_copy(value_of(m, n), value, m->d->attr.value_size);
	return n;
}

/* ---- the lock and its repair ---- */

static void clear_marks(struct bpftime_map *m)
{
	for (uint32_t i = 0; i < hdr(m)->nr_nodes; i++)
		__atomic_fetch_and(&node(m, i)->flags, ~LPM_MARK, __ATOMIC_RELAXED);
}

/*
 * After a holder died: mark what the root reaches (the ring, about to be
 * rebuilt, serves as the walk's stack), count the entries among it, and
 * return every other node to the ring.
 */
static void repair(struct bpftime_map *m)
{
	struct lpm_hdr *h = hdr(m);
	uint32_t *stack = ring(m), depth = 0, entries = 0, freed = 0;

	clear_marks(m);
	if (at(m, h->root))
		stack[depth++] = h->root;
	while (depth) {
		struct lpm_node *n = at(m, stack[--depth]);

		if (flags_of(n) & LPM_MARK)
			continue; /* reached twice: cannot happen in a tree */
		__atomic_fetch_or(&n->flags, LPM_MARK, __ATOMIC_RELAXED);
		entries += !(flags_of(n) & LPM_IM);
		for (int c = 0; c < 2; c++)
			if (at(m, n->child[c]) && depth < h->nr_nodes)
				stack[depth++] = n->child[c];
	}
	h->free_head = 0;
	for (uint32_t i = 0; i < h->nr_nodes; i++)
		if (!(flags_of(node(m, i)) & LPM_MARK))
			ring(m)[freed++] = i;
	h->free_count = freed;
	h->n_entries = entries;
	clear_marks(m);
	bpftime_map_log(BPFTIME_MAP_WARN, "map %u (lpm_trie): lock holder died; %u entries kept",
			m->d->id, entries);
}

static void lpm_lock(struct bpftime_map *m, uint32_t tid)
{
	if (bpftime_map_lock(&m->d->lock, tid))
		repair(m);
}

static void lpm_unlock(struct bpftime_map *m)
{
	bpftime_map_unlock(&m->d->lock);
}

/* The program side's TID for the lock: the holder of the CPU slot. */
static uint32_t prog_tid(const struct bpftime_map *m, uint32_t cpu)
{
	uint32_t t = 0;

	if (cpu < m->d->nr_cpus)
		t = __atomic_load_n(&m->r->hdr->cpu_owner[cpu], __ATOMIC_RELAXED);
	return t ? t : map_sys_gettid();
}

/* ---- lookup ---- */

/*
 * As trie_lookup_elem(): walk down while the node's whole prefix matches,
 * remembering the last node with a value. Lock-free (see the top). The
 * walk stops when a child's prefix is not longer than its parent's, which
 * only a node rewritten under a slow reader can show.
 */
static struct lpm_node *walk_longest(const struct bpftime_map *m, const struct lpm_key *k)
{
	const struct lpm_hdr *h = hdr(m);
	struct lpm_node *n, *found = NULL;
	uint32_t prev_len = 0;
	bool first = true;

	if (k->prefixlen > h->max_prefixlen)
		return NULL;
	n = at(m, load_ref(&h->root));
	while (n) {
		/* read once: all below must agree on it, even for a node
		 * rewritten under us (it bounds every bit index into @k) */
		uint32_t len = __atomic_load_n(&n->prefixlen, __ATOMIC_RELAXED), matchlen;

		if (len > h->max_prefixlen || (!first && len <= prev_len))
			break;
		first = false;
		prev_len = len;
		matchlen = prefix_match(n->data, len, k);
		if (matchlen == h->max_prefixlen)
			return n; /* a full-length match is exact */
		if (matchlen < len)
			break;
		if (!(flags_of(n) & LPM_IM))
			found = n;
		/* len < max_prefixlen here: the bit is inside the key */
		n = at(m, load_ref(&n->child[bit_at(k->data, len)]));
	}
	return found;
}

/* Walks again when a node was taken for reuse during the walk (a seqlock
 * on reuse_gen: FIFO reuse alone is not a grace period when the pool is
 * small and writers churn, see the top). After LPM_WALK_TRIES the last
 * answer stands, so a reader never waits on writers. Under d->lock the
 * first walk is final. */
#define LPM_WALK_TRIES 8

static struct lpm_node *find_longest(const struct bpftime_map *m, const struct lpm_key *k)
{
	const struct lpm_hdr *h = hdr(m);
	struct lpm_node *found;

	for (int tries = 1;; tries++) {
		uint32_t gen = __atomic_load_n(&h->reuse_gen, __ATOMIC_ACQUIRE);

		found = walk_longest(m, k);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->reuse_gen, __ATOMIC_RELAXED) == gen ||
		    tries == LPM_WALK_TRIES)
			return found;
	}
}

static void *lpm_prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	struct lpm_key k = key_of(key);
	struct lpm_node *n = find_longest(m, &k);

	return n ? value_of(m, n) : NULL;
}

/* The syscall side copies under the lock: a consistent value. */
static int lpm_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	struct lpm_key k = key_of(key);
	struct lpm_node *n;

	lpm_lock(m, map_sys_gettid());
	n = find_longest(m, &k);
	if (n)
		map_copy(value, value_of(m, n), m->d->attr.value_size);
	lpm_unlock(m);
	return n ? 0 : -ENOENT;
}

/* ---- update ---- */

/*
 * The slot (root or child index) that holds the node where @k stops: the
 * first node whose prefix @k does not fully match, or whose prefix is as
 * long as @k's. *@np is that node (NULL: an empty slot), *@matchlen its
 * match, *@parent_slot the slot of its parent (for delete).
 */
static uint32_t *find_slot(struct bpftime_map *m, const struct lpm_key *k, struct lpm_node **np,
			   uint32_t *matchlen, uint32_t **parent_slot, struct lpm_node **parent)
{
	uint32_t *slot = &hdr(m)->root, *pslot = slot;
	struct lpm_node *n, *par = NULL;

	while ((n = at(m, *slot))) {
		*matchlen = match_node(n, k);
		if (n->prefixlen != *matchlen || n->prefixlen == k->prefixlen)
			break;
		par = n;
		pslot = slot;
		slot = &n->child[bit_at(k->data, n->prefixlen)];
	}
	*np = n;
	if (parent_slot)
		*parent_slot = pslot;
	if (parent)
		*parent = par;
	return slot;
}

/* trie_check_add_elem(): room for one more entry, unless BPF_EXIST. */
static int check_add(const struct bpftime_map *m, uint64_t flags)
{
	if (flags == BPF_EXIST)
		return -ENOENT;
	if (hdr(m)->n_entries >= m->d->attr.max_entries)
		return -ENOSPC;
	return 0;
}

/* @n's prefix is exactly @k's: replace it, keeping its children. */
static int replace_node(struct bpftime_map *m, uint32_t *slot, struct lpm_node *n,
			const struct lpm_key *k, const void *value, uint64_t flags)
{
	bool was_im = flags_of(n) & LPM_IM;
	struct lpm_node *fresh;
	int err = was_im ? check_add(m, flags) : (flags == BPF_NOEXIST ? -EEXIST : 0);

	if (err)
		return err;
	fresh = node_new(m, k, value);
	if (!fresh)
		return -ENOMEM;
	fresh->child[0] = n->child[0];
	fresh->child[1] = n->child[1];
	publish(slot, ref_of(m, fresh));
	node_give(m, n);
	hdr(m)->n_entries += was_im;
	return 0;
}

/*
 * @k diverges from @n after @matchlen bits (or ends there): put a new node
 * above @n, directly (@k is a prefix of @n) or with an intermediate node
 * that takes both as children.
 */
static int insert_above(struct bpftime_map *m, uint32_t *slot, struct lpm_node *n,
			uint32_t matchlen, const struct lpm_key *k, const void *value)
{
	struct lpm_node *fresh = node_new(m, k, value), *im;
	struct lpm_key imk = {.prefixlen = matchlen, .data = n->data};

	if (!fresh)
		return -ENOMEM;
	if (matchlen == k->prefixlen) {
		fresh->child[bit_at(n->data, matchlen)] = ref_of(m, n);
		publish(slot, ref_of(m, fresh));
		return 0;
	}
	im = node_new(m, &imk, NULL);
	if (!im) {
		node_give(m, fresh);
		return -ENOMEM;
	}
	im->child[bit_at(k->data, matchlen)] = ref_of(m, fresh);
	im->child[!bit_at(k->data, matchlen)] = ref_of(m, n);
	publish(slot, ref_of(m, im));
	return 0;
}

/* As trie_update_elem(), under the lock. */
static int update_locked(struct bpftime_map *m, const struct lpm_key *k, const void *value,
			 uint64_t flags)
{
	struct lpm_node *n, *fresh;
	uint32_t matchlen = 0, *slot = find_slot(m, k, &n, &matchlen, NULL, NULL);
	int err;

	if (n && n->prefixlen == matchlen)
		return replace_node(m, slot, n, k, value, flags);
	err = check_add(m, flags);
	if (err)
		return err;
	if (!n) {
		fresh = node_new(m, k, value);
		if (!fresh)
			return -ENOMEM;
		publish(slot, ref_of(m, fresh));
	} else {
		err = insert_above(m, slot, n, matchlen, k, value);
		if (err)
			return err;
	}
	hdr(m)->n_entries++;
	return 0;
}

static int lpm_update_tid(struct bpftime_map *m, const void *key, const void *value, uint64_t flags,
			  uint32_t tid)
{
	struct lpm_key k = key_of(key);
	int err;

	if (flags > BPF_EXIST)
		return -EINVAL;
	if (k.prefixlen > hdr(m)->max_prefixlen)
		return -EINVAL;
	lpm_lock(m, tid);
	err = update_locked(m, &k, value, flags);
	lpm_unlock(m);
	return err;
}

static int lpm_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	return lpm_update_tid(m, key, value, flags, map_sys_gettid());
}

static long lpm_prog_update(struct bpftime_map *m, const void *key, const void *value,
			    uint64_t flags, uint32_t cpu)
{
	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM; /* the verifier refuses such calls */
	return lpm_update_tid(m, key, value, flags, prog_tid(m, cpu));
}

/* ---- delete ---- */

/* As trie_delete_elem(), under the lock. */
static int delete_locked(struct bpftime_map *m, const struct lpm_key *k)
{
	struct lpm_node *n, *parent, *other;
	uint32_t matchlen = 0, *pslot;
	uint32_t *slot = find_slot(m, k, &n, &matchlen, &pslot, &parent);
	uint32_t c0, c1;

	if (!n || n->prefixlen != k->prefixlen || n->prefixlen != matchlen ||
	    (flags_of(n) & LPM_IM))
		return -ENOENT;
	hdr(m)->n_entries--;
	c0 = n->child[0];
	c1 = n->child[1];
	if (c0 && c1) {
		/* two children: keep the node as an intermediate one */
		__atomic_fetch_or(&n->flags, LPM_IM, __ATOMIC_RELEASE);
		return 0;
	}
	if (parent && (flags_of(parent) & LPM_IM) && !c0 && !c1) {
		/* a leaf under an intermediate node: the sibling takes the
		 * intermediate node's place, both go */
		other = at(m, parent->child[parent->child[0] == ref_of(m, n) ? 1 : 0]);
		publish(pslot, other ? ref_of(m, other) : 0);
		node_give(m, parent);
		node_give(m, n);
		return 0;
	}
	publish(slot, c0 ? c0 : c1);
	node_give(m, n);
	return 0;
}

static int lpm_delete_tid(struct bpftime_map *m, const void *key, uint32_t tid)
{
	struct lpm_key k = key_of(key);
	int err;

	if (k.prefixlen > hdr(m)->max_prefixlen)
		return -EINVAL;
	lpm_lock(m, tid);
	err = delete_locked(m, &k);
	lpm_unlock(m);
	return err;
}

static int lpm_delete(struct bpftime_map *m, const void *key)
{
	return lpm_delete_tid(m, key, map_sys_gettid());
}

static long lpm_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	if (m->d->attr.map_flags & BPF_F_RDONLY_PROG)
		return -EPERM;
	return lpm_delete_tid(m, key, prog_tid(m, cpu));
}

/* ---- get_next_key ---- */

/* The first node in post-order under @n: the leftmost leaf's way down,
 * remembering the last node with a value (find_leftmost in the kernel). */
static struct lpm_node *leftmost(const struct bpftime_map *m, struct lpm_node *n)
{
	struct lpm_node *next = NULL;

	while (n) {
		if (flags_of(n) & LPM_IM) {
			n = at(m, n->child[0]);
			continue;
		}
		next = n;
		n = at(m, n->child[0] ? n->child[0] : n->child[1]);
	}
	return next;
}

/*
 * The node after @k in post-order, as trie_get_next_key() finds it with a
 * stack of the path: going up from @k's node, the first ancestor entered
 * through child 0 that has a child 1 gives the leftmost node of that
 * child; else the first ancestor with a value. Here one walk down keeps
 * the deepest such ancestor instead of the stack. NULL: @k was the last;
 * *@missing: @k is not in the trie (the walk restarts).
 */
static struct lpm_node *after(const struct bpftime_map *m, const struct lpm_key *k, bool *missing)
{
	struct lpm_node *n = at(m, hdr(m)->root), *next = NULL, *sub = NULL;
	uint32_t matchlen = 0;

	*missing = true;
	while (n) {
		uint32_t b;

		matchlen = match_node(n, k);
		if (n->prefixlen != matchlen || n->prefixlen == k->prefixlen)
			break;
		b = bit_at(k->data, n->prefixlen);
		if (b == 0 && n->child[1]) {
			sub = at(m, n->child[1]);
			next = NULL;
		} else if (!(flags_of(n) & LPM_IM)) {
			sub = NULL;
			next = n;
		}
		n = at(m, n->child[b]);
	}
	if (!n || n->prefixlen != matchlen || (flags_of(n) & LPM_IM))
		return NULL;
	*missing = false;
	return sub ? leftmost(m, sub) : next;
}

static int lpm_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	const struct lpm_hdr *h = hdr(m);
	struct lpm_node *next = NULL;
	bool missing = true;
	struct lpm_key k;

	lpm_lock(m, map_sys_gettid());
	if (key) {
		k = key_of(key);
		if (k.prefixlen <= h->max_prefixlen)
			next = after(m, &k, &missing);
	}
	/* no key, a key too long or one not in the trie: the first one */
	if (missing)
		next = leftmost(m, at(m, h->root));
	if (next) {
		map_copy(next_key, &next->prefixlen, sizeof(next->prefixlen));
		map_copy((uint8_t *)next_key + LPM_KEY_HDR, next->data, h->data_size);
	}
	lpm_unlock(m);
	return next ? 0 : -ENOENT;
}

/*
 * Batches: the kernel's trie has the generic lookup, update and delete
 * batches (map.c), and no lookup_and_delete (-ENOTSUPP there too).
 */
const struct map_ops bpftime_map_lpm_trie_ops = {
    .name = "lpm_trie",
    .check = lpm_check,
    .data_size = lpm_data_size,
    .init = lpm_init,
    .lookup = lpm_lookup,
    .update = lpm_update,
    .delete = lpm_delete,
    .get_next_key = lpm_get_next_key,
    .prog_lookup = lpm_prog_lookup,
    .prog_update = lpm_prog_update,
    .prog_delete = lpm_prog_delete,
};
