// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-hooks-tool: the libbpf tool of bench/hooks. Attaches one
 * program of hooks.bpf.c to bench_probed() in the target (tp: to the
 * tracepoint syscalls/sys_enter_getppid, every process's, as a tracepoint
 * is) and keeps it attached until SIGINT or SIGTERM, then prints what it
 * saw and exits 0.
 *
 *   bpftime-bench-hooks-tool -m empty|hash|pid|ring|uret|tp -p PID -b TARGET
 *
 * stderr gets "bench-hooks-tool: attached ..." once the probe is attached;
 * stdout gets, at the end, "tool events <N>": the hash map's count (hash),
 * the records consumed (ring; read by ring_buffer__poll(), epoll), or -1
 * when the program leaves no trace (empty, uret, tp).
 *
 * The same binary runs against the kernel (as root) and under bpftime-run.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "hooks.skel.h"

static volatile sig_atomic_t stop_requested;
static unsigned long long consumed;

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

static int on_record(void *ctx, void *data, size_t size)
{
	consumed++;
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: bpftime-bench-hooks-tool -m empty|hash|pid|ring|uret|tp -p PID -b TARGET\n");
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *binary = NULL;
	struct bpf_program *prog = NULL, *p;
	struct ring_buffer *rb = NULL;
	struct bench_hooks_bpf *skel;
	struct bpf_link *link;
	struct sigaction sa;
	long long events = -1;
	int pid = 0, opt, err = 0;

	while ((opt = getopt(argc, argv, "m:p:b:")) != -1) {
		if (opt == 'm')
			mode = optarg;
		else if (opt == 'p')
			pid = atoi(optarg);
		else if (opt == 'b')
			binary = optarg;
		else {
			usage();
			return 2;
		}
	}
	if (!mode || !binary || pid <= 0) {
		usage();
		return 2;
	}
	libbpf_set_print(libbpf_print);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = bench_hooks_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-hooks-tool: open: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(mode, "empty"))
		prog = skel->progs.empty;
	else if (!strcmp(mode, "hash"))
		prog = skel->progs.hash_count;
	else if (!strcmp(mode, "pid"))
		prog = skel->progs.pid_count;
	else if (!strcmp(mode, "ring"))
		prog = skel->progs.ring;
	else if (!strcmp(mode, "uret"))
		prog = skel->progs.uret;
	else if (!strcmp(mode, "tp"))
		prog = skel->progs.tp_empty;
	if (!prog) {
		usage();
		bench_hooks_bpf__destroy(skel);
		return 2;
	}
	bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, p == prog);
	skel->rodata->target_pid = (__u32)pid;
	if (bench_hooks_bpf__load(skel)) {
		fprintf(stderr, "bench-hooks-tool: load: %s\n", strerror(errno));
		err = 1;
		goto out;
	}
	if (prog == skel->progs.tp_empty) {
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr,
				"bench-hooks-tool: attach to syscalls/sys_enter_getppid: %s\n",
				strerror(errno));
			err = 1;
			goto out;
		}
		skel->links.tp_empty = link;
		fprintf(stderr, "bench-hooks-tool: attached tp to syscalls/sys_enter_getppid\n");
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "bench_probed",
			    .retprobe = prog == skel->progs.uret);

		link = bpf_program__attach_uprobe_opts(prog, pid, binary, 0, &uopts);
		if (!link) {
			fprintf(stderr, "bench-hooks-tool: attach to bench_probed in %s: %s\n",
				binary, strerror(errno));
			err = 1;
			goto out;
		}
	}
	skel->links.empty = prog == skel->progs.empty ? link : skel->links.empty;
	skel->links.hash_count = prog == skel->progs.hash_count ? link : skel->links.hash_count;
	skel->links.pid_count = prog == skel->progs.pid_count ? link : skel->links.pid_count;
	skel->links.ring = prog == skel->progs.ring ? link : skel->links.ring;
	skel->links.uret = prog == skel->progs.uret ? link : skel->links.uret;
	if (prog == skel->progs.ring) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
		if (!rb) {
			fprintf(stderr, "bench-hooks-tool: ring_buffer__new: %s\n",
				strerror(errno));
			err = 1;
			goto out;
		}
	}
	if (prog != skel->progs.tp_empty)
		fprintf(stderr, "bench-hooks-tool: attached %s to bench_probed in %s, pid %d\n",
			mode, binary, pid);
	while (!stop_requested) {
		if (rb) {
			int n = ring_buffer__poll(rb, 100);

			if (n < 0 && n != -EINTR) {
				fprintf(stderr, "bench-hooks-tool: ring_buffer__poll: %s\n",
					strerror(-n));
				err = 1;
				break;
			}
		} else {
			usleep(100000);
		}
	}
	if (rb) {
		ring_buffer__consume(rb);
		events = (long long)consumed;
	} else if (prog == skel->progs.hash_count || prog == skel->progs.pid_count) {
		__u32 key = 0;
		__u64 count = 0;

		if (!bpf_map__lookup_elem(skel->maps.counts, &key, sizeof(key), &count,
					  sizeof(count), 0))
			events = (long long)count;
		else
			events = 0;
	}
	printf("tool events %lld\n", events);
out:
	ring_buffer__free(rb);
	bench_hooks_bpf__destroy(skel);
	return err;
}
