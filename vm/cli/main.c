// SPDX-License-Identifier: MIT
/*
 * bpftime-vm: run an eBPF program on the bpftime vm from the command line.
 *
 *   bpftime-vm run [--engine interp] [--checked] [--mem FILE] [--repeat N]
 *                  [--section NAME] [--raw] PROGRAM
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
	      "\n"
	      "Options:\n"
	      "  -h, --help              show this help\n"
	      "  --version               show the version\n"
	      "\n"
	      "'bpftime-vm run --help' lists the options of run.\n",
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
	      "  --engine NAME    execution engine: interp (the default and only one built)\n"
	      "  --checked        bounds-check every memory access (stack, input memory,\n"
	      "                   global data); a stray access stops the run with an error\n"
	      "  --mem FILE       input memory: the bytes of FILE (default: none, r1 = r2 = 0)\n"
	      "  --repeat N       run N times and print the mean time per run\n"
	      "  --section NAME   run the program whose ELF section or function is NAME\n"
	      "  --raw            PROGRAM holds raw instructions, not an ELF object\n"
	      "  -h, --help       show this help\n"
	      "\n"
	      "Helpers: bpf_ktime_get_ns (5), bpf_trace_printk (6, to stdout),\n"
	      "bpf_get_prandom_u32 (7), bpf_get_smp_processor_id (8), bpf_loop (181).\n"
	      "Exit status: 0 on success, 1 when loading or running fails, 2 for usage errors.\n",
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

enum { OPT_ENGINE = 256, OPT_CHECKED, OPT_MEM, OPT_REPEAT, OPT_SECTION, OPT_RAW };

static const struct option run_options[] = {
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"checked", no_argument, NULL, OPT_CHECKED},
    {"mem", required_argument, NULL, OPT_MEM},
    {"repeat", required_argument, NULL, OPT_REPEAT},
    {"section", required_argument, NULL, OPT_SECTION},
    {"raw", no_argument, NULL, OPT_RAW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option of run; 0, or an exit code. */
static int run_option(int c, struct cli_run_opts *o, char **argv)
{
	switch (c) {
	case OPT_ENGINE:
		if (strcmp(optarg, "interp")) {
			cli_error("run: unknown engine '%s' (this build has: interp)", optarg);
			return CLI_EXIT_USAGE;
		}
		return 0;
	case OPT_CHECKED:
		o->checked = true;
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
	case OPT_SECTION:
		o->section = optarg;
		return 0;
	case OPT_RAW:
		o->raw = true;
		return 0;
	case ':':
		cli_error("run: option '%s' needs an argument", argv[optind - 1]);
		return CLI_EXIT_USAGE;
	}
	/* optopt: an unknown short option, possibly inside a cluster */
	if (optopt)
		cli_error("run: unknown option '-%c' (see 'bpftime-vm run --help')", optopt);
	else
		cli_error("run: unknown option '%s' (see 'bpftime-vm run --help')",
			  argv[optind - 1]);
	return CLI_EXIT_USAGE;
}

static int cmd_run(int argc, char **argv)
{
	struct cli_run_opts o = {0};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", run_options, NULL)) != -1) {
		if (c == 'h') {
			run_usage(stdout);
			return 0;
		}
		ret = run_option(c, &o, argv);
		if (ret)
			return ret;
	}
	if (optind != argc - 1) {
		cli_error("run: %s (see 'bpftime-vm run --help')",
			  optind == argc ? "no PROGRAM given" : "more than one PROGRAM given");
		return CLI_EXIT_USAGE;
	}
	if (o.raw && o.section) {
		cli_error("run: --section needs an ELF object, not --raw instructions");
		return CLI_EXIT_USAGE;
	}
	o.prog_path = argv[optind];
	return cli_run(&o);
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
		printf("bpftime-vm %s\n", BPFTIME_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		cli_error("unknown option '%s' (see 'bpftime-vm --help')", cmd);
	else
		cli_error("unknown command '%s' (see 'bpftime-vm --help')", cmd);
	return CLI_EXIT_USAGE;
}
