// SPDX-License-Identifier: MIT
/*
 * malloc-counter: counts malloc() calls per process with a uprobe on libc's
 * malloc, and prints the totals every second:
 *
 *   # HH:MM:SS
 *   PID COUNT          one line per process, largest count first
 *
 * until SIGINT or SIGTERM (or -d SECONDS), then prints them once more,
 * detaches and exits 0. Counts are totals since the start.
 *
 *   malloc-counter [-p PID] [-d SECONDS] [-l LIBC] [-v]
 *
 * An ordinary libbpf tool: the BPF side is malloc_counter.bpf.c, opened
 * through the skeleton that `bpftool gen skeleton` made at build time. It
 * runs against the kernel's eBPF as root, and unchanged under bpftime-run.
 *
 * libc's path: -l, else the libc mapped by the traced process (-p) or by
 * this one (/proc/PID/maps), else the name "libc.so.6", which libbpf looks
 * up in its library directories (a static build maps no libc of its own).
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

#include "malloc_counter.h"
#include "malloc_counter.skel.h"

struct options {
	unsigned int pid;      /* 0: every process */
	unsigned int duration; /* seconds; 0: until a signal */
	const char *libc;      /* NULL: found as described above */
	bool verbose;
};

struct pid_count {
	__u32 pid;
	__u64 count;
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
	fprintf(out, "usage: malloc-counter [-p PID] [-d SECONDS] [-l LIBC] [-v]\n"
		     "  -p PID      count only this process\n"
		     "  -d SECONDS  exit after SECONDS (default: at SIGINT/SIGTERM)\n"
		     "  -l LIBC     path of the libc whose malloc to probe\n"
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

	while ((c = getopt(argc, argv, "p:d:l:vh")) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, &o->pid) || !o->pid)
				goto bad;
			break;
		case 'd':
			if (parse_uint(optarg, &o->duration))
				goto bad;
			break;
		case 'l':
			o->libc = optarg;
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
	fprintf(stderr, "malloc-counter: bad argument\n");
	usage(stderr);
	return -EINVAL;
}

/* The path of the first libc.so* mapped by process pid (0: this one). */
static int find_libc(unsigned int pid, char *out, size_t size)
{
	char maps[64], line[PATH_MAX + 128];
	FILE *f;
	int err = -ENOENT;

	if (pid)
		snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	else
		snprintf(maps, sizeof(maps), "/proc/self/maps");
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		char *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		base = strrchr(path, '/') + 1;
		if (strncmp(base, "libc.so", 7) && strncmp(base, "libc-", 5))
			continue;
		if (strlen(path) >= size)
			continue;
		strcpy(out, path);
		err = 0;
	}
	fclose(f);
	return err;
}

static int cmp_count(const void *a, const void *b)
{
	const struct pid_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Reads the whole map into a sorted array; returns the number of entries. */
static int read_counts(const struct bpf_map *map, struct pid_count *out, int cap)
{
	__u32 key, next;
	__u32 *prev = NULL;
	int n = 0;

	while (n < cap && bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		/* An entry deleted between the two calls is simply skipped. */
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &out[n].count,
					 sizeof(out[n].count), 0))
			continue;
		out[n++].pid = key;
	}
	qsort(out, n, sizeof(*out), cmp_count);
	return n;
}

static void print_counts(const struct bpf_map *map, struct pid_count *buf, int cap)
{
	char stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	int i, n;

	n = read_counts(map, buf, cap);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime_r(&now, &tm));
	printf("# %s\n", stamp);
	for (i = 0; i < n; i++)
		printf("%u %llu\n", buf[i].pid, (unsigned long long)buf[i].count);
	fflush(stdout);
}

/* Sleeps until start + tick seconds, or until a signal arrives. */
static void wait_tick(const struct timespec *start, unsigned int tick)
{
	struct timespec until = *start;

	until.tv_sec += tick;
	while (!stop_requested &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
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

static struct bpf_link *attach(struct malloc_counter_bpf *skel, const struct options *o)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "malloc", .retprobe = false);
	char found[PATH_MAX];
	const char *libc = o->libc;
	struct bpf_link *link;

	if (!libc)
		libc = find_libc(o->pid, found, sizeof(found)) == 0 ? found : "libc.so.6";
	link = bpf_program__attach_uprobe_opts(skel->progs.malloc_enter, o->pid ? (int)o->pid : -1,
					       libc, 0, &uopts);
	if (!link) {
		fprintf(stderr, "malloc-counter: attaching to malloc in %s: %s\n", libc,
			strerror(errno));
		return NULL;
	}
	fprintf(stderr, "malloc-counter: counting malloc() in %s%s; Ctrl-C to stop\n", libc,
		o->pid ? " for one process" : "");
	return link;
}

static int run(struct malloc_counter_bpf *skel, const struct options *o)
{
	static struct pid_count buf[MALLOC_COUNTER_MAX_PIDS];
	struct timespec start;
	unsigned int tick;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (tick = 1;; tick++) {
		wait_tick(&start, tick);
		print_counts(skel->maps.counts, buf, MALLOC_COUNTER_MAX_PIDS);
		if (stop_requested || (o->duration && tick >= o->duration))
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct malloc_counter_bpf *skel;
	struct bpf_link *link = NULL;
	int err;

	if (parse_options(argc, argv, &o))
		return 2;
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	if (install_signals())
		return 1;

	skel = malloc_counter_bpf__open();
	if (!skel) {
		fprintf(stderr, "malloc-counter: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_pid = o.pid;
	err = malloc_counter_bpf__load(skel);
	if (err) {
		fprintf(stderr,
			"malloc-counter: loading the BPF object: %s (needs root and kernel eBPF, "
			"or bpftime-run)\n",
			strerror(-err));
		goto out;
	}
	link = attach(skel, &o);
	if (!link) {
		err = -errno;
		goto out;
	}
	err = run(skel, &o);
out:
	bpf_link__destroy(link);
	malloc_counter_bpf__destroy(skel);
	return err ? 1 : 0;
}
