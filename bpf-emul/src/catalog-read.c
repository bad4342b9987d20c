// SPDX-License-Identifier: MIT
/*
 * The session catalog's reader (bpftime/catalog.h), for agents: it runs
 * inside target processes whose libc we cannot use (static, musl, Go, or
 * a thread that holds libc's locks), so it makes raw syscalls, allocates
 * nothing and touches no TLS; test/bpf-emul checks the object's symbols.
 *
 * The file is written by the supervisor, which agents trust; still, every
 * offset read from it is checked against the mapping's size, so that a
 * damaged file gives -EPROTO instead of a fault in a target.
 *
 * Copies use volatile 8-byte loads: the writer may be changing the bytes
 * being copied (the seq check discards such a copy), and volatile keeps
 * the compiler from turning the loop into a memcpy call.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/futex.h>
#include <linux/time.h>
#include <bpftime/catalog.h>
#include <bpftime/rewrite.h> /* struct bpftime_rw_plan: no libc either */

/* asm-generic values (x86-64); the libc headers that name them are not ours */
#define RD_O_RDONLY   0
#define RD_O_CLOEXEC  02000000
#define RD_PROT_READ  1
#define RD_MAP_SHARED 1
#define RD_SEEK_END   2
#define RD_CLOCK_MONO 1
#define RD_SPINS      128u          /* pauses before yielding: a change takes us */
#define RD_GIVE_UP_NS 1000000000ull /* then the writer is stopped or dead */

/* ---- raw syscalls (as maps/src/map-sys.h) ---- */

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static uint64_t now_ns(void)
{
	struct __kernel_timespec ts = {0};

	sys6(__NR_clock_gettime, RD_CLOCK_MONO, (long)&ts, 0, 0, 0, 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Waiting for the writer to finish a change: a change takes microseconds,
 * but the writer may be preempted in the middle of one, so after a few
 * pauses we yield (to it, when it shares our CPU), and give up only after
 * a second, when it is stopped or died inside the change.
 */
struct backoff {
	uint32_t n;
	uint64_t deadline;
};

static bool backoff(struct backoff *b)
{
	if (++b->n < RD_SPINS) {
		cpu_relax();
		return true;
	}
	if (!b->deadline)
		b->deadline = now_ns() + RD_GIVE_UP_NS;
	else if (now_ns() > b->deadline)
		return false;
	sys6(__NR_sched_yield, 0, 0, 0, 0, 0, 0);
	return true;
}

/* ---- the mapping ---- */

static const struct bpftime_catalog_header *hdr(const struct bpftime_catalog_view *v)
{
	return v->base;
}

/* [off, off + len) lies inside the mapping */
static bool inside(const struct bpftime_catalog_view *v, uint64_t off, uint64_t len)
{
	return off <= v->size && len <= v->size - off;
}

/* The layout fits the file and our structs (checked once, at map; the
 * writer never changes these fields afterwards). */
static int check_layout(const struct bpftime_catalog_view *v)
{
	const struct bpftime_catalog_header *h = hdr(v);

	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != BPFTIME_CATALOG_MAGIC ||
	    h->version != BPFTIME_CATALOG_VERSION || h->hdr_size < sizeof(*h) ||
	    h->file_size != v->size)
		return -EPROTO;
	/* strides at least our entries: a newer writer may append fields */
	if (h->prog_stride < sizeof(struct bpftime_catalog_prog) ||
	    h->attach_stride < sizeof(struct bpftime_catalog_attach) || (h->prog_stride & 7) ||
	    (h->attach_stride & 7) || (h->prog_off & 7) || (h->attach_off & 7))
		return -EPROTO;
	if (!inside(v, h->prog_off, (uint64_t)h->prog_cap * h->prog_stride) ||
	    !inside(v, h->attach_off, (uint64_t)h->attach_cap * h->attach_stride) ||
	    !inside(v, h->heap_off, h->heap_size))
		return -EPROTO;
	return 0;
}

int bpftime_catalog__map(struct bpftime_catalog_view *v, const char *path)
{
	long fd, size, addr;
	int err;

	v->base = 0;
	v->size = 0;
	fd =
	    sys6(__NR_openat, -100 /* AT_FDCWD */, (long)path, RD_O_RDONLY | RD_O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	size = sys6(__NR_lseek, fd, 0, RD_SEEK_END, 0, 0, 0);
	if (size < (long)sizeof(struct bpftime_catalog_header)) {
		sys6(__NR_close, fd, 0, 0, 0, 0, 0);
		return size < 0 ? (int)size : -EPROTO;
	}
	/* read-only: the supervisor is the only writer */
	addr = sys6(__NR_mmap, 0, size, RD_PROT_READ, RD_MAP_SHARED, fd, 0);
	sys6(__NR_close, fd, 0, 0, 0, 0, 0);
	if (addr < 0 && addr > -4096)
		return (int)addr;
	v->base = (const void *)addr;
	v->size = (uint64_t)size;
	err = check_layout(v);
	if (err)
		bpftime_catalog__unmap(v);
	return err;
}

void bpftime_catalog__unmap(struct bpftime_catalog_view *v)
{
	if (!v->base)
		return;
	sys6(__NR_munmap, (long)v->base, (long)v->size, 0, 0, 0, 0);
	v->base = 0;
	v->size = 0;
}

const struct bpftime_catalog_header *bpftime_catalog__header(const struct bpftime_catalog_view *v)
{
	return hdr(v);
}

/* ---- consistent reads ---- */

int bpftime_catalog__read_begin(const struct bpftime_catalog_view *v, uint64_t *gen)
{
	struct backoff b = {0};

	/* acquire: partner of the release in the writer's change_end */
	do {
		uint64_t g = __atomic_load_n(&hdr(v)->generation, __ATOMIC_ACQUIRE);

		if (!(g & 1)) {
			*gen = g;
			return 0;
		}
	} while (backoff(&b));
	return -EAGAIN;
}

bool bpftime_catalog__read_retry(const struct bpftime_catalog_view *v, uint64_t gen)
{
	/* what was read before is ordered before this load (partner: the
	 * writer's release fence in change_begin) */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&hdr(v)->generation, __ATOMIC_RELAXED) != gen;
}

/* Copy @len bytes (a multiple of 8, 8-aligned source and destination). */
static void copy8(void *dst, const void *src, uint64_t len)
{
	const volatile uint64_t *s = src;
	uint64_t *d = dst;

	for (uint64_t i = 0; i < len / 8; i++)
		d[i] = s[i];
}

/*
 * One entry (its first field the seq), never torn: seq even and the same
 * before and after the copy. Partner of the writer's entry_write: the
 * acquire load pairs with its final release store, the acquire fence
 * with its release fence after the odd store.
 */
static int entry_copy(const void *entry, void *out, uint64_t len)
{
	const uint32_t *seq = entry;
	struct backoff b = {0};

	do {
		uint32_t s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		copy8(out, entry, len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			*(uint32_t *)out = s1;
			return 0;
		}
	} while (backoff(&b));
	return -EAGAIN;
}

/* hwm bounded by cap: a damaged header cannot send us past the table */
static uint32_t hwm_of(const uint32_t *hwm, uint32_t cap)
{
	uint32_t n = __atomic_load_n(hwm, __ATOMIC_ACQUIRE);

	return n < cap ? n : cap;
}

int bpftime_catalog__prog_at(const struct bpftime_catalog_view *v, uint32_t idx,
			     struct bpftime_catalog_prog *out)
{
	const struct bpftime_catalog_header *h = hdr(v);
	const uint8_t *e;
	int err;

	if (idx >= hwm_of(&h->prog_hwm, h->prog_cap))
		return -ENOENT;
	e = (const uint8_t *)v->base + h->prog_off + (uint64_t)idx * h->prog_stride;
	err = entry_copy(e, out, sizeof(*out));
	if (err)
		return err;
	return out->state == BPFTIME_CATALOG_LIVE;
}

int bpftime_catalog__attach_at(const struct bpftime_catalog_view *v, uint32_t idx,
			       struct bpftime_catalog_attach *out)
{
	const struct bpftime_catalog_header *h = hdr(v);
	const uint8_t *e;
	int err;

	if (idx >= hwm_of(&h->attach_hwm, h->attach_cap))
		return -ENOENT;
	e = (const uint8_t *)v->base + h->attach_off + (uint64_t)idx * h->attach_stride;
	err = entry_copy(e, out, sizeof(*out));
	if (err)
		return err;
	if (out->state != BPFTIME_CATALOG_LIVE)
		return 0;
	out->tp_category[sizeof(out->tp_category) - 1] = '\0'; /* strings end inside */
	out->tp_name[sizeof(out->tp_name) - 1] = '\0';
	return 1;
}

int bpftime_catalog__prog_find(const struct bpftime_catalog_view *v, uint32_t id,
			       struct bpftime_catalog_prog *out)
{
	for (uint32_t i = 0;; i++) {
		int r = bpftime_catalog__prog_at(v, i, out);

		if (r == -ENOENT)
			return -ENOENT;
		if (r == 1 && out->id == id)
			return (int)i;
	}
}

/* Whether the entry at @entry still has the seq of the snapshot @seq:
 * then the bytes copied since (ordered before by the fence) were the
 * entry's, not those of a block freed and reused meanwhile. */
static bool still(const void *entry, uint32_t seq)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n((const uint32_t *)entry, __ATOMIC_RELAXED) == seq;
}

int bpftime_catalog__prog_insns(const struct bpftime_catalog_view *v, uint32_t idx,
				const struct bpftime_catalog_prog *p, uint64_t *dst, uint32_t max)
{
	const struct bpftime_catalog_header *h = hdr(v);
	uint64_t bytes = (uint64_t)p->insn_cnt * 8;
	const uint8_t *e;

	if (idx >= h->prog_cap)
		return -EPROTO;
	e = (const uint8_t *)v->base + h->prog_off + (uint64_t)idx * h->prog_stride;
	if (p->insn_cnt > max)
		return -E2BIG;
	/* the instructions lie in the heap, 8-aligned */
	if ((p->insn_off & 7) || p->insn_off < h->heap_off || !inside(v, p->insn_off, bytes) ||
	    p->insn_off + bytes > h->heap_off + h->heap_size)
		return -EPROTO;
	copy8(dst, (const uint8_t *)v->base + p->insn_off, bytes);
	return still(e, p->seq) ? (int)p->insn_cnt : -ESTALE;
}

int bpftime_catalog__prog_image(const struct bpftime_catalog_view *v, uint32_t idx,
				const struct bpftime_catalog_prog *p, uint64_t *dst, uint32_t max)
{
	const struct bpftime_catalog_header *h = hdr(v);
	uint64_t bytes = (p->image_len + 7ull) & ~7ull;
	const uint8_t *e;

	if (idx >= h->prog_cap)
		return -EPROTO;
	e = (const uint8_t *)v->base + h->prog_off + (uint64_t)idx * h->prog_stride;
	if (!p->image_off || !p->image_len)
		return -ENOENT;
	if (bytes > max)
		return -E2BIG;
	if ((p->image_off & 7) || p->image_off < h->heap_off || !inside(v, p->image_off, bytes) ||
	    p->image_off + bytes > h->heap_off + h->heap_size || p->image_len > (1u << 30))
		return -EPROTO;
	copy8(dst, (const uint8_t *)v->base + p->image_off, bytes);
	return still(e, p->seq) ? (int)p->image_len : -ESTALE;
}

int bpftime_catalog__attach_path(const struct bpftime_catalog_view *v, uint32_t idx,
				 const struct bpftime_catalog_attach *a, char *dst, uint32_t size)
{
	const struct bpftime_catalog_header *h = hdr(v);
	const volatile char *src;
	const uint8_t *e;

	if (idx >= h->attach_cap)
		return -EPROTO;
	e = (const uint8_t *)v->base + h->attach_off + (uint64_t)idx * h->attach_stride;
	if (!a->path_off)
		return -ENOENT;
	if (a->path_len >= size)
		return -E2BIG;
	/* the path lies in the heap */
	if (a->path_off < h->heap_off || !inside(v, a->path_off, (uint64_t)a->path_len + 1))
		return -EPROTO;
	src = (const volatile char *)v->base + a->path_off;
	for (uint32_t i = 0; i < a->path_len; i++)
		dst[i] = src[i];
	dst[a->path_len] = '\0';
	return still(e, a->seq) ? (int)a->path_len : -ESTALE;
}

/* The attachment entry @idx, or NULL past the table. */
static const uint8_t *attach_entry(const struct bpftime_catalog_view *v, uint32_t idx)
{
	const struct bpftime_catalog_header *h = hdr(v);

	if (idx >= h->attach_cap)
		return 0;
	return (const uint8_t *)v->base + h->attach_off + (uint64_t)idx * h->attach_stride;
}

/* [off, off + len) lies inside the heap */
static bool in_heap(const struct bpftime_catalog_view *v, uint64_t off, uint64_t len)
{
	const struct bpftime_catalog_header *h = hdr(v);

	return off >= h->heap_off && inside(v, off, len) && off + len <= h->heap_off + h->heap_size;
}

int bpftime_catalog__attach_plan(const struct bpftime_catalog_view *v, uint32_t idx,
				 const struct bpftime_catalog_attach *a,
				 struct bpftime_rw_plan *plan)
{
	const uint8_t *e = attach_entry(v, idx);

	if (!e)
		return -EPROTO;
	if (!a->plan_off)
		return -ENODATA;
	if (a->plan_size != sizeof(*plan) || (a->plan_off & 7) ||
	    !in_heap(v, a->plan_off, sizeof(*plan)))
		return -EPROTO;
	_Static_assert(sizeof(*plan) % 8 == 0, "copy8 copies whole words");
	copy8(plan, (const uint8_t *)v->base + a->plan_off, sizeof(*plan));
	return still(e, a->seq) ? 0 : -ESTALE;
}

int bpftime_catalog__attach_plan_msg(const struct bpftime_catalog_view *v, uint32_t idx,
				     const struct bpftime_catalog_attach *a, char *dst,
				     uint32_t size)
{
	const uint8_t *e = attach_entry(v, idx);
	const volatile char *src;

	if (!e)
		return -EPROTO;
	if (!a->plan_msg_off)
		return -ENOENT;
	if (a->plan_msg_len >= size)
		return -E2BIG;
	if (!in_heap(v, a->plan_msg_off, (uint64_t)a->plan_msg_len + 1))
		return -EPROTO;
	src = (const volatile char *)v->base + a->plan_msg_off;
	for (uint32_t i = 0; i < a->plan_msg_len; i++)
		dst[i] = src[i];
	dst[a->plan_msg_len] = '\0';
	return still(e, a->seq) ? (int)a->plan_msg_len : -ESTALE;
}

/* ---- waiting ---- */

/*
 * FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline, so that
 * spurious wake-ups need no recomputation. The futex word is read before
 * the generation: when it already shows a change's bump, the generation
 * (stored before it) shows the change too; when not, FUTEX_WAIT sees the
 * bump and returns, or sleeps before it and gets the FUTEX_WAKE that
 * follows it (partner: the writer's release stores of generation, then
 * futex, in change_end).
 */
int bpftime_catalog__wait(const struct bpftime_catalog_view *v, uint64_t gen, uint64_t timeout_ns)
{
	const struct bpftime_catalog_header *h = hdr(v);
	uint64_t deadline = 0;
	struct __kernel_timespec ts;
	long r;

	if (timeout_ns != UINT64_MAX) {
		deadline = now_ns() + timeout_ns;
		ts.tv_sec = (long long)(deadline / 1000000000ull);
		ts.tv_nsec = (long long)(deadline % 1000000000ull);
	}
	for (;;) {
		uint32_t f = __atomic_load_n(&h->futex, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&h->generation, __ATOMIC_ACQUIRE) != gen)
			return 0;
		if (timeout_ns != UINT64_MAX && now_ns() >= deadline)
			return -ETIMEDOUT;
		/* a shared futex: the writer is another process */
		r = sys6(__NR_futex, (long)&h->futex, FUTEX_WAIT_BITSET, f,
			 timeout_ns == UINT64_MAX ? 0 : (long)&ts, 0, (long)FUTEX_BITSET_MATCH_ANY);
		if (r == -ETIMEDOUT || r == -EINTR)
			return __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE) != gen ? 0
											: (int)r;
	}
}
