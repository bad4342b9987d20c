// SPDX-License-Identifier: MIT
/*
 * mmap(2) of objects. Every object's fd refers to a file with the kernel's
 * layout (a perf buffer's or a map's data file), so the mapping itself is
 * the kernel's, run after we answer BPFTIME_EMUL_CONTINUE; what we do is
 * what the object's f_op->mmap decides first, in the kernel's order
 * (probed on 6.18):
 *
 *   do_mmap()       MAP_SHARED + PROT_WRITE on an fd without write access,
 *                   or any mapping of one without read access: -EACCES
 *   perf_mmap()     MAP_SHARED only, offset 0, 1 + 2^n pages (or 1), the
 *                   same size as an existing ring buffer: else -EINVAL;
 *                   creates the perf buffer (emul-perf.c)
 *   bpf_map_mmap()  a type without map_mmap, or a value with a spin lock:
 *                   -ENOTSUPP (524); then MAP_SHARED of a writable fd
 *                   (VM_SHARED), -EINVAL; then, writable: frozen -EPERM,
 *                   BPF_F_RDONLY_PROG -EACCES
 *   array_map_mmap  BPF_F_MMAPABLE, within the values: else -EINVAL
 *   ringbuf_map_mmap_kern  writable only as the consumer page (offset 0,
 *                   one page): else -EPERM; within the file: else -EINVAL
 *   programs, links, BTF: no mmap, -ENODEV
 *
 * Limits: a read-only mapping cannot be made writable later by the kernel
 * (it drops VM_MAYWRITE); ours can, with mprotect. A writable mapping of a
 * BPF_F_MMAPABLE array does not make a later BPF_MAP_FREEZE -EBUSY (we do
 * not see munmap). A read-only perf buffer mapping (the kernel's overwrite
 * mode) is served as a normal one.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include "emul-internal.h"

#define PAGE_SZ 4096ull

static uint64_t page_align(uint64_t len)
{
	return (len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
}

static bool shared(int flags)
{
	int type = flags & MAP_TYPE;

	return type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
}

/* perf_mmap() for the ring buffer at offset 0 (there is no aux area). */
static long perf_mmap(struct bpftime_emul *e, struct emul_obj *o, uint64_t len, int prot, int flags,
		      uint64_t off)
{
	uint64_t pages = page_align(len) / PAGE_SZ - 1;
	int err;

	if (!shared(flags) || off)
		return -EINVAL;
	/* nr_pages: 0 or a power of 2 */
	if (pages & (pages - 1))
		return -EINVAL;
	if (!(prot & PROT_WRITE) && !emul_perf_buffer_pages(e, o))
		emul_log(e, BPFTIME_EMUL_LOG_INFO,
			 "perf event %u: read-only mapping (overwrite mode) served as a normal one",
			 o->id);
	err = emul_perf_map_buffer(e, o, (uint32_t)pages);
	return err ? err : BPFTIME_EMUL_CONTINUE;
}

/* ringbuf_map_mmap_kern(): producer pages are read-only. */
static long ringbuf_mmap(const struct bpftime_map_attr *a, uint64_t len, int prot, uint64_t off)
{
	uint64_t size = 2 * PAGE_SZ + 2ull * a->max_entries; /* pages mapped by the kernel */

	if ((prot & PROT_WRITE) && (off || page_align(len) != PAGE_SZ))
		return -EPERM;
	/* remap_vmalloc_range(): within the area */
	if (off > size || page_align(len) > size - off)
		return -EINVAL;
	return BPFTIME_EMUL_CONTINUE;
}

/* array_map_mmap(). */
static long array_mmap(const struct bpftime_map_attr *a, uint64_t len, uint64_t off)
{
	uint64_t values = page_align((uint64_t)a->max_entries * ((a->value_size + 7ull) & ~7ull));

	if (!(a->map_flags & BPF_F_MMAPABLE))
		return -EINVAL;
	if (off > values || page_align(len) > values - off)
		return -EINVAL;
	return BPFTIME_EMUL_CONTINUE;
}

static long map_mmap(struct bpftime_emul *e, struct bpftime_caller *c, int fd, uint64_t len,
		     int prot, int flags, uint64_t off)
{
	const struct bpftime_map_attr *a;
	unsigned int fmode = 0;
	struct emul_obj *o;
	int err;

	o = emul_map_from_fd(e, c, fd, &err, &fmode);
	if (!o || !o->map.m)
		return BPFTIME_EMUL_CONTINUE;
	a = bpftime_map__attr(o->map.m);
	/* do_mmap(), before the file's mmap */
	if (!(fmode & EMUL_FMODE_READ) ||
	    (shared(flags) && (prot & PROT_WRITE) && !(fmode & EMUL_FMODE_WRITE)))
		return -EACCES;
	if ((a->map_type != BPF_MAP_TYPE_ARRAY && a->map_type != BPF_MAP_TYPE_RINGBUF) ||
	    a->spin_lock_off)
		return -EMUL_ENOTSUPP;
	/* a shared mapping of a read-only fd loses VM_SHARED */
	if (!shared(flags) || !(fmode & EMUL_FMODE_WRITE))
		return -EINVAL;
	if (prot & PROT_WRITE) {
		if (bpftime_map__frozen(o->map.m))
			return -EPERM;
		if (a->map_flags & BPF_F_RDONLY_PROG)
			return -EACCES;
	}
	if (a->map_type == BPF_MAP_TYPE_RINGBUF)
		return ringbuf_mmap(a, len, prot, off);
	return array_mmap(a, len, off);
}

long emul_mmap(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t addr, uint64_t len,
	       int prot, int flags, int fd, uint64_t off)
{
	struct emul_obj *o;
	long ret;
	int err;

	(void)addr;
	/* what do_mmap() refuses before the file is asked, it refuses on our
	 * file too: let it */
	if (!len || (off & (PAGE_SZ - 1)) || (flags & MAP_ANONYMOUS))
		return BPFTIME_EMUL_CONTINUE;
	pthread_mutex_lock(&e->lock);
	o = emul_obj_from_fd(e, c, fd, &err);
	if (!o)
		ret = BPFTIME_EMUL_CONTINUE;
	else if (o->type == EMUL_OBJ_PERF)
		ret = perf_mmap(e, o, len, prot, flags, off);
	else if (o->type == EMUL_OBJ_MAP)
		ret = map_mmap(e, c, fd, len, prot, flags, off);
	else
		ret = -ENODEV; /* no mmap in bpf_prog_fops, bpf_link_fops, btf_fops */
	pthread_mutex_unlock(&e->lock);
	if (o)
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG,
			 "pid %d mmap(fd %d, len %llu, prot %d, flags 0x%x, off %llu) = %ld",
			 c->pid, fd, (unsigned long long)len, prot, flags, (unsigned long long)off,
			 ret);
	return ret;
}

/*
 * bpf_map_write_active(): does a writable shared mapping of @o exist? The
 * kernel counts them in mmap and munmap; we see only the mmap, so we look
 * at the caller's mappings (/proc/PID/maps: "rw-s" lines of the object's
 * device and inode). Mappings that other processes of the session made are
 * not seen.
 */
bool emul_mapped_writable(struct bpftime_caller *c, const struct emul_obj *o)
{
	char path[64], line[512], perms[8];
	unsigned int maj, min;
	unsigned long ino;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)c->pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %lu", perms, &maj, &min, &ino) != 4)
			continue;
		found = perms[1] == 'w' && perms[3] == 's' && ino == (unsigned long)o->ino &&
			maj == major(o->dev) && min == minor(o->dev);
	}
	fclose(f);
	return found;
}
