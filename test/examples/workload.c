// SPDX-License-Identifier: MIT
/*
 * The workload the example tests trace, and their probe for kernel eBPF:
 *
 *   examples-workload [-w GOFILE] malloc N       N calls of libc's malloc()
 *   examples-workload [-w GOFILE] open PATH N    N open()s (openat(2)) of PATH
 *   examples-workload probe                      exit 0 if bpf(2) creates a map,
 *                                                77 (skip) otherwise
 *
 * It prints "pid PID" first; with -w it then waits (up to 60 s) until GOFILE
 * exists, so a test can start the tracer with -p PID before the work starts.
 * Linked dynamically: malloc-counter probes the libc.so it shares with this.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Through a volatile pointer, so the compiler cannot pair and drop the calls. */
static void *(*volatile malloc_fn)(size_t) = malloc;

static int wait_for(const char *path)
{
	struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	int i;

	for (i = 0; i < 6000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "workload: %s did not appear within 60 s\n", path);
	return -ETIMEDOUT;
}

static int do_malloc(long n)
{
	long i;

	for (i = 0; i < n; i++) {
		void *p = malloc_fn(64 + (i & 63));

		if (!p)
			return -ENOMEM;
		free(p);
	}
	return 0;
}

static int do_open(const char *path, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "workload: open %s: %s\n", path, strerror(errno));
			return -errno;
		}
		close(fd);
	}
	return 0;
}

/* Whether this process may create a kernel (or emulated) BPF map. */
static int probe(void)
{
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		printf("bpf(BPF_MAP_CREATE) failed: %s\n", strerror(errno));
		return 77;
	}
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: examples-workload [-w GOFILE] malloc N | open PATH N | probe\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *go = NULL;
	int c;

	while ((c = getopt(argc, argv, "w:")) != -1) {
		if (c != 'w')
			return usage();
		go = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && !strcmp(argv[0], "probe"))
		return probe();
	if (!(argc == 2 && !strcmp(argv[0], "malloc")) && !(argc == 3 && !strcmp(argv[0], "open")))
		return usage();
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	if (go && wait_for(go))
		return 1;
	if (!strcmp(argv[0], "malloc"))
		return do_malloc(atol(argv[1])) ? 1 : 0;
	return do_open(argv[1], atol(argv[2])) ? 1 : 0;
}
