// SPDX-License-Identifier: MIT
/*
 * The supervisor's log: "bpftime: <level>: <message>" on stderr, as the
 * emulator writes its own lines, so that a user reads one stream. The level
 * comes from --log-level, else $BPFTIME_LOG_LEVEL, else warn.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

/* The one mutable global (STYLE.md 7): set from main before any other
 * thread exists, read with relaxed atomics since it is a plain filter. */
static int log_level = SUP_LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

enum sup_log_level sup_log_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void sup_log_set_level(enum sup_log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int sup_log_parse_level(const char *name)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]))
			return (int)i;
	}
	if (!strcmp(name, "warning"))
		return SUP_LOG_WARN;
	return -EINVAL;
}

void sup_log(enum sup_log_level level, const char *fmt, ...)
{
	int saved = errno; /* logging never changes errno (STYLE.md 8) */
	char msg[1024];
	va_list ap;

	if ((int)level > (int)sup_log_level())
		goto out;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bpftime: %s: %s\n", level_names[level], msg);
out:
	errno = saved;
}

static void seccomp_log(enum bpftime_seccomp_log_level level, const char *msg)
{
	static const enum sup_log_level map[] = {
	    [BPFTIME_SECCOMP_WARN] = SUP_LOG_WARN,
	    [BPFTIME_SECCOMP_INFO] = SUP_LOG_INFO,
	    [BPFTIME_SECCOMP_DEBUG] = SUP_LOG_DEBUG,
	};

	if ((unsigned int)level >= sizeof(map) / sizeof(map[0]))
		level = BPFTIME_SECCOMP_DEBUG;
	sup_log(map[level], "seccomp: %s", msg);
}

void sup_log_route_seccomp(void)
{
	bpftime_seccomp_set_log(seccomp_log);
}
