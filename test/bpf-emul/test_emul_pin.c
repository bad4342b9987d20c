// SPDX-License-Identifier: MIT
/*
 * OBJ_PIN / OBJ_GET on the emulated bpffs; expected answers observed on
 * Linux 6.18 with bpffs mounted at /sys/fs/bpf.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "emul-internal.h"
#include "emul-test-map.h"

static int setup(void **state)
{
	struct emul_test *t = calloc(1, sizeof(*t));

	emul_test_setup(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct emul_test *t = *state;

	emul_pins_free(t->e); /* bpftime_emul__free does not call it yet */
	emul_test_teardown(t);
	free(t);
	return 0;
}

static long pin(struct emul_test *t, const char *path, int fd, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64(path);
	a.bpf_fd = (uint32_t)fd;
	a.file_flags = flags;
	return emul_test_bpf(t, BPF_OBJ_PIN, &a, sizeof(a));
}

static long get(struct emul_test *t, const char *path, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64(path);
	a.file_flags = flags;
	return emul_test_bpf(t, BPF_OBJ_GET, &a, sizeof(a));
}

static void test_pin_and_get(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), g;
	uint32_t id = tm_id(t, fd), k = 1, v = 9;

	assert_int_equal(pin(t, "/sys/fs/bpf/emul_test_map", fd, 0), 0);
	assert_int_equal(pin(t, "/sys/fs/bpf/emul_test_map", fd, 0), -EEXIST);
	/* the same name spelt otherwise */
	assert_int_equal(pin(t, "/sys/fs/bpf//./emul_test_map", fd, 0), -EEXIST);
	close(fd);
	/* the pin holds the map */
	g = (int)get(t, "/sys/fs/bpf/emul_test_map", 0);
	assert_true(g >= 0);
	assert_true(fcntl(g, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(g, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(tm_id(t, g), id);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, g, &k, &v, 0), 0);
	close(g);
	g = (int)get(t, "/sys/fs/bpf/emul_test_map", BPF_F_RDONLY);
	assert_int_equal(fcntl(g, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, g, &k, &v, 0), -EPERM);
	close(g);
	g = (int)get(t, "/sys/fs/bpf/emul_test_map", BPF_F_WRONLY);
	assert_int_equal(fcntl(g, F_GETFL) & O_ACCMODE, O_WRONLY);
	close(g);
}

static void test_pin_errors(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), p[2];
	char longp[PATH_MAX + 8];
	union bpf_attr a;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pin(t, "/tmp/emul_pin", fd, 0), -EPERM);
	assert_int_equal(pin(t, "/sys/fs/bpf/no_such_dir/x", fd, 0), -ENOENT);
	assert_int_equal(pin(t, "/sys/fs/bpf", fd, 0), -EEXIST);
	assert_int_equal(pin(t, "/sys/fs/bpf/", fd, 0), -EEXIST);
	assert_int_equal(pin(t, "", fd, 0), -ENOENT);
	assert_int_equal(pin(t, "/sys/fs/bpf/y", fd, 1), -EINVAL);
	/* bpf_fd_probe_obj(): any fd that is no map, program or link */
	assert_int_equal(pin(t, "/sys/fs/bpf/y", 999, 0), -EINVAL);
	assert_int_equal(pin(t, "/sys/fs/bpf/y", p[0], 0), -EINVAL);
	assert_int_equal(pin(t, (const char *)(uintptr_t)tm_bad_ptr(), fd, 0), -EFAULT);
	/* the fd is judged before the path */
	assert_int_equal(pin(t, (const char *)(uintptr_t)tm_bad_ptr(), 999, 0), -EINVAL);
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "/sys/fs/bpf/", 12);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(pin(t, longp, fd, 0), -ENAMETOOLONG);
	/* a relative path from a cwd outside bpffs */
	assert_int_equal(pin(t, "emul_rel", fd, 0), -EPERM);
	/* a path_fd without BPF_F_PATH_FD */
	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64("/sys/fs/bpf/z");
	a.bpf_fd = (uint32_t)fd;
	((uint32_t *)&a)[4] = 5;
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_PIN, &a, sizeof(a)), -EINVAL);
	close(p[0]);
	close(p[1]);
	close(fd);
}

static void test_get_errors(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	union bpf_attr a;

	assert_int_equal(pin(t, "/sys/fs/bpf/emul_g", fd, 0), 0);
	assert_int_equal(get(t, "/sys/fs/bpf/emul_g", BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
	assert_int_equal(get(t, "/sys/fs/bpf/emul_g", 4), -EINVAL);
	assert_int_equal(get(t, "/sys/fs/bpf/nope", 4), -EINVAL);
	assert_int_equal(get(t, "/sys/fs/bpf/nope", 0), -ENOENT);
	assert_int_equal(get(t, "", 0), -ENOENT);
	assert_int_equal(get(t, "/etc/passwd", 0), -EACCES);
	assert_int_equal(get(t, "/", 0), -EACCES);
	assert_int_equal(get(t, (const char *)(uintptr_t)tm_bad_ptr(), 0), -EFAULT);
	memset(&a, 0, sizeof(a));
	a.pathname = ptr_to_u64("/sys/fs/bpf/emul_g");
	a.bpf_fd = 5; /* OBJ_GET takes no fd */
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET, &a, sizeof(a)), -EINVAL);
	close(fd);
}

static void test_pin_in_existing_subdir(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), g;
	char dir[64], path[96];

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/emul-test-%d", getpid());
	if (mkdir(dir, 0700)) {
		close(fd);
		skip(); /* needs a writable /sys/fs/bpf (root with bpffs mounted) */
	}
	snprintf(path, sizeof(path), "%s/m", dir);
	assert_int_equal(pin(t, path, fd, 0), 0);
	g = (int)get(t, path, 0);
	assert_true(g >= 0);
	/* a directory is no pin, and is taken */
	assert_int_equal(get(t, dir, 0), -EACCES);
	assert_int_equal(pin(t, dir, fd, 0), -EEXIST);
	close(g);
	rmdir(dir);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pin_and_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pin_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pin_in_existing_subdir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
