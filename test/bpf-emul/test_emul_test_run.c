// SPDX-License-Identifier: MIT
/* BPF_PROG_TEST_RUN: bpftrace's BEGIN (raw tracepoint, no ctx), a program
 * that updates a hash map, skb programs, and 6.18's errors. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "emul-insn.h"

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

static long test_run(struct emul_test *t, union bpf_attr *a, long fd)
{
	a->test.prog_fd = fd;
	return emul_test_bpf(t, BPF_PROG_TEST_RUN, a, sizeof(*a));
}

static void test_raw_tp_begin(void **state)
{
	struct emul_test *t = *state;
	const struct bpf_insn p[] = {MOV64_IMM(0, 7), EXIT_INSN()};
	long fd = prog_load(t, BPF_PROG_TYPE_RAW_TRACEPOINT, p, 2);
	uint64_t args[13] = {0};
	union bpf_attr a;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(test_run(t, &a, fd), 0);
	assert_int_equal(a.test.retval, 7);
	a.test.ctx_in = ptr_to_u64(args);
	a.test.ctx_size_in = 8;
	assert_int_equal(test_run(t, &a, fd), 0);
	a.test.ctx_size_in = sizeof(args); /* more than 12 arguments */
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.test.repeat = 5;
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.test.data_in = ptr_to_u64(args);
	a.test.data_size_in = 8;
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.test.cpu = 1;
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.test.ctx_in = emul_test_bad_ptr();
	a.test.ctx_size_in = 8;
	assert_int_equal(test_run(t, &a, fd), -EFAULT);
	memset(&a, 0, sizeof(a));
	a.test.ctx_size_in = 8; /* a size without a buffer */
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	close(fd);
}

/* key 1 -> 42 in a hash map, return 3 */
static void test_hash_update(void **state)
{
	struct emul_test *t = *state;
	long map = map_create(t, BPF_MAP_TYPE_HASH, 4, 8, 16);
	struct bpf_insn p[] = {
	    ST_W(10, -4, 1),   ST_DW(10, -16, 42), LD_MAP_FD(1, 0),
	    MOV64_REG(2, 10),  ADD64_IMM(2, -4),   MOV64_REG(3, 10),
	    ADD64_IMM(3, -16), MOV64_IMM(4, 0),    CALL(BPF_FUNC_map_update_elem),
	    MOV64_IMM(0, 3),   EXIT_INSN(),
	};
	uint32_t key = 1;
	uint64_t value = 0;
	union bpf_attr a;
	long fd;

	assert_true(map >= 0);
	p[2].imm = map;
	fd = prog_load(t, BPF_PROG_TYPE_RAW_TRACEPOINT, p, ARRAY_LEN(p));
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(test_run(t, &a, fd), 0);
	assert_int_equal(a.test.retval, 3);
	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = ptr_to_u64(&key);
	a.value = ptr_to_u64(&value);
	assert_int_equal(emul_test_bpf(t, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)), 0);
	assert_int_equal(value, 42);
	close(fd);
	close(map);
}

static void test_socket_filter(void **state)
{
	struct emul_test *t = *state;
	/* r0 = skb->len */
	const struct bpf_insn p[] = {INSN(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 0), EXIT_INSN()};
	long fd = prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, p, 2);
	uint8_t pkt[64] = {0}, out[128];
	struct __sk_buff skb;
	union bpf_attr a;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(test_run(t, &a, fd), -EINVAL); /* no data */
	a.test.data_in = ptr_to_u64(pkt);
	a.test.data_size_in = 13;
	assert_int_equal(test_run(t, &a, fd), -EINVAL); /* < ETH_HLEN */
	a.test.data_size_in = sizeof(pkt);
	a.test.data_out = ptr_to_u64(out);
	a.test.data_size_out = sizeof(out);
	a.test.repeat = 100;
	assert_int_equal(test_run(t, &a, fd), 0);
	assert_int_equal(a.test.retval, sizeof(pkt));
	assert_int_equal(a.test.data_size_out, sizeof(pkt));
	a.test.data_size_out = 10;
	assert_int_equal(test_run(t, &a, fd), -ENOSPC);
	assert_int_equal(a.test.data_size_out, sizeof(pkt));
	memset(&a, 0, sizeof(a));
	a.test.data_in = ptr_to_u64(pkt);
	a.test.data_size_in = sizeof(pkt);
	memset(&skb, 0, sizeof(skb));
	skb.len = 1; /* the kernel's to set */
	a.test.ctx_in = ptr_to_u64(&skb);
	a.test.ctx_size_in = sizeof(skb);
	assert_int_equal(test_run(t, &a, fd), -EINVAL);
	skb.len = 0;
	skb.mark = 5;
	a.test.ctx_out = ptr_to_u64(&skb);
	a.test.ctx_size_out = sizeof(skb);
	assert_int_equal(test_run(t, &a, fd), 0);
	assert_int_equal(a.test.ctx_size_out, sizeof(skb));
	assert_int_equal(skb.mark, 5);
	close(fd);
}

static void test_not_test_runnable(void **state)
{
	struct emul_test *t = *state;
	const struct bpf_insn p[] = {MOV64_IMM(0, 0), EXIT_INSN()};
	union bpf_attr a;
	long fd = prog_load(t, BPF_PROG_TYPE_KPROBE, p, 2);

	memset(&a, 0, sizeof(a));
	assert_int_equal(test_run(t, &a, fd), -524);
	assert_int_equal(test_run(t, &a, -1), -EBADF);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw_tp_begin),
	    cmocka_unit_test(test_hash_update),
	    cmocka_unit_test(test_socket_filter),
	    cmocka_unit_test(test_not_test_runnable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
