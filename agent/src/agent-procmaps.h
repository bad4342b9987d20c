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
	uint32_t prot; /* PROT_* */
};

/* One line of /proc/PID/maps (without its newline). @return 0 or -1. */
int agent_procmaps_parse(const char *line, size_t len, struct agent_mapping *m);

/* The address of byte @offset of the file (@dev, @ino) in this process's
 * executable mapping of it, and that mapping's protection.
 * @return 0; -ENOENT when the file is not mapped there; -ENOEXEC when it
 * is, but not executable; -errno of reading /proc/self/maps. */
int agent_procmaps_find(uint64_t dev, uint64_t ino, uint64_t offset, uint64_t *addr,
			uint32_t *prot);

#endif /* BPFTIME_AGENT_PROCMAPS_H */
