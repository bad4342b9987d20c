// SPDX-License-Identifier: MIT
/*
 * The supervisor's pure parts, in-process: options, session names, exit
 * statuses, and the fake-root answers over a caller that is plain memory
 * (as bpf-emul's tests do), checked against what the kernel answers root.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include "sup-internal.h"

/* ---- a caller over our own memory: addresses are offsets into mem ---- */

struct mem_caller {
	uint8_t mem[256];
};

static int mem_read(void *ctx, void *dst, uint64_t addr, size_t len)
{
	struct mem_caller *m = ctx;

	/* addresses past the buffer fault, as unmapped memory */
	if (addr > sizeof(m->mem) || len > sizeof(m->mem) - addr)
		return -EFAULT;
	memcpy(dst, m->mem + addr, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t addr, const void *src, size_t len)
{
	struct mem_caller *m = ctx;

	if (addr > sizeof(m->mem) || len > sizeof(m->mem) - addr)
		return -EFAULT;
	memcpy(m->mem + addr, src, len);
	return 0;
}

static const struct bpftime_caller_ops mem_ops = {.read = mem_read, .write = mem_write};

#define BAD_ADDR 4096

static long fake4(struct mem_caller *m, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct sup_ctx ctx = {.fake_root = true, .cap_last = 40};
	/* the caller is this process: rlimits are set on it for real */
	struct bpftime_caller c = {
	    .ops = &mem_ops, .ctx = m, .pid = getpid(), .tid = getpid(), .uid = getuid()};
	uint64_t args[6] = {a0, a1, a2, a3};

	return sup_fakeroot(&ctx, &c, nr, args);
}

static long fake(struct mem_caller *m, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return fake4(m, nr, a0, a1, a2, 0);
}

/* ---- tests ---- */

static void test_opts_run(void **state)
{
	char *argv[] = {"run", "--session", "s1", "--fake-root", "--", "ls", "-l", NULL};
	char *plain[] = {"run", "ls", "--session", "x", NULL};
	char *bad[] = {"run", "--session", "../x", "--", "ls", NULL};
	char *none[] = {"run", "--fake-root", NULL};
	struct sup_opts o;

	assert_int_equal(sup_opts_parse(&o, 7, argv, true), 0);
	assert_string_equal(o.session, "s1");
	assert_true(o.fake_root);
	assert_string_equal(o.argv[0], "ls");
	assert_string_equal(o.argv[1], "-l");
	/* TOOL's own options are TOOL's */
	assert_int_equal(sup_opts_parse(&o, 4, plain, true), 0);
	assert_null(o.session);
	assert_string_equal(o.argv[1], "--session");
	assert_int_equal(sup_opts_parse(&o, 5, bad, true), -EINVAL);
	assert_int_equal(sup_opts_parse(&o, 2, none, true), -EINVAL);
}

static void test_opts_status(void **state)
{
	char *argv[] = {"status", "--clean", "--session-dir", "/tmp/x", NULL};
	char *extra[] = {"status", "foo", NULL};
	struct sup_opts o;

	assert_int_equal(sup_opts_parse(&o, 4, argv, false), 0);
	assert_true(o.clean);
	assert_string_equal(o.base_dir, "/tmp/x");
	assert_int_equal(sup_opts_parse(&o, 2, extra, false), -EINVAL);
}

static void test_log_levels(void **state)
{
	assert_int_equal(sup_log_parse_level("error"), SUP_LOG_ERROR);
	assert_int_equal(sup_log_parse_level("warn"), SUP_LOG_WARN);
	assert_int_equal(sup_log_parse_level("info"), SUP_LOG_INFO);
	assert_int_equal(sup_log_parse_level("debug"), SUP_LOG_DEBUG);
	assert_int_equal(sup_log_parse_level("loud"), -EINVAL);
}

static void test_session_names(void **state)
{
	char name[SUP_NAME_MAX + 1];

	assert_true(sup_name_valid("opensnoop-42"));
	assert_true(sup_name_valid("a.b_c"));
	assert_false(sup_name_valid(""));
	assert_false(sup_name_valid(".hidden"));
	assert_false(sup_name_valid("a/b"));
	assert_false(sup_name_valid(".."));
	assert_false(sup_name_valid("a b"));
	sup_name_generate("/usr/sbin/opensnoop", 42, name, sizeof(name));
	assert_string_equal(name, "opensnoop-42");
	sup_name_generate("./my tool", 7, name, sizeof(name));
	assert_string_equal(name, "my_tool-7");
	sup_name_generate(".x", 7, name, sizeof(name));
	assert_true(sup_name_valid(name));
	sup_name_generate("0123456789012345678901234567890123456789", 7, name, sizeof(name));
	assert_true(sup_name_valid(name));
}

static void test_session_paths(void **state)
{
	struct sup_session s;
	char long_base[200];

	assert_int_equal(sup_session_init(&s, "/dev/shm/bpftime-0", "t-1"), 0);
	assert_string_equal(s.dir, "/dev/shm/bpftime-0/t-1");
	assert_string_equal(s.sock, "/dev/shm/bpftime-0/t-1/control");
	assert_int_equal(s.lock_fd, -1);
	memset(long_base, 'a', sizeof(long_base) - 1);
	long_base[0] = '/';
	long_base[sizeof(long_base) - 1] = '\0';
	/* sun_path is 108 bytes */
	assert_int_equal(sup_session_init(&s, long_base, "t"), -ENAMETOOLONG);
	assert_int_equal(sup_session_init(&s, "/tmp", "../etc"), -EINVAL);
}

static void test_exit_status(void **state)
{
	assert_int_equal(sup_exit_status(3 << 8), 3);
	assert_int_equal(sup_exit_status(0), 0);
	assert_int_equal(sup_exit_status(SIGTERM), 143);
	assert_int_equal(sup_exit_status(SIGKILL), 137);
	assert_int_equal(sup_exit_status(SIGINT | 0x80), 130); /* core dumped */
}

static void test_trapped_syscalls(void **state)
{
	cleanup_free int *plain = sup_trapped_syscalls(false);
	cleanup_free int *root = sup_trapped_syscalls(true);
	bool has_bpf = false, has_geteuid = false;
	size_t n = 0;

	assert_non_null(plain);
	assert_non_null(root);
	for (n = 0; plain[n] >= 0; n++) {
		has_bpf |= plain[n] == SYS_bpf;
		has_geteuid |= plain[n] == SYS_geteuid;
	}
	assert_true(has_bpf);
	assert_false(has_geteuid);
	for (n = 0; root[n] >= 0; n++)
		has_geteuid |= root[n] == SYS_geteuid;
	assert_true(has_geteuid);
}

static void test_fake_ids(void **state)
{
	struct mem_caller m;
	uint32_t ids[3];

	memset(&m, 0xff, sizeof(m));
	assert_int_equal(fake(&m, SYS_getuid, 0, 0, 0), 0);
	assert_int_equal(fake(&m, SYS_geteuid, 0, 0, 0), 0);
	assert_int_equal(fake(&m, SYS_getgid, 0, 0, 0), 0);
	assert_int_equal(fake(&m, SYS_getegid, 0, 0, 0), 0);
	assert_int_equal(fake(&m, SYS_getresuid, 0, 4, 8), 0);
	memcpy(ids, m.mem, sizeof(ids));
	assert_int_equal(ids[0] | ids[1] | ids[2], 0);
	assert_int_equal(fake(&m, SYS_getresgid, 16, BAD_ADDR, 24), -EFAULT);
	assert_int_equal(fake(&m, SYS_bpf, 0, 0, 0), BPFTIME_EMUL_CONTINUE);
}

static void test_fake_capget(void **state)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	struct mem_caller m;

	memset(&m, 0, sizeof(m));
	memcpy(m.mem, &h, sizeof(h));
	assert_int_equal(fake(&m, SYS_capget, 0, 64, 0), 0);
	memcpy(d, m.mem + 64, sizeof(d));
	assert_int_equal(d[0].effective, 0xffffffffU);
	assert_int_equal(d[1].effective, 0x1ffU); /* caps 32..40 */
	assert_int_equal(d[0].permitted, 0xffffffffU);
	assert_int_equal(d[0].inheritable, 0);
	/* as the kernel's cap_validate_magic(): unknown version with NULL
	 * data is a probe answered with version 3 */
	h.version = 0x1234;
	memcpy(m.mem, &h, sizeof(h));
	assert_int_equal(fake(&m, SYS_capget, 0, 0, 0), 0);
	memcpy(&h, m.mem, sizeof(h));
	assert_int_equal(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = 0x1234;
	memcpy(m.mem, &h, sizeof(h));
	assert_int_equal(fake(&m, SYS_capget, 0, 64, 0), -EINVAL);
	/* another process: the kernel answers */
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 1;
	memcpy(m.mem, &h, sizeof(h));
	assert_int_equal(fake(&m, SYS_capget, 0, 64, 0), BPFTIME_EMUL_CONTINUE);
	h.pid = -1;
	memcpy(m.mem, &h, sizeof(h));
	assert_int_equal(fake(&m, SYS_capget, 0, 64, 0), -EINVAL);
	assert_int_equal(fake(&m, SYS_capget, BAD_ADDR, 64, 0), -EFAULT);
}

/* Root may raise RLIMIT_MEMLOCK: what the kernel refuses us is answered
 * as done, the old limits come back, other limits are the kernel's. */
static void test_fake_memlock(void **state)
{
	struct rlimit before, want = {RLIM_INFINITY, RLIM_INFINITY}, old;
	struct mem_caller m;

	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &before), 0);
	memset(&m, 0, sizeof(m));
	memcpy(m.mem + 128, &want, sizeof(want));
	assert_int_equal(fake4(&m, SYS_prlimit64, 0, RLIMIT_MEMLOCK, 128, 64), 0);
	memcpy(&old, m.mem + 64, sizeof(old));
	assert_true(old.rlim_cur == before.rlim_cur && old.rlim_max == before.rlim_max);
	assert_int_equal(fake(&m, SYS_setrlimit, RLIMIT_MEMLOCK, 128, 0), 0);
	/* cur above max: EINVAL, as the kernel says it to root too */
	want.rlim_cur = 2;
	want.rlim_max = 1;
	memcpy(m.mem + 128, &want, sizeof(want));
	assert_int_equal(fake(&m, SYS_setrlimit, RLIMIT_MEMLOCK, 128, 0), -EINVAL);
	assert_int_equal(fake4(&m, SYS_prlimit64, 0, RLIMIT_MEMLOCK, BAD_ADDR, 0), -EFAULT);
	assert_int_equal(fake4(&m, SYS_prlimit64, 0, RLIMIT_NOFILE, 128, 64),
			 BPFTIME_EMUL_CONTINUE);
	/* a read (new == NULL), and another process */
	assert_int_equal(fake4(&m, SYS_prlimit64, 0, RLIMIT_MEMLOCK, 0, 64), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(fake4(&m, SYS_prlimit64, 1, RLIMIT_MEMLOCK, 128, 64),
			 BPFTIME_EMUL_CONTINUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opts_run),         cmocka_unit_test(test_opts_status),
	    cmocka_unit_test(test_log_levels),       cmocka_unit_test(test_session_names),
	    cmocka_unit_test(test_session_paths),    cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_trapped_syscalls), cmocka_unit_test(test_fake_ids),
	    cmocka_unit_test(test_fake_capget),      cmocka_unit_test(test_fake_memlock),
	};

	sup_log_set_level(SUP_LOG_ERROR); /* the cases provoke errors on purpose */
	return cmocka_run_group_tests_name("supervisor-unit", tests, NULL, NULL);
}
