/* SPDX-License-Identifier: MIT */
/*
 * The native image: what the JIT (vm/jit, LLVM) makes and the vm core binds
 * in any process (vm-native.c, no LLVM, no libc). The layout is an ABI
 * between the two: both sides are built from this tree, and
 * VM_IMAGE_ABI changes whenever this file, struct bpftime_vm_call or the
 * calling convention of the generated code changes, so an image written by
 * another build (bpftime-vm compile) is refused instead of misread.
 *
 *   struct vm_image_hdr
 *   struct vm_image_func  funcs[nr_funcs]   BPF function -> code offset
 *   struct vm_image_slot  slots[nr_slots]   what each data slot holds
 *   code[code_len]                          at code_off, 16-byte aligned
 *
 * Bound in a process, the code is copied to the start of a mapping and the
 * slots, 8 bytes each, follow at the next page boundary (slot_base(code_len)):
 *
 *   mem + 0                 code (made read + exec by the host)
 *   mem + vm_image_data_off data slots (made read-only by the host)
 *
 * The compiler links the code for exactly that distance: every reference
 * the code makes to a per-process value is a RIP-relative load of a slot.
 * So the code has no relocations and needs no LLVM to place.
 *
 * Generated functions, one per BPF function, all with the C convention:
 *
 *   uint64_t fn(struct bpftime_vm_call *call,
 *               uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
 *
 * The caller stores the callee's call frame (0 for the entry, as the
 * interpreter counts them) in call->depth; the function reads it at entry
 * and keeps it. Six arguments: all in registers, none on the stack.
 * A fault sets call->err (and call->run->fault); the caller of a function
 * checks call->err after it returns and stops too.
 *
 * A fast-mode image, and a checked one that does not count instructions,
 * also has an entry (VM_IMAGE_ENTRY, at entry_code), where its runs start:
 *
 *   int entry(const struct bpftime_vm *vm, struct bpftime_vm_run *run);
 *
 * which sets up the call state as run_full() (vm-run.c) does, runs
 * function 0 with run->ctx and run->ctx_len, stores r0 in run->r0 and
 * returns call->err. Being generated, it lets LLVM drop the call state of
 * a program that never hands it to anyone: the entry costs one call. A
 * checked entry keeps the run's stack area in its own frame, uncleared:
 * it is used only by a vm with opts.keep_stack and without
 * opts.zero_stack (the agent's), as run_full() clears it otherwise.
 */
#ifndef BPFTIME_VM_IMAGE_H
#define BPFTIME_VM_IMAGE_H

#include <stdint.h>

#define VM_IMAGE_MAGIC "BPFTJIT"
#define VM_IMAGE_ABI   5 /* 2: dec_hash; 3: the frame in call->depth; 4: entry; 5: checked entry */
#define VM_IMAGE_PAGE  4096u

/* vm_image_hdr.flags */
#define VM_IMAGE_CHECKED (1u << 0) /* bounds-checked code */
#define VM_IMAGE_COUNTED (1u << 1) /* counts instructions (opts.insn_limit) */
#define VM_IMAGE_ENTRY   (1u << 2) /* has the entry, at entry_code */

struct vm_image_hdr {
	char magic[8];      /* VM_IMAGE_MAGIC, NUL-padded */
	uint32_t abi;       /* VM_IMAGE_ABI */
	uint32_t flags;     /* VM_IMAGE_* */
	uint64_t insn_hash; /* bpftime_vm's insn_hash of the compiled program */
	/* bpftime_vm_dec_hash: the decoded opcodes, which depend on the vm as
	 * well (bpf_loop inlined, tail calls through the hook) */
	uint64_t dec_hash;
	uint32_t insn_cnt;
	uint32_t nr_funcs;
	uint32_t funcs_off; /* from the start of the image */
	uint32_t nr_slots;
	uint32_t slots_off;
	uint32_t code_off;
	uint32_t code_len;
	uint32_t total_len;  /* the whole image */
	uint32_t entry_code; /* VM_IMAGE_ENTRY: the entry, from the start of the code */
	uint32_t reserved;   /* 0 */
};

struct vm_image_func {
	uint32_t insn; /* first instruction of the BPF function */
	uint32_t code; /* its entry, from the start of the code */
};

/* What a data slot holds in the binding process. */
enum vm_image_slot_kind {
	VM_SLOT_LDIMM64 = 1, /* vm->dec[arg].imm: a map, map value, BTF or function value */
	VM_SLOT_HELPER,      /* the function of helper id @arg */
	VM_SLOT_VM,          /* the bound vm itself */
	VM_SLOT_RT,          /* runtime entry @arg (enum vm_rt) */
};

/* Runtime entries the generated code calls (vm-native.c has the contracts). */
enum vm_rt {
	VM_RT_ACCESS = 0, /* bool (call, addr, size, write) */
	VM_RT_FAULT,      /* void (call, vm, pc, err, addr, size, write) */
	VM_RT_HELPER_ERR, /* void (call, vm, pc) */
	VM_RT_TAIL_CALL,  /* int (call, vm, depth, r1, r2, r3, uint64_t *r0) */
	VM_RT_FUNC_INDEX, /* int64_t (vm, value) */
	VM_RT_CALLX,      /* uint64_t (call, vm, depth, pc, value, r1..r5): helper id */
	VM_RT__COUNT
};

struct vm_image_slot {
	uint32_t kind; /* enum vm_image_slot_kind */
	uint32_t arg;
};

/* Where the data slots start in a bound mapping: the page after the code. */
static inline uint64_t vm_image_data_off(uint32_t code_len)
{
	return ((uint64_t)code_len + VM_IMAGE_PAGE - 1) & ~(uint64_t)(VM_IMAGE_PAGE - 1);
}

#endif /* BPFTIME_VM_IMAGE_H */
