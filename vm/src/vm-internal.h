/* SPDX-License-Identifier: MIT */
/*
 * Internal layout shared by the loader (vm-load.c, vm-decode.c) and the
 * interpreter (vm-interp.c).
 *
 * The loader turns each eBPF instruction into one pre-decoded `struct vm_op`
 * at the same index: the class/op/source/size/mode bits become one dense
 * internal opcode, immediates are sign-extended once, jump targets become
 * absolute indexes, helper ids become function pointers. ld_imm64 keeps two
 * slots; the second becomes VM_OP_INVALID and can never be reached because
 * the loader rejects jumps into it.
 */
#ifndef BPFTIME_VM_INTERNAL_H
#define BPFTIME_VM_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <bpftime/vm.h>

/* Opcodes newer than the 6.1 uapi headers this project builds with. */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* sign-extending loads, Linux 6.6 */
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0 /* may_goto, Linux 6.9; not supported */
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ  0x100 /* load-acquire, Linux 6.15 */
#define BPF_STORE_REL 0x110 /* store-release, Linux 6.15 */
#endif

/*
 * X-macro of every internal opcode. ALU ops come in four flavours:
 * 64/32-bit and immediate (K) / register (X) source.
 */
#define VM_ALU_OPS(M, W, S)                                                                        \
	M(ADD##W##S)                                                                               \
	M(SUB##W##S)                                                                               \
	M(MUL##W##S)                                                                               \
	M(DIV##W##S)                                                                               \
	M(SDIV##W##S)                                                                              \
	M(MOD##W##S)                                                                               \
	M(SMOD##W##S)                                                                              \
	M(OR##W##S)                                                                                \
	M(AND##W##S)                                                                               \
	M(XOR##W##S)                                                                               \
	M(LSH##W##S)                                                                               \
	M(RSH##W##S)                                                                               \
	M(ARSH##W##S)                                                                              \
	M(MOV##W##S)

#define VM_JMP_OPS(M, W, S)                                                                        \
	M(JEQ##W##S)                                                                               \
	M(JNE##W##S)                                                                               \
	M(JGT##W##S)                                                                               \
	M(JGE##W##S)                                                                               \
	M(JLT##W##S)                                                                               \
	M(JLE##W##S)                                                                               \
	M(JSET##W##S)                                                                              \
	M(JSGT##W##S)                                                                              \
	M(JSGE##W##S)                                                                              \
	M(JSLT##W##S)                                                                              \
	M(JSLE##W##S)

#define VM_ATOMIC_OPS(M, W)                                                                        \
	M(AADD##W)                                                                                 \
	M(AOR##W)                                                                                  \
	M(AAND##W)                                                                                 \
	M(AXOR##W)                                                                                 \
	M(AFADD##W)                                                                                \
	M(AFOR##W)                                                                                 \
	M(AFAND##W)                                                                                \
	M(AFXOR##W)                                                                                \
	M(AXCHG##W)                                                                                \
	M(ACMPXCHG##W)

#define VM_OPS(M)                                                                                  \
	M(INVALID)                                                                                 \
	VM_ALU_OPS(M, 64, K)                                                                       \
	VM_ALU_OPS(M, 64, X)                                                                       \
	VM_ALU_OPS(M, 32, K)                                                                       \
	VM_ALU_OPS(M, 32, X)                                                                       \
	M(NEG64)                                                                                   \
	M(NEG32)                                                                                   \
	M(MOVSX8_64)                                                                               \
	M(MOVSX16_64)                                                                              \
	M(MOVSX32_64)                                                                              \
	M(MOVSX8_32)                                                                               \
	M(MOVSX16_32)                                                                              \
	M(LE16)                                                                                    \
	M(LE32)                                                                                    \
	M(LE64)                                                                                    \
	M(BE16)                                                                                    \
	M(BE32)                                                                                    \
	M(BE64)                                                                                    \
	M(BSWAP16)                                                                                 \
	M(BSWAP32)                                                                                 \
	M(BSWAP64)                                                                                 \
	M(LDDW)                                                                                    \
	M(LDXB)                                                                                    \
	M(LDXH)                                                                                    \
	M(LDXW)                                                                                    \
	M(LDXDW)                                                                                   \
	M(LDXSB)                                                                                   \
	M(LDXSH)                                                                                   \
	M(LDXSW)                                                                                   \
	M(STB)                                                                                     \
	M(STH)                                                                                     \
	M(STW)                                                                                     \
	M(STDW)                                                                                    \
	M(STXB)                                                                                    \
	M(STXH)                                                                                    \
	M(STXW)                                                                                    \
	M(STXDW)                                                                                   \
	VM_ATOMIC_OPS(M, 32)                                                                       \
	VM_ATOMIC_OPS(M, 64)                                                                       \
	M(LDACQB)                                                                                  \
	M(LDACQH)                                                                                  \
	M(LDACQW)                                                                                  \
	M(LDACQDW)                                                                                 \
	M(STRELB)                                                                                  \
	M(STRELH)                                                                                  \
	M(STRELW)                                                                                  \
	M(STRELDW)                                                                                 \
	M(JA)                                                                                      \
	VM_JMP_OPS(M, 64, K)                                                                       \
	VM_JMP_OPS(M, 64, X)                                                                       \
	VM_JMP_OPS(M, 32, K)                                                                       \
	VM_JMP_OPS(M, 32, X)                                                                       \
	M(CALL_HELPER)                                                                             \
	M(CALL_LOCAL)                                                                              \
	M(CALLX)                                                                                   \
	M(TAIL_CALL)                                                                               \
	M(LOOP)      /* bpf_loop inlined */                                                        \
	M(LOOP_NEXT) /* not emitted: where a bpf_loop callback returns */                          \
	M(EXIT)                                                                                    \
	/* superinstructions, fast mode only (see vm-emit.c) */                                    \
	M(MOVADD64)                                                                                \
	M(MOVAND64)                                                                                \
	M(MOVOR64)                                                                                 \
	M(MOVLSH64)                                                                                \
	M(MOVRSH64)                                                                                \
	M(MOVARSH64)                                                                               \
	M(LDDWADD64)

enum vm_opcode {
#define VM_ENUM(name) VM_OP_##name,
	VM_OPS(VM_ENUM)
#undef VM_ENUM
	    VM_OP__COUNT
};

_Static_assert(VM_OP__COUNT <= 256, "internal opcodes must fit in a byte");

/*
 * One decoded instruction, the loader's view (vm-decode.c, vm-load.c). For
 * jumps and local calls @off holds the absolute target index; for helper
 * calls @imm holds the function pointer and @off the helper id; for ld_imm64
 * @imm holds the resolved value.
 */
struct vm_dec {
	uint8_t code; /* enum vm_opcode */
	uint8_t dst;
	uint8_t src;
	uint8_t flags; /* VM_DEC_* */
	int32_t off;
	uint64_t imm;
};

/*
 * One threaded instruction, the interpreter's view (vm-emit.c): @h is the
 * address of its handler inside the interpreter of one mode, so dispatch is
 * a single indirect jump through the op. Jump offsets stay relative to the
 * next op (16-bit for conditional jumps, 32-bit in @imm for ja, gotol and
 * local calls). 64-bit values do not fit: ld_imm64 keeps its value in the
 * second slot's @u64, a helper call its function in its own @u64.
 */
struct vm_op {
	const void *h;
	union {
		struct {
			uint8_t dst;
			uint8_t src;
			int16_t off;
			int32_t imm;
		};
		uint64_t u64;
	};
};
_Static_assert(sizeof(struct vm_op) == 16, "vm_op is two words");

/* vm_dec.flags: an ld_imm64 whose value depends on the process (a map,
 * map value, BTF object or function address), which native code must read
 * from a data slot instead of embedding. */
#define VM_DEC_PER_PROCESS (1u << 0)

/* Native code of one BPF function (vm-image.h has the convention). */
typedef uint64_t (*vm_native_fn)(struct bpftime_vm_call *call, uint64_t r1, uint64_t r2,
				 uint64_t r3, uint64_t r4, uint64_t r5);
/* A fast-mode image's entry (vm-image.h): the whole run of a program. */
typedef int (*vm_native_entry)(const struct bpftime_vm *vm, struct bpftime_vm_run *run);

enum vm_mode { VM_MODE_FAST, VM_MODE_CHECKED, VM_MODE__COUNT };

struct vm_helper {
	bpftime_vm_helper_fn fn;
	char name[32];
};

struct vm_region {
	uint64_t base;
	uint64_t size;
	unsigned flags;
};

struct bpftime_vm {
	struct bpftime_vm_opts opts;
	struct vm_helper *helpers; /* indexed by id, nr_helpers entries */
	uint32_t nr_helpers;
	struct vm_region regions[BPFTIME_VM_MAX_REGIONS];
	uint32_t nr_regions;
	struct bpf_insn *insns; /* loaded copy, ld_imm64 values resolved */
	struct vm_dec *dec;
	/* threaded code for each interpreter: a run uses the ops of its own
	 * mode in every program it reaches through tail calls */
	struct vm_op *ops[VM_MODE__COUNT];
	uint8_t *is_func; /* 1 at the first instruction of every function */
	uint32_t cnt;
	bool loaded;
	/* what a native image must have been compiled from (vm-native.c):
	 * the instructions with per-process ld_imm64 values left out */
	uint64_t insn_hash;
	/* bound native code (vm-native.c): a function per BPF function,
	 * indexed by its first instruction; NULL when runs interpret */
	vm_native_fn *native_fn;
	vm_native_entry native_entry; /* a fast image's (vm-image.h); else NULL */
	bool native_checked;          /* the mode the image was compiled for */
	bool native_counted;          /* it counts instructions (opts.insn_limit) */
	void *native_mem;             /* the host's mapping, released by native_release */
	size_t native_len;
	void (*native_release)(void *mem, size_t len);
	char err[256];
};

/* The state of one run, handed to helpers as struct bpftime_vm_call. */
struct bpftime_vm_call {
	const struct bpftime_vm *vm;  /* the vm the run started with */
	const struct bpftime_vm *cur; /* the program executing now (tail calls) */
	struct bpftime_vm_run *run;
	uint64_t stack_lo; /* [stack_lo, stack_hi): every frame's stack */
	uint64_t stack_hi;
	uint64_t insn_left; /* checked mode: instructions left when limited */
	uint32_t tail_calls;
	bool checked;   /* the mode of this run: the vm's, or BPFTIME_VM_RUN_CHECKED */
	unsigned depth; /* frame of the instruction that called the current helper */
	int err;        /* a fault inside a helper's callback, propagated after return */
};

/* Total stack: one BPFTIME_VM_STACK_SIZE slot per frame. */
#define VM_STACK_TOTAL (BPFTIME_VM_STACK_SIZE * BPFTIME_VM_MAX_CALL_FRAMES)

/* vm-interp.c: run from @pc at frame @depth with r1..r5 from @args. */
int bpftime_vm_interp(struct bpftime_vm_call *call, uint32_t pc, unsigned depth,
		      const uint64_t args[5], uint64_t *r0);

/* vm-interp.c: the handler addresses of one interpreter, by vm_opcode. */
const void *const *bpftime_vm_interp_labels(enum vm_mode mode);

/* vm-load.c: free everything load made; the vm can be loaded again. */
void bpftime_vm_unload(struct bpftime_vm *vm);

/* vm-emit.c: build vm->ops[] from vm->dec[]. */
int bpftime_vm_emit(struct bpftime_vm *vm);

/* vm-run.c: call function @idx of the running program one frame deeper. */
int bpftime_vm_call_func(struct bpftime_vm_call *call, uint32_t idx, const uint64_t args[5],
			 uint64_t *ret);

/* vm-run.c: the instruction index of a BPF_PSEUDO_FUNC value in @vm, or -1.
 * Function values are addresses in vm->insns, the same in both modes. */
int64_t bpftime_vm_func_index(const struct bpftime_vm *vm, uint64_t fn);

/* vm-decode.c: fill @op from @insn (index @i); message into vm->err. */
int bpftime_vm_decode(struct bpftime_vm *vm, const struct bpf_insn *insn, uint32_t i,
		      struct vm_dec *op);

/* vm.c: printf into vm->err, return @err. */
int bpftime_vm_error(struct bpftime_vm *vm, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * vm.c: bpftime_vm__create, with the allocator to use when opts has none
 * (NULL: opts must have one). bpftime_vm__new passes libc's (vm-alloc-libc.c).
 */
struct bpftime_vm *bpftime_vm_create(const struct bpftime_vm_opts *opts,
				     bpftime_vm_alloc_fn def_alloc,
				     bpftime_vm_dealloc_fn def_dealloc, int *err);

/*
 * vm-mem.c: everything below the public API that libc would otherwise
 * provide, so that creating and loading a vm calls no libc.
 */
/* @size zeroed bytes from the vm's allocator, or NULL */
void *bpftime_vm_zalloc(const struct bpftime_vm *vm, size_t size);
/* give back what bpftime_vm_zalloc(vm, @size) returned; NULL is ignored */
void bpftime_vm_dealloc(const struct bpftime_vm *vm, void *p, size_t size);
void bpftime_vm_memcpy(void *dst, const void *src, size_t n);
void bpftime_vm_memset(void *dst, int c, size_t n);

/*
 * vm-fmt.c: vsnprintf for the vm's messages. Flags '-' and '0', a width,
 * the length modifiers hh h l ll z j t and the conversions d i u x X c s p
 * and %%; returns the length the whole output needs, as vsnprintf.
 */
int bpftime_vm_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int bpftime_vm_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* vm-native.c: whether runs of @checked mode may take @vm's native code. */
static inline bool bpftime_vm_native_ok(const struct bpftime_vm *vm, bool checked)
{
	return vm->native_fn && vm->native_checked == checked;
}

/* vm-native.c: run function @idx of call->cur natively at frame @depth. */
int bpftime_vm_native_call(struct bpftime_vm_call *call, uint32_t idx, unsigned depth,
			   const uint64_t args[5], uint64_t *r0);

/* vm-native.c: hash of the decoded opcodes of the loaded program: how
 * this vm decodes the instructions (bpf_loop inlined or called, tail calls
 * through the hook or a helper), which an image must match. */
uint64_t bpftime_vm_dec_hash(const struct bpftime_vm *vm);

/* vm-native.c: drop the binding (unload and free). */
void bpftime_vm_native_unbind(struct bpftime_vm *vm);

/* vm-load.c: the hash bpftime_vm.insn_hash holds, of @cnt instructions as
 * given to load (per-process ld_imm64 values left out). */
uint64_t bpftime_vm_insn_hash(const struct bpf_insn *insns, size_t cnt);

/* vm-access.c: the bounds check of the checked mode. */
bool bpftime_vm_access_ok(const struct bpftime_vm_call *call, uint64_t addr, uint64_t size,
			  bool write);

#endif /* BPFTIME_VM_INTERNAL_H */
