/* SPDX-License-Identifier: MIT */
/*
 * bpftime-vm internals: the command line (main.c), loading and running a
 * program (run.c) and the helpers programs may call (helpers.c).
 */
#ifndef BPFTIME_CLI_H
#define BPFTIME_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <bpftime/vm.h>

/* Exit codes: 0 success, 1 the work failed, 2 the command line is wrong. */
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

struct cli_run_opts {
	bool checked;
	bool raw;
	const char *mem_path; /* NULL: no input memory */
	const char *section;  /* NULL: the first program */
	const char *prog_path;
	uint64_t repeat; /* --repeat N; 0: run once and print no timing */
};

/* Per-run state of the helpers, passed as the run's cookie. */
struct cli_env {
	bool checked; /* verify helper arguments with bpftime_vm_call__access_ok */
	uint64_t rng; /* bpf_get_prandom_u32 state, never 0 */
};

/* "bpftime-vm: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Register every helper bpftime-vm offers; 0 or -errno. */
int cli_register_helpers(struct bpftime_vm *vm);

/* Seed @env for one invocation. */
void cli_env_init(struct cli_env *env, bool checked);

/* Load and run; returns the process exit code. */
int cli_run(const struct cli_run_opts *opts);

#endif /* BPFTIME_CLI_H */
