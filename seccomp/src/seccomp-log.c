// SPDX-License-Identifier: MIT
/*
 * The seccomp module's log: one callback, WARN by default, BPFTIME_LOG_LEVEL
 * for more; lines start with "seccomp: ". Never changes errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "seccomp-internal.h"

static void default_log(enum bpftime_seccomp_log_level level, const char *msg)
{
	fprintf(stderr, "seccomp: %s\n", msg);
}

/* The sink: swapped atomically, read on every message. */
static bpftime_seccomp_log_fn log_fn = default_log;

static enum bpftime_seccomp_log_level max_level(void)
{
	const char *env = getenv("BPFTIME_LOG_LEVEL");

	if (env && !strcmp(env, "debug"))
		return BPFTIME_SECCOMP_DEBUG;
	if (env && !strcmp(env, "info"))
		return BPFTIME_SECCOMP_INFO;
	return BPFTIME_SECCOMP_WARN;
}

bpftime_seccomp_log_fn bpftime_seccomp_set_log(bpftime_seccomp_log_fn fn)
{
	return __atomic_exchange_n(&log_fn, fn ? fn : default_log, __ATOMIC_ACQ_REL);
}

static void vlog(enum bpftime_seccomp_log_level level, const char *fmt, va_list ap)
{
	bpftime_seccomp_log_fn fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
	int saved = errno;
	char msg[512];

	if (level > max_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fn(level, msg);
	errno = saved;
}

void sec_log(enum bpftime_seccomp_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

int sec_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(BPFTIME_SECCOMP_WARN, fmt, ap);
	va_end(ap);
	return err;
}
