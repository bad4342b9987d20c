// SPDX-License-Identifier: MIT
/*
 * Patch plans for uprobe sites (rewrite.h's planner), made in the
 * supervisor so that agents need no disassembler: the catalog publishes
 * each attachment's plan, or why its site cannot be hooked
 * (emul-catalog.c).
 *
 * Cost: the planner decodes the site's whole executable section to find
 * branches into the displaced bytes (~100 ms for libc's .text), under
 * e->lock, at the attach (IOC_SET_BPF, LINK_CREATE), which the tool's
 * trapped call waits for. Hence the cache: one plan per (file, offset) for
 * the session, so that the uprobe and uretprobe of a function, and every
 * tool probing it, pay once. The file is keyed by dev, ino, mtime and size
 * (a file rewritten in place is planned again); refusals are cached too,
 * failures to open or allocate are not. The cache holds at most
 * PLAN_CACHE_MAX sites, then replaces the oldest.
 *
 * The file planned is the one the event's path names now, which must be
 * the inode perf_event_open found (the kernel's uprobe holds that inode):
 * a path replaced since is -ESTALE. The path is the tool's; a tool in
 * another mount namespace or chroot than the supervisor gets -ENOENT or
 * -ESTALE (the event would need to keep the file open from perf_event_open).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpftime/rewrite.h>
#include "emul-internal.h"

#define PLAN_CACHE_MAX 4096u

struct plan_key {
	uint64_t dev, ino, size, offset;
	int64_t mtime_sec, mtime_nsec;
};

struct plan_entry {
	struct plan_key key;
	int status;
	struct bpftime_rw_plan plan;
	char msg[EMUL_PLAN_MSG_MAX];
};

struct plan_cache {
	struct plan_entry *v;
	uint32_t nr, cap;
	uint32_t oldest;  /* the next one replaced once nr == PLAN_CACHE_MAX */
	uint64_t planned; /* planner calls (tests) */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct plan_cache *cache_of(struct bpftime_emul *e)
{
	if (!e->plans)
		e->plans = calloc(1, sizeof(struct plan_cache));
	return e->plans;
}

static struct plan_entry *cache_find(struct plan_cache *pc, const struct plan_key *k)
{
	for (uint32_t i = 0; i < pc->nr; i++)
		if (!memcmp(&pc->v[i].key, k, sizeof(*k)))
			return &pc->v[i];
	return NULL;
}

/* A slot for a new site: a new one, or the oldest once full. NULL without
 * memory (the plan is then made but not kept). */
static struct plan_entry *cache_slot(struct plan_cache *pc)
{
	if (pc->nr == PLAN_CACHE_MAX) {
		struct plan_entry *x = &pc->v[pc->oldest];

		pc->oldest = (pc->oldest + 1) % PLAN_CACHE_MAX;
		return x;
	}
	if (pc->nr == pc->cap) {
		uint32_t cap = pc->cap ? 2 * pc->cap : 16;
		struct plan_entry *n;

		cap = cap < PLAN_CACHE_MAX ? cap : PLAN_CACHE_MAX;
		n = realloc(pc->v, sizeof(*n) * cap);
		if (!n)
			return NULL;
		pc->v = n;
		pc->cap = cap;
	}
	return &pc->v[pc->nr++];
}

/* Whether a planner result is the site's for good (cached) or a
 * failure of the moment (memory, descriptors) that a later attach retries. */
static bool lasting(int err)
{
	return !err || err == -EOPNOTSUPP || err == -ENOEXEC || err == -EINVAL || err == -ENOENT;
}

/* The planner on the file open at @fd. */
static int plan_fd(struct bpftime_emul *e, struct plan_cache *pc, int fd, const char *path,
		   uint64_t offset, struct bpftime_rw_plan *plan, char *msg, size_t msg_sz)
{
	struct bpftime_rw_plan_opts opts = {.sz = sizeof(opts)};
	char self[32];
	uint64_t t0 = mono_ms();
	int err;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	msg[0] = '\0';
	opts.errbuf = msg;
	opts.errbuf_sz = msg_sz;
	memset(plan, 0, sizeof(*plan));
	pc->planned++;
	err = bpftime_rw__plan_file(self, offset, &opts, plan);
	if (err && !msg[0]) {
		if (err == -ENOENT)
			snprintf(msg, msg_sz, "offset %#llx is in no executable section",
				 (unsigned long long)offset);
		else if (err == -ENOEXEC)
			snprintf(msg, msg_sz, "not a 64-bit ELF file");
		else
			snprintf(msg, msg_sz, "cannot plan the patch: %s", strerror(-err));
	}
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG,
		 "uprobe %s+%#llx: planned in %llu ms (%llu instructions decoded): %s", path,
		 (unsigned long long)offset, (unsigned long long)(mono_ms() - t0),
		 (unsigned long long)opts.scanned_insns, err ? msg : "ok");
	return err;
}

int emul_plan_site(struct bpftime_emul *e, const char *path, uint64_t dev, uint64_t ino,
		   uint64_t offset, struct bpftime_rw_plan *plan, char *msg, size_t msg_sz)
{
	struct plan_cache *pc = cache_of(e);
	struct plan_entry *x;
	struct plan_key k;
	struct stat st;
	int fd, err;

	if (!pc)
		return -ENOMEM;
	msg[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(msg, msg_sz, "the supervisor cannot open the probed file: %s",
			 strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
		close(fd);
		snprintf(msg, msg_sz,
			 "the probed path now names another file than the one "
			 "perf_event_open found");
		return -ESTALE;
	}
	memset(&k, 0, sizeof(k)); /* compared with memcmp */
	k.dev = dev;
	k.ino = ino;
	k.size = (uint64_t)st.st_size;
	k.offset = offset;
	k.mtime_sec = st.st_mtim.tv_sec;
	k.mtime_nsec = st.st_mtim.tv_nsec;
	x = cache_find(pc, &k);
	if (x) {
		close(fd);
		*plan = x->plan;
		snprintf(msg, msg_sz, "%s", x->msg);
		return x->status;
	}
	err = plan_fd(e, pc, fd, path, offset, plan, msg, msg_sz);
	close(fd);
	if (!lasting(err))
		return err;
	x = cache_slot(pc);
	if (x) {
		x->key = k;
		x->status = err;
		x->plan = *plan;
		snprintf(x->msg, sizeof(x->msg), "%s", msg);
	}
	return err;
}

uint64_t emul_plan_count(struct bpftime_emul *e)
{
	struct plan_cache *pc = e->plans;

	return pc ? pc->planned : 0;
}

void emul_plan_free(struct bpftime_emul *e)
{
	struct plan_cache *pc = e->plans;

	if (!pc)
		return;
	free(pc->v);
	free(pc);
	e->plans = NULL;
}
