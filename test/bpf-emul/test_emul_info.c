// SPDX-License-Identifier: MIT
/*
 * OBJ_GET_INFO_BY_FD, *_GET_NEXT_ID and *_GET_FD_BY_ID through the
 * in-process caller; expected answers observed on Linux 6.18.
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
	emul_test_teardown(*state);
	free(*state);
	return 0;
}

static long info(struct emul_test *t, int fd, void *buf, uint32_t len, uint32_t *out_len)
{
	union bpf_attr a;
	long r;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = len;
	a.info.info = ptr_to_u64(buf);
	r = emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	*out_len = a.info.info_len;
	return r;
}

static long next_id(struct emul_test *t, int cmd, uint32_t start, uint32_t *next)
{
	union bpf_attr a;
	long r;

	memset(&a, 0, sizeof(a));
	a.start_id = start;
	r = emul_test_bpf(t, cmd, &a, sizeof(a));
	*next = a.next_id;
	return r;
}

static void test_map_info(void **state)
{
	struct emul_test *t = *state;
	union bpf_attr c;
	struct bpf_map_info mi;
	uint32_t len;
	int fd;

	memset(&c, 0, sizeof(c));
	c.map_type = BPF_MAP_TYPE_HASH;
	c.key_size = 4;
	c.value_size = 12;
	c.max_entries = 9;
	c.map_flags = BPF_F_NO_PREALLOC | BPF_F_RDONLY;
	strcpy(c.map_name, "info_map");
	fd = (int)emul_test_bpf(t, BPF_MAP_CREATE, &c, sizeof(c));
	assert_true(fd >= 0);
	memset(&mi, 0xff, sizeof(mi));
	assert_int_equal(info(t, fd, &mi, sizeof(mi), &len), 0);
	assert_int_equal(len, sizeof(mi));
	assert_int_equal(mi.type, BPF_MAP_TYPE_HASH);
	assert_true(mi.id > 0);
	assert_int_equal(mi.key_size, 4);
	assert_int_equal(mi.value_size, 12);
	assert_int_equal(mi.max_entries, 9);
	/* the fd's access flags are not the map's */
	assert_int_equal(mi.map_flags, BPF_F_NO_PREALLOC);
	assert_string_equal(mi.name, "info_map");
	assert_int_equal(mi.btf_id, 0);
	close(fd);
}

static void test_info_len_rules(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), p[2];
	uint8_t big[200];
	uint32_t len;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* a bigger struct of zeros: the kernel's size comes back */
	memset(big, 0, sizeof(big));
	assert_int_equal(info(t, fd, big, sizeof(big), &len), 0);
	assert_int_equal(len, 104); /* 6.18's struct bpf_map_info */
	/* bpf_check_uarg_tail_zero(): a non-zero byte past it */
	memset(big, 0, sizeof(big));
	big[150] = 1;
	assert_int_equal(info(t, fd, big, sizeof(big), &len), -E2BIG);
	assert_int_equal(len, sizeof(big));
	assert_int_equal(info(t, fd, big, 5000, &len), -E2BIG);
	/* a smaller one: that many bytes, no more */
	memset(big, 0xee, sizeof(big));
	assert_int_equal(info(t, fd, big, 8, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(big[8], 0xee);
	assert_int_equal(info(t, fd, big, 0, &len), 0);
	assert_int_equal(len, 0);
	/* pointers and fds */
	assert_int_equal(info(t, fd, (void *)(uintptr_t)tm_bad_ptr(), 8, &len), -EFAULT);
	assert_int_equal(info(t, fd, (void *)(uintptr_t)tm_bad_ptr(), 0, &len), 0);
	assert_int_equal(info(t, 999, big, 8, &len), -EBADFD);
	assert_int_equal(info(t, p[0], big, 8, &len), -EINVAL);
	close(p[0]);
	close(p[1]);
	close(fd);
}

static void test_map_next_id_and_fd_by_id(void **state)
{
	struct emul_test *t = *state;
	int a = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	int b = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	uint32_t ida = tm_id(t, a), idb = tm_id(t, b), n, seen = 0;
	union bpf_attr at;
	int fd;

	for (uint32_t id = 0; !next_id(t, BPF_MAP_GET_NEXT_ID, id, &n); id = n) {
		assert_true(n > id);
		seen += n == ida || n == idb;
	}
	assert_int_equal(seen, 2);
	assert_int_equal(next_id(t, BPF_MAP_GET_NEXT_ID, idb, &n), -ENOENT);
	assert_int_equal(next_id(t, BPF_MAP_GET_NEXT_ID, INT_MAX, &n), -EINVAL);
	assert_int_equal(next_id(t, BPF_MAP_GET_NEXT_ID, INT_MAX - 1, &n), -ENOENT);
	memset(&at, 0, sizeof(at));
	at.open_flags = 1; /* CHECK_ATTR: next_id is the last field */
	assert_int_equal(emul_test_bpf(t, BPF_MAP_GET_NEXT_ID, &at, sizeof(at)), -EINVAL);
	/* fd by id: flags before the id */
	assert_int_equal(tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, 99999, 4), -EINVAL);
	assert_int_equal(tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, ida, BPF_F_RDONLY | BPF_F_WRONLY),
			 -EINVAL);
	assert_int_equal(tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, 99999, 0), -ENOENT);
	assert_int_equal(tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, 0, 0), -ENOENT);
	fd = (int)tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, ida, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(tm_id(t, fd), ida);
	close(fd);
	/* the other types: no flags, no such id */
	assert_int_equal(tm_fd_by_id(t, BPF_PROG_GET_FD_BY_ID, 99999, BPF_F_RDONLY), -EINVAL);
	assert_int_equal(tm_fd_by_id(t, BPF_PROG_GET_FD_BY_ID, 99999, 0), -ENOENT);
	assert_int_equal(tm_fd_by_id(t, BPF_LINK_GET_FD_BY_ID, 99999, BPF_F_RDONLY), -EINVAL);
	assert_int_equal(tm_fd_by_id(t, BPF_LINK_GET_FD_BY_ID, 99999, 0), -ENOENT);
	assert_int_equal(tm_fd_by_id(t, BPF_BTF_GET_FD_BY_ID, 99999, BPF_F_RDONLY), -EINVAL);
	assert_int_equal(tm_fd_by_id(t, BPF_BTF_GET_FD_BY_ID, 99999, 0), -ENOENT);
	memset(&at, 0, sizeof(at));
	at.prog_id = 99999;
	at.next_id = 5; /* past the prog's last field; BTF reads on */
	assert_int_equal(emul_test_bpf(t, BPF_PROG_GET_FD_BY_ID, &at, sizeof(at)), -EINVAL);
	assert_int_equal(emul_test_bpf(t, BPF_BTF_GET_FD_BY_ID, &at, sizeof(at)), -ENOENT);
	assert_int_equal(next_id(t, BPF_LINK_GET_NEXT_ID, 0, &n), -ENOENT);
	close(a);
	close(b);
}

static void test_info_is_perf_buffer_free(void **state)
{
	struct emul_test *t = *state;
	struct bpftime_map_perfbuf_opts o = {.sz = sizeof(o), .page_cnt = 1, .cpu = 0};
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	uint32_t pb, n, last = 0;

	/* the maps module's perf buffers take map ids but are not maps */
	assert_int_equal(bpftime_map__perfbuf_create(t->e->region, &o, &pb), 0);
	for (uint32_t id = 0; !next_id(t, BPF_MAP_GET_NEXT_ID, id, &n); id = n) {
		assert_int_not_equal(n, pb);
		last = n;
	}
	assert_int_equal(last, tm_id(t, fd));
	assert_int_equal(tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, pb, 0), -ENOENT);
	bpftime_map__destroy(t->e->region, pb);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_map_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_info_len_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_map_next_id_and_fd_by_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_info_is_perf_buffer_free, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
