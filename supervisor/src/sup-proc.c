// SPDX-License-Identifier: MIT
/*
 * Reading /proc/PID: mappings (maps) and status fields. A target's maps
 * name files by path text, which a target can fake (a file of its own
 * called libbpftime-agent.so) or which can change under us (a rebuilt
 * agent shows "(deleted)"): files are matched by device and inode, the
 * path only tells "a different build" apart from "none".
 */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "sup-internal.h"

struct map_line {
	uint64_t start, end, offset;
	unsigned int major, minor;
	unsigned long inode;
	char path[PATH_MAX];
};

static bool parse_line(const char *line, struct map_line *m)
{
	int pos = 0;

	m->path[0] = '\0';
	if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu %n", &m->start, &m->end, &m->offset, &m->major,
		   &m->minor, &m->inode, &pos) < 6)
		return false;
	snprintf(m->path, sizeof(m->path), "%s", line + pos);
	m->path[strcspn(m->path, "\n")] = '\0';
	return true;
}

/* Calls @fn on each mapping until it returns non-zero; that value, or 0. */
static int each_mapping(pid_t pid, int (*fn)(const struct map_line *, void *), void *arg)
{
	char path[64], line[PATH_MAX + 128];
	struct map_line m;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		if (parse_line(line, &m))
			ret = fn(&m, arg);
	}
	fclose(f);
	return ret;
}

struct find_name {
	const char *name;
	uint64_t start, end;
};

static int match_name(const struct map_line *m, void *arg)
{
	struct find_name *f = arg;

	if (strcmp(m->path, f->name))
		return 0;
	f->start = m->start;
	f->end = m->end;
	return 1;
}

int sup_proc_find_mapping(pid_t pid, const char *name, uint64_t *start, uint64_t *end)
{
	struct find_name f = {.name = name};
	int ret = each_mapping(pid, match_name, &f);

	if (ret < 0)
		return ret;
	if (!ret)
		return -ENOENT;
	*start = f.start;
	*end = f.end;
	return 0;
}

struct find_file {
	dev_t dev;
	ino_t ino;
	const char *base_name;
	uint64_t base;
	char other[PATH_MAX]; /* a mapping with the name but another inode */
};

static int match_file(const struct map_line *m, void *arg)
{
	struct find_file *f = arg;
	const char *slash = strrchr(m->path, '/');
	size_t n = strlen(f->base_name);

	if (m->offset == 0 && m->inode == f->ino && makedev(m->major, m->minor) == f->dev) {
		f->base = m->start;
		return 1;
	}
	if (slash && !strncmp(slash + 1, f->base_name, n) &&
	    (slash[1 + n] == '\0' || slash[1 + n] == ' '))
		snprintf(f->other, sizeof(f->other), "%s", m->path);
	return 0;
}

int sup_proc_find_agent(pid_t pid, const struct sup_agent_image *img, uint64_t *base)
{
	struct find_file f = {.dev = img->dev, .ino = img->ino};
	const char *slash = strrchr(img->path, '/');
	int ret;

	f.base_name = slash ? slash + 1 : img->path;
	ret = each_mapping(pid, match_file, &f);
	if (ret < 0)
		return ret;
	if (ret) {
		*base = f.base;
		return 1;
	}
	if (f.other[0]) {
		sup_log(
		    SUP_LOG_ERROR,
		    "pid %d has another build of the agent mapped (%s), not %s: use the bpftime "
		    "that attached it",
		    (int)pid, f.other, img->path);
		return -ESTALE;
	}
	return 0;
}

int sup_proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		snprintf(out, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		out[strcspn(out, "\n")] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}
