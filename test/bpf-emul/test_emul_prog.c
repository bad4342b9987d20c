// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_LOAD and BPF_PROG_BIND_MAP against answers recorded on 6.18
 * with raw bpf(2) (the tool-surface.md machine): libbpf 1.1's probe
 * programs, bpftrace's helper probe, the log_buf rules, dead code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include "emul-insn.h"

#define PROCESSED2                                                                                 \
	"processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "    \
	"mark_read 0\n"

static const struct bpf_insn trivial[] = {MOV64_IMM(0, 0), EXIT_INSN()};

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

/* libbpf's probe_loading and memcg probes (attr size 116) */
static void test_trivial_and_memcg_probe(void **state)
{
	const struct bpf_insn memcg[] = {CALL(BPF_FUNC_ktime_get_coarse_ns), EXIT_INSN()};
	union bpf_attr a;
	long fd = prog_load(*state, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 2);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	close(fd);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = ptr_to_u64(memcg);
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	fd = emul_test_bpf(*state, BPF_PROG_LOAD, &a, 116);
	assert_true(fd >= 0);
	close(fd);
}

static void test_bad_counts_and_pointers(void **state)
{
	struct emul_test *t = *state;
	union bpf_attr a;

	/* 6.18: -E2BIG for 0 instructions as for more than 1M */
	assert_int_equal(prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 0), -E2BIG);
	assert_int_equal(prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 1000001), -E2BIG);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = emul_test_bad_ptr();
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	assert_int_equal(emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a)), -EFAULT);
	a.insns = ptr_to_u64(trivial);
	a.license = 0;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a)), -EFAULT);
	a.license = ptr_to_u64("GPL");
	a.prog_flags = 1u << 12;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
}

static void test_prog_name(void **state)
{
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = ptr_to_u64(trivial);
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	strcpy(a.prog_name, "libbpf_nametest");
	fd = emul_test_bpf(*state, BPF_PROG_LOAD, &a, offsetof(union bpf_attr, prog_ifindex));
	assert_true(fd >= 0);
	close(fd);
	strcpy(a.prog_name, "bad-name");
	assert_int_equal(emul_test_bpf(*state, BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
	memset(a.prog_name, 'a', sizeof(a.prog_name)); /* no NUL */
	assert_int_equal(emul_test_bpf(*state, BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
}

/* bpf_vlog_init() and the log's text, size rules and log_true_size */
static void test_log_rules(void **state)
{
	struct emul_test *t = *state;
	char log[512];
	union bpf_attr a;
	long fd;

	memset(log, 'x', sizeof(log));
	fd = prog_load_log(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 2, 1, log, sizeof(log));
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(log, PROCESSED2);
	/* level 1 without a buffer loads (6.4+) */
	fd = prog_load_log(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 2, 1, NULL, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 0, log, 100), -EINVAL);
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 1, log, 0), -EINVAL);
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 1, NULL, 100), -EINVAL);
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 16, log, 100), -EINVAL);
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 1, log, 0x40000000), -EINVAL);
	/* a short buffer: the tail (rotating) or the head (BPF_LOG_FIXED), -ENOSPC */
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 1, log, 10), -ENOSPC);
	assert_string_equal(log, "k_read 0\n");
	assert_int_equal(prog_load_log(t, 1, trivial, 2, 9, log, 10), -ENOSPC);
	assert_string_equal(log, "processed");
	assert_int_equal(
	    prog_load_log(t, 1, trivial, 2, 1, (char *)(uintptr_t)emul_test_bad_ptr(), 100),
	    -EFAULT);
	/* log_true_size: the size the whole log needed */
	memset(&a, 0, sizeof(a));
	a.prog_type = 1;
	a.insns = ptr_to_u64(trivial);
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	a.log_level = 1;
	a.log_buf = ptr_to_u64(log);
	a.log_size = 10;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a)), -ENOSPC);
	assert_int_equal(*(uint32_t *)((char *)&a + sizeof(a) - 4), strlen(PROCESSED2) + 1);
}

/* bpftrace's helper probe: EACCES and a log that is not "invalid func" */
static void test_bpftrace_helper_probe(void **state)
{
	const struct bpf_insn probe[] = {CALL(BPF_FUNC_probe_read_kernel), EXIT_INSN()};
	char log[4096];

	assert_int_equal(prog_load_log(*state, BPF_PROG_TYPE_KPROBE, probe, 2, 1, log, sizeof(log)),
			 -EACCES);
	assert_non_null(strstr(log, "R1 type=ctx expected=fp"));
	assert_null(strstr(log, "invalid func"));
}

/* libbpf's probe of probe_read_kernel (TRACEPOINT, r1 = fp - 8) loads */
static void test_probe_read_kernel_probe(void **state)
{
	const struct bpf_insn probe[] = {
	    MOV64_REG(1, 10),
	    ADD64_IMM(1, -8),
	    MOV64_IMM(2, 8),
	    MOV64_IMM(3, 0),
	    CALL(BPF_FUNC_probe_read_kernel),
	    EXIT_INSN(),
	};
	long fd = prog_load(*state, BPF_PROG_TYPE_TRACEPOINT, probe, ARRAY_LEN(probe));

	assert_true(fd >= 0);
	close(fd);
}

static void test_unknown_helper_and_dead_code(void **state)
{
	const struct bpf_insn live[] = {CALL(2001000000), EXIT_INSN()};
	/* libbpf's poisoned ld_imm64 behind a CO-RE constant */
	const struct bpf_insn dead[] = {MOV64_IMM(1, 1),  JNE_IMM(1, 0, 2), CALL(2001000000),
					CALL(2001000000), MOV64_IMM(0, 0),  EXIT_INSN()};
	const struct bpf_insn unreachable[] = {MOV64_IMM(0, 0), EXIT_INSN(), CALL(2001000000),
					       EXIT_INSN()};
	const struct bpf_insn no_r0[] = {EXIT_INSN()};
	char log[4096];
	long fd;

	assert_int_equal(prog_load_log(*state, BPF_PROG_TYPE_KPROBE, live, 2, 1, log, sizeof(log)),
			 -EINVAL);
	assert_non_null(strstr(log, "invalid func unknown#2001000000"));
	fd =
	    prog_load_log(*state, BPF_PROG_TYPE_KPROBE, dead, ARRAY_LEN(dead), 1, log, sizeof(log));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
	    prog_load_log(*state, BPF_PROG_TYPE_KPROBE, unreachable, 4, 1, log, sizeof(log)),
	    -EINVAL);
	assert_non_null(strstr(log, "unreachable insn 2\n"));
	assert_int_equal(prog_load_log(*state, BPF_PROG_TYPE_KPROBE, no_r0, 1, 1, log, sizeof(log)),
			 -EACCES);
	assert_non_null(strstr(log, "R0 !read_ok"));
}

static void test_gpl_only_helper(void **state)
{
	const struct bpf_insn probe[] = {
	    MOV64_REG(1, 10),
	    ADD64_IMM(1, -8),
	    MOV64_IMM(2, 8),
	    MOV64_IMM(3, 0),
	    CALL(BPF_FUNC_probe_read_kernel),
	    EXIT_INSN(),
	};
	char log[4096];
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.insns = ptr_to_u64(probe);
	a.insn_cnt = ARRAY_LEN(probe);
	a.license = ptr_to_u64("Proprietary");
	a.log_level = 1;
	a.log_buf = ptr_to_u64(log);
	a.log_size = sizeof(log);
	assert_int_equal(emul_test_bpf(*state, BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
	assert_non_null(strstr(log, "cannot call GPL-restricted function"));
}

/* answers of 6.18 for "r0 = 0; exit" of each type */
static void test_prog_types(void **state)
{
	static const struct {
		uint32_t type, eat;
		long ret;
	} cases[] = {
	    {BPF_PROG_TYPE_UNSPEC, 0, -EINVAL},
	    {BPF_PROG_TYPE_KPROBE, 0, 0},
	    {BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0},
	    {BPF_PROG_TYPE_TRACEPOINT, 0, 0},
	    {BPF_PROG_TYPE_PERF_EVENT, 0, 0},
	    {BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0},
	    {BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, 0},
	    {BPF_PROG_TYPE_CGROUP_SOCK, 0, -EINVAL},
	    {BPF_PROG_TYPE_CGROUP_SKB, 2, -EINVAL},
	    {BPF_PROG_TYPE_TRACING, 0, -EINVAL},
	    {BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, -EPERM},
	    {BPF_PROG_TYPE_STRUCT_OPS, 0, -524},
	    {BPF_PROG_TYPE_EXT, 0, -EPERM},
	    {BPF_PROG_TYPE_LSM, 0, -EPERM},
	    {BPF_PROG_TYPE_SYSCALL, 0, -EINVAL},
	    {200, 0, -EINVAL},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		union bpf_attr a;
		long fd;

		memset(&a, 0, sizeof(a));
		a.prog_type = cases[i].type;
		a.expected_attach_type = cases[i].eat;
		a.insns = ptr_to_u64(trivial);
		a.insn_cnt = 2;
		a.license = ptr_to_u64("GPL");
		fd = emul_test_bpf(*state, BPF_PROG_LOAD, &a, sizeof(a));
		if (cases[i].ret) {
			assert_int_equal(fd, cases[i].ret);
		} else {
			assert_true(fd >= 0);
			close(fd);
		}
	}
}

static uint32_t info_of(struct emul_test *t, long fd, struct bpf_prog_info *info)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info = ptr_to_u64(info);
	a.info.info_len = sizeof(*info);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	return a.info.info_len;
}

/* libbpf's global data probe; the tags are the kernel's (6.18) */
static void test_global_data_tag_and_info(void **state)
{
	static const uint8_t trivial_tag[] = {0x59, 0xf4, 0xa9, 0x31, 0x74, 0x4d, 0xcd, 0xc6};
	static const uint8_t global_tag[] = {0xcd, 0xfb, 0x73, 0x95, 0xb3, 0x43, 0xf7, 0x31};
	struct emul_test *t = *state;
	long map = map_create(t, BPF_MAP_TYPE_ARRAY, 4, 32, 1);
	struct bpf_insn gd[] = {LD_MAP_VALUE(1, 0, 16), ST_DW(1, 0, 42), MOV64_IMM(0, 0),
				EXIT_INSN()};
	struct bpf_insn xlated[5];
	struct bpf_prog_info info;
	uint32_t ids[4];
	long fd;

	assert_true(map >= 0);
	gd[0].imm = map;
	fd = prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, gd, ARRAY_LEN(gd));
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 4;
	info.map_ids = ptr_to_u64(ids);
	info.xlated_prog_len = sizeof(xlated);
	info.xlated_prog_insns = ptr_to_u64(xlated);
	assert_int_equal(info_of(t, fd, &info), sizeof(info));
	assert_memory_equal(info.tag, global_tag, 8);
	assert_int_equal(info.type, BPF_PROG_TYPE_SOCKET_FILTER);
	assert_int_equal(info.nr_map_ids, 1);
	assert_int_equal(info.xlated_prog_len, sizeof(xlated));
	assert_int_equal(xlated[0].src_reg, BPF_PSEUDO_MAP_VALUE);
	assert_int_equal(xlated[0].imm, ids[0]);
	assert_int_equal(xlated[1].imm, 16);
	assert_int_equal(info.jited_prog_len, 0);
	close(fd);
	/* a direct value past the value, and not a single-element array */
	gd[1].imm = 32;
	assert_int_equal(prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, gd, ARRAY_LEN(gd)), -EINVAL);
	gd[0].imm = 9999;
	assert_int_equal(prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, gd, ARRAY_LEN(gd)), -EBADF);
	close(map);
	fd = prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 2);
	memset(&info, 0, sizeof(info));
	info_of(t, fd, &info);
	assert_memory_equal(info.tag, trivial_tag, 8);
	close(fd);
}

/* fd_array indexes (BPF_PSEUDO_MAP_IDX) */
static void test_fd_array(void **state)
{
	struct emul_test *t = *state;
	long map = map_create(t, BPF_MAP_TYPE_HASH, 4, 8, 16);
	int fds[2] = {-1, (int)map};
	struct bpf_insn p[] = {LD_MAP_FD(1, 0), MOV64_IMM(0, 0), EXIT_INSN()};
	union bpf_attr a;
	long fd;

	p[0].src_reg = BPF_PSEUDO_MAP_IDX;
	p[0].imm = 1;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.insns = ptr_to_u64(p);
	a.insn_cnt = ARRAY_LEN(p);
	a.license = ptr_to_u64("GPL");
	assert_int_equal(emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a)), -EPROTO);
	a.fd_array = ptr_to_u64(fds);
	fd = emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
	assert_true(fd >= 0);
	close(fd);
	close(map);
}

/* libbpf's libbpf_det_bind probe and the real binds of .rodata */
static void test_bind_map(void **state)
{
	struct emul_test *t = *state;
	long map = map_create(t, BPF_MAP_TYPE_ARRAY, 4, 32, 1);
	long fd = prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER, trivial, 2);
	struct bpf_prog_info info;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_bind_map.prog_fd = fd;
	a.prog_bind_map.map_fd = map;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_BIND_MAP, &a, sizeof(a)), 0);
	assert_int_equal(emul_test_bpf(t, BPF_PROG_BIND_MAP, &a, sizeof(a)), 0);
	memset(&info, 0, sizeof(info));
	info_of(t, fd, &info);
	assert_int_equal(info.nr_map_ids, 1);
	a.prog_bind_map.flags = 1;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_BIND_MAP, &a, sizeof(a)), -EINVAL);
	a.prog_bind_map.flags = 0;
	a.prog_bind_map.map_fd = fd;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_BIND_MAP, &a, sizeof(a)), -EINVAL);
	a.prog_bind_map.prog_fd = -1;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_BIND_MAP, &a, sizeof(a)), -EBADF);
	/* the program keeps the map alive after its fd is closed */
	close(map);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trivial_and_memcg_probe),
	    cmocka_unit_test(test_bad_counts_and_pointers),
	    cmocka_unit_test(test_prog_name),
	    cmocka_unit_test(test_log_rules),
	    cmocka_unit_test(test_bpftrace_helper_probe),
	    cmocka_unit_test(test_probe_read_kernel_probe),
	    cmocka_unit_test(test_unknown_helper_and_dead_code),
	    cmocka_unit_test(test_gpl_only_helper),
	    cmocka_unit_test(test_prog_types),
	    cmocka_unit_test(test_global_data_tag_and_info),
	    cmocka_unit_test(test_fd_array),
	    cmocka_unit_test(test_bind_map),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
