/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the maps tests (test_maps_*.c): regions in a directory
 * of their own under /dev/shm (writable by the unprivileged CI user too),
 * map creation that fails the test on error, and a log sink that records
 * what the maps module says.
 *
 * Child processes of a test must not call cmocka: they report through
 * their exit status (mt_child_* helpers).
 */
#ifndef BPFTIME_MAPS_TEST_H
#define BPFTIME_MAPS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpftime/maps.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel's ENOTSUPP: bpf(2)'s answer for an operation a type lacks. */
#define MT_ENOTSUPP 524

/* Create a region in a fresh directory; fails the test on error. */
struct bpftime_map_region *mt_region_create(uint32_t nr_cpus, uint64_t max_size);
/* Join the region at @path; NULL with errno on error (no test failure). */
struct bpftime_map_region *mt_region_join(const char *path);
/* Remove the region's files and unmap it; NULL is accepted. */
void mt_region_destroy(struct bpftime_map_region *r);

struct bpftime_map_attr mt_attr(uint32_t type, uint32_t key_size, uint32_t value_size,
				uint32_t max_entries, uint32_t flags);
/* Create a map and return its handle; fails the test on error. */
struct bpftime_map *mt_map_new(struct bpftime_map_region *r, const struct bpftime_map_attr *a);
/* Whether our registry has @type (the other types are skipped, not failed). */
bool mt_type_present(uint32_t type);

uint32_t mt_tid(void);

/* ---- log capture ---- */

struct mt_log_entry {
	enum bpftime_map_log_level level;
	char msg[512];
};

/* Record every message from now on (up to MT_LOG_MAX); errno is clobbered
 * by the sink on purpose, so that tests see that logging restores it. */
#define MT_LOG_MAX 64
void mt_log_capture(void);
/* Back to the default sink. */
void mt_log_release(void);
unsigned mt_log_count(void);
/* The first recorded message containing @needle, or NULL. */
const struct mt_log_entry *mt_log_find(const char *needle);

/* ---- processes ---- */

/* Wait for @pid; return its exit status, or 128 + signal. */
int mt_wait(pid_t pid);
/* Write / read one byte on a pipe; 0 or -1. */
int mt_pipe_put(int fd, char c);
int mt_pipe_get(int fd, char *c);

#endif /* BPFTIME_MAPS_TEST_H */
