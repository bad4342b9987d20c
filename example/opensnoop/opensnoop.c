// SPDX-License-Identifier: MIT
/*
 * opensnoop: prints every openat(2) call as it completes,
 *
 *   PID COMM RET PATH
 *
 * one line per call (RET is the new fd or -errno), until SIGINT or SIGTERM
 * (or -d SECONDS); then it prints the events still buffered, detaches and
 * exits 0.
 *
 *   opensnoop [-p PID] [-d SECONDS] [-v]
 *
 * An ordinary libbpf tool: the BPF side is opensnoop.bpf.c (two syscall
 * tracepoints, a HASH and a RINGBUF), opened through the skeleton that
 * `bpftool gen skeleton` made at build time, and read with libbpf's
 * ring_buffer consumer. It runs against the kernel's eBPF as root, and
 * unchanged under bpftime-run.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "opensnoop.h"
#include "opensnoop.skel.h"

struct options {
	unsigned int pid;      /* 0: every process */
	unsigned int duration; /* seconds; 0: until a signal */
	bool verbose;
};

/*
 * Set by the SIGINT/SIGTERM handler, read by the main loop (a signal handler
 * has no context argument).
 */
static volatile sig_atomic_t stop_requested;

/* The log level for libbpf's print callback: set once in main() before any libbpf call. */
static bool verbose;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* libbpf's warnings always; its info and debug lines with -v. */
	if (level != LIBBPF_WARN && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: opensnoop [-p PID] [-d SECONDS] [-v]\n"
		     "  -p PID      trace only this process\n"
		     "  -d SECONDS  exit after SECONDS (default: at SIGINT/SIGTERM)\n"
		     "  -v          libbpf's debug output\n");
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt(argc, argv, "p:d:vh")) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, &o->pid) || !o->pid)
				goto bad;
			break;
		case 'd':
			if (parse_uint(optarg, &o->duration))
				goto bad;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind == argc)
		return 0;
bad:
	fprintf(stderr, "opensnoop: bad argument\n");
	usage(stderr);
	return -EINVAL;
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct opensnoop_event *e = data;
	char comm[OPENSNOOP_COMM_LEN + 1], path[OPENSNOOP_PATH_LEN + 1];

	/* A record is exactly one event; anything else is not ours to print. */
	if (size < sizeof(*e))
		return 0;
	memcpy(comm, e->comm, OPENSNOOP_COMM_LEN);
	comm[OPENSNOOP_COMM_LEN] = '\0';
	memcpy(path, e->path, OPENSNOOP_PATH_LEN);
	path[OPENSNOOP_PATH_LEN] = '\0';
	printf("%u %s %lld %s\n", e->pid, comm, (long long)e->ret, path);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Polls the ring buffer until a signal or the end of the duration. */
static int run(struct opensnoop_bpf *skel, const struct options *o)
{
	long long deadline = o->duration ? now_ms() + o->duration * 1000LL : 0;
	struct ring_buffer *rb;
	int err = 0;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "opensnoop: reading the ring buffer: %s\n", strerror(-err));
		return err;
	}
	printf("PID COMM RET PATH\n");
	fflush(stdout);
	fprintf(stderr, "opensnoop: tracing openat(2)%s; Ctrl-C to stop\n",
		o->pid ? " of one process" : "");
	while (!stop_requested) {
		long long left = deadline ? deadline - now_ms() : 100;

		if (left <= 0)
			break;
		err = ring_buffer__poll(rb, left < 100 ? (int)left : 100);
		if (err == -EINTR)
			err = 0;
		if (err < 0) {
			fprintf(stderr, "opensnoop: polling the ring buffer: %s\n", strerror(-err));
			break;
		}
		err = 0;
		fflush(stdout);
	}
	/* What the programs wrote before the detach is still worth printing. */
	if (!err)
		ring_buffer__consume(rb);
	fflush(stdout);
	ring_buffer__free(rb);
	return err;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct opensnoop_bpf *skel;
	int err;

	if (parse_options(argc, argv, &o))
		return 2;
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	if (install_signals())
		return 1;

	skel = opensnoop_bpf__open();
	if (!skel) {
		fprintf(stderr, "opensnoop: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_pid = o.pid;
	err = opensnoop_bpf__load(skel);
	if (err) {
		fprintf(stderr,
			"opensnoop: loading the BPF object: %s (needs root and kernel eBPF, "
			"or bpftime-run)\n",
			strerror(-err));
		goto out;
	}
	err = opensnoop_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "opensnoop: attaching the tracepoints: %s\n", strerror(-err));
		goto out;
	}
	err = run(skel, &o);
out:
	opensnoop_bpf__destroy(skel);
	return err ? 1 : 0;
}
