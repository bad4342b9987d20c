/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the perf, epoll and tracefs tests (test_emul_perf.c,
 * test_emul_epoll.c, test_emul_files.c): a session with chosen tracefs
 * source, and the syscalls they make through the emulator.
 */
#ifndef BPFTIME_EMUL_PF_TEST_H
#define BPFTIME_EMUL_PF_TEST_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include "emul-test.h"
#include "emul-internal.h"

/* emul_test_setup, with opts.tracefs_source @tracefs ("" built-in, NULL host). */
static inline void pf_setup(struct emul_test *t, const char *tracefs)
{
	struct bpftime_emul_opts o;

	static int n;

	emul_test_setup(t);
	bpftime_emul__free(t->e);
	/* a directory of its own: a test may run two sessions */
	snprintf(t->dir + strlen(t->dir), sizeof(t->dir) - strlen(t->dir), "-%d", n++);
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.session_dir = t->dir;
	o.tracefs_source = tracefs;
	o.log_level =
	    getenv("BPFTIME_TEST_VERBOSE") ? BPFTIME_EMUL_LOG_DEBUG : BPFTIME_EMUL_LOG_ERROR;
	t->e = bpftime_emul__new(&o);
	if (!t->e)
		abort();
}

static inline void pf_teardown(struct emul_test *t)
{
	/* what bpftime_emul__free is to call first (emul-internal.h) */
	emul_epoll_free(t->e);
	emul_files_free(t->e);
	emul_test_teardown(t);
}

static inline long pf_open_event(struct emul_test *t, void *attr, int pid, int cpu,
				 unsigned long flags)
{
	return bpftime_emul__perf_event_open(t->e, &t->caller, ptr_to_u64(attr), pid, cpu, -1,
					     flags);
}

/* The attr libbpf's perf_buffer and bcc's reader open (size 0 as bcc). */
static inline void pf_output_attr(struct perf_event_attr *a, uint32_t size)
{
	memset(a, 0, sizeof(*a));
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_BPF_OUTPUT;
	a->size = size;
	a->sample_type = PERF_SAMPLE_RAW;
	a->sample_period = 1;
	a->wakeup_events = 1;
}

/* The object behind one of our fds. */
static inline struct emul_obj *pf_obj(struct emul_test *t, int fd)
{
	int err;

	return emul_obj_from_fd(t->e, &t->caller, fd, &err);
}

static inline long pf_mmap_check(struct emul_test *t, int fd, uint64_t len, int prot, int flags,
				 uint64_t off)
{
	return emul_mmap(t->e, &t->caller, 0, len, prot, flags, fd, off);
}

/* A map through the emulator's bpf(BPF_MAP_CREATE); -errno. */
static inline int pf_map_create(struct emul_test *t, uint32_t type, uint32_t ks, uint32_t vs,
				uint32_t max, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = max;
	a.map_flags = flags;
	return (int)emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
}

static inline int pf_map_update(struct emul_test *t, int map_fd, const void *key, const void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map_fd;
	a.key = ptr_to_u64(key);
	a.value = ptr_to_u64(val);
	return (int)emul_test_bpf(t, BPF_MAP_UPDATE_ELEM, &a, sizeof(a));
}

/* A 2-instruction program of @type ("r0 = 0; exit"); -errno. */
static inline int pf_prog_load(struct emul_test *t, uint32_t type)
{
	struct bpf_insn insns[2] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = ptr_to_u64(insns);
	a.insn_cnt = 2;
	a.license = ptr_to_u64("GPL");
	return (int)emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
}

#endif
