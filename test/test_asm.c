// SPDX-License-Identifier: MIT
/*
 * Tests of the assembler and disassembler (vm/asm).
 *
 * Expected encodings are written out as constants taken from the opcode
 * tables of RFC 9669 (sections 3-5) and the Linux uapi (pseudo ld_imm64
 * sources, load-acquire/store-release), never computed by the assembler
 * itself. The round-trip tests then check assemble(disasm(x)) == x over the
 * conformance corpus (BPFTIME_CONFORMANCE_DIR) and over every opcode byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/asm.h>

static void free_ptr(void *p)
{
	free(*(void **)p);
}

#define cleanup_free __attribute__((cleanup(free_ptr)))

/* One slot, in the field order of RFC 9669 3 (code, dst, src, off, imm). */
struct slot {
	uint8_t code, dst, src;
	int16_t off;
	int32_t imm;
};

static void check_slot(const char *text, size_t i, const struct bpf_insn *got,
		       const struct slot *want)
{
	if (got->code != want->code || got->dst_reg != want->dst || got->src_reg != want->src ||
	    got->off != want->off || got->imm != want->imm) {
		print_error("'%s' slot %zu: got {0x%02x, %u, %u, %d, %d}, want {0x%02x, %u, %u, "
			    "%d, %d}\n",
			    text, i, got->code, got->dst_reg, got->src_reg, got->off, got->imm,
			    want->code, want->dst, want->src, want->off, want->imm);
		fail();
	}
}

/* Assemble @text, which must succeed, and compare with @want[0..@n). */
static void check_program(const char *text, const struct slot *want, size_t n)
{
	cleanup_free struct bpf_insn *insns = NULL;
	char err[256];
	size_t cnt = 0;
	int ret = bpftime_asm__assemble(text, &insns, &cnt, err, sizeof(err));

	if (ret) {
		print_error("'%s': %s\n", text, err);
		fail();
	}
	assert_int_equal(cnt, n);
	for (size_t i = 0; i < n; i++)
		check_slot(text, i, &insns[i], &want[i]);
}

/* ---- exact encodings, one instruction per form ---- */

static const struct {
	const char *text;
	struct slot want;
} single_cases[] = {
    /* ALU64 (class 0x07) and ALU (0x04), K (0x00) and X (0x08); RFC 9669 4.1 */
    {"add %r1, 5", {0x07, 1, 0, 0, 5}},
    {"add %r1, %r2", {0x0f, 1, 2, 0, 0}},
    {"add32 %r1, 5", {0x04, 1, 0, 0, 5}},
    {"add32 %r1, %r2", {0x0c, 1, 2, 0, 0}},
    {"sub %r1, 1", {0x17, 1, 0, 0, 1}},
    {"sub32 %r1, %r2", {0x1c, 1, 2, 0, 0}},
    {"mul %r3, 7", {0x27, 3, 0, 0, 7}},
    {"mul32 %r3, %r4", {0x2c, 3, 4, 0, 0}},
    {"div %r1, 3", {0x37, 1, 0, 0, 3}},
    {"div32 %r1, %r2", {0x3c, 1, 2, 0, 0}},
    {"sdiv %r1, -3", {0x37, 1, 0, 1, -3}},
    {"sdiv32 %r1, %r2", {0x3c, 1, 2, 1, 0}},
    {"or %r1, 0xff", {0x47, 1, 0, 0, 0xff}},
    {"or32 %r1, %r2", {0x4c, 1, 2, 0, 0}},
    {"and %r1, 0x0f0f0f0f", {0x57, 1, 0, 0, 0x0f0f0f0f}},
    {"and32 %r1, %r2", {0x5c, 1, 2, 0, 0}},
    {"lsh %r1, 3", {0x67, 1, 0, 0, 3}},
    {"lsh32 %r1, %r2", {0x6c, 1, 2, 0, 0}},
    {"rsh %r1, 3", {0x77, 1, 0, 0, 3}},
    {"rsh32 %r1, %r2", {0x7c, 1, 2, 0, 0}},
    {"neg %r2", {0x87, 2, 0, 0, 0}},
    {"neg32 %r2", {0x84, 2, 0, 0, 0}},
    {"mod %r1, 10", {0x97, 1, 0, 0, 10}},
    {"mod32 %r1, %r2", {0x9c, 1, 2, 0, 0}},
    {"smod %r1, -10", {0x97, 1, 0, 1, -10}},
    {"smod32 %r1, %r2", {0x9c, 1, 2, 1, 0}},
    {"xor %r1, -1", {0xa7, 1, 0, 0, -1}},
    {"xor32 %r1, %r2", {0xac, 1, 2, 0, 0}},
    {"mov %r0, 1", {0xb7, 0, 0, 0, 1}},
    {"mov %r0, %r10", {0xbf, 0, 10, 0, 0}},
    {"mov32 %r1, 0x87654321", {0xb4, 1, 0, 0, (int32_t)0x87654321}},
    {"mov32 %r1, %r2", {0xbc, 1, 2, 0, 0}},
    {"mov %r1, -2147483648", {0xb7, 1, 0, 0, INT32_MIN}},
    {"mov %r1, 0xffffffff", {0xb7, 1, 0, 0, -1}},
    {"arsh %r1, 63", {0xc7, 1, 0, 0, 63}},
    {"arsh32 %r1, %r2", {0xcc, 1, 2, 0, 0}},
    /* MOVSX: MOV|X with the source width in off (RFC 9669 4.1) */
    {"movsx832 %r0, %r1", {0xbc, 0, 1, 8, 0}},
    {"movsx1632 %r0, %r1", {0xbc, 0, 1, 16, 0}},
    {"movsx864 %r0, %r1", {0xbf, 0, 1, 8, 0}},
    {"movsx1664 %r0, %r1", {0xbf, 0, 1, 16, 0}},
    {"movsx3264 %r0, %r1", {0xbf, 0, 1, 32, 0}},
    /* byte swaps: ALU|END (0xd4 LE, 0xdc BE), ALU64|END|TO_LE 0xd7 (RFC 9669 4.2) */
    {"le16 %r1", {0xd4, 1, 0, 0, 16}},
    {"le32 %r1", {0xd4, 1, 0, 0, 32}},
    {"le64 %r1", {0xd4, 1, 0, 0, 64}},
    {"be16 %r1", {0xdc, 1, 0, 0, 16}},
    {"be32 %r1", {0xdc, 1, 0, 0, 32}},
    {"be64 %r1", {0xdc, 1, 0, 0, 64}},
    {"bswap16 %r1", {0xd7, 1, 0, 0, 16}},
    {"bswap32 %r1", {0xd7, 1, 0, 0, 32}},
    {"bswap64 %r1", {0xd7, 1, 0, 0, 64}},
    {"swap16 %r1", {0xd7, 1, 0, 0, 16}},
    {"swap32 %r1", {0xd7, 1, 0, 0, 32}},
    {"swap64 %r1", {0xd7, 1, 0, 0, 64}},
    /* LDX|MEM (0x61 W, 0x69 H, 0x71 B, 0x79 DW), LDX|MEMSX (0x81..0x91) (RFC 9669 5) */
    {"ldxb %r0, [%r1+2]", {0x71, 0, 1, 2, 0}},
    {"ldxh %r0, [%r1+2]", {0x69, 0, 1, 2, 0}},
    {"ldxw %r0, [%r1]", {0x61, 0, 1, 0, 0}},
    {"ldxdw %r0, [%r10-8]", {0x79, 0, 10, -8, 0}},
    {"ldxsb %r0, [%r1+1]", {0x91, 0, 1, 1, 0}},
    {"ldxsh %r0, [%r1-2]", {0x89, 0, 1, -2, 0}},
    {"ldxsw %r0, [%r1+0x10]", {0x81, 0, 1, 16, 0}},
    {"ldxdw %r0, [%r1-32768]", {0x79, 0, 1, INT16_MIN, 0}},
    /* ST|MEM 0x62.. and STX|MEM 0x63.. */
    {"stb [%r1+2], 0x11", {0x72, 1, 0, 2, 0x11}},
    {"sth [%r1+2], 0x2211", {0x6a, 1, 0, 2, 0x2211}},
    {"stw [%r1], 5", {0x62, 1, 0, 0, 5}},
    {"stdw [%r10-8], -1", {0x7a, 10, 0, -8, -1}},
    {"stxb [%r10-1], %r1", {0x73, 10, 1, -1, 0}},
    {"stxh [%r10-2], %r1", {0x6b, 10, 1, -2, 0}},
    {"stxw [%r10-4], %r1", {0x63, 10, 1, -4, 0}},
    {"stxdw [%r10-8], %r1", {0x7b, 10, 1, -8, 0}},
    /* STX|ATOMIC: 0xc3 W, 0xdb DW; the operation in imm (RFC 9669 5.3) */
    {"lock add [%r10-8], %r1", {0xdb, 10, 1, -8, 0x00}},
    {"lock add32 [%r10-4], %r1", {0xc3, 10, 1, -4, 0x00}},
    {"lock fetch add [%r10-8], %r1", {0xdb, 10, 1, -8, 0x01}},
    {"lock fetch add32 [%r10-4], %r1", {0xc3, 10, 1, -4, 0x01}},
    {"lock or [%r1], %r2", {0xdb, 1, 2, 0, 0x40}},
    {"lock fetch or32 [%r1], %r2", {0xc3, 1, 2, 0, 0x41}},
    {"lock and [%r1], %r2", {0xdb, 1, 2, 0, 0x50}},
    {"lock fetch and [%r1], %r2", {0xdb, 1, 2, 0, 0x51}},
    {"lock xor32 [%r1], %r2", {0xc3, 1, 2, 0, 0xa0}},
    {"lock fetch xor [%r1], %r2", {0xdb, 1, 2, 0, 0xa1}},
    {"lock xchg [%r10-8], %r1", {0xdb, 10, 1, -8, 0xe1}},
    {"lock xchg32 [%r10-8], %r1", {0xc3, 10, 1, -8, 0xe1}},
    {"lock cmpxchg [%r10-8], %r1", {0xdb, 10, 1, -8, 0xf1}},
    {"lock cmpxchg32 [%r10-8], %r1", {0xc3, 10, 1, -8, 0xf1}},
    /* load-acquire 0x100 / store-release 0x110 (Linux 6.15), any size */
    {"load_acquireb %r0, [%r1+4]", {0xd3, 0, 1, 4, 0x100}},
    {"load_acquireh %r0, [%r1]", {0xcb, 0, 1, 0, 0x100}},
    {"load_acquirew %r0, [%r1]", {0xc3, 0, 1, 0, 0x100}},
    {"load_acquiredw %r3, [%r10-8]", {0xdb, 3, 10, -8, 0x100}},
    {"store_releaseb [%r1+4], %r2", {0xd3, 1, 2, 4, 0x110}},
    {"store_releaseh [%r1], %r2", {0xcb, 1, 2, 0, 0x110}},
    {"store_releasew [%r1], %r2", {0xc3, 1, 2, 0, 0x110}},
    {"store_releasedw [%r10-8], %r2", {0xdb, 10, 2, -8, 0x110}},
    /* JMP (0x05) and JMP32 (0x06) conditions, K and X (RFC 9669 4.3) */
    {"jeq %r1, 5, +3", {0x15, 1, 0, 3, 5}},
    {"jeq %r1, %r2, -1", {0x1d, 1, 2, -1, 0}},
    {"jgt %r1, 0x80000000, +1", {0x25, 1, 0, 1, INT32_MIN}},
    {"jgt %r1, %r2, +1", {0x2d, 1, 2, 1, 0}},
    {"jge %r1, 1, +1", {0x35, 1, 0, 1, 1}},
    {"jset %r1, 8, +1", {0x45, 1, 0, 1, 8}},
    {"jne %r1, %r2, +0", {0x5d, 1, 2, 0, 0}},
    {"jsgt %r1, -1, +2", {0x65, 1, 0, 2, -1}},
    {"jsge %r1, %r2, +2", {0x7d, 1, 2, 2, 0}},
    {"jlt %r1, 2, -2", {0xa5, 1, 0, -2, 2}},
    {"jle %r1, %r2, +32767", {0xbd, 1, 2, INT16_MAX, 0}},
    {"jslt %r1, 2, -32768", {0xc5, 1, 0, INT16_MIN, 2}},
    {"jsle %r1, %r2, +1", {0xdd, 1, 2, 1, 0}},
    {"jeq32 %r1, 5, +1", {0x16, 1, 0, 1, 5}},
    {"jgt32 %r1, %r2, +1", {0x2e, 1, 2, 1, 0}},
    {"jne32 %r1, 0xffffffff, +1", {0x56, 1, 0, 1, -1}},
    {"jsle32 %r1, %r2, +1", {0xde, 1, 2, 1, 0}},
    {"ja +5", {0x05, 0, 0, 5, 0}},
    {"ja -1", {0x05, 0, 0, -1, 0}},
    {"ja32 +100000", {0x06, 0, 0, 0, 100000}},
    /* calls: helper, local (src BPF_PSEUDO_CALL), callx (LLVM: reg in dst) */
    {"call 5", {0x85, 0, 0, 0, 5}},
    {"call local +2", {0x85, 0, 1, 0, 2}},
    {"call %r2", {0x8d, 2, 0, 0, 0}},
    {"exit", {0x95, 0, 0, 0, 0}},
    /* .raw, commas optional, unsigned patterns accepted */
    {".raw 0xff 15 15 -1 -1", {0xff, 15, 15, -1, -1}},
    {".raw 0x18, 0, 0, 0xffff, 0xffffffff", {0x18, 0, 0, -1, -1}},
    /* spacing and comments */
    {"\t add   %r1 ,5   # comment", {0x07, 1, 0, 0, 5}},
    {"ldxw %r0,[ %r1 +4 ]", {0x61, 0, 1, 4, 0}},
    {"exit\r", {0x95, 0, 0, 0, 0}},
};

static void test_single_instruction_encodings(void **state)
{
	for (size_t i = 0; i < sizeof(single_cases) / sizeof(single_cases[0]); i++)
		check_program(single_cases[i].text, &single_cases[i].want, 1);
}

#define MAX_SLOTS 6

static const struct {
	const char *text;
	size_t n;
	struct slot want[MAX_SLOTS];
} program_cases[] = {
    /* lddw: LD|IMM|DW 0x18, second slot code 0 with the upper half */
    {"lddw %r0, 0x1122334455667788", 2, {{0x18, 0, 0, 0, 0x55667788}, {0, 0, 0, 0, 0x11223344}}},
    {"lddw %r1, -1", 2, {{0x18, 1, 0, 0, -1}, {0, 0, 0, 0, -1}}},
    {"lddw %r2, 0xffffffffffffffff", 2, {{0x18, 2, 0, 0, -1}, {0, 0, 0, 0, -1}}},
    {"lddw %r3, -9223372036854775808", 2, {{0x18, 3, 0, 0, 0}, {0, 0, 0, 0, INT32_MIN}}},
    /* pseudo sources (include/uapi/linux/bpf.h) */
    {"lddw %r1, map_fd 3", 2, {{0x18, 1, 1, 0, 3}, {0, 0, 0, 0, 0}}},
    {"lddw %r1, map_value 3, 16", 2, {{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 16}}},
    {"lddw %r1, btf_id 7", 2, {{0x18, 1, 3, 0, 7}, {0, 0, 0, 0, 0}}},
    {"lddw %r1, map_idx 0", 2, {{0x18, 1, 5, 0, 0}, {0, 0, 0, 0, 0}}},
    {"lddw %r1, map_idx_value 1, 8", 2, {{0x18, 1, 6, 0, 1}, {0, 0, 0, 0, 8}}},
    {"lddw %r1, func +4", 2, {{0x18, 1, 4, 0, 4}, {0, 0, 0, 0, 0}}},
    /* BPF_PSEUDO_FUNC: imm relative to the slot after the first half */
    {"lddw %r1, func f\nexit\nf:\nexit",
     4,
     {{0x18, 1, 4, 0, 2}, {0, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}}},
    /* labels: forward, backward, on the instruction's line, over an lddw */
    {"ja L\nmov %r0, 1\nL:\nexit", 3, {{0x05, 0, 0, 1, 0}, {0xb7, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}}},
    {"L: mov %r0, 0\njne %r0, 0, L\nexit",
     3,
     {{0xb7, 0, 0, 0, 0}, {0x55, 0, 0, -2, 0}, {0x95, 0, 0, 0, 0}}},
    {"jeq %r1, %r2, over\nlddw %r0, 1\nover: exit",
     4,
     {{0x1d, 1, 2, 2, 0}, {0x18, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}}},
    {"ja32 L2\nL1:\nexit\nL2:\nja32 L1",
     3,
     {{0x06, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}, {0x06, 0, 0, 0, -2}}},
    {"call local f\nexit\nf: mov %r0, 1\nexit",
     4,
     {{0x85, 0, 1, 0, 1}, {0x95, 0, 0, 0, 0}, {0xb7, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}}},
    /* undefined "exit" target: the next exit instruction (corpus usage) */
    {"jne %r0, 0, exit\nmov %r0, 1\nexit",
     3,
     {{0x55, 0, 0, 1, 0}, {0xb7, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}}},
    /* ... unless a label of that name exists */
    {"exit: mov %r0, 0\nja exit\nexit",
     3,
     {{0xb7, 0, 0, 0, 0}, {0x05, 0, 0, -2, 0}, {0x95, 0, 0, 0, 0}}},
    /* several labels on one slot, labels with dots and underscores */
    {"a:\n.b_1: c: exit\nja .b_1", 2, {{0x95, 0, 0, 0, 0}, {0x05, 0, 0, -2, 0}}},
};

static void test_program_encodings(void **state)
{
	for (size_t i = 0; i < sizeof(program_cases) / sizeof(program_cases[0]); i++)
		check_program(program_cases[i].text, program_cases[i].want, program_cases[i].n);
}

static void test_empty_program_gives_freeable_array(void **state)
{
	static const char *const texts[] = {"", "\n\n", "# only a comment\n", "label:\n"};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cleanup_free struct bpf_insn *insns = NULL;
		size_t cnt = 99;

		assert_int_equal(bpftime_asm__assemble(texts[i], &insns, &cnt, NULL, 0), 0);
		assert_int_equal(cnt, 0);
		assert_non_null(insns);
	}
}

/* ---- errors: every path, with its line number ---- */

static const struct {
	const char *text;
	const char *msg; /* must appear in the message, "line N: " included */
} error_cases[] = {
    {"foo %r0, 1", "line 1: unknown mnemonic 'foo'"},
    {"mov %r0, 1\nmov %r11, 1", "line 2: bad register '%r11'"},
    {"mov %x0, 1", "line 1: bad register '%x0'"},
    {"mov %r01, 1", "line 1: bad register '%r01'"},
    {"mov %r1x, 1", "line 1: bad register '%r1x'"},
    {"mov 1, %r0", "line 1: bad register '1'"},
    {"neg", "line 1: expected a register at end of line"},
    {"mov %r0", "line 1: expected ',' at end of line"},
    {"mov %r0 1", "line 1: expected ',' before '1'"},
    {"mov %r0, 0x100000000", "line 1: immediate 0x100000000 out of range"},
    {"mov %r0, -2147483649", "line 1: immediate -2147483649 out of range"},
    {"mov %r0, 12abc", "line 1: bad number '12abc'"},
    {"mov %r0, 0x", "line 1: bad number '0x'"},
    {"mov %r0, foo", "line 1: expected a number, got 'foo'"},
    {"mov %r0,", "line 1: expected a number at end of line"},
    {"lddw %r0, 0x10000000000000000", "line 1: number '0x10000000000000000' does not fit"},
    {"lddw %r0, 99999999999999999999", "line 1: number '99999999999999999999' does not fit"},
    {"lddw %r0, -9223372036854775809", "line 1: immediate -9223372036854775809 out of 64-bit"},
    {"lddw %r0, foo 1", "line 1: unknown lddw operand 'foo'"},
    {"lddw %r0, map_value 1", "line 1: expected ',' at end of line"},
    {"lddw %r0, map_fd 0x100000000", "line 1: immediate 0x100000000 out of range"},
    {"lddw %r0, func nowhere\nexit", "line 1: undefined label 'nowhere'"},
    {"ja nowhere", "line 1: undefined label 'nowhere'"},
    {"exit\n\nja exit", "line 3: undefined label 'exit'"},
    {"L:\nexit\nL:\nexit", "line 3: duplicate label 'L' (first on line 1)"},
    {"ja +32768", "line 1: jump offset +32768 out of range"},
    {"ja -32769", "line 1: jump offset -32769 out of range"},
    {"jeq %r1, 1, +40000", "line 1: jump offset +40000 out of range"},
    {"ja32 +2147483648", "line 1: jump offset +2147483648 out of range"},
    {"ja", "line 1: expected a label or +N/-N"},
    {"jeq %r1, 1", "line 1: expected ',' at end of line"},
    {"jeq %r1, 1, ,", "line 1: expected a label or +N/-N"},
    {"exit 1", "line 1: unexpected '1' after operands"},
    {"mov %r0, 1 junk", "line 1: unexpected 'junk' after operands"},
    {"exit\n  neg %r1, 2", "line 2: unexpected ',' after operands"},
    {"le16 %r1, %r2", "line 1: unexpected ',' after operands"},
    {"ldxw %r0, [%r1+40000]", "line 1: offset +40000 out of range"},
    {"ldxw %r0, [%r1-32769]", "line 1: offset -32769 out of range"},
    {"ldxw %r0, [%r1", "line 1: expected ']' at end of line"},
    {"ldxw %r0, [%r1*4]", "line 1: expected ']' before '*4'"},
    {"ldxw %r0, %r1", "line 1: expected '[' before '%r1'"},
    {"stw [%r1], %r2", "line 1: expected a number, got '%r2'"},
    {"stxw [%r1], 5", "line 1: bad register '5'"},
    {"ldxsdw %r0, [%r1]", "line 1: unknown mnemonic 'ldxsdw'"},
    {"ldxq %r0, [%r1]", "line 1: unknown mnemonic 'ldxq'"},
    {"movsx3232 %r0, %r1", "line 1: unknown mnemonic 'movsx3232'"},
    {"movsx864 %r0, 1", "line 1: bad register '1'"},
    {"be8 %r0", "line 1: unknown mnemonic 'be8'"},
    {"exit32", "line 1: unknown mnemonic 'exit32'"},
    {"lock fetch xchg [%r1], %r2", "line 1: unknown atomic operation 'fetch xchg'"},
    {"lock sub [%r1], %r2", "line 1: unknown atomic operation 'sub'"},
    {"lock", "line 1: unknown atomic operation ''"},
    {"lock add [%r1], 1", "line 1: bad register '1'"},
    {"call local", "line 1: expected a label or +N/-N"},
    {"call foo", "line 1: expected a helper id, 'local' or a register after call"},
    {"call 0x100000000", "line 1: immediate 0x100000000 out of range"},
    {"call %r11", "line 1: bad register '%r11'"},
    {".raw 0x100 0 0 0 0", "line 1: opcode 0x100 out of range"},
    {".raw 1 16 0 0 0", "line 1: dst_reg 16 out of range"},
    {".raw 1 0 16 0 0", "line 1: src_reg 16 out of range"},
    {".raw 1 0 0 65536 0", "line 1: offset 65536 out of range"},
    {".raw 1 0 0 0 0x100000000", "line 1: immediate 0x100000000 out of range"},
    {".raw 1 0 0 0", "line 1: expected a number at end of line"},
    {"12abc", "line 1: expected a mnemonic or a label, got '12abc'"},
    {"\n\n  [bogus", "line 3: expected a mnemonic or a label, got '[bogus'"},
    {"mov %r0, 1 # ok\n\tbad_one", "line 2: unknown mnemonic 'bad_one'"},
};

static void test_errors_name_line_and_reason(void **state)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct bpf_insn *insns = NULL;
		size_t cnt = 0;
		char err[256] = "";
		int ret =
		    bpftime_asm__assemble(error_cases[i].text, &insns, &cnt, err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, error_cases[i].msg)) {
			print_error("'%s': ret %d, message '%s', want '%s'\n", error_cases[i].text,
				    ret, err, error_cases[i].msg);
			fail();
		}
		/* untouched on failure */
		assert_null(insns);
	}
}

/* A label 32768 slots ahead is one too far for a 16-bit offset. */
static void test_label_out_of_jump_range(void **state)
{
	const size_t n = 32768;
	cleanup_free char *text = malloc(16 + n * 5 + 16);
	cleanup_free struct bpf_insn *insns = NULL;
	char err[256];
	size_t cnt, len;

	assert_non_null(text);
	len = (size_t)sprintf(text, "ja L\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "exit\n");
	sprintf(text + len, "L: exit\n");
	assert_int_equal(bpftime_asm__assemble(text, &insns, &cnt, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1: jump offset 32768 to 'L' out of range"));
	/* one slot fewer and it fits: replace the first "exit" with a comment */
	memcpy(text + 5, "#xit", 4);
	assert_int_equal(bpftime_asm__assemble(text, &insns, &cnt, err, sizeof(err)), 0);
	assert_int_equal(insns[0].off, 32767);
}

static void test_bad_arguments_and_small_error_buffer(void **state)
{
	struct bpf_insn *insns = NULL;
	size_t cnt;
	char err[8];

	assert_int_equal(bpftime_asm__assemble(NULL, &insns, &cnt, NULL, 0), -EINVAL);
	assert_int_equal(bpftime_asm__assemble("exit", NULL, &cnt, NULL, 0), -EINVAL);
	assert_int_equal(bpftime_asm__assemble("exit", &insns, NULL, NULL, 0), -EINVAL);
	/* truncated, still terminated */
	assert_int_equal(bpftime_asm__assemble("bogus", &insns, &cnt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1:");
	assert_int_equal(bpftime_asm__assemble("bogus", &insns, &cnt, err, 1), -EINVAL);
	assert_string_equal(err, "");
	assert_null(insns);
}

/* ---- disassembler ---- */

static const struct {
	struct slot in[2];
	size_t remaining;
	const char *text;
	int slots;
} disasm_cases[] = {
    {{{0xb7, 0, 0, 0, 1}}, 1, "mov %r0, 1", 1},
    {{{0xbc, 1, 2, 0, 0}}, 1, "mov32 %r1, %r2", 1},
    {{{0x37, 1, 0, 1, -3}}, 1, "sdiv %r1, -3", 1},
    {{{0xbf, 0, 1, 32, 0}}, 1, "movsx3264 %r0, %r1", 1},
    {{{0x84, 2, 0, 0, 0}}, 1, "neg32 %r2", 1},
    {{{0xd7, 1, 0, 0, 16}}, 1, "bswap16 %r1", 1},
    {{{0xdc, 1, 0, 0, 64}}, 1, "be64 %r1", 1},
    {{{0x61, 0, 1, 4, 0}}, 1, "ldxw %r0, [%r1+4]", 1},
    {{{0x79, 0, 10, -8, 0}}, 1, "ldxdw %r0, [%r10-8]", 1},
    {{{0x89, 0, 1, 0, 0}}, 1, "ldxsh %r0, [%r1]", 1},
    {{{0x7a, 10, 0, -8, -1}}, 1, "stdw [%r10-8], -1", 1},
    {{{0x73, 10, 1, -1, 0}}, 1, "stxb [%r10-1], %r1", 1},
    {{{0xc3, 10, 1, -4, 0x01}}, 1, "lock fetch add32 [%r10-4], %r1", 1},
    {{{0xdb, 10, 1, -8, 0xf1}}, 1, "lock cmpxchg [%r10-8], %r1", 1},
    {{{0xd3, 0, 1, 4, 0x100}}, 1, "load_acquireb %r0, [%r1+4]", 1},
    {{{0xdb, 10, 2, -8, 0x110}}, 1, "store_releasedw [%r10-8], %r2", 1},
    {{{0x15, 1, 0, 3, 5}}, 1, "jeq %r1, 5, +3", 1},
    {{{0x2e, 1, 2, -1, 0}}, 1, "jgt32 %r1, %r2, -1", 1},
    {{{0x05, 0, 0, 0, 0}}, 1, "ja +0", 1},
    {{{0x06, 0, 0, 0, -7}}, 1, "ja32 -7", 1},
    {{{0x85, 0, 0, 0, 5}}, 1, "call 5", 1},
    {{{0x85, 0, 1, 0, -3}}, 1, "call local -3", 1},
    {{{0x8d, 2, 0, 0, 0}}, 1, "call %r2", 1},
    {{{0x95, 0, 0, 0, 0}}, 1, "exit", 1},
    {{{0x18, 0, 0, 0, 0x55667788}, {0, 0, 0, 0, 0x11223344}}, 2, "lddw %r0, 0x1122334455667788", 2},
    {{{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 16}}, 2, "lddw %r1, map_value 3, 16", 2},
    {{{0x18, 1, 4, 0, 2}, {0, 0, 0, 0, 0}}, 2, "lddw %r1, func +2", 2},
    {{{0x18, 1, 6, 0, 1}, {0, 0, 0, 0, 8}}, 5, "lddw %r1, map_idx_value 1, 8", 2},
    /* no mnemonic encodes these exactly: .raw, one slot */
    {{{0xb7, 0, 3, 0, 1}}, 1, ".raw 0xb7 0 3 0 1", 1},      /* K form with src set */
    {{{0x95, 0, 0, 0, 1}}, 1, ".raw 0x95 0 0 0 1", 1},      /* exit with imm */
    {{{0xbf, 11, 1, 0, 0}}, 1, ".raw 0xbf 11 1 0 0", 1},    /* r11 */
    {{{0xdf, 1, 0, 0, 16}}, 1, ".raw 0xdf 1 0 0 16", 1},    /* ALU64|END|TO_BE */
    {{{0xc3, 1, 2, 0, 0xe0}}, 1, ".raw 0xc3 1 2 0 224", 1}, /* xchg without fetch */
    {{{0x20, 0, 0, 0, 4}}, 1, ".raw 0x20 0 0 0 4", 1},      /* LD_ABS */
    {{{0x85, 0, 2, 0, 9}}, 1, ".raw 0x85 0 2 0 9", 1},      /* kfunc call */
    {{{0x18, 0, 7, 0, 1}, {0, 0, 0, 0, 0}}, 2, ".raw 0x18 0 7 0 1", 1},
    {{{0x18, 0, 1, 0, 1}, {0, 0, 0, 0, 5}}, 2, ".raw 0x18 0 1 0 1", 1},
    {{{0x18, 0, 0, 0, 1}, {0x18, 0, 0, 0, 5}}, 2, ".raw 0x18 0 0 0 1", 1},
    /* lddw without its second half (remaining 1) */
    {{{0x18, 0, 0, 0, 1}, {0, 0, 0, 0, 0}}, 1, ".raw 0x18 0 0 0 1", 1},
};

static void to_insn(const struct slot *s, struct bpf_insn *insn)
{
	memset(insn, 0, sizeof(*insn));
	insn->code = s->code;
	insn->dst_reg = s->dst & 0xf;
	insn->src_reg = s->src & 0xf;
	insn->off = s->off;
	insn->imm = s->imm;
}

static void test_disasm_text(void **state)
{
	for (size_t i = 0; i < sizeof(disasm_cases) / sizeof(disasm_cases[0]); i++) {
		struct bpf_insn insns[5];
		char buf[128];
		int n;

		memset(insns, 0, sizeof(insns));
		to_insn(&disasm_cases[i].in[0], &insns[0]);
		to_insn(&disasm_cases[i].in[1], &insns[1]);
		n = bpftime_asm__disasm(insns, disasm_cases[i].remaining, buf, sizeof(buf));
		if (n != disasm_cases[i].slots || strcmp(buf, disasm_cases[i].text)) {
			print_error("case %zu: got %d '%s', want %d '%s'\n", i, n, buf,
				    disasm_cases[i].slots, disasm_cases[i].text);
			fail();
		}
	}
}

static void test_disasm_errors(void **state)
{
	struct bpf_insn insns[2] = {{.code = 0x18}, {.code = 0}};
	char buf[8];

	assert_int_equal(bpftime_asm__disasm(NULL, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(bpftime_asm__disasm(insns, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(bpftime_asm__disasm(insns, 2, NULL, 4), -EINVAL);
	/* "lddw %r0, 0x0" does not fit in 8 bytes */
	assert_int_equal(bpftime_asm__disasm(insns, 2, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(bpftime_asm__disasm(insns, 2, NULL, 0), -ENOSPC);
}

/* Disassemble @insns[0..cnt) into one text, reassemble it, and compare. */
static void check_round_trip(const char *what, const struct bpf_insn *insns, size_t cnt)
{
	cleanup_free char *text = malloc(cnt * 64 + 1);
	cleanup_free struct bpf_insn *again = NULL;
	size_t len = 0, n2;
	char err[256];
	int n;

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < cnt; i += (size_t)n) {
		n = bpftime_asm__disasm(&insns[i], cnt - i, text + len, 63);
		if (n < 0) {
			print_error("%s: disasm of slot %zu failed: %d\n", what, i, n);
			fail();
		}
		len += strlen(text + len);
		text[len++] = '\n';
		text[len] = '\0';
	}
	if (bpftime_asm__assemble(text, &again, &n2, err, sizeof(err))) {
		print_error("%s: reassembly failed: %s\n%s", what, err, text);
		fail();
	}
	if (n2 != cnt || memcmp(again, insns, cnt * sizeof(*insns))) {
		print_error("%s: round trip differs:\n%s", what, text);
		fail();
	}
}

/* Every opcode byte with assorted field values: canonical or .raw, never lost. */
static void test_disasm_round_trip_every_opcode(void **state)
{
	static const uint8_t regs[] = {0, 1, 10, 11, 15};
	static const int16_t offs[] = {0, 1, 8, 16, 32, -1, INT16_MIN};
	static const int32_t imms[] = {0, 1, 16, 32, 64, 0x100, 0x110, 0xe1, 0xf1, 0x41, -1};
	struct bpf_insn insn[2];

	for (unsigned code = 0; code < 256; code++)
		for (size_t d = 0; d < sizeof(regs); d++)
			for (size_t s = 0; s < sizeof(regs); s++)
				for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
					for (size_t m = 0; m < sizeof(imms) / sizeof(imms[0]);
					     m++) {
						memset(insn, 0, sizeof(insn));
						insn[0].code = (uint8_t)code;
						insn[0].dst_reg = regs[d];
						insn[0].src_reg = regs[s];
						insn[0].off = offs[o];
						insn[0].imm = imms[m];
						insn[1].imm = imms[(m + 3) % 11];
						check_round_trip("opcode sweep", insn, 2);
					}
}

/* The `-- asm` section of a corpus file, or NULL. */
static char *asm_section(const char *text)
{
	const char *start = strstr(text, "-- asm\n"), *end;

	if (!start)
		return NULL;
	start += strlen("-- asm\n");
	for (end = start;
	     *end && !(end[0] == '-' && end[1] == '-' && (end == start || end[-1] == '\n')); end++)
		;
	return strndup(start, (size_t)(end - start));
}

static char *read_whole(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = len >= 0 ? calloc(1, (size_t)len + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void check_corpus_file(const char *path)
{
	cleanup_free char *text = read_whole(path);
	cleanup_free char *prog = NULL;
	cleanup_free struct bpf_insn *insns = NULL;
	char err[256];
	size_t cnt;

	assert_non_null(text);
	prog = asm_section(text);
	assert_non_null(prog);
	if (bpftime_asm__assemble(prog, &insns, &cnt, err, sizeof(err))) {
		print_error("%s: %s\n", path, err);
		fail();
	}
	check_round_trip(path, insns, cnt);
}

static void test_corpus_assembles_and_round_trips(void **state)
{
	DIR *dir = opendir(BPFTIME_CONFORMANCE_DIR);
	struct dirent *de;
	char path[4096];
	size_t files = 0, len;

	assert_non_null(dir);
	while ((de = readdir(dir))) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".data"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", BPFTIME_CONFORMANCE_DIR, de->d_name);
		check_corpus_file(path);
		files++;
	}
	closedir(dir);
	/* the corpus has 313 files; fewer means the directory is wrong */
	assert_true(files >= 313);
}

/* lddw.data carries the same program as asm and as raw words. */
static void test_corpus_raw_matches_asm(void **state)
{
	static const struct slot want[] = {
	    {0x18, 0, 0, 0, 0x55667788}, /* 0x5566778800000018 */
	    {0x00, 0, 0, 0, 0x11223344}, /* 0x1122334400000000 */
	    {0x95, 0, 0, 0, 0},          /* 0x0000000000000095 */
	};
	cleanup_free char *text = read_whole(BPFTIME_CONFORMANCE_DIR "/lddw.data");
	cleanup_free char *prog = NULL;

	assert_non_null(text);
	prog = asm_section(text);
	assert_non_null(prog);
	check_program(prog, want, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_instruction_encodings),
	    cmocka_unit_test(test_program_encodings),
	    cmocka_unit_test(test_empty_program_gives_freeable_array),
	    cmocka_unit_test(test_errors_name_line_and_reason),
	    cmocka_unit_test(test_label_out_of_jump_range),
	    cmocka_unit_test(test_bad_arguments_and_small_error_buffer),
	    cmocka_unit_test(test_disasm_text),
	    cmocka_unit_test(test_disasm_errors),
	    cmocka_unit_test(test_disasm_round_trip_every_opcode),
	    cmocka_unit_test(test_corpus_assembles_and_round_trips),
	    cmocka_unit_test(test_corpus_raw_matches_asm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
