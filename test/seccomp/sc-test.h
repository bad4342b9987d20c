/* SPDX-License-Identifier: MIT */
/*
 * What test_seccomp.c and its helper program agree on. The helper makes
 * bpf(2) calls whose first argument is one of SC_OP_*; the test's handler
 * answers them (the real bpf(2) never sees them). getppid is trapped too and
 * always let through (BPFTIME_EMUL_CONTINUE).
 */
#ifndef BPFTIME_SC_TEST_H
#define BPFTIME_SC_TEST_H

#include <stddef.h>
#include <stdint.h>

enum sc_op {
	SC_OP_VALUE = 0x5c00, /* returns args[1] */
	SC_OP_ERRNO,          /* fails with errno args[1] */
	SC_OP_READ,           /* reads args[2] bytes at args[1]: sc_hash of them, or -errno */
	SC_OP_WRITE,          /* writes sc_pattern to args[2] bytes at args[1]: 0 or -errno */
	SC_OP_INSTALL,        /* install_fd(a memfd holding SC_MEMFD_TEXT, flags args[1]) */
	SC_OP_GETFD,          /* get_fd(args[1]) refers to the file whose struct sc_file_id
			       * is at args[2]: 0, -EXDEV when not, or get_fd's error */
	SC_OP_PID,            /* returns caller->pid (and the handler records the caller) */
	SC_OP_TID,            /* returns caller->tid */
	SC_OP_UID,            /* returns caller->uid */
	SC_OP_KILL_ME,        /* SIGKILLs the caller, waits until it is gone, tries its ops */
	SC_OP_SIGNAL_ME,      /* sends SIGUSR1 to the calling thread, waits, returns 42 */
};

#define SC_MEMFD_TEXT "bpftime seccomp install_fd"
#define SC_HELPER     "seccomp_helper"

struct sc_file_id {
	uint64_t dev;
	uint64_t ino;
};

/* FNV-1a, kept positive: a syscall's value */
static inline long sc_hash(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return (long)(h & 0x7fffffff);
}

static inline unsigned char sc_pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

#endif /* BPFTIME_SC_TEST_H */
