/* SPDX-License-Identifier: MIT */
/*
 * Where the host kernel keeps the task fields programs read through
 * bpf_get_current_task(): "<session dir>/task-layout", written once by
 * the supervisor (bpf-emul, emul-task-layout.c) from the host's vmlinux
 * BTF, read by agents (agent-task.c), which build per-thread images of
 * struct task_struct, nsproxy and mnt_namespace at these offsets.
 *
 * Why the host's: CO-RE tools (libbpf-tools) relocate their field
 * offsets against /sys/kernel/btf/vmlinux, which they read themselves,
 * and bpftrace takes the same BTF for curtask; so an image must put
 * task->real_parent where that BTF says, not where some header does.
 *
 * Freestanding (the agent includes it): <stdint.h> only. A field the
 * host's BTF does not have (or has past the image sizes below) is
 * BPFTIME_TASK_NO_FIELD and stays zero in the images.
 */
#ifndef BPFTIME_TASK_LAYOUT_H
#define BPFTIME_TASK_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPFTIME_TASK_LAYOUT_FILE    "task-layout" /* in the session directory */
#define BPFTIME_TASK_LAYOUT_MAGIC   0x4b534154u   /* "TASK" */
#define BPFTIME_TASK_LAYOUT_VERSION 1
#define BPFTIME_TASK_NO_FIELD       0xffffffffu

/* Image sizes the agent reserves: a struct larger than this (a debug
 * kernel's task_struct) is cut there, and its fields past the end are
 * left out. */
#define BPFTIME_TASK_IMAGE_MAX 16384u
#define BPFTIME_TASK_SMALL_MAX 4096u /* nsproxy, mnt_namespace */

/* Byte offsets (BPFTIME_TASK_NO_FIELD: absent) and struct sizes. */
struct bpftime_task_layout {
	uint32_t magic;
	uint16_t version;
	uint16_t size; /* sizeof(struct bpftime_task_layout) */
	/* struct task_struct */
	uint32_t task_size;
	uint32_t task_pid;          /* pid_t: the thread's id */
	uint32_t task_tgid;         /* pid_t: the process's id */
	uint32_t task_real_parent;  /* struct task_struct * */
	uint32_t task_parent;       /* struct task_struct * (the ptracer, else real_parent) */
	uint32_t task_group_leader; /* struct task_struct * */
	uint32_t task_comm;         /* char[16] */
	uint32_t task_nsproxy;      /* struct nsproxy * */
	/* struct nsproxy */
	uint32_t nsproxy_size;
	uint32_t nsproxy_mnt_ns; /* struct mnt_namespace * */
	/* struct mnt_namespace */
	uint32_t mnt_ns_size;
	uint32_t mnt_ns_inum; /* ns.inum: unsigned int */
};
_Static_assert(sizeof(struct bpftime_task_layout) == 56, "task layout");

/* ---- the supervisor's side (bpf-emul, emul-task-layout.c; uses libc) ---- */

/* Fill @out from the vmlinux BTF blob @btf of @size bytes. @return 0,
 * -EINVAL for a blob it cannot walk, -ENOENT without struct task_struct. */
int bpftime_task_layout__from_btf(const void *btf, uint32_t size, struct bpftime_task_layout *out);

/* Write @session_dir's layout file from the BTF at @btf_path (NULL: the
 * host's, /sys/kernel/btf/vmlinux). @return 0 or -errno; without it
 * agents read no task fields (every read fails as before). */
int bpftime_task_layout__write(const char *session_dir, const char *btf_path);

/* Remove it (the session's end). */
void bpftime_task_layout__unlink(const char *session_dir);

#ifdef __cplusplus
}
#endif

#endif /* BPFTIME_TASK_LAYOUT_H */
