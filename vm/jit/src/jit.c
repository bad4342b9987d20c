// SPDX-License-Identifier: MIT
/*
 * The public face of the JIT (bpftime/jit.h): options, one LLVM context per
 * compilation (so compilations in several threads never share LLVM state),
 * and the three steps of jit-internal.h in order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/jit.h>
#include "jit-internal.h"

int jit_error(struct jit_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e && e->buf && e->len) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return err;
}

bool bpftime_jit__available(void)
{
#if defined(__x86_64__)
	return true;
#else
	return false;
#endif
}

/* opts->sz and zeroed bytes past the known fields, as libbpf's OPTS_VALID */
static int check_opts(const struct bpftime_jit_opts *opts, struct jit_err *e)
{
	size_t known = offsetof(struct bpftime_jit_opts, bpftime_jit_opts__last_field) +
		       sizeof(opts->bpftime_jit_opts__last_field);

	if (!opts)
		return 0;
	if (opts->sz < sizeof(size_t))
		return jit_error(e, -EINVAL, "opts.sz is %zu", opts->sz);
	for (size_t i = known; i < opts->sz; i++)
		if (((const char *)opts)[i])
			return jit_error(e, -EINVAL,
					 "opts has non-zero bytes past its known fields");
	if (opts->sz >= offsetof(struct bpftime_jit_opts, opt_level) + sizeof(opts->opt_level) &&
	    opts->opt_level > 3)
		return jit_error(e, -EINVAL, "opt_level %u (0..3)", opts->opt_level);
	return 0;
}

/* opts' field @f when the caller's struct has it, else 0 */
#define OPT(opts, f)                                                                               \
	((opts) && (opts)->sz >= offsetof(struct bpftime_jit_opts, f) + sizeof((opts)->f)          \
	     ? (opts)->f                                                                           \
	     : 0)

int jit_compile_here(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts, void **image,
		     size_t *size, char *err_buf, size_t err_len)
{
	struct jit_err e = {.buf = err_buf, .len = err_len};
	struct jit_slots slots = {0};
	unsigned level = OPT(opts, opt_level) ? OPT(opts, opt_level) : 2;
	const char *ir_path = OPT(opts, ir_path);
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	void *obj = NULL;
	size_t obj_len = 0;
	int err;

	ctx = LLVMContextCreate();
	mod = LLVMModuleCreateWithNameInContext("bpftime", ctx);
	err = jit_build_ir(vm, ctx, mod, &slots, &e);
	if (!err)
		err = jit_codegen(mod, level, ir_path, &obj, &obj_len, &e);
	if (!err)
		err = jit_link(vm, obj, obj_len, &slots, image, size, &e);
	free(obj);
	free(slots.v);
	LLVMDisposeModule(mod);
	LLVMContextDispose(ctx);
	return err;
}

int bpftime_jit__compile(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts,
			 void **image, size_t *size, char *err_buf, size_t err_len)
{
	struct jit_err e = {.buf = err_buf, .len = err_len};
	unsigned timeout_ms;
	int err;

	if (err_buf && err_len)
		err_buf[0] = '\0';
	if (!vm || !image || !size)
		return jit_error(&e, -EINVAL, "no vm or no output");
	if (!vm->loaded)
		return jit_error(&e, -EINVAL, "no program loaded");
	if (!bpftime_jit__available())
		return jit_error(&e, -EOPNOTSUPP, "the JIT compiles for x86-64 only");
	err = check_opts(opts, &e);
	if (err)
		return err;
	timeout_ms = OPT(opts, timeout_ms);
	if (timeout_ms)
		return jit_compile_isolated(vm, opts, timeout_ms, image, size, &e);
	return jit_compile_here(vm, opts, image, size, err_buf, err_len);
}

int bpftime_jit__load(struct bpftime_vm *vm, const struct bpftime_jit_opts *opts)
{
	char msg[256];
	void *image = NULL;
	size_t size = 0;
	int err;

	if (!vm)
		return -EINVAL;
	err = bpftime_jit__compile(vm, opts, &image, &size, msg, sizeof(msg));
	if (err)
		return bpftime_vm_error(vm, err, "jit: %s", msg);
	err = bpftime_vm__load_native(vm, image, size);
	free(image);
	return err;
}
