// SPDX-License-Identifier: MIT
/*
 * The session's trace_pipe (emul-tracepipe.c): <tracefs>/trace_pipe opens
 * are pipes fed with the session's bpf_trace_printk lines, as a stream,
 * consumed as the kernel's trace_pipe is (a line goes to one reader, lines
 * from before an open are delivered when no one read them); programs run
 * in the supervisor write their lines there; the tools see EOF when the
 * session ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "emul-insn.h"
#include "emul-tracepipe.h"

#define DBG "/sys/kernel/debug/tracing"
#define TFS "/sys/kernel/tracing"

static int setup(void **state)
{
	static struct emul_test t;

	emul_test_setup(&t);
	*state = &t;
	return 0;
}

static void remove_files(struct emul_test *t)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/trace_pipe", t->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/trace_pipe.pos", t->dir);
	unlink(p);
}

static int teardown(void **state)
{
	struct emul_test *t = *state;

	/* the emulator's free removes the session directory: empty it first */
	remove_files(t);
	emul_test_teardown(t);
	return 0;
}

static long open_tp(struct emul_test *t, const char *path, int flags)
{
	return bpftime_emul__openat(t->e, &t->caller, AT_FDCWD, ptr_to_u64(path), flags, 0);
}

/* What @fd has within @ms (one read), "" when nothing came. */
static void read_some(long fd, char *buf, size_t size, int ms)
{
	struct pollfd p = {.fd = (int)fd, .events = POLLIN};
	ssize_t n = 0;

	if (poll(&p, 1, ms) > 0)
		n = read((int)fd, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* Read until @want lines came (or 3 s passed). */
static void read_lines(long fd, char *buf, size_t size, int want)
{
	size_t got = 0;
	int lines = 0;

	buf[0] = 0;
	for (int i = 0; i < 300 && lines < want; i++) {
		read_some(fd, buf + got, size - got, 10);
		for (char *c = buf + got; *c; c++)
			lines += *c == '\n';
		got += strlen(buf + got);
	}
}

static void assert_match(const char *s, const char *re)
{
	regex_t r;
	int ok;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	if (!ok)
		fail_msg("'%s' does not match '%s'", s, re);
}

static void test_stream(void **state)
{
	struct emul_test *t = *state;
	char buf[4096], buf2[4096];
	long a, b;

	/* before the open: still delivered (no one consumed it) */
	emul_tracepipe_printk(t->e, "tool", 42, 3, "hello 1", 7);
	a = open_tp(t, DBG "/trace_pipe", O_RDONLY | O_CLOEXEC);
	assert_true(a >= 0);
	assert_true(fcntl((int)a, F_GETFD) & FD_CLOEXEC);
	read_lines(a, buf, sizeof(buf), 1);
	assert_match(buf, "^            tool-42      \\[003\\] \\.\\.\\.\\.\\. +[0-9]+\\.[0-9]{6}: "
			  "bpf_trace_printk: hello 1\n$");
	/* after: streamed; a newline of the text's own is not doubled */
	emul_tracepipe_printk(t->e, "tool", 42, 0, "hello 2\n", 8);
	emul_tracepipe_printk(t->e, NULL, 0, 1, "hello 3", 7);
	read_lines(a, buf, sizeof(buf), 2);
	assert_match(buf, "bpf_trace_printk: hello 2\n.*<idle>-0 .*bpf_trace_printk: hello 3\n$");
	/* a second reader gets nothing consumed; a new line goes to one reader */
	b = open_tp(t, TFS "/trace_pipe", O_RDONLY);
	assert_true(b >= 0);
	read_some(b, buf2, sizeof(buf2), 100);
	assert_string_equal(buf2, "");
	emul_tracepipe_printk(t->e, "x", 1, 0, "once", 4);
	read_some(a, buf, sizeof(buf), 500);
	read_some(b, buf2, sizeof(buf2), 100);
	assert_int_equal(!!strstr(buf, "once") + !!strstr(buf2, "once"), 1);
	close((int)a);
	/* the closed reader's thread goes; the other one still streams */
	emul_tracepipe_printk(t->e, "x", 1, 0, "again", 5);
	read_lines(b, buf2, sizeof(buf2), 1);
	assert_non_null(strstr(buf2, "again"));
	close((int)b);
	/* all consumed: nothing left for `bpftime trace` */
	assert_int_equal(bpftime_trace_pipe_consume(t->dir, STDOUT_FILENO), 0);
}

static void test_open_modes(void **state)
{
	struct emul_test *t = *state;
	char buf[64];
	long fd;

	assert_int_equal(open_tp(t, DBG "/trace_pipe", O_WRONLY), -EACCES);
	assert_int_equal(open_tp(t, DBG "/trace_pipe", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	assert_int_equal(bpftime_emul__faccessat(t->e, &t->caller, AT_FDCWD,
						 ptr_to_u64(TFS "/trace_pipe"), R_OK, 0),
			 0);
	fd = open_tp(t, TFS "/trace_pipe", O_RDONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(read((int)fd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	close((int)fd);
}

/* the session ends: readers see EOF */
static void test_eof_at_end(void **state)
{
	struct emul_test *t = *state;
	char buf[64];
	long fd = open_tp(t, DBG "/trace_pipe", O_RDONLY);

	assert_true(fd >= 0);
	remove_files(t);
	emul_test_teardown(t);
	assert_int_equal(read((int)fd, buf, sizeof(buf)), 0);
	close((int)fd);
	emul_test_setup(t);
}

/* a program run in the supervisor (PROG_TEST_RUN): its line is the
 * caller's (this thread) */
static void test_supervisor_printk(void **state)
{
	struct emul_test *t = *state;
	/* "hi %d" on the stack, bpf_trace_printk(fmt, 6, 7) */
	const struct bpf_insn p[] = {ST_W(10, -8, 0x25206968),
				     ST_W(10, -4, 0x64),
				     MOV64_REG(1, 10),
				     ADD64_IMM(1, -8),
				     MOV64_IMM(2, 6),
				     MOV64_IMM(3, 7),
				     CALL(BPF_FUNC_trace_printk),
				     EXIT_INSN()};
	long prog = prog_load(t, BPF_PROG_TYPE_RAW_TRACEPOINT, p, ARRAY_LEN(p));
	long fd = open_tp(t, DBG "/trace_pipe", O_RDONLY);
	char buf[1024], re[256];
	union bpf_attr a;

	assert_true(prog >= 0);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)prog;
	assert_int_equal(emul_test_bpf(t, BPF_PROG_TEST_RUN, &a, sizeof(a)), 0);
	assert_int_equal(a.test.retval, 4); /* the text's length */
	read_lines(fd, buf, sizeof(buf), 1);
	snprintf(re, sizeof(re),
		 "^ +[^ ]+-%-7d \\[[0-9]{3}\\] \\.{5} +[0-9]+\\.[0-9]{6}: "
		 "bpf_trace_printk: hi 7\n$",
		 (int)gettid());
	assert_match(buf, re);
	close((int)fd);
	close((int)prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_open_modes),
	    cmocka_unit_test(test_eof_at_end),
	    cmocka_unit_test(test_supervisor_printk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
