// SPDX-License-Identifier: MIT
/*
 * MAP_CREATE and the map commands through the in-process caller. Every
 * expected errno was first observed on Linux 6.18 with the same call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/btf.h>
#include <cmocka.h>
#include "emul-internal.h"
#include "emul-test-map.h"

#define ENOTSUPP_ 524

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

/* ---- a small BTF: 1 int, 2 struct bpf_spin_lock, 3 struct val {int;
 * lock} (8), 4 struct nested {int; struct val} (12), 5 struct pair {int;
 * int} (8) ---- */

struct btf_buf {
	uint8_t types[512], strs[128];
	uint32_t tlen, slen;
};

static void put32(struct btf_buf *b, uint32_t v)
{
	memcpy(b->types + b->tlen, &v, 4);
	b->tlen += 4;
}

static uint32_t str(struct btf_buf *b, const char *s)
{
	uint32_t off = b->slen;

	strcpy((char *)b->strs + off, s);
	b->slen += (uint32_t)strlen(s) + 1;
	return off;
}

static void type(struct btf_buf *b, const char *name, uint32_t kind, uint32_t vlen, uint32_t size)
{
	put32(b, name ? str(b, name) : 0);
	put32(b, kind << 24 | vlen);
	put32(b, size);
}

static void member(struct btf_buf *b, const char *name, uint32_t tid, uint32_t bits)
{
	put32(b, str(b, name));
	put32(b, tid);
	put32(b, bits);
}

static int load_btf(struct emul_test *t)
{
	static uint8_t blob[1024];
	struct btf_header h = {.magic = BTF_MAGIC, .version = 1, .hdr_len = sizeof(h)};
	struct btf_buf b = {.slen = 1};
	union bpf_attr a;

	type(&b, "int", BTF_KIND_INT, 0, 4);
	put32(&b, BTF_INT_SIGNED << 24 | 32);
	type(&b, "bpf_spin_lock", BTF_KIND_STRUCT, 1, 4);
	member(&b, "val", 1, 0);
	type(&b, "val", BTF_KIND_STRUCT, 2, 8);
	member(&b, "a", 1, 0);
	member(&b, "l", 2, 32);
	type(&b, "nested", BTF_KIND_STRUCT, 2, 12);
	member(&b, "x", 1, 0);
	member(&b, "v", 3, 32);
	type(&b, "pair", BTF_KIND_STRUCT, 2, 8);
	member(&b, "a", 1, 0);
	member(&b, "b", 1, 32);
	h.type_len = b.tlen;
	h.str_off = b.tlen;
	h.str_len = b.slen;
	memcpy(blob, &h, sizeof(h));
	memcpy(blob + sizeof(h), b.types, b.tlen);
	memcpy(blob + sizeof(h) + b.tlen, b.strs, b.slen);
	memset(&a, 0, sizeof(a));
	a.btf = ptr_to_u64(blob);
	a.btf_size = (uint32_t)(sizeof(h) + b.tlen + b.slen);
	return (int)emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a));
}

static long create_btf(struct emul_test *t, uint32_t type, uint32_t ks, uint32_t vs, uint32_t flags,
		       int btf_fd, uint32_t kid, uint32_t vid)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = 4;
	a.map_flags = flags;
	a.btf_fd = (uint32_t)btf_fd;
	a.btf_key_type_id = kid;
	a.btf_value_type_id = vid;
	return emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
}

/* ---- MAP_CREATE ---- */

static void test_create_fd_is_cloexec_and_named(void **state)
{
	struct emul_test *t = *state;
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 16;
	strcpy(a.map_name, "counts.v1_");
	fd = (int)emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_true(tm_id(t, fd) > 0);
	close(fd);
}

static void test_create_refusals(void **state)
{
	struct emul_test *t = *state;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 4;
	/* bpf_obj_name_cpy(): a bad character, or no NUL in 16 bytes */
	strcpy(a.map_name, "a-b");
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	memcpy(a.map_name, "abcdefghijklmnop", 16);
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	memset(a.map_name, 0, sizeof(a.map_name));
	a.map_ifindex = 1; /* device offload */
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	a.map_ifindex = 0;
	/* CHECK_ATTR: a byte after map_extra */
	((uint8_t *)&a)[offsetof(union bpf_attr, map_extra) + 8] = 1;
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	assert_int_equal(tm_create(t, BPF_MAP_TYPE_HASH, 4, 0, 4, 0), -EINVAL);
	assert_int_equal(tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY | BPF_F_WRONLY),
			 -EINVAL);
}

static void test_create_btf_fd_errors_come_after_type_and_name(void **state)
{
	struct emul_test *t = *state;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* btf_get_by_fd(): closed -EBADF, another file -EINVAL */
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, 999, 1, 3), -EBADF);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, p[0], 1, 3), -EINVAL);
	/* the type's checks first */
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 0, 0, 999, 1, 3), -EINVAL);
	/* no type ids: btf_fd is not looked at */
	{
		long fd = create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, 999, 0, 0);

		assert_true(fd >= 0);
		close((int)fd);
	}
	close(p[0]);
	close(p[1]);
}

static void test_create_btf_spin_lock(void **state)
{
	struct emul_test *t = *state;
	int btf = load_btf(t);
	uint32_t key = 1, val[3] = {7, 0, 0};
	long fd;

	if (btf < 0)
		skip(); /* BTF_LOAD is the programs' part */
	fd = create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, btf, 1, 3);
	assert_true(fd >= 0);
	assert_int_equal(
	    bpftime_map__attr(bpftime_map__get(t->e->region, tm_id(t, (int)fd)))->spin_lock_off,
	    4 + 1);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, (int)fd, &key, val, BPF_F_LOCK), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_FREEZE, (int)fd, NULL, NULL, 0), -ENOTSUPP_);
	close((int)fd);
	/* nested in a member struct (6.18 finds it), at 8 */
	fd = create_btf(t, BPF_MAP_TYPE_ARRAY, 4, 12, 0, btf, 1, 4);
	assert_true(fd >= 0);
	assert_int_equal(
	    bpftime_map__attr(bpftime_map__get(t->e->region, tm_id(t, (int)fd)))->spin_lock_off,
	    8 + 1);
	close((int)fd);
	/* map_check_btf(): sizes, missing key type, types without BTF */
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 12, 0, btf, 1, 3), -EINVAL);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 8, 8, 0, btf, 1, 3), -EINVAL);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, btf, 1, 99), -EINVAL);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_HASH, 4, 8, 0, btf, 0, 3), -EINVAL);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 0, btf, 1, 1),
			 -ENOTSUPP_);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_ARRAY, 4, 8, 0, btf, 5, 3), -EINVAL);
	/* the lock's own rules (the maps module's) */
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_LRU_HASH, 4, 8, 0, btf, 1, 3), -EOPNOTSUPP);
	assert_int_equal(create_btf(t, BPF_MAP_TYPE_ARRAY, 4, 8, BPF_F_RDONLY_PROG, btf, 1, 3),
			 -EACCES);
	/* a value that is itself the lock has no lock field */
	fd = create_btf(t, BPF_MAP_TYPE_HASH, 4, 4, 0, btf, 1, 2);
	assert_true(fd >= 0);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, (int)fd, &key, val, BPF_F_LOCK), -EINVAL);
	close((int)fd);
	close(btf);
}

static void test_create_inner_map_fd(void **state)
{
	struct emul_test *t = *state;
	int inner = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), p[2];
	union bpf_attr a;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 2;
	a.inner_map_fd = (uint32_t)p[0];
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	a.inner_map_fd = 999;
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EBADF);
	a.inner_map_fd = (uint32_t)inner;
	a.key_size = 8; /* the type's checks come first */
	assert_int_equal(emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	a.key_size = 4;
	close(p[0]);
	close(p[1]);
	{
		int outer = (int)emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
		int other = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
		int hash = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, 0);
		uint32_t k = 1, v = (uint32_t)other, got = 0, bad = 9;

		assert_true(outer >= 0);
		assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, outer, &k, &v, 0), 0);
		assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, outer, &k, &got, 0), 0);
		assert_int_equal(got, tm_id(t, other));
		/* bpf_fd_array_map_update_elem(): flags and index before the fd */
		v = 999;
		assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, outer, &bad, &v, 0), -E2BIG);
		assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, outer, &k, &v, 1), -EINVAL);
		assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, outer, &k, &v, 0), -EBADF);
		v = (uint32_t)hash; /* not equal to the template */
		assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, outer, &k, &v, 0), -EINVAL);
		assert_int_equal(tm_elem(t, BPF_MAP_DELETE_ELEM, outer, &k, NULL, 0), 0);
		assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, outer, &k, &got, 0), -ENOENT);
		close(outer);
		close(other);
		close(hash);
	}
	close(inner);
}

/* ---- element commands ---- */

static void test_elem_fds(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 8, 8, 0), p[2], d;
	uint32_t k = 3;
	uint64_t v = 42, got = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), 0);
	/* __bpf_map_get(): closed -EBADF, a pipe -EINVAL, negative -EBADF */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, 999, &k, &got, 0), -EBADF);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, -1, &k, &got, 0), -EBADF);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, p[0], &k, &got, 0), -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, p[0], &k, &got, 0), -EINVAL);
	/* map_lookup_elem(): the flags before the fd */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, 999, &k, &got, 8), -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, 999, &k, &got, 8), -EINVAL);
	/* a dup'd fd is the same map */
	d = dup(fd);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, d, &k, &got, 0), 0);
	assert_int_equal(got, 42);
	close(d);
	close(fd);
	/* and a closed one is gone */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, &got, 0), -EBADF);
	close(p[0]);
	close(p[1]);
}

static void test_elem_bad_pointers(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 8, 0);
	uint64_t bad = tm_bad_ptr();
	uint32_t k = 1, v = 5, nk;
	union bpf_attr a;

	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, (void *)bad, &v, 0), -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, (void *)bad, 0), -EFAULT);
	/* the key is copied before the type judges the flags */
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, (void *)bad, &v, 99), -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 99), -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, BPF_F_LOCK), -EINVAL);
	/* the value is written after the lookup: missing -ENOENT first */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, (void *)bad, 0), -ENOENT);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, (void *)bad, 0), -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_DELETE_ELEM, fd, (void *)bad, NULL, 0), -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, fd, (void *)bad, &nk, 0), -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, fd, NULL, (void *)bad, 0), -EFAULT);
	/* lookup_and_delete deletes before the value is written back */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, &k, (void *)bad, 0),
			 -EFAULT);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0), -ENOENT);
	/* CHECK_ATTR: a byte after flags */
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	((uint8_t *)&a)[offsetof(union bpf_attr, flags) + 8] = 1;
	assert_int_equal(emul_test_bpf(t, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)), -EINVAL);
	close(fd);
}

static void test_get_next_key_missing_key_gives_first(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_PERCPU_HASH, 8, 8, 64, 0);
	uint64_t k = 7, miss = 0, next = 99, vals[BPFTIME_MAP_MAX_CPUS];
	uint32_t ncpu = bpftime_map_region__nr_cpus(t->e->region);

	/* bpftrace: LOOKUP of a zero key (-ENOENT), then GET_NEXT_KEY from it */
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, fd, NULL, &next, 0), -ENOENT);
	memset(vals, 0, sizeof(vals));
	for (uint32_t i = 0; i < ncpu; i++)
		vals[i] = i + 1;
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, vals, 0), 0);
	memset(vals, 0, sizeof(vals));
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &miss, vals, 0), -ENOENT);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, fd, &miss, &next, 0), 0);
	assert_int_equal(next, 7);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, fd, &next, &next, 0), -ENOENT);
	/* per-CPU values: one 8-byte slot per CPU */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, vals, 0), 0);
	assert_int_equal(vals[ncpu - 1], ncpu);
	close(fd);
}

static void test_keyless_maps(void **state)
{
	struct emul_test *t = *state;
	int q = (int)tm_create(t, BPF_MAP_TYPE_QUEUE, 0, 4, 4, 0);
	uint32_t k = 1, v = 5, nk;

	/* __bpf_copy_key(): no key pointer for key-less maps */
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, q, &k, &v, 0), -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, q, NULL, &v, 0), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, q, NULL, &v, BPF_F_LOCK),
			 -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, q, NULL, &nk, 0), -EINVAL);
	v = 0;
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, q, NULL, &v, 0), 0);
	assert_int_equal(v, 5);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, q, NULL, &v, 0), -ENOENT);
	close(q);
}

static void test_freeze(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), ro;
	uint32_t k = 1, v = 5;
	union bpf_attr a;

	ro = (int)tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, tm_id(t, fd), BPF_F_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(tm_elem(t, BPF_MAP_FREEZE, ro, NULL, NULL, 0), -EPERM);
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = 1; /* CHECK_ATTR: map_fd is the last field */
	assert_int_equal(emul_test_bpf(t, BPF_MAP_FREEZE, &a, sizeof(a)), -EINVAL);
	assert_int_equal(tm_elem(t, BPF_MAP_FREEZE, fd, NULL, NULL, 0), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_FREEZE, fd, NULL, NULL, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0), 0);
	close(ro);
	close(fd);
}

static void test_rdonly_wronly_fds(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, 0), ro, wo, d;
	uint32_t id = tm_id(t, fd), k = 1, v = 5, nk;

	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), 0);
	ro = (int)tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, id, BPF_F_RDONLY);
	wo = (int)tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, id, BPF_F_WRONLY);
	assert_int_equal(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(fcntl(wo, F_GETFL) & O_ACCMODE, O_WRONLY);
	/* map_get_sys_perms() */
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, ro, &k, &v, 0), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, ro, NULL, &nk, 0), 0);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, ro, &k, &v, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_DELETE_ELEM, ro, &k, NULL, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_AND_DELETE_ELEM, ro, &k, &v, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, wo, &k, &v, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_GET_NEXT_KEY, wo, NULL, &nk, 0), -EPERM);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, wo, &k, &v, 0), 0);
	/* the access travels with the description */
	d = dup(ro);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, d, &k, &v, 0), -EPERM);
	close(d);
	close(ro);
	close(wo);
	/* BPF_F_RDONLY at creation: the creator's fd is read-only */
	fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_RDONLY);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(tm_elem(t, BPF_MAP_UPDATE_ELEM, fd, &k, &v, 0), -EPERM);
	close(fd);
}

static void test_mmapable_array_shares_memory(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 8, 512, BPF_F_MMAPABLE);
	struct bpftime_map *m = bpftime_map__get(t->e->region, tm_id(t, fd));
	uint32_t k = 3;
	uint64_t *mem, *prog, v = 0;

	assert_non_null(m);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	prog = bpftime_map__prog_lookup(m, &k, 0);
	assert_non_null(prog);
	mem[3] = 0x1234;
	assert_int_equal(*prog, 0x1234);
	*prog = 77;
	assert_int_equal(mem[3], 77);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0), 0);
	assert_int_equal(v, 77);
	munmap(mem, 4096);
	close(fd);
}

/* ---- batches ---- */

static long batch(struct emul_test *t, int cmd, int fd, void *in, void *out, void *keys,
		  void *values, uint32_t *count, uint64_t elem_flags, uint64_t flags)
{
	union bpf_attr a;
	long r;

	memset(&a, 0, sizeof(a));
	a.batch.map_fd = (uint32_t)fd;
	a.batch.in_batch = ptr_to_u64(in);
	a.batch.out_batch = ptr_to_u64(out);
	a.batch.keys = ptr_to_u64(keys);
	a.batch.values = ptr_to_u64(values);
	a.batch.count = *count;
	a.batch.elem_flags = elem_flags;
	a.batch.flags = flags;
	r = emul_test_bpf(t, cmd, &a, sizeof(a));
	*count = a.batch.count;
	return r;
}

static void test_batch_hash_enoent_with_data(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 8, 0);
	uint32_t keys[16], vals[16], cnt, out = 99, sum = 0;
	void *bad = (void *)(uintptr_t)tm_bad_ptr();

	for (uint32_t i = 0; i < 5; i++) {
		keys[i] = i;
		vals[i] = i * 10;
	}
	cnt = 5;
	assert_int_equal(batch(t, BPF_MAP_UPDATE_BATCH, fd, NULL, NULL, keys, vals, &cnt, 0, 0), 0);
	assert_int_equal(cnt, 5);
	/* elem_flags before count; count 0 touches nothing */
	cnt = 3;
	assert_int_equal(
	    batch(t, BPF_MAP_UPDATE_BATCH, fd, NULL, NULL, keys, vals, &cnt, BPF_NOEXIST, 0),
	    -EINVAL);
	assert_int_equal(cnt, 3);
	cnt = 0;
	assert_int_equal(batch(t, BPF_MAP_UPDATE_BATCH, fd, NULL, NULL, bad, bad, &cnt, 0, 0), 0);
	/* hash batches refuse flags */
	cnt = 16;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, NULL, &out, keys, vals, &cnt, 0, 1),
			 -EINVAL);
	/* a token past the buckets: -ENOENT, count 0, out_batch untouched */
	cnt = 16;
	out = 99;
	sum = 1000;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, &sum, &out, keys, vals, &cnt, 0, 0),
			 -ENOENT);
	assert_int_equal(cnt, 0);
	assert_int_equal(out, 99);
	cnt = 16;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, NULL, bad, keys, vals, &cnt, 0, 0),
			 -EFAULT);
	assert_int_equal(cnt, 0);
	cnt = 16;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, bad, &out, keys, vals, &cnt, 0, 0),
			 -EFAULT);
	/* syscount: the last batch is -ENOENT together with its elements */
	cnt = 16;
	memset(vals, 0, sizeof(vals));
	assert_int_equal(
	    batch(t, BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, NULL, &out, keys, vals, &cnt, 0, 0),
	    -ENOENT);
	assert_int_equal(cnt, 5);
	assert_int_equal(out, 8);
	sum = 0;
	for (uint32_t i = 0; i < cnt; i++)
		sum += vals[i];
	assert_int_equal(sum, 100);
	cnt = 16;
	assert_int_equal(
	    batch(t, BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, NULL, &out, keys, vals, &cnt, 0, 0),
	    -ENOENT);
	assert_int_equal(cnt, 0);
	close(fd);
}

static void test_batch_update_stops_at_unreadable_element(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_HASH, 4, 4, 8, 0);
	uint8_t *page =
	    mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *keys = (uint32_t *)(page + 4096 - 8), vals[4] = {1, 2, 3, 4}, cnt = 4, v;

	/* two keys readable, then an unmapped page */
	assert_true(page != MAP_FAILED);
	munmap(page + 4096, 4096);
	keys[0] = 10;
	keys[1] = 11;
	assert_int_equal(batch(t, BPF_MAP_UPDATE_BATCH, fd, NULL, NULL, keys, vals, &cnt, 0, 0),
			 -EFAULT);
	assert_int_equal(cnt, 2);
	assert_int_equal(tm_elem(t, BPF_MAP_LOOKUP_ELEM, fd, &keys[1], &v, 0), 0);
	assert_int_equal(v, 2);
	/* deletes: the same, and -ENOENT stops at the missing key */
	cnt = 4;
	assert_int_equal(batch(t, BPF_MAP_DELETE_BATCH, fd, NULL, NULL, keys, NULL, &cnt, 0, 0),
			 -EFAULT);
	assert_int_equal(cnt, 2);
	cnt = 2;
	assert_int_equal(batch(t, BPF_MAP_DELETE_BATCH, fd, NULL, NULL, keys, NULL, &cnt, 0, 0),
			 -ENOENT);
	assert_int_equal(cnt, 0);
	munmap(page, 4096);
	close(fd);
}

static void test_batch_array_generic(void **state)
{
	struct emul_test *t = *state;
	int fd = (int)tm_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0), ro;
	uint32_t keys[4] = {0, 1, 2, 3}, vals[4] = {100, 101, 102, 103}, cnt = 4, out = 99, in;
	void *bad = (void *)(uintptr_t)tm_bad_ptr();

	assert_int_equal(batch(t, BPF_MAP_UPDATE_BATCH, fd, NULL, NULL, keys, vals, &cnt, 0, 1), 0);
	cnt = 3;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, NULL, &out, keys, vals, &cnt, 0, 0), 0);
	assert_int_equal(cnt, 3);
	assert_int_equal(out, 2);
	in = out;
	cnt = 3;
	out = 99;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, &in, &out, keys, vals, &cnt, 0, 0),
			 -ENOENT);
	assert_int_equal(cnt, 1);
	assert_int_equal(vals[0], 103);
	assert_int_equal(out, 3);
	/* the generic walk: count is written before out_batch */
	cnt = 3;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, NULL, bad, keys, vals, &cnt, 0, 0),
			 -EFAULT);
	assert_int_equal(cnt, 3);
	cnt = 3;
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, fd, NULL, &out, keys, bad, &cnt, 0, 0),
			 -EFAULT);
	assert_int_equal(cnt, 0);
	/* arrays have no delete batches */
	cnt = 3;
	assert_int_equal(batch(t, BPF_MAP_DELETE_BATCH, fd, NULL, NULL, keys, NULL, &cnt, 0, 0),
			 -ENOTSUPP_);
	assert_int_equal(
	    batch(t, BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, NULL, &out, keys, vals, &cnt, 0, 0),
	    -ENOTSUPP_);
	/* access: a read-only fd reads, and cannot write */
	ro = (int)tm_fd_by_id(t, BPF_MAP_GET_FD_BY_ID, tm_id(t, fd), BPF_F_RDONLY);
	cnt = 1;
	assert_int_equal(batch(t, BPF_MAP_UPDATE_BATCH, ro, NULL, NULL, keys, vals, &cnt, 0, 0),
			 -EPERM);
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, ro, NULL, &out, keys, vals, &cnt, 0, 0), 0);
	assert_int_equal(batch(t, BPF_MAP_LOOKUP_BATCH, 999, NULL, &out, keys, vals, &cnt, 0, 0),
			 -EBADF);
	close(ro);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_fd_is_cloexec_and_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_btf_fd_errors_come_after_type_and_name,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_btf_spin_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_inner_map_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elem_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elem_bad_pointers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_next_key_missing_key_gives_first, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_keyless_maps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_freeze, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rdonly_wronly_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mmapable_array_shares_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_hash_enoent_with_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_update_stops_at_unreadable_element, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_array_generic, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
