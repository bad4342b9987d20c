// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the assembler and disassembler: any text either
 * assembles or fails with a message; whatever assembles must disassemble
 * and assemble back to the very same instructions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/asm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct bpf_insn *insns, size_t cnt)
{
	size_t cap = cnt * 96 + 1, len = 0;
	char *text = malloc(cap);
	struct bpf_insn *again = NULL;
	size_t again_cnt = 0;
	char err[128];

	if (!text)
		return;
	for (size_t i = 0; i < cnt;) {
		int n = bpftime_asm__disasm(&insns[i], cnt - i, text + len, cap - len - 1);

		if (n <= 0)
			abort(); /* every slot has a textual form */
		len += strlen(text + len);
		text[len++] = '\n';
		i += (size_t)n;
	}
	text[len] = '\0';
	if (bpftime_asm__assemble(text, &again, &again_cnt, err, sizeof(err)) != 0 ||
	    again_cnt != cnt || memcmp(again, insns, cnt * sizeof(*insns)) != 0)
		abort();
	free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct bpf_insn *insns = NULL;
	size_t cnt = 0;
	char err[128];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (bpftime_asm__assemble(text, &insns, &cnt, err, sizeof(err)) == 0) {
		round_trip(insns, cnt);
		free(insns);
	}
	free(text);
	return 0;
}
