// SPDX-License-Identifier: MIT
/*
 * bpftime: run eBPF tools on the userspace runtime.
 *
 *   bpftime run [OPTIONS] -- TOOL [ARGS...]
 *   bpftime status [--session NAME] [--clean]
 *   bpftime trace [--session NAME]
 *   bpftime-run [OPTIONS] -- TOOL [ARGS...]      (the same as `bpftime run`)
 *   bpftime start [OPTIONS] -- CMD [ARGS...]
 *   bpftime attach [OPTIONS] PID
 *   bpftime detach PID
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sup-internal.h"

#ifndef BPFTIME_VERSION
#define BPFTIME_VERSION "unknown"
#endif

static const char usage_run[] =
    "usage: bpftime run [OPTIONS] -- TOOL [ARGS...]\n"
    "       bpftime-run [OPTIONS] -- TOOL [ARGS...]\n"
    "\n"
    "Runs TOOL with its bpf(), perf_event_open() and related calls answered by\n"
    "bpftime instead of the kernel: no root, no kernel eBPF needed.\n"
    "\n"
    "  --session NAME       name the session (default: \"default\" when no other\n"
    "                       bpftime run holds it, else TOOL-PID); maps and programs\n"
    "                       live in DIR/NAME while TOOL runs. When a bpftime run\n"
    "                       already serves NAME, TOOL joins it: both tools see\n"
    "                       the same maps, programs and ids\n"
    "  --session-dir DIR    where sessions live (default: $BPFTIME_SESSION_DIR or\n"
    "                       /dev/shm/bpftime-UID; made private, 0700)\n"
    "  --log-level LEVEL    error, warn (default), info or debug; also\n"
    "                       $BPFTIME_LOG_LEVEL\n"
    "  --fake-root          answer TOOL's getuid(), geteuid(), getresuid(), the\n"
    "                       gid calls and capget() as for root (0, all\n"
    "                       capabilities; raising RLIMIT_MEMLOCK succeeds), for\n"
    "                       tools that insist on root, such as bpftrace. Off by\n"
    "                       default: TOOL and its children are told they are root\n"
    "                       while the kernel still checks the real credentials.\n"
    "                       Nothing is granted.\n"
    "  --agent              TOOL gets the bpftime agent too (LD_PRELOAD, or ptrace\n"
    "                       injection for a static TOOL), in this session: its\n"
    "                       probes on itself fire (benchmarks, bpftrace uprobes\n"
    "                       on its own binary). As `bpftime start` does for CMD\n"
    "  --attach PID         put the agent into process PID (as `bpftime attach\n"
    "                       PID`, ptrace as your user) before TOOL starts, for\n"
    "                       tools that trace a running process (TOOL -p PID);\n"
    "                       repeatable; a failure ends bpftime run (status 125)\n"
    "  --inject             when TOOL opens a uprobe, syscall tracepoint or kprobe\n"
    "                       event for one process (perf_event_open's pid, as\n"
    "                       TOOL -p PID does), put the agent into that process as\n"
    "                       `bpftime attach PID` would (ptrace, as your user), so\n"
    "                       that its events fire. Off by default: without it such\n"
    "                       a process must run under `bpftime start` or be\n"
    "                       attached by hand\n"
    "  --engine jit|interp  how programs run, in this supervisor and in the agents:\n"
    "                       compiled once by the LLVM JIT when the session starts\n"
    "                       them (the default where bpftime was built with LLVM),\n"
    "                       or interpreted. A program the JIT cannot compile is\n"
    "                       interpreted, and the log says why\n"
    "\n"
    "Signals (INT, TERM, HUP, QUIT) are passed to TOOL; the exit status is TOOL's\n"
    "(128 + N when signal N killed it), 125 when bpftime itself failed, 126 when\n"
    "TOOL cannot be run, 127 when it is not found.\n";

static const char usage_status[] =
    "usage: bpftime status [--session NAME] [--session-dir DIR] [--clean]\n"
    "\n"
    "Lists the sessions under DIR with their maps, programs, links and perf\n"
    "events, asking each session's supervisor. A session whose supervisor died\n"
    "is reported as stale; --clean removes stale sessions.\n";

static const char usage_trace[] =
    "usage: bpftime trace [--session NAME] [--session-dir DIR]\n"
    "\n"
    "Prints the session's bpf_trace_printk lines as they come, as\n"
    "`cat /sys/kernel/tracing/trace_pipe` does for the kernel's: the lines no\n"
    "reader took yet, then new ones, until interrupted. Reading consumes them,\n"
    "as it does the kernel's (tools in the session that read trace_pipe share\n"
    "them). NAME defaults to \"default\".\n";

static const char usage_start[] =
    "usage: bpftime start [--session NAME] [--session-dir DIR] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD with the bpftime agent inside it, in session NAME (default:\n"
    "\"default\", the session of the first bpftime run). A dynamic CMD gets it\n"
    "through LD_PRELOAD, and so do the dynamic programs it runs; a static CMD\n"
    "(glibc -static, musl, Go) gets it injected over ptrace before its first\n"
    "instruction. Either way the probes attached then are in place before CMD's\n"
    "own code runs. The exit status is CMD's.\n";

static const char usage_attach[] =
    "usage: bpftime attach [--session NAME] [--session-dir DIR] PID\n"
    "       bpftime detach PID\n"
    "\n"
    "Puts the agent into the running process PID, or takes it out, over ptrace\n"
    "(as its own user; not into PID 1 or a non-dumpable process). The session\n"
    "defaults to \"default\", the session of the first bpftime run.\n";

static void usage(FILE *f)
{
	fprintf(f, "bpftime %s: a userspace eBPF runtime\n\n", BPFTIME_VERSION);
	fputs(usage_run, f);
	fputc('\n', f);
	fputs(usage_status, f);
	fputc('\n', f);
	fputs(usage_trace, f);
	fputc('\n', f);
	fputs(usage_start, f);
	fputc('\n', f);
	fputs(usage_attach, f);
}

static void init_log_level(void)
{
	const char *env = getenv("BPFTIME_LOG_LEVEL");
	int level = env && *env ? sup_log_parse_level(env) : -1;

	if (level >= 0)
		sup_log_set_level(level);
	else if (env && *env)
		sup_log(SUP_LOG_WARN, "BPFTIME_LOG_LEVEL=%s: use error, warn, info or debug", env);
}

static int cmd_run(int argc, char **argv)
{
	struct sup_opts o;

	if (sup_opts_parse(&o, argc, argv, true)) {
		fputs("try 'bpftime run --help'\n", stderr);
		return SUP_EXIT_FAILURE;
	}
	if (o.help) {
		fputs(usage_run, stdout);
		return 0;
	}
	return sup_cmd_run(&o);
}

static int cmd_status(int argc, char **argv)
{
	struct sup_opts o;

	if (sup_opts_parse(&o, argc, argv, false)) {
		fputs("try 'bpftime status --help'\n", stderr);
		return 1;
	}
	if (o.help) {
		fputs(usage_status, stdout);
		return 0;
	}
	return sup_cmd_status(&o);
}

static int cmd_trace(int argc, char **argv)
{
	struct sup_opts o;

	if (sup_opts_parse(&o, argc, argv, false) || o.clean) {
		fputs("try 'bpftime trace --help'\n", stderr);
		return 1;
	}
	if (o.help) {
		fputs(usage_trace, stdout);
		return 0;
	}
	return sup_cmd_trace(&o);
}

/* start (@cmd) or attach/detach (@fn). */
static int cmd_agent(int argc, char **argv, bool cmd, int (*fn)(const struct sup_opts *))
{
	struct sup_opts o;

	if (sup_opts_parse_agent(&o, argc, argv, cmd)) {
		fprintf(stderr, "try 'bpftime %s --help'\n", argv[0]);
		return cmd ? SUP_EXIT_FAILURE : 1;
	}
	if (o.help) {
		fputs(cmd ? usage_start : usage_attach, stdout);
		return 0;
	}
	return fn(&o);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');

	self = self ? self + 1 : argv[0];
	init_log_level();
	if (!strcmp(self, "bpftime-run"))
		return cmd_run(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "start"))
		return cmd_agent(argc - 1, argv + 1, true, sup_cmd_start);
	if (!strcmp(argv[1], "attach"))
		return cmd_agent(argc - 1, argv + 1, false, sup_cmd_attach);
	if (!strcmp(argv[1], "detach"))
		return cmd_agent(argc - 1, argv + 1, false, sup_cmd_detach);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bpftime %s\n", BPFTIME_VERSION);
		return 0;
	}
	fprintf(stderr, "bpftime: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 1;
}
