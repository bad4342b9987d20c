// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK, as kernel/bpf/queue_stack_maps.c.
 *
 * A ring of max_entries + 1 value slots (one always stays free, so that
 * head == tail means empty), packed value_size apart as the kernel packs
 * them:
 *
 *   data: | struct queue_hdr (64) | slot 0 | slot 1 | ... | slot max_entries |
 *                                    ^ tail (oldest)        ^ head (next free)
 *
 * A queue pops at tail, a stack at head - 1. Every operation runs under the
 * map's robust lock (d->lock), as the kernel's raw spinlock serialises them.
 * A holder killed mid-operation leaves nothing to repair: a value is copied
 * into the free slot at head before head moves, a pop copies out before
 * tail or head moves, and each index moves with one store; the overwrite of
 * a full ring moves tail before head, so a death in between only drops the
 * oldest element, as the completed push would have.
 *
 * The syscall side maps bpf(2) onto the helpers as map_update_elem(),
 * map_lookup_elem() and map_lookup_and_delete_elem() do: update = push,
 * lookup = peek, lookup_and_delete = pop. The key must be NULL (key_size 0:
 * ___bpf_copy_key() refuses a key pointer with -EINVAL).
 */
#include <errno.h>
#include "map-internal.h"
#include "map-sys.h"

#define QUEUE_CREATE_FLAG_MASK                                                                     \
	(BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)
#define KMALLOC_MAX_SIZE (4u << 20) /* x86-64: 2^(MAX_PAGE_ORDER + PAGE_SHIFT) */
#define QUEUE_HDR_SIZE   64

/* Written under d->lock only. */
struct queue_hdr {
	uint32_t head; /* next slot a push fills */
	uint32_t tail; /* the oldest element */
	uint32_t size; /* max_entries + 1 */
	uint32_t reserved[13];
};
_Static_assert(sizeof(struct queue_hdr) == QUEUE_HDR_SIZE, "queue header layout");

static bool is_stack(const struct bpftime_map *m)
{
	return m->d->attr.map_type == BPF_MAP_TYPE_STACK;
}

static struct queue_hdr *hdr(const struct bpftime_map *m)
{
	return (struct queue_hdr *)m->data;
}

static uint8_t *slot(const struct bpftime_map *m, uint32_t i)
{
	return m->data + QUEUE_HDR_SIZE + (uint64_t)i * m->d->attr.value_size;
}

/* As queue_stack_map_alloc_check(). */
static int queue_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->max_entries == 0 || a->key_size != 0 || a->value_size == 0 ||
	    (a->map_flags & ~QUEUE_CREATE_FLAG_MASK) ||
	    ((a->map_flags & BPF_F_RDONLY_PROG) && (a->map_flags & BPF_F_WRONLY_PROG)))
		return -EINVAL;
	if (a->value_size > KMALLOC_MAX_SIZE)
		return -E2BIG;
	return 0;
}

static uint64_t queue_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return QUEUE_HDR_SIZE + ((uint64_t)a->max_entries + 1) * a->value_size;
}

static int queue_init(struct bpftime_map *m)
{
	hdr(m)->size = m->d->attr.max_entries + 1;
	return 0;
}

static uint32_t next(const struct queue_hdr *h, uint32_t i)
{
	return i + 1 >= h->size ? 0 : i + 1;
}

/* As queue_stack_map_push_elem(): BPF_EXIST on a full map drops the oldest. */
static long queue_push(struct bpftime_map *m, const void *value, uint64_t flags)
{
	struct queue_hdr *h = hdr(m);
	long err = 0;

	if ((flags & BPF_NOEXIST) || flags > BPF_EXIST)
		return -EINVAL;
	/* 1 (holder died) needs no repair: see the header comment */
	bpftime_map_lock(&m->d->lock, map_sys_gettid());
	if (next(h, h->head) == h->tail) {
		if (!(flags & BPF_EXIST)) {
			err = -E2BIG;
			goto out;
		}
		h->tail = next(h, h->tail);
	}
	map_copy(slot(m, h->head), value, m->d->attr.value_size);
	h->head = next(h, h->head);
out:
	bpftime_map_unlock(&m->d->lock);
	return err;
}

/*
 * As __queue_map_get() / __stack_map_get(): copy the front (queue: oldest,
 * stack: newest) out and, for a pop, remove it. -ENOENT when empty; the
 * helpers zero @value then (@zero), the syscall side leaves it alone.
 */
static long queue_get(struct bpftime_map *m, void *value, bool pop, bool zero)
{
	struct queue_hdr *h = hdr(m);
	uint32_t i;
	long err = 0;

	bpftime_map_lock(&m->d->lock, map_sys_gettid());
	if (h->head == h->tail) {
		if (zero)
			map_zero(value, m->d->attr.value_size);
		err = -ENOENT;
		goto out;
	}
	i = is_stack(m) ? (h->head == 0 ? h->size - 1 : h->head - 1) : h->tail;
	map_copy(value, slot(m, i), m->d->attr.value_size);
	if (pop) {
		if (is_stack(m))
			h->head = i;
		else
			h->tail = next(h, i);
	}
out:
	bpftime_map_unlock(&m->d->lock);
	return err;
}

/* ---- syscall side ---- */

static int queue_lookup(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	if (key) /* ___bpf_copy_key(): key_size 0 takes no key */
		return -EINVAL;
	return (int)queue_get(m, value, false, false);
}

static int queue_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	if (key)
		return -EINVAL;
	return (int)queue_push(m, value, flags);
}

/* queue_stack_map_delete_elem() and _get_next_key(): -EINVAL, with or
 * without a key. */
static int queue_delete(struct bpftime_map *m, const void *key)
{
	return -EINVAL;
}

static int queue_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	return -EINVAL;
}

static int queue_lookup_and_delete(struct bpftime_map *m, const void *key, void *value,
				   uint64_t flags)
{
	if (key)
		return -EINVAL;
	return (int)queue_get(m, value, true, false);
}

/* ---- program side ---- */

static long queue_pop(struct bpftime_map *m, void *value)
{
	return queue_get(m, value, true, true);
}

static long queue_peek(struct bpftime_map *m, void *value)
{
	return queue_get(m, value, false, true);
}

/* bpf_map_update_elem / delete on a queue: the verifier refuses them; the
 * ops answer as queue_stack_map_update_elem() and _delete_elem() would. */
static long queue_prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu)
{
	return -EINVAL;
}

static long queue_prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	return -EINVAL;
}

#define QUEUE_OPS(NAME)                                                                            \
	{                                                                                          \
		.name = NAME, .check = queue_check, .data_size = queue_data_size,                  \
		.init = queue_init, .lookup = queue_lookup, .update = queue_update,                \
		.delete = queue_delete, .get_next_key = queue_get_next_key,                        \
		.lookup_and_delete = queue_lookup_and_delete, .no_batch = MAP_NO_BATCH,            \
		.prog_update = queue_prog_update, .prog_delete = queue_prog_delete,                \
		.push = queue_push, .pop = queue_pop, .peek = queue_peek,                          \
	}

const struct map_ops bpftime_map_queue_ops = QUEUE_OPS("queue");
const struct map_ops bpftime_map_stack_ops = QUEUE_OPS("stack");
