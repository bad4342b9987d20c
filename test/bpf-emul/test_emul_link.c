// SPDX-License-Identifier: MIT
/* BPF_LINK_CREATE with BPF_PERF_EVENT, and the answers 6.18 gives for the
 * probes tools make (libbpf's FEAT_PERF_LINK, bpftrace's kprobe_multi). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include "emul-insn.h"
#include "emul-internal.h"

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

/* a perf event object as emul-perf.c makes them, with an fd of ours */
static int perf_event(struct emul_test *t, enum emul_perf_kind kind)
{
	struct emul_obj *o = emul_obj_new(t->e, EMUL_OBJ_PERF, "perf", NULL);

	assert_non_null(o);
	o->perf.kind = kind;
	o->perf.pid = -1;
	assert_int_equal(emul_obj_add(t->e, o), 0);
	return emul_obj_install(t->e, &t->caller, o, O_CLOEXEC);
}

static long link_create(struct emul_test *t, long prog, long target, uint32_t attach)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = prog;
	a.link_create.target_fd = target;
	a.link_create.attach_type = attach;
	a.link_create.perf_event.bpf_cookie = 77;
	return emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a));
}

static void test_feat_perf_link_probe(void **state)
{
	struct emul_test *t = *state;
	long prog = prog_load(t, BPF_PROG_TYPE_TRACEPOINT, trivial, 2);

	assert_true(prog >= 0);
	assert_int_equal(link_create(t, prog, -1, BPF_PERF_EVENT), -EBADF);
	assert_int_equal(link_create(t, prog, 0, BPF_PERF_EVENT), -EBADF);    /* not perf */
	assert_int_equal(link_create(t, prog, prog, BPF_PERF_EVENT), -EBADF); /* a prog */
	assert_int_equal(link_create(t, prog, -1, BPF_TRACE_KPROBE_MULTI), -EINVAL);
	assert_int_equal(link_create(t, -1, -1, BPF_PERF_EVENT), -EBADF);
	close(prog);
}

static void test_kprobe_multi_probe(void **state)
{
	struct emul_test *t = *state;
	union bpf_attr a;
	long prog;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.expected_attach_type = BPF_TRACE_KPROBE_MULTI;
	a.insns = ptr_to_u64(trivial);
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	prog = emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
	assert_true(prog >= 0);
	assert_int_equal(link_create(t, prog, -1, BPF_TRACE_KPROBE_MULTI), -EOPNOTSUPP);
	assert_int_equal(link_create(t, prog, -1, BPF_PERF_EVENT), -EINVAL);
	close(prog);
}

static void test_perf_link(void **state)
{
	struct emul_test *t = *state;
	int tp = perf_event(t, EMUL_PERF_TRACEPOINT), up = perf_event(t, EMUL_PERF_UPROBE);
	int clk = perf_event(t, EMUL_PERF_CPU_CLOCK);
	long tprog = prog_load(t, BPF_PROG_TYPE_TRACEPOINT, trivial, 2);
	long kprog = prog_load(t, BPF_PROG_TYPE_KPROBE, trivial, 2);
	long pprog = prog_load(t, BPF_PROG_TYPE_PERF_EVENT, trivial, 2);
	struct bpf_link_info info;
	union bpf_attr a;
	long link, l2;

	link = link_create(t, tprog, tp, BPF_PERF_EVENT);
	assert_true(link >= 0);
	assert_int_equal(link_create(t, tprog, tp, BPF_PERF_EVENT), -EEXIST);
	assert_int_equal(link_create(t, kprog, tp, BPF_PERF_EVENT), -EINVAL);
	assert_int_equal(link_create(t, tprog, up, BPF_PERF_EVENT), -EINVAL);
	assert_int_equal(link_create(t, kprog, clk, BPF_PERF_EVENT), -EINVAL);
	l2 = link_create(t, kprog, up, BPF_PERF_EVENT);
	assert_true(l2 >= 0);
	close(l2);
	l2 = link_create(t, pprog, clk, BPF_PERF_EVENT);
	assert_true(l2 >= 0);
	close(l2);
	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = link;
	a.info.info = ptr_to_u64(&info);
	a.info.info_len = sizeof(info);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_int_equal(info.type, BPF_LINK_TYPE_PERF_EVENT);
	assert_true(info.id >= 1);
	assert_true(info.prog_id >= 1);
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = tprog;
	a.link_create.target_fd = up;
	a.link_create.attach_type = BPF_PERF_EVENT;
	a.link_create.flags = 1;
	assert_int_equal(emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a)), -EINVAL);
	close(link);
	close(tprog);
	close(kprog);
	close(pprog);
	close(tp);
	close(up);
	close(clk);
}

/* 6.18's perf_event link info: the kind, the name (its length always;
 * the bytes when asked, -ENOSPC when they do not fit), offset and cookie */
static void test_perf_link_info(void **state)
{
	struct emul_test *t = *state;
	int up = perf_event(t, EMUL_PERF_UPROBE);
	long kprog = prog_load(t, BPF_PROG_TYPE_KPROBE, trivial, 2), link;
	struct emul_obj *o = NULL;
	uint8_t info[64];
	uint32_t u32;
	uint64_t u64;
	char name[64];
	union bpf_attr a;

	/* the uprobe: path and offset as perf_event_open set them */
	for (uint32_t i = 0; i < t->e->nr_objs; i++)
		if (t->e->objs[i]->type == EMUL_OBJ_PERF && !t->e->objs[i]->perf.path)
			o = t->e->objs[i];
	assert_non_null(o);
	o->perf.path = strdup("/bin/true");
	o->perf.offset = 0x1234;
	o->perf.retprobe = true;
	link = link_create(t, kprog, up, BPF_PERF_EVENT);
	assert_true(link >= 0);
	memset(info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = link;
	a.info.info = ptr_to_u64(info);
	a.info.info_len = sizeof(info);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_int_equal(a.info.info_len, 64);
	memcpy(&u32, info + 16, 4);
	assert_int_equal(u32, 2); /* BPF_PERF_EVENT_URETPROBE */
	memcpy(&u32, info + 32, 4);
	assert_int_equal(u32, strlen("/bin/true") + 1);
	memcpy(&u32, info + 36, 4);
	assert_int_equal(u32, 0x1234);
	memcpy(&u64, info + 40, 8);
	assert_int_equal(u64, 77);
	/* with a buffer: the name; too short: truncated and -ENOSPC */
	memset(info, 0, sizeof(info));
	u64 = ptr_to_u64(name);
	memcpy(info + 24, &u64, 8);
	u32 = sizeof(name);
	memcpy(info + 32, &u32, 4);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0);
	assert_string_equal(name, "/bin/true");
	u32 = 4;
	memcpy(info + 32, &u32, 4);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), -ENOSPC);
	assert_string_equal(name, "/bi");
	/* a name buffer without a length, or the reverse: -EINVAL */
	u32 = 0;
	memcpy(info + 32, &u32, 4);
	assert_int_equal(emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), -EINVAL);
	close(link);
	close(kprog);
	close(up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feat_perf_link_probe),
	    cmocka_unit_test(test_kprobe_multi_probe),
	    cmocka_unit_test(test_perf_link),
	    cmocka_unit_test(test_perf_link_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
