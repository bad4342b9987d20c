// SPDX-License-Identifier: MIT
/*
 * A probed file offset -> the address of that byte in this process, from
 * /proc/self/maps. Mappings are matched by device and inode, as the kernel's
 * uprobe is bound to the inode (uprobe_register(inode, offset)): the path
 * text may have changed (a rename, another mount namespace, " (deleted)"),
 * the file may be mapped under several names.
 *
 * The kernel puts a uprobe's breakpoint in every mapping of the inode that
 * covers the offset with VM_EXEC (valid_vma(): a uprobe is only installed
 * in executable mappings); we take the executable one.
 *
 * Streamed through a small buffer: the file can be large, the follower's
 * stack is not. agent-sc-sites.c reads it with the same parser and reader.
 */
#include <linux/mman.h>
#include <linux/stat.h>
#include "agent-internal.h"
#include "agent-procmaps.h"

/* st_dev as glibc's and musl's makedev() encode it (what the supervisor's
 * stat() gave the catalog) from /proc's "major:minor" */
uint64_t agent_procmaps_dev(uint64_t major, uint64_t minor)
{
	return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) |
	       ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A number in @base at *@p, moving *@p past it; -1 when there is none. */
static int parse_num(const char **p, const char *end, unsigned base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	while (s < end && *s == ' ')
		s++;
	if (s >= end || (d = hexval(*s)) < 0 || (unsigned)d >= base)
		return -1;
	while (s < end && (d = hexval(*s)) >= 0 && (unsigned)d < base) {
		v = v * base + (unsigned)d;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* "start-end perms offset major:minor inode path" */
int agent_procmaps_parse(char *line, size_t len, struct agent_mapping *m)
{
	const char *p = line, *end = line + len;
	uint64_t major, minor;

	if (parse_num(&p, end, 16, &m->start) || p >= end || *p++ != '-' ||
	    parse_num(&p, end, 16, &m->end))
		return -1;
	while (p < end && *p == ' ')
		p++;
	if (end - p < 4)
		return -1;
	m->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	p += 4;
	if (parse_num(&p, end, 16, &m->offset) || parse_num(&p, end, 16, &major) || p >= end ||
	    *p++ != ':' || parse_num(&p, end, 16, &minor) || parse_num(&p, end, 10, &m->ino))
		return -1;
	m->dev = agent_procmaps_dev(major, minor);
	while (p < end && *p == ' ')
		p++;
	line[len] = '\0';
	m->path = p;
	return 0;
}

struct find {
	uint64_t dev, ino, offset;
	uint64_t addr;
	uint32_t prot;
	int found; /* 1: a mapping covers it, 2: an executable one */
};

static void consider(struct find *f, const struct agent_mapping *m)
{
	uint64_t len = m->end - m->start;

	if (m->dev != f->dev || m->ino != f->ino || f->offset < m->offset ||
	    f->offset - m->offset >= len)
		return;
	if (f->found == 2 || (f->found == 1 && !(m->prot & PROT_EXEC)))
		return;
	f->addr = m->start + (f->offset - m->offset);
	f->prot = m->prot;
	f->found = m->prot & PROT_EXEC ? 2 : 1;
}

int agent_procmaps_each(void (*fn)(void *arg, const struct agent_mapping *m), void *arg)
{
	char buf[8192];
	size_t have = 0;
	int fd = agent_openat("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	for (;;) {
		/* one byte kept for the NUL the parser writes at a line's end */
		long n = agent_read(fd, buf + have, sizeof(buf) - 1 - have);
		size_t start = 0;

		if (n < 0) {
			agent_close(fd);
			return (int)n;
		}
		have += (size_t)n;
		for (size_t i = 0; i < have; i++) {
			struct agent_mapping m;

			if (buf[i] != '\n')
				continue;
			if (!agent_procmaps_parse(buf + start, i - start, &m))
				fn(arg, &m);
			start = i + 1;
		}
		if (n == 0)
			break;
		/* keep the partial line; a line longer than the buffer is dropped */
		if (start == 0 && have == sizeof(buf) - 1)
			have = 0;
		else {
			memmove(buf, buf + start, have - start);
			have -= start;
		}
	}
	agent_close(fd);
	return 0;
}

static void consider_one(void *arg, const struct agent_mapping *m)
{
	consider(arg, m);
}

int agent_procmaps_find(uint64_t dev, uint64_t ino, uint64_t offset, uint64_t *addr, uint32_t *prot)
{
	struct find f = {dev, ino, offset, 0, 0, 0};
	int err = agent_procmaps_each(consider_one, &f);

	if (err)
		return err;
	if (!f.found)
		return -ENOENT;
	if (f.found == 1)
		return -ENOEXEC; /* mapped, but not executable: no uprobe */
	*addr = f.addr;
	*prot = f.prot;
	return 0;
}

int agent_procmaps_open(const struct agent_mapping *m, uint64_t *size)
{
	struct statx stx;
	int fd = agent_openat(m->path, O_RDONLY | O_CLOEXEC, 0), err;

	if (fd < 0)
		return fd;
	err = (int)agent_syscall6(__NR_statx, fd, (long)"", 0x1000 /* AT_EMPTY_PATH */,
				  STATX_INO | STATX_SIZE, (long)&stx, 0);
	if (!err && (agent_procmaps_dev(stx.stx_dev_major, stx.stx_dev_minor) != m->dev ||
		     stx.stx_ino != m->ino))
		err = -ESTALE; /* replaced on disk since it was mapped */
	if (err) {
		agent_close(fd);
		return err;
	}
	if (size)
		*size = stx.stx_size;
	return fd;
}
