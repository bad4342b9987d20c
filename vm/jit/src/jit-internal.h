/* SPDX-License-Identifier: MIT */
/*
 * The JIT's three steps, one file each:
 *
 *   jit-ir.c      loaded vm (vm_dec) -> LLVM IR module
 *   jit-codegen.c IR -> optimised -> x86-64 ELF relocatable object
 *   jit-link.c    object -> image (vm-image.h): sections placed, every
 *                 relocation resolved against the code or the data slots
 */
#ifndef BPFTIME_JIT_INTERNAL_H
#define BPFTIME_JIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <llvm-c/Core.h>
#include <bpftime/jit.h>
#include "vm-internal.h"
#include "vm-image.h"

/* Symbol names shared by the IR builder and the linker. */
#define JIT_FUNC_PREFIX "bpftime_f"     /* + first insn index */
#define JIT_SLOT_PREFIX "bpftime_slot"  /* + slot index */
#define JIT_ENTRY_NAME  "bpftime_entry" /* fast mode: vm-image.h */

/* A data slot the code reads, in the order the IR builder made them. */
struct jit_slots {
	struct vm_image_slot *v;
	uint32_t nr, cap;
};

struct jit_err {
	char *buf;
	size_t len;
};

/* printf into @e (when it has a buffer); returns @err */
int jit_error(struct jit_err *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* jit.c: the three steps below, in this process (@opts checked). */
int jit_compile_here(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts, void **image,
		     size_t *size, char *err_buf, size_t err_len);

/* jit-isolate.c: jit_compile_here() in a child process, stopped after
 * @timeout_ms; a child that dies or is stopped fails it (-EIO, -ETIMEDOUT). */
int jit_compile_isolated(const struct bpftime_vm *vm, const struct bpftime_jit_opts *opts,
			 unsigned timeout_ms, void **image, size_t *size, struct jit_err *e);

/* jit-ir.c: build @mod from the loaded @vm; slots are appended to @slots. */
int jit_build_ir(const struct bpftime_vm *vm, LLVMContextRef ctx, LLVMModuleRef mod,
		 struct jit_slots *slots, struct jit_err *e);

/* jit-codegen.c: optimise @mod at @opt_level and emit an object file
 * (malloc'd) for the host CPU; @ir_path, when set, gets the optimised IR. */
int jit_codegen(LLVMModuleRef mod, unsigned opt_level, const char *ir_path, void **obj,
		size_t *obj_len, struct jit_err *e);

/* jit-link.c: the image of @vm's program from object @obj. */
int jit_link(const struct bpftime_vm *vm, const void *obj, size_t obj_len,
	     const struct jit_slots *slots, void **image, size_t *image_len, struct jit_err *e);

#endif /* BPFTIME_JIT_INTERNAL_H */
