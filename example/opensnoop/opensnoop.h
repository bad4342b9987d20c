/* SPDX-License-Identifier: MIT */
/* The ring buffer's record, shared by opensnoop.bpf.c and its loader. */
#ifndef BPFTIME_EXAMPLE_OPENSNOOP_H
#define BPFTIME_EXAMPLE_OPENSNOOP_H

#include <linux/types.h>

#define OPENSNOOP_COMM_LEN 16
#define OPENSNOOP_PATH_LEN 256

struct opensnoop_event {
	__u32 pid;
	__u32 tid;
	__s64 ret;
	char comm[OPENSNOOP_COMM_LEN];
	char path[OPENSNOOP_PATH_LEN];
};

#endif
