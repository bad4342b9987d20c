// SPDX-License-Identifier: MIT
/*
 * bpftime-vm run: read the program and the input memory, load the program
 * into a vm (prog.c), give the vm its engine, run it, report r0 or the
 * fault.
 *
 * Engines: the interpreter as loaded; the JIT, which compiles the program in
 * this process (compile.c); or --aot IMAGE, an image `bpftime-vm compile`
 * wrote earlier, bound with bpftime_vm__load_native and so without LLVM.
 * The vm checks that the image was compiled from these instructions, for
 * this mode and helper set; a stale one is refused with its reason.
 *
 * Every failure prints one line, "bpftime-vm: <what>: <why>", and makes the
 * command exit with CLI_EXIT_FAIL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

static int bind_image(struct bpftime_vm *vm, const struct cli_program *prog, const char *path)
{
	uint8_t *image;
	size_t len;
	int err;

	if (cli_read_file(path, &image, &len))
		return -1;
	err = bpftime_vm__load_native(vm, image, len);
	free(image);
	if (err) {
		cli_error("%s: cannot bind the image to prog '%s' of %s: %s", path, prog->name,
			  prog->path, bpftime_vm__last_error(vm));
		return -1;
	}
	return 0;
}

static int set_engine(const struct cli_run_opts *o, struct bpftime_vm *vm,
		      const struct cli_program *prog)
{
	if (o->aot_path)
		return bind_image(vm, prog, o->aot_path);
	if (o->engine == CLI_ENGINE_JIT)
		return cli_jit_load(vm, prog);
	return 0;
}

/* What the runs took, as the vm says: native code or the interpreter. */
static const char *engine_name(const struct cli_run_opts *o, const struct bpftime_vm *vm)
{
	if (!bpftime_vm__is_native(vm))
		return "interp";
	return o->aot_path ? "aot" : "jit";
}

static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

static int run_vm(const struct cli_run_opts *o, const struct cli_program *prog,
		  const struct bpftime_vm *vm, uint8_t *mem, size_t len)
{
	struct cli_env env;
	struct bpftime_vm_run run = {.ctx = len ? mem : NULL, .ctx_len = len, .cookie = &env};
	uint64_t n = o->repeat ? o->repeat : 1;
	struct timespec t0, t1;
	char fault[256];
	int err = 0;

	cli_env_init(&env, o->prog.checked);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < n && !err; i++)
		err = bpftime_vm__run(vm, &run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fflush(stdout); /* trace_printk lines come before the verdict */
	if (err) {
		bpftime_vm_fault__format(&run.fault, fault, sizeof(fault));
		cli_error("%s: prog '%s': run failed: %s", o->prog_path, prog->name, fault);
		return CLI_EXIT_FAIL;
	}
	printf("r0 = %llu (0x%llx)\n", (unsigned long long)run.r0, (unsigned long long)run.r0);
	if (o->repeat)
		printf("%llu runs, %.2f ns/run (%s)\n", (unsigned long long)n,
		       elapsed_ns(&t0, &t1) / n, engine_name(o, vm));
	return 0;
}

int cli_run(const struct cli_run_opts *o)
{
	struct cli_program prog = {0};
	struct bpftime_vm *vm = NULL;
	uint8_t *mem = NULL;
	size_t len = 0;
	int ret = CLI_EXIT_FAIL;

	if (o->mem_path && cli_read_file(o->mem_path, &mem, &len))
		goto out;
	if (cli_program_open(o->prog_path, o->prog.raw, o->prog.section, &prog))
		goto out;
	vm = cli_make_vm(&prog, o->prog.checked);
	if (vm && !set_engine(o, vm, &prog))
		ret = run_vm(o, &prog, vm, mem, len);
out:
	bpftime_vm__free(vm);
	cli_program_free(&prog);
	free(mem);
	return ret;
}
