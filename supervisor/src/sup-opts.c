// SPDX-License-Identifier: MIT
/*
 * Options of `bpftime run` and `bpftime status`. Parsing stops at the first
 * argument that is not an option ("+" in the optstring), so both
 * `bpftime run -- ls -l` and `bpftime run ls -l` give TOOL = ls -l and
 * TOOL's own options are never taken for ours.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "sup-internal.h"

enum {
	OPT_SESSION = 1000,
	OPT_SESSION_DIR,
	OPT_LOG_LEVEL,
	OPT_FAKE_ROOT,
	OPT_CLEAN,
	OPT_AGENT,
	OPT_INJECT,
	OPT_ATTACH,
	OPT_ENGINE,
};

static const struct option run_options[] = {
    {"session", required_argument, NULL, OPT_SESSION},
    {"session-dir", required_argument, NULL, OPT_SESSION_DIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"fake-root", no_argument, NULL, OPT_FAKE_ROOT},
    {"agent", no_argument, NULL, OPT_AGENT},
    {"inject", no_argument, NULL, OPT_INJECT},
    {"attach", required_argument, NULL, OPT_ATTACH},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct option status_options[] = {
    {"session", required_argument, NULL, OPT_SESSION},
    {"session-dir", required_argument, NULL, OPT_SESSION_DIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"clean", no_argument, NULL, OPT_CLEAN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct option agent_options[] = {
    {"session", required_argument, NULL, OPT_SESSION},
    {"session-dir", required_argument, NULL, OPT_SESSION_DIR},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int take_option(struct sup_opts *o, int c)
{
	int level;

	switch (c) {
	case OPT_SESSION:
		if (!sup_name_valid(optarg)) {
			sup_log(SUP_LOG_ERROR,
				"bad session name '%s': use 1 to %d of A-Z a-z 0-9 . _ -, "
				"not starting with '.'",
				optarg, SUP_NAME_MAX);
			return -EINVAL;
		}
		o->session = optarg;
		return 0;
	case OPT_SESSION_DIR:
		o->base_dir = optarg;
		return 0;
	case OPT_LOG_LEVEL:
		level = sup_log_parse_level(optarg);
		if (level < 0) {
			sup_log(SUP_LOG_ERROR,
				"bad --log-level '%s': use error, warn, info or debug", optarg);
			return -EINVAL;
		}
		sup_log_set_level(level);
		return 0;
	case OPT_FAKE_ROOT:
		o->fake_root = true;
		return 0;
	case OPT_CLEAN:
		o->clean = true;
		return 0;
	case OPT_AGENT:
		o->agent = true;
		return 0;
	case OPT_INJECT:
		o->inject = true;
		return 0;
	case OPT_ATTACH: {
		char *end;
		long pid = strtol(optarg, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX || o->nr_attach == SUP_ATTACH_MAX) {
			sup_log(SUP_LOG_ERROR, "bad --attach '%s': a process id (at most %d)",
				optarg, SUP_ATTACH_MAX);
			return -EINVAL;
		}
		o->attach[o->nr_attach++] = (pid_t)pid;
		return 0;
	}
	case OPT_ENGINE:
		if (strcmp(optarg, "jit") && strcmp(optarg, "interp")) {
			sup_log(SUP_LOG_ERROR, "bad --engine '%s': use jit or interp", optarg);
			return -EINVAL;
		}
		o->interp_only = !strcmp(optarg, "interp");
		return 0;
	case 'h':
		o->help = true;
		return 0;
	}
	/* getopt_long has printed what was wrong */
	return -EINVAL;
}

int sup_opts_parse(struct sup_opts *o, int argc, char **argv, bool run)
{
	int c, err;

	memset(o, 0, sizeof(*o));
	optind = 0; /* GNU: re-initialise, so that tests can parse twice */
	while ((c = getopt_long(argc, argv, "+h", run ? run_options : status_options, NULL)) !=
	       -1) {
		err = take_option(o, c);
		if (err)
			return err;
	}
	if (o->help)
		return 0;
	if (run) {
		if (optind >= argc) {
			sup_log(SUP_LOG_ERROR,
				"no TOOL to run: bpftime run [OPTIONS] -- TOOL [ARGS...]");
			return -EINVAL;
		}
		o->argv = argv + optind;
	} else if (optind < argc) {
		sup_log(SUP_LOG_ERROR, "unexpected argument '%s' to status", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int parse_pid(struct sup_opts *o, int argc, char **argv)
{
	char *end;
	long v;

	if (optind + 1 != argc) {
		sup_log(SUP_LOG_ERROR, "expected one PID");
		return -EINVAL;
	}
	errno = 0;
	v = strtol(argv[optind], &end, 10);
	if (errno || *end || end == argv[optind] || v <= 0 || v > INT_MAX) {
		sup_log(SUP_LOG_ERROR, "bad PID '%s'", argv[optind]);
		return -EINVAL;
	}
	o->pid = (pid_t)v;
	return 0;
}

int sup_opts_parse_agent(struct sup_opts *o, int argc, char **argv, bool cmd)
{
	int c, err;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", agent_options, NULL)) != -1) {
		err = take_option(o, c);
		if (err)
			return err;
	}
	if (o->help)
		return 0;
	if (!cmd)
		return parse_pid(o, argc, argv);
	if (optind >= argc) {
		sup_log(SUP_LOG_ERROR, "no CMD to run: bpftime start [OPTIONS] -- CMD [ARGS...]");
		return -EINVAL;
	}
	o->argv = argv + optind;
	return 0;
}
