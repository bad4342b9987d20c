// SPDX-License-Identifier: MIT
/* BPF_BTF_LOAD (libbpf 1.1's probe BTFs, header errors as 6.18 answers
 * them) and the vmlinux BTF served as id 1. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/btf.h>
#include "emul-insn.h"
#include "emul-internal.h"

/* libbpf_internal.h's encoders */
#define TYPE_ENC(name, info, sz)    (name), (info), (sz)
#define INFO_ENC(kind, kflag, vlen) (((kflag) << 31) | ((kind) << 24) | ((vlen)&0xffff))
#define INT_ENC(name, enc, bits, sz)                                                               \
	TYPE_ENC(name, INFO_ENC(BTF_KIND_INT, 0, 0), sz), (((enc) << 24) | (bits))

static int setup(void **state)
{
	static struct emul_test t;

	emul_test_setup(&t);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	emul_test_teardown(*state);
	return 0;
}

/* libbpf__load_raw_btf(): header, types, strings */
static long load_raw(struct emul_test *t, const uint32_t *types, uint32_t tlen, const char *strs,
		     uint32_t slen, char *log, uint32_t log_size)
{
	uint8_t buf[512];
	struct btf_header h = {.magic = BTF_MAGIC,
			       .version = BTF_VERSION,
			       .hdr_len = sizeof(h),
			       .type_len = tlen,
			       .str_off = tlen,
			       .str_len = slen};
	union bpf_attr a;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), types, tlen);
	memcpy(buf + sizeof(h) + tlen, strs, slen);
	memset(&a, 0, sizeof(a));
	a.btf = ptr_to_u64(buf);
	a.btf_size = sizeof(h) + tlen + slen;
	a.btf_log_buf = ptr_to_u64(log);
	a.btf_log_size = log_size;
	a.btf_log_level = log ? 1 : 0;
	return emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a));
}

#define LOAD(t, types, strs) load_raw(t, types, sizeof(types), strs, sizeof(strs), NULL, 0)

static void expect_fd(long fd)
{
	assert_true(fd >= 0);
	close(fd);
}

static void test_libbpf_probes(void **state)
{
	struct emul_test *t = *state;
	const uint32_t btf[] = {INT_ENC(1, BTF_INT_SIGNED, 32, 4)};
	const uint32_t func[] = {INT_ENC(1, BTF_INT_SIGNED, 32, 4),
				 TYPE_ENC(0, INFO_ENC(BTF_KIND_FUNC_PROTO, 0, 1), 0), 7, 1,
				 TYPE_ENC(5, INFO_ENC(BTF_KIND_FUNC, 0, 0), 2)};
	const uint32_t gfunc[] = {INT_ENC(1, BTF_INT_SIGNED, 32, 4),
				  TYPE_ENC(0, INFO_ENC(BTF_KIND_FUNC_PROTO, 0, 1), 0), 7, 1,
				  TYPE_ENC(5, INFO_ENC(BTF_KIND_FUNC, 0, BTF_FUNC_GLOBAL), 2)};
	const uint32_t datasec[] = {INT_ENC(0, BTF_INT_SIGNED, 32, 4),
				    TYPE_ENC(1, INFO_ENC(BTF_KIND_VAR, 0, 0), 1),
				    0,
				    TYPE_ENC(3, INFO_ENC(BTF_KIND_DATASEC, 0, 1), 4),
				    2,
				    0,
				    4};
	const uint32_t flt[] = {TYPE_ENC(1, INFO_ENC(BTF_KIND_FLOAT, 0, 0), 4)};
	const uint32_t decl[] = {INT_ENC(0, BTF_INT_SIGNED, 32, 4),
				 TYPE_ENC(1, INFO_ENC(BTF_KIND_VAR, 0, 0), 1), 0,
				 TYPE_ENC(1, INFO_ENC(BTF_KIND_DECL_TAG, 0, 0), 2), (uint32_t)-1};
	const uint32_t ttag[] = {INT_ENC(0, BTF_INT_SIGNED, 32, 4),
				 TYPE_ENC(1, INFO_ENC(BTF_KIND_TYPE_TAG, 0, 0), 1),
				 TYPE_ENC(0, INFO_ENC(BTF_KIND_PTR, 0, 0), 2)};
	const uint32_t enum64[] = {TYPE_ENC(1, INFO_ENC(19, 0, 0), 8)};

	expect_fd(LOAD(t, btf, "\0int"));
	expect_fd(LOAD(t, func, "\0int\0x\0a"));
	expect_fd(LOAD(t, gfunc, "\0int\0x\0a"));
	expect_fd(LOAD(t, datasec, "\0x\0.data"));
	expect_fd(LOAD(t, flt, "\0float"));
	expect_fd(LOAD(t, decl, "\0tag"));
	expect_fd(LOAD(t, ttag, "\0tag"));
	expect_fd(LOAD(t, enum64, "\0enum64"));
}

static void test_header_errors(void **state)
{
	struct emul_test *t = *state;
	const uint32_t btf[] = {INT_ENC(1, BTF_INT_SIGNED, 32, 4)};
	const uint32_t bad_kind[] = {TYPE_ENC(1, INFO_ENC(30, 0, 0), 4)};
	struct btf_header h = {.magic = 0x1234, .version = 1, .hdr_len = sizeof(h)};
	char log[1024];
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.btf = ptr_to_u64(&h);
	a.btf_size = 17u << 20;
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -E2BIG);
	a.btf_size = sizeof(h);
	a.btf_log_buf = ptr_to_u64(log);
	a.btf_log_size = sizeof(log);
	a.btf_log_level = 1;
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -EINVAL);
	assert_non_null(strstr(log, "Invalid magic"));
	h.magic = BTF_MAGIC;
	h.version = 2;
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -524);
	h.version = 1;
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -EINVAL); /* No data */
	a.btf = emul_test_bad_ptr();
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -EFAULT);
	a.btf_log_level = 0; /* a buffer without a level */
	assert_int_equal(emul_test_bpf(t, BPF_BTF_LOAD, &a, sizeof(a)), -EINVAL);
	assert_int_equal(load_raw(t, btf, sizeof(btf), "\0int", 4, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "Invalid string section"));
	assert_int_equal(load_raw(t, bad_kind, sizeof(bad_kind), "\0i", 3, log, sizeof(log)),
			 -EINVAL);
	assert_non_null(strstr(log, "Invalid kind:30"));
}

/* what bpftrace does at startup: next id, fd by id, info twice (len 32) */
static void test_vmlinux_as_id_1(void **state)
{
	struct emul_test *t = *state;
	struct bpf_btf_info info;
	char name[16];
	union bpf_attr a;
	long fd;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		skip();
	memset(&a, 0, sizeof(a));
	assert_int_equal(emul_test_bpf(t, BPF_BTF_GET_NEXT_ID, &a, sizeof(a)), 0);
	assert_int_equal(a.next_id, 1);
	memset(&a, 0, sizeof(a));
	a.btf_id = 1;
	fd = emul_test_bpf(t, BPF_BTF_GET_FD_BY_ID, &a, sizeof(a));
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info = ptr_to_u64(&info);
	a.info.info_len = 32;
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_int_equal(info.id, 1);
	assert_true(info.btf_size > 1000);
	assert_int_equal(info.kernel_btf, 1);
	info.btf_size = 0; /* a size with no buffer would be -EFAULT, as there */
	info.name = ptr_to_u64(name);
	info.name_len = sizeof(name);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_string_equal(name, "vmlinux");
	assert_int_equal(info.name_len, 7);
	close(fd);
}

static void test_user_btf_info(void **state)
{
	struct emul_test *t = *state;
	const uint32_t btf[] = {INT_ENC(1, BTF_INT_SIGNED, 32, 4)};
	uint8_t copy[64];
	struct bpf_btf_info info;
	union bpf_attr a;
	long fd = LOAD(t, btf, "\0int");

	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	info.btf = ptr_to_u64(copy);
	info.btf_size = sizeof(copy);
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info = ptr_to_u64(&info);
	a.info.info_len = sizeof(info);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_int_equal(info.btf_size, sizeof(struct btf_header) + sizeof(btf) + 5);
	assert_int_equal(info.kernel_btf, 0);
	assert_true(info.id >= 2);
	assert_int_equal(((struct btf_header *)copy)->magic, BTF_MAGIC);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libbpf_probes),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_vmlinux_as_id_1),
	    cmocka_unit_test(test_user_btf_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
