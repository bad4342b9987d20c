// SPDX-License-Identifier: MIT
/*
 * error-inject: makes a user function fail without running it. A uprobe
 * on FUNC's entry in BINARY calls bpf_override_return(): FUNC returns RC
 * to its caller at once (error_inject.bpf.c).
 *
 *   error-inject -b BINARY [-f FUNC] [-r RC] [-p PID] [-d SECONDS] [-v]
 *
 * Prints "error-inject: FUNC in BINARY returns RC" on stderr once
 * attached, runs until SIGINT or SIGTERM (or -d SECONDS), then prints
 * "overrides N" (the calls it overrode) and exits 0.
 *
 * bpftime only (under bpftime-run): the kernel does not let uprobe
 * programs call bpf_override_return(); see README.md.
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

#include "error_inject.skel.h"

struct options {
	const char *binary;
	const char *func;
	long long rc;
	unsigned int pid;      /* 0: every process */
	unsigned int duration; /* seconds; 0: until a signal */
	bool verbose;
};

/* Set by the SIGINT/SIGTERM handler, read by the main loop. */
static volatile sig_atomic_t stop_requested;

/* libbpf's print callback has no context: set once in main(). */
static bool verbose;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level != LIBBPF_WARN && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: error-inject -b BINARY [-f FUNC] [-r RC] [-p PID] [-d SECONDS] [-v]\n"
		     "  -b BINARY   the executable or library holding FUNC\n"
		     "  -f FUNC     the function to fail (default: do_work)\n"
		     "  -r RC       what it returns instead (default: -12, -ENOMEM)\n"
		     "  -p PID      only in this process\n"
		     "  -d SECONDS  exit after SECONDS (default: at SIGINT/SIGTERM)\n"
		     "  -v          libbpf's debug output\n");
}

static int parse_uint(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	char *end;
	int c;

	while ((c = getopt(argc, argv, "b:f:r:p:d:vh")) != -1) {
		switch (c) {
		case 'b':
			o->binary = optarg;
			break;
		case 'f':
			o->func = optarg;
			break;
		case 'r':
			errno = 0;
			o->rc = strtoll(optarg, &end, 0);
			if (errno || end == optarg || *end)
				goto bad;
			break;
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
	if (optind == argc && o->binary)
		return 0;
bad:
	fprintf(stderr, "error-inject: bad argument\n");
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

static unsigned long long read_overrides(const struct error_inject_bpf *skel)
{
	__u64 n = 0;
	__u32 zero = 0;

	if (bpf_map__lookup_elem(skel->maps.overrides, &zero, sizeof(zero), &n, sizeof(n), 0))
		return 0;
	return n;
}

int main(int argc, char **argv)
{
	struct options o = {.func = "do_work", .rc = -ENOMEM};
	LIBBPF_OPTS(bpf_uprobe_opts, uopts);
	struct error_inject_bpf *skel;
	struct bpf_link *link = NULL;
	struct timespec until;
	int err;

	if (parse_options(argc, argv, &o))
		return 2;
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	if (install_signals())
		return 1;

	skel = error_inject_bpf__open();
	if (!skel) {
		fprintf(stderr, "error-inject: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_pid = o.pid;
	skel->rodata->rc = o.rc;
	err = error_inject_bpf__load(skel);
	if (err) {
		fprintf(stderr, "error-inject: loading the BPF object: %s\n", strerror(-err));
		goto out;
	}
	uopts.func_name = o.func;
	link = bpf_program__attach_uprobe_opts(skel->progs.inject, o.pid ? (int)o.pid : -1,
					       o.binary, 0, &uopts);
	if (!link) {
		err = -errno;
		fprintf(stderr, "error-inject: attaching to %s in %s: %s\n", o.func, o.binary,
			strerror(errno));
		goto out;
	}
	fprintf(stderr, "error-inject: %s in %s returns %lld%s; Ctrl-C to stop\n", o.func, o.binary,
		o.rc, o.pid ? " for one process" : "");

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += o.duration;
	while (!stop_requested) {
		if (o.duration) {
			if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == 0)
				break;
		} else {
			pause();
		}
	}
	printf("overrides %llu\n", read_overrides(skel));
	fflush(stdout);
	err = 0;
out:
	bpf_link__destroy(link);
	error_inject_bpf__destroy(skel);
	return err ? 1 : 0;
}
