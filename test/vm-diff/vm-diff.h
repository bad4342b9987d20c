/* SPDX-License-Identifier: MIT */
/*
 * bpftime-vm-diff: random eBPF programs that the kernel verifier accepts,
 * run on every engine we have (interpreter fast and bounds-checked, JIT fast
 * and bounds-checked, and the kernel through BPF_PROG_TEST_RUN when root);
 * r0 and the whole map value must come out the same everywhere.
 *
 * The one memory channel is a 256-byte array-map value (VMD_VALUE_SIZE)
 * that the program addresses through r9 = ld_imm64 BPF_PSEUDO_MAP_VALUE:
 *
 *   [0, VMD_DATA_SIZE)           what the body loads from and stores to
 *   [VMD_REGS_OFF, +9 * 8)       r0..r8 as the epilogue leaves them
 *   [VMD_STACK_OFF, +7 * 8)      the stack slots the body uses, copied out
 *
 * so that every register and every stack byte is observed at the end.
 */
#ifndef BPFTIME_VM_DIFF_H
#define BPFTIME_VM_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#define VMD_VALUE_SIZE 256
#define VMD_DATA_SIZE  128
#define VMD_REGS_OFF   128
#define VMD_STACK_OFF  200
/* bytes of stack below r10 that programs use: every one initialised first */
#define VMD_STACK_SIZE 56

/* Opcode bits the Debian 12 (6.1) uapi headers do not have yet. */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* sign-extending load, Linux 6.6 */
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ  0x100 /* load-acquire, Linux 6.15 */
#define BPF_STORE_REL 0x110 /* store-release, Linux 6.15 */
#endif

/** @brief One generated program and the map value it starts from. */
struct vmd_prog {
	uint64_t seed;
	struct bpf_insn *insns; /* malloc'd; map value ld_imm64s have imm 0 */
	size_t cnt;
	uint8_t init[VMD_VALUE_SIZE];
};

/**
 * @brief Generate the program of @seed with about @len top-level units.
 * The same seed and len give the same program.
 * @return 0 or -ENOMEM.
 */
int vmd_generate(uint64_t seed, unsigned len, struct vmd_prog *prog);
void vmd_prog_free(struct vmd_prog *prog);

/** @brief What one engine made of a program. */
struct vmd_result {
	int err;           /* 0, or the negative errno of the step that failed */
	const char *stage; /* "load", "jit", "run", "verifier", ... when err */
	char msg[512];
	bool has_r0; /* the kernel gives only 32 bits: r0 from the value then */
	uint64_t r0;
	uint8_t value[VMD_VALUE_SIZE] __attribute__((aligned(8)));
};

enum vmd_engine {
	VMD_INTERP,
	VMD_INTERP_CHECKED,
	VMD_JIT,
	VMD_JIT_CHECKED,
	VMD_KERNEL,
	VMD_MUTANT, /* --self-test: the interpreter on a deliberately broken copy */
	VMD_NR_ENGINES,
};

extern const char *const vmd_engine_name[VMD_NR_ENGINES];

/** @brief Whether this build has the JIT leg. */
bool vmd_have_jit(void);

/**
 * @brief Run @prog on a bpftime engine (not VMD_KERNEL) from prog->init.
 * @insns replaces prog->insns when not NULL (the mutant).
 */
void vmd_run_bpftime(const struct vmd_prog *prog, const struct bpf_insn *insns,
		     enum vmd_engine engine, struct vmd_result *res);

/* The kernel leg: one array map, reset before every program. */
struct vmd_kernel {
	int map_fd;
	int btf_fd; /* func_info for the subprograms */
	char *log;  /* verifier log of the last rejected program */
	size_t log_size;
};

/**
 * @brief Create the map. @return 0, or a negative errno with @why set
 * (EPERM as an ordinary user).
 */
int vmd_kernel_open(struct vmd_kernel *k, char *why, size_t why_size);
void vmd_kernel_close(struct vmd_kernel *k);

/**
 * @brief Load @prog as a socket filter, BPF_PROG_TEST_RUN it once and read
 * the map value back. A verifier rejection sets res->stage "verifier" and
 * leaves the log in k->log.
 */
void vmd_kernel_run(struct vmd_kernel *k, const struct vmd_prog *prog, struct vmd_result *res);

#endif
