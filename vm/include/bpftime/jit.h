/* SPDX-License-Identifier: MIT */
/*
 * bpftime jit: eBPF programs compiled to native x86-64 code through LLVM.
 *
 * The compiler lives in its own library (bpftime_vm_jit, which links LLVM)
 * because the code it makes runs where LLVM cannot go: agents inside static
 * and musl targets. It turns a loaded vm into an *image*: position-
 * independent machine code with no relocations, plus a small table of the
 * per-process values the code needs (helper addresses, map addresses, the
 * vm's runtime entry points). Any process that loaded the same instructions
 * binds the image to its own vm with bpftime_vm__native_bind (vm.h, no
 * LLVM), which fills those values in; runs then take the native code.
 *
 *   bpftime_jit__compile(vm)     vm loaded, image out (supervisor, bpftime-vm)
 *   bpftime_vm__load_native(vm)  image in, runs native (any process, libc)
 *   bpftime_jit__load(vm)        both in one step, in the same process
 *
 * An image is compiled for one mode: bounds-checked when the vm was created
 * with bounds_check, fast otherwise. A run in the other mode (a per-run
 * BPFTIME_VM_RUN_CHECKED on a fast vm) takes the interpreter.
 */
#ifndef BPFTIME_JIT_H
#define BPFTIME_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpftime/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpftime_jit_opts {
	/* sizeof(struct bpftime_jit_opts); bytes past the known fields must be 0 */
	size_t sz;
	/* LLVM optimisation level 0..3; 0 in this struct means the default, 2 */
	unsigned opt_level;
	/* when not 0: compile in a child process and stop it after this many
	 * ms, so that an LLVM abort or a compilation that takes too long fails
	 * the call (-EIO, -ETIMEDOUT) instead of the caller (the supervisor).
	 * (In what was padding: the struct has none, so a designated
	 * initialiser zeroes every byte check_opts reads.) */
	unsigned timeout_ms;
	/* write the optimised LLVM IR here when not NULL (for bpftime-vm) */
	const char *ir_path;
	size_t : 0;
};
#define bpftime_jit_opts__last_field ir_path

/* Declare @NAME with sz set and the given fields, the rest zero. */
#define BPFTIME_JIT_OPTS(NAME, ...)                                                                \
	struct bpftime_jit_opts NAME = {.sz = sizeof(struct bpftime_jit_opts), __VA_ARGS__}

/**
 * @brief Whether this build can compile (LLVM found at configure time, and
 * the host is x86-64).
 */
bool bpftime_jit__available(void);

/**
 * @brief Compile the program loaded in @vm into an image.
 * @param opts NULL for the defaults.
 * @param image out: malloc'd image, free() it.
 * @param size out: its size in bytes.
 * @param err NULL, or a buffer for a message naming what failed.
 * @return 0; -EINVAL (vm not loaded, bad opts), -EOPNOTSUPP (no LLVM, or an
 * instruction the compiler does not handle, named in @err), -ENOMEM, -EIO
 * (LLVM failed, or with opts.timeout_ms died; the reason in @err),
 * -ETIMEDOUT (opts.timeout_ms passed).
 */
int bpftime_jit__compile(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts,
			 void **image, size_t *size, char *err, size_t err_len);

/**
 * @brief Compile and bind in one step: runs of @vm take native code after it.
 * @return 0 or a negative errno from bpftime_jit__compile or
 * bpftime_vm__load_native; the message in bpftime_vm__last_error(@vm).
 */
int bpftime_jit__load(struct bpftime_vm *vm, const struct bpftime_jit_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_JIT_H */
