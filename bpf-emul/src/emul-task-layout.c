// SPDX-License-Identifier: MIT
/*
 * The task layout file (bpftime/task-layout.h): the host's offsets of the
 * task_struct, nsproxy and mnt_namespace fields that the agent's images of
 * "current" fill, found in the vmlinux BTF the way libbpf's CO-RE finds a
 * field: by struct name, then member name, looking through anonymous
 * struct and union members (randomised or grouped layouts put fields
 * there), summing their offsets. The file is written once per session,
 * before the catalog exists, so an agent that joins finds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/btf.h>
#include <bpftime/task-layout.h>
#include "emul-internal.h"

#define HOST_BTF  "/sys/kernel/btf/vmlinux"
#define MAX_DEPTH 8

static bool is_composite(const struct btf_type *t)
{
	uint32_t k = t ? BTF_INFO_KIND(t->info) : 0;

	return k == BTF_KIND_STRUCT || k == BTF_KIND_UNION;
}

/* The struct named @name with members (not a forward declaration). */
static const struct btf_type *find_struct(const struct emul_btf_view *v, const char *name)
{
	for (uint32_t id = 1; id < v->nr; id++) {
		const struct btf_type *t = v->by_id[id];

		if (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT && BTF_INFO_VLEN(t->info) &&
		    !strcmp(emul_btf_view_name(v, t->name_off), name))
			return t;
	}
	return NULL;
}

/* Member @name of @t, also inside anonymous members: its byte offset in
 * *@off and its type id in *@type. Bitfields do not count (no field we
 * fill is one). */
static bool find_member(const struct emul_btf_view *v, const struct btf_type *t, const char *name,
			uint32_t *off, uint32_t *type, int depth)
{
	const struct btf_member *m = (const void *)(t + 1);

	if (depth > MAX_DEPTH)
		return false;
	for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
		uint32_t bits =
		    BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
		const struct btf_type *mt = emul_btf_view_resolve(v, m[i].type);
		uint32_t inner;

		if (bits % 8)
			continue;
		if (m[i].name_off) {
			if (strcmp(emul_btf_view_name(v, m[i].name_off), name))
				continue;
			*off = bits / 8;
			*type = m[i].type;
			return true;
		}
		if (is_composite(mt) && find_member(v, mt, name, &inner, type, depth + 1)) {
			*off = bits / 8 + inner;
			return true;
		}
	}
	return false;
}

/* The offset of dotted @path ("ns.inum") in @t, or BPFTIME_TASK_NO_FIELD
 * (absent, or past @limit - @len). */
static uint32_t field(const struct emul_btf_view *v, const struct btf_type *t, const char *path,
		      uint32_t len, uint32_t limit)
{
	char part[64];
	uint32_t total = 0;

	while (t && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		uint32_t off, type;

		if (n >= sizeof(part) || !is_composite(t))
			return BPFTIME_TASK_NO_FIELD;
		memcpy(part, path, n);
		part[n] = 0;
		if (!find_member(v, t, part, &off, &type, 0))
			return BPFTIME_TASK_NO_FIELD;
		total += off;
		path += n + (dot ? 1 : 0);
		t = emul_btf_view_resolve(v, type);
	}
	return total <= limit && limit - total >= len ? total : BPFTIME_TASK_NO_FIELD;
}

static uint32_t size_of(const struct btf_type *t, uint32_t max)
{
	if (!t)
		return 0;
	return t->size < max ? t->size : max;
}

int bpftime_task_layout__from_btf(const void *btf, uint32_t size, struct bpftime_task_layout *out)
{
	const struct btf_type *task, *nsp, *mnt;
	struct emul_btf_view v;
	uint32_t ts, ns, ms;
	int err;

	err = emul_btf_view_open(&v, btf, size);
	if (err) {
		emul_btf_view_close(&v);
		return err;
	}
	task = find_struct(&v, "task_struct");
	nsp = find_struct(&v, "nsproxy");
	mnt = find_struct(&v, "mnt_namespace");
	ts = size_of(task, BPFTIME_TASK_IMAGE_MAX);
	ns = size_of(nsp, BPFTIME_TASK_SMALL_MAX);
	ms = size_of(mnt, BPFTIME_TASK_SMALL_MAX);
	memset(out, 0, sizeof(*out));
	out->magic = BPFTIME_TASK_LAYOUT_MAGIC;
	out->version = BPFTIME_TASK_LAYOUT_VERSION;
	out->size = sizeof(*out);
	out->task_size = ts;
	out->task_pid = field(&v, task, "pid", 4, ts);
	out->task_tgid = field(&v, task, "tgid", 4, ts);
	out->task_real_parent = field(&v, task, "real_parent", 8, ts);
	out->task_parent = field(&v, task, "parent", 8, ts);
	out->task_group_leader = field(&v, task, "group_leader", 8, ts);
	out->task_comm = field(&v, task, "comm", 16, ts);
	out->task_nsproxy = field(&v, task, "nsproxy", 8, ts);
	out->nsproxy_size = ns;
	out->nsproxy_mnt_ns = field(&v, nsp, "mnt_ns", 8, ns);
	out->mnt_ns_size = ms;
	out->mnt_ns_inum = field(&v, mnt, "ns.inum", 4, ms);
	emul_btf_view_close(&v);
	return task ? 0 : -ENOENT;
}

static void layout_path(char *buf, size_t len, const char *dir, const char *suffix)
{
	snprintf(buf, len, "%s/%s%s", dir, BPFTIME_TASK_LAYOUT_FILE, suffix);
}

int bpftime_task_layout__write(const char *session_dir, const char *btf_path)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct bpftime_task_layout l;
	uint32_t size = 0;
	void *btf;
	int fd, err;

	btf = emul_btf_read_file(btf_path ? btf_path : HOST_BTF, &size);
	if (!btf)
		return -errno;
	err = bpftime_task_layout__from_btf(btf, size, &l);
	free(btf);
	if (err)
		return err;
	/* whole or not at all: written aside, then renamed in */
	layout_path(path, sizeof(path), session_dir, "");
	layout_path(tmp, sizeof(tmp), session_dir, ".tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = write(fd, &l, sizeof(l)) == (ssize_t)sizeof(l) ? 0 : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void bpftime_task_layout__unlink(const char *session_dir)
{
	char path[PATH_MAX];

	layout_path(path, sizeof(path), session_dir, "");
	unlink(path);
}
