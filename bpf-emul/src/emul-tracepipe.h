/* SPDX-License-Identifier: MIT */
/*
 * The session's trace_pipe (emul-tracepipe.c): bpf_trace_printk lines of
 * agents and of programs run in the supervisor, in <session>/trace_pipe,
 * served to tools that open <tracefs>/trace_pipe (emul-files.c).
 */
#ifndef BPFTIME_EMUL_TRACEPIPE_H
#define BPFTIME_EMUL_TRACEPIPE_H

#include <stddef.h>
#include <stdint.h>
#include "emul-internal.h"

struct emul_tracepipe;

/* Append one line as the kernel's trace_pipe shows a bpf_trace_printk
 * event: @comm (NULL or "": "<idle>"), @tid, @cpu, then @text (@n bytes;
 * a newline is added when it has none). Without e->lock (any thread). */
void emul_tracepipe_printk(struct bpftime_emul *e, const char *comm, int tid, uint32_t cpu,
			   const char *text, size_t n);

/* An open of <tracefs>/trace_pipe: a pipe whose read end is installed in
 * the caller, fed by a thread of ours from the session's file. @tp is
 * created on first use. @return the caller's fd or -errno. */
long emul_tracepipe_open(struct bpftime_emul *e, struct bpftime_caller *c,
			 struct emul_tracepipe **tp, int flags);

/* Stop and join the feeding threads (the tools' pipes see EOF). */
void emul_tracepipe_free(struct emul_tracepipe *tp);

#endif /* BPFTIME_EMUL_TRACEPIPE_H */
