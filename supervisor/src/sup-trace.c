// SPDX-License-Identifier: MIT
/*
 * `bpftime trace [--session NAME] [--session-dir DIR]`: the session's
 * bpf_trace_printk lines on stdout as they come, as `cat trace_pipe` shows
 * the kernel's: the lines no reader consumed yet, then new ones, until
 * interrupted. Reading consumes them (bpftime_trace_pipe_consume), shared
 * with the tools' opens of <tracefs>/trace_pipe in the session.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpftime/bpf-emul.h>
#include "sup-internal.h"

#define TICK_NS (20 * 1000 * 1000)

int sup_cmd_trace(const struct sup_opts *o)
{
	const struct timespec tick = {0, TICK_NS};
	char base[PATH_MAX];
	struct sup_session s;
	struct stat st;
	long n;

	if (sup_base_dir(o->base_dir, base, sizeof(base)) ||
	    sup_session_init(&s, base, o->session ? o->session : SUP_SESSION_DEFAULT)) {
		sup_log(SUP_LOG_ERROR, "bad session name or path too long");
		return 1;
	}
	if (stat(s.dir, &st) || !S_ISDIR(st.st_mode)) {
		sup_log(SUP_LOG_ERROR, "no session '%s' in %s", s.name, base);
		return 1;
	}
	for (;;) {
		n = bpftime_trace_pipe_consume(s.dir, STDOUT_FILENO);
		if (n > 0)
			continue;
		if (n < 0 && n != -EAGAIN && n != -EINTR) {
			sup_log(SUP_LOG_ERROR, "%s/trace_pipe: %s", s.dir, strerror((int)-n));
			return 1;
		}
		nanosleep(&tick, NULL);
	}
}
