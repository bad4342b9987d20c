/* SPDX-License-Identifier: MIT */
/*
 * Tests of bpf-emul run the emulator in their own process: the caller is
 * this process (its memory read with process_vm_readv so that bad pointers
 * give -EFAULT instead of a crash, its fds dup'd), and the syscalls are made
 * with the helpers below instead of trapped ones.
 */
#ifndef BPFTIME_EMUL_TEST_H
#define BPFTIME_EMUL_TEST_H

#include <stdint.h>
#include <linux/bpf.h>
#include <bpftime/bpf-emul.h>

struct emul_test {
	struct bpftime_emul *e;
	struct bpftime_caller caller;
	char dir[128];
};

/* A fresh session in a temporary directory; the caller is this process. */
void emul_test_setup(struct emul_test *t);
void emul_test_teardown(struct emul_test *t);

/* bpf(cmd, attr, size) answered by the emulator; -errno on failure. */
long emul_test_bpf(struct emul_test *t, int cmd, void *attr, uint32_t size);

/* An address nothing is mapped at (for -EFAULT checks). */
uint64_t emul_test_bad_ptr(void);

static inline uint64_t ptr_to_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif
