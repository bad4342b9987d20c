// SPDX-License-Identifier: MIT
/*
 * BPF_MAP_TYPE_RINGBUF, as kernel/bpf/ringbuf.c (Linux 6.18) behaves, for
 * producers in many processes and one consumer that reads the map's file the
 * way libbpf's ring_buffer reads the kernel's mmap of a ring buffer fd.
 *
 * The data file (bpf-emul installs it as the map fd; a tool mmaps it):
 *
 *   0            +--------------------+
 *                | consumer page      |  consumer_pos: written by the consumer
 *   PAGE         +--------------------+      (release), read by producers (acquire)
 *                | producer page      |  producer_pos: written by producers (release),
 *                |                    |      read by consumers (acquire)
 *                |                    |  pending_pos (+8): as kernels >= 6.10 show it
 *   2*PAGE       +--------------------+
 *                | data   [0, size)   |  records at (pos & mask): 8-byte header
 *                |                    |  {u32 len | BUSY | DISCARD, u32 pg_off}, then
 *                |                    |  the sample, padded to 8 bytes
 *   2*PAGE+size  +--------------------+
 *                | mirror [0, size)   |  the kernel maps the data pages twice; a
 *                |                    |  file cannot alias itself, so this copy holds
 *                |                    |  what a reader sees there: the tail of the
 *                |                    |  record that crosses the end
 *   2*PAGE+2size +--------------------+
 *
 * The mirror, and why it is enough: a consumer reads a record's header at
 * data[pos & mask] (never past the end: headers are 8-aligned and the size a
 * multiple of 8) and its sample contiguously from there, so through the
 * second copy it reads only the tail of a record that crosses the end. A
 * producer reserves such a record contiguously in [pos & mask, pos & mask +
 * len), spilling into the mirror, and the program writes it there. On
 * submit the spilled part is copied to the start of the data area (for
 * readers that wrap by hand) before the header is released. The bytes at
 * the start belong to that record alone: every record not yet consumed lies
 * within one ring size of the consumer position, so no other record crosses
 * the same end, and the previous lap's bytes there were consumed.
 *
 * Producer state lives in the region (struct rb_state), which tools never
 * map: a tool can scribble on every byte of the file, which corrupts its
 * own records at worst, but cannot take the producers' lock or move their
 * position. Everything a producer reads from the file (consumer_pos, record
 * headers) is bounded before use.
 *
 * A producer killed between reserve and submit: the kernel's consumer would
 * stop at the busy record forever. Here the busy header carries the owner's
 * TID in place of pg_off (the final pg_off is written at submit; no
 * consumer reads pg_off of a busy record), and whoever finds a busy record
 * blocking progress (a producer whose reserve fails, or the consumer side in
 * bpftime_map__ringbuf_ready/wait) turns it into a discarded record once the
 * TID is gone, with a compare-and-swap from the exact busy header, and
 * wakes the consumer. Limits: a TID reused by a new thread before the check
 * keeps the record busy; TIDs are per PID namespace (see map-sync.h).
 *
 * Wake-ups: a futex word in the region (wake_seq), bumped by a producer
 * whenever the kernel's bpf_ringbuf_commit() would wake the consumer
 * (BPF_RB_FORCE_WAKEUP, or a consumer caught up to the record submitted
 * unless BPF_RB_NO_WAKEUP), and woken (FUTEX_WAKE) only when a consumer
 * waits (waiters > 0). It counts wake-ups: bpftime_map__ringbuf_wait_wakeup
 * misses none, even those that happen while its caller is not waiting.
 *
 * Everything here but nothing else runs on the operation paths: raw
 * syscalls only (futex, gettid, kill(tid, 0), clock_gettime).
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include "map-internal.h"
#include "map-sys.h"

#define RB_PAGE 4096u
/* pg_off of data page 0: RINGBUF_PGOFF (1 page of struct bpf_ringbuf before
 * the consumer page) + RINGBUF_POS_PAGES (2), as a probe of 6.18 shows */
#define RB_PGOFF        3u
#define RB_MAX_RECORD   (UINT32_MAX / 4)  /* RINGBUF_MAX_RECORD_SZ */
#define RB_DYNPTR_MAX   ((1u << 24) - 1)  /* DYNPTR_MAX_SIZE */
#define RB_CREATE_FLAGS (BPF_F_NUMA_NODE) /* RINGBUF_CREATE_FLAG_MASK */
#define RB_SLICE_MS     50 /* a waiting consumer looks for dead producers this often */
#define RB_FLAG_BITS    (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)
#define RB_WAKEUP_FLAGS (BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)
#define RB_PRODUCER_POS 0 /* u64 index in the producer page */
#define RB_PENDING_POS  1

/* Producer state, in the region. */
struct rb_state {
	/* producers, under lock */
	uint32_t lock; /* bpftime_map_lock: TID of the holder */
	uint32_t pad0;
	uint64_t producer_pos; /* authoritative; release store, query reads it */
	uint64_t pending_pos;  /* first record that may still be busy */
	uint64_t pad1[5];
	/* wake-ups: a line of its own, as consumers write waiters */
	uint32_t wake_seq; /* futex word: producers bump it (release) to wake */
	uint32_t waiters;  /* consumers in bpftime_map__ringbuf_wait */
	uint64_t pad2[7];
};
_Static_assert(sizeof(struct rb_state) == 128, "rb_state: two cache lines");
_Static_assert(BPF_RINGBUF_HDR_SZ == 8, "ring buffer record header");

static struct rb_state *rb_state(const struct bpftime_map *m)
{
	return (struct rb_state *)m->data;
}

static uint64_t rb_size(const struct bpftime_map *m)
{
	return m->d->attr.max_entries;
}

static uint64_t *rb_consumer_pos(const struct bpftime_map *m)
{
	return (uint64_t *)m->file_mem;
}

static uint64_t *rb_producer_page(const struct bpftime_map *m)
{
	return (uint64_t *)(m->file_mem + RB_PAGE);
}

static uint8_t *rb_data(const struct bpftime_map *m)
{
	return m->file_mem + 2 * RB_PAGE;
}

static bool is_ringbuf(const struct bpftime_map *m)
{
	return m && m->d->attr.map_type == BPF_MAP_TYPE_RINGBUF && m->file_mem;
}

/* Bytes a record of @len sample bytes takes: header + sample, 8-aligned. */
static uint64_t rb_rec_len(uint64_t len)
{
	return (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
}

static uint64_t rb_hdr(uint32_t len, uint32_t pg_off)
{
	return (uint64_t)pg_off << 32 | len;
}

/* As bpf_ringbuf_rec_pg_off(): pages from struct bpf_ringbuf to the header. */
static uint32_t rb_pg_off(uint64_t off)
{
	return RB_PGOFF + (uint32_t)(off / RB_PAGE);
}

/* ---- creation ---- */

/* As ringbuf_map_alloc(); max_entries > RINGBUF_MAX_DATA_SZ (-E2BIG)
 * cannot happen with a u32 on 64-bit. Probed on 6.18: every flag but
 * BPF_F_NUMA_NODE (BPF_F_RDONLY included) is -EINVAL. */
static int rb_check(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	if (a->map_flags & ~RB_CREATE_FLAGS)
		return -EINVAL;
	if (a->key_size || a->value_size || a->max_entries == 0 ||
	    (a->max_entries & (a->max_entries - 1)) || a->max_entries % RB_PAGE)
		return -EINVAL;
	return 0;
}

static uint64_t rb_data_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return sizeof(struct rb_state);
}

static uint64_t rb_file_size(const struct bpftime_map_attr *a, uint32_t nr_cpus)
{
	return 2ull * RB_PAGE + 2ull * a->max_entries;
}

/* ---- wake-ups and dead producers ---- */

/* As bpf_ringbuf_notify(), without the syscall when nobody waits. */
static void rb_wake(struct rb_state *st)
{
	/* Counted always, so that a waiter that was not waiting at this
	 * moment still sees it (bpftime_map__ringbuf_wait_wakeup). seq_cst,
	 * as the load of waiters after it: pairs with the waiter's increment
	 * of waiters before it loads wake_seq (and reads headers). */
	__atomic_add_fetch(&st->wake_seq, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&st->waiters, __ATOMIC_SEQ_CST))
		return;
	map_sys_futex(&st->wake_seq, MAP_FUTEX_WAKE, INT_MAX, NULL);
}

/*
 * Turn the record at @pos into a discarded one if it is busy and its owner
 * (the TID in its header) no longer exists. Returns that TID when it did,
 * 0 otherwise.
 */
static uint32_t rb_recover(const struct bpftime_map *m, uint64_t pos)
{
	uint64_t *hdr = (uint64_t *)(rb_data(m) + (pos & (rb_size(m) - 1)));
	uint64_t h = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
	uint32_t len = (uint32_t)h, owner = (uint32_t)(h >> 32);
	uint64_t discarded;

	if (!(len & BPF_RINGBUF_BUSY_BIT) || owner == 0 || !bpftime_map_task_gone(owner))
		return 0;
	discarded = rb_hdr((len & ~RB_FLAG_BITS) | BPF_RINGBUF_DISCARD_BIT,
			   rb_pg_off(pos & (rb_size(m) - 1)));
	/* From the exact busy header only; seq_cst as a submit's exchange,
	 * which it stands for (pairs with the consumer's acquire of len). */
	if (!__atomic_compare_exchange_n(hdr, &h, discarded, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return 0;
	rb_wake(rb_state(m));
	return owner;
}

/* ---- producers ---- */

static void rb_lock(const struct bpftime_map *m, uint32_t tid)
{
	struct rb_state *st = rb_state(m);

	if (bpftime_map_lock(&st->lock, tid) == 0)
		return;
	/* Taken over from a dead holder: it may have moved producer_pos in
	 * the region but not in the file. Its busy header, if any, names it
	 * and is recovered like any dead producer's record. */
	__atomic_store_n(&rb_producer_page(m)[RB_PENDING_POS], st->pending_pos, __ATOMIC_RELAXED);
	__atomic_store_n(&rb_producer_page(m)[RB_PRODUCER_POS], st->producer_pos, __ATOMIC_RELEASE);
}

/*
 * As the walk in __bpf_ringbuf_reserve(): move pending_pos past the records
 * that are no longer busy. Headers come from the file, which a tool can
 * write: a length that would jump past producer_pos ends the walk there.
 */
static uint64_t rb_advance_pending(const struct bpftime_map *m, uint64_t pend, uint64_t prod)
{
	uint64_t mask = rb_size(m) - 1;

	while (pend != prod) {
		uint32_t len =
		    __atomic_load_n((uint32_t *)(rb_data(m) + (pend & mask)), __ATOMIC_RELAXED);
		uint64_t rec;

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		rec = rb_rec_len(len & ~BPF_RINGBUF_DISCARD_BIT);
		/* a record never extends past producer_pos */
		if (rec > prod - pend)
			return prod;
		pend += rec;
	}
	return pend;
}

/*
 * One attempt at __bpf_ringbuf_reserve() under the lock. Returns the sample,
 * or NULL; then *@busy is true when a busy record holds the ring up, at
 * *@pend (pending_pos: the oldest one; what a recovery looks at).
 */
static uint8_t *rb_try_reserve(const struct bpftime_map *m, uint64_t size, uint64_t len,
			       uint32_t tid, bool *busy, uint64_t *pend_out)
{
	struct rb_state *st = rb_state(m);
	uint64_t mask = rb_size(m) - 1, cons, prod, pend, *hdr;

	/* Pairs with the consumer's release store of consumer_pos: the space
	 * it frees is not written before the consumer is done reading it. */
	cons = __atomic_load_n(rb_consumer_pos(m), __ATOMIC_ACQUIRE);
	rb_lock(m, tid);
	prod = st->producer_pos;
	pend = rb_advance_pending(m, st->pending_pos, prod);
	st->pending_pos = pend;
	__atomic_store_n(&rb_producer_page(m)[RB_PENDING_POS], pend, __ATOMIC_RELAXED);
	/* Out of space: the kernel's two checks (the second one keeps a
	 * consumer_pos moved ahead by the tool from overlapping records). */
	if (prod + len - cons > mask || prod + len - pend > mask) {
		bpftime_map_unlock(&st->lock);
		*busy = pend != prod;
		*pend_out = pend;
		return NULL;
	}
	hdr = (uint64_t *)(rb_data(m) + (prod & mask));
	__atomic_store_n(hdr, rb_hdr((uint32_t)size | BPF_RINGBUF_BUSY_BIT, tid), __ATOMIC_RELAXED);
	__atomic_store_n(&st->producer_pos, prod + len, __ATOMIC_RELEASE);
	/* Publishes the busy header: pairs with the consumers' acquire load
	 * of producer_pos (libbpf's ringbuf_process_ring). */
	__atomic_store_n(&rb_producer_page(m)[RB_PRODUCER_POS], prod + len, __ATOMIC_RELEASE);
	bpftime_map_unlock(&st->lock);
	return (uint8_t *)hdr + BPF_RINGBUF_HDR_SZ;
}

static uint8_t *rb_reserve(const struct bpftime_map *m, uint64_t size, uint32_t tid)
{
	uint64_t len, pend;
	uint8_t *sample;
	bool busy = false;

	if (size > RB_MAX_RECORD)
		return NULL;
	len = rb_rec_len(size);
	if (len > rb_size(m))
		return NULL;
	if (!tid)
		tid = map_sys_gettid();
	sample = rb_try_reserve(m, size, len, tid, &busy, &pend);
	/* Out of space: if a dead producer's record is what holds the ring
	 * up, discard it and try once more. */
	if (!sample && busy && rb_recover(m, pend))
		sample = rb_try_reserve(m, size, len, tid, &busy, &pend);
	return sample;
}

/* The header offset of @sample in the data area, or -1 if it is not one
 * of this ring's samples. */
static int64_t rb_offset_of(const struct bpftime_map *m, const void *sample)
{
	uintptr_t data = (uintptr_t)rb_data(m), s = (uintptr_t)sample;

	if (s < data + BPF_RINGBUF_HDR_SZ)
		return -1;
	s -= data + BPF_RINGBUF_HDR_SZ;
	/* headers are 8-aligned and always in the first copy */
	if (s >= rb_size(m) || (s & 7))
		return -1;
	return (int64_t)s;
}

/* As bpf_ringbuf_commit(). */
static long rb_commit(const struct bpftime_map *m, void *sample, uint64_t flags, bool discard)
{
	int64_t off = rb_offset_of(m, sample);
	uint64_t size = rb_size(m), *hdr, rec, cons;
	uint32_t len;

	if (off < 0)
		return -EINVAL;
	hdr = (uint64_t *)(rb_data(m) + off);
	len = (uint32_t)__atomic_load_n(hdr, __ATOMIC_RELAXED) & ~RB_FLAG_BITS;
	rec = rb_rec_len(len);
	/* the length is ours unless a tool wrote the file: stay in bounds */
	if (rec > size)
		rec = size;
	/* the part that went into the mirror, for readers that wrap by hand */
	if (!discard && (uint64_t)off + rec > size)
		map_copy(rb_data(m), rb_data(m) + size, (uint64_t)off + rec - size);
	/* Releases the record: pairs with the consumer's acquire load of len.
	 * A full barrier, as the kernel's xchg(), before reading consumer_pos:
	 * a consumer that stores consumer_pos, then finds this record busy,
	 * and sleeps, is seen here as caught up and woken. */
	__atomic_exchange_n(
	    hdr, rb_hdr(len | (discard ? BPF_RINGBUF_DISCARD_BIT : 0), rb_pg_off((uint64_t)off)),
	    __ATOMIC_SEQ_CST);
	cons = __atomic_load_n(rb_consumer_pos(m), __ATOMIC_ACQUIRE) & (size - 1);
	if ((flags & BPF_RB_FORCE_WAKEUP) || (cons == (uint64_t)off && !(flags & BPF_RB_NO_WAKEUP)))
		rb_wake(rb_state(m));
	return 0;
}

/* ---- program side ---- */

void *bpftime_map__ringbuf_reserve(struct bpftime_map *m, uint64_t size, uint64_t flags,
				   uint32_t tid)
{
	/* bpf_ringbuf_reserve(): any flag is a NULL */
	if (!is_ringbuf(m) || flags)
		return NULL;
	return rb_reserve(m, size, tid);
}

long bpftime_map__ringbuf_reserve_dynptr(struct bpftime_map *m, uint64_t size, uint64_t flags,
					 uint32_t tid, void **sample)
{
	*sample = NULL;
	if (!is_ringbuf(m) || flags)
		return -EINVAL;
	/* the helper's size argument is a u32; bpf_dynptr_check_size() */
	size = (uint32_t)size;
	if (size > RB_DYNPTR_MAX)
		return -E2BIG;
	*sample = rb_reserve(m, size, tid);
	/* 6.18 answers a full ring with -EINVAL here (probed) */
	return *sample ? 0 : -EINVAL;
}

long bpftime_map__ringbuf_submit(struct bpftime_map *m, void *sample, uint64_t flags)
{
	return is_ringbuf(m) ? rb_commit(m, sample, flags, false) : -EINVAL;
}

long bpftime_map__ringbuf_discard(struct bpftime_map *m, void *sample, uint64_t flags)
{
	return is_ringbuf(m) ? rb_commit(m, sample, flags, true) : -EINVAL;
}

long bpftime_map__ringbuf_output(struct bpftime_map *m, const void *data, uint64_t size,
				 uint64_t flags, uint32_t tid)
{
	uint8_t *sample;

	if (!is_ringbuf(m) || (flags & ~(uint64_t)RB_WAKEUP_FLAGS))
		return -EINVAL;
	sample = rb_reserve(m, size, tid);
	if (!sample)
		return -EAGAIN;
	map_copy(sample, data, size);
	return rb_commit(m, sample, flags, false);
}

uint64_t bpftime_map__ringbuf_query(const struct bpftime_map *m, uint64_t flags)
{
	uint64_t cons, prod;

	if (!is_ringbuf(m))
		return 0;
	/* Pair with the release stores of the consumer and the producers. */
	cons = __atomic_load_n(rb_consumer_pos(m), __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(&rb_state(m)->producer_pos, __ATOMIC_ACQUIRE);
	switch (flags) {
	case BPF_RB_AVAIL_DATA:
		return prod - cons;
	case BPF_RB_RING_SIZE:
		return rb_size(m);
	case BPF_RB_CONS_POS:
		return cons;
	case BPF_RB_PROD_POS:
		return prod;
	}
	return 0;
}

bool bpftime_map__ringbuf_owns(const struct bpftime_map *m, const void *sample)
{
	return is_ringbuf(m) && rb_offset_of(m, sample) >= 0;
}

/* ---- consumer side ---- */

int bpftime_map__ringbuf_ready(struct bpftime_map *m)
{
	uint64_t cons, prod, mask;
	uint32_t len, owner;

	if (!is_ringbuf(m))
		return -EINVAL;
	mask = rb_size(m) - 1;
	cons = __atomic_load_n(rb_consumer_pos(m), __ATOMIC_ACQUIRE);
	prod = __atomic_load_n(&rb_state(m)->producer_pos, __ATOMIC_ACQUIRE);
	if (cons == prod)
		return 0;
	/* not a position a consumer reaches by reading records: let it look */
	if ((cons & 7) || prod - cons > mask + 1)
		return 1;
	/* Pairs with the release of the header in rb_commit(). */
	len = __atomic_load_n((uint32_t *)(rb_data(m) + (cons & mask)), __ATOMIC_ACQUIRE);
	if (!(len & BPF_RINGBUF_BUSY_BIT))
		return 1;
	owner = rb_recover(m, cons);
	if (!owner)
		return 0;
	/* the consumer side: the log may use libc here */
	bpftime_map_log(BPFTIME_MAP_INFO,
			"ringbuf map %u: record at %llu of dead producer %u discarded", m->d->id,
			(unsigned long long)cons, owner);
	return 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	map_syscall2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bpftime_map__ringbuf_wait(struct bpftime_map *m, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct rb_state *st;

	if (!is_ringbuf(m))
		return -EINVAL;
	st = rb_state(m);
	for (;;) {
		int64_t left = deadline < 0 ? RB_SLICE_MS : deadline - now_ms();
		struct timespec ts;
		uint32_t seq;
		int ready;

		if (left <= 0)
			return bpftime_map__ringbuf_ready(m);
		if (left > RB_SLICE_MS)
			left = RB_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = left * 1000000;
		/* A full barrier before reading any header: pairs with the
		 * producer's exchange of a header followed by its load of
		 * waiters (rb_commit, rb_wake). */
		__atomic_add_fetch(&st->waiters, 1, __ATOMIC_SEQ_CST);
		/* Pairs with the release increment in rb_wake(): a wake-up
		 * after this load changes the word and the futex returns. */
		seq = __atomic_load_n(&st->wake_seq, __ATOMIC_ACQUIRE);
		ready = bpftime_map__ringbuf_ready(m);
		if (!ready)
			map_sys_futex(&st->wake_seq, MAP_FUTEX_WAIT, seq, &ts);
		__atomic_sub_fetch(&st->waiters, 1, __ATOMIC_RELAXED);
		if (ready)
			return 1;
	}
}

uint32_t bpftime_map__ringbuf_wakeups(const struct bpftime_map *m)
{
	/* Pairs with the increment in rb_wake(). */
	return is_ringbuf(m) ? __atomic_load_n(&rb_state(m)->wake_seq, __ATOMIC_ACQUIRE) : 0;
}

int bpftime_map__ringbuf_wait_wakeup(struct bpftime_map *m, uint32_t *seen, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct rb_state *st;

	if (!is_ringbuf(m))
		return -EINVAL;
	st = rb_state(m);
	for (;;) {
		int64_t left = deadline < 0 ? RB_SLICE_MS : deadline - now_ms();
		struct timespec ts;
		uint32_t seq;

		/* As rb_wake(), the other way round: a wake-up after this
		 * increment sees waiters and wakes the futex; one before it is
		 * seen in wake_seq. */
		__atomic_add_fetch(&st->waiters, 1, __ATOMIC_SEQ_CST);
		seq = __atomic_load_n(&st->wake_seq, __ATOMIC_SEQ_CST);
		if (seq == *seen && left > 0) {
			if (left > RB_SLICE_MS)
				left = RB_SLICE_MS;
			ts.tv_sec = 0;
			ts.tv_nsec = left * 1000000;
			map_sys_futex(&st->wake_seq, MAP_FUTEX_WAIT, seq, &ts);
			seq = __atomic_load_n(&st->wake_seq, __ATOMIC_ACQUIRE);
		}
		__atomic_sub_fetch(&st->waiters, 1, __ATOMIC_RELAXED);
		if (seq != *seen) {
			*seen = seq;
			return 1;
		}
		if (left <= 0)
			return 0;
	}
}

const struct map_ops bpftime_map_ringbuf_ops = {
    .name = "ringbuf",
    .check = rb_check,
    .data_size = rb_data_size,
    .file_size = rb_file_size,
    /* ringbuf_map_ops has no batch operations */
    .no_batch = MAP_NO_BATCH,
};
