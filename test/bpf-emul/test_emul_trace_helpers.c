// SPDX-License-Identifier: MIT
/*
 * The tracing helpers the agent runs in targets and the supervisor offers
 * at BPF_PROG_LOAD: override_return, send_signal, send_signal_thread,
 * get_func_ip, get_attach_cookie. Their prototypes (GPL, arguments) and
 * the program types that may call them are the kernel's; run in the
 * supervisor (test runs) they answer as the kernel does there.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "emul-insn.h"

#define ENOTSUPP 524 /* the kernel's, as bpf(2) callers see it */

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

static long load(struct emul_test *t, uint32_t type, uint32_t eat, const char *license,
		 const struct bpf_insn *insns, uint32_t cnt, char *log, uint32_t log_size)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.expected_attach_type = eat;
	a.insns = ptr_to_u64(insns);
	a.insn_cnt = cnt;
	a.license = ptr_to_u64(license);
	a.log_level = log ? 1 : 0;
	a.log_buf = ptr_to_u64(log);
	a.log_size = log_size;
	if (log)
		log[0] = 0;
	return emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
}

/* r1 stays the ctx; r2 = 0 for override_return; then the call, exit */
#define PROG(name, id) const struct bpf_insn name[] = {MOV64_IMM(2, 0), CALL(id), EXIT_INSN()}
#define SIG_PROG(name, id, sig)                                                                    \
	const struct bpf_insn name[] = {MOV64_IMM(1, sig), CALL(id), EXIT_INSN()}

static void loads(struct emul_test *t, uint32_t type, const struct bpf_insn *p)
{
	char log[4096];
	long fd = load(t, type, 0, "GPL", p, 3, log, sizeof(log));

	if (fd < 0)
		fail_msg("type %u, helper %d: %ld: %s", type, p[1].imm, fd, log);
	close((int)fd);
}

static void refused(struct emul_test *t, uint32_t type, const struct bpf_insn *p, long err,
		    const char *msg)
{
	char log[4096];
	long fd = load(t, type, 0, "GPL", p, 3, log, sizeof(log));

	if (fd >= 0)
		close((int)fd);
	assert_int_equal(fd, err);
	if (!strstr(log, msg))
		fail_msg("type %u, helper %d: log \"%s\" lacks \"%s\"", type, p[1].imm, log, msg);
}

/* kprobes (what bpftrace's and libbpf's probes use) may call all five */
static void test_kprobe_loads_all(void **state)
{
	PROG(over, BPF_FUNC_override_return);
	PROG(ip, BPF_FUNC_get_func_ip);
	PROG(cookie, BPF_FUNC_get_attach_cookie);
	SIG_PROG(sig, BPF_FUNC_send_signal, 10);
	SIG_PROG(sig_thread, BPF_FUNC_send_signal_thread, 10);

	loads(*state, BPF_PROG_TYPE_KPROBE, over);
	loads(*state, BPF_PROG_TYPE_KPROBE, ip);
	loads(*state, BPF_PROG_TYPE_KPROBE, cookie);
	loads(*state, BPF_PROG_TYPE_KPROBE, sig);
	loads(*state, BPF_PROG_TYPE_KPROBE, sig_thread);
}

/* the types' func_protos: override_return is kprobe_prog_func_proto()'s;
 * send_signal is bpf_tracing_func_proto()'s; the cookie is there for
 * kprobe, tracepoint, perf_event and raw tracepoint programs */
static void test_per_type(void **state)
{
	struct emul_test *t = *state;
	PROG(over, BPF_FUNC_override_return);
	PROG(ip, BPF_FUNC_get_func_ip);
	PROG(cookie, BPF_FUNC_get_attach_cookie);
	SIG_PROG(sig, BPF_FUNC_send_signal, 10);

	refused(t, BPF_PROG_TYPE_TRACEPOINT, over, -EINVAL,
		"program of this type cannot use helper bpf_override_return#58");
	refused(t, BPF_PROG_TYPE_PERF_EVENT, over, -EINVAL,
		"program of this type cannot use helper bpf_override_return#58");
	refused(t, BPF_PROG_TYPE_SOCKET_FILTER, sig, -EINVAL,
		"program of this type cannot use helper bpf_send_signal#109");
	loads(t, BPF_PROG_TYPE_TRACEPOINT, sig);
	loads(t, BPF_PROG_TYPE_PERF_EVENT, sig);
	loads(t, BPF_PROG_TYPE_RAW_TRACEPOINT, sig);
	loads(t, BPF_PROG_TYPE_TRACEPOINT, cookie);
	loads(t, BPF_PROG_TYPE_PERF_EVENT, cookie);
	loads(t, BPF_PROG_TYPE_RAW_TRACEPOINT, cookie);
	refused(t, BPF_PROG_TYPE_SOCKET_FILTER, cookie, -EINVAL,
		"program of this type cannot use helper bpf_get_attach_cookie#174");
	/* get_func_ip: offered to tracing types, then check_get_func_ip() */
	refused(t, BPF_PROG_TYPE_TRACEPOINT, ip, -ENOTSUPP,
		"func bpf_get_func_ip#173 not supported for program type 5");
	refused(t, BPF_PROG_TYPE_SOCKET_FILTER, ip, -EINVAL,
		"program of this type cannot use helper bpf_get_func_ip#173");
}

/* override_return and the kprobe get_func_ip are GPL-only; the others not */
static void test_gpl(void **state)
{
	struct emul_test *t = *state;
	PROG(over, BPF_FUNC_override_return);
	PROG(ip, BPF_FUNC_get_func_ip);
	PROG(cookie, BPF_FUNC_get_attach_cookie);
	SIG_PROG(sig, BPF_FUNC_send_signal_thread, 10);
	char log[4096];
	long fd;

	assert_int_equal(load(t, BPF_PROG_TYPE_KPROBE, 0, "MIT", over, 3, log, sizeof(log)),
			 -EINVAL);
	assert_non_null(strstr(log, "cannot call GPL-restricted function"));
	assert_int_equal(load(t, BPF_PROG_TYPE_KPROBE, 0, "MIT", ip, 3, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "cannot call GPL-restricted function"));
	fd = load(t, BPF_PROG_TYPE_KPROBE, 0, "MIT", cookie, 3, log, sizeof(log));
	assert_true(fd >= 0);
	close((int)fd);
	fd = load(t, BPF_PROG_TYPE_KPROBE, 0, "MIT", sig, 3, log, sizeof(log));
	assert_true(fd >= 0);
	close((int)fd);
}

/* "call X; exit" probes: the helper is known; r1 is the ctx (anything, for
 * a privileged loader), r2 is not set */
static void test_probe_style(void **state)
{
	const struct bpf_insn sig[] = {CALL(BPF_FUNC_send_signal), EXIT_INSN()};
	const struct bpf_insn over[] = {CALL(BPF_FUNC_override_return), EXIT_INSN()};
	const struct bpf_insn ip[] = {CALL(BPF_FUNC_get_func_ip), EXIT_INSN()};
	char log[4096];
	long fd;

	fd = load(*state, BPF_PROG_TYPE_KPROBE, 0, "GPL", sig, 2, log, sizeof(log));
	assert_true(fd >= 0);
	close((int)fd);
	assert_int_equal(load(*state, BPF_PROG_TYPE_KPROBE, 0, "GPL", over, 2, log, sizeof(log)),
			 -EACCES);
	assert_non_null(strstr(log, "R2 !read_ok"));
	assert_null(strstr(log, "invalid func"));
	fd = load(*state, BPF_PROG_TYPE_KPROBE, 0, "GPL", ip, 2, log, sizeof(log));
	assert_true(fd >= 0);
	close((int)fd);
}

/* a helper we do not have still fails as the verifier's "invalid func" */
static void test_unknown_helper(void **state)
{
	const struct bpf_insn p[] = {MOV64_IMM(2, 0), CALL(BPF_FUNC_get_func_arg_cnt), EXIT_INSN()};
	char log[4096];

	assert_int_equal(load(*state, BPF_PROG_TYPE_KPROBE, 0, "GPL", p, 3, log, sizeof(log)),
			 -EINVAL);
	assert_non_null(strstr(log, "invalid func"));
}

static uint32_t run(struct emul_test *t, const struct bpf_insn *p, uint32_t cnt)
{
	long fd = load(t, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, "GPL", p, cnt, NULL, 0);
	union bpf_attr a;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_TEST_RUN, &a, sizeof(a)), 0);
	close((int)fd);
	return a.test.retval;
}

/* test runs: the signal goes to the caller (here, this process and
 * thread); 0 sends nothing; past _NSIG -EINVAL; no link, no cookie */
static void test_runs(void **state)
{
	struct emul_test *t = *state;
	SIG_PROG(sig0, BPF_FUNC_send_signal, 0);
	SIG_PROG(usr1, BPF_FUNC_send_signal_thread, SIGUSR1);
	SIG_PROG(usr2, BPF_FUNC_send_signal, SIGUSR2);
	SIG_PROG(bad, BPF_FUNC_send_signal, 65);
	PROG(cookie, BPF_FUNC_get_attach_cookie);
	sigset_t block, pending, old;
	int sig;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old), 0);
	assert_int_equal(run(t, sig0, 3), 0);
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGUSR1) || sigismember(&pending, SIGUSR2));
	assert_int_equal(run(t, usr1, 3), 0);
	assert_int_equal(run(t, usr2, 3), 0);
	sigpending(&pending);
	assert_true(sigismember(&pending, SIGUSR1));
	assert_true(sigismember(&pending, SIGUSR2));
	assert_int_equal(sigwait(&block, &sig), 0);
	assert_int_equal(sigwait(&block, &sig), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(run(t, bad, 3), (uint32_t)-EINVAL);
	assert_int_equal(run(t, cookie, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kprobe_loads_all),
	    cmocka_unit_test(test_per_type),
	    cmocka_unit_test(test_gpl),
	    cmocka_unit_test(test_probe_style),
	    cmocka_unit_test(test_unknown_helper),
	    cmocka_unit_test(test_runs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
