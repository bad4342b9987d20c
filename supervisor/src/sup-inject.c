// SPDX-License-Identifier: MIT
/*
 * Loading the agent into a stopped process, as a dynamic loader would,
 * with system calls made by the target itself (sup-ptrace.c):
 *
 *   1. scratch = mmap(64 KiB, RW): the agent's path and the session's at
 *      the bottom, the stack of our calls above (the stopped thread's own
 *      stack may be small, a goroutine's, and its red zone is not ours)
 *   2. fd = openat(path): the target opens the file, so the mapping is a
 *      file mapping (its maps show the agent, `detach` finds it by inode)
 *   3. base = mmap(span, PROT_NONE): the address range, chosen by the
 *      kernel; then each PT_LOAD mapped MAP_FIXED from the file at
 *      base + vaddr with its own protection, the part of the last file
 *      page past p_filesz zeroed and the rest of p_memsz (.bss) anonymous
 *   4. close(fd); the R_X86_64_RELATIVE words written: base + addend
 *      (/proc/PID/mem writes read-only pages too, RELRO included)
 *   5. bpftime_agent_main(session) called on the scratch stack, returning
 *      into bpftime_agent_trap; then munmap(scratch)
 *
 * Any failure unmaps what was mapped; the caller restores the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "sup-internal.h"

#define SCRATCH_SIZE (64 << 10)
#define PAGE         4096ull

static uint64_t page_down(uint64_t v)
{
	return v & ~(PAGE - 1);
}

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

/* A system call in the target whose -errno is an error of ours. */
static int rsys(struct sup_tracee *t, long *ret, long nr, long a, long b, long c, long d, long e,
		long f)
{
	int err = sup_tracee_syscall(t, ret, nr, a, b, c, d, e, f);

	if (err)
		return err;
	return *ret < 0 && *ret > -4096 ? (int)*ret : 0;
}

static int rmmap(struct sup_tracee *t, uint64_t addr, uint64_t len, int prot, int flags, int fd,
		 uint64_t off, uint64_t *out)
{
	long ret;
	int err = rsys(t, &ret, SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);

	if (!err)
		*out = (uint64_t)ret;
	return err;
}

static void rmunmap(struct sup_tracee *t, uint64_t addr, uint64_t len)
{
	long ret;

	if (addr)
		rsys(t, &ret, SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
}

/* Step 3 for one segment. */
static int map_segment(struct sup_tracee *t, const struct sup_agent_load *l, uint64_t base, int fd)
{
	static const uint8_t zeros[PAGE];
	uint64_t start = base + page_down(l->vaddr);
	uint64_t file_end = base + l->vaddr + l->filesz; /* first byte not from the file */
	uint64_t mem_end = page_up(base + l->vaddr + l->memsz);
	uint64_t got;
	int err = 0;

	if (l->filesz)
		err = rmmap(t, start, page_up(file_end) - start, l->prot, MAP_PRIVATE | MAP_FIXED,
			    fd, page_down(l->offset), &got);
	/* the file page holding the end of .data also holds whatever follows
	 * it in the file: .bss starts there and must read as zeros */
	if (!err && l->memsz > l->filesz && (file_end & (PAGE - 1)))
		err = sup_tracee_write(t, file_end, zeros, page_up(file_end) - file_end);
	if (!err && mem_end > page_up(file_end))
		err = rmmap(t, page_up(file_end), mem_end - page_up(file_end), l->prot,
			    MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0, &got);
	return err;
}

static int map_image(struct sup_tracee *t, const struct sup_agent_image *img, uint64_t path,
		     uint64_t *base)
{
	long fd;
	int err;

	err = rsys(t, &fd, SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (err) {
		sup_log(SUP_LOG_ERROR, "pid %d cannot open the agent %s: %s", (int)t->pid,
			img->path, strerror(-err));
		return err;
	}
	err = rmmap(t, 0, img->span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0,
		    base);
	for (int i = 0; !err && i < img->nload; i++)
		err = map_segment(t, &img->load[i], *base, (int)fd);
	rsys(t, &fd, SYS_close, fd, 0, 0, 0, 0, 0);
	return err;
}

static int relocate(struct sup_tracee *t, const struct sup_agent_image *img, uint64_t base)
{
	for (size_t i = 0; i < img->nrel; i++) {
		uint64_t v = base + img->rel[i].addend;
		int err = sup_tracee_write(t, base + img->rel[i].offset, &v, sizeof(v));

		if (err)
			return err;
	}
	return 0;
}

/* Step 1: the scratch mapping with @session copied into it (at
 * PATH_MAX; the agent's path at 0). */
static int make_scratch(struct sup_tracee *t, const struct sup_agent_image *img,
			const char *session, uint64_t *scratch)
{
	int err = rmmap(t, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0, scratch);

	if (!err)
		err = sup_tracee_write(t, *scratch, img->path, strlen(img->path) + 1);
	if (!err && session)
		err = sup_tracee_write(t, *scratch + PATH_MAX, session, strlen(session) + 1);
	return err;
}

int sup_inject_call(struct sup_tracee *t, const struct sup_agent_image *img, uint64_t base,
		    uint64_t sym, const char *session, long *ret)
{
	uint64_t scratch = 0;
	int err = make_scratch(t, img, session, &scratch);

	t->trap = base + img->sym_trap;
	if (!err)
		err = sup_tracee_call(t, base + sym, session ? scratch + PATH_MAX : 0,
				      scratch + SCRATCH_SIZE, ret);
	/* the entries return int: the upper half of %rax is not theirs to
	 * set (the ABI leaves it undefined; -ENOENT came back as 0xfffffffe) */
	if (!err)
		*ret = (int)*ret;
	/* after a fault the thread is about to be restored anyway */
	rmunmap(t, scratch, SCRATCH_SIZE);
	return err;
}

int sup_inject_agent(struct sup_tracee *t, const struct sup_agent_image *img, const char *session,
		     uint64_t *base_out)
{
	uint64_t scratch = 0, base = 0;
	long ret = 0;
	int err;

	err = make_scratch(t, img, session, &scratch);
	if (!err)
		err = map_image(t, img, scratch, &base);
	if (!err)
		err = relocate(t, img, base);
	rmunmap(t, scratch, SCRATCH_SIZE);
	if (!err) {
		sup_log(SUP_LOG_DEBUG, "pid %d: agent mapped at %#llx", (int)t->pid,
			(unsigned long long)base);
		err = sup_inject_call(t, img, base, img->sym_main, session, &ret);
	}
	if (!err && ret < 0) {
		sup_log(SUP_LOG_ERROR, "pid %d: the agent did not start: %s", (int)t->pid,
			strerror((int)-ret));
		err = (int)ret;
	}
	if (err && !t->gone) {
		rmunmap(t, base, img->span);
		return err;
	}
	*base_out = base;
	return err;
}
