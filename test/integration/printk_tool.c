// SPDX-License-Identifier: MIT
/*
 * printk-tool: a libbpf tool as libbpf-bootstrap's minimal example is, for
 * the trace_pipe test (printk_test.sh): it attaches printk_tool.bpf.c's
 * program (bpf_printk("hello %d", arg1)) to FUNC in BINARY, says
 * "printk-tool: attached" on stderr, then reads the trace_pipe as
 * `cat /sys/kernel/debug/tracing/trace_pipe` does and copies its lines to
 * stdout until N lines with "hello" came (or SECONDS passed).
 *
 *   printk-tool -b BINARY -f FUNC [-p PID] -n N [-d SECONDS] [-q]
 *
 * -q: attach, do not read; wait for SIGINT/SIGTERM (or SECONDS).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "printk_tool.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static int open_trace_pipe(void)
{
	int fd = open("/sys/kernel/debug/tracing/trace_pipe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fd = open("/sys/kernel/tracing/trace_pipe", O_RDONLY | O_CLOEXEC);
	return fd;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts);
	const char *binary = NULL, *func = NULL;
	struct printk_tool_bpf *skel;
	struct bpf_link *link = NULL;
	int pid = -1, want = 0, seconds = 20, opt, fd, got = 0, err = 1, quiet = 0;
	char buf[8192], *nl;
	size_t have = 0;
	time_t end;

	while ((opt = getopt(argc, argv, "b:f:p:n:d:q")) != -1) {
		switch (opt) {
		case 'b':
			binary = optarg;
			break;
		case 'f':
			func = optarg;
			break;
		case 'p':
			pid = atoi(optarg);
			break;
		case 'n':
			want = atoi(optarg);
			break;
		case 'd':
			seconds = atoi(optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return 2;
		}
	}
	if (!binary || !func || want <= 0) {
		fprintf(stderr,
			"usage: printk-tool -b BINARY -f FUNC [-p PID] -n N [-d SECONDS]\n");
		return 2;
	}
	libbpf_set_print(libbpf_print);
	skel = printk_tool_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "printk-tool: load: %s\n", strerror(errno));
		return 1;
	}
	uopts.func_name = func;
	link = bpf_program__attach_uprobe_opts(skel->progs.say_hello, pid, binary, 0, &uopts);
	if (!link) {
		fprintf(stderr, "printk-tool: attach %s in %s: %s\n", func, binary,
			strerror(errno));
		goto out;
	}
	if (quiet) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		fprintf(stderr, "printk-tool: attached\n");
		end = time(NULL) + seconds;
		while (!stop && time(NULL) < end)
			usleep(10000);
		err = 0;
		goto out;
	}
	fd = open_trace_pipe();
	if (fd < 0) {
		fprintf(stderr, "printk-tool: trace_pipe: %s\n", strerror(errno));
		goto out;
	}
	fprintf(stderr, "printk-tool: attached\n");
	end = time(NULL) + seconds;
	while (got < want && time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0) {
			fprintf(stderr, "printk-tool: read: %s\n", n ? strerror(errno) : "EOF");
			break;
		}
		have += (size_t)n;
		buf[have] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			printf("%s\n", buf);
			got += strstr(buf, "bpf_trace_printk: hello ") != NULL;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		fflush(stdout);
	}
	close(fd);
	err = got < want;
	fprintf(stderr, "printk-tool: %d line(s)\n", got);
out:
	bpf_link__destroy(link);
	printk_tool_bpf__destroy(skel);
	return err;
}
