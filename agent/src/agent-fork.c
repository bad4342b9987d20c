// SPDX-License-Identifier: MIT
/*
 * fork(): the child keeps our patched code and trampolines (a copy of our
 * memory) but not our follower thread (fork copies only the calling
 * thread), so nobody in it would follow the session: a link closed later
 * would keep running there, and a detach would not restore its code.
 *
 * We cannot hook fork itself (no pthread_atfork without libc; a static
 * target may not even use libc's fork). Instead one page of ours is
 * MADV_WIPEONFORK: the kernel gives a child that page zeroed. Every hook
 * reads one word of it (a load and a branch); the first hook to run in a
 * child sees 0, takes the page back with a compare-and-swap and restarts
 * the agent for the new process (agent-main.c), which starts a new
 * follower from the copied state. vfork children share our memory and
 * the page is not wiped: they run the parent's hooks, as they run its code.
 */
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

/* 1 in the process that mapped it; 0 in a fork child. Not static: the
 * syscall entries' fast path reads it (agent-sc.c). */
uint32_t *agent_fork_here;

int agent_fork_init(void)
{
	uint32_t *p;

	if (agent_fork_here)
		return 0;
	p = agent_sys_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!p)
		return -ENOMEM;
	if (agent_sys6(__NR_madvise, (long)p, 4096, MADV_WIPEONFORK, 0, 0, 0)) {
		/* before 4.14: children are not followed */
		agent_sys_munmap(p, 4096);
		return -EOPNOTSUPP;
	}
	*p = 1;
	__atomic_store_n(&agent_fork_here, p, __ATOMIC_RELEASE);
	return 0;
}

void agent_fork_check(void)
{
	uint32_t *p = __atomic_load_n(&agent_fork_here, __ATOMIC_RELAXED), zero = 0;

	if (!p || __atomic_load_n(p, __ATOMIC_RELAXED))
		return;
	/* a fork child: the first hook to get here restarts the agent */
	if (__atomic_compare_exchange_n(p, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		agent_main_forked();
}
