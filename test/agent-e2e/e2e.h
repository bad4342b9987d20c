/* SPDX-License-Identifier: MIT */
/*
 * Shared by the agent end-to-end test tool (e2e_tool.c), its BPF programs
 * (e2e_tool.bpf.c) and the target (e2e_target.c): the slots of the
 * "results" array map, which the read and hostile programs fill.
 */
#ifndef BPFTIME_E2E_H
#define BPFTIME_E2E_H

#define E2E_MAX_PIDS 1024

/* the string the target passes as probe_me()'s first argument */
#define E2E_STRING "hello, bpftime"
/* the value the target passes a pointer to as probe_me()'s second */
#define E2E_GOOD_VALUE 0x1122334455667788ull
/* a user address above the last user page (TASK_SIZE_MAX on x86-64) */
#define E2E_HIGH_ADDR 0x7ffffffff000ull
/* a kernel address */
#define E2E_KERNEL_ADDR 0xffffffffff600000ull

enum e2e_slot {
	/* read_probe: bpf_probe_read_user() return values */
	E2E_READ_NULL,     /* from NULL */
	E2E_READ_ONE,      /* from 0x1 */
	E2E_READ_UNMAPPED, /* from a PROT_NONE page of the target (arg 3) */
	E2E_READ_HIGH,     /* from E2E_HIGH_ADDR */
	E2E_READ_KERNEL,   /* from E2E_KERNEL_ADDR */
	E2E_READ_EDGE,     /* 8 bytes, the last 4 of a mapped page (arg 4) */
	E2E_READ_GOOD,     /* from &good (arg 2): 0 */
	E2E_READ_GOOD_VAL, /* what it read: E2E_GOOD_VALUE */
	E2E_READ_ZEROED,   /* the destination after the NULL read: 0 */
	E2E_STR_GOOD,      /* bpf_probe_read_user_str(arg 1): strlen + 1 */
	E2E_STR_NULL,      /* bpf_probe_read_user_str(NULL): -EFAULT */
	E2E_STR_SHORT,     /* into a 6-byte buffer: 6 (cut, NUL-terminated) */
	E2E_READ_RUNS,     /* how many times read_probe ran */
	/* the hostile programs: each bumps its "before" slot, does its wild
	 * access, then bumps its "after" slot (which a stopped run never reaches) */
	E2E_HOSTILE_READ_BEFORE,
	E2E_HOSTILE_READ_AFTER,
	E2E_HOSTILE_WRITE_BEFORE,
	E2E_HOSTILE_WRITE_AFTER,
	E2E_HOSTILE_CTX_BEFORE,
	E2E_HOSTILE_CTX_AFTER,
	E2E_HOSTILE_STACK_BEFORE,
	E2E_HOSTILE_STACK_AFTER,
	E2E_HOSTILE_MAP_BEFORE,
	E2E_HOSTILE_MAP_AFTER,
	E2E_NR_SLOTS
};

#endif
