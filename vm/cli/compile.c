// SPDX-License-Identifier: MIT
/*
 * The part of bpftime-vm that needs the JIT (bpftime/jit.h, LLVM): the jit
 * engine of run, and `bpftime-vm compile`, which writes the image of each
 * program to a file that `run --aot` binds later without LLVM.
 *
 * compile loads each program as run does (prog.c: same helpers, same mode,
 * same global data), because an image binds only to a vm loaded from the
 * same instructions in the same mode with the same helpers.
 *
 * Without the JIT in the build (no LLVM >= 16 at configure time) only
 * cli_jit_built() is here, and says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#endif

#ifdef BPFTIME_HAVE_JIT
bool cli_jit_built(void)
{
	return bpftime_jit__available();
}

int cli_jit_load(struct bpftime_vm *vm, const struct cli_program *prog)
{
	int err = bpftime_jit__load(vm, NULL);

	if (err) {
		cli_error("%s: prog '%s': %s (--engine interp runs it interpreted)", prog->path,
			  prog->name, bpftime_vm__last_error(vm));
		return -1;
	}
	return 0;
}

/* The whole image to @path, replacing what was there. */
static int write_image(const char *path, const void *image, size_t len)
{
	FILE *f = fopen(path, "wbe");

	if (!f) {
		cli_error("%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	if (fwrite(image, 1, len, f) != len || fflush(f)) {
		cli_error("%s: cannot write: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f)) {
		cli_error("%s: cannot write: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* FILE.jit unless -o named the output; NULL when out of memory. */
static char *out_name(const struct cli_compile_opts *o, const char *file)
{
	size_t n;
	char *name;

	if (o->out_path)
		return strdup(o->out_path);
	n = strlen(file) + sizeof(".jit");
	name = malloc(n);
	if (name)
		snprintf(name, n, "%s.jit", file);
	return name;
}

static int compile_vm(const struct cli_compile_opts *o, const struct cli_program *prog,
		      const struct bpftime_vm *vm, const char *out)
{
	struct bpftime_jit_opts jo = {.sz = sizeof(jo), .ir_path = o->ir_path};
	char msg[512];
	void *image = NULL;
	size_t len = 0;
	int err;

	err = bpftime_jit__compile(vm, &jo, &image, &len, msg, sizeof(msg));
	if (err) {
		cli_error("%s: prog '%s': cannot compile: %s", prog->path, prog->name, msg);
		return -1;
	}
	err = write_image(out, image, len);
	free(image);
	if (err)
		return -1;
	printf("%s: prog '%s' (%zu insns, %s mode): %s, %zu bytes\n", prog->path, prog->name,
	       prog->cnt, o->prog.checked ? "bounds-checked" : "fast", out, len);
	return 0;
}

static int compile_file(const struct cli_compile_opts *o, const char *file)
{
	struct cli_program prog;
	struct bpftime_vm *vm = NULL;
	char *out = NULL;
	int err = -1;

	if (cli_program_open(file, o->prog.raw, o->prog.section, &prog))
		goto out;
	vm = cli_make_vm(&prog, o->prog.checked);
	if (!vm)
		goto out;
	out = out_name(o, file);
	if (!out) {
		cli_error("%s: out of memory", file);
		goto out;
	}
	err = compile_vm(o, &prog, vm, out);
out:
	free(out);
	bpftime_vm__free(vm);
	cli_program_free(&prog);
	return err;
}

/* Every file is tried, so that one invocation reports every failure. */
int cli_compile(const struct cli_compile_opts *o)
{
	int ret = 0;

	for (int i = 0; i < o->nr_files; i++)
		if (compile_file(o, o->files[i]))
			ret = CLI_EXIT_FAIL;
	return ret;
}
#else
bool cli_jit_built(void)
{
	return false;
}

int cli_jit_load(struct bpftime_vm *vm, const struct cli_program *prog)
{
	(void)vm;
	cli_error("%s: prog '%s': this build has no JIT", prog->path, prog->name);
	return -1;
}

int cli_compile(const struct cli_compile_opts *o)
{
	(void)o;
	cli_error("compile: this build has no JIT (LLVM >= 16 was not found when it was "
		  "configured)");
	return CLI_EXIT_USAGE;
}
#endif
