// SPDX-License-Identifier: MIT
/*
 * error-inject-sys: makes a syscall fail without making it. A kprobe on
 * openat's wrapper (SEC("ksyscall/openat"), error_inject_sys.bpf.c) calls
 * bpf_override_return() when the path opened is PATH: openat returns RC
 * (an -errno: the caller sees -1 and errno -RC) and the file is not
 * opened (nor created).
 *
 *   error-inject-sys -P PATH [-r RC] [-p PID] [-d SECONDS] [-k FUNC] [-v]
 *
 * -k attaches the program as a kprobe on FUNC instead (the same ctx
 * convention: FUNC's first argument is the user pt_regs), which only a
 * syscall's wrapper __x64_sys_openat can be under bpftime: anything else
 * fails to attach (exit 1, "attaching to FUNC: ..." on stderr).
 *
 * Prints "error-inject-sys: openat of PATH returns RC" on stderr once
 * attached, runs until SIGINT or SIGTERM (or -d SECONDS), then prints
 * "overrides N openat M returned K succeeded S" (the calls it overrode,
 * the openat calls it saw, those whose sys_exit_openat tracepoint saw RC
 * as the result, and those a kretprobe on the wrapper saw succeed) and
 * exits 0. Works on the kernel too (CONFIG_BPF_KPROBE_OVERRIDE).
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

#include "error_inject_sys.skel.h"

struct options {
	const char *path;
	const char *func; /* -k: a kprobe on it instead of ksyscall/openat */
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
	fprintf(out,
		"usage: error-inject-sys -P PATH [-r RC] [-p PID] [-d SECONDS] [-k FUNC] [-v]\n"
		"  -P PATH     the path whose openat fails (as the caller passes it)\n"
		"  -r RC       what openat returns instead (default: -2, -ENOENT)\n"
		"  -p PID      only in this process\n"
		"  -d SECONDS  exit after SECONDS (default: at SIGINT/SIGTERM)\n"
		"  -k FUNC     a kprobe on FUNC instead of ksyscall/openat\n"
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

static int parse_options(int argc, char **argv, struct options *o, size_t path_max)
{
	char *end;
	int c;

	while ((c = getopt(argc, argv, "P:r:p:d:k:vh")) != -1) {
		switch (c) {
		case 'k':
			o->func = optarg;
			break;
		case 'P':
			o->path = optarg;
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
	if (optind == argc && o->path && strlen(o->path) < path_max)
		return 0;
bad:
	fprintf(stderr, "error-inject-sys: bad argument\n");
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

static unsigned long long read_count(const struct error_inject_sys_bpf *skel, __u32 key)
{
	__u64 n = 0;

	if (bpf_map__lookup_elem(skel->maps.counts, &key, sizeof(key), &n, sizeof(n), 0))
		return 0;
	return n;
}

static void wait_until_stopped(unsigned int duration)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += duration;
	while (!stop_requested) {
		if (duration) {
			if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == 0)
				break;
		} else {
			pause();
		}
	}
}

int main(int argc, char **argv)
{
	struct options o = {.rc = -ENOENT};
	struct error_inject_sys_bpf *skel;
	int err;

	if (parse_options(argc, argv, &o, sizeof(skel->rodata->target_path)))
		return 2;
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	if (install_signals())
		return 1;

	skel = error_inject_sys_bpf__open();
	if (!skel) {
		fprintf(stderr, "error-inject-sys: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_pid = o.pid;
	skel->rodata->rc = o.rc;
	memcpy((char *)skel->rodata->target_path, o.path, strlen(o.path) + 1);
	err = error_inject_sys_bpf__load(skel);
	if (err) {
		fprintf(stderr, "error-inject-sys: loading the BPF object: %s\n", strerror(-err));
		goto out;
	}
	if (o.func) {
		bpf_program__set_autoattach(skel->progs.inject_openat, false);
		skel->links.inject_openat =
		    bpf_program__attach_kprobe(skel->progs.inject_openat, false, o.func);
		if (!skel->links.inject_openat) {
			err = -errno;
			fprintf(stderr, "error-inject-sys: attaching to %s: %s\n", o.func,
				strerror(-err));
			goto out;
		}
	}
	/* SEC("ksyscall/openat"): a kprobe on __x64_sys_openat (unless -k);
	 * the kretprobe on it and the sys_exit_openat tracepoint */
	err = error_inject_sys_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "error-inject-sys: attaching to openat: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "error-inject-sys: openat of %s returns %lld%s; Ctrl-C to stop\n", o.path,
		o.rc, o.pid ? " for one process" : "");
	wait_until_stopped(o.duration);
	printf("overrides %llu openat %llu returned %llu succeeded %llu\n", read_count(skel, 0),
	       read_count(skel, 1), read_count(skel, 2), read_count(skel, 3));
	fflush(stdout);
	err = 0;
out:
	error_inject_sys_bpf__destroy(skel);
	return err ? 1 : 0;
}
