// SPDX-License-Identifier: MIT
/*
 * Mnemonics and their encodings (RFC 9669 sections 4-5, plus the Linux
 * extensions named in asm.h). The assembler looks entries up by name and
 * the disassembler by value, so a name maps to exactly one encoding; where
 * two names share an encoding (bswap/swap) the first one listed is what
 * the disassembler prints.
 */
#include <string.h>
#include "asm-internal.h"

const struct bpftime_asm_op bpftime_asm_alu_ops[] = {
    {"add", BPF_ADD, 0, 0}, {"sub", BPF_SUB, 0, 0},  {"mul", BPF_MUL, 0, 0},
    {"div", BPF_DIV, 0, 0}, {"sdiv", BPF_DIV, 1, 0}, {"or", BPF_OR, 0, 0},
    {"and", BPF_AND, 0, 0}, {"lsh", BPF_LSH, 0, 0},  {"rsh", BPF_RSH, 0, 0},
    {"neg", BPF_NEG, 0, 0}, {"mod", BPF_MOD, 0, 0},  {"smod", BPF_MOD, 1, 0},
    {"xor", BPF_XOR, 0, 0}, {"mov", BPF_MOV, 0, 0},  {"arsh", BPF_ARSH, 0, 0},
    {NULL, 0, 0, 0},
};

const struct bpftime_asm_op bpftime_asm_jmp_ops[] = {
    {"jeq", BPF_JEQ, 0, 0},   {"jgt", BPF_JGT, 0, 0},   {"jge", BPF_JGE, 0, 0},
    {"jset", BPF_JSET, 0, 0}, {"jne", BPF_JNE, 0, 0},   {"jsgt", BPF_JSGT, 0, 0},
    {"jsge", BPF_JSGE, 0, 0}, {"jlt", BPF_JLT, 0, 0},   {"jle", BPF_JLE, 0, 0},
    {"jslt", BPF_JSLT, 0, 0}, {"jsle", BPF_JSLE, 0, 0}, {NULL, 0, 0, 0},
};

/* RFC 9669 4.2: MOVSX is MOV|X with the source width in off; no 32 -> 32. */
const struct bpftime_asm_op bpftime_asm_movsx_ops[] = {
    {"movsx832", BPF_ALU, 8, 0},     {"movsx1632", BPF_ALU, 16, 0},   {"movsx864", BPF_ALU64, 8, 0},
    {"movsx1664", BPF_ALU64, 16, 0}, {"movsx3264", BPF_ALU64, 32, 0}, {NULL, 0, 0, 0},
};

/* RFC 9669 4.3: ALU|END with TO_LE/TO_BE; ALU64|END|TO_LE swaps unconditionally. */
const struct bpftime_asm_op bpftime_asm_end_ops[] = {
    {"le16", BPF_ALU | BPF_END | BPF_TO_LE, 0, 16},
    {"le32", BPF_ALU | BPF_END | BPF_TO_LE, 0, 32},
    {"le64", BPF_ALU | BPF_END | BPF_TO_LE, 0, 64},
    {"be16", BPF_ALU | BPF_END | BPF_TO_BE, 0, 16},
    {"be32", BPF_ALU | BPF_END | BPF_TO_BE, 0, 32},
    {"be64", BPF_ALU | BPF_END | BPF_TO_BE, 0, 64},
    {"bswap16", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 16},
    {"bswap32", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 32},
    {"bswap64", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 64},
    {"swap16", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 16},
    {"swap32", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 32},
    {"swap64", BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 64},
    {NULL, 0, 0, 0},
};

const struct bpftime_asm_op bpftime_asm_sizes[] = {
    {"b", BPF_B, 0, 0},   {"h", BPF_H, 0, 0}, {"w", BPF_W, 0, 0},
    {"dw", BPF_DW, 0, 0}, {NULL, 0, 0, 0},
};

/* RFC 9669 5.3: the operation sits in imm; "lock fetch <op>" adds BPF_FETCH. */
const struct bpftime_asm_op bpftime_asm_atomic_ops[] = {
    {"add", 0, 0, BPF_ADD}, {"or", 0, 0, BPF_OR},     {"and", 0, 0, BPF_AND},
    {"xor", 0, 0, BPF_XOR}, {"xchg", 0, 0, BPF_XCHG}, {"cmpxchg", 0, 0, BPF_CMPXCHG},
    {NULL, 0, 0, 0},
};

/* RFC 9669 5.4 table 13 ("func" takes a target instead of a number). */
const struct bpftime_asm_op bpftime_asm_pseudo_ldimm64[] = {
    {"map_fd", BPF_PSEUDO_MAP_FD, 0, 0},
    {"map_value", BPF_PSEUDO_MAP_VALUE, 1, 0},
    {"btf_id", BPF_PSEUDO_BTF_ID, 0, 0},
    {"func", BPF_PSEUDO_FUNC, 0, 0},
    {"map_idx", BPF_PSEUDO_MAP_IDX, 0, 0},
    {"map_idx_value", BPF_PSEUDO_MAP_IDX_VALUE, 1, 0},
    {NULL, 0, 0, 0},
};

const struct bpftime_asm_op *bpftime_asm_find_name(const struct bpftime_asm_op *tab,
						   const char *name, size_t len)
{
	for (; tab->name; tab++)
		if (strlen(tab->name) == len && !memcmp(tab->name, name, len))
			return tab;
	return NULL;
}
