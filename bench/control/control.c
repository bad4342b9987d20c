// SPDX-License-Identifier: MIT
/*
 * bpftime-bench-control: what the control plane costs a tool.
 *
 * One program, two roles. As the driver (no arguments) it runs itself as
 * the client twice from one run: directly (the kernel answers bpf(2); needs
 * root and kernel eBPF, otherwise that column says why it is missing) and
 * under `bpftime-run` (found next to this binary), and prints both columns
 * side by side with their ratio:
 *
 *   - ns per bpf(BPF_MAP_LOOKUP_ELEM) and per bpf(BPF_MAP_UPDATE_ELEM) on a
 *     HASH map (u32 key, u64 value), the client's own clock around N calls;
 *   - ms to start a tool: fork + exec of the client in its "start" role
 *     (one MAP_CREATE, then exit) until its exit is reaped, median of runs.
 *
 * As the client (`--client ops N` / `--client start`) it makes raw bpf(2)
 * calls, as a static tool would, and prints its figures on one line.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define START_RUNS 9

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int create_hash(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1024;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static long elem(int cmd, int fd, uint32_t *key, uint64_t *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(cmd, &a);
}

/* Client: "<lookup ns> <update ns>", or "error <errno>". */
static int client_ops(long n)
{
	uint64_t value = 1, t0, t1, t2;
	uint32_t key = 7;
	int fd = create_hash();

	if (fd < 0 || elem(BPF_MAP_UPDATE_ELEM, fd, &key, &value)) {
		printf("error %d\n", errno);
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value);
	t1 = now_ns();
	for (long i = 0; i < n; i++) {
		value = (uint64_t)i;
		elem(BPF_MAP_UPDATE_ELEM, fd, &key, &value);
	}
	t2 = now_ns();
	printf("%.0f %.0f\n", (double)(t1 - t0) / n, (double)(t2 - t1) / n);
	return 0;
}

static int client_start(void)
{
	return create_hash() < 0 ? 1 : 0;
}

struct column {
	bool ok;
	char why[160];
	double lookup_ns, update_ns, start_ms;
};

/* Run argv, capture one line of its stdout; its exit status in *status. */
static int run_capture(char *const argv[], char *line, size_t size, int *status)
{
	int p[2];
	pid_t pid;
	FILE *f;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	line[0] = 0;
	if (!fgets(line, (int)size, f))
		line[0] = 0;
	fclose(f);
	waitpid(pid, status, 0);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* argv for the client in @role, prefixed by @wrap (NULL: direct). */
static void client_argv(char **argv, const char *wrap, const char *self, const char *role,
			const char *n)
{
	int i = 0;

	if (wrap) {
		argv[i++] = (char *)wrap;
		argv[i++] = "--";
	}
	argv[i++] = (char *)self;
	argv[i++] = "--client";
	argv[i++] = (char *)role;
	if (n)
		argv[i++] = (char *)n;
	argv[i] = NULL;
}

static void measure(struct column *col, const char *wrap, const char *self, long n)
{
	char *argv[8], line[256], nbuf[32];
	double starts[START_RUNS];
	int status;

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	client_argv(argv, wrap, self, "ops", nbuf);
	if (run_capture(argv, line, sizeof(line), &status) || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 ||
	    sscanf(line, "%lf %lf", &col->lookup_ns, &col->update_ns) != 2) {
		snprintf(col->why, sizeof(col->why), "client failed: %.100s",
			 line[0] ? line : "(no output)");
		return;
	}
	client_argv(argv, wrap, self, "start", NULL);
	for (int i = 0; i < START_RUNS; i++) {
		uint64_t t0 = now_ns();

		run_capture(argv, line, sizeof(line), &status);
		starts[i] = (double)(now_ns() - t0) / 1e6;
	}
	qsort(starts, START_RUNS, sizeof(starts[0]), cmp_double);
	col->start_ms = starts[START_RUNS / 2];
	col->ok = true;
}

static void row(const char *what, const char *unit, double k, bool kok, double b, bool bok)
{
	char ks[32] = "n/a", bs[32] = "n/a", r[32] = "n/a";

	if (kok)
		snprintf(ks, sizeof(ks), "%.1f %s", k, unit);
	if (bok)
		snprintf(bs, sizeof(bs), "%.1f %s", b, unit);
	if (kok && bok)
		snprintf(r, sizeof(r), "%.1fx", b / k);
	printf("| %-28s | %14s | %14s | %8s |\n", what, ks, bs, r);
}

static int driver(const char *self, long n)
{
	char run[PATH_MAX], *slash;
	struct column kernel = {0}, ours = {0};

	snprintf(run, sizeof(run), "%s", self);
	slash = strrchr(run, '/');
	snprintf(slash ? slash + 1 : run, sizeof(run) - (size_t)(slash ? slash + 1 - run : 0),
		 "bpftime-run");
	measure(&kernel, NULL, self, n);
	if (access(run, X_OK))
		snprintf(ours.why, sizeof(ours.why), "%.120s: not built", run);
	else
		measure(&ours, run, self, n);
	printf("| %-28s | %14s | %14s | %8s |\n", "operation", "kernel", "bpftime-run", "ratio");
	printf("|------------------------------|---------------:|---------------:|---------:|\n");
	row("bpf(MAP_LOOKUP_ELEM), hash", "ns", kernel.lookup_ns, kernel.ok, ours.lookup_ns,
	    ours.ok);
	row("bpf(MAP_UPDATE_ELEM), hash", "ns", kernel.update_ns, kernel.ok, ours.update_ns,
	    ours.ok);
	row("start a tool (exec to exit)", "ms", kernel.start_ms, kernel.ok, ours.start_ms,
	    ours.ok);
	if (!kernel.ok)
		printf("kernel: %s (the kernel column needs root and kernel eBPF)\n", kernel.why);
	if (!ours.ok)
		printf("bpftime-run: %s\n", ours.why);
	return 0;
}

int main(int argc, char **argv)
{
	long n = 20000;

	if (argc >= 3 && !strcmp(argv[1], "--client")) {
		if (!strcmp(argv[2], "ops"))
			return client_ops(argc > 3 ? atol(argv[3]) : n);
		return client_start();
	}
	if (argc == 3 && !strcmp(argv[1], "-n"))
		n = atol(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [-n CALLS]\n", argv[0]);
		return 2;
	}
	return driver(argv[0], n > 0 ? n : 1);
}
