// SPDX-License-Identifier: MIT
/*
 * Exempt code: trapped calls made from the executable mappings of one file
 * (bpftime's agent, which runs inside TOOL's processes) are let through to
 * the kernel without reaching the handler. The agent maps the session's
 * own files as the kernel would let it, not as TOOL's bpf() fds are
 * checked (a writable mapping of a frozen map's values is refused to TOOL,
 * and is how the agent reads .rodata).
 *
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE is safe here only because the filter
 * emulates and does not confine: every call it does not trap already
 * reaches the kernel, TOOL is not a sandbox, and a TOOL that calls through
 * the agent's code (or maps the agent's file and jumps into it) gets no
 * more than the kernel gives it anyway. Never use this to exempt code from
 * a filter that is meant to be a security boundary.
 *
 * Which code: the notification's instruction pointer (just past the
 * `syscall` instruction) inside an executable mapping of the file, named
 * by device and inode or by its path, in /proc/TGID/maps of the caller.
 * The ranges are cached per process and re-read
 *   - on a process's first trapped call;
 *   - after a trapped mmap() of that process: only an mmap of an fd, which
 *     the supervisor traps, maps the agent's code (the dynamic loader's for
 *     LD_PRELOAD, the injector's for a static TOOL), so the ranges are
 *     current until the next one;
 *   - when the process's address space is no longer the one the ranges
 *     were read from (an exec, or the tgid recycled): we keep
 *     /proc/TGID/mem open from that read, and a read through it finds
 *     nothing (0) once that mm is gone, as mem_rw() does when
 *     mmget_not_zero() fails. Every call pays this check (a 1-byte pread
 *     at address 0, ~2 us, against ~13 us for the round trip): an exec
 *     that maps no file with a trapped call (a static image, or a filter
 *     that does not trap mmap) would otherwise keep the old ranges.
 * Code mapped into a process after its first trapped call, in the same
 * address space, is only seen when mmap is trapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "seccomp-internal.h"

static void proc_drop(struct sec_exempt_proc *p)
{
	if (p->memfd >= 0)
		close(p->memfd);
	memset(p, 0, sizeof(*p));
	p->memfd = -1;
}

void sec_exempt_release(struct sec_exempt *x)
{
	if (!x)
		return;
	for (int i = 0; i < SEC_EXEMPT_SLOTS; i++)
		proc_drop(&x->slot[i]);
	free(x);
}

int bpftime_seccomp__exempt_code(struct bpftime_seccomp *s, const char *path)
{
	struct sec_exempt *x;
	struct stat st;

	if (!s || !path || path[0] != '/')
		return -EINVAL;
	if (strlen(path) >= sizeof(x->path))
		return -ENAMETOOLONG;
	if (stat(path, &st))
		return -errno;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	for (int i = 0; i < SEC_EXEMPT_SLOTS; i++)
		x->slot[i].memfd = -1;
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	strcpy(x->path, path);
	sec_exempt_release(s->exempt);
	s->exempt = x;
	sec_log(BPFTIME_SECCOMP_DEBUG, "calls from %s reach the kernel", path);
	return 0;
}

/* Is the maps line @line (NUL-terminated, no newline) an executable mapping
 * of our file? Its range in @start, @end. */
static bool our_code(const struct sec_exempt *x, const char *line, uint64_t *start, uint64_t *end)
{
	unsigned long long lo, hi, ino;
	unsigned int maj, mnr;
	char perms[8];
	int name = 0;

	if (sscanf(line, "%llx-%llx %7s %*x %x:%x %llu %n", &lo, &hi, perms, &maj, &mnr, &ino,
		   &name) < 6 ||
	    perms[2] != 'x')
		return false;
	*start = lo;
	*end = hi;
	/* an overlay shows the underlying file's device and inode, and the
	 * path we opened */
	if (ino == (unsigned long long)x->ino && maj == major(x->dev) && mnr == minor(x->dev))
		return true;
	return name > 0 && !strcmp(line + name, x->path);
}

/* Re-reads the executable ranges of our file in @tgid's maps. */
static void refresh(struct sec_exempt *x, struct sec_exempt_proc *p, pid_t tgid)
{
	/* where it was, to log only a change */
	uint64_t was = p->tgid == tgid && p->n ? p->range[0].start : 0;
	char path[64], line[PATH_MAX + 128];
	uint64_t start, end;
	FILE *f;
	int dir, fd;

	proc_drop(p);
	p->tgid = tgid;
	snprintf(path, sizeof(path), "/proc/%d", (int)tgid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	/* mem first: an exec between the two makes the check fail, and the
	 * ranges are read again; both name the same process (the dir) */
	p->memfd = openat(dir, "mem", O_RDONLY | O_CLOEXEC);
	fd = openat(dir, "maps", O_RDONLY | O_CLOEXEC);
	close(dir);
	if (fd < 0)
		return;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		else if (n == sizeof(line) - 1) {
			/* a longer line than any path we match: skip its rest */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (p->n < SEC_EXEMPT_RANGES && our_code(x, line, &start, &end)) {
			p->range[p->n].start = start;
			p->range[p->n].end = end;
			p->n++;
		}
	}
	fclose(f);
	if (p->n && p->range[0].start != was)
		sec_log(BPFTIME_SECCOMP_DEBUG, "pid %d: %s's code at %#llx-%#llx%s", (int)tgid,
			x->path, (unsigned long long)p->range[0].start,
			(unsigned long long)p->range[0].end, p->n > 1 ? " and more" : "");
}

static bool in_ranges(const struct sec_exempt_proc *p, uint64_t ip)
{
	/* ip is past the 2-byte syscall, which may end the mapping */
	for (int i = 0; i < p->n; i++) {
		if (ip > p->range[i].start && ip <= p->range[i].end)
			return true;
	}
	return false;
}

/* Is the process's mm still the one the ranges were read from? Reading
 * through the old mem fd gives 0 once that mm is gone, -EIO (nothing
 * mapped at 0) or 1 while it lives. */
static bool same_mm(const struct sec_exempt_proc *p)
{
	char b;

	/* unreadable (a non-dumpable process): ranges are read at every
	 * call, and without them there is nothing to trust */
	if (p->memfd < 0)
		return p->n == 0;
	return pread(p->memfd, &b, 1, 0) != 0;
}

bool sec_exempt_call(struct sec_exempt *x, pid_t tgid, long nr, uint64_t ip)
{
	struct sec_exempt_proc *p = &x->slot[(unsigned int)tgid % SEC_EXEMPT_SLOTS];
	bool in;

	if (p->tgid != tgid || p->dirty || !same_mm(p))
		refresh(x, p, tgid);
	in = in_ranges(p, ip);
	/* what this call maps is seen on the process's next call */
	if (nr == SYS_mmap)
		p->dirty = true;
	return in;
}
