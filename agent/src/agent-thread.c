// SPDX-License-Identifier: MIT
/*
 * The agent's own thread, made with a raw clone(2): the target's libc may
 * be glibc, musl or none, and must not learn about it (no pthread_create,
 * no TLS block, no entry in libc's thread list).
 *
 * What this costs the thread, and why it is safe:
 *   - no CLONE_SETTLS: it inherits the creator's %fs base, which it never
 *     reads (the agent is built without the stack protector and touches no
 *     TLS);
 *   - every signal is blocked in it from its first instruction (blocked in
 *     the creator around the clone, so the child inherits the full mask):
 *     a process-directed signal is never delivered to it, so the target's
 *     handlers, which would use %fs as their own thread's, never run on it;
 *   - CLONE_CHILD_CLEARTID: the kernel clears *tid and wakes futex waiters
 *     when the thread exits, which is how agent_thread_join() waits for it
 *     (the detach path must not unmap code the thread still runs);
 *   - it ends with exit(2), not exit_group(2).
 * fork() copies only the forking thread: a child has no agent thread.
 */
#include <linux/sched.h>
#include <linux/signal.h>
#include "agent-internal.h"
#include "agent-sys.h"
#include "agent-thread.h"

/* No CLONE_FS: the thread has its own root and cwd (copied now), so a
 * target that chroots or chdirs does not move the paths it opens, and a
 * target's setns() into a mount namespace, which the kernel refuses while
 * another task shares the fs_struct (EINVAL), still works. */
#define THREAD_FLAGS                                                                               \
	(CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |                   \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/*
 * long agent_clone_raw(flags, stack_top, ptid, ctid, tls) with fn and arg
 * pushed on the new stack: the child pops them, calls fn(arg) and exits.
 * The child must not return through C code: it has no caller frame.
 */
long agent_clone_raw(long flags, void *stack, int *ptid, int *ctid, long tls);
__asm__(".text\n"
	".type agent_clone_raw, @function\n"
	"agent_clone_raw:\n"
	"\tmov %rcx, %r10\n" /* 4th argument: the kernel takes it in r10 */
	"\tmov $" __stringify_agent(
	    __NR_clone) ", %eax\n"
			"\tsyscall\n"
			"\ttest %rax, %rax\n"
			"\tjnz 1f\n"
			/* child: %rsp is the new stack, fn and arg on top */
			"\txor %ebp, %ebp\n"
			"\tpop %rax\n" /* fn */
			"\tpop %rdi\n" /* arg */
			"\tand $-16, %rsp\n"
			"\tcall *%rax\n"
			"\tmov %eax, %edi\n"
			"\tmov $" __stringify_agent(
			    __NR_exit) ", %eax\n"
				       "\tsyscall\n"
				       "\tud2\n"
				       "1:\tret\n"
				       ".size agent_clone_raw, .-agent_clone_raw\n");

int agent_thread_start(struct agent_thread *t, int (*fn)(void *), void *arg, size_t stack_size)
{
	uint64_t all = ~0ull, old = 0;
	uint64_t *top;
	long tid;

	t->stack_size = stack_size;
	t->stack = agent_sys_mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (!t->stack)
		return -ENOMEM;
	/* fn and arg, popped by the child; the top stays 16-byte aligned */
	top = (uint64_t *)((char *)t->stack + stack_size) - 2;
	top[0] = (uint64_t)(uintptr_t)fn;
	top[1] = (uint64_t)(uintptr_t)arg;
	t->tid = 0;
	agent_sys6(__NR_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, 8, 0, 0);
	tid = agent_clone_raw(THREAD_FLAGS, top, &t->tid, &t->tid, 0);
	agent_sys6(__NR_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
	if (tid < 0) {
		agent_sys_munmap(t->stack, stack_size);
		t->stack = NULL;
		return (int)tid;
	}
	return 0;
}

void agent_thread_join(struct agent_thread *t)
{
	int tid;

	if (!t->stack)
		return;
	/* CLONE_CHILD_CLEARTID: zero once the thread is gone, with a wake */
	while ((tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE)) != 0)
		agent_sys_futex_wait((uint32_t *)&t->tid, (uint32_t)tid, 100000000u, 0);
	agent_sys_munmap(t->stack, t->stack_size);
	t->stack = NULL;
}
