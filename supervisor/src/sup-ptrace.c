// SPDX-License-Identifier: MIT
/*
 * Running code in a stopped thread of another process, over ptrace:
 * system calls and function calls, then everything put back as it was.
 *
 *   seize    PTRACE_SEIZE + PTRACE_INTERRUPT (attach), or adopt a child
 *            that did PTRACE_TRACEME and is stopped after its exec (start)
 *   prepare  save the registers and the extended FPU state; undo the
 *            kernel's pending syscall-restart bookkeeping into the saved
 *            registers (below); find a `syscall` instruction to borrow
 *   syscall  registers set to the call, RIP at the `syscall`, two
 *            PTRACE_SYSCALL stops (entry, exit), RAX read back
 *   call     RIP at a function, RSP on a stack we mapped, the return
 *            address an int3: the thread stops with SIGTRAP on return
 *   release  registers and FPU state restored, PTRACE_DETACH, signals
 *            that arrived meanwhile sent again
 *
 * Restarting an interrupted syscall. A thread interrupted in nanosleep()
 * stops with RAX = -ERESTART_RESTARTBLOCK (or -ERESTARTSYS & co.) and
 * ORIG_RAX = the syscall. The kernel turns that into a restart only on its
 * way out of signal handling (arch_do_signal_or_restart(): RAX = ORIG_RAX,
 * or __NR_restart_syscall, and RIP -= 2), and only if it goes that way
 * again: after our injected calls the thread leaves from a syscall-exit
 * stop with no signal pending, so the kernel would hand the raw -516 to the
 * program. We therefore do the rewrite ourselves on the saved registers
 * (as CRIU's compel does) and set ORIG_RAX to -1 so that nothing rewrites
 * them twice. restart_syscall() then resumes the sleep where it was: the
 * calls we inject (mmap, openat, close, munmap, prctl) do not touch the
 * thread's restart_block. Our own registers carry ORIG_RAX = -1 for the
 * same reason: no restart logic may apply to an injected call.
 *
 * Signals that arrive while we hold the thread are not delivered into our
 * injected code (a handler that longjmp()s out of the agent would be a
 * disaster): they are recorded, suppressed, and sent again with tgkill
 * after the detach (their siginfo becomes ours; the signal itself is kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "sup-internal.h"

/* arch/x86/include/asm/... and include/linux/errno.h: not in the uapi */
#define ERESTARTSYS           512
#define ERESTARTNOINTR        513
#define ERESTARTNOHAND        514
#define ERESTART_RESTARTBLOCK 516
#define X86_EFLAGS_DF         0x400
#define USER64_CS             0x33
#define SUP_XSTATE_MAX        (32 << 10)
#define SUP_SYSCALL_STOP      (SIGTRAP | 0x80) /* PTRACE_O_TRACESYSGOOD */

/* Waits for the next stop of the tracee; -ESRCH when it died. */
static int wait_stop(struct sup_tracee *t, int *status)
{
	pid_t r;

	do
		r = waitpid(t->pid, status, __WALL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
		t->gone = true;
		sup_log(SUP_LOG_ERROR, "pid %d died while bpftime held it (%s %d)", (int)t->pid,
			WIFEXITED(*status) ? "exit status" : "signal",
			WIFEXITED(*status) ? WEXITSTATUS(*status) : WTERMSIG(*status));
		return -ESRCH;
	}
	return 0;
}

static void record_signal(struct sup_tracee *t, int sig)
{
	for (int i = 0; i < t->npending; i++) {
		if (t->pending[i] == sig)
			return; /* a standard signal is pending once anyway */
	}
	if (t->npending < (int)(sizeof(t->pending) / sizeof(t->pending[0])))
		t->pending[t->npending++] = sig;
}

/* A signal-delivery stop for a signal that is not ours: keep it for later.
 * Group stops and PTRACE_EVENT stops carry no signal to keep. */
static void keep_signal(struct sup_tracee *t, int status)
{
	int sig = WSTOPSIG(status);

	if (status >> 16 || sig == SUP_SYSCALL_STOP)
		return;
	record_signal(t, sig);
}

int sup_tracee_seize(struct sup_tracee *t, pid_t pid)
{
	int status, err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->memfd = -1;
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD))
		return -errno;
	t->attached = true;
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL))
		return -errno;
	/* the first stop: PTRACE_EVENT_STOP, or a signal that was on its way */
	err = wait_stop(t, &status);
	if (err)
		return err;
	keep_signal(t, status);
	return 0;
}

int sup_tracee_adopt(struct sup_tracee *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->memfd = -1;
	t->attached = true;
	/* EXITKILL: if bpftime dies mid-injection, the half-made target dies
	 * with it rather than run on with our registers */
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)))
		return -errno;
	return 0;
}

/* The kernel's restart rewrite, done on the saved registers (see above). */
static void settle_restart(struct user_regs_struct *r)
{
	if ((long long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->rax = SYS_restart_syscall;
		r->rip -= 2;
		break;
	}
	r->orig_rax = (unsigned long long)-1;
}

static int save_fpu(struct sup_tracee *t)
{
	t->xstate = malloc(SUP_XSTATE_MAX);
	if (!t->xstate)
		return -ENOMEM;
	t->xiov.iov_base = t->xstate;
	t->xiov.iov_len = SUP_XSTATE_MAX;
	/* the whole XSAVE area (AVX and later); FXSAVE's 512 bytes without it */
	if (!ptrace(PTRACE_GETREGSET, t->pid, (void *)NT_X86_XSTATE, &t->xiov))
		return 0;
	t->xiov.iov_len = sizeof(struct user_fpregs_struct);
	if (!ptrace(PTRACE_GETFPREGS, t->pid, NULL, t->xstate)) {
		t->fxsave_only = true;
		return 0;
	}
	return -errno;
}

/* A `syscall` (0f 05) in the vDSO, which every x86-64 process maps (its
 * fallback paths make real system calls); nothing is written to the
 * target then. Decoding starts wherever RIP points, so any 0f 05 pair
 * will do, even one inside a longer instruction. */
static int find_vdso_syscall(struct sup_tracee *t)
{
	uint64_t start, end;
	uint8_t *buf;
	int err = sup_proc_find_mapping(t->pid, "[vdso]", &start, &end);

	if (err)
		return err;
	if (end - start > (1 << 20))
		return -E2BIG;
	buf = malloc(end - start);
	if (!buf)
		return -ENOMEM;
	err = sup_tracee_read(t, start, buf, end - start);
	for (uint64_t i = 0; !err && i + 1 < end - start; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			t->sc_addr = start + i;
			free(buf);
			return 0;
		}
	}
	free(buf);
	return err ? err : -ENOENT;
}

/* No vDSO (vdso=0): borrow the two bytes at RIP, restored on release.
 * Another thread executing them meanwhile would make a stray syscall:
 * hence the vDSO first. */
static int patch_syscall_at_rip(struct sup_tracee *t)
{
	static const uint8_t insn[2] = {0x0f, 0x05}; /* syscall */
	int err;

	t->sc_addr = t->saved.rip;
	err = sup_tracee_read(t, t->sc_addr, t->sc_orig, sizeof(t->sc_orig));
	if (!err)
		err = sup_tracee_write(t, t->sc_addr, insn, sizeof(insn));
	if (!err)
		t->sc_patched = true;
	sup_log(SUP_LOG_DEBUG, "pid %d: no vDSO, borrowing the bytes at %#llx", (int)t->pid,
		(unsigned long long)t->sc_addr);
	return err;
}

int sup_tracee_prepare(struct sup_tracee *t)
{
	char path[64];
	int err;

	if (ptrace(PTRACE_GETREGS, t->pid, NULL, &t->saved))
		return -errno;
	if (t->saved.cs != USER64_CS) {
		sup_log(SUP_LOG_ERROR,
			"pid %d is not running 64-bit code: only x86-64 is supported", (int)t->pid);
		return -ENOEXEC;
	}
	err = save_fpu(t);
	if (err)
		return err;
	t->regs_saved = true;
	settle_restart(&t->saved);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	/* /proc/PID/mem writes with FOLL_FORCE, as PTRACE_POKEDATA: read-only
	 * pages (text, RELRO) of the tracee can be written */
	t->memfd = open(path, O_RDWR | O_CLOEXEC);
	if (t->memfd < 0)
		return -errno;
	err = find_vdso_syscall(t);
	if (err)
		err = patch_syscall_at_rip(t);
	return err;
}

int sup_tracee_read(struct sup_tracee *t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(t->memfd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int sup_tracee_write(struct sup_tracee *t, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(t->memfd, buf, len, (off_t)addr);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* Resumes with @req until a stop that @want accepts. */
static int resume_until(struct sup_tracee *t, int req, bool (*want)(struct sup_tracee *, int))
{
	int status, err;

	for (;;) {
		if (ptrace(req, t->pid, NULL, NULL))
			return -errno;
		err = wait_stop(t, &status);
		if (err)
			return err;
		if (want(t, status))
			return 0;
		keep_signal(t, status);
		if (t->fault)
			return -EFAULT;
	}
}

static bool is_syscall_stop(struct sup_tracee *t, int status)
{
	return WSTOPSIG(status) == SUP_SYSCALL_STOP;
}

int sup_tracee_syscall(struct sup_tracee *t, long *ret, long nr, long a, long b, long c, long d,
		       long e, long f)
{
	struct user_regs_struct r = t->saved;
	int err;

	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = (unsigned long long)a;
	r.rsi = (unsigned long long)b;
	r.rdx = (unsigned long long)c;
	r.r10 = (unsigned long long)d;
	r.r8 = (unsigned long long)e;
	r.r9 = (unsigned long long)f;
	r.rip = t->sc_addr;
	if (ptrace(PTRACE_SETREGS, t->pid, NULL, &r))
		return -errno;
	err = resume_until(t, PTRACE_SYSCALL, is_syscall_stop); /* entry */
	if (!err)
		err = resume_until(t, PTRACE_SYSCALL, is_syscall_stop); /* exit */
	if (err)
		return err;
	if (ptrace(PTRACE_GETREGS, t->pid, NULL, &r))
		return -errno;
	*ret = (long)r.rax;
	return 0;
}

/* The call returned into the trap (RIP just past its int3), or the code
 * we called faulted: t->fault says so, and the caller gives up. */
static bool is_call_return(struct sup_tracee *t, int status)
{
	int sig = WSTOPSIG(status);
	struct user_regs_struct r;

	if (status >> 16 || sig == SUP_SYSCALL_STOP)
		return false;
	if (sig != SIGTRAP && sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE)
		return false;
	if (ptrace(PTRACE_GETREGS, t->pid, NULL, &r))
		return false;
	if (sig == SIGTRAP && r.rip == t->trap + 1)
		return true;
	sup_log(SUP_LOG_ERROR, "pid %d: %s at %#llx while running the agent", (int)t->pid,
		strsignal(sig), (unsigned long long)r.rip);
	t->fault = true;
	return true;
}

int sup_tracee_call(struct sup_tracee *t, uint64_t fn, uint64_t arg, uint64_t stack_top, long *ret)
{
	struct user_regs_struct r = t->saved;
	uint64_t sp = (stack_top & ~15ull) - 8; /* as after a call: RSP+8 16-aligned */
	int err;

	err = sup_tracee_write(t, sp, &t->trap, sizeof(t->trap));
	if (err)
		return err;
	r.rip = fn;
	r.rdi = arg;
	r.rax = 0;
	r.rsp = sp;
	r.orig_rax = (unsigned long long)-1;
	r.eflags &= ~(unsigned long long)X86_EFLAGS_DF; /* the ABI's entry state */
	if (ptrace(PTRACE_SETREGS, t->pid, NULL, &r))
		return -errno;
	t->fault = false;
	err = resume_until(t, PTRACE_CONT, is_call_return);
	if (err)
		return err;
	if (t->fault)
		return -EFAULT;
	if (ptrace(PTRACE_GETREGS, t->pid, NULL, &r))
		return -errno;
	*ret = (long)r.rax;
	return 0;
}

static void restore(struct sup_tracee *t)
{
	if (t->sc_patched && sup_tracee_write(t, t->sc_addr, t->sc_orig, sizeof(t->sc_orig)))
		sup_log(SUP_LOG_ERROR, "pid %d: cannot restore the code at %#llx", (int)t->pid,
			(unsigned long long)t->sc_addr);
	if (!t->regs_saved)
		return;
	if (ptrace(PTRACE_SETREGS, t->pid, NULL, &t->saved))
		sup_log(SUP_LOG_ERROR, "pid %d: cannot restore its registers: %s", (int)t->pid,
			strerror(errno));
	if (t->fxsave_only ? ptrace(PTRACE_SETFPREGS, t->pid, NULL, t->xstate)
			   : ptrace(PTRACE_SETREGSET, t->pid, (void *)NT_X86_XSTATE, &t->xiov))
		sup_log(SUP_LOG_ERROR, "pid %d: cannot restore its FPU state: %s", (int)t->pid,
			strerror(errno));
}

void sup_tracee_release(struct sup_tracee *t)
{
	if (t->attached && !t->gone) {
		restore(t);
		if (ptrace(PTRACE_DETACH, t->pid, NULL, NULL))
			sup_log(SUP_LOG_ERROR, "pid %d: cannot detach: %s", (int)t->pid,
				strerror(errno));
		for (int i = 0; i < t->npending; i++)
			syscall(SYS_tgkill, t->pid, t->pid, t->pending[i]);
	}
	t->attached = false;
	sup_close_and_reset(&t->memfd);
	free(t->xstate);
	t->xstate = NULL;
}
