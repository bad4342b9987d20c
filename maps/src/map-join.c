// SPDX-License-Identifier: MIT
/*
 * Joining a region without libc, for the agent: a freestanding library
 * inside target processes (no libc, no TLS, no heap). What region.c's
 * bpftime_map_region__open does to join, with raw syscalls: the header is
 * checked through a copy before anything it names is mapped, the address
 * space is reserved and the file mapped over its front (region_map), and
 * the region handle and its handle table come from anonymous mmaps instead
 * of calloc. No logging: the caller logs. Run path (runpath_symbols).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "map-internal.h"
#include "map-sys.h"

#define JOIN_MAX_DIR_LEN 200 /* as region.c's MAX_DIR_LEN */
#define HANDLES_SIZE     ((uint64_t)BPFTIME_MAP_MAX_MAPS * sizeof(struct bpftime_map))

/* The front of struct region_hdr: everything the join checks. */
struct region_probe {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t nr_cpus;
	uint64_t max_size;
	uint64_t size;
};
_Static_assert(offsetof(struct region_hdr, magic) == offsetof(struct region_probe, magic) &&
		   offsetof(struct region_hdr, version) == offsetof(struct region_probe, version) &&
		   offsetof(struct region_hdr, hdr_size) ==
		       offsetof(struct region_probe, hdr_size) &&
		   offsetof(struct region_hdr, nr_cpus) == offsetof(struct region_probe, nr_cpus) &&
		   offsetof(struct region_hdr, max_size) ==
		       offsetof(struct region_probe, max_size) &&
		   offsetof(struct region_hdr, size) == offsetof(struct region_probe, size),
	       "region_probe is the front of region_hdr");

static bool join_mmap_failed(long p)
{
	return p < 0 && p > -4096;
}

static long join_pread(int fd, void *buf, uint64_t n, uint64_t off)
{
	return map_syscall6(SYS_pread64, fd, (long)buf, (long)n, (long)off, 0, 0);
}

/* path and dir as region_paths() fills them for an explicit path */
static int join_paths(struct bpftime_map_region *r, const char *path)
{
	size_t n = 0, slash = (size_t)-1;

	for (; path[n]; n++) {
		if (n + 1 >= sizeof(r->path))
			return -ENAMETOOLONG;
		r->path[n] = path[n];
		if (path[n] == '/')
			slash = n;
	}
	r->path[n] = '\0';
	if (slash == (size_t)-1) {
		r->dir[0] = '.';
		r->dir[1] = '\0';
		return 0;
	}
	if (slash > JOIN_MAX_DIR_LEN)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < slash; i++)
		r->dir[i] = path[i];
	r->dir[slash] = '\0';
	return 0;
}

/* region_join()'s checks, on a copy read before mapping anything; the
 * size to map in *@size */
static int join_check(struct bpftime_map_region *r, uint64_t *size)
{
	struct region_probe probe;
	char last;

	if (join_pread(r->fd, &probe, sizeof(probe), 0) != (long)sizeof(probe) ||
	    probe.magic != REGION_MAGIC)
		return -EINVAL;
	if (probe.version != REGION_VERSION || probe.hdr_size != sizeof(struct region_hdr))
		return -EINVAL;
	/* the size only grows and never past max_size; st_size may be ahead */
	if (probe.size > probe.max_size || probe.nr_cpus == 0 ||
	    probe.nr_cpus > BPFTIME_MAP_MAX_CPUS)
		return -EINVAL;
	/* Stricter than region_join: the file holds the header and [0, size),
	 * so the mapping has no page past its end (a SIGBUS in the target). */
	if (probe.size < sizeof(struct region_hdr) ||
	    join_pread(r->fd, &last, 1, probe.size - 1) != 1)
		return -EINVAL;
	r->max_size = probe.max_size;
	r->nr_cpus = probe.nr_cpus;
	*size = probe.size;
	return 0;
}

/* region_map(): reserve max_size, then map [0, size) of the file over it */
static int join_map(struct bpftime_map_region *r, uint64_t size)
{
	long base = map_syscall6(SYS_mmap, 0, (long)r->max_size, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (join_mmap_failed(base))
		return -ENOMEM;
	r->base = (uint8_t *)base;
	r->mapped = 0;
	r->hdr = (struct region_hdr *)base;
	return bpftime_region_ensure(r, size);
}

int bpftime_map_region__join_raw(const char *path, struct bpftime_map_region **out)
{
	struct bpftime_map_region *r;
	uint64_t size = 0;
	long p, fd;
	int err;

	*out = NULL;
	if (!path)
		return -EINVAL;
	p = map_syscall6(SYS_mmap, 0, sizeof(*r), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (join_mmap_failed(p))
		return -ENOMEM;
	r = (struct bpftime_map_region *)p; /* zeroed by the kernel */
	r->fd = -1;
	err = join_paths(r, path);
	if (!err) {
		fd = map_syscall6(SYS_openat, AT_FDCWD, (long)r->path, O_RDWR | O_CLOEXEC, 0, 0, 0);
		if (fd < 0)
			err = (int)fd;
		else
			r->fd = bpftime_region_fd_high((int)fd);
	}
	if (!err)
		err = join_check(r, &size);
	if (!err)
		err = bpftime_region_fd_identity(r->fd, &r->dev, &r->ino);
	if (!err)
		err = join_map(r, size);
	if (!err) {
		p = map_syscall6(SYS_mmap, 0, (long)HANDLES_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (join_mmap_failed(p))
			err = -ENOMEM;
		else
			r->handles = (struct bpftime_map *)p;
	}
	if (err) {
		bpftime_map_region__leave_raw(r);
		return err;
	}
	*out = r;
	return 0;
}

void bpftime_map_region__leave_raw(struct bpftime_map_region *r)
{
	if (!r)
		return;
	if (r->handles) {
		for (uint32_t i = 0; i < BPFTIME_MAP_MAX_MAPS; i++)
			if (r->handles[i].file_mem)
				map_syscall2(SYS_munmap, (long)r->handles[i].file_mem,
					     (long)r->handles[i].file_size);
		map_syscall2(SYS_munmap, (long)r->handles, (long)HANDLES_SIZE);
	}
	if (r->base)
		map_syscall2(SYS_munmap, (long)r->base, (long)r->max_size);
	if (r->fd >= 0)
		map_syscall1(SYS_close, r->fd);
	map_syscall2(SYS_munmap, (long)r, sizeof(*r));
}

int bpftime_map__handle(struct bpftime_map_region *r, uint32_t id, struct bpftime_map **out)
{
	return bpftime_map_handle(r, id, out);
}

/* [addr, addr + size) inside [start, start + len); @addr itself must be */
static bool join_inside(uint64_t addr, uint64_t size, uint64_t start, uint64_t len)
{
	return addr >= start && addr - start < len && size <= len - (addr - start);
}

bool bpftime_map_region__contains(const struct bpftime_map_region *r, uint64_t addr, uint64_t size)
{
	uint32_t max;

	if (join_inside(addr, size, (uint64_t)r->base,
			__atomic_load_n(&r->mapped, __ATOMIC_ACQUIRE)))
		return true;
	if (!r->handles)
		return false;
	max = __atomic_load_n(&r->max_handle_id, __ATOMIC_ACQUIRE);
	if (max >= BPFTIME_MAP_MAX_MAPS)
		max = BPFTIME_MAP_MAX_MAPS - 1;
	for (uint32_t id = 1; id <= max; id++) {
		const struct bpftime_map *m = &r->handles[id];

		/* Pairs with the release store that published the handle. */
		if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == 2 && m->file_mem &&
		    join_inside(addr, size, (uint64_t)m->file_mem, m->file_size))
			return true;
	}
	return false;
}

bool bpftime_map__data_contains(const struct bpftime_map *m, uint64_t addr, uint64_t size)
{
	return (m->data && join_inside(addr, size, (uint64_t)m->data, m->d->data_size)) ||
	       (m->file_mem && join_inside(addr, size, (uint64_t)m->file_mem, m->file_size));
}

bool bpftime_map_region__data_contains(const struct bpftime_map_region *r, uint64_t addr,
				       uint64_t size)
{
	uint32_t max;

	if (!r->handles)
		return false;
	max = __atomic_load_n(&r->max_handle_id, __ATOMIC_ACQUIRE);
	if (max >= BPFTIME_MAP_MAX_MAPS)
		max = BPFTIME_MAP_MAX_MAPS - 1;
	for (uint32_t id = 1; id <= max; id++) {
		const struct bpftime_map *m = &r->handles[id];

		/* Pairs with the release store that published the handle. */
		if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == 2 &&
		    bpftime_map__data_contains(m, addr, size))
			return true;
	}
	return false;
}

void bpftime_map_region__forked(struct bpftime_map_region *r)
{
	if (!r || !r->handles)
		return;
	/* a fork copied the handle table while another thread, which the
	 * child does not have, was setting a handle up: nobody would finish
	 * it; the next user starts over */
	for (uint32_t id = 1; id < BPFTIME_MAP_MAX_MAPS; id++)
		if (__atomic_load_n(&r->handles[id].state, __ATOMIC_RELAXED) == 1)
			__atomic_store_n(&r->handles[id].state, 0, __ATOMIC_RELEASE);
}
