// SPDX-License-Identifier: MIT
/*
 * The region: one file, mapped by every process of a session at its own
 * address, holding the maps.
 *
 * Growth without moving: at open, each process reserves max_size bytes of
 * address space (PROT_NONE, no memory) and maps the file over the front of
 * that reservation. When the allocator needs more, it extends the file and
 * publishes the new size; a process that meets an offset beyond what it has
 * mapped maps the rest of the file right after what it had
 * (bpftime_region_ensure). Addresses already handed out never change.
 *
 * Memory is committed with fallocate() when a block is allocated, so a full
 * /dev/shm is an -ENOMEM from map creation rather than a SIGBUS inside a
 * target later; freed blocks have their pages punched out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "map-internal.h"
#include "map-sys.h"

#define SESSION_DIR_FMT "/dev/shm/bpftime-%s"
#define MAX_DIR_LEN     200 /* leaves room for per-map file names in handles */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* As libbpf_num_possible_cpus(): the CPUs listed in .../cpu/possible. */
static uint32_t possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned a, b, n = 0;
	int c;

	if (!f)
		return (uint32_t)sysconf(_SC_NPROCESSORS_CONF);
	for (;;) {
		if (fscanf(f, "%u", &a) != 1)
			break;
		b = a;
		c = fgetc(f);
		if (c == '-') {
			if (fscanf(f, "%u", &b) != 1)
				break;
			c = fgetc(f);
		}
		n += b - a + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return n ? n : 1;
}

static int region_paths(struct bpftime_map_region *r, const struct bpftime_map_region_opts *o)
{
	const char *slash;
	int n;

	if (o->path) {
		n = snprintf(r->path, sizeof(r->path), "%s", o->path);
		slash = strrchr(r->path, '/');
		if (slash)
			snprintf(r->dir, sizeof(r->dir), "%.*s", (int)(slash - r->path), r->path);
		else
			snprintf(r->dir, sizeof(r->dir), ".");
	} else {
		snprintf(r->dir, sizeof(r->dir), SESSION_DIR_FMT,
			 o->session ? o->session : "default");
		n = snprintf(r->path, sizeof(r->path), "%s/maps", r->dir);
	}
	if (n < 0 || (size_t)n >= sizeof(r->path) || strlen(r->dir) > MAX_DIR_LEN)
		return bpftime_map_err(-ENAMETOOLONG,
				       "region path too long (at most %d for the "
				       "directory)",
				       MAX_DIR_LEN);
	return 0;
}

/* Reserve the address space, then map [0, size) of the file over it. */
static int region_map(struct bpftime_map_region *r, uint64_t size)
{
	int err;
	void *base =
	    mmap(NULL, r->max_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return bpftime_map_err(-ENOMEM,
				       "region %s: cannot reserve %llu bytes of address "
				       "space: %s",
				       r->path, (unsigned long long)r->max_size, strerror(errno));
	r->base = base;
	r->mapped = 0;
	r->hdr = base;
	err = bpftime_region_ensure(r, size);
	if (err)
		return bpftime_map_err(err, "region %s: cannot map %llu bytes: %s", r->path,
				       (unsigned long long)size, strerror(-err));
	return 0;
}

static int region_create(struct bpftime_map_region *r, const struct bpftime_map_region_opts *o)
{
	uint64_t size = round_up(sizeof(struct region_hdr), REGION_GROW_STEP);
	struct region_hdr *h;
	int err;

	if (mkdir(r->dir, 0700) && errno != EEXIST)
		return bpftime_map_err(-errno, "region %s: cannot create directory %s: %s", r->path,
				       r->dir, strerror(errno));
	r->fd = open(r->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (r->fd < 0)
		return bpftime_map_err(-errno, "region %s: %s", r->path, strerror(errno));
	if (ftruncate(r->fd, (off_t)size) ||
	    fallocate(r->fd, 0, 0, (off_t)round_up(sizeof(*h), 4096)))
		return bpftime_map_err(-ENOMEM, "region %s: cannot size the file: %s", r->path,
				       strerror(errno));
	r->max_size = o->max_size ? o->max_size : REGION_DEFAULT_MAX;
	err = region_map(r, size);
	if (err)
		return err;
	h = r->hdr;
	h->version = REGION_VERSION;
	h->hdr_size = sizeof(*h);
	h->nr_cpus = o->nr_cpus ? o->nr_cpus : possible_cpus();
	if (h->nr_cpus > BPFTIME_MAP_MAX_CPUS)
		return bpftime_map_err(-EINVAL, "region %s: %u CPUs, at most %d supported", r->path,
				       h->nr_cpus, BPFTIME_MAP_MAX_CPUS);
	h->max_size = r->max_size;
	h->size = size;
	h->bump = round_up(sizeof(*h), 64);
	h->next_id = 1;
	/* The magic goes last: joiners check it before trusting the rest. */
	__atomic_store_n(&h->magic, REGION_MAGIC, __ATOMIC_RELEASE);
	r->nr_cpus = h->nr_cpus;
	return 0;
}

static int region_join(struct bpftime_map_region *r)
{
	struct region_hdr probe;
	struct stat st;

	r->fd = open(r->path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return bpftime_map_err(-errno, "region %s: %s", r->path, strerror(errno));
	/* Check the header through a copy before mapping anything it names. */
	if (fstat(r->fd, &st) || (uint64_t)st.st_size < sizeof(probe) ||
	    pread(r->fd, &probe, sizeof(probe), 0) != (ssize_t)sizeof(probe) ||
	    probe.magic != REGION_MAGIC)
		return bpftime_map_err(-EINVAL, "region %s: not a bpftime map region", r->path);
	if (probe.version != REGION_VERSION || probe.hdr_size != sizeof(probe))
		return bpftime_map_err(-EINVAL,
				       "region %s: version %u (header %u bytes), this "
				       "build reads version %u (%zu bytes)",
				       r->path, probe.version, probe.hdr_size, REGION_VERSION,
				       sizeof(probe));
	/* the size only grows and never past max_size; st_size may be ahead */
	if (probe.size > probe.max_size || probe.nr_cpus == 0 ||
	    probe.nr_cpus > BPFTIME_MAP_MAX_CPUS)
		return bpftime_map_err(-EINVAL, "region %s: corrupt header", r->path);
	r->max_size = probe.max_size;
	r->nr_cpus = probe.nr_cpus;
	return region_map(r, probe.size);
}

static int opts_ok(const struct bpftime_map_region_opts *o)
{
	size_t known =
	    offsetof(struct bpftime_map_region_opts, bpftime_map_region_opts__last_field) +
	    sizeof(o->bpftime_map_region_opts__last_field);

	if (!o || o->sz < known)
		return -EINVAL;
	for (size_t i = known; i < o->sz; i++)
		if (((const unsigned char *)o)[i])
			return -E2BIG;
	return 0;
}

struct bpftime_map_region *bpftime_map_region__open(const struct bpftime_map_region_opts *o)
{
	struct bpftime_map_region *r;
	int err = opts_ok(o);

	if (err) {
		errno = -err;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = -1;
	err = region_paths(r, o);
	if (!err)
		err = o->create ? region_create(r, o) : region_join(r);
	if (!err) {
		r->handles = mmap(NULL, BPFTIME_MAP_MAX_MAPS * sizeof(struct bpftime_map),
				  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->handles == MAP_FAILED) {
			r->handles = NULL;
			err = -ENOMEM;
		}
	}
	if (err) {
		bpftime_map_region__close(r);
		errno = -err;
		return NULL;
	}
	return r;
}

void bpftime_map_region__close(struct bpftime_map_region *r)
{
	if (!r)
		return;
	if (r->handles) {
		for (uint32_t i = 0; i < BPFTIME_MAP_MAX_MAPS; i++)
			if (r->handles[i].file_mem)
				munmap(r->handles[i].file_mem, r->handles[i].file_size);
		munmap(r->handles, BPFTIME_MAP_MAX_MAPS * sizeof(struct bpftime_map));
	}
	if (r->base)
		munmap(r->base, r->max_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int bpftime_map_region__unlink(struct bpftime_map_region *r)
{
	char path[PATH_MAX];

	for (uint32_t id = 1; id < BPFTIME_MAP_MAX_MAPS; id++) {
		struct bpftime_map *m = NULL;

		if (bpftime_map_table_off(r, id))
			bpftime_map_handle(r, id, &m);

		if (m && m->d->file[0] && !bpftime_map_file_path(r, m->d, path, sizeof(path)))
			unlink(path);
	}
	if (unlink(r->path))
		return -errno;
	rmdir(r->dir); /* only if nothing else lives there */
	return 0;
}

uint32_t bpftime_map_region__nr_cpus(const struct bpftime_map_region *r)
{
	return r->nr_cpus;
}

const char *bpftime_map_region__path(const struct bpftime_map_region *r)
{
	return r->path;
}

/* ---- allocator (control plane, under alloc_lock) ---- */

static unsigned class_of(uint64_t need)
{
	unsigned c = REGION_MIN_CLASS;

	while (c < REGION_NR_CLASSES && (1ull << c) < need)
		c++;
	return c;
}

static int grow(struct bpftime_map_region *r, uint64_t end)
{
	uint64_t size = round_up(end, REGION_GROW_STEP);
	int err;

	if (end <= r->hdr->size)
		return 0;
	if (size > r->max_size)
		return bpftime_map_err(-ENOMEM,
				       "region %s: full (%llu bytes needed, %llu "
				       "reserved; set a larger max_size)",
				       r->path, (unsigned long long)end,
				       (unsigned long long)r->max_size);
	if (ftruncate(r->fd, (off_t)size))
		return bpftime_map_err(-ENOMEM, "region %s: cannot grow to %llu bytes: %s", r->path,
				       (unsigned long long)size, strerror(errno));
	/* Pairs with the acquire load in bpftime_region_ensure(). */
	__atomic_store_n(&r->hdr->size, size, __ATOMIC_RELEASE);
	err = bpftime_region_ensure(r, size);
	if (err)
		return bpftime_map_err(-ENOMEM, "region %s: cannot map %llu bytes: %s", r->path,
				       (unsigned long long)size, strerror(-err));
	return 0;
}

static int64_t take_block(struct bpftime_map_region *r, unsigned cls)
{
	struct region_hdr *h = r->hdr;
	uint64_t off = h->free_class[cls];
	int err;

	if (off) {
		struct region_block *b = (struct region_block *)(r->base + off);

		h->free_class[cls] = b->next_free;
		return (int64_t)off;
	}
	off = h->bump;
	err = grow(r, off + (1ull << cls));
	if (err)
		return err;
	h->bump = off + (1ull << cls);
	return (int64_t)off;
}

int64_t bpftime_region_alloc(struct bpftime_map_region *r, uint64_t size)
{
	uint64_t need = size + REGION_BLOCK_HDR;
	unsigned cls = class_of(need);
	struct region_block *b;
	int64_t off;

	if (size == 0 || cls >= REGION_NR_CLASSES || need < size)
		return bpftime_map_err(-ENOMEM, "region %s: cannot allocate %llu bytes", r->path,
				       (unsigned long long)size);
	bpftime_map_lock(&r->hdr->alloc_lock, map_sys_gettid());
	off = take_block(r, cls);
	/* Commit the pages now: a full tmpfs must fail here, not as a SIGBUS. */
	if (off >= 0 && fallocate(r->fd, 0, off, (off_t)need)) {
		int e = errno;
		struct region_block *fb = (struct region_block *)(r->base + off);

		fb->cls = cls;
		fb->next_free = r->hdr->free_class[cls];
		r->hdr->free_class[cls] = (uint64_t)off;
		off = bpftime_map_err(-ENOMEM, "region %s: cannot commit %llu bytes: %s", r->path,
				      (unsigned long long)need, strerror(e));
	}
	if (off >= 0) {
		b = (struct region_block *)(r->base + off);
		b->cls = cls;
		b->used = 1;
		b->next_free = 0;
		b->payload_size = size;
	}
	bpftime_map_unlock(&r->hdr->alloc_lock);
	return off < 0 ? off : off + REGION_BLOCK_HDR;
}

void bpftime_region_free(struct bpftime_map_region *r, uint64_t off)
{
	struct region_block *b;
	uint64_t start;

	if (off < REGION_BLOCK_HDR)
		return;
	b = (struct region_block *)(r->base + off - REGION_BLOCK_HDR);
	bpftime_map_lock(&r->hdr->alloc_lock, map_sys_gettid());
	/* Give the pages back; a later allocation commits zeroed ones again. */
	start = round_up(off, 4096);
	if (start < off + b->payload_size)
		fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
			  (off_t)(off + b->payload_size - start));
	map_zero(r->base + off, start - off < b->payload_size ? start - off : b->payload_size);
	b->used = 0;
	b->next_free = r->hdr->free_class[b->cls];
	r->hdr->free_class[b->cls] = off - REGION_BLOCK_HDR;
	bpftime_map_unlock(&r->hdr->alloc_lock);
}
