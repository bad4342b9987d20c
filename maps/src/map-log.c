// SPDX-License-Identifier: MIT
/*
 * The maps module's log: one callback, WARN by default, BPFTIME_LOG_LEVEL
 * for more; lines start with "maps: ". Never changes errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "map-internal.h"

static void default_log(enum bpftime_map_log_level level, const char *msg)
{
	fprintf(stderr, "maps: %s\n", msg);
}

/* The sink: swapped atomically, read on every message. */
static bpftime_map_log_fn log_fn = default_log;

static enum bpftime_map_log_level max_level(void)
{
	const char *env = getenv("BPFTIME_LOG_LEVEL");

	if (env && !strcmp(env, "debug"))
		return BPFTIME_MAP_DEBUG;
	if (env && !strcmp(env, "info"))
		return BPFTIME_MAP_INFO;
	return BPFTIME_MAP_WARN;
}

bpftime_map_log_fn bpftime_map_set_log(bpftime_map_log_fn fn)
{
	return __atomic_exchange_n(&log_fn, fn ? fn : default_log, __ATOMIC_ACQ_REL);
}

static void vlog(enum bpftime_map_log_level level, const char *fmt, va_list ap)
{
	bpftime_map_log_fn fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
	int saved = errno;
	char msg[512];

	if (level > max_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fn(level, msg);
	errno = saved;
}

void bpftime_map_log(enum bpftime_map_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

int bpftime_map_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(BPFTIME_MAP_WARN, fmt, ap);
	va_end(ap);
	return err;
}
