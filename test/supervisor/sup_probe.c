// SPDX-License-Identifier: MIT
/*
 * A small TOOL for the supervisor's tests, built twice: dynamic and fully
 * static (-static), since a static binary's syscalls must be trapped the
 * same way. Each mode prints one line per fact, flushed at once (stdout is
 * a pipe in the tests), so that the test can read them while TOOL runs:
 *
 *   bpf999      bpf(999): "bpf999 -1 EINVAL"
 *   map-create  BPF_MAP_CREATE of a 4-entry ARRAY named "sup_counts":
 *               "map-create ok" or the errno; with "wait", then waits for
 *               a line on stdin (the map stays while it waits)
 *   ids         getuid/geteuid/getresuid/getresgid/capget as TOOL sees them
 *   wait-bpf    bpf(999), then waits for a line on stdin, then bpf(999)
 *               again: the second answer after the supervisor was killed
 *   sigint      prints "ready", waits; its SIGINT/SIGTERM handler prints
 *               "got SIGINT" (or SIGTERM) and exits 0
 *   busy-sigint prints "ready", makes bpf(BPF_MAP_GET_NEXT_ID) calls back to back with a
 *               SIGINT handler installed without SA_RESTART; after 10
 *               SIGINTs, "done signals N calls C eintr E": E calls failed
 *               with EINTR (the kernel's bpf() never does)
 *
 * An alarm ends every mode after 30 s, so that a failing test never hangs.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/capability.h>

static void say(const char *what, long ret)
{
	if (ret < 0)
		printf("%s -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s ok\n", what);
	fflush(stdout);
}

static long bpf999(void)
{
	return syscall(SYS_bpf, 999, NULL, 0);
}

static int map_create(bool wait)
{
	char line[16];
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	strcpy(a.map_name, "sup_counts");
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	say("map-create", fd);
	if (wait && !fgets(line, sizeof(line), stdin))
		return 1;
	return fd < 0;
}

static int ids(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	uid_t r, e, s;
	gid_t gr, ge, gs;

	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("uid %u euid %u gid %u egid %u\n", getuid(), geteuid(), getgid(), getegid());
	printf("resuid %u %u %u resgid %u %u %u\n", r, e, s, gr, ge, gs);
	if (syscall(SYS_capget, &h, d))
		printf("capget -1 %s\n", strerrorname_np(errno));
	else
		printf("capeff %08x%08x\n", d[1].effective, d[0].effective);
	fflush(stdout);
	return 0;
}

static int wait_bpf(void)
{
	char line[16];

	say("first", bpf999());
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	say("second", bpf999());
	return 0;
}

static void on_signal(int sig)
{
	const char *msg = sig == SIGINT ? "got SIGINT\n" : "got SIGTERM\n";

	/* write(2) is async-signal-safe; stdio is not */
	if (write(1, msg, strlen(msg)) < 0)
		_exit(2);
	_exit(0);
}

static int wait_signal(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (pause() < 0 || 1)
		; /* the handler exits; the alarm ends a test that never signals */
	return 0;
}

static volatile sig_atomic_t sigints;

static void count_sigint(int sig)
{
	(void)sig;
	sigints++;
}

static int busy_sigint(void)
{
	struct sigaction sa = {.sa_handler = count_sigint}; /* no SA_RESTART */
	long calls = 0, eintr = 0;

	if (sigaction(SIGINT, &sa, NULL))
		return 1;
	printf("ready\n");
	fflush(stdout);
	union bpf_attr a;

	while (sigints < 10) {
		/* a call the supervisor answers without a message */
		memset(&a, 0, sizeof(a));
		if (syscall(SYS_bpf, BPF_MAP_GET_NEXT_ID, &a, sizeof(a)) < 0 && errno == EINTR)
			eintr++;
		calls++;
	}
	printf("done signals %d calls %ld eintr %ld\n", (int)sigints, calls, eintr);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(30);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "bpf999")) {
		say("bpf999", bpf999());
		return 0;
	}
	if (!strcmp(argv[1], "map-create"))
		return map_create(argc > 2 && !strcmp(argv[2], "wait"));
	if (!strcmp(argv[1], "ids"))
		return ids();
	if (!strcmp(argv[1], "wait-bpf"))
		return wait_bpf();
	if (!strcmp(argv[1], "sigint"))
		return wait_signal();
	if (!strcmp(argv[1], "busy-sigint"))
		return busy_sigint();
	return 2;
}
