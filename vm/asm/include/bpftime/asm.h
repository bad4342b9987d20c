/* SPDX-License-Identifier: MIT */
/*
 * bpftime asm: a text assembler and disassembler for eBPF, in the syntax of
 * the bpf_conformance corpus (github.com/Alan-Jowett/bpf_conformance), so
 * that the corpus and the project's own tests can be written as text.
 *
 * One instruction per line; `#` starts a comment; `name:` defines a label
 * (it may share the line with an instruction). Registers are %r0..%r10.
 * Numbers are decimal or 0x-hex, with an optional sign. A 32-bit immediate
 * may be written signed or as its unsigned 32-bit pattern (-1 and
 * 0xffffffff are the same immediate); lddw takes a full 64-bit value.
 * Jump and call targets are a label, or a relative offset `+N` / `-N`
 * counted in instruction slots from the next instruction. A target named
 * `exit` that is not a defined label means the first `exit` instruction
 * after the jump (the corpus relies on it).
 *
 *   ALU         add sub mul div sdiv mod smod or and xor lsh rsh arsh mov,
 *               each also with a `32` suffix (ALU class):  add %r1, 5
 *               add %r1, %r2; neg %r1; neg32 %r1
 *   sign-ext    movsx<from><to>: movsx832 movsx1632 movsx864 movsx1664
 *               movsx3264   movsx864 %r0, %r1
 *   byte swap   le16 le32 le64 be16 be32 be64 (ALU|END), bswap16/32/64 and
 *               the synonyms swap16/32/64 (ALU64|END|TO_LE)   be16 %r1
 *   memory      ldxb ldxh ldxw ldxdw %rD, [%rS+off]; ldxsb ldxsh ldxsw
 *               (BPF_MEMSX); stb sth stw stdw [%rD+off], imm;
 *               stxb stxh stxw stxdw [%rD+off], %rS. `[%r1]`, `[%r10-8]`.
 *   atomics     lock [fetch] add|or|and|xor[32] [%rD+off], %rS;
 *               lock xchg[32] ...; lock cmpxchg[32] ...  (no suffix: 64-bit)
 *   lddw        lddw %rD, <64-bit>
 *   jumps       jeq jne jgt jge jlt jle jset jsgt jsge jslt jsle, each also
 *               with `32` (JMP32 class): jeq %r1, 5, L; jne32 %r1, %r2, +3.
 *               ja TARGET; ja32 TARGET (JMP32|JA, offset in imm)
 *   calls       call N (helper id); call local TARGET (src BPF_PSEUDO_CALL,
 *               imm relative); call %rN (callx, LLVM's encoding: JMP|CALL|X
 *               with the register in dst_reg); exit
 *
 * Extensions for the project's own tests (not in the upstream syntax):
 *   lddw %rD, map_fd <fd>                 src BPF_PSEUDO_MAP_FD (1)
 *   lddw %rD, map_value <fd>, <off>       src BPF_PSEUDO_MAP_VALUE (2)
 *   lddw %rD, btf_id <id>                 src BPF_PSEUDO_BTF_ID (3)
 *   lddw %rD, func TARGET                 src BPF_PSEUDO_FUNC (4), imm relative
 *   lddw %rD, map_idx <i>                 src BPF_PSEUDO_MAP_IDX (5)
 *   lddw %rD, map_idx_value <i>, <off>    src BPF_PSEUDO_MAP_IDX_VALUE (6)
 *   load_acquireb/h/w/dw %rD, [%rS+off]   STX|ATOMIC|size, imm 0x100
 *   store_releaseb/h/w/dw [%rD+off], %rS  STX|ATOMIC|size, imm 0x110
 *   .raw <code> <dst> <src> <off> <imm>   one arbitrary slot, e.g. to test
 *                                         the rejection of bad encodings
 *                                         (dst/src 0..15, off 16-bit, imm 32-bit)
 *
 * Both functions are pure (no global state) and thread-safe.
 */
#ifndef BPFTIME_ASM_H
#define BPFTIME_ASM_H

#include <stddef.h>
#include <linux/bpf.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Assemble @text (NUL-terminated) into eBPF instructions.
 * @param insns out: on success an array of *@cnt instructions, allocated
 * with malloc() and owned by the caller (never NULL on success, even for a
 * program without instructions); untouched on failure.
 * @param err when not NULL, receives "line N: <reason>" on failure
 * (truncated to @err_size bytes, always NUL-terminated when @err_size > 0).
 * @return 0; -EINVAL for NULL arguments or any syntax or range error
 * (unknown mnemonic, bad register, immediate or offset out of range,
 * undefined or duplicate label, text after the operands ...); -ENOMEM.
 * Accepts any input without crashing.
 */
int bpftime_asm__assemble(const char *text, struct bpf_insn **insns, size_t *cnt, char *err,
			  size_t err_size);

/**
 * @brief Disassemble the instruction at @insn into @buf, without newline.
 * @param remaining slots readable from @insn; lddw reads 2.
 * The text assembles back to the same slots. Jumps and local calls print
 * relative offsets ("+N"/"-N"); encodings no mnemonic produces exactly
 * (non-zero reserved fields, unknown opcodes, an lddw whose second slot is
 * malformed or beyond @remaining) print as one `.raw` slot.
 * @return slots consumed (1, or 2 for lddw); -EINVAL for NULL @insn,
 * @remaining == 0 or a NULL @buf with @size > 0; -ENOSPC when @buf (size
 * @size) is too small (it then holds a truncated string).
 */
int bpftime_asm__disasm(const struct bpf_insn *insn, size_t remaining, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_ASM_H */
