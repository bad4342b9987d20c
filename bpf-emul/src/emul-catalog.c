// SPDX-License-Identifier: MIT
/*
 * The session catalog's writer (layout and reading rules in
 * bpftime/catalog.h): what agents need to know of programs and perf
 * events, published in "<session>/catalog" as the emulator's objects
 * change. Only this file writes it, always under e->lock, so there is one
 * writer and the seqlocks need no lock between writers.
 *
 *   programs      published at PROG_LOAD once accepted (emul-prog.c),
 *                 unpublished when the object is released;
 *   attachments   one per uprobe / tracepoint / syscall kprobe perf event running a
 *                 program: published when it gains one
 *                 (emul_perf_attach_prog), updated by ENABLE / DISABLE
 *                 (emul_perf_set_enabled), removed when it loses it
 *                 (emul_perf_detach_prog, also called when the event is
 *                 released). Software events (BPF_OUTPUT, CPU clock) run
 *                 in the supervisor and are not published. A uprobe's
 *                 entry carries its site's patch plan, or why there is
 *                 none (emul-plan.c plans, at the attach).
 *
 * Space: tables and heap have fixed capacities (see catalog.h for why);
 * the file is sparse and pages are committed with fallocate() before they
 * are first written, so a full /dev/shm fails the command with -ENOMEM
 * instead of a SIGBUS. Pages are never punched out: a reader may still be
 * copying a block that was just freed, and a fault on a hole would
 * allocate (and SIGBUS in a target when /dev/shm is full). Freed heap
 * blocks and entries are reused.
 *
 * The heap allocator's state (free extents) is the writer's own memory:
 * readers never allocate.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <bpftime/catalog.h>
#include <bpftime/rewrite.h>
#include "emul-internal.h"

#define PAGE_SZ       4096ull
#define HEAP_ALIGN    64ull
#define HEAP_COMMIT   (64ull * 1024)
#define DEFAULT_PROGS 16384u
#define DEFAULT_LINKS 65536u
#define DEFAULT_HEAP  (256ull << 20) /* 32M instructions: 32 programs of the 1M maximum */

struct extent {
	uint64_t off, len;
};

struct catalog {
	int fd;
	char path[sizeof(((struct bpftime_emul *)0)->session_dir) + 16];
	uint8_t *base;
	uint64_t size;
	struct bpftime_catalog_header *hdr;
	uint64_t heap_top;       /* first heap byte never allocated (from heap_off) */
	uint64_t heap_committed; /* heap bytes fallocate()d */
	struct extent *free;     /* freed heap blocks, sorted by offset */
	uint32_t nr_free, cap_free;
};

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static struct bpftime_catalog_prog *prog_entry(struct catalog *c, uint32_t i)
{
	return (void *)(c->base + c->hdr->prog_off +
			(uint64_t)i * sizeof(struct bpftime_catalog_prog));
}

static struct bpftime_catalog_attach *attach_entry(struct catalog *c, uint32_t i)
{
	return (void *)(c->base + c->hdr->attach_off +
			(uint64_t)i * sizeof(struct bpftime_catalog_attach));
}

/* ---- the file ---- */

static int commit(struct bpftime_emul *e, struct catalog *c, uint64_t off, uint64_t len)
{
	/* filesystems without fallocate (not tmpfs) fill holes on write */
	if (fallocate(c->fd, 0, (off_t)off, (off_t)len) && errno != EOPNOTSUPP) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR,
			 "catalog %s: cannot commit %llu bytes: %s (is /dev/shm full?)", c->path,
			 (unsigned long long)len, strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

/* The layout of a new catalog; the tables and heap start on pages. */
static void layout(struct bpftime_catalog_header *h, uint32_t progs, uint32_t links, uint64_t heap)
{
	h->magic = BPFTIME_CATALOG_MAGIC;
	h->version = BPFTIME_CATALOG_VERSION;
	h->hdr_size = sizeof(*h);
	h->writer_pid = getpid();
	h->prog_off = PAGE_SZ;
	h->prog_stride = sizeof(struct bpftime_catalog_prog);
	h->prog_cap = progs;
	h->attach_off = round_up(h->prog_off + (uint64_t)progs * h->prog_stride, PAGE_SZ);
	h->attach_stride = sizeof(struct bpftime_catalog_attach);
	h->attach_cap = links;
	h->heap_off = round_up(h->attach_off + (uint64_t)links * h->attach_stride, PAGE_SZ);
	h->heap_size = round_up(heap, PAGE_SZ);
	h->file_size = h->heap_off + h->heap_size;
}

static int create_file(struct bpftime_emul *e, struct catalog *c, uint64_t size)
{
	/* a stale file of an earlier session keeps its readers, not ours */
	unlink(c->path);
	c->fd = open(c->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (c->fd < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "catalog %s: %s", c->path, strerror(errno));
		return -errno;
	}
	if (ftruncate(c->fd, (off_t)size)) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "catalog %s: cannot size it: %s", c->path,
			 strerror(errno));
		return -ENOMEM;
	}
	if (commit(e, c, 0, PAGE_SZ))
		return -ENOMEM;
	c->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->base == MAP_FAILED) {
		c->base = NULL;
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "catalog %s: cannot map %llu bytes: %s",
			 c->path, (unsigned long long)size, strerror(errno));
		return -ENOMEM;
	}
	c->size = size;
	c->hdr = (void *)c->base;
	return 0;
}

static void catalog_destroy(struct catalog *c)
{
	if (c->base)
		munmap(c->base, c->size);
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	free(c->free);
	free(c);
}

int emul_catalog_init_caps(struct bpftime_emul *e, uint32_t progs, uint32_t links, uint64_t heap)
{
	struct bpftime_catalog_header h = {0};
	struct catalog *c;
	int err;

	if (!progs || !links || !heap)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	snprintf(c->path, sizeof(c->path), "%s/" BPFTIME_CATALOG_FILE, e->session_dir);
	layout(&h, progs, links, heap);
	err = create_file(e, c, h.file_size);
	if (err) {
		catalog_destroy(c);
		return err;
	}
	/* magic last: a reader that maps the file early rejects it until then */
	h.magic = 0;
	memcpy(c->hdr, &h, sizeof(h));
	__atomic_store_n(&c->hdr->magic, BPFTIME_CATALOG_MAGIC, __ATOMIC_RELEASE);
	e->catalog = c;
	return 0;
}

int emul_catalog_init(struct bpftime_emul *e)
{
	return emul_catalog_init_caps(e, DEFAULT_PROGS, DEFAULT_LINKS, DEFAULT_HEAP);
}

void emul_catalog_free(struct bpftime_emul *e)
{
	if (!e->catalog)
		return;
	catalog_destroy(e->catalog);
	e->catalog = NULL;
}

/* ---- the seqlocks ---- */

/* generation odd: readers' read_begin waits, read_retry sees the change.
 * The release fence orders the odd value before the stores that follow
 * (partner: the acquire fence in read_retry). */
static void change_begin(struct catalog *c)
{
	__atomic_store_n(&c->hdr->generation, c->hdr->generation + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* generation even again, then the futex word that waiters sleep on
 * (release: partner of the acquire load in bpftime_catalog__wait). */
static void change_end(struct catalog *c)
{
	__atomic_store_n(&c->hdr->generation, c->hdr->generation + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->hdr->futex, c->hdr->futex + 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &c->hdr->futex, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Write @len bytes of @body over an entry whose first field is its seq:
 * seq odd, the body, seq even (partner: the reader's entry copy). */
static void entry_write(uint32_t *seq, const void *body, size_t len)
{
	uint32_t s = *seq;

	__atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((uint8_t *)seq + sizeof(*seq), (const uint8_t *)body + sizeof(*seq),
	       len - sizeof(*seq));
	__atomic_store_n(seq, s + 2, __ATOMIC_RELEASE);
}

/* ---- the heap ---- */

static int extent_insert(struct catalog *c, uint32_t at, uint64_t off, uint64_t len)
{
	if (c->nr_free == c->cap_free) {
		uint32_t cap = c->cap_free ? 2 * c->cap_free : 64;
		struct extent *n = realloc(c->free, sizeof(*n) * cap);

		if (!n)
			return -ENOMEM;
		c->free = n;
		c->cap_free = cap;
	}
	memmove(&c->free[at + 1], &c->free[at], sizeof(*c->free) * (c->nr_free - at));
	c->free[at] = (struct extent){off, len};
	c->nr_free++;
	return 0;
}

/* First fit among freed blocks. @return the offset from heap_off, or -1. */
static int64_t take_freed(struct catalog *c, uint64_t len)
{
	for (uint32_t i = 0; i < c->nr_free; i++) {
		struct extent *x = &c->free[i];
		uint64_t off = x->off;

		if (x->len < len)
			continue;
		x->off += len;
		x->len -= len;
		if (!x->len) {
			memmove(x, x + 1, sizeof(*x) * (c->nr_free - i - 1));
			c->nr_free--;
		}
		return (int64_t)off;
	}
	return -1;
}

/* @return the file offset of @len new bytes, or -ENOSPC / -ENOMEM. */
static int64_t heap_alloc(struct bpftime_emul *e, struct catalog *c, uint64_t len, const char *what)
{
	uint64_t need, grow;
	int64_t off;

	len = round_up(len ? len : 1, HEAP_ALIGN);
	off = take_freed(c, len);
	if (off >= 0)
		return (int64_t)c->hdr->heap_off + off;
	if (len > c->hdr->heap_size - c->heap_top) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR,
			 "catalog: no room for %s (%llu bytes; %llu of %llu in use): the catalog's "
			 "size is fixed when the session starts: -ENOSPC",
			 what, (unsigned long long)len, (unsigned long long)c->heap_top,
			 (unsigned long long)c->hdr->heap_size);
		return -ENOSPC;
	}
	need = c->heap_top + len;
	if (need > c->heap_committed) {
		grow = round_up(need, HEAP_COMMIT);
		grow = grow < c->hdr->heap_size ? grow : c->hdr->heap_size;
		if (commit(e, c, c->hdr->heap_off + c->heap_committed, grow - c->heap_committed))
			return -ENOMEM;
		c->heap_committed = grow;
	}
	off = (int64_t)c->heap_top;
	c->heap_top = need;
	return (int64_t)c->hdr->heap_off + off;
}

/* Give back a block; neighbours merge so that large programs fit again.
 * Without memory for the list the block is lost, not corrupted. */
static void heap_free(struct catalog *c, uint64_t file_off, uint64_t len)
{
	uint64_t off = file_off - c->hdr->heap_off;
	uint32_t i = 0;
	struct extent *x;

	len = round_up(len ? len : 1, HEAP_ALIGN);
	while (i < c->nr_free && c->free[i].off < off)
		i++;
	if (extent_insert(c, i, off, len))
		return;
	x = &c->free[i];
	if (i + 1 < c->nr_free && x->off + x->len == x[1].off) {
		x->len += x[1].len;
		memmove(x + 1, x + 2, sizeof(*x) * (c->nr_free - i - 2));
		c->nr_free--;
	}
	if (i > 0 && x[-1].off + x[-1].len == x->off) {
		x[-1].len += x->len;
		memmove(x, x + 1, sizeof(*x) * (c->nr_free - i - 1));
		c->nr_free--;
	}
}

/* ---- tables ---- */

/* The index a new entry goes to: the first free one below @hwm, else
 * @hwm itself, whose page is committed first (the caller raises hwm
 * inside the change, before it writes the entry). -ENOSPC when full. */
static int64_t table_slot(struct bpftime_emul *e, struct catalog *c, uint32_t hwm, uint32_t cap,
			  uint64_t table_off, uint32_t stride, int64_t free_idx)
{
	uint64_t off;

	if (free_idx >= 0)
		return free_idx;
	if (hwm == cap)
		return -ENOSPC;
	off = table_off + (uint64_t)hwm * stride;
	if (commit(e, c, off & ~(PAGE_SZ - 1), round_up(off % PAGE_SZ + stride, PAGE_SZ)))
		return -ENOMEM;
	return hwm;
}

/* Raise a table's hwm to cover @idx. Inside a change, before the entry is
 * written: a reader that sees the new hwm reads the entry under its seq
 * (release: partner of the reader's acquire load of hwm). */
static void hwm_cover(uint32_t *hwm, uint32_t idx)
{
	if (idx >= *hwm)
		__atomic_store_n(hwm, idx + 1, __ATOMIC_RELEASE);
}

/* The live program entry with @id (-1 if none); *@free_idx the first free
 * entry (-1 if none). */
static int64_t prog_find(struct catalog *c, uint32_t id, int64_t *free_idx)
{
	*free_idx = -1;
	for (uint32_t i = 0; i < c->hdr->prog_hwm; i++) {
		struct bpftime_catalog_prog *p = prog_entry(c, i);

		if (p->state == BPFTIME_CATALOG_LIVE && p->id == id)
			return i;
		if (p->state == BPFTIME_CATALOG_FREE && *free_idx < 0)
			*free_idx = i;
	}
	return -1;
}

static int64_t attach_find(struct catalog *c, uint32_t id, int64_t *free_idx)
{
	*free_idx = -1;
	for (uint32_t i = 0; i < c->hdr->attach_hwm; i++) {
		struct bpftime_catalog_attach *a = attach_entry(c, i);

		if (a->state == BPFTIME_CATALOG_LIVE && a->id == id)
			return i;
		if (a->state == BPFTIME_CATALOG_FREE && *free_idx < 0)
			*free_idx = i;
	}
	return -1;
}

/* ---- programs ---- */

static void prog_fill(struct bpftime_catalog_prog *p, const struct emul_obj *o, uint64_t insn_off)
{
	const struct emul_prog *ep = &o->prog;

	p->state = BPFTIME_CATALOG_LIVE;
	p->id = o->id;
	p->type = ep->type;
	p->expected_attach_type = ep->expected_attach_type;
	p->prog_flags = ep->prog_flags;
	p->flags = ep->gpl ? BPFTIME_CATALOG_PROG_GPL : 0;
	p->insn_cnt = ep->insn_cnt;
	p->insn_off = insn_off;
	_Static_assert(sizeof(p->name) == sizeof(ep->name), "BPF_OBJ_NAME_LEN");
	_Static_assert(sizeof(p->tag) == sizeof(ep->tag), "BPF_TAG_SIZE");
	memcpy(p->name, ep->name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = '\0';
	memcpy(p->tag, ep->tag, sizeof(p->tag));
}

static int64_t prog_slot(struct bpftime_emul *e, struct catalog *c, const struct emul_obj *o)
{
	int64_t free_idx, slot;

	if (prog_find(c, o->id, &free_idx) >= 0)
		return -EEXIST; /* published once per load */
	slot = table_slot(e, c, c->hdr->prog_hwm, c->hdr->prog_cap, c->hdr->prog_off,
			  c->hdr->prog_stride, free_idx);
	if (slot == -ENOSPC)
		emul_log(e, BPFTIME_EMUL_LOG_ERROR,
			 "catalog: program '%s' (id %u): all %u program entries are in use; the "
			 "catalog's size is fixed when the session starts: -ENOSPC",
			 o->prog.name, o->id, c->hdr->prog_cap);
	return slot;
}

/* heap blocks of images: whole 8-byte words, as readers copy them */
static uint64_t image_bytes(uint32_t len)
{
	return ((uint64_t)len + 7) & ~7ull;
}

int emul_catalog_prog_publish(struct bpftime_emul *e, struct emul_obj *o)
{
	struct catalog *c = e->catalog;
	uint64_t bytes = (uint64_t)o->prog.insn_cnt * sizeof(struct bpf_insn);
	struct bpftime_catalog_prog p = {0};
	int64_t slot, off;

	if (!c)
		return 0;
	slot = prog_slot(e, c, o);
	if (slot < 0)
		return (int)slot;
	off = heap_alloc(e, c, bytes, "a program's instructions");
	if (off < 0)
		return (int)off;
	/* the blocks are named by no entry yet: no reader looks at them */
	memcpy(c->base + off, o->prog.insns, bytes);
	prog_fill(&p, o, (uint64_t)off);
	if (o->prog.image_len) {
		int64_t ioff =
		    heap_alloc(e, c, image_bytes(o->prog.image_len), "a program's image");

		/* no room for the image: agents interpret, as without a JIT */
		if (ioff > 0) {
			memcpy(c->base + ioff, o->prog.image, o->prog.image_len);
			p.image_off = (uint64_t)ioff;
			p.image_len = o->prog.image_len;
		}
	}
	change_begin(c);
	hwm_cover(&c->hdr->prog_hwm, (uint32_t)slot);
	entry_write(&prog_entry(c, (uint32_t)slot)->seq, &p, sizeof(p));
	__atomic_store_n(&c->hdr->nr_progs, c->hdr->nr_progs + 1, __ATOMIC_RELAXED);
	change_end(c);
	return 0;
}

void emul_catalog_prog_unpublish(struct bpftime_emul *e, struct emul_obj *o)
{
	struct catalog *c = e->catalog;
	struct bpftime_catalog_prog *p, gone = {.state = BPFTIME_CATALOG_FREE};
	int64_t idx, free_idx;
	uint64_t off, bytes, ioff, ibytes;

	if (!c)
		return;
	idx = prog_find(c, o->id, &free_idx);
	if (idx < 0)
		return; /* never published (its load failed late) */
	p = prog_entry(c, (uint32_t)idx);
	off = p->insn_off;
	bytes = (uint64_t)p->insn_cnt * sizeof(struct bpf_insn);
	ioff = p->image_off;
	ibytes = image_bytes(p->image_len);
	change_begin(c);
	entry_write(&p->seq, &gone, sizeof(gone));
	__atomic_store_n(&c->hdr->nr_progs, c->hdr->nr_progs - 1, __ATOMIC_RELAXED);
	change_end(c);
	/* after the seq moved: a reader still copying these bytes gets
	 * -ESTALE from bpftime_catalog__prog_insns */
	heap_free(c, off, bytes);
	if (ioff)
		heap_free(c, ioff, ibytes);
}

/* ---- attachments ---- */

/* sys_enter_<name> hooks syscall <nr> (emul-syscall-nr.def) */
static const struct {
	const char *name;
	int32_t nr;
} syscall_nrs[] = {
#define NR(n, v) {#n, v},
#include "emul-syscall-nr.def"
#undef NR
};

int32_t emul_syscall_nr(const char *name)
{
	for (size_t i = 0; i < sizeof(syscall_nrs) / sizeof(syscall_nrs[0]); i++)
		if (!strcmp(syscall_nrs[i].name, name))
			return syscall_nrs[i].nr;
	return -1;
}

/* The cookie of the link that attaches @prog to @ev (0: IOC_SET_BPF has
 * none). perf_link() adds the link to the table before it attaches, and
 * an event has one program, so at most one live link matches. */
static uint64_t link_cookie(struct bpftime_emul *e, const struct emul_obj *ev,
			    const struct emul_obj *prog)
{
	for (uint32_t i = 0; i < e->nr_objs; i++) {
		const struct emul_obj *l = e->objs[i];

		if (l->type == EMUL_OBJ_LINK && l->link.target == ev && l->link.prog == prog)
			return l->link.cookie;
	}
	return 0;
}

/* The tracepoint's names, its syscall and direction. 1 (not published)
 * for an id we cannot name: perf_event_open checked it, so only an event
 * made by hand (tests) gets here, and agents could not hook it. */
static int tp_fill(struct bpftime_emul *e, struct bpftime_catalog_attach *a, uint64_t tp_id)
{
	const char *cat, *ev, *sc;
	int err = emul_tp_by_id(e, tp_id, &cat, &ev);

	if (err == -ENOENT) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "catalog: tracepoint id %llu has no name: its program is not published",
			 (unsigned long long)tp_id);
		return 1;
	}
	if (err)
		return err;
	a->tp_id = tp_id;
	snprintf(a->tp_category, sizeof(a->tp_category), "%s", cat);
	snprintf(a->tp_name, sizeof(a->tp_name), "%s", ev);
	a->syscall_nr = -1; /* raw_syscalls: every syscall */
	if (!strncmp(ev, "sys_exit", 8))
		a->flags |= BPFTIME_CATALOG_ATTACH_SYS_EXIT;
	sc = !strncmp(ev, "sys_enter_", 10) ? ev + 10
	     : !strncmp(ev, "sys_exit_", 9) ? ev + 9
					    : NULL;
	if (sc && !strcmp(cat, "syscalls"))
		a->syscall_nr = emul_syscall_nr(sc);
	return 0;
}

/* The probed path, in the heap: 0 and no path when the event has none. */
static int64_t path_store(struct bpftime_emul *e, struct catalog *c,
			  struct bpftime_catalog_attach *a, const char *path)
{
	size_t len = path ? strlen(path) : 0;
	int64_t off;

	if (!len)
		return 0;
	off = heap_alloc(e, c, len + 1, "a probed path");
	if (off < 0)
		return off;
	memcpy(c->base + off, path, len + 1);
	a->path_off = (uint64_t)off;
	a->path_len = (uint32_t)len;
	return 0;
}

/* The site's patch plan, or the reason it has none, in the heap. A site
 * that cannot be hooked is published all the same (the kernel would
 * accept the event): the agent and status displays say why it never
 * fires. Only a full heap fails the attach. */
static int plan_store(struct bpftime_emul *e, struct catalog *c, struct bpftime_catalog_attach *a,
		      const struct emul_perf *pf)
{
	struct bpftime_rw_plan plan;
	char msg[EMUL_PLAN_MSG_MAX];
	size_t len;
	int64_t off;
	int err;

	if (!pf->path)
		return 0; /* an event made by hand (tests) */
	err = emul_plan_site(e, pf->path, pf->dev, pf->ino, pf->offset, &plan, msg, sizeof(msg));
	a->plan_status = err;
	if (!err) {
		off = heap_alloc(e, c, sizeof(plan), "a patch plan");
		if (off < 0)
			return (int)off;
		memcpy(c->base + off, &plan, sizeof(plan));
		a->plan_off = (uint64_t)off;
		a->plan_size = sizeof(plan);
		return 0;
	}
	emul_log(e, BPFTIME_EMUL_LOG_WARN, "uprobe %s+%#llx cannot be hooked: %s (%s)", pf->path,
		 (unsigned long long)pf->offset, msg, strerror(-err));
	len = strlen(msg);
	if (!len)
		return 0;
	off = heap_alloc(e, c, len + 1, "why a probe cannot be hooked");
	if (off < 0)
		return (int)off;
	memcpy(c->base + off, msg, len + 1);
	a->plan_msg_off = (uint64_t)off;
	a->plan_msg_len = (uint32_t)len;
	return 0;
}

/* Give back the heap blocks entry @a names (after it no longer does). */
static void attach_blocks_free(struct catalog *c, const struct bpftime_catalog_attach *a)
{
	if (a->path_off)
		heap_free(c, a->path_off, a->path_len + 1);
	if (a->plan_off)
		heap_free(c, a->plan_off, a->plan_size);
	if (a->plan_msg_off)
		heap_free(c, a->plan_msg_off, a->plan_msg_len + 1);
}

static int attach_fill(struct bpftime_emul *e, struct catalog *c, struct bpftime_catalog_attach *a,
		       const struct emul_obj *ev, const struct emul_obj *prog)
{
	const struct emul_perf *pf = &ev->perf;
	int err;

	a->state = BPFTIME_CATALOG_LIVE;
	a->id = ev->id;
	a->prog_id = prog->id;
	a->flags = pf->enabled ? BPFTIME_CATALOG_ATTACH_ENABLED : 0;
	a->pid = pf->pid;
	a->cpu = pf->cpu;
	a->cookie = link_cookie(e, ev, prog);
	a->syscall_nr = -1;
	if (pf->kind == EMUL_PERF_TRACEPOINT) {
		a->kind = BPFTIME_CATALOG_TRACEPOINT;
		return tp_fill(e, a, pf->tp_id);
	}
	if (pf->kind == EMUL_PERF_KPROBE) {
		/* a syscall's wrapper: the agent hooks the syscall itself */
		a->kind = pf->retprobe ? BPFTIME_CATALOG_KRETPROBE_SYSCALL
				       : BPFTIME_CATALOG_KPROBE_SYSCALL;
		a->syscall_nr = pf->syscall_nr;
		snprintf(a->tp_category, sizeof(a->tp_category), "kprobes");
		snprintf(a->tp_name, sizeof(a->tp_name), "%s", pf->path ? pf->path : "");
		return 0;
	}
	a->kind = pf->retprobe ? BPFTIME_CATALOG_URETPROBE : BPFTIME_CATALOG_UPROBE;
	a->dev = pf->dev;
	a->ino = pf->ino;
	a->offset = pf->offset;
	err = (int)path_store(e, c, a, pf->path);
	return err ? err : plan_store(e, c, a, pf);
}

static void attach_write(struct catalog *c, uint32_t idx, const struct bpftime_catalog_attach *a,
			 int delta)
{
	change_begin(c);
	hwm_cover(&c->hdr->attach_hwm, idx);
	entry_write(&attach_entry(c, idx)->seq, a, sizeof(*a));
	__atomic_store_n(&c->hdr->nr_attach, c->hdr->nr_attach + delta, __ATOMIC_RELAXED);
	change_end(c);
}

int emul_catalog_attach(struct bpftime_emul *e, struct emul_obj *ev, struct emul_obj *prog)
{
	struct catalog *c = e->catalog;
	struct bpftime_catalog_attach a = {0};
	int64_t free_idx, slot;
	int err;

	/* software events run their programs in the supervisor; id 0 is an
	 * event made by hand (tests): perf_event_open's ids start at 1 */
	if (!c || !ev->id ||
	    (ev->perf.kind != EMUL_PERF_UPROBE && ev->perf.kind != EMUL_PERF_TRACEPOINT &&
	     ev->perf.kind != EMUL_PERF_KPROBE))
		return 0;
	if (attach_find(c, ev->id, &free_idx) >= 0)
		return -EEXIST; /* one program per event: emul-perf.c checked */
	slot = table_slot(e, c, c->hdr->attach_hwm, c->hdr->attach_cap, c->hdr->attach_off,
			  c->hdr->attach_stride, free_idx);
	if (slot == -ENOSPC)
		emul_log(e, BPFTIME_EMUL_LOG_ERROR,
			 "catalog: perf event %u: all %u attachment entries are in use; the "
			 "catalog's size is fixed when the session starts: -ENOSPC",
			 ev->id, c->hdr->attach_cap);
	if (slot < 0)
		return (int)slot;
	err = attach_fill(e, c, &a, ev, prog);
	if (err) {
		attach_blocks_free(c, &a);
		return err < 0 ? err : 0;
	}
	attach_write(c, (uint32_t)slot, &a, 1);
	return 0;
}

void emul_catalog_attach_update(struct bpftime_emul *e, struct emul_obj *ev)
{
	struct catalog *c = e->catalog;
	struct bpftime_catalog_attach a;
	int64_t idx, free_idx;

	if (!c)
		return;
	idx = attach_find(c, ev->id, &free_idx);
	if (idx < 0)
		return; /* no program, or not an event agents run */
	/* the writer's own entry: stable, nobody else writes it */
	memcpy(&a, attach_entry(c, (uint32_t)idx), sizeof(a));
	a.flags &= ~BPFTIME_CATALOG_ATTACH_ENABLED;
	a.flags |= ev->perf.enabled ? BPFTIME_CATALOG_ATTACH_ENABLED : 0;
	attach_write(c, (uint32_t)idx, &a, 0);
}

void emul_catalog_detach(struct bpftime_emul *e, struct emul_obj *ev)
{
	struct catalog *c = e->catalog;
	struct bpftime_catalog_attach a, gone = {.state = BPFTIME_CATALOG_FREE};
	int64_t idx, free_idx;

	if (!c)
		return;
	idx = attach_find(c, ev->id, &free_idx);
	if (idx < 0)
		return;
	memcpy(&a, attach_entry(c, (uint32_t)idx), sizeof(a));
	attach_write(c, (uint32_t)idx, &gone, -1);
	/* after the seq moved, as for instructions */
	attach_blocks_free(c, &a);
}
