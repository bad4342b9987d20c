/* SPDX-License-Identifier: MIT */
/*
 * Internal parts of the assembler:
 *
 *   asm-tables.c   mnemonic <-> encoding tables, shared by both directions
 *   asm-lex.c      one source line: words, numbers, registers, [%rN+off]
 *   asm-parse.c    statements, labels and the public bpftime_asm__assemble()
 *   asm-disasm.c   bpftime_asm__disasm()
 */
#ifndef BPFTIME_ASM_INTERNAL_H
#define BPFTIME_ASM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

/* Opcodes newer than the 6.1 uapi headers this project builds with. */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* sign-extending loads, Linux 6.6 */
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ  0x100 /* load-acquire, Linux 6.15 */
#define BPF_STORE_REL 0x110 /* store-release, Linux 6.15 */
#endif

#define ASM_MAX_REG 10 /* %r10, the frame pointer */

/*
 * One named encoding. What @code, @off and @imm mean depends on the table;
 * each table says so.
 */
struct bpftime_asm_op {
	const char *name;
	uint8_t code;
	int16_t off;
	int32_t imm;
};

/* Binary ALU ops (plus neg): @code is the BPF_OP bits, @off 1 for signed div/mod. */
extern const struct bpftime_asm_op bpftime_asm_alu_ops[];
/* Conditional jumps: @code is the BPF_OP bits. */
extern const struct bpftime_asm_op bpftime_asm_jmp_ops[];
/* movsx<from><to>: @code is the class (ALU or ALU64), @off the source width. */
extern const struct bpftime_asm_op bpftime_asm_movsx_ops[];
/* le/be/bswap/swap: @code is the full opcode, @imm the width. */
extern const struct bpftime_asm_op bpftime_asm_end_ops[];
/* Access sizes: suffix name, @code is the BPF_SIZE bits. */
extern const struct bpftime_asm_op bpftime_asm_sizes[];
/* lock ops, without "fetch": @imm is the atomic operation. */
extern const struct bpftime_asm_op bpftime_asm_atomic_ops[];
/* Pseudo lddw sources: @code is src_reg, @off 1 when a second number (offset) follows. */
extern const struct bpftime_asm_op bpftime_asm_pseudo_ldimm64[];

/*
 * Entry of @tab (terminated by a NULL name) named exactly @name[0..@len),
 * or NULL.
 */
const struct bpftime_asm_op *bpftime_asm_find_name(const struct bpftime_asm_op *tab,
						   const char *name, size_t len);

/* ---- asm-lex.c: a cursor over one source line ---- */

struct bpftime_asm_line {
	const char *p;   /* next character */
	const char *end; /* end of the line, the comment excluded */
	size_t no;       /* 1-based line number, for messages */
	char *err;       /* caller's message buffer (may be NULL) */
	size_t err_size;
};

/* Format "line N: <reason>" into the line's message buffer; returns -EINVAL. */
int bpftime_asm_error(struct bpftime_asm_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void bpftime_asm_skip_space(struct bpftime_asm_line *l);
bool bpftime_asm_at_end(struct bpftime_asm_line *l);
/* Skip spaces; consume @c and return true if it comes next. */
bool bpftime_asm_accept(struct bpftime_asm_line *l, char c);
/* Skip spaces and consume @c, or fail with "expected '<c>'". */
int bpftime_asm_expect(struct bpftime_asm_line *l, char c);
/* An identifier ([A-Za-z_.][A-Za-z0-9_.]*); *len is 0 when none comes next. */
void bpftime_asm_word(struct bpftime_asm_line *l, const char **word, size_t *len);
/* Fail unless only spaces remain. */
int bpftime_asm_expect_end(struct bpftime_asm_line *l);

/* A signed number within [min, max]; @what names it in the message. */
int bpftime_asm_number(struct bpftime_asm_line *l, int64_t min, int64_t max, const char *what,
		       int64_t *out);
/* Any 64-bit number, signed or unsigned: the lddw immediate. */
int bpftime_asm_number64(struct bpftime_asm_line *l, uint64_t *out);
/* A 32-bit immediate: [-2^31, 2^32 - 1], kept as its low 32 bits. */
int bpftime_asm_imm32(struct bpftime_asm_line *l, int32_t *out);
/* True when the next non-space character can start a number. */
bool bpftime_asm_number_next(struct bpftime_asm_line *l);
bool bpftime_asm_register_next(struct bpftime_asm_line *l);
/* %r0..%r10. */
int bpftime_asm_register(struct bpftime_asm_line *l, uint8_t *reg);
/* [%rN], [%rN+off] or [%rN-off] with a 16-bit signed offset. */
int bpftime_asm_memory(struct bpftime_asm_line *l, uint8_t *reg, int16_t *off);

#endif /* BPFTIME_ASM_INTERNAL_H */
