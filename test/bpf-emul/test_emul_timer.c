// SPDX-License-Identifier: MIT
/*
 * CPU clock events run their PERF_EVENT program on a timer (emul-timer.c):
 * about once per period, only while enabled, never after a disable, a
 * close or the end of the session; on the event's CPU, as the idle task,
 * with a struct bpf_perf_event_data context.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>
#include <sys/ioctl.h>
#include <linux/bpf_perf_event.h>
#include "emul-insn.h"
#include "emul-pf-test.h"

#define MS        1000000ull
#define PERIOD_MS 10

#define LDX_DW(d, s, o)  INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX_DW(d, s, o)  INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define JEQ_IMM(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)

/* What the program records in the array's one value. */
struct tick_value {
	uint64_t count;
	uint64_t cpu;           /* bpf_get_smp_processor_id() */
	uint64_t sample_period; /* ctx->sample_period */
	uint64_t pid_tgid;      /* bpf_get_current_pid_tgid() */
	uint64_t regs_ip;       /* ctx->regs.ip */
	char comm[16];          /* bpf_get_current_comm() */
};

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

/* value[0].count++, then the other fields of struct tick_value */
static long load_prog(struct emul_test *t, long map)
{
	struct bpf_insn p[] = {
	    MOV64_REG(6, 1),
	    ST_W(10, -4, 0),
	    LD_MAP_FD(1, 0),
	    MOV64_REG(2, 10),
	    ADD64_IMM(2, -4),
	    CALL(BPF_FUNC_map_lookup_elem),
	    JEQ_IMM(0, 0, 16),
	    MOV64_REG(7, 0),
	    LDX_DW(1, 7, 0),
	    ADD64_IMM(1, 1),
	    STX_DW(7, 1, 0),
	    CALL(BPF_FUNC_get_smp_processor_id),
	    STX_DW(7, 0, 8),
	    LDX_DW(1, 6, offsetof(struct bpf_perf_event_data, sample_period)),
	    STX_DW(7, 1, 16),
	    CALL(BPF_FUNC_get_current_pid_tgid),
	    STX_DW(7, 0, 24),
	    LDX_DW(1, 6, offsetof(struct pt_regs, rip)),
	    STX_DW(7, 1, 32),
	    MOV64_REG(1, 7),
	    ADD64_IMM(1, offsetof(struct tick_value, comm)),
	    MOV64_IMM(2, 16),
	    CALL(BPF_FUNC_get_current_comm),
	    MOV64_IMM(0, 0),
	    EXIT_INSN(),
	};

	p[2].imm = (int32_t)map;
	return prog_load(t, BPF_PROG_TYPE_PERF_EVENT, p, ARRAY_LEN(p));
}

static void read_value(struct emul_test *t, long map, struct tick_value *v)
{
	uint32_t key = 0;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	memset(v, 0, sizeof(*v));
	a.map_fd = (uint32_t)map;
	a.key = ptr_to_u64(&key);
	a.value = ptr_to_u64(v);
	assert_int_equal(emul_test_bpf(t, BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)), 0);
}

static uint64_t count(struct emul_test *t, long map)
{
	struct tick_value v;

	read_value(t, map, &v);
	return v.count;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * (long)MS};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long ioc(struct emul_test *t, long fd, unsigned long req, uint64_t arg)
{
	return bpftime_emul__ioctl(t->e, &t->caller, (int)fd, req, arg);
}

/* bpftrace's interval event (pid -1, one CPU), disabled if asked */
static long open_clock(struct emul_test *t, int cpu, bool disabled)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = PERIOD_MS * MS;
	a.disabled = disabled;
	return pf_open_event(t, &a, -1, cpu, PERF_FLAG_FD_CLOEXEC);
}

static long new_map(struct emul_test *t)
{
	long map = map_create(t, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct tick_value), 1);

	assert_true(map >= 0);
	return map;
}

/* the last CPU: not the CPU slot a test run would take (0) */
static int test_cpu(struct emul_test *t)
{
	return (int)bpftime_map_region__nr_cpus(t->e->region) - 1;
}

/* About one run per period while enabled (generous bounds: the machine
 * may be loaded), none while disabled, none after a close. */
static void test_runs_while_enabled(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev = open_clock(t, test_cpu(t), true);
	struct tick_value v;
	uint64_t n;

	assert_true(prog >= 0);
	assert_true(ev >= 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	sleep_ms(5 * PERIOD_MS);
	assert_int_equal(count(t, map), 0); /* attr.disabled */
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_ENABLE, 0), 0);
	sleep_ms(20 * PERIOD_MS + PERIOD_MS / 2);
	n = count(t, map);
	assert_true(n >= 8 && n <= 21);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_DISABLE, 0), 0);
	n = count(t, map); /* no run after DISABLE returned */
	sleep_ms(5 * PERIOD_MS);
	assert_int_equal(count(t, map), n);
	/* the context, the CPU, the idle task */
	read_value(t, map, &v);
	assert_int_equal(v.cpu, test_cpu(t));
	assert_int_equal(v.sample_period, PERIOD_MS * MS);
	assert_int_equal(v.pid_tgid, 0);
	assert_int_equal(v.regs_ip, 0);
	{
		char want[16];

		snprintf(want, sizeof(want), "swapper/%d", test_cpu(t) % 1000);
		assert_string_equal(v.comm, want);
	}
	/* enabled again, then closed: the close stops it */
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_ENABLE, 0), 0);
	sleep_ms(5 * PERIOD_MS);
	assert_true(count(t, map) > n);
	close((int)ev);
	bpftime_emul__process_events(t->e);
	if (bpftime_emul__event_fd(t->e) >= 0) {
		n = count(t, map);
		sleep_ms(5 * PERIOD_MS);
		assert_int_equal(count(t, map), n);
	}
	close((int)prog);
	close((int)map);
}

/* A perf link runs the program too; closing the link stops it while the
 * event stays enabled (bpf_perf_link_release()). */
static void test_link(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev = open_clock(t, 0, false), link;
	union bpf_attr a;
	uint64_t n;

	assert_true(prog >= 0 && ev >= 0);
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)ev;
	a.link_create.attach_type = BPF_PERF_EVENT;
	link = emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a));
	assert_true(link >= 0);
	sleep_ms(10 * PERIOD_MS);
	n = count(t, map);
	assert_true(n >= 3 && n <= 11);
	close((int)link);
	bpftime_emul__process_events(t->e);
	if (bpftime_emul__event_fd(t->e) >= 0) {
		n = count(t, map);
		sleep_ms(5 * PERIOD_MS);
		assert_int_equal(count(t, map), n);
		assert_null(pf_obj(t, (int)ev)->perf.prog);
	}
	close((int)ev);
	close((int)prog);
	close((int)map);
}

/* attr.freq: a fixed period of NSEC_PER_SEC / sample_freq, as
 * perf_swevent_init_hrtimer(), which also clears attr.freq. */
static void test_freq(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev;
	struct perf_event_attr a;
	struct tick_value v;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.freq = 1;
	a.sample_freq = 200;
	ev = pf_open_event(t, &a, -1, 0, 0);
	assert_true(ev >= 0);
	assert_int_equal(pf_obj(t, (int)ev)->perf.sample_period, 5 * MS);
	assert_int_equal(((struct perf_event_attr *)pf_obj(t, (int)ev)->perf.attr.bytes)->freq, 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	sleep_ms(50);
	read_value(t, map, &v);
	assert_true(v.count >= 4 && v.count <= 11);
	assert_int_equal(v.sample_period, 5 * MS);
	assert_int_equal(v.cpu, 0);
	close((int)ev);
	close((int)prog);
	close((int)map);
}

/* PERF_EVENT_IOC_PERIOD restarts the timer with the new period. */
static void test_period(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev = open_clock(t, 0, false);
	uint64_t period = 1000 * MS, n;

	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	sleep_ms(5 * PERIOD_MS);
	assert_true(count(t, map) >= 1);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_PERIOD, ptr_to_u64(&period)), 0);
	n = count(t, map);
	sleep_ms(5 * PERIOD_MS);
	assert_int_equal(count(t, map), n); /* the next tick is a second away */
	close((int)ev);
	close((int)prog);
	close((int)map);
}

/* The idle task is in kernel mode: events excluding it or the kernel
 * never run their program (perf_swevent_hrtimer() on an idle CPU). */
static void test_exclude_idle(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev;
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = PERIOD_MS * MS;
	a.exclude_idle = 1;
	ev = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	sleep_ms(5 * PERIOD_MS);
	assert_int_equal(count(t, map), 0);
	close((int)ev);
	close((int)prog);
	close((int)map);
}

/* The session ends with the timer running: it stops before objects go
 * (a use after free would show under the sanitizers). */
static void test_free_while_running(void **state)
{
	struct emul_test *t = *state;
	long map = new_map(t), prog = load_prog(t, map), ev;
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = 20000; /* 20 us: ticks all the time */
	ev = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	sleep_ms(20);
	assert_true(count(t, map) > 0);
	bpftime_emul__free(t->e);
	t->e = NULL;
	close((int)ev);
	close((int)prog);
	close((int)map);
	pf_setup(t, ""); /* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_runs_while_enabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_freq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_period, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exclude_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_while_running, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
