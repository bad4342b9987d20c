/* SPDX-License-Identifier: MIT */
/* Instruction builders for the vm tests (field layout from RFC 9669); they
 * are brace initializers: write (struct bpf_insn)X(...) in an expression. */
#ifndef BPFTIME_TEST_INSN_H
#define BPFTIME_TEST_INSN_H

#include <linux/bpf.h>

#define BPF_MEMSX_ 0x80 /* not in the 6.1 uapi headers */

#define INSN(CODE, DST, SRC, OFF, IMM)                                                             \
	{                                                                                          \
		.code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)     \
	}
#define ALU64_IMM(OP, D, IMM)     INSN(BPF_ALU64 | (OP) | BPF_K, D, 0, 0, IMM)
#define ALU64_REG(OP, D, S)       INSN(BPF_ALU64 | (OP) | BPF_X, D, S, 0, 0)
#define ALU32_IMM(OP, D, IMM)     INSN(BPF_ALU | (OP) | BPF_K, D, 0, 0, IMM)
#define ALU32_REG(OP, D, S)       INSN(BPF_ALU | (OP) | BPF_X, D, S, 0, 0)
#define MOV64_IMM(D, IMM)         ALU64_IMM(BPF_MOV, D, IMM)
#define MOV64_REG(D, S)           ALU64_REG(BPF_MOV, D, S)
#define LDX(SZ, D, S, OFF)        INSN(BPF_LDX | BPF_MEM | (SZ), D, S, OFF, 0)
#define STX(SZ, D, S, OFF)        INSN(BPF_STX | BPF_MEM | (SZ), D, S, OFF, 0)
#define ST(SZ, D, OFF, IMM)       INSN(BPF_ST | BPF_MEM | (SZ), D, 0, OFF, IMM)
#define ATOMIC(SZ, OP, D, S, OFF) INSN(BPF_STX | BPF_ATOMIC | (SZ), D, S, OFF, OP)
#define JMP_IMM(OP, D, IMM, OFF)  INSN(BPF_JMP | (OP) | BPF_K, D, 0, OFF, IMM)
#define JMP_REG(OP, D, S, OFF)    INSN(BPF_JMP | (OP) | BPF_X, D, S, OFF, 0)
#define JA(OFF)                   INSN(BPF_JMP | BPF_JA, 0, 0, OFF, 0)
#define CALL_HELPER(ID)           INSN(BPF_JMP | BPF_CALL, 0, 0, 0, ID)
#define CALL_LOCAL(REL)           INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, REL)
#define CALLX(REG)                INSN(BPF_JMP | BPF_CALL | BPF_X, REG, 0, 0, 0)
#define EXIT()                    INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Two slots: the 64-bit immediate split over both imm fields. */
#define LDDW(D, SRC, LO, HI) INSN(BPF_LD | BPF_IMM | BPF_DW, D, SRC, 0, LO), INSN(0, 0, 0, 0, HI)
#define LDDW64(D, V)         LDDW(D, 0, (int32_t)(uint32_t)(V), (int32_t)((uint64_t)(V) >> 32))

/* r1 = N (SET_N: MOV64_IMM or LDDW64, one or two slots); bpf_loop(r1,
 * callback, 0, FLAGS) and exit with its result; the callback returns RET.
 * The callback's offset (5) is the same for both forms of SET_N. */
#define BPF_LOOP_PROG(SET_N, FLAGS, RET)                                                           \
	{                                                                                          \
		SET_N, LDDW(2, BPF_PSEUDO_FUNC, 5, 0), MOV64_IMM(3, 0), MOV64_IMM(4, FLAGS),       \
		    CALL_HELPER(BPF_FUNC_loop), EXIT(), MOV64_IMM(0, RET), EXIT()                  \
	}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
