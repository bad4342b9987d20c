/* SPDX-License-Identifier: MIT */
/* File offsets to addresses of this process (agent-procmaps.c). */
#ifndef BPFTIME_AGENT_PROCMAPS_H
#define BPFTIME_AGENT_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>

struct agent_mapping {
	uint64_t start, end, offset;
	uint64_t dev; /* st_dev encoding (makedev) */
	uint64_t ino;
	uint32_t prot;    /* PROT_* */
	const char *path; /* NUL-terminated in the line's buffer; "" when none */
};

/* st_dev as glibc's and musl's makedev() encode it, from major and minor
 * (what stat() gave the supervisor; /proc and statx give the two). */
uint64_t agent_procmaps_dev(uint64_t major, uint64_t minor);

/* One line of /proc/PID/maps, @len bytes without its newline; line[len]
 * is overwritten with the NUL that ends the path. @return 0 or -1. */
int agent_procmaps_parse(char *line, size_t len, struct agent_mapping *m);

/* Calls @fn for every mapping of /proc/self/maps, streamed through 8 KiB
 * on the stack (a longer line is skipped). @return 0 or the -errno of reading it. */
int agent_procmaps_each(void (*fn)(void *arg, const struct agent_mapping *m), void *arg);

/* The address of byte @offset of the file (@dev, @ino) in this process's
 * executable mapping of it, and that mapping's protection.
 * @return 0; -ENOENT when the file is not mapped there; -ENOEXEC when it
 * is, but not executable; -errno of reading /proc/self/maps. */
int agent_procmaps_find(uint64_t dev, uint64_t ino, uint64_t offset, uint64_t *addr,
			uint32_t *prot);

/* Open the file of mapping @m read-only, checked to be the one mapped
 * (dev and ino: a path may name another file by now), and its size in
 * *@size (may be NULL). @return the fd, or -errno (-ESTALE: replaced). */
int agent_procmaps_open(const struct agent_mapping *m, uint64_t *size);

#endif /* BPFTIME_AGENT_PROCMAPS_H */
