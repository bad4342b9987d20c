// SPDX-License-Identifier: MIT
/*
 * Handles: this process's view of a map, set up on first use. Run path:
 * agents meet a map for the first time while a program runs, inside targets
 * whose libc we cannot rely on, so everything here is raw syscalls and
 * -errno returns.
 *
 * The handle table has one slot per map id. A slot's state is 0 (empty),
 * 1 (one thread is setting it up) or 2 (ready for the descriptor at
 * desc_off with generation gen). A slot is stale when the table names
 * another descriptor, or the same offset reused by a later map (the
 * generation differs): the next user sets it up again.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "map-internal.h"
#include "map-sys.h"

static bool mmap_failed(long p)
{
	return p < 0 && p > -4096;
}

int bpftime_region_fd_identity(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	long err = map_syscall2(SYS_fstat, fd, (long)&st);

	if (err)
		return (int)err;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/*
 * An agent's fd is one the target would not have without us: at the lowest
 * free number it shifts every fd the target opens next (opensnoop's FD
 * column on the kernel says 3 where ours said 4), and a target that writes
 * to a number it expects free (a shell's `exec 3>file`) takes it. Moved to
 * just below min(RLIMIT_NOFILE, 1024), as far from the numbers programs pick
 * as the limit allows without growing the fd table much; kept where it is
 * when the limit leaves no room.
 */
int bpftime_region_fd_high(int fd)
{
	struct {
		uint64_t cur, max;
	} lim;
	uint64_t top;
	long hi;

	if (map_syscall6(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&lim, 0, 0))
		return fd;
	top = lim.cur < 1024 ? lim.cur : 1024;
	if (top < 256)
		return fd;
	hi = map_syscall6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (long)(top - 64), 0, 0, 0);
	if (hi < 0)
		return fd;
	map_syscall1(SYS_close, fd);
	return (int)hi;
}

/*
 * An agent's region fd lives in the target, which may close it (daemons
 * close every fd) or reuse its number for a file of its own: mapping that
 * over the region would corrupt the target's file and our maps. Before a
 * growth mapping, check the fd still is the region file, else open it
 * again by path.
 */
static int region_fd(struct bpftime_map_region *r)
{
	uint64_t dev = 0, ino = 0;
	long fd;
	int err;

	if (!r->ino ||
	    (!bpftime_region_fd_identity(r->fd, &dev, &ino) && dev == r->dev && ino == r->ino))
		return r->fd;
	fd = map_syscall6(SYS_openat, AT_FDCWD, (long)r->path, O_RDWR | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	err = bpftime_region_fd_identity((int)fd, &dev, &ino);
	if (err || dev != r->dev || ino != r->ino) {
		map_syscall1(SYS_close, fd);
		return err ? err : -ESTALE; /* the path names another file now */
	}
	/* the old number is the target's now: not closed */
	r->fd = bpftime_region_fd_high((int)fd);
	return r->fd;
}

int bpftime_region_ensure(struct bpftime_map_region *r, uint64_t end)
{
	uint64_t mapped = __atomic_load_n(&r->mapped, __ATOMIC_ACQUIRE), size;
	long p;
	int fd;

	if (end <= mapped)
		return 0;
	/* the first mapping of a region is sized by the caller, from the header
	 * it read; later ones by the size the growing process published
	 * (release store in region.c's grow, pairs with this acquire) */
	size = mapped ? __atomic_load_n(&r->hdr->size, __ATOMIC_ACQUIRE) : end;
	if (end > size || size > r->max_size)
		return -EFAULT; /* an offset beyond the file: a corrupt descriptor */
	/* Two threads may map the same range: MAP_FIXED of the same file pages
	 * at the same place is harmless. */
	fd = region_fd(r);
	if (fd < 0)
		return fd;
	p = map_syscall6(SYS_mmap, (long)(r->base + mapped), (long)(size - mapped),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, (long)mapped);
	if (mmap_failed(p))
		return (int)p;
	for (uint64_t cur = mapped;
	     cur < size && !__atomic_compare_exchange_n(&r->mapped, &cur, size, false,
							__ATOMIC_RELEASE, __ATOMIC_RELAXED);)
		;
	return 0;
}

uint64_t bpftime_map_table_off(const struct bpftime_map_region *r, uint32_t id)
{
	uint64_t off;

	if (id == 0 || id >= BPFTIME_MAP_MAX_MAPS)
		return 0;
	/* Pairs with the release store that published the descriptor. */
	off = __atomic_load_n(&r->hdr->maps[id], __ATOMIC_ACQUIRE);
	return off == MAP_ID_RESERVED ? 0 : off;
}

/* dir + "/" + name into @buf; false when it does not fit. */
static bool join_path(char *buf, size_t size, const char *dir, const char *name, size_t name_max)
{
	size_t n = 0;

	for (size_t i = 0; dir[i]; i++) {
		if (n + 1 >= size)
			return false;
		buf[n++] = dir[i];
	}
	if (n + 1 >= size)
		return false;
	buf[n++] = '/';
	for (size_t i = 0; i < name_max && name[i]; i++) {
		if (n + 1 >= size)
			return false;
		buf[n++] = name[i];
	}
	buf[n] = '\0';
	return true;
}

/* Map the map's own data file into @m. */
static int map_file(struct bpftime_map *m)
{
	uint64_t size = m->ops->file_size(&m->d->attr, m->d->nr_cpus);
	long fd, p;

	if (!join_path(m->file_path, sizeof(m->file_path), m->r->dir, m->d->file,
		       sizeof(m->d->file)))
		return -ENAMETOOLONG;
	fd = map_syscall6(SYS_openat, AT_FDCWD, (long)m->file_path, O_RDWR | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	p = map_syscall6(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	map_syscall1(SYS_close, fd);
	if (mmap_failed(p))
		return (int)p;
	m->file_mem = (uint8_t *)p;
	m->file_size = size;
	return 0;
}

int bpftime_map_setup_handle(struct bpftime_map_region *r, struct bpftime_map *m, uint64_t off)
{
	const struct map_ops *ops;
	struct map_desc *d;
	int err;

	if (m->file_mem) {
		map_syscall2(SYS_munmap, (long)m->file_mem, (long)m->file_size);
		m->file_mem = NULL;
	}
	err = bpftime_region_ensure(r, off + sizeof(*d));
	if (err)
		return err;
	d = (struct map_desc *)(r->base + off);
	ops = bpftime_map_ops_of(d->attr.map_type);
	/* The descriptor comes from another process: check before use. */
	if (d->size != sizeof(*d) || !ops || d->nr_cpus != r->nr_cpus ||
	    d->data_off + d->data_size < d->data_off)
		return -EINVAL;
	/* the lock word lies inside the value, aligned: lockers write it */
	if (d->attr.spin_lock_off &&
	    (d->attr.value_size < 4 || d->attr.spin_lock_off - 1 > d->attr.value_size - 4 ||
	     (d->attr.spin_lock_off - 1) % 4))
		return -EINVAL;
	err = bpftime_region_ensure(r, d->data_off + d->data_size);
	if (err)
		return err;
	m->r = r;
	m->d = d;
	m->ops = ops;
	m->data = d->data_off ? r->base + d->data_off : NULL;
	m->desc_off = off;
	m->gen = d->gen;
	return d->file[0] ? map_file(m) : 0;
}

static bool handle_current(const struct bpftime_map *m, uint64_t off)
{
	return m->desc_off == off && m->gen == m->d->gen;
}

int bpftime_map_handle(struct bpftime_map_region *r, uint32_t id, struct bpftime_map **out)
{
	uint64_t off = bpftime_map_table_off(r, id);
	struct bpftime_map *m;
	uint32_t state;
	int err;

	if (!off)
		return -ENOENT;
	m = &r->handles[id];
	for (;;) {
		/* Pairs with the release store of the state below. */
		state = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
		if (state == 2 && handle_current(m, off)) {
			*out = m;
			return 0;
		}
		if (state != 1 && __atomic_compare_exchange_n(&m->state, &state, 1, false,
							      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		/* another thread of this process sets it up (an open and an
		 * mmap), or this one did and a signal handler interrupted it:
		 * waiting for ourselves would never end */
		if (__atomic_load_n(&m->setup_tid, __ATOMIC_RELAXED) == map_sys_gettid())
			return -EAGAIN;
		map_sys_yield();
	}
	__atomic_store_n(&m->setup_tid, map_sys_gettid(), __ATOMIC_RELAXED);
	err = bpftime_map_setup_handle(r, m, off);
	__atomic_store_n(&m->setup_tid, 0, __ATOMIC_RELAXED);
	/* Publishes the handle: pairs with the acquire loads of the state. */
	__atomic_store_n(&m->state, err ? 0 : 2, __ATOMIC_RELEASE);
	if (err)
		return err;
	/* bpftime_map_region__contains scans handles up to here */
	for (uint32_t max = __atomic_load_n(&r->max_handle_id, __ATOMIC_RELAXED);
	     max < id && !__atomic_compare_exchange_n(&r->max_handle_id, &max, id, false,
						      __ATOMIC_RELEASE, __ATOMIC_RELAXED);)
		;
	*out = m;
	return 0;
}

uint32_t bpftime_map_prog_tid(const struct bpftime_map *m, uint32_t cpu)
{
	uint32_t tid =
	    cpu < m->r->nr_cpus ? __atomic_load_n(&m->r->hdr->cpu_owner[cpu], __ATOMIC_RELAXED) : 0;

	/* a caller that holds no CPU slot still gets a lock it really holds */
	return tid ? tid : map_sys_gettid();
}
