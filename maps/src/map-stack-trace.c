// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_STACK_TRACE, as kernel/bpf/stackmap.c: key = stack id (u32),
 * value = the stack's instruction pointers (u64 each) or, with
 * BPF_F_STACK_BUILD_ID, struct bpf_stack_build_id entries.
 *
 *   data: | struct st_hdr (64) | buckets: u32[n_buckets] | free: u32[max_entries] |
 *         | elements: max_entries x (struct st_elem + value_size) |
 *
 * n_buckets = roundup_pow_of_two(max_entries); a stack's id is the jhash of
 * its ips masked to n_buckets, so ids may reach n_buckets - 1 > max_entries.
 * buckets[id] holds element index + 1 (0: empty); max_entries elements are
 * preallocated and kept on a free stack, as the kernel's pcpu_freelist.
 *
 * Every operation runs under the map's robust lock (d->lock). An element
 * is filled while it is off every list, then published by one store into
 * its bucket; the element it replaces is pushed back afterwards. A holder
 * killed in between leaves at worst an element in no bucket and not on the
 * free stack: the next locker (told so by bpftime_map_lock) rebuilds the
 * free stack from the buckets (repair()).
 *
 * The program side is bpftime_map__stackid(), bpf_get_stackid() over the
 * ips the agent collected (the kernel's perf callchain). The build-id
 * flavour stores each ip as BPF_STACK_BUILD_ID_IP entries, which is what
 * the kernel does when it cannot read a build id
 * (stack_map_get_build_id_offset()).
 */
#include <errno.h>
#include <fcntl.h>
#include "map-internal.h"
#include "map-jhash.h"
#include "map-sys.h"

#define STACK_CREATE_FLAG_MASK                                                                     \
	(BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID)
#define STACKID_FLAGS                                                                              \
	(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID)
#define PERF_MAX_STACK_DEFAULT 127 /* sysctl kernel.perf_event_max_stack */
#define ST_HDR_SIZE            64
#define ST_ELEM_HDR            16

/* Written by init; free_top under d->lock. */
struct st_hdr {
	uint32_t n_buckets;
	uint32_t nr_elems;  /* max_entries */
	uint32_t free_top;  /* entries on the free stack */
	uint32_t unit;      /* bytes per frame: 8, or 32 for build ids */
	uint32_t max_stack; /* kernel.perf_event_max_stack at creation */
	uint32_t reserved[11];
};
_Static_assert(sizeof(struct st_hdr) == ST_HDR_SIZE, "stack map header layout");

/* Written while off every list (or under d->lock); data: value_size bytes. */
struct st_elem {
	uint32_t hash;
	uint32_t nr;   /* frames in data */
	uint32_t mark; /* repair(): reached from a bucket */
	uint32_t reserved;
	uint8_t data[];
};
_Static_assert(sizeof(struct st_elem) == ST_ELEM_HDR, "stack map element layout");
_Static_assert(sizeof(struct bpf_stack_build_id) == 32, "bpf_stack_build_id layout");

/* ---- layout ---- */

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint64_t buckets_off(void)
{
	return ST_HDR_SIZE;
}

static uint64_t free_off(uint64_t n_buckets)
{
	return buckets_off() + 4 * n_buckets;
}

static uint64_t elems_off(uint64_t n_buckets, uint64_t nr_elems)
{
	return (free_off(n_buckets) + 4 * nr_elems + 7) & ~7ull;
}

static struct st_hdr *hdr(const struct bpftime_map *m)
{
	return (struct st_hdr *)m->data;
}

static uint32_t *buckets(const struct bpftime_map *m)
{
	return (uint32_t *)(m->data + buckets_off());
}

static uint32_t *free_stack(const struct bpftime_map *m)
{
	return (uint32_t *)(m->data + free_off(hdr(m)->n_buckets));
}

static struct st_elem *elem(const struct bpftime_map *m, uint32_t i)
{
	const struct st_hdr *h = hdr(m);

	return (struct st_elem *)(m->data + elems_off(h->n_buckets, h->nr_elems) +
				  (uint64_t)i * (ST_ELEM_HDR + m->d->attr.value_size));
}

/* ---- creation ---- */

/* sysctl_perf_event_max_stack, read with raw system calls (no libc here). */
static uint32_t perf_max_stack(void)
{
	char buf[16];
	uint32_t v = 0;
	long fd, n;

	fd = map_syscall6(SYS_open, (long)"/proc/sys/kernel/perf_event_max_stack",
			  O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return PERF_MAX_STACK_DEFAULT;
	n = map_syscall6(SYS_read, fd, (long)buf, sizeof(buf), 0, 0, 0);
	map_syscall1(SYS_close, fd);
	for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint32_t)(buf[i] - '0');
	return v ? v : PERF_MAX_STACK_DEFAULT;
}

static uint32_t frame_size(const struct bpftime_map_attr *a)
{
	return (a->map_flags & BPF_F_STACK_BUILD_ID) ? sizeof(struct bpf_stack_build_id) : 8;
}

/* As stack_map_alloc(). */
static int st_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->map_flags & ~STACK_CREATE_FLAG_MASK)
		return -EINVAL;
	if (a->max_entries == 0 || a->key_size != 4 || a->value_size < 8 || a->value_size % 8)
		return -EINVAL;
	if (a->value_size % frame_size(a) || a->value_size / frame_size(a) > perf_max_stack())
		return -EINVAL;
	/* roundup_pow_of_two() must not overflow */
	if (a->max_entries > (1u << 31))
		return -E2BIG;
	return 0;
}

static uint64_t st_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	uint64_t nb = pow2_at_least(a->max_entries);

	return elems_off(nb, a->max_entries) +
	       (uint64_t)a->max_entries * (ST_ELEM_HDR + a->value_size);
}

static int st_init(struct bpftime_map *m)
{
	struct st_hdr *h = hdr(m);
	uint32_t *fr;

	h->n_buckets = (uint32_t)pow2_at_least(m->d->attr.max_entries);
	h->nr_elems = m->d->attr.max_entries;
	h->unit = frame_size(&m->d->attr);
	h->max_stack = perf_max_stack();
	fr = free_stack(m);
	for (uint32_t i = 0; i < h->nr_elems; i++)
		fr[i] = h->nr_elems - 1 - i; /* element 0 on top */
	h->free_top = h->nr_elems;
	return 0;
}

/* ---- the lock and its repair ---- */

/*
 * After a holder died: every element reached from a bucket is in use (an
 * element found twice, or out of range, is dropped from the later bucket);
 * every other one goes back on the free stack.
 */
static void repair(struct bpftime_map *m)
{
	struct st_hdr *h = hdr(m);
	uint32_t *b = buckets(m), *fr = free_stack(m);

	for (uint32_t i = 0; i < h->nr_elems; i++)
		elem(m, i)->mark = 0;
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		uint32_t e = b[i];

		if (!e)
			continue;
		if (e > h->nr_elems || elem(m, e - 1)->mark)
			b[i] = 0;
		else
			elem(m, e - 1)->mark = 1;
	}
	h->free_top = 0;
	for (uint32_t i = 0; i < h->nr_elems; i++)
		if (!elem(m, i)->mark)
			fr[h->free_top++] = i;
	bpftime_map_log(BPFTIME_MAP_WARN, "map %u (stack_trace): lock holder died; %u stacks kept",
			m->d->id, h->nr_elems - h->free_top);
}

static void st_lock(struct bpftime_map *m)
{
	if (bpftime_map_lock(&m->d->lock, map_sys_gettid()))
		repair(m);
}

static void st_unlock(struct bpftime_map *m)
{
	bpftime_map_unlock(&m->d->lock);
}

static int64_t pop_free(struct bpftime_map *m)
{
	struct st_hdr *h = hdr(m);

	return h->free_top ? (int64_t)free_stack(m)[--h->free_top] : -1;
}

static void push_free(struct bpftime_map *m, uint32_t i)
{
	struct st_hdr *h = hdr(m);

	if (h->free_top < h->nr_elems)
		free_stack(m)[h->free_top++] = i;
}

/* ---- program side: bpf_get_stackid() ---- */

struct trace {
	const uint64_t *ips; /* after the skipped frames */
	uint32_t nr;
	uint32_t hash;
	uint64_t flags;
};

/*
 * What get_perf_callchain() would have collected, then __bpf_get_stackid()'s
 * cut: at most value_size / frame + skip frames, capped by the sysctl; the
 * skipped ones off the top. -EFAULT when nothing is left.
 */
static int make_trace(const struct bpftime_map *m, const uint64_t *ips, uint32_t nr, uint64_t flags,
		      struct trace *t)
{
	const struct st_hdr *h = hdr(m);
	uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
	uint32_t max_depth = m->d->attr.value_size / h->unit + skip;

	if (max_depth > h->max_stack)
		max_depth = h->max_stack;
	if (nr > max_depth)
		nr = max_depth;
	if (nr <= skip || !ips)
		return -EFAULT;
	t->ips = ips + skip;
	t->nr = nr - skip;
	/* jhash2() over the ips as u32 words, seed 0 */
	t->hash = map_jhash(t->ips, t->nr * 8, 0);
	t->flags = flags;
	return 0;
}

static void fill_build_ids(uint8_t *dst, const struct trace *t)
{
	struct bpf_stack_build_id *id = (struct bpf_stack_build_id *)dst;

	map_zero(dst, (uint64_t)t->nr * sizeof(*id));
	for (uint32_t i = 0; i < t->nr; i++) {
		id[i].status = BPF_STACK_BUILD_ID_IP;
		id[i].ip = t->ips[i];
	}
}

/* Whether @old holds this trace (its @nr frames, @len bytes, are @data). */
static bool same_stack(const struct st_elem *old, bool hash_matches, uint32_t nr, const void *data,
		       uint64_t len)
{
	return hash_matches && old->nr == nr && !map_memcmp(old->data, data, len);
}

/*
 * As the rest of __bpf_get_stackid(), under the lock: an equal stack (or,
 * with BPF_F_FAST_STACK_CMP, an equal hash) in the bucket is the answer; a
 * different one is -EEXIST unless BPF_F_REUSE_STACKID replaces it; a new
 * element comes off the free stack (-ENOMEM when none is left). The
 * build-id flavour fills its element before comparing, as the kernel does.
 */
static long store_stack(struct bpftime_map *m, const struct trace *t, uint32_t id)
{
	uint32_t *b = buckets(m), old_i = b[id];
	struct st_elem *old = old_i ? elem(m, old_i - 1) : NULL, *e;
	bool hash_matches = old && old->hash == t->hash;
	bool reuse = t->flags & BPF_F_REUSE_STACKID;
	uint64_t len = (uint64_t)t->nr * hdr(m)->unit;
	int64_t fresh;

	if (hash_matches && (t->flags & BPF_F_FAST_STACK_CMP))
		return id;
	if (hdr(m)->unit == 8) {
		if (same_stack(old, hash_matches, t->nr, t->ips, len))
			return id;
		if (old && !reuse)
			return -EEXIST;
	}
	fresh = pop_free(m);
	if (fresh < 0)
		return -ENOMEM;
	e = elem(m, (uint32_t)fresh);
	if (hdr(m)->unit == 8) {
		map_copy(e->data, t->ips, len);
	} else {
		bool eq;

		fill_build_ids(e->data, t);
		eq = same_stack(old, hash_matches, t->nr, e->data, len);
		if (eq || (old && !reuse)) {
			push_free(m, (uint32_t)fresh);
			return eq ? (long)id : -EEXIST;
		}
	}
	e->hash = t->hash;
	e->nr = t->nr;
	/* One store publishes the filled element (what repair() relies on);
	 * release although readers of elements hold the lock: only
	 * st_get_next_key() looks without it, at the index alone. */
	__atomic_store_n(&b[id], (uint32_t)fresh + 1, __ATOMIC_RELEASE);
	if (old)
		push_free(m, old_i - 1);
	return id;
}

long bpftime_map__stackid(struct bpftime_map *m, const uint64_t *ips, uint32_t nr, uint64_t flags)
{
	struct trace t;
	long ret;
	int err;

	if (m->d->attr.map_type != BPF_MAP_TYPE_STACK_TRACE)
		return -EINVAL;
	/* bpf_get_stackid(): BPF_F_USER_BUILD_ID is for bpf_get_stack() only */
	if (flags & ~(uint64_t)STACKID_FLAGS)
		return -EINVAL;
	err = make_trace(m, ips, nr, flags, &t);
	if (err)
		return err;
	st_lock(m);
	ret = store_stack(m, &t, t.hash & (hdr(m)->n_buckets - 1));
	st_unlock(m);
	return ret;
}

/* ---- syscall side ---- */

static uint32_t key_id(const void *key)
{
	uint32_t id;

	map_copy(&id, key, sizeof(id));
	return id;
}

/*
 * As bpf_stackmap_extract() (lookup, and lookup_and_delete with @del): the
 * frames, then zeros up to value_size.
 */
static int st_extract(struct bpftime_map *m, const void *key, void *value, bool del)
{
	uint32_t id = key_id(key), *b = buckets(m), e;
	const struct st_elem *el;
	uint64_t len;

	if (id >= hdr(m)->n_buckets)
		return -ENOENT;
	st_lock(m);
	e = b[id];
	if (!e) {
		st_unlock(m);
		return -ENOENT;
	}
	el = elem(m, e - 1);
	len = (uint64_t)el->nr * hdr(m)->unit;
	map_copy(value, el->data, len);
	map_zero((uint8_t *)value + len, m->d->attr.value_size - len);
	if (del) {
		__atomic_store_n(&b[id], 0, __ATOMIC_RELAXED);
		push_free(m, e - 1);
	}
	st_unlock(m);
	return 0;
}

static int st_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	return st_extract(m, key, value, false);
}

static int st_lookup_and_delete(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	return st_extract(m, key, value, true);
}

/* Stacks come from programs only (stack_map_update_elem()). */
static int st_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	return -EINVAL;
}

/* As stack_map_delete_elem(). */
static int st_delete(struct bpftime_map *m, const void *key)
{
	uint32_t id = key_id(key), *b = buckets(m), e;

	if (id >= hdr(m)->n_buckets)
		return -E2BIG;
	st_lock(m);
	e = b[id];
	if (e) {
		__atomic_store_n(&b[id], 0, __ATOMIC_RELAXED);
		push_free(m, e - 1);
	}
	st_unlock(m);
	return e ? 0 : -ENOENT;
}

/* As stack_map_get_next_key(): a missing or NULL key restarts at id 0. */
static int st_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	uint32_t n = hdr(m)->n_buckets, *b = buckets(m), id = 0;

	if (key) {
		id = key_id(key);
		id = id >= n || !__atomic_load_n(&b[id], __ATOMIC_RELAXED) ? 0 : id + 1;
	}
	while (id < n && !__atomic_load_n(&b[id], __ATOMIC_RELAXED))
		id++;
	if (id >= n)
		return -ENOENT;
	map_copy(next_key, &id, sizeof(id));
	return 0;
}

const struct map_ops bpftime_map_stack_trace_ops = {
    .name = "stack_trace",
    .check = st_check,
    .data_size = st_data_size,
    .init = st_init,
    .lookup = st_lookup,
    .update = st_update,
    .delete = st_delete,
    .get_next_key = st_get_next_key,
    .lookup_and_delete = st_lookup_and_delete,
    .no_batch = MAP_NO_BATCH,
};
