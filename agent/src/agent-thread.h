/* SPDX-License-Identifier: MIT */
/* The agent's own thread (agent-thread.c): a raw clone, unknown to libc. */
#ifndef BPFTIME_AGENT_THREAD_H
#define BPFTIME_AGENT_THREAD_H

#include <stddef.h>

#define __stringify_agent_1(x) #x
#define __stringify_agent(x)   __stringify_agent_1(x)

struct agent_thread {
	void *stack;
	size_t stack_size;
	int tid; /* set by the kernel at clone, cleared (and woken) at exit */
};

/* Start fn(arg) on a new thread of this process with every signal blocked.
 * @return 0 or -errno. */
int agent_thread_start(struct agent_thread *t, int (*fn)(void *), void *arg, size_t stack_size);

/* Wait until the thread has exited, then free its stack. The thread must
 * have been told to stop. A thread never started is accepted. */
void agent_thread_join(struct agent_thread *t);

#endif /* BPFTIME_AGENT_THREAD_H */
