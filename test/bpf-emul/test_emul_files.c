// SPDX-License-Identifier: MIT
/*
 * The sysfs and tracefs files tools read (emul-files.c): contents, ids
 * consistent between available_events, id files and
 * perf_event_open(TRACEPOINT), the built-in format files against the
 * host's 6.18 ones when its tracefs is readable, the directories and
 * stat of what we serve, and what is not ours.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "emul-pf-test.h"

#define DBG "/sys/kernel/debug/tracing"
#define TFS "/sys/kernel/tracing"

static int setup_builtin(void **state)
{
	static struct emul_test t;

	pf_setup(&t, "");
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	pf_teardown(*state);
	return 0;
}

/* open() through the emulator and read the whole file into @buf. */
static long read_file(struct emul_test *t, const char *path, char *buf, size_t size)
{
	long fd = bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(path),
				       O_RDONLY | O_CLOEXEC, 0);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	assert_true(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
	while (got < size - 1 && (n = read((int)fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	/* read-only for the caller */
	assert_int_equal(write((int)fd, "x", 1), -1);
	close((int)fd);
	return (long)got;
}

static void test_uprobe_pmu_files(void **state)
{
	struct emul_test *t = *state;
	char buf[64], want[16];

	assert_true(read_file(t, "/sys/bus/event_source/devices/uprobe/type", buf, sizeof(buf)) >
		    0);
	snprintf(want, sizeof(want), "%d\n", emul_uprobe_pmu_type(t->e));
	assert_string_equal(buf, want);
	assert_true(read_file(t, "/sys/bus/event_source/devices/uprobe/format/retprobe", buf,
			      sizeof(buf)) > 0);
	assert_string_equal(buf, "config:0\n");
}

/* The id of @cat/@ev read through the files of @root. */
static long event_id(struct emul_test *t, const char *root, const char *cat, const char *ev)
{
	char path[1024], buf[32];
	long n;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", root, cat, ev);
	n = read_file(t, path, buf, sizeof(buf));
	return n < 0 ? n : strtol(buf, NULL, 10);
}

static void test_ids_consistent(void **state)
{
	struct emul_test *t = *state;
	static char events[1 << 16];
	const char *cat, *ev;
	struct perf_event_attr a;
	long id, fd;

	assert_true(read_file(t, DBG "/available_events", events, sizeof(events)) > 0);
	assert_non_null(strstr(events, "\nsyscalls:sys_enter_openat\n"));
	assert_non_null(strstr(events, "raw_syscalls:sys_enter\n"));
	id = event_id(t, DBG, "syscalls", "sys_enter_openat");
	assert_true(id > 0 && id < 65536); /* common_type is a u16 */
	assert_int_equal(event_id(t, TFS, "syscalls", "sys_enter_openat"), id);
	/* the kernel's order: sys_exit_X registered just before sys_enter_X */
	assert_int_equal(event_id(t, DBG, "syscalls", "sys_exit_openat"), id - 1);
	assert_int_equal(emul_tp_by_id(t->e, (uint64_t)id, &cat, &ev), 0);
	assert_string_equal(cat, "syscalls");
	assert_string_equal(ev, "sys_enter_openat");
	/* every event listed has an id that perf_event_open accepts */
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)event_id(t, DBG, "raw_syscalls", "sys_exit");
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pf_obj(t, (int)fd)->perf.kind, EMUL_PERF_TRACEPOINT);
	assert_int_equal(pf_obj(t, (int)fd)->perf.tp_id, a.config);
	close((int)fd);
	/* perf_trace_init(): an id no event has */
	a.config = 3;
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -EINVAL);
}

static void test_format_layout(void **state)
{
	struct emul_test *t = *state;
	char buf[4096], want[64];
	long id = event_id(t, TFS, "syscalls", "sys_enter_openat");

	assert_true(read_file(t, TFS "/events/syscalls/sys_enter_openat/format", buf, sizeof(buf)) >
		    0);
	snprintf(want, sizeof(want), "name: sys_enter_openat\nID: %ld\nformat:\n", id);
	assert_memory_equal(buf, want, strlen(want));
	assert_non_null(strstr(buf, "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"));
	assert_non_null(
	    strstr(buf, "\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n"));
	assert_non_null(strstr(buf, "\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n"));
	assert_non_null(strstr(buf, "print fmt: \"dfd: 0x%08lx, filename: 0x%08lx, flags: "
				    "0x%08lx, mode: 0x%08lx\", ((unsigned long)(REC->dfd)), "));
	assert_true(read_file(t, TFS "/events/raw_syscalls/sys_enter/format", buf, sizeof(buf)) >
		    0);
	assert_non_null(
	    strstr(buf, "\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n"));
	assert_true(read_file(t, DBG "/events/syscalls/sys_exit_getpid/format", buf, sizeof(buf)) >
		    0);
	assert_non_null(strstr(buf, "\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\n"
				    "print fmt: \"0x%lx\", REC->ret\n"));
}

/* Compare our format file of @ev with the host's (after the ID line). */
static int compare_format(struct emul_test *t, const char *ev)
{
	static char ours[8192], host[8192];
	char path[1024];
	FILE *f;
	size_t n;
	char *a, *b;

	snprintf(path, sizeof(path), TFS "/events/syscalls/%s/format", ev);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(host, 1, sizeof(host) - 1, f);
	host[n] = '\0';
	fclose(f);
	assert_true(read_file(t, path, ours, sizeof(ours)) > 0);
	a = strstr(ours, "\nformat:");
	b = strstr(host, "\nformat:");
	assert_non_null(a);
	assert_non_null(b);
	if (strcmp(a, b))
		fail_msg("%s differs:\n%s\n---\n%s", ev, a, b);
	return 1;
}

/* Every built-in format file equals the host's 6.18 one but for its ID. */
static void test_builtin_matches_host(void **state)
{
	struct emul_test *t = *state;
	DIR *d = opendir(TFS "/events/syscalls");
	struct dirent *de;
	int checked = 0;

	if (!d)
		skip(); /* the host's tracefs is not mounted or not readable */
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "sys_", 4))
			checked += compare_format(t, de->d_name);
	closedir(d);
	print_message("%d format files compared with the host's\n", checked);
	if (!checked)
		skip();
}

/* With the host's tracefs readable, its contents are served: ids match. */
static void test_host_copy(void **state)
{
	struct emul_test t;
	char buf[64];
	FILE *f = fopen(TFS "/events/syscalls/sys_enter_openat/id", "re");
	size_t n;

	(void)state;
	if (!f)
		skip();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	pf_setup(&t, TFS);
	assert_int_equal(event_id(&t, DBG, "syscalls", "sys_enter_openat"), strtol(buf, NULL, 10));
	pf_teardown(&t);
}

static void test_access(void **state)
{
	struct emul_test *t = *state;
	static const char *const ok[] = {
	    DBG,
	    TFS "/",
	    DBG "/events/syscalls",
	    DBG "//events/syscalls/sys_enter_openat/",
	    DBG "/events/syscalls/sys_enter_openat/format",
	    "/sys/bus/event_source/devices/uprobe/format",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(
		    bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(ok[i]), F_OK, 0),
		    0);
	assert_int_equal(
	    bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD,
				    ptr_to_u64(DBG "/events/syscalls/sys_enter_openat/id"), R_OK,
				    AT_EACCESS),
	    0);
	assert_int_equal(bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD,
						 ptr_to_u64(DBG "/available_events"), W_OK, 0),
			 -EACCES);
	/* statsnoop's probe of an event the kernel does not have */
	assert_int_equal(bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD,
						 ptr_to_u64(DBG "/events/syscalls/statfs/format"),
						 F_OK, 0),
			 BPFTIME_EMUL_CONTINUE);
}

static void test_not_ours(void **state)
{
	struct emul_test *t = *state;
	static const char *const paths[] = {
	    "/etc/passwd",
	    "events/syscalls/sys_enter_openat/id",
	    DBG "/events/syscalls/sys_enter_nosuchcall/id",
	    DBG "/events/sched/sched_switch/format",
	    DBG "/events/syscalls/../syscalls/sys_enter_openat/id",
	    DBG "/events/syscalls/sys_enter_openat/enable",
	    DBG "/trace",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
						      ptr_to_u64(paths[i]), O_RDONLY, 0),
				 BPFTIME_EMUL_CONTINUE);
	/* an unreadable path: the kernel's -EFAULT */
	assert_int_equal(
	    bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, emul_test_bad_ptr(), O_RDONLY, 0),
	    BPFTIME_EMUL_CONTINUE);
	/* a kernel tracepoint's id: not available in user space, said so */
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
					      ptr_to_u64(DBG "/events/sched/sched_switch/id"),
					      O_RDONLY, 0),
			 -ENOENT);
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
					      ptr_to_u64("/sys/kernel/tracing/events/signal/"
							 "signal_generate/id"),
					      O_RDONLY, 0),
			 -ENOENT);
	/* sysfs directories are opened by the kernel (readable by all) */
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
					      ptr_to_u64("/sys/bus/event_source/devices/uprobe"),
					      O_RDONLY | O_DIRECTORY, 0),
			 BPFTIME_EMUL_CONTINUE);
}

static long stat_path(struct emul_test *t, const char *path, struct stat *st, int flags)
{
	return bpftime_emul__newfstatat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(path),
					ptr_to_u64(st), flags);
}

/* The entries of the directory @path opened through the emulator with
 * @flags, "\n"-joined and sorted into @buf; their number, or -errno. */
static long list_dir(struct emul_test *t, const char *path, int flags, char *buf, size_t size)
{
	long fd = bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(path), flags, 0);
	struct dirent **names;
	char proc[64];
	int n;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%ld", fd);
	n = scandir(proc, &names, NULL, alphasort);
	close((int)fd);
	assert_true(n >= 0);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			snprintf(buf + strlen(buf), size - strlen(buf), "%s\n", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return n - 2;
}

/* bpftrace's tracepoint wildcards glob events/CAT: the directories list
 * the events served (every one that available_events names). */
static void test_dirs(void **state)
{
	struct emul_test *t = *state;
	static char events[1 << 16], buf[1 << 16];
	long n, want = 0;

	assert_int_equal(list_dir(t, DBG, O_RDONLY | O_DIRECTORY, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "events\n");
	assert_int_equal(list_dir(t, TFS "/events/", O_RDONLY, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "raw_syscalls\nsyscalls\n");
	assert_int_equal(
	    list_dir(t, DBG "/events/raw_syscalls", O_RDONLY | O_NONBLOCK, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "sys_enter\nsys_exit\n");
	assert_true(read_file(t, DBG "/available_events", events, sizeof(events)) > 0);
	for (char *l = events; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		want += !strncmp(l, "syscalls:", 9);
	n = list_dir(t, DBG "/events/syscalls", O_RDONLY | O_DIRECTORY | O_CLOEXEC, buf,
		     sizeof(buf));
	assert_int_equal(n, want);
	assert_non_null(strstr(buf, "\nsys_enter_sync_file_range\n"));
	assert_non_null(strstr(buf, "\nsys_exit_openat\n"));
	/* an event's directory: its files are served by path, not listed */
	assert_int_equal(
	    list_dir(t, DBG "/events/syscalls/sys_enter_openat", O_RDONLY, buf, sizeof(buf)), 0);
	/* open(2) of a directory: writing is -EISDIR, creating one -EINVAL */
	assert_int_equal(
	    bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(DBG "/events"), O_RDWR, 0),
	    -EISDIR);
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(DBG "/events"),
					      O_CREAT | O_DIRECTORY, 0),
			 -EINVAL);
}

/* Copying the host's tracefs: its events that we serve, each one there. */
static void test_host_dirs(void **state)
{
	static char buf[1 << 16];
	struct emul_test t;
	struct stat st;
	long n;

	(void)state;
	if (access(TFS "/events/syscalls", R_OK))
		skip();
	pf_setup(&t, TFS);
	n = list_dir(&t, DBG "/events/syscalls", O_RDONLY | O_DIRECTORY, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\nsys_enter_sync_file_range\n"));
	for (char *l = buf, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		char path[512];

		*nl = '\0';
		snprintf(path, sizeof(path), TFS "/events/syscalls/%.200s", l);
		assert_int_equal(stat(path, &st), 0);
		/* its stat is the host's */
		assert_int_equal(stat_path(&t, path, &st, 0), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	pf_teardown(&t);
}

/* The directories are the session's and go with it. */
static void test_dirs_removed(void **state)
{
	struct emul_test t;
	char buf[64], path[256];
	struct stat st;

	(void)state;
	pf_setup(&t, "");
	assert_int_equal(list_dir(&t, TFS "/events", O_RDONLY, buf, sizeof(buf)), 2);
	snprintf(path, sizeof(path), "%s/tracefs/events/syscalls", t.dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/tracefs", t.dir);
	pf_teardown(&t); /* emul_files_free, then bpftime_emul__free */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* glob(3) lstats what it matched: every path we serve has a stat. */
static void test_stat(void **state)
{
	struct emul_test *t = *state;
	struct statx sx;
	struct stat st;

	assert_int_equal(
	    stat_path(t, DBG "/events/syscalls/sys_enter_sync_file_range/format", &st, 0x100), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(st.st_size, 0); /* tracefs shows no size */
	assert_int_equal(stat_path(t, TFS "/events/syscalls/", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat_path(t, DBG, &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* not ours: the kernel's */
	assert_int_equal(stat_path(t, DBG "/events/syscalls/sys_enter_nosuchcall", &st, 0),
			 BPFTIME_EMUL_CONTINUE);
	assert_int_equal(stat_path(t, "/etc/passwd", &st, 0), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(stat_path(t, "", &st, AT_EMPTY_PATH), BPFTIME_EMUL_CONTINUE);
	/* vfs_fstatat()'s -EINVAL for unknown flags: the kernel's too */
	assert_int_equal(stat_path(t, DBG, &st, 0x40000000), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(bpftime_emul__newfstatat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(DBG),
						  emul_test_bad_ptr(), 0),
			 -EFAULT);
	memset(&sx, 0, sizeof(sx));
	assert_int_equal(bpftime_emul__statx(t->e, &t->caller, AT_FDCWD,
					     ptr_to_u64(DBG "/events/raw_syscalls/sys_enter"),
					     AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
					     ptr_to_u64(&sx)),
			 0);
	assert_true(S_ISDIR(sx.stx_mode));
	assert_int_equal(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	assert_int_equal(bpftime_emul__statx(t->e, &t->caller, AT_FDCWD, ptr_to_u64(DBG),
					     AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
					     STATX_BASIC_STATS, ptr_to_u64(&sx)),
			 BPFTIME_EMUL_CONTINUE);
}

static void test_open_errors(void **state)
{
	struct emul_test *t = *state;
	const char *p = DBG "/events/syscalls/sys_enter_openat/id";

	assert_int_equal(
	    bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(p), O_WRONLY, 0), -EACCES);
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(p), O_RDWR, 0),
			 -EACCES);
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(p),
					      O_RDONLY | O_DIRECTORY, 0),
			 -ENOTDIR);
	/* without O_CLOEXEC the caller's fd is inheritable */
	long fd = bpftime_emul__openat(t->e, &t->caller, 5, ptr_to_u64(p), O_RDONLY, 0);

	assert_true(fd >= 0);
	assert_false(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
	close((int)fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uprobe_pmu_files),
	    cmocka_unit_test(test_ids_consistent),
	    cmocka_unit_test(test_format_layout),
	    cmocka_unit_test(test_builtin_matches_host),
	    cmocka_unit_test(test_host_copy),
	    cmocka_unit_test(test_access),
	    cmocka_unit_test(test_not_ours),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_dirs),
	    cmocka_unit_test(test_host_dirs),
	    cmocka_unit_test(test_dirs_removed),
	    cmocka_unit_test(test_stat),
	};

	return cmocka_run_group_tests(tests, setup_builtin, teardown);
}
