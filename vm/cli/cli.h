/* SPDX-License-Identifier: MIT */
/*
 * bpftime-vm internals: the command line (main.c), the program and its vm
 * (prog.c), running it (run.c), compiling it to a native image (compile.c,
 * the only part that needs the JIT) and the helpers programs may call
 * (helpers.c).
 */
#ifndef BPFTIME_CLI_H
#define BPFTIME_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpftime/vm.h>

/* Exit codes: 0 success, 1 the work failed, 2 the command line is wrong. */
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

enum cli_engine {
	CLI_ENGINE_INTERP,
	CLI_ENGINE_JIT, /* only when cli_jit_built() */
};

/* Which program, and for which mode: the options run and compile share. */
struct cli_prog_opts {
	bool checked;
	bool raw;
	const char *section; /* NULL: the first program (of each file) */
};

struct cli_run_opts {
	enum cli_engine engine;
	struct cli_prog_opts prog;
	const char *mem_path; /* NULL: no input memory */
	const char *prog_path;
	const char *aot_path; /* --aot IMAGE: bind this image, compile nothing */
	uint64_t repeat;      /* --repeat N; 0: run once and print no timing */
};

struct cli_compile_opts {
	struct cli_prog_opts prog;
	const char *out_path; /* -o: only with one file; NULL: FILE.jit */
	const char *ir_path;  /* --ir: the optimised LLVM IR; only with one file */
	char **files;
	int nr_files;
};

/* What gets loaded: borrowed from obj, or the decoded raw file. */
struct cli_program {
	struct bpftime_obj *obj; /* NULL for --raw */
	struct bpf_insn *raw;    /* --raw: owned */
	const struct bpf_insn *insns;
	size_t cnt;
	const char *path; /* the file, for messages */
	const char *name; /* the program, for messages */
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

/* prog.c: 0, or -1 after a message. */
int cli_read_file(const char *path, uint8_t **buf, size_t *len);
int cli_program_open(const char *path, bool raw, const char *section, struct cli_program *prog);
void cli_program_free(struct cli_program *prog);
/* A vm with the helpers and @prog loaded (and global data registered when
 * @checked); NULL after a message. */
struct bpftime_vm *cli_make_vm(const struct cli_program *prog, bool checked);

/* compile.c: whether this build has the JIT (LLVM found at configure time). */
bool cli_jit_built(void);
/* Compile and bind @vm in place; 0, or -1 after a message. */
int cli_jit_load(struct bpftime_vm *vm, const struct cli_program *prog);

/* Load and run; returns the process exit code. */
int cli_run(const struct cli_run_opts *opts);

/* Compile every file to an image; returns the process exit code. */
int cli_compile(const struct cli_compile_opts *opts);

#endif /* BPFTIME_CLI_H */
