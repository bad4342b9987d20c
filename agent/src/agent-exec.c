// SPDX-License-Identifier: MIT
/*
 * The exit of the execve that started this process image. On the kernel,
 * a successful execve() returns in the new image: its sys_exit_execve
 * (and raw_syscalls sys_exit) tracepoint fires there, with ret 0, the new
 * comm and the same pid, before the new program runs. Here the syscall
 * stub that made the call is gone with the old image, so the agent the
 * dynamic loader brings into the new one (LD_PRELOAD) runs those links
 * once, from its constructor's first pass, after they are linked: this
 * is what execsnoop's exit program, which prints the line, needs.
 *
 * execve or execveat: the kernel names the file of an execveat with a
 * directory fd or AT_EMPTY_PATH "/dev/fd/N[/path]" (bprm->filename, which
 * AT_EXECFN points to), so that prefix means execveat(2); an
 * execveat(AT_FDCWD, path) is reported as execve.
 *
 * The registers the programs see are this thread's at the constructor,
 * with ax 0 (the result) and ip 0: the kernel's would be the new
 * program's entry, which nothing we know reads.
 */
#include <stdbool.h>
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sc.h"

#define NR_EXECVE   59
#define NR_EXECVEAT 322
#define AT_EXECFN_  31
#define DEV_FD      "/dev/fd/"
#define FRAME_TO_SP 152 /* agent-sc.c: the entry's frame to the site's %rsp */

/* agent-sc.c: the C half of the stubs' exit entry */
void agent_sc_exit_c(struct bpftime_regs *regs);

static uint64_t exec_nr(void)
{
	uint64_t fn = agent_auxv(AT_EXECFN_);
	char buf[sizeof(DEV_FD) - 1];
	struct agent_iovec l = {buf, sizeof(buf)}, r = {(void *)(uintptr_t)fn, sizeof(buf)};

	/* our own memory, but read as any address a kernel hands over */
	if (fn && agent_process_vm_readv(agent_getpid(), &l, 1, &r, 1) == (long)sizeof(buf) &&
	    !memcmp(buf, DEV_FD, sizeof(buf)))
		return NR_EXECVEAT;
	return NR_EXECVE;
}

void agent_exec_returned(void)
{
	/* the stub's frame: the registers, then its return address (none) */
	struct {
		struct bpftime_regs regs;
		uint64_t ret;
	} f;
	uint64_t nr = exec_nr();

	if (!agent_sc_nr_links() || !agent_sc_want_exit[nr])
		return;
	memset(&f, 0, sizeof(f));
	f.regs.orig_ax = nr;
	f.regs.ax = 0;
	f.regs.cs = 0x33;
	f.regs.ss = 0x2b;
	/* where we are, as the stub's entry would give it (site_regs adds
	 * the stub's frame back) */
	f.regs.sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) - FRAME_TO_SP;
	agent_sc_exit_c(&f.regs);
}
