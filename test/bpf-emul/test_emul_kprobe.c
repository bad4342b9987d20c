// SPDX-License-Identifier: MIT
/*
 * The kprobe PMU (emul-files.c, emul-perf.c, emul-link.c, emul-catalog.c):
 * kprobes on a syscall's x86-64 wrapper (__x64_sys_<name>, offset 0) are
 * served, for the agent to run at the syscall; everything else a kprobe
 * names fails with -ENOENT and one warning, as every kprobe did before
 * the PMU was served (a PMU type we did not know: -ENOENT, one line).
 * Names are read as perf_kprobe_init() reads them: strndup_user(name,
 * KSYM_NAME_LEN), -EFAULT, -E2BIG for a name that does not fit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <cmocka.h>
#include <bpftime/catalog.h>
#include "emul-pf-test.h"

#define KPROBE_DIR "/sys/bus/event_source/devices/kprobe"
#define NR_OPENAT  257

static int setup(void **state)
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

static long open_kprobe(struct emul_test *t, uint64_t func, uint64_t off, bool ret, int pid,
			int cpu)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)emul_kprobe_pmu_type(t->e);
	a.config = ret ? 1 : 0; /* format/retprobe: config:0 */
	a.config1 = func;
	a.config2 = off;
	return pf_open_event(t, &a, pid, cpu, PERF_FLAG_FD_CLOEXEC);
}

static long read_file(struct emul_test *t, const char *path, char *buf, size_t size)
{
	long fd = bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(path),
				       O_RDONLY | O_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read((int)fd, buf, size - 1);
	close((int)fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* What libbpf reads first (determine_kprobe_perf_type(),
 * determine_kprobe_retprobe_bit()): a type of its own, not the uprobe's. */
static void test_pmu_files(void **state)
{
	struct emul_test *t = *state;
	char buf[64], want[16];

	assert_true(emul_kprobe_pmu_type(t->e) > 0);
	assert_int_not_equal(emul_kprobe_pmu_type(t->e), emul_uprobe_pmu_type(t->e));
	assert_true(read_file(t, KPROBE_DIR "/type", buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "%d\n", emul_kprobe_pmu_type(t->e));
	assert_string_equal(buf, want);
	assert_true(read_file(t, KPROBE_DIR "/format/retprobe", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "config:0\n");
	assert_int_equal(bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD,
						 ptr_to_u64(KPROBE_DIR "/type"), R_OK, 0),
			 0);
	/* the legacy interface: empty (built-in tracefs), read-only */
	assert_int_equal(read_file(t, "/sys/kernel/tracing/kprobe_events", buf, sizeof(buf)), 0);
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
					      ptr_to_u64("/sys/kernel/debug/tracing/kprobe_events"),
					      O_WRONLY | O_APPEND, 0),
			 -EACCES);
	/* other files there stay the kernel's */
	assert_int_equal(bpftime_emul__openat(t->e, &t->caller, AT_FDCWD,
					      ptr_to_u64(KPROBE_DIR "/format/other"), O_RDONLY, 0),
			 BPFTIME_EMUL_CONTINUE);
}

static void test_syscall_wrapper(void **state)
{
	struct emul_test *t = *state;
	char name[] = "__x64_sys_openat"; /* read from the caller's memory */
	struct emul_obj *o;
	long fd;

	fd = open_kprobe(t, ptr_to_u64(name), 0, false, -1, 0);
	assert_true(fd >= 0);
	o = pf_obj(t, (int)fd);
	assert_int_equal(o->perf.kind, EMUL_PERF_KPROBE);
	assert_string_equal(o->perf.path, "__x64_sys_openat");
	assert_int_equal(o->perf.syscall_nr, NR_OPENAT);
	assert_false(o->perf.retprobe);
	close((int)fd);
	/* the retprobe bit; and libbpf's FEAT_SYSCALL_WRAPPER probe: a
	 * kprobe on __x64_sys_bpf for this process, any CPU */
	fd = open_kprobe(t, ptr_to_u64("__x64_sys_bpf"), 0, true, getpid(), -1);
	assert_true(fd >= 0);
	o = pf_obj(t, (int)fd);
	assert_true(o->perf.retprobe);
	assert_int_equal(o->perf.syscall_nr, 321);
	assert_int_equal(o->perf.pid, getpid());
	close((int)fd);
}

/* Run @fn with our stderr (the emulator's log) in @buf. */
static long with_log(struct emul_test *t, long (*fn)(struct emul_test *), char *buf, size_t size)
{
	char path[200];
	int saved = dup(2), fd;
	long ret;
	ssize_t n;

	snprintf(path, sizeof(path), "%s-log", t->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	ret = fn(t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return ret;
}

static long other_function(struct emul_test *t)
{
	return open_kprobe(t, ptr_to_u64("do_sys_openat2"), 0, false, -1, 0);
}

/* Lines of @s holding @what. */
static int count_lines(const char *s, const char *what)
{
	int n = 0;

	for (const char *l = s; *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		n += strstr(line, what) != NULL;
		l += len + (end != NULL);
	}
	return n;
}

static void test_refused(void **state)
{
	struct emul_test *t = *state, loud;
	static char longname[600];
	char log[4096];

	/* not a syscall's wrapper, an unknown syscall, a name without the
	 * prefix, an offset, a bare address: -ENOENT as before */
	assert_int_equal(other_function(t), -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64("__x64_sys_nosuchcall"), 0, false, -1, 0),
			 -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64("openat"), 0, false, -1, 0), -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64("__se_sys_openat"), 0, false, -1, 0), -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64("__x64_sys_openat"), 4, false, -1, 0), -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64("__x64_sys_openat"), 0, true, 999999, -1),
			 -ESRCH);
	assert_int_equal(open_kprobe(t, 0, 0xffffffff81000000ull, false, -1, 0), -ENOENT);
	assert_int_equal(open_kprobe(t, ptr_to_u64(""), 0, false, -1, 0), -ENOENT);
	/* strndup_user(): -EFAULT; too long is -EINVAL, which
	 * perf_kprobe_init() turns into -E2BIG */
	assert_int_equal(open_kprobe(t, emul_test_bad_ptr(), 0, false, -1, 0), -EFAULT);
	memset(longname, 'a', sizeof(longname) - 1);
	assert_int_equal(open_kprobe(t, ptr_to_u64(longname), 0, false, -1, 0), -E2BIG);

	/* one line saying why (a session that logs everything) */
	setenv("BPFTIME_TEST_VERBOSE", "1", 1);
	pf_setup(&loud, "");
	unsetenv("BPFTIME_TEST_VERBOSE");
	assert_int_equal(with_log(&loud, other_function, log, sizeof(log)), -ENOENT);
	assert_int_equal(count_lines(log, "do_sys_openat2"), 1);
	assert_int_equal(count_lines(log, "warning"), count_lines(log, "do_sys_openat2"));
	assert_non_null(strstr(log, "kprobe do_sys_openat2+0x0): only the entry of a syscall's "
				    "wrapper (__x64_sys_<name>)"));
	assert_non_null(strstr(log, "-ENOENT"));
	pf_teardown(&loud);
}

static long ioc(struct emul_test *t, long fd, unsigned long req, uint64_t arg)
{
	return bpftime_emul__ioctl(t->e, &t->caller, (int)fd, req, arg);
}

static long link_create(struct emul_test *t, long prog, long target)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)target;
	a.link_create.attach_type = BPF_PERF_EVENT;
	a.link_create.perf_event.bpf_cookie = 77;
	return emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a));
}

/* perf_event_set_bpf_prog(): a kprobe takes KPROBE programs only. */
static void test_prog_types(void **state)
{
	struct emul_test *t = *state;
	int kp = pf_prog_load(t, BPF_PROG_TYPE_KPROBE);
	int tp = pf_prog_load(t, BPF_PROG_TYPE_TRACEPOINT);
	int pe = pf_prog_load(t, BPF_PROG_TYPE_PERF_EVENT);
	long ev, ev2, link;

	assert_true(kp >= 0 && tp >= 0 && pe >= 0);
	ev = open_kprobe(t, ptr_to_u64("__x64_sys_openat"), 0, false, -1, 0);
	assert_true(ev >= 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)tp), -EINVAL);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)pe), -EINVAL);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), -EEXIST);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_ENABLE, 0), 0);
	ev2 = open_kprobe(t, ptr_to_u64("__x64_sys_close"), 0, true, -1, 0);
	assert_true(ev2 >= 0);
	assert_int_equal(link_create(t, tp, ev2), -EINVAL);
	link = link_create(t, kp, ev2);
	assert_true(link >= 0);
	close((int)link);
	close((int)ev2);
	close((int)ev);
	close(kp);
	close(tp);
	close(pe);
}

/* The attachment agents read: the syscall, entry or return. */
static void test_catalog(void **state)
{
	struct emul_test *t = *state;
	struct bpftime_catalog_view v;
	struct bpftime_catalog_attach a;
	int kp = pf_prog_load(t, BPF_PROG_TYPE_KPROBE);
	uint32_t ids[2];
	bool seen[2] = {false, false};
	char path[200];
	long ev[2];

	assert_true(kp >= 0);
	ev[0] = open_kprobe(t, ptr_to_u64("__x64_sys_openat"), 0, false, -1, 0);
	ev[1] = open_kprobe(t, ptr_to_u64("__x64_sys_read"), 0, true, -1, 0);
	for (int i = 0; i < 2; i++) {
		assert_true(ev[i] >= 0);
		ids[i] = pf_obj(t, (int)ev[i])->id;
		assert_int_equal(ioc(t, ev[i], PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), 0);
	}
	snprintf(path, sizeof(path), "%s/%s", t->dir, BPFTIME_CATALOG_FILE);
	assert_int_equal(bpftime_catalog__map(&v, path), 0);
	for (uint32_t i = 0;; i++) {
		int r = bpftime_catalog__attach_at(&v, i, &a);

		if (r == -ENOENT)
			break;
		if (r != 1)
			continue;
		if (a.id == ids[0]) {
			seen[0] = true;
			assert_int_equal(a.kind, BPFTIME_CATALOG_KPROBE_SYSCALL);
			assert_int_equal(a.syscall_nr, NR_OPENAT);
			assert_string_equal(a.tp_name, "__x64_sys_openat");
		} else if (a.id == ids[1]) {
			seen[1] = true;
			assert_int_equal(a.kind, BPFTIME_CATALOG_KRETPROBE_SYSCALL);
			assert_int_equal(a.syscall_nr, 0);
		}
	}
	assert_true(seen[0] && seen[1]);
	bpftime_catalog__unmap(&v);
	close((int)ev[0]);
	close((int)ev[1]);
	close(kp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pmu_files), cmocka_unit_test(test_syscall_wrapper),
	    cmocka_unit_test(test_refused),   cmocka_unit_test(test_prog_types),
	    cmocka_unit_test(test_catalog),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
