// SPDX-License-Identifier: MIT
/*
 * bpftime-vm: run an eBPF program on the bpftime vm from the command line.
 *
 *   bpftime-vm run [--engine interp|jit | --aot IMAGE] [--checked] [--mem FILE]
 *                  [--repeat N] [--section NAME] [--raw] PROGRAM
 *   bpftime-vm compile [--checked] [--section NAME] [--raw] [-o OUT] [--ir FILE]
 *                  FILE...
 *
 * This file is the command line only: subcommands, options, usage. Exit
 * codes: 0 success, 1 the program could not be loaded or run, 2 the
 * command line is wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#ifndef BPFTIME_VERSION
#define BPFTIME_VERSION "unknown"
#endif

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("bpftime-vm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs("Usage: bpftime-vm COMMAND [OPTIONS]\n"
	      "\n"
	      "Run eBPF programs in userspace on the bpftime vm.\n"
	      "\n"
	      "Commands:\n"
	      "  run [OPTIONS] PROGRAM   load PROGRAM, run it and print r0\n"
	      "  compile [OPTIONS] FILE...\n"
	      "                          compile programs to native images for 'run --aot'\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help              show this help\n"
	      "  --version               show the version and the engines built in\n"
	      "\n"
	      "'bpftime-vm run --help' and 'bpftime-vm compile --help' list their options.\n",
	      f);
}

static void run_usage(FILE *f)
{
	fputs("Usage: bpftime-vm run [OPTIONS] PROGRAM\n"
	      "\n"
	      "Load PROGRAM into the vm, run it and print r0 as 'r0 = <decimal> (0x<hex>)'.\n"
	      "PROGRAM is a BPF ELF object (clang -target bpf): its first program, or the one\n"
	      "chosen with --section; with --raw, a file of little-endian 8-byte instructions.\n"
	      "At entry r1 points at the input memory and r2 holds its length.\n"
	      "\n"
	      "Options:\n"
	      "  --engine NAME    execution engine: jit (compile to native code with LLVM;\n"
	      "                   the default when built in) or interp (the interpreter)\n"
	      "  --aot IMAGE      run the native image 'bpftime-vm compile' wrote for this\n"
	      "                   program (same file, --section, --raw and --checked);\n"
	      "                   needs no LLVM. A stale image is refused\n"
	      "  --checked        bounds-check every memory access (stack, input memory,\n"
	      "                   global data); a stray access stops the run with an error\n"
	      "  --mem FILE       input memory: the bytes of FILE (default: none, r1 = r2 = 0)\n"
	      "  --repeat N       run N times and print the mean time per run and the\n"
	      "                   engine that ran them (interp, jit or aot)\n"
	      "  --section NAME   run the program whose ELF section or function is NAME\n"
	      "  --raw            PROGRAM holds raw instructions, not an ELF object\n"
	      "  -h, --help       show this help\n"
	      "\n"
	      "Helpers: bpf_ktime_get_ns (5), bpf_trace_printk (6, to stdout),\n"
	      "bpf_get_prandom_u32 (7), bpf_get_smp_processor_id (8), bpf_loop (181).\n"
	      "Exit status: 0 on success, 1 when loading or running fails, 2 for usage errors.\n",
	      f);
}

static void compile_usage(FILE *f)
{
	fputs("Usage: bpftime-vm compile [OPTIONS] FILE...\n"
	      "\n"
	      "Compile the program of each FILE (loaded as 'bpftime-vm run' loads it) to a\n"
	      "native x86-64 image and write it to FILE.jit. 'bpftime-vm run --aot IMAGE'\n"
	      "runs the image later without compiling; it must load the same program with\n"
	      "the same --section, --raw and --checked.\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output OUT  write the image to OUT (one FILE only)\n"
	      "  --checked         an image for the bounds-checked mode (run --checked)\n"
	      "  --section NAME    compile the program whose ELF section or function is NAME\n"
	      "  --raw             FILE holds raw instructions, not an ELF object\n"
	      "  --ir FILE         also write the optimised LLVM IR to FILE (one FILE only)\n"
	      "  -h, --help        show this help\n"
	      "\n"
	      "Exit status: 0 on success, 1 when a file fails to load or compile, 2 for usage\n"
	      "errors and in builds without the JIT.\n",
	      f);
}

/* A positive decimal count; strtoull alone would take "-1" and "12abc". */
static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	OPT_ENGINE = 256,
	OPT_AOT,
	OPT_CHECKED,
	OPT_MEM,
	OPT_REPEAT,
	OPT_SECTION,
	OPT_RAW,
	OPT_IR,
};

static const struct option run_options[] = {
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"aot", required_argument, NULL, OPT_AOT},
    {"checked", no_argument, NULL, OPT_CHECKED},
    {"mem", required_argument, NULL, OPT_MEM},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"section", required_argument, NULL, OPT_SECTION},
    {"raw", no_argument, NULL, OPT_RAW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --checked, --raw and --section (run and compile): whether @c was one. */
static bool prog_option(int c, struct cli_prog_opts *o)
{
	switch (c) {
	case OPT_CHECKED:
		o->checked = true;
		return true;
	case OPT_RAW:
		o->raw = true;
		return true;
	case OPT_SECTION:
		o->section = optarg;
		return true;
	}
	return false;
}

/* Options that contradict each other; true after the message. */
static bool prog_opts_bad(const char *cmd, const struct cli_prog_opts *o)
{
	if (o->raw && o->section) {
		cli_error("%s: --section needs an ELF object, not --raw instructions", cmd);
		return true;
	}
	return false;
}

/* "interp" or "jit"; the jit only when built in. 0, or an exit code. */
static int parse_engine(const char *name, enum cli_engine *engine)
{
	if (!strcmp(name, "interp")) {
		*engine = CLI_ENGINE_INTERP;
		return 0;
	}
	if (strcmp(name, "jit")) {
		cli_error("run: unknown engine '%s' (engines: interp, jit)", name);
		return CLI_EXIT_USAGE;
	}
	if (!cli_jit_built()) {
		cli_error("run: engine 'jit' is not in this build (it needs LLVM >= 16 at "
			  "configure time and an x86-64 host); use --engine interp");
		return CLI_EXIT_USAGE;
	}
	*engine = CLI_ENGINE_JIT;
	return 0;
}

/* An option getopt_long did not take: missing argument or unknown. */
static int bad_option(const char *cmd, int c, char **argv)
{
	if (c == ':') {
		cli_error("%s: option '%s' needs an argument", cmd, argv[optind - 1]);
		return CLI_EXIT_USAGE;
	}
	/* optopt: an unknown short option, possibly inside a cluster */
	if (optopt)
		cli_error("%s: unknown option '-%c' (see 'bpftime-vm %s --help')", cmd, optopt,
			  cmd);
	else
		cli_error("%s: unknown option '%s' (see 'bpftime-vm %s --help')", cmd,
			  argv[optind - 1], cmd);
	return CLI_EXIT_USAGE;
}

/* One option of run; 0, or an exit code. */
static int run_option(int c, struct cli_run_opts *o, bool *engine_set, char **argv)
{
	switch (c) {
	case OPT_ENGINE:
		*engine_set = true;
		return parse_engine(optarg, &o->engine);
	case OPT_AOT:
		o->aot_path = optarg;
		return 0;
	case OPT_MEM:
		o->mem_path = optarg;
		return 0;
	case OPT_REPEAT:
		if (parse_count(optarg, &o->repeat)) {
			cli_error("run: --repeat needs a positive integer, not '%s'", optarg);
			return CLI_EXIT_USAGE;
		}
		return 0;
	}
	return prog_option(c, &o->prog) ? 0 : bad_option("run", c, argv);
}

static int cmd_run(int argc, char **argv)
{
	struct cli_run_opts o = {0};
	bool engine_set = false;
	int c, ret;

	/* the JIT by default, the interpreter in builds without it (issue 7) */
	o.engine = cli_jit_built() ? CLI_ENGINE_JIT : CLI_ENGINE_INTERP;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
		if (c == 'h') {
			run_usage(stdout);
			return 0;
		}
		ret = run_option(c, &o, &engine_set, argv);
		if (ret)
			return ret;
	}
	if (optind != argc - 1) {
		cli_error("run: %s (see 'bpftime-vm run --help')",
			  optind == argc ? "no PROGRAM given" : "more than one PROGRAM given");
		return CLI_EXIT_USAGE;
	}
	if (prog_opts_bad("run", &o.prog))
		return CLI_EXIT_USAGE;
	if (o.aot_path && engine_set) {
		cli_error("run: --aot runs a compiled image: it takes no --engine");
		return CLI_EXIT_USAGE;
	}
	o.prog_path = argv[optind];
	return cli_run(&o);
}

static const struct option compile_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"checked", no_argument, NULL, OPT_CHECKED},
    {"section", required_argument, NULL, OPT_SECTION},
    {"raw", no_argument, NULL, OPT_RAW},
    {"ir", required_argument, NULL, OPT_IR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option of compile; 0, or an exit code. */
static int compile_option(int c, struct cli_compile_opts *o, char **argv)
{
	switch (c) {
	case 'o':
		o->out_path = optarg;
		return 0;
	case OPT_IR:
		o->ir_path = optarg;
		return 0;
	}
	return prog_option(c, &o->prog) ? 0 : bad_option("compile", c, argv);
}

static int cmd_compile(int argc, char **argv)
{
	struct cli_compile_opts o = {0};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", compile_options, NULL)) != -1) {
		if (c == 'h') {
			compile_usage(stdout);
			return 0;
		}
		ret = compile_option(c, &o, argv);
		if (ret)
			return ret;
	}
	o.files = argv + optind;
	o.nr_files = argc - optind;
	if (!o.nr_files) {
		cli_error("compile: no FILE given (see 'bpftime-vm compile --help')");
		return CLI_EXIT_USAGE;
	}
	if (o.nr_files > 1 && (o.out_path || o.ir_path)) {
		cli_error("compile: %s names one file: give one FILE with it",
			  o.out_path ? "-o" : "--ir");
		return CLI_EXIT_USAGE;
	}
	if (prog_opts_bad("compile", &o.prog))
		return CLI_EXIT_USAGE;
	return cli_compile(&o);
}

static void version(void)
{
	printf("bpftime-vm %s (engines: interp%s)\n", BPFTIME_VERSION,
	       cli_jit_built() ? ", jit" : "");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		version();
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc - 1, argv + 1);
	if (cmd[0] == '-')
		cli_error("unknown option '%s' (see 'bpftime-vm --help')", cmd);
	else
		cli_error("unknown command '%s' (see 'bpftime-vm --help')", cmd);
	return CLI_EXIT_USAGE;
}
