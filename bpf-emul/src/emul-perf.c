// SPDX-License-Identifier: MIT
/*
 * perf_event_open(2) for the events eBPF tools open (tool-surface.md 3.4),
 * as kernel/events/core.c answers them on 6.18:
 *
 *   uprobe PMU     type = what we serve in .../uprobe/type; config bit 0 the
 *                  retprobe bit, config1 a pointer to the path in the caller,
 *                  config2 the file offset; the pid filter is kept
 *   TRACEPOINT     config = the id of a syscall tracepoint we serve
 *                  (emul-files.c)
 *   kprobe PMU     type = what we serve in .../kprobe/type; config bit 0 the
 *                  retprobe bit, config1 a pointer to the function's name,
 *                  config2 the offset: only "__x64_sys_<a syscall we
 *                  serve>" at offset 0, a syscall's x86-64 entry wrapper,
 *                  which the agent runs at the syscall itself (agent-sc.c;
 *                  bpf_override_return() skips it). Any other function,
 *                  address or offset is -ENOENT with one line in the log,
 *                  as every kprobe was before (a PMU we did not serve);
 *                  the kernel answers -ENOENT too for a function it does
 *                  not have (create_local_trace_kprobe)
 *   SOFTWARE       BPF_OUTPUT: a perf buffer (below); CPU_CLOCK: interval
 *                  and profile probes, whose program runs on a timer
 *                  (emul-timer.c; sample_freq becomes a period at open)
 *
 * Everything else (hardware events, breakpoints, other software events,
 * other PMUs) is -ENOENT, as for a PMU this machine does not have, with one
 * line in the log: it cannot be had in user space.
 *
 * Every perf event is an object whose file is a regular file of the session
 * directory, "perf-<id>" (not a memfd): the maps module can then adopt it
 * as a perf buffer's data file (bpftime_map_perfbuf_opts.file), so that the
 * tool's fd, which refers to it from the start, maps the buffer once the
 * trapped mmap() has created it (emul-mmap.c) and the kernel runs the mmap.
 *
 * Perf buffers and PERF_EVENT_ARRAY: the kernel lets a tool store a perf
 * event that has no ring buffer yet (not mmap'd; probed on 6.18) and then
 * mmap it, after which outputs reach the new ring buffer. Here an event
 * stored before its mmap gets a placeholder perf buffer without data pages
 * and with a data file of its own (outputs fail with -ENOSPC, as the
 * kernel's without a ring buffer); its mmap then creates the real buffer on
 * the event's file and makes every PERF_EVENT_ARRAY slot that named the
 * placeholder name the real one (bpftime_map__perf_event_array_replace)
 * before destroying the placeholder. libbpf and bcc mmap first, so this is
 * the rare path. A buffer is destroyed with its event (emul_perf_release),
 * which arrays keep alive by holding references (emul-map.c), as the
 * kernel's perf event array holds the event's file.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/perf_event.h>
#include "emul-internal.h"

/* 6.18's struct perf_event_attr ends with config3 (VER8); our uapi headers
 * are 6.1's (VER7), so the last 8 bytes are read by offset. A larger attr
 * is accepted when its tail is zero, and 136 is what the kernel writes back
 * into attr.size when it refuses a size (probed). */
#ifndef PERF_ATTR_SIZE_VER8
#define PERF_ATTR_SIZE_VER8 136 /* Linux 6.3: config3 */
#endif
#define ATTR_KERNEL_SIZE PERF_ATTR_SIZE_VER8
#define PAGE_SZ          4096u
/* config >> 32 of a uprobe: a USDT semaphore offset (ref_ctr_offset) */
#define UPROBE_REF_CTR_SHIFT 32

#ifndef PERF_COUNT_SW_CGROUP_SWITCHES
#define PERF_COUNT_SW_CGROUP_SWITCHES 11 /* Linux 5.13 */
#endif

struct perf_open {
	struct perf_event_attr attr;
	uint8_t raw[ATTR_KERNEL_SIZE]; /* the attr as copied, zero-extended */
	uint32_t size;
	int pid, cpu;
	bool in_target; /* opened: its programs run in processes (the agent) */
};

/* ---- the attr ---- */

int emul_perf_copy_attr(struct bpftime_caller *c, uint64_t uattr, void *out, uint32_t *size)
{
	uint8_t tail[256];
	uint32_t sz;

	/* perf_copy_attr(): get_user(size) */
	if (emul_read(c, &sz, uattr + offsetof(struct perf_event_attr, size), sizeof(sz)))
		return -EFAULT;
	/* the ABI quirk: 0 is the first published size (bcc sends 0) */
	if (!sz)
		sz = PERF_ATTR_SIZE_VER0;
	if (sz < PERF_ATTR_SIZE_VER0 || sz > PAGE_SZ)
		goto err_size;
	memset(out, 0, ATTR_KERNEL_SIZE);
	if (emul_read(c, out, uattr, sz < ATTR_KERNEL_SIZE ? sz : ATTR_KERNEL_SIZE))
		return -EFAULT;
	/* copy_struct_from_user(): bytes past what we know must be zero */
	for (uint32_t off = ATTR_KERNEL_SIZE; off < sz; off += sizeof(tail)) {
		uint32_t n = sz - off < sizeof(tail) ? sz - off : sizeof(tail);

		if (emul_read(c, tail, uattr + off, n))
			return -EFAULT;
		for (uint32_t i = 0; i < n; i++)
			if (tail[i])
				goto err_size;
	}
	*size = sz;
	return 0;
err_size:
	/* put_user(sizeof(*attr), &uattr->size), as the kernel does */
	sz = ATTR_KERNEL_SIZE;
	emul_write(c, uattr + offsetof(struct perf_event_attr, size), &sz, sizeof(sz));
	return -E2BIG;
}

static long max_sample_rate(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	long rate = 100000; /* the kernel's default */

	if (f) {
		if (fscanf(f, "%ld", &rate) != 1)
			rate = 100000;
		fclose(f);
	}
	return rate;
}

/* The rest of perf_copy_attr() and sys_perf_event_open()'s attr checks. */
static int check_attr(const struct perf_event_attr *a)
{
	if (a->__reserved_1 || a->__reserved_2 || a->__reserved_3)
		return -EINVAL;
	if (a->sample_type & ~(PERF_SAMPLE_MAX - 1))
		return -EINVAL;
	if (a->read_format & ~(PERF_FORMAT_MAX - 1))
		return -EINVAL;
	if ((!a->inherit && a->inherit_thread) || (a->remove_on_exec && a->enable_on_exec) ||
	    (a->sigtrap && !a->remove_on_exec))
		return -EINVAL;
	if (a->freq)
		return a->sample_freq > (uint64_t)max_sample_rate() ? -EINVAL : 0;
	return (a->sample_period >> 63) ? -EINVAL : 0;
}

/* ---- the event's kind ---- */

/* find_lively_task_by_vpid(): the pid must exist (-ESRCH). */
static int check_pid(int pid)
{
	if (pid == -1 || !kill(pid, 0) || errno == EPERM)
		return 0;
	return -ESRCH;
}

/* The probed file, resolved in the caller's view (its root and cwd), as
 * create_local_trace_uprobe()'s kern_path(): -ENOENT and friends, -EINVAL
 * for a file that is not regular, and __uprobe_register()'s -EINVAL for an
 * offset past its end. @path becomes absolute. */
static int uprobe_file(struct bpftime_caller *c, char *path, size_t size, uint64_t offset,
		       struct emul_perf *pf)
{
	char p[PATH_MAX + 64], cwd[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (path[0] == '/')
		snprintf(p, sizeof(p), "/proc/%d/root%s", c->pid, path);
	else
		snprintf(p, sizeof(p), "/proc/%d/cwd/%s", c->pid, path);
	if (stat(p, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (offset > (uint64_t)st.st_size)
		return -EINVAL;
	pf->dev = st.st_dev;
	pf->ino = st.st_ino;
	if (path[0] == '/')
		return 0;
	snprintf(p, sizeof(p), "/proc/%d/cwd", c->pid);
	n = readlink(p, cwd, sizeof(cwd) - 1);
	if (n < 0)
		return -errno;
	cwd[n] = '\0';
	if (strlen(cwd) + 1 + strlen(path) >= size || strlen(cwd) + 1 + strlen(path) >= sizeof(p))
		return -ENAMETOOLONG;
	/* both lengths checked above */
	n = (ssize_t)strlen(cwd);
	memcpy(p, cwd, (size_t)n);
	p[n] = '/';
	memcpy(p + n + 1, path, strlen(path) + 1);
	strcpy(path, p);
	return 0;
}

/* perf_uprobe_event_init() + perf_uprobe_init(). */
static int open_uprobe(struct bpftime_emul *e, struct bpftime_caller *c, const struct perf_open *po,
		       struct emul_perf *pf)
{
	char path[PATH_MAX];
	long n;
	int err;

	if (!po->attr.config1) /* uprobe_path */
		return -EINVAL;
	/* strndup_user(path, PATH_MAX): -EFAULT; too long is -EINVAL, which
	 * perf_uprobe_init() turns into -E2BIG */
	n = emul_read_str(c, path, po->attr.config1, sizeof(path), E2BIG);
	if (n < 0)
		return (int)n;
	if (!n)
		return -EINVAL;
	err = uprobe_file(c, path, sizeof(path), po->attr.config2, pf);
	if (err) {
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "pid %d: uprobe %s+0x%llx: %s", c->pid, path,
			 (unsigned long long)po->attr.config2, strerror(-err));
		return err;
	}
	pf->path = strdup(path);
	if (!pf->path)
		return -ENOMEM;
	pf->kind = EMUL_PERF_UPROBE;
	pf->retprobe = po->attr.config & 1; /* format/retprobe: config:0 */
	pf->offset = po->attr.config2;
	if (po->attr.config >> UPROBE_REF_CTR_SHIFT)
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "uprobe %s+0x%llx: the USDT semaphore at 0x%llx is not maintained", path,
			 (unsigned long long)pf->offset,
			 (unsigned long long)(po->attr.config >> UPROBE_REF_CTR_SHIFT));
	return 0;
}

#define KSYM_NAME_LEN  512 /* include/linux/kallsyms.h */
#define SYS_WRAPPER    "__x64_sys_"
#define SYS_WRAPPER_SZ (sizeof(SYS_WRAPPER) - 1)

/* perf_kprobe_event_init() + perf_kprobe_init(): the name as
 * strndup_user(KSYM_NAME_LEN) reads it (-EFAULT; too long -E2BIG; empty
 * is none), then what create_local_trace_kprobe() would find; we have
 * syscall wrappers' entries only. */
static int open_kprobe(struct bpftime_emul *e, struct bpftime_caller *c, const struct perf_open *po,
		       struct emul_perf *pf)
{
	char func[KSYM_NAME_LEN];
	int32_t nr = -1;
	long n = 0;

	if (po->attr.config1) {
		n = emul_read_str(c, func, po->attr.config1, sizeof(func), E2BIG);
		if (n < 0)
			return (int)n;
	}
	if (n > 0 && !strncmp(func, SYS_WRAPPER, SYS_WRAPPER_SZ))
		nr = emul_syscall_nr(func + SYS_WRAPPER_SZ);
	if (nr < 0 || po->attr.config2) {
		if (n > 0)
			emul_log(e, BPFTIME_EMUL_LOG_WARN,
				 "perf_event_open(kprobe %s+0x%llx): only the entry of a syscall's "
				 "wrapper (" SYS_WRAPPER
				 "<name>) can be probed in user space: -ENOENT",
				 func, (unsigned long long)po->attr.config2);
		else
			emul_log(e, BPFTIME_EMUL_LOG_WARN,
				 "perf_event_open(kprobe at 0x%llx): kernel addresses cannot be "
				 "probed in user space: -ENOENT",
				 (unsigned long long)po->attr.config2);
		return -ENOENT;
	}
	pf->path = strdup(func);
	if (!pf->path)
		return -ENOMEM;
	pf->kind = EMUL_PERF_KPROBE;
	pf->retprobe = po->attr.config & 1; /* format/retprobe: config:0 */
	pf->syscall_nr = nr;
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "k%sprobe %s (syscall %d)", pf->retprobe ? "ret" : "",
		 func, nr);
	return 0;
}

/* perf_tp_event_init() → perf_trace_init(): an id no event has is -EINVAL. */
static int open_tracepoint(struct bpftime_emul *e, const struct perf_open *po, struct emul_perf *pf)
{
	const char *cat, *ev;

	if (emul_tp_by_id(e, po->attr.config, &cat, &ev)) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "perf_event_open(TRACEPOINT, id %llu): not a syscall tracepoint we serve; "
			 "others are not available in user space: -EINVAL",
			 (unsigned long long)po->attr.config);
		return -EINVAL;
	}
	pf->kind = EMUL_PERF_TRACEPOINT;
	pf->tp_id = po->attr.config;
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "tracepoint %s:%s (id %llu)", cat, ev,
		 (unsigned long long)pf->tp_id);
	return 0;
}

static int unavailable(struct bpftime_emul *e, const struct perf_open *po, const char *what)
{
	emul_log(e, BPFTIME_EMUL_LOG_WARN,
		 "perf_event_open(type %u, config 0x%llx): %s events are not available in user "
		 "space: -ENOENT",
		 po->attr.type, (unsigned long long)po->attr.config, what);
	return -ENOENT;
}

static int open_kind(struct bpftime_emul *e, struct bpftime_caller *c, const struct perf_open *po,
		     struct emul_perf *pf)
{
	const struct perf_event_attr *a = &po->attr;

	if (a->type == (uint32_t)emul_uprobe_pmu_type(e))
		return open_uprobe(e, c, po, pf);
	if (a->type == (uint32_t)emul_kprobe_pmu_type(e))
		return open_kprobe(e, c, po, pf);
	switch (a->type) {
	case PERF_TYPE_TRACEPOINT:
		return open_tracepoint(e, po, pf);
	case PERF_TYPE_SOFTWARE:
		if (a->config == PERF_COUNT_SW_BPF_OUTPUT)
			pf->kind = EMUL_PERF_OUTPUT;
		else if (a->config == PERF_COUNT_SW_CPU_CLOCK)
			pf->kind = EMUL_PERF_CPU_CLOCK;
		else if (a->config > PERF_COUNT_SW_CGROUP_SWITCHES)
			return -ENOENT; /* perf_swevent_init(): event_id >= PERF_COUNT_SW_MAX */
		else
			return unavailable(e, po, "these software");
		pf->sample_period = a->sample_period; /* sample_freq: emul_timer_init */
		return 0;
	case PERF_TYPE_HARDWARE:
	case PERF_TYPE_HW_CACHE:
	case PERF_TYPE_RAW:
		return unavailable(e, po, "hardware");
	case PERF_TYPE_BREAKPOINT:
		return unavailable(e, po, "breakpoint");
	}
	return unavailable(e, po, "this PMU's");
}

/* ---- objects ---- */

static void file_path(struct bpftime_emul *e, uint32_t id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/perf-%u", e->session_dir, id);
}

/* A new perf event object, its file created empty in the session directory. */
static struct emul_obj *new_event(struct bpftime_emul *e)
{
	char path[sizeof(e->session_dir) + 32];
	uint32_t id = ++e->next_perf_id;
	struct emul_obj *o;
	int fd;

	file_path(e, id, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	close(fd);
	o = emul_obj_new(e, EMUL_OBJ_PERF, "perf_event", path);
	if (!o) {
		unlink(path);
		return NULL;
	}
	o->id = id;
	return o;
}

/* sys_perf_event_open()'s checks of pid, cpu and group before the PMU's. */
static int check_target(struct bpftime_emul *e, struct bpftime_caller *c, int pid, int cpu,
			int group_fd, unsigned long flags)
{
	uint32_t nr_cpus = bpftime_map_region__nr_cpus(e->region);
	struct emul_obj *g;
	int err;

	if (flags & PERF_FLAG_PID_CGROUP) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "perf_event_open(PERF_FLAG_PID_CGROUP): cgroup events are not available "
			 "in user space: -EINVAL");
		return -EINVAL;
	}
	if (group_fd != -1) {
		g = emul_obj_from_fd(e, c, group_fd, &err);
		if (!g || g->type != EMUL_OBJ_PERF)
			return -EBADF; /* not a perf event file */
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "perf_event_open(group_fd %d): event groups are not available in user "
			 "space: -EINVAL",
			 group_fd);
		return -EINVAL;
	}
	err = check_pid(pid);
	if (err)
		return err;
	/* perf_event_alloc(): a CPU that does not exist, or no target at all */
	if ((unsigned int)cpu >= nr_cpus && !(pid != -1 && cpu == -1))
		return -EINVAL;
	return 0;
}

static void init_event(struct emul_obj *o, const struct perf_open *po)
{
	struct emul_perf *pf = &o->perf;

	pf->pid = po->pid;
	pf->cpu = po->cpu;
	pf->enabled = !po->attr.disabled;
	pf->attr.size = po->size;
	memcpy(pf->attr.bytes, po->raw,
	       sizeof(pf->attr.bytes) < sizeof(po->raw) ? sizeof(pf->attr.bytes) : sizeof(po->raw));
	emul_timer_init(o);
}

static long open_event(struct bpftime_emul *e, struct bpftime_caller *c, struct perf_open *po,
		       int group_fd, unsigned long flags)
{
	struct emul_perf pf = {0};
	struct emul_obj *o;
	long ret;

	ret = check_target(e, c, po->pid, po->cpu, group_fd, flags);
	if (!ret)
		ret = open_kind(e, c, po, &pf);
	if (ret) {
		free(pf.path);
		return ret;
	}
	po->in_target = pf.kind == EMUL_PERF_UPROBE || pf.kind == EMUL_PERF_TRACEPOINT ||
			pf.kind == EMUL_PERF_KPROBE;
	o = new_event(e);
	if (!o) {
		free(pf.path);
		return -ENOMEM;
	}
	o->perf = pf;
	init_event(o, po);
	/* an event opened enabled starts counting now: its timer too */
	if (o->perf.enabled)
		emul_timer_set_enabled(e, o, true);
	ret = emul_obj_add(e, o);
	if (ret) {
		emul_obj_put(e, o); /* not in the table: just released */
		return ret;
	}
	ret = emul_obj_install(e, c, o, (flags & PERF_FLAG_FD_CLOEXEC) ? O_CLOEXEC : 0);
	if (ret < 0)
		emul_obj_put(e, o);
	return ret;
}

long bpftime_emul__perf_event_open(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t uattr,
				   int pid, int cpu, int group_fd, unsigned long flags)
{
	struct perf_open po = {.pid = pid, .cpu = cpu};
	long ret;

	/* sys_perf_event_open(): unknown flags first, then the attr */
	if (flags & ~(unsigned long)(PERF_FLAG_FD_NO_GROUP | PERF_FLAG_FD_OUTPUT |
				     PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC))
		return -EINVAL;
	ret = emul_perf_copy_attr(c, uattr, po.raw, &po.size);
	if (ret)
		return ret;
	memcpy(&po.attr, po.raw, sizeof(po.attr));
	ret = check_attr(&po.attr);
	if (ret)
		return ret;
	pthread_mutex_lock(&e->lock);
	ret = open_event(e, c, &po, group_fd, flags);
	pthread_mutex_unlock(&e->lock);
	/* an event for one process: the supervisor may bring the agent there */
	if (ret >= 0 && po.in_target && pid > 0 && e->opts.on_target_pid)
		e->opts.on_target_pid(e->opts.on_target_ctx, pid);
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG,
		 "pid %d perf_event_open(type %u, config 0x%llx, size %u, pid %d, cpu %d) = %ld",
		 c->pid, po.attr.type, (unsigned long long)po.attr.config, po.size, pid, cpu, ret);
	return ret;
}

/* ---- perf buffers ---- */

static struct bpftime_map *buffer_of(struct bpftime_emul *e, const struct emul_obj *o)
{
	return o->perf.perfbuf_id ? bpftime_map__get(e->region, o->perf.perfbuf_id) : NULL;
}

static int create_buffer(struct bpftime_emul *e, struct emul_obj *o, uint32_t pages,
			 const char *file, uint32_t *id)
{
	const struct perf_event_attr *a = (const struct perf_event_attr *)o->perf.attr.bytes;
	struct bpftime_map_perfbuf_opts opts = {
	    .sz = sizeof(opts),
	    .page_cnt = pages,
	    .cpu = o->perf.cpu < 0 ? BPFTIME_PERFBUF_ANY_CPU : (uint32_t)o->perf.cpu,
	    .wakeup = a->watermark ? a->wakeup_watermark : a->wakeup_events,
	    .watermark = a->watermark,
	    .disabled = !o->perf.enabled,
	    .file = file,
	};
	int err = bpftime_map__perfbuf_create(e->region, &opts, id);

	if (err)
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "perf event %u: no perf buffer of %u pages: %s",
			 o->id, pages, strerror(-err));
	return err;
}

/* Whether @o's buffer is a placeholder (data file not the event's own). */
static bool placeholder(struct bpftime_emul *e, const struct emul_obj *o)
{
	struct bpftime_map *m = buffer_of(e, o);
	const char *f = m ? bpftime_map__file(m) : NULL;
	char name[32];

	snprintf(name, sizeof(name), "/perf-%u", o->id);
	return f && (strlen(f) < strlen(name) || strcmp(f + strlen(f) - strlen(name), name));
}

uint32_t emul_perf_buffer_pages(struct bpftime_emul *e, const struct emul_obj *o)
{
	struct bpftime_map *m = buffer_of(e, o);

	return m ? bpftime_map__attr(m)->max_entries : 0;
}

/* Every PERF_EVENT_ARRAY slot naming @old names @new instead. */
static void replace_in_arrays(struct bpftime_emul *e, uint32_t old, uint32_t new)
{
	for (uint32_t i = 0; i < e->nr_objs; i++) {
		struct emul_obj *m = e->objs[i];

		if (m->type == EMUL_OBJ_MAP && m->map.m &&
		    bpftime_map__attr(m->map.m)->map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			bpftime_map__perf_event_array_replace(m->map.m, old, new);
	}
}

int emul_perf_map_buffer(struct bpftime_emul *e, struct emul_obj *o, uint32_t pages)
{
	char name[32];
	uint32_t id, old = o->perf.perfbuf_id;
	int err;

	if (old && !placeholder(e, o))
		/* perf_mmap(): an existing ring buffer of another size */
		return emul_perf_buffer_pages(e, o) == pages ? 0 : -EINVAL;
	snprintf(name, sizeof(name), "perf-%u", o->id);
	err = create_buffer(e, o, pages, name, &id);
	if (err)
		return err;
	o->perf.perfbuf_id = id;
	if (old) {
		replace_in_arrays(e, old, id);
		bpftime_map__destroy(e->region, old);
	}
	emul_epoll_buffer_changed(e, o);
	return 0;
}

int emul_perf_buffer_id(struct bpftime_emul *e, struct emul_obj *o)
{
	uint32_t id;
	int err;

	if (o->type != EMUL_OBJ_PERF || o->perf.kind != EMUL_PERF_OUTPUT)
		return -EINVAL;
	if (o->perf.perfbuf_id)
		return (int)o->perf.perfbuf_id;
	/* not mmap'd yet: a placeholder with a file of its own (see the top) */
	err = create_buffer(e, o, 0, NULL, &id);
	if (err)
		return err;
	o->perf.perfbuf_id = id;
	return (int)id;
}

int emul_perf_set_enabled(struct bpftime_emul *e, struct emul_obj *o, bool enabled)
{
	struct bpftime_map *m = buffer_of(e, o);

	emul_timer_set_enabled(e, o, enabled);
	o->perf.enabled = enabled;
	emul_catalog_attach_update(e, o);
	return m ? bpftime_map__perfbuf_enable(m, enabled) : 0;
}

/* ---- programs ---- */

int emul_perf_attach_prog(struct bpftime_emul *e, struct emul_obj *o, struct emul_obj *prog)
{
	uint32_t type = prog->prog.type;
	int err;

	switch (o->perf.kind) {
	case EMUL_PERF_UPROBE:
	case EMUL_PERF_KPROBE:
	case EMUL_PERF_TRACEPOINT:
		/* perf_event_set_bpf_prog(): the type first, then -EEXIST
		 * (perf_event_attach_bpf_prog); a kprobe's override check
		 * (at the entry of an ALLOW_ERROR_INJECTION function) holds
		 * for every syscall wrapper at offset 0 */
		if (type != (o->perf.kind == EMUL_PERF_TRACEPOINT ? BPF_PROG_TYPE_TRACEPOINT
								  : BPF_PROG_TYPE_KPROBE))
			return -EINVAL;
		if (o->perf.prog)
			return -EEXIST;
		break;
	default:
		/* perf_event_set_bpf_handler(): -EEXIST first, then the type */
		if (o->perf.prog)
			return -EEXIST;
		if (type != BPF_PROG_TYPE_PERF_EVENT)
			return -EINVAL;
	}
	err = emul_catalog_attach(e, o, prog);
	if (err)
		return err;
	emul_obj_get(prog);
	o->perf.prog = prog;
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "perf event %u: program %u attached", o->id, prog->id);
	emul_timer_prog_attached(e, o);
	return 0;
}

void emul_perf_detach_prog(struct bpftime_emul *e, struct emul_obj *o)
{
	struct emul_obj *prog = o->perf.prog;

	emul_catalog_detach(e, o); /* before the program can go */
	o->perf.prog = NULL;
	emul_obj_put(e, prog);
}

void emul_perf_release(struct bpftime_emul *e, struct emul_obj *o)
{
	char path[sizeof(e->session_dir) + 32];
	bool ph = o->perf.perfbuf_id && placeholder(e, o);

	emul_perf_detach_prog(e, o);
	/* arrays hold references: none names the buffer any more */
	if (o->perf.perfbuf_id)
		bpftime_map__destroy(e->region, o->perf.perfbuf_id);
	/* the event's file, unless a buffer adopted (and removed) it */
	if (!o->perf.perfbuf_id || ph) {
		file_path(e, o->id, path, sizeof(path));
		unlink(path);
	}
	o->perf.perfbuf_id = 0;
	free(o->perf.path);
	o->perf.path = NULL;
}
