// SPDX-License-Identifier: MIT
/*
 * The session's emulator: life cycle, logging, and the syscall table the
 * seccomp loop dispatches through.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpftime/task-layout.h>
#include "emul-internal.h"

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void emul_log(struct bpftime_emul *e, enum bpftime_emul_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (e && level > e->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bpftime: %s: %s\n", level_names[level], msg);
}

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_region(struct bpftime_emul *e)
{
	char path[sizeof(e->session_dir) + 16];
	struct bpftime_map_region_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.sz = sizeof(ro);
	snprintf(path, sizeof(path), "%s/maps", e->session_dir);
	ro.path = path;
	ro.create = true;
	e->region = bpftime_map_region__open(&ro);
	return e->region ? 0 : -errno;
}

struct bpftime_emul *bpftime_emul__new(const struct bpftime_emul_opts *opts)
{
	struct bpftime_emul *e;
	int err;

	if (!opts || opts->sz < offsetof(struct bpftime_emul_opts, session_dir) + sizeof(char *) ||
	    !opts->session_dir || strlen(opts->session_dir) >= sizeof(e->session_dir)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(&e->opts, opts, opts->sz < sizeof(e->opts) ? opts->sz : sizeof(e->opts));
	e->opts.sz = sizeof(e->opts);
	e->log_level = e->opts.log_level;
	strcpy(e->session_dir, opts->session_dir);
	pthread_mutex_init(&e->lock, NULL);
	/* ids start at 1, as the kernel's idr_alloc_cyclic(..., 1, INT_MAX);
	 * BTF id 1 is the vmlinux BTF when we can read it */
	e->next_prog_id = 1;
	e->next_link_id = 1;
	e->next_btf_id = 2;
	e->inotify_fd = -1;
	emul_lifetime_init(e); /* without it, objects live as long as the session */
	err = make_dir(e->session_dir);
	/* before the catalog, so an agent that joins finds it (agent-task.c);
	 * without it, agents read no task fields */
	if (!err && bpftime_task_layout__write(e->session_dir, e->opts.vmlinux_btf))
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG,
			 "no task layout: bpf_get_current_task() "
			 "reads fail in targets");
	if (!err)
		err = open_region(e);
	if (!err)
		err = emul_catalog_init(e);
	if (err) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "cannot open the session in %s: %s",
			 e->session_dir, strerror(-err));
		if (e->region) {
			bpftime_map_region__unlink(e->region);
			bpftime_map_region__close(e->region);
		}
		bpftime_task_layout__unlink(e->session_dir);
		emul_lifetime_fini(e);
		free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

void bpftime_emul__free(struct bpftime_emul *e)
{
	if (!e)
		return;
	/* no program runs on a tick once objects start to go */
	emul_timer_free(e);
	/* waiters use buffer handles: stop them before buffers go */
	emul_epoll_free(e);
	emul_files_free(e);
	emul_pins_free(e); /* pins hold references: dropped before the rest */
	emul_obj_release_all(e);
	emul_catalog_free(e); /* releases unpublish: after them */
	emul_plan_free(e);
	free(e->objs);
	emul_lifetime_fini(e);
	bpftime_map_region__unlink(e->region);
	bpftime_map_region__close(e->region);
	bpftime_task_layout__unlink(e->session_dir);
	rmdir(e->session_dir);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static const int trapped[] = {
    SYS_bpf,       SYS_perf_event_open, SYS_ioctl,
    SYS_epoll_ctl, SYS_openat,          SYS_open,
    SYS_access,    SYS_faccessat,       SYS_faccessat2,
    SYS_mmap,      SYS_newfstatat,      SYS_stat,
    SYS_lstat,     SYS_statx,           -1,
};

const int *bpftime_emul__syscalls(void)
{
	return trapped;
}

long bpftime_emul__syscall(struct bpftime_emul *e, struct bpftime_caller *c, long nr,
			   const uint64_t a[6])
{
	switch (nr) {
	case SYS_bpf:
		return bpftime_emul__bpf(e, c, (int)a[0], a[1], (uint32_t)a[2]);
	case SYS_perf_event_open:
		return bpftime_emul__perf_event_open(e, c, a[0], (int)a[1], (int)a[2], (int)a[3],
						     a[4]);
	case SYS_ioctl:
		return bpftime_emul__ioctl(e, c, (int)a[0], a[1], a[2]);
	case SYS_epoll_ctl:
		return bpftime_emul__epoll_ctl(e, c, (int)a[0], (int)a[1], (int)a[2], a[3]);
	case SYS_openat:
		return bpftime_emul__openat(e, c, (int)a[0], a[1], (int)a[2], (unsigned int)a[3]);
	case SYS_open:
		return bpftime_emul__openat(e, c, AT_FDCWD, a[0], (int)a[1], (unsigned int)a[2]);
	case SYS_access:
		return bpftime_emul__faccessat(e, c, AT_FDCWD, a[0], (int)a[1], 0);
	case SYS_faccessat:
		return bpftime_emul__faccessat(e, c, (int)a[0], a[1], (int)a[2], 0);
	case SYS_faccessat2:
		return bpftime_emul__faccessat(e, c, (int)a[0], a[1], (int)a[2], (int)a[3]);
	case SYS_newfstatat:
		return bpftime_emul__newfstatat(e, c, (int)a[0], a[1], a[2], (int)a[3]);
	case SYS_stat:
		return bpftime_emul__newfstatat(e, c, AT_FDCWD, a[0], a[1], 0);
	case SYS_lstat:
		return bpftime_emul__newfstatat(e, c, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW);
	case SYS_statx:
		return bpftime_emul__statx(e, c, (int)a[0], a[1], (int)a[2], (unsigned int)a[3],
					   a[4]);
	case SYS_mmap:
		if ((int)a[4] < 0)
			return BPFTIME_EMUL_CONTINUE; /* anonymous: the filter should not trap it */
		return emul_mmap(e, c, a[0], a[1], (int)a[2], (int)a[3], (int)a[4], a[5]);
	}
	return BPFTIME_EMUL_CONTINUE;
}
