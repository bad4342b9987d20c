// SPDX-License-Identifier: MIT
/*
 * e2e-tool: the libbpf tool of the agent end-to-end tests. An ordinary
 * skeleton loader (e2e_tool.bpf.c): it runs against the kernel as root and
 * unchanged under bpftime-run.
 *
 *   e2e-tool -m MODE -b BINARY -f FUNC [-p PID] [-i MS] [-d SECONDS]
 *
 * Attaches the programs of MODE to the entry of FUNC in BINARY (for PID,
 * or every process), prints "e2e-tool: attached" on stderr, then every
 * MS milliseconds (default 500) and once more at SIGINT/SIGTERM (or after
 * SECONDS) prints on stdout
 *
 *   count PID N        count mode: calls of FUNC per process
 *   slot INDEX VALUE   read, hostile and hostile-map modes: the results map
 *   tick               the end of one print
 *
 * then detaches and exits 0.
 *
 *   count        count_calls
 *   read         read_probe (FUNC: the target's probe_me)
 *   hostile      hostile_read, _write, _ctx and _stack (bpftime only: the
 *                kernel's verifier refuses them)
 *   hostile-map  hostile_map (bpftime only)
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

#include "e2e.h"
#include "e2e_tool.skel.h"

#define MAX_LINKS 8

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int usage(void)
{
	fprintf(stderr, "usage: e2e-tool -m count|read|hostile|hostile-map -b BINARY -f FUNC "
			"[-p PID] [-i MS] [-d SECONDS]\n");
	return 2;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static void print_counts(const struct bpf_map *map)
{
	__u32 key, next, *prev = NULL;
	__u64 count;

	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0) == 0)
			printf("count %u %llu\n", key, (unsigned long long)count);
	}
}

static void print_results(const struct bpf_map *map)
{
	for (__u32 i = 0; i < E2E_NR_SLOTS; i++) {
		__s64 v;

		if (bpf_map__lookup_elem(map, &i, sizeof(i), &v, sizeof(v), 0) == 0)
			printf("slot %u %lld\n", i, (long long)v);
	}
}

static void print_all(struct e2e_tool_bpf *skel, bool count)
{
	if (count)
		print_counts(skel->maps.counts);
	else
		print_results(skel->maps.results);
	printf("tick\n");
	fflush(stdout);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	/* a signal cuts it short: the main loop then sees stop_requested */
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts);
	const char *mode = NULL, *binary = NULL, *func = NULL;
	unsigned int pid = 0, interval = 500, duration = 0;
	struct bpf_program *progs[MAX_LINKS];
	struct bpf_link *links[MAX_LINKS] = {0};
	struct e2e_tool_bpf *skel;
	struct sigaction sa;
	struct timespec start, now;
	int nprogs = 0, err = 1, c;
	bool count = false;

	while ((c = getopt(argc, argv, "m:b:f:p:i:d:")) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			break;
		case 'b':
			binary = optarg;
			break;
		case 'f':
			func = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, &pid))
				return usage();
			break;
		case 'i':
			if (parse_uint(optarg, &interval) || !interval)
				return usage();
			break;
		case 'd':
			if (parse_uint(optarg, &duration))
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (!mode || !binary || !func || optind != argc)
		return usage();
	libbpf_set_print(libbpf_print);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return 1;

	skel = e2e_tool_bpf__open();
	if (!skel) {
		fprintf(stderr, "e2e-tool: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(mode, "count")) {
		count = true;
		progs[nprogs++] = skel->progs.count_calls;
	} else if (!strcmp(mode, "read")) {
		progs[nprogs++] = skel->progs.read_probe;
	} else if (!strcmp(mode, "hostile")) {
		progs[nprogs++] = skel->progs.hostile_read;
		progs[nprogs++] = skel->progs.hostile_write;
		progs[nprogs++] = skel->progs.hostile_ctx;
		progs[nprogs++] = skel->progs.hostile_stack;
	} else if (!strcmp(mode, "hostile-map")) {
		progs[nprogs++] = skel->progs.hostile_map;
	} else {
		e2e_tool_bpf__destroy(skel);
		return usage();
	}
	/* only this mode's programs are loaded */
	{
		struct bpf_program *p;

		bpf_object__for_each_program(p, skel->obj)
		{
			bool on = false;

			for (int i = 0; i < nprogs; i++)
				on |= progs[i] == p;
			bpf_program__set_autoload(p, on);
		}
	}
	skel->rodata->target_pid = pid;
	err = e2e_tool_bpf__load(skel);
	if (err) {
		fprintf(stderr, "e2e-tool: loading the BPF object: %s\n", strerror(-err));
		err = 1;
		goto out;
	}
	uopts.func_name = func;
	for (int i = 0; i < nprogs; i++) {
		links[i] = bpf_program__attach_uprobe_opts(progs[i], pid ? (int)pid : -1, binary, 0,
							   &uopts);
		if (!links[i]) {
			fprintf(stderr, "e2e-tool: attaching %s to %s in %s: %s\n",
				bpf_program__name(progs[i]), func, binary, strerror(errno));
			err = 1;
			goto out;
		}
	}
	fprintf(stderr, "e2e-tool: attached %d program(s) to %s\n", nprogs, func);

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop_requested) {
		sleep_ms(interval);
		print_all(skel, count);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (duration && now.tv_sec - start.tv_sec >= (time_t)duration)
			break;
	}
	print_all(skel, count);
	err = 0;
out:
	for (int i = 0; i < nprogs; i++)
		bpf_link__destroy(links[i]);
	e2e_tool_bpf__destroy(skel);
	return err;
}
