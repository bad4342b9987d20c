// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the maps tests; see maps-test.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "maps-test.h"
#include "map-internal.h"

struct bpftime_map_region *mt_region_create(uint32_t nr_cpus, uint64_t max_size)
{
	/* One directory per region: tests run in parallel under ctest -j. */
	static unsigned seq;
	struct bpftime_map_region_opts o = {.sz = sizeof(o)};
	struct bpftime_map_region *r;
	char path[128];

	snprintf(path, sizeof(path), "/dev/shm/bpftime-test-%d-%u/maps", (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	o.path = path;
	o.create = true;
	o.nr_cpus = nr_cpus;
	o.max_size = max_size;
	r = bpftime_map_region__open(&o);
	if (!r)
		fail_msg("region %s: %s", path, strerror(errno));
	return r;
}

struct bpftime_map_region *mt_region_join(const char *path)
{
	struct bpftime_map_region_opts o = {.sz = sizeof(o), .path = path};

	return bpftime_map_region__open(&o);
}

void mt_region_destroy(struct bpftime_map_region *r)
{
	if (!r)
		return;
	bpftime_map_region__unlink(r);
	bpftime_map_region__close(r);
}

struct bpftime_map_attr mt_attr(uint32_t type, uint32_t key_size, uint32_t value_size,
				uint32_t max_entries, uint32_t flags)
{
	struct bpftime_map_attr a = {
	    .map_type = type,
	    .key_size = key_size,
	    .value_size = value_size,
	    .max_entries = max_entries,
	    .map_flags = flags,
	};

	return a;
}

struct bpftime_map *mt_map_new(struct bpftime_map_region *r, const struct bpftime_map_attr *a)
{
	uint32_t id = 0;
	int err = bpftime_map__create(r, a, &id);
	struct bpftime_map *m;

	if (err)
		fail_msg("create type %u key %u value %u max %u flags 0x%x: %d", a->map_type,
			 a->key_size, a->value_size, a->max_entries, a->map_flags, err);
	m = bpftime_map__get(r, id);
	assert_non_null(m);
	return m;
}

bool mt_type_present(uint32_t type)
{
	return bpftime_map_ops_of(type) != NULL;
}

uint32_t mt_tid(void)
{
	return (uint32_t)gettid();
}

/* ---- log capture: the tests' sink, single-threaded use ---- */

static struct mt_log_entry log_entries[MT_LOG_MAX];
static unsigned log_n;

static void capture(enum bpftime_map_log_level level, const char *msg)
{
	if (log_n < MT_LOG_MAX) {
		log_entries[log_n].level = level;
		snprintf(log_entries[log_n].msg, sizeof(log_entries[log_n].msg), "%s", msg);
		log_n++;
	}
	errno = EIO; /* a careless sink: the module must restore errno */
}

void mt_log_capture(void)
{
	log_n = 0;
	bpftime_map_set_log(capture);
}

void mt_log_release(void)
{
	bpftime_map_set_log(NULL);
}

unsigned mt_log_count(void)
{
	return log_n;
}

const struct mt_log_entry *mt_log_find(const char *needle)
{
	for (unsigned i = 0; i < log_n; i++)
		if (strstr(log_entries[i].msg, needle))
			return &log_entries[i];
	return NULL;
}

/* ---- processes ---- */

int mt_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int mt_pipe_put(int fd, char c)
{
	return write(fd, &c, 1) == 1 ? 0 : -1;
}

int mt_pipe_get(int fd, char *c)
{
	ssize_t n;

	do
		n = read(fd, c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}
