/* SPDX-License-Identifier: MIT */
/* Instruction builders and small bpf(2) wrappers for the program, BTF,
 * link and test-run tests (as the kernel's include/linux/filter.h). */
#ifndef BPFTIME_EMUL_INSN_H
#define BPFTIME_EMUL_INSN_H

#include <string.h>
#include <linux/bpf.h>
#include "emul-test.h"

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_IMM(d, i)  INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s)  INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD64_IMM(d, i)  INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define CALL(id)         INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define EXIT_INSN()      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define ST_DW(d, o, i)   INSN(BPF_ST | BPF_MEM | BPF_DW, d, 0, o, i)
#define ST_W(d, o, i)    INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define LD_MAP_FD(d, fd)                                                                           \
	INSN(BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define LD_MAP_VALUE(d, fd, off)                                                                   \
	INSN(BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_MAP_VALUE, 0, fd), INSN(0, 0, 0, 0, off)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static inline long prog_load_log(struct emul_test *t, uint32_t type, const struct bpf_insn *insns,
				 uint32_t cnt, uint32_t level, char *log, uint32_t log_size)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = ptr_to_u64(insns);
	a.insn_cnt = cnt;
	a.license = ptr_to_u64("GPL");
	a.log_level = level;
	a.log_buf = ptr_to_u64(log);
	a.log_size = log_size;
	return emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
}

static inline long prog_load(struct emul_test *t, uint32_t type, const struct bpf_insn *insns,
			     uint32_t cnt)
{
	return prog_load_log(t, type, insns, cnt, 0, NULL, 0);
}

static inline long map_create(struct emul_test *t, uint32_t type, uint32_t key, uint32_t value,
			      uint32_t max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key;
	a.value_size = value;
	a.max_entries = max;
	return emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
}

#endif
