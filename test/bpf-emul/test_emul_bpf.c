// SPDX-License-Identifier: MIT
/* The size rules of bpf(2) (__sys_bpf) and the command table. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "emul-test.h"

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

/* bpf_check_uarg_tail_zero() past 6.18's 168-byte union: -E2BIG; inside
 * it but past ours, what CHECK_ATTR answers: -EINVAL (both probed) */
static void test_tail_nonzero(void **state)
{
	uint8_t buf[200];

	memset(buf, 0, sizeof(buf));
	buf[170] = 1;
	assert_int_equal(emul_test_bpf(*state, BPF_MAP_CREATE, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(emul_test_bpf(*state, BPF_MAP_CREATE, buf, 4097), -E2BIG);
	buf[170] = 0;
	buf[150] = 1;
	assert_int_equal(emul_test_bpf(*state, BPF_MAP_GET_NEXT_ID, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(emul_test_bpf(*state, BPF_MAP_GET_NEXT_ID, buf, 160), -EINVAL);
	/* zero tails of any size up to a page are fine */
	buf[150] = 0;
	assert_int_equal(emul_test_bpf(*state, BPF_MAP_GET_NEXT_ID, buf, sizeof(buf)), -ENOENT);
}

static void test_unknown_cmd(void **state)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(emul_test_bpf(*state, 999, &a, sizeof(a)), -EINVAL);
	assert_int_equal(emul_test_bpf(*state, -1, &a, sizeof(a)), -EINVAL);
}

static void test_bad_attr_pointer(void **state)
{
	struct emul_test *t = *state;

	assert_int_equal(bpftime_emul__bpf(t->e, &t->caller, BPF_MAP_CREATE, emul_test_bad_ptr(),
					   sizeof(union bpf_attr)),
			 -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tail_nonzero),
	    cmocka_unit_test(test_unknown_cmd),
	    cmocka_unit_test(test_bad_attr_pointer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
