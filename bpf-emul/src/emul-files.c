// SPDX-License-Identifier: MIT
/*
 * The sysfs and tracefs files tools read before perf_event_open()
 * (tool-surface.md 3.8), served so that tools work where tracefs is not
 * mounted or not readable (containers, ordinary users):
 *
 *   /sys/bus/event_source/devices/uprobe/type            the uprobe PMU's type
 *   /sys/bus/event_source/devices/uprobe/format/retprobe "config:0"
 *   /sys/bus/event_source/devices/kprobe/type            the kprobe PMU's type
 *   /sys/bus/event_source/devices/kprobe/format/retprobe "config:0"
 *        (served even where the kernel has no kprobes: perf_event_open
 *        answers kprobes on syscall wrappers, emul-perf.c; libbpf then
 *        never falls back to tracefs kprobe_events, which stays the
 *        kernel's)
 *   R/available_events, R/uprobe_events, R/kprobe_events (built-in: empty;
 *        read-only, so libbpf's legacy probes fail on a write, -EACCES;
 *        libbpf tries them only without a PMU type, and bcc only reads
 *        kprobe_events, at detach, to skip events it did not create)
 *   R/trace_pipe                                         the session's
 *        bpf_trace_printk lines as a stream (emul-tracepipe.c: a pipe)
 *   R/events/syscalls/sys_{enter,exit}_<name>/{id,format}
 *   R/events/raw_syscalls/sys_{enter,exit}/{id,format}
 *
 * for both tracefs roots R, /sys/kernel/tracing and /sys/kernel/debug/tracing
 * (libbpf and bcc pick the debugfs one when it exists). Two sources:
 *
 *   host      the host's tracefs when it is mounted and readable: contents
 *             are copied at each open, so ids match the kernel's and a
 *             transcript compared with the kernel's matches;
 *   built-in  otherwise (or opts.tracefs_source ""): the syscalls of
 *             emul-syscalls.def, with our own ids and format files laid
 *             out as 6.18's (common fields, __syscall_nr at 8, arguments
 *             at 16 + 8 * i).
 *
 * opts.tracefs_source names another root to copy from (tests).
 *
 * An open gets a sealed memfd with the contents, reopened read-only, as its
 * own file (its own offset); trace_pipe gets a pipe, whatever the source.
 * Writes are -EACCES. The tracefs directories on the way (R, R/events,
 * R/events/{syscalls,raw_syscalls} and each event's) are served too: an
 * open gets a real directory of the session listing the subdirectories we
 * serve there (emul-tracefs-dir.c; in host mode those the host has; the
 * kernel's also lists files such as enable and filter), so that glob(3)
 * (bpftrace's tracepoint wildcards: the format files of
 * syscalls:sys_enter_sync_file_range*) and ls find them. access(), stat(),
 * lstat(), newfstatat() and statx() of every path we serve are answered:
 * the host's stat in host mode, else a directory 0555 or an empty file 0444
 * of root's (tracefs shows no sizes; readable by all, as ours are); the
 * filter does not trap calls with AT_EMPTY_PATH (fstat). Paths we do not
 * serve, relative paths and paths with "." or ".." components are the
 * kernel's (BPFTIME_EMUL_CONTINUE); so are the sysfs PMU directories.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "emul-internal.h"
#include "emul-tracefs-dir.h"
#include "emul-tracepipe.h"

#define UPROBE_DIR "/sys/bus/event_source/devices/uprobe"
/* the uprobe PMU type when the host's is unreadable: 8 is what 6.18 shows
 * on x86-64 (software 1, tracepoint 2, breakpoint 5, dynamic PMUs from 6);
 * any value works, since every perf_event_open is ours */
#define UPROBE_TYPE_DEFAULT 8
#define KPROBE_DIR          "/sys/bus/event_source/devices/kprobe"
/* the first dynamic PMU type (PERF_TYPE_MAX): the kprobe PMU's when the
 * host has none, unless a host PMU or our uprobe type holds it */
#define KPROBE_TYPE_FIRST 6
/* built-in tracepoint ids: raw_syscalls sys_exit, sys_enter, then each
 * syscall's sys_exit, sys_enter (the kernel registers exit first: its id is
 * the enter id - 1 too). Below 65536: the id is common_type, a u16. */
#define TP_ID_BASE 10000u

struct syscall_desc {
	const char *name;
	const char *args[6];
};

#define SC(n, ...) {#n, {__VA_ARGS__}},
static const struct syscall_desc syscalls[] = {
#include "emul-syscalls.def"
};
#undef SC
#define NR_SYSCALLS (sizeof(syscalls) / sizeof(syscalls[0]))

struct host_tp {
	uint64_t id;
	char category[16];
	char event[64];
};

struct files {
	bool host;           /* copy from root; else built-in */
	char root[PATH_MAX]; /* the host's (or opts.tracefs_source) tracefs root */
	int uprobe_type;
	int kprobe_type;
	/* host ids, read on first use (emul_tp_by_id) */
	bool scanned;
	struct host_tp *tps;
	uint32_t nr_tps;
	char name[80];                     /* emul_tp_by_id's answer for built-in ids */
	struct emul_tracepipe *trace_pipe; /* the threads feeding trace_pipe opens */
};

enum served { NOT_OURS, SERVED_DIR, SERVED_FILE };

/* ---- the source ---- */

static bool host_readable(const char *root)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/events/raw_syscalls/sys_enter/id", root);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The host's PMU type in @path, -1 when unreadable. */
static int read_pmu_type(const char *path)
{
	FILE *f = fopen(path, "re");
	int t = -1;

	if (f) {
		if (fscanf(f, "%d", &t) != 1)
			t = -1;
		fclose(f);
	}
	return t > 0 ? t : -1;
}

static int read_uprobe_type(void)
{
	int t = read_pmu_type(UPROBE_DIR "/type");

	return t > 0 ? t : UPROBE_TYPE_DEFAULT;
}

/* Is @type a host PMU's (/sys/bus/event_source/devices/X/type)? */
static bool host_pmu_type(int type)
{
	DIR *d = opendir("/sys/bus/event_source/devices");
	struct dirent *de;
	bool used = false;

	while (d && !used && (de = readdir(d))) {
		char p[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/bus/event_source/devices/%s/type", de->d_name);
		used = read_pmu_type(p) == type;
	}
	if (d)
		closedir(d);
	return used;
}

/* The host's kprobe type when it has kprobes (ids then match the
 * kernel's); else a type no host PMU and not our uprobe PMU has. */
static int read_kprobe_type(int uprobe_type)
{
	int t = read_pmu_type(KPROBE_DIR "/type");

	if (t > 0)
		return t;
	for (t = KPROBE_TYPE_FIRST; t == uprobe_type || host_pmu_type(t); t++)
		;
	return t;
}

static struct files *files_of(struct bpftime_emul *e)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	const char *src = e->opts.tracefs_source;
	struct files *f = e->files;

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->uprobe_type = read_uprobe_type();
	f->kprobe_type = read_kprobe_type(f->uprobe_type);
	if (src && src[0]) {
		f->host = true;
		snprintf(f->root, sizeof(f->root), "%s", src);
	}
	for (size_t i = 0; !src && i < 2 && !f->host; i++)
		if (host_readable(roots[i])) {
			f->host = true;
			snprintf(f->root, sizeof(f->root), "%s", roots[i]);
		}
	emul_log(e, BPFTIME_EMUL_LOG_INFO, "tracefs files: %s%s",
		 f->host ? "copied from " : "built-in", f->host ? f->root : "");
	e->files = f;
	return f;
}

void emul_files_free(struct bpftime_emul *e)
{
	struct files *f = e->files;

	emul_tracefs_dir_remove(e->session_dir);
	if (!f)
		return;
	emul_tracepipe_free(f->trace_pipe);
	free(f->tps);
	free(f);
	e->files = NULL;
}

int emul_uprobe_pmu_type(struct bpftime_emul *e)
{
	struct files *f = files_of(e);

	return f ? f->uprobe_type : UPROBE_TYPE_DEFAULT;
}

int emul_kprobe_pmu_type(struct bpftime_emul *e)
{
	struct files *f = files_of(e);

	return f ? f->kprobe_type : -1;
}

/* ---- built-in tracepoints ---- */

/* The syscall named @name (after sys_enter_ / sys_exit_), or -1. */
static int syscall_index(const char *name)
{
	for (size_t i = 0; i < NR_SYSCALLS; i++)
		if (!strcmp(syscalls[i].name, name))
			return (int)i;
	return -1;
}

/* The built-in id of @category/@event, 0 when we have no such event. */
static uint32_t builtin_id(const char *category, const char *event)
{
	int i;

	if (!strcmp(category, "raw_syscalls")) {
		if (!strcmp(event, "sys_exit"))
			return TP_ID_BASE;
		return strcmp(event, "sys_enter") ? 0 : TP_ID_BASE + 1;
	}
	if (strcmp(category, "syscalls"))
		return 0;
	if (!strncmp(event, "sys_enter_", 10)) {
		i = syscall_index(event + 10);
		return i < 0 ? 0 : TP_ID_BASE + 3 + 2 * (uint32_t)i;
	}
	if (!strncmp(event, "sys_exit_", 9)) {
		i = syscall_index(event + 9);
		return i < 0 ? 0 : TP_ID_BASE + 2 + 2 * (uint32_t)i;
	}
	return 0;
}

/* Growing text for a file's contents; @oom once an allocation failed. */
struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void text_put(struct text *t, const char *data, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->cap ? t->cap * 2 : 4096) + n;
		char *b = realloc(t->buf, cap);

		if (!b) {
			t->oom = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* our lines are short: a longer one is a bug, not data to cut */
	if (n < 0 || (size_t)n >= sizeof(line))
		t->oom = true;
	else
		text_put(t, line, (size_t)n);
}

static const char common_fields[] =
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

/* The argument's name: the last word of "type name". */
static const char *arg_name(const char *arg)
{
	const char *sp = strrchr(arg, ' ');

	return sp ? sp + 1 : arg;
}

/* As print_syscall_enter's fmt: "a: 0x%08lx, ...", ((unsigned long)(REC->a)), ... */
static void enter_print_fmt(struct text *t, const struct syscall_desc *sc)
{
	size_t n = 0;

	while (n < 6 && sc->args[n])
		n++;
	text_add(t, "print fmt: \"");
	for (size_t i = 0; i < n; i++)
		text_add(t, "%s%s: 0x%%08lx", i ? ", " : "", arg_name(sc->args[i]));
	text_add(t, "\"");
	for (size_t i = 0; i < n; i++)
		text_add(t, ", ((unsigned long)(REC->%s))", arg_name(sc->args[i]));
	text_add(t, "\n");
}

/* events/<category>/<event>/format as 6.18 writes it (syscall_enter_define_fields). */
static void builtin_format(struct text *t, const char *category, const char *event, uint32_t id)
{
	bool raw = !strcmp(category, "raw_syscalls");
	bool enter = !strncmp(event, "sys_enter", 9);
	const struct syscall_desc *sc;

	text_add(t, "name: %s\nID: %u\nformat:\n%s", event, id, common_fields);
	if (raw && enter) {
		text_add(t, "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
			    "\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n\n"
			    "print fmt: \"NR %%ld (%%lx, %%lx, %%lx, %%lx, %%lx, %%lx)\", REC->id, "
			    "REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], "
			    "REC->args[5]\n");
		return;
	}
	if (raw) {
		text_add(t, "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
			    "\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\n"
			    "print fmt: \"NR %%ld = %%ld\", REC->id, REC->ret\n");
		return;
	}
	text_add(t, "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n");
	if (!enter) {
		text_add(t, "\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\n"
			    "print fmt: \"0x%%lx\", REC->ret\n");
		return;
	}
	sc = &syscalls[syscall_index(event + 10)];
	for (int i = 0; i < 6 && sc->args[i]; i++)
		text_add(t, "\tfield:%s;\toffset:%d;\tsize:8;\tsigned:0;\n", sc->args[i],
			 16 + 8 * i);
	text_add(t, "\n");
	enter_print_fmt(t, sc);
}

static void builtin_available_events(struct text *t)
{
	text_add(t, "raw_syscalls:sys_exit\nraw_syscalls:sys_enter\n");
	for (size_t i = 0; i < NR_SYSCALLS; i++)
		text_add(t, "syscalls:sys_exit_%s\nsyscalls:sys_enter_%s\n", syscalls[i].name,
			 syscalls[i].name);
}

/* ---- paths ---- */

/* Collapse "//" and drop a trailing "/"; false for a relative path or one
 * with "." or ".." components (the kernel resolves those). */
static bool normalize(char *p)
{
	char *w = p;

	if (p[0] != '/')
		return false;
	for (char *r = p; *r; r++) {
		if (*r == '/' && w > p && w[-1] == '/')
			continue;
		*w++ = *r;
	}
	if (w > p + 1 && w[-1] == '/')
		w--;
	*w = '\0';
	return !strstr(p, "/./") && !strstr(p, "/../") && !(w - p >= 2 && !strcmp(w - 2, "/.")) &&
	       !(w - p >= 3 && !strcmp(w - 3, "/.."));
}

/* What a path below a tracefs root (@rest: "", "/events/...") is to us. In
 * @cat/@ev the event it names, for id and format files. */
static enum served tracefs_path(const char *rest, char *cat, char *ev, const char **file)
{
	char c[32], e[80], f[16], extra;
	int n;

	*file = NULL;
	if (!rest[0] || !strcmp(rest, "/events") || !strcmp(rest, "/events/syscalls") ||
	    !strcmp(rest, "/events/raw_syscalls"))
		return SERVED_DIR;
	if (!strcmp(rest, "/available_events") || !strcmp(rest, "/uprobe_events") ||
	    !strcmp(rest, "/kprobe_events") || !strcmp(rest, "/trace_pipe")) {
		*file = rest + 1;
		return SERVED_FILE;
	}
	n = sscanf(rest, "/events/%31[^/]/%79[^/]/%15[^/]%c", c, e, f, &extra);
	if (n < 2 || n > 3 || !builtin_id(c, e))
		return NOT_OURS;
	strcpy(cat, c);
	strcpy(ev, e);
	if (n == 2)
		return SERVED_DIR;
	if (!strcmp(f, "id"))
		*file = "id";
	else if (!strcmp(f, "format"))
		*file = "format";
	else
		return NOT_OURS;
	return SERVED_FILE;
}

struct served_path {
	enum served kind;
	bool uprobe;          /* under UPROBE_DIR or KPROBE_DIR */
	bool kprobe;          /* under KPROBE_DIR */
	const char *file;     /* "type", "retprobe", "id", "format", "available_events", ... */
	const char *rest;     /* the path below the tracefs root */
	char cat[32], ev[80]; /* id and format files */
};

static enum served classify(const char *p, struct served_path *s)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

	memset(s, 0, sizeof(*s));
	for (int k = 0; k < 2 && !s->kind; k++) {
		const char *dir = k ? KPROBE_DIR : UPROBE_DIR;
		size_t n = strlen(dir);

		if (strncmp(p, dir, n))
			continue;
		if (!p[n] || !strcmp(p + n, "/format"))
			s->kind = SERVED_DIR;
		else if (!strcmp(p + n, "/type") || !strcmp(p + n, "/format/retprobe")) {
			s->kind = SERVED_FILE;
			s->file = strrchr(p, '/') + 1;
		}
		s->kprobe = k == 1;
	}
	if (s->kind) {
		s->uprobe = true;
		return s->kind;
	}
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(roots[i]);

		if (strncmp(p, roots[i], n) || (p[n] && p[n] != '/'))
			continue;
		s->rest = p + n;
		s->kind = tracefs_path(s->rest, s->cat, s->ev, &s->file);
		return s->kind;
	}
	return NOT_OURS;
}

/* ---- contents ---- */

static int host_copy(struct text *t, const char *root, const char *rest)
{
	char p[PATH_MAX * 2], buf[65536];
	int fd, err = 0;
	ssize_t n;

	snprintf(p, sizeof(p), "%s%s", root, rest);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		text_put(t, buf, (size_t)n);
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static int contents(struct bpftime_emul *e, const struct served_path *s, struct text *t)
{
	struct files *f = files_of(e);

	if (!f)
		return -ENOMEM;
	if (s->uprobe && !strcmp(s->file, "type"))
		text_add(t, "%d\n", s->kprobe ? f->kprobe_type : f->uprobe_type);
	else if (s->uprobe)
		text_add(t, "config:0\n"); /* format/retprobe: PERF_PROBE_CONFIG_IS_RETPROBE */
	else if (f->host)
		return host_copy(t, f->root, s->rest);
	else if (!strcmp(s->file, "available_events"))
		builtin_available_events(t);
	else if (!strcmp(s->file, "id"))
		text_add(t, "%u\n", builtin_id(s->cat, s->ev));
	else if (!strcmp(s->file, "format"))
		builtin_format(t, s->cat, s->ev, builtin_id(s->cat, s->ev));
	return t->oom ? -ENOMEM : 0;
}

/* A read-only file of its own with @len bytes of @data: a sealed memfd
 * reopened O_RDONLY (so that the caller's fd cannot write it). */
static int ro_memfd(const char *name, const char *data, size_t len)
{
	char p[64];
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), ro = -1;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		goto out;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ro = open(p, O_RDONLY | O_CLOEXEC);
out:
	if (ro < 0)
		ro = -(errno ? errno : EIO);
	close(fd);
	return ro;
}

/* ---- the syscalls ---- */

/* The caller's path, normalized, or false when it is not one we look at. */
static bool read_path(struct bpftime_caller *c, uint64_t upath, char *p, size_t size)
{
	/* unreadable or too long: the kernel answers (-EFAULT, -ENAMETOOLONG) */
	if (emul_read_str(c, p, upath, size, ENAMETOOLONG) < 0)
		return false;
	return normalize(p);
}

/* @fd (ours, or an error) becomes the caller's; what the open returns. */
static long hand_over(struct bpftime_emul *e, struct bpftime_caller *c, int fd, int flags,
		      const char *p, const char *what)
{
	long ret;

	if (fd < 0)
		return fd;
	ret = c->ops->install_fd(c->ctx, fd, flags & O_CLOEXEC);
	close(fd);
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "pid %d open(%s) = %ld%s", c->pid, p, ret, what);
	return ret;
}

static long open_file(struct bpftime_emul *e, struct bpftime_caller *c, const char *p,
		      const struct served_path *s, int flags)
{
	struct text t = {0};
	long ret;
	int fd;

	/* may_open(): our files are read-only for everyone; O_DIRECTORY on a
	 * file is -ENOTDIR (path lookup) */
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EACCES;
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	if (!s->uprobe && !strcmp(s->file, "trace_pipe")) {
		struct files *f = files_of(e);

		ret = f ? emul_tracepipe_open(e, c, &f->trace_pipe, flags) : -ENOMEM;
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "pid %d open(%s) = %ld", c->pid, p, ret);
		return ret;
	}
	ret = contents(e, s, &t);
	if (ret) {
		free(t.buf);
		return ret;
	}
	fd = ro_memfd(s->file, t.buf ? t.buf : "", t.len);
	free(t.buf);
	return hand_over(e, c, fd, flags, p, "");
}

/* A tracepoint's id file that is not a syscall's: @p under a tracefs
 * root as /events/CAT/EVENT/id. Its events happen in the kernel, where no
 * agent runs: the tool is told so, and finds no such tracepoint (-ENOENT,
 * as on a kernel without it) rather than an id it cannot use. */
static bool kernel_event_id(const char *p, char *cat, char *ev)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(roots[i]);
		int len = 0;

		if (strncmp(p, roots[i], n) ||
		    sscanf(p + n, "/events/%31[^/]/%79[^/]/id%n", cat, ev, &len) != 2 || !len ||
		    p[n + (size_t)len])
			continue;
		/* an unknown syscall event is just unknown, as on the kernel */
		return strcmp(cat, "syscalls") && strcmp(cat, "raw_syscalls") && strcmp(ev, "..") &&
		       strcmp(ev, ".");
	}
	return false;
}

/* The host has the path @s names (host mode): it exists there. */
static int host_has(struct files *f, const struct served_path *s)
{
	char p[PATH_MAX * 2];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", f->root, s->rest);
	return stat(p, &st) ? -errno : 0;
}

/* The entries of the tracefs directory @rest we serve (subdirectories
 * only: emul-tracefs-dir.c): in host mode those the host has. */
static void dir_names(struct files *f, const char *rest, struct emul_names *l)
{
	char p[PATH_MAX * 2];
	struct dirent *d;
	DIR *dir;

	if (!rest[0]) {
		emul_names_add(l, "events");
	} else if (!strcmp(rest, "/events")) {
		for (int i = 0; i < 2; i++) {
			const char *cat = i ? "syscalls" : "raw_syscalls";

			snprintf(p, sizeof(p), "%s/events/%s", f->root, cat);
			if (!f->host || !access(p, F_OK))
				emul_names_add(l, cat);
		}
	} else if (!strcmp(rest, "/events/raw_syscalls") && !f->host) {
		emul_names_add(l, "sys_enter");
		emul_names_add(l, "sys_exit");
	} else if (!strcmp(rest, "/events/syscalls") && !f->host) {
		for (size_t i = 0; i < NR_SYSCALLS; i++) {
			snprintf(p, sizeof(p), "sys_enter_%s", syscalls[i].name);
			emul_names_add(l, p);
			snprintf(p, sizeof(p), "sys_exit_%s", syscalls[i].name);
			emul_names_add(l, p);
		}
	} else if (!strncmp(rest, "/events/", 8) && !strchr(rest + 8, '/')) {
		/* host mode: the host's events that we serve */
		snprintf(p, sizeof(p), "%s%s", f->root, rest);
		dir = opendir(p);
		if (!dir)
			l->err = -errno;
		while (dir && (d = readdir(dir)))
			if (d->d_name[0] != '.' && builtin_id(rest + 8, d->d_name))
				emul_names_add(l, d->d_name);
		if (dir)
			closedir(dir);
	} /* an event's directory: its files are served by path only */
}

/* A tracefs directory we serve, opened: a directory of the session with
 * its entries (emul-tracefs-dir.c), so that getdents64 lists them. */
static long open_dir(struct bpftime_emul *e, struct bpftime_caller *c, const char *p,
		     const struct served_path *s, int flags)
{
	struct emul_names l = {0};
	struct files *f = files_of(e);
	long ret;
	int fd;

	if (!f)
		return -ENOMEM;
	if (f->host && (ret = host_has(f, s)))
		return ret;
	dir_names(f, s->rest, &l);
	fd = emul_tracefs_dir_open(e->session_dir, s->rest, &l, flags);
	emul_names_free(&l);
	return hand_over(e, c, fd, flags, p, " (directory)");
}

long bpftime_emul__openat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			  uint64_t upath, int flags, unsigned int mode)
{
	struct served_path s;
	char p[PATH_MAX], cat[32], ev[80];
	long ret = BPFTIME_EMUL_CONTINUE;

	(void)dirfd; /* an absolute path ignores it, as path lookup does */
	(void)mode;
	if (!read_path(c, upath, p, sizeof(p)))
		return BPFTIME_EMUL_CONTINUE;
	pthread_mutex_lock(&e->lock);
	if (classify(p, &s) == SERVED_FILE) {
		ret = open_file(e, c, p, &s, flags);
	} else if (s.kind == SERVED_DIR && !s.uprobe) {
		ret = open_dir(e, c, p, &s, flags);
	} else if (kernel_event_id(p, cat, ev)) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "tracepoint %s:%s is not available in user space (only syscalls:* and "
			 "raw_syscalls:* are): -ENOENT",
			 cat, ev);
		ret = -ENOENT;
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

long bpftime_emul__faccessat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			     uint64_t upath, int mode, int flags)
{
	struct served_path s;
	struct files *f;
	char p[PATH_MAX];
	long ret = 0;

	(void)dirfd;
	/* do_faccessat(): bad mode or flags are the kernel's to refuse */
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW)))
		return BPFTIME_EMUL_CONTINUE;
	if (!read_path(c, upath, p, sizeof(p)))
		return BPFTIME_EMUL_CONTINUE;
	pthread_mutex_lock(&e->lock);
	f = files_of(e);
	if (!f || classify(p, &s) == NOT_OURS)
		ret = BPFTIME_EMUL_CONTINUE;
	else if (f->host && !s.uprobe && !(s.file && !strcmp(s.file, "trace_pipe")))
		ret = host_has(f, &s); /* trace_pipe is ours whatever the host has */
	/* read-only files and directories; a file cannot be executed */
	if (!ret && ((mode & W_OK) || (s.kind == SERVED_FILE && (mode & X_OK))))
		ret = -EACCES;
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* ---- stat (newfstatat, stat, lstat, statx) ---- */

/* FNV-1a of @p: a stable inode number for a made-up path. */
static uint64_t path_ino(const char *p)
{
	uint64_t h = 14695981039346656037ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h ? h : 1;
}

/* What stat(2) of @p, served as @s, says: the host's when it is there
 * (host mode, or the sysfs PMU files), else made up as tracefs shows
 * directories and files (no size), readable by all as ours are. */
static int served_stat(struct bpftime_emul *e, const char *p, const struct served_path *s,
		       struct stat *st)
{
	struct files *f = files_of(e);
	char hp[PATH_MAX * 2];

	if (!f)
		return -ENOMEM;
	if (s->uprobe && !stat(p, st))
		return 0;
	if (!s->uprobe && f->host) {
		snprintf(hp, sizeof(hp), "%s%s", f->root, s->rest);
		return stat(hp, st) ? -errno : 0;
	}
	/* the session directory's device and times: ours */
	if (stat(e->session_dir, st))
		memset(st, 0, sizeof(*st));
	st->st_ino = path_ino(p);
	st->st_mode = s->kind == SERVED_DIR ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = s->kind == SERVED_DIR ? 2 : 1;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_rdev = 0;
	st->st_size = 0;
	st->st_blksize = 4096;
	st->st_blocks = 0;
	return 0;
}

/* stat of the caller's @upath: 0 with *@st, -errno, or CONTINUE for paths
 * that are not ours. No symlinks here: AT_SYMLINK_NOFOLLOW changes nothing. */
static long path_stat(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t upath,
		      struct stat *st)
{
	struct served_path s;
	char p[PATH_MAX];
	long ret = BPFTIME_EMUL_CONTINUE;

	/* an empty path (AT_EMPTY_PATH: fstat) is not normalized: the kernel's */
	if (!read_path(c, upath, p, sizeof(p)))
		return BPFTIME_EMUL_CONTINUE;
	pthread_mutex_lock(&e->lock);
	if (classify(p, &s) != NOT_OURS)
		ret = served_stat(e, p, &s, st);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

long bpftime_emul__newfstatat(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			      uint64_t upath, uint64_t ustat, int flags)
{
	struct stat st;
	long ret;

	(void)dirfd; /* an absolute path ignores it */
	/* vfs_fstatat(): other flags are -EINVAL, the kernel's to say */
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH))
		return BPFTIME_EMUL_CONTINUE;
	ret = path_stat(e, c, upath, &st);
	/* x86-64's struct stat is the kernel's */
	if (!ret && c->ops->write(c->ctx, ustat, &st, sizeof(st)))
		ret = -EFAULT;
	return ret;
}

static struct statx_timestamp stx_time(struct timespec ts)
{
	return (struct statx_timestamp){.tv_sec = ts.tv_sec, .tv_nsec = (uint32_t)ts.tv_nsec};
}

long bpftime_emul__statx(struct bpftime_emul *e, struct bpftime_caller *c, int dirfd,
			 uint64_t upath, int flags, unsigned int mask, uint64_t ustatx)
{
	struct statx sx;
	struct stat st;
	long ret;

	(void)dirfd;
	/* do_statx(): bad flags, both sync types or reserved mask bits are
	 * -EINVAL, the kernel's to say */
	if ((flags &
	     ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) ||
	    (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (mask & STATX__RESERVED))
		return BPFTIME_EMUL_CONTINUE;
	ret = path_stat(e, c, upath, &st);
	if (ret)
		return ret;
	/* the basic fields, whatever @mask asks (the kernel may return more) */
	memset(&sx, 0, sizeof(sx));
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = (uint32_t)st.st_blksize;
	sx.stx_nlink = (uint32_t)st.st_nlink;
	sx.stx_uid = st.st_uid;
	sx.stx_gid = st.st_gid;
	sx.stx_mode = (uint16_t)st.st_mode;
	sx.stx_ino = st.st_ino;
	sx.stx_size = (uint64_t)st.st_size;
	sx.stx_blocks = (uint64_t)st.st_blocks;
	sx.stx_atime = stx_time(st.st_atim);
	sx.stx_mtime = stx_time(st.st_mtim);
	sx.stx_ctime = stx_time(st.st_ctim);
	sx.stx_rdev_major = major(st.st_rdev);
	sx.stx_rdev_minor = minor(st.st_rdev);
	sx.stx_dev_major = major(st.st_dev);
	sx.stx_dev_minor = minor(st.st_dev);
	if (c->ops->write(c->ctx, ustatx, &sx, sizeof(sx)))
		return -EFAULT;
	return 0;
}

/* ---- tracepoint ids (emul-perf.c) ---- */

static int add_host_tp(struct files *f, uint64_t id, const char *cat, const char *ev)
{
	struct host_tp *n = realloc(f->tps, (f->nr_tps + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->tps = n;
	n[f->nr_tps].id = id;
	/* names longer than the fields are not tracepoints we serve */
	snprintf(n[f->nr_tps].category, sizeof(n->category), "%.*s", (int)sizeof(n->category) - 1,
		 cat);
	snprintf(n[f->nr_tps].event, sizeof(n->event), "%.*s", (int)sizeof(n->event) - 1, ev);
	f->nr_tps++;
	return 0;
}

/* The host's ids of the events we serve, read once. */
static void scan_host(struct bpftime_emul *e, struct files *f, const char *cat)
{
	char p[PATH_MAX * 2];
	struct dirent *d;
	DIR *dir;

	snprintf(p, sizeof(p), "%s/events/%s", f->root, cat);
	dir = opendir(p);
	while (dir && (d = readdir(dir))) {
		unsigned long long id;
		FILE *fp;
		int ok;

		if (d->d_name[0] == '.' || !builtin_id(cat, d->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/events/%s/%s/id", f->root, cat, d->d_name);
		fp = fopen(p, "re");
		ok = fp && fscanf(fp, "%llu", &id) == 1;
		if (fp)
			fclose(fp);
		if (ok && add_host_tp(f, id, cat, d->d_name))
			break;
	}
	if (dir)
		closedir(dir);
	else
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "cannot read %s: %s", p, strerror(errno));
}

static int builtin_by_id(struct files *f, uint64_t id, const char **cat, const char **ev)
{
	uint64_t i;

	if (id < TP_ID_BASE || id >= TP_ID_BASE + 2 + 2 * NR_SYSCALLS)
		return -ENOENT;
	i = id - TP_ID_BASE;
	*cat = i < 2 ? "raw_syscalls" : "syscalls";
	if (i < 2)
		snprintf(f->name, sizeof(f->name), "%s", i ? "sys_enter" : "sys_exit");
	else
		snprintf(f->name, sizeof(f->name), "sys_%s_%s", (i & 1) ? "enter" : "exit",
			 syscalls[(i - 2) / 2].name);
	*ev = f->name;
	return 0;
}

int emul_tp_by_id(struct bpftime_emul *e, uint64_t id, const char **category, const char **event)
{
	struct files *f = files_of(e);

	if (!f)
		return -ENOMEM;
	if (!f->host)
		return builtin_by_id(f, id, category, event);
	if (!f->scanned) {
		f->scanned = true;
		scan_host(e, f, "raw_syscalls");
		scan_host(e, f, "syscalls");
	}
	for (uint32_t i = 0; i < f->nr_tps; i++)
		if (f->tps[i].id == id) {
			*category = f->tps[i].category;
			*event = f->tps[i].event;
			return 0;
		}
	return -ENOENT;
}
