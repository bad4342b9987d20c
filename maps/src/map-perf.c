// SPDX-License-Identifier: MIT
/*
 * Perf buffers and BPF_MAP_TYPE_PERF_EVENT_ARRAY: bpf_perf_event_output()
 * as kernel/trace/bpf_trace.c and kernel/events/ring_buffer.c (Linux 6.18)
 * write it, read by libbpf's perf_buffer and bcc as they read the kernel's.
 *
 * Two objects, as in the kernel:
 *
 *   perf buffer   what perf_event_open(PERF_COUNT_SW_BPF_OUTPUT) + mmap give a
 *                 tool: an internal map type (BPFTIME_MAP_TYPE_PERF_BUFFER,
 *                 made by bpftime_map__perfbuf_create only) whose data file
 *                 has the kernel's layout; its id stands for the perf event fd.
 *   PERF_EVENT_   an array of perf buffer ids (bpf-emul turns the fds a tool
 *   ARRAY         stores into ids); bpf_perf_event_output(ctx, map, flags,
 *                 data, size) picks one by index or by the CPU slot.
 *
 * A perf buffer's data file:
 *
 *   0          +---------------------------+
 *              | struct perf_event_mmap_page| data_head (+1024): written by the producer
 *              |                           |   (release), read by the consumer (acquire)
 *              |                           | data_tail (+1032): written by the consumer
 *              |                           |   (release), read by the producer (acquire)
 *              |                           | data_offset = PAGE, data_size: set at creation
 *   PAGE       +---------------------------+
 *              | data: page_cnt pages      | records, 8-aligned, wrapping byte-wise at
 *              |                           |   the end: readers copy a wrapped record out
 *   PAGE*(1+n) +---------------------------+
 *
 * Records, as the kernel writes them for an event opened with sample_type
 * PERF_SAMPLE_RAW (what libbpf and bcc open):
 *   PERF_RECORD_SAMPLE  {header type 9, misc, size} {u32 size} data, zero pad:
 *                       size = round_up(len + 4, 8) - 4, so the record ends 8-aligned
 *   PERF_RECORD_LOST    {header type 2, misc 0, size 24} {u64 id} {u64 lost}: written
 *                       before the next sample that fits after samples were dropped
 *
 * Producer state (head, lost count, wake-up counters, the lock) lives in the
 * region (struct pb_state), out of the tools' reach, as the ring buffer's
 * does (see map-ringbuf.c). Producers serialise on a robust lock: the
 * kernel's perf buffer is per CPU and nests by interrupt level, ours can be
 * written by any thread holding the CPU slot, or by any thread for a buffer
 * opened for no particular CPU.
 *
 * Program side, first use in a process: the perf buffer named by an array
 * slot may never have been used by this process, so its file is mapped
 * then, with raw syscalls (openat, mmap), once per buffer and process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <time.h>
#include <sys/mman.h>
#include <linux/perf_event.h>
#include "map-internal.h"
#include "map-sys.h"

#define PB_PAGE 4096u
/* only bpftime_map__perfbuf_create makes perf buffers: its attr carries
 * this in pad, which bpf(2) attributes never set */
#define PB_TOKEN       0x46524550u /* "PERF" */
#define PB_F_WATERMARK 1u          /* attr.watermark: wakeup counts bytes */
#define PB_F_DISABLED  2u          /* attr.disabled */
#define PB_MAX_PAGES   (1u << 20)  /* 4 GiB of data */
/* the largest raw sample whose record size fits the u16 header.size; the
 * kernel accepts larger ones and truncates header.size (probed on 6.18),
 * which corrupts the buffer: we refuse them with -E2BIG instead */
#define PB_MAX_RAW   (0xffffu - 8 - 4 - 7)
#define PB_LOST_SIZE 24u
#define PB_SLICE_MS  1000
#define PB_ANY_CPU   UINT32_MAX

/* Where a perf buffer's attr (set by bpftime_map__perfbuf_create) keeps
 * perf_event_open()'s answers; descriptors are written by the supervisor. */
#define pb_cpu(a)       ((a)->key_size)
#define pb_wakeup(a)    ((a)->value_size)
#define pb_pages(a)     ((a)->max_entries)
#define pb_watermark(a) ((a)->map_flags & PB_F_WATERMARK)

/* Producer state of a perf buffer, in the region. */
struct pb_state {
	/* producers, under lock */
	uint32_t lock;         /* bpftime_map_lock: TID of the holder */
	uint32_t events;       /* rb->events: samples since the last wakeup_events wake-up */
	uint64_t head;         /* rb->head */
	uint64_t wakeup;       /* rb->wakeup: a change since output began means wake up */
	uint64_t lost;         /* rb->lost: samples dropped since the last PERF_RECORD_LOST */
	uint64_t lost_samples; /* event->lost_samples */
	/* control: written by bpf-emul (the ioctls), read by producers */
	uint32_t enabled;
	uint32_t paused;
	uint64_t pad0[2];
	/* wake-ups: a line of its own, as consumers write it */
	uint32_t poll;     /* rb->poll: set by a wake-up, taken by the next poll */
	uint32_t wake_seq; /* futex word: producers bump it (release) to wake */
	uint32_t waiters;  /* consumers in bpftime_map__perfbuf_wait */
	uint32_t pad1[13];
};
_Static_assert(sizeof(struct pb_state) == 128, "pb_state: two cache lines");
_Static_assert(offsetof(struct perf_event_mmap_page, data_head) == 1024 &&
		   offsetof(struct perf_event_mmap_page, data_tail) == 1032 &&
		   offsetof(struct perf_event_mmap_page, data_offset) == 1040 &&
		   offsetof(struct perf_event_mmap_page, data_size) == 1048 &&
		   offsetof(struct perf_event_mmap_page, __reserved) == 96,
	       "perf_event_mmap_page layout");
_Static_assert(sizeof(struct perf_event_header) == 8, "perf_event_header");

static struct pb_state *pb_state(const struct bpftime_map *pb)
{
	return (struct pb_state *)pb->data;
}

static struct perf_event_mmap_page *pb_page(const struct bpftime_map *pb)
{
	return (struct perf_event_mmap_page *)pb->file_mem;
}

static uint64_t pb_data_size_of(const struct bpftime_map *pb)
{
	return (uint64_t)pb_pages(&pb->d->attr) * PB_PAGE;
}

static bool is_perfbuf(const struct bpftime_map *m)
{
	return m && m->d->attr.map_type == BPFTIME_MAP_TYPE_PERF_BUFFER && m->file_mem;
}

/* ==== perf buffers ==== */

static int pb_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	/* not from bpftime_map__perfbuf_create: a type bpf(2) does not know */
	if (a->pad != PB_TOKEN)
		return -EINVAL;
	if (a->map_flags & ~(PB_F_WATERMARK | PB_F_DISABLED))
		return -EINVAL;
	/* perf_mmap(): 0 data pages or a power of 2 */
	if (pb_pages(a) & (pb_pages(a) - 1))
		return -EINVAL;
	if (pb_pages(a) > PB_MAX_PAGES)
		return -ENOMEM;
	/* perf_event_open(): a CPU that does not exist */
	if (pb_cpu(a) != PB_ANY_CPU && pb_cpu(a) >= nr_cpus)
		return -EINVAL;
	return 0;
}

static uint64_t pb_region_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return sizeof(struct pb_state);
}

static uint64_t pb_file_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (1ull + pb_pages(a)) * PB_PAGE;
}

/* As perf_event_init_userpage() shows the page (probed on 6.18). */
static int pb_init(struct bpftime_map *pb)
{
	struct perf_event_mmap_page *p = pb_page(pb);

	p->cap_bit0_is_deprecated = 1;
	p->size = offsetof(struct perf_event_mmap_page, __reserved);
	p->data_offset = PB_PAGE;
	p->data_size = pb_data_size_of(pb);
	pb_state(pb)->enabled = !(pb->d->attr.map_flags & PB_F_DISABLED);
	return 0;
}

static int opts_ok(const struct bpftime_map_perfbuf_opts *o)
{
	size_t known =
	    offsetof(struct bpftime_map_perfbuf_opts, bpftime_map_perfbuf_opts__last_field) +
	    sizeof(o->bpftime_map_perfbuf_opts__last_field);

	/* callers built before opts.file are accepted */
	if (!o || o->sz < offsetof(struct bpftime_map_perfbuf_opts, disabled) + sizeof(bool))
		return -EINVAL;
	if (o->sz < known)
		return 0;
	for (size_t i = known; i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return -E2BIG;
	return 0;
}

int bpftime_map__perfbuf_create(struct bpftime_map_region *r,
				const struct bpftime_map_perfbuf_opts *opts, uint32_t *id)
{
	struct bpftime_map_attr a = {
	    .map_type = BPFTIME_MAP_TYPE_PERF_BUFFER,
	    .map_name = "perf_buffer",
	};
	int err = opts_ok(opts);

	if (err)
		return err;
	pb_cpu(&a) = opts->cpu;
	pb_wakeup(&a) = opts->wakeup;
	pb_pages(&a) = opts->page_cnt;
	a.map_flags = (opts->watermark ? PB_F_WATERMARK : 0) | (opts->disabled ? PB_F_DISABLED : 0);
	a.pad = PB_TOKEN;
	if (opts->sz >= offsetof(struct bpftime_map_perfbuf_opts, file) + sizeof(opts->file) &&
	    opts->file)
		return bpftime_map_create_adopt(r, &a, id, opts->file);
	return bpftime_map__create(r, &a, id);
}

int bpftime_map__perfbuf_enable(struct bpftime_map *pb, bool enable)
{
	if (!is_perfbuf(pb))
		return -EINVAL;
	__atomic_store_n(&pb_state(pb)->enabled, enable, __ATOMIC_RELAXED);
	return 0;
}

int bpftime_map__perfbuf_pause(struct bpftime_map *pb, bool pause)
{
	if (!is_perfbuf(pb))
		return -EINVAL;
	__atomic_store_n(&pb_state(pb)->paused, pause, __ATOMIC_RELAXED);
	return 0;
}

uint64_t bpftime_map__perfbuf_lost_samples(const struct bpftime_map *pb)
{
	return is_perfbuf(pb) ? __atomic_load_n(&pb_state(pb)->lost_samples, __ATOMIC_RELAXED) : 0;
}

/* ---- wake-ups ---- */

/* As perf_output_wakeup(), without the syscall when nobody waits. */
static void pb_wake(struct pb_state *st)
{
	/* seq_cst: a full barrier between this store and the load of
	 * waiters; pairs with the waiter's increment of waiters before it
	 * takes poll. */
	__atomic_store_n(&st->poll, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&st->waiters, __ATOMIC_SEQ_CST))
		return;
	/* Pairs with the acquire load of wake_seq in bpftime_map__perfbuf_wait. */
	__atomic_add_fetch(&st->wake_seq, 1, __ATOMIC_RELEASE);
	map_sys_futex(&st->wake_seq, MAP_FUTEX_WAKE, INT_MAX, NULL);
}

int bpftime_map__perfbuf_poll(struct bpftime_map *pb)
{
	if (!is_perfbuf(pb))
		return -EINVAL;
	/* perf_poll(): atomic_xchg(&rb->poll, 0) */
	return __atomic_exchange_n(&pb_state(pb)->poll, 0, __ATOMIC_ACQ_REL) ? 1 : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	map_syscall2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bpftime_map__perfbuf_wait(struct bpftime_map *pb, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct pb_state *st;

	if (!is_perfbuf(pb))
		return -EINVAL;
	st = pb_state(pb);
	for (;;) {
		int64_t left = deadline < 0 ? PB_SLICE_MS : deadline - now_ms();
		struct timespec ts;
		uint32_t seq;
		int ready;

		if (left <= 0)
			return bpftime_map__perfbuf_poll(pb);
		if (left > PB_SLICE_MS)
			left = PB_SLICE_MS;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		/* A full barrier before taking poll: pairs with pb_wake(). */
		__atomic_add_fetch(&st->waiters, 1, __ATOMIC_SEQ_CST);
		/* Pairs with the release increment in pb_wake(). */
		seq = __atomic_load_n(&st->wake_seq, __ATOMIC_ACQUIRE);
		ready = bpftime_map__perfbuf_poll(pb);
		if (!ready)
			map_sys_futex(&st->wake_seq, MAP_FUTEX_WAIT, seq, &ts);
		__atomic_sub_fetch(&st->waiters, 1, __ATOMIC_RELAXED);
		if (ready)
			return 1;
	}
}

/* ---- output ---- */

/* Copy @n bytes (or zeros) to data position @pos, wrapping at the end. */
static void pb_put(const struct bpftime_map *pb, uint64_t pos, const void *src, uint64_t n)
{
	uint8_t *data = pb->file_mem + PB_PAGE;
	uint64_t dsize = pb_data_size_of(pb), off = pos & (dsize - 1);
	uint64_t first = dsize - off < n ? dsize - off : n;

	if (src) {
		map_copy(data + off, src, first);
		map_copy(data, (const uint8_t *)src + first, n - first);
	} else {
		map_zero(data + off, first);
		map_zero(data, n - first);
	}
}

static void pb_lock(const struct bpftime_map *pb, uint32_t tid)
{
	struct pb_state *st = pb_state(pb);

	if (bpftime_map_lock(&st->lock, tid) == 0)
		return;
	/* Taken over from a dead holder: its records are complete once head
	 * moved (head moves last), so publish head. */
	__atomic_store_n(&pb_page(pb)->data_head, st->head, __ATOMIC_RELEASE);
}

/* The records at @pos: a PERF_RECORD_LOST first when @lost, then the sample. */
static void pb_write(const struct bpftime_map *pb, uint64_t pos, uint64_t lost, const void *data,
		     uint32_t size, uint32_t rec)
{
	struct perf_event_header h = {.type = PERF_RECORD_LOST, .size = PB_LOST_SIZE};
	uint64_t lost_rec[2] = {pb->d->id, lost};
	uint32_t raw = rec - sizeof(h) - sizeof(uint32_t);

	if (lost) {
		pb_put(pb, pos, &h, sizeof(h));
		pb_put(pb, pos + sizeof(h), lost_rec, sizeof(lost_rec));
		pos += PB_LOST_SIZE;
	}
	/* our programs run on user-space hooks: a sample taken with user
	 * registers, as a uprobe program's, says PERF_RECORD_MISC_USER */
	h.type = PERF_RECORD_SAMPLE;
	h.misc = PERF_RECORD_MISC_USER;
	h.size = (uint16_t)rec;
	pb_put(pb, pos, &h, sizeof(h));
	pb_put(pb, pos + sizeof(h), &raw, sizeof(raw));
	pb_put(pb, pos + sizeof(h) + sizeof(raw), data, size);
	pb_put(pb, pos + sizeof(h) + sizeof(raw) + size, NULL, raw - size);
}

/* rb->watermark: wakeup_watermark bytes, or half the buffer (ring_buffer_init). */
static uint64_t pb_watermark_bytes(const struct bpftime_map *pb)
{
	uint64_t dsize = pb_data_size_of(pb), wm = 0;

	if (pb_watermark(&pb->d->attr))
		wm = pb_wakeup(&pb->d->attr) < dsize ? pb_wakeup(&pb->d->attr) : dsize;
	return wm ? wm : dsize / 2;
}

/* perf_output_sample()'s wakeup_events count (events mode only). */
static void pb_count_event(const struct bpftime_map *pb, struct pb_state *st)
{
	uint32_t every = pb_wakeup(&pb->d->attr);

	if (pb_watermark(&pb->d->attr) || !every)
		return;
	if (++st->events >= every) {
		st->events -= every;
		st->wakeup++;
	}
}

/* A sample dropped: rb->lost for the next PERF_RECORD_LOST, and the
 * event's total. */
static long pb_lose(struct pb_state *st)
{
	st->lost++;
	st->lost_samples++;
	return -ENOSPC;
}

/*
 * As perf_output_begin() .. perf_output_end() for one sample, under the
 * lock. Returns 0, or -ENOSPC (counted as lost) when it does not fit.
 */
static long pb_output_locked(const struct bpftime_map *pb, const void *data, uint32_t size,
			     bool *wake)
{
	struct pb_state *st = pb_state(pb);
	uint32_t rec = (uint32_t)sizeof(struct perf_event_header) + ((size + 4 + 7) & ~7u);
	uint64_t dsize = pb_data_size_of(pb), head = st->head, lost = st->lost, tail, need,
		 wakeup0 = st->wakeup;

	/* rb->paused; a buffer without data pages is paused too, without loss */
	if (__atomic_load_n(&st->paused, __ATOMIC_RELAXED) || dsize == 0)
		return dsize ? pb_lose(st) : -ENOSPC;
	need = rec + (lost ? PB_LOST_SIZE : 0);
	/* Pairs with the consumer's release store of data_tail (A matches D
	 * in perf_output_put_handle()): the space is free once read. */
	tail = __atomic_load_n(&pb_page(pb)->data_tail, __ATOMIC_ACQUIRE);
	/* ring_buffer_has_space(): CIRC_SPACE(head, tail, size) >= size */
	if (((tail - head - 1) & (dsize - 1)) < need)
		return pb_lose(st);
	if (head + need - st->wakeup > pb_watermark_bytes(pb))
		st->wakeup += pb_watermark_bytes(pb);
	pb_write(pb, head, lost, data, size, rec);
	pb_count_event(pb, st);
	if (lost)
		st->lost = 0;
	st->head = head + need;
	/* Publishes the records: pairs with the consumer's acquire load of
	 * data_head (B matches C). */
	__atomic_store_n(&pb_page(pb)->data_head, head + need, __ATOMIC_RELEASE);
	*wake = wakeup0 != st->wakeup;
	return 0;
}

static long pb_output(const struct bpftime_map *pb, uint32_t cpu, const void *data, uint64_t size,
		      uint32_t tid)
{
	const struct bpftime_map_attr *a = &pb->d->attr;
	bool wake = false;
	long err;

	/* __bpf_perf_event_output(): event->oncpu != this CPU, which is what
	 * a disabled event or one opened for another CPU shows */
	if (!__atomic_load_n(&pb_state(pb)->enabled, __ATOMIC_RELAXED) ||
	    (pb_cpu(a) != PB_ANY_CPU && pb_cpu(a) != cpu))
		return -EOPNOTSUPP;
	if (size > PB_MAX_RAW)
		return -E2BIG;
	if (!tid)
		tid = map_sys_gettid();
	pb_lock(pb, tid);
	err = pb_output_locked(pb, data, (uint32_t)size, &wake);
	bpftime_map_unlock(&pb_state(pb)->lock);
	if (wake)
		pb_wake(pb_state(pb));
	return err;
}

/* ==== run-path handles of perf buffers ==== */

/* The descriptor of perf buffer @id at region offset @off, checked. */
static struct map_desc *pb_desc(struct bpftime_map_region *r, uint64_t off)
{
	struct map_desc *d;

	if (bpftime_region_ensure(r, off + sizeof(*d)))
		return NULL;
	d = (struct map_desc *)(r->base + off);
	/* written by the supervisor; check what indexing depends on */
	if (d->size != sizeof(*d) || d->attr.map_type != BPFTIME_MAP_TYPE_PERF_BUFFER ||
	    d->nr_cpus != r->nr_cpus || d->attr.pad != PB_TOKEN ||
	    pb_pages(&d->attr) > PB_MAX_PAGES || d->data_size < sizeof(struct pb_state) ||
	    bpftime_region_ensure(r, d->data_off + d->data_size))
		return NULL;
	return d;
}

/*
 * The handle of perf buffer @id in this process (bpftime_map_handle sets it
 * up on first use, with raw syscalls). 0 and *@pb, or -ENOENT (no such
 * perf buffer), or the errno of mapping its file.
 */
static int pb_handle(struct bpftime_map_region *r, uint32_t id, struct bpftime_map **pb)
{
	int err = bpftime_map_handle(r, id, pb);

	if (err)
		return err;
	return pb_desc(r, (*pb)->desc_off) ? 0 : -ENOENT;
}

/* ==== BPF_MAP_TYPE_PERF_EVENT_ARRAY ==== */

/* array_map_alloc_check()'s flags, less what fd arrays refuse */
#define PEA_CREATE_FLAGS (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PRESERVE_ELEMS)

static uint32_t *pea_slots(const struct bpftime_map *m)
{
	return (uint32_t *)m->data;
}

/* As fd_array_map_alloc_check() + array_map_alloc_check() (probed on 6.18:
 * BPF_F_RDONLY_PROG / WRONLY_PROG, MMAPABLE, INNER_MAP, NO_PREALLOC and the
 * other non-array flags are -EINVAL; too many entries fail to allocate,
 * -ENOMEM, here as there). */
static int pea_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->value_size != sizeof(uint32_t) || a->key_size != sizeof(uint32_t) ||
	    a->max_entries == 0 || (a->map_flags & ~PEA_CREATE_FLAGS))
		return -EINVAL;
	return 0;
}

static uint64_t pea_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return (uint64_t)a->max_entries * sizeof(uint32_t);
}

/* A perf buffer's id, checked in the region (no handle, no libc). */
static bool pea_id_valid(struct bpftime_map_region *r, uint32_t id)
{
	uint64_t off;

	if (id == 0 || id >= BPFTIME_MAP_MAX_MAPS)
		return false;
	off = bpftime_map_table_off(r, id);
	return off && pb_desc(r, off);
}

/* As bpf_fd_array_map_update_elem(); the value is a perf buffer id. */
static int pea_update(struct bpftime_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t idx, id;

	if (flags != BPF_ANY)
		return -EINVAL;
	map_copy(&idx, key, sizeof(idx));
	if (idx >= m->d->attr.max_entries)
		return -E2BIG;
	map_copy(&id, value, sizeof(id));
	/* perf_event_get(): not a perf event */
	if (!pea_id_valid(m->r, id))
		return -EBADF;
	/* Pairs with the acquire load in bpftime_map__perf_event_output. */
	__atomic_store_n(&pea_slots(m)[idx], id, __ATOMIC_RELEASE);
	return 0;
}

/* As fd_array_map_delete_elem(). */
static int pea_delete(struct bpftime_map *m, const void *key)
{
	uint32_t idx;

	map_copy(&idx, key, sizeof(idx));
	if (idx >= m->d->attr.max_entries)
		return -E2BIG;
	return __atomic_exchange_n(&pea_slots(m)[idx], 0, __ATOMIC_ACQ_REL) ? 0 : -ENOENT;
}

/* As array_map_get_next_key(): a missing or NULL key restarts at 0. */
static int pea_get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	uint32_t idx = UINT32_MAX, next;

	if (key)
		map_copy(&idx, key, sizeof(idx));
	if (idx >= m->d->attr.max_entries)
		next = 0;
	else if (idx == m->d->attr.max_entries - 1)
		return -ENOENT;
	else
		next = idx + 1;
	map_copy(next_key, &next, sizeof(next));
	return 0;
}

long bpftime_map__perf_event_output(struct bpftime_map *m, uint32_t cpu, uint64_t flags,
				    const void *data, uint64_t size, uint32_t tid)
{
	uint64_t idx = flags & BPF_F_INDEX_MASK;
	struct bpftime_map *pb;
	uint32_t id;
	int err;

	if (!m || m->d->attr.map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return -EINVAL;
	/* bpf_perf_event_output(): flags are an index or BPF_F_CURRENT_CPU */
	if (flags & ~(uint64_t)BPF_F_INDEX_MASK)
		return -EINVAL;
	if (idx == BPF_F_CURRENT_CPU)
		idx = cpu;
	if (idx >= m->d->attr.max_entries)
		return -E2BIG;
	/* Pairs with the release store in pea_update(). */
	id = __atomic_load_n(&pea_slots(m)[idx], __ATOMIC_ACQUIRE);
	if (!id)
		return -ENOENT;
	err = pb_handle(m->r, id, &pb);
	/* a stale id: the perf buffer went away (see maps.h); a buffer we
	 * cannot map is one the kernel has no ring buffer for: -ENOSPC */
	if (err)
		return err == -ENOENT ? -ENOENT : -ENOSPC;
	return pb_output(pb, cpu, data, size, tid);
}

int bpftime_map__perf_event_array_replace(struct bpftime_map *m, uint32_t old_id, uint32_t new_id)
{
	int n = 0;

	if (!m || m->d->attr.map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return -EINVAL;
	for (uint32_t i = 0; i < m->d->attr.max_entries; i++) {
		uint32_t cur = old_id;

		/* Pairs with the acquire load in bpftime_map__perf_event_output;
		 * a slot changed meanwhile by an update or delete keeps that. */
		if (__atomic_compare_exchange_n(&pea_slots(m)[i], &cur, new_id, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			n++;
	}
	return n;
}

const struct map_ops bpftime_map_perfbuf_ops = {
    .name = "perfbuf",
    .check = pb_check,
    .data_size = pb_region_size,
    .file_size = pb_file_size,
    .init = pb_init,
};

const struct map_ops bpftime_map_perf_event_array_ops = {
    .name = "perf_event_array",
    .check = pea_check,
    .data_size = pea_data_size,
    .update = pea_update,
    .delete = pea_delete,
    .get_next_key = pea_get_next_key,
    /* perf_event_array_map_ops has no batch operations (probed: -ENOTSUPP) */
    .no_batch = MAP_NO_BATCH,
};
