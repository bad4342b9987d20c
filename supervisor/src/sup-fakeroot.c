// SPDX-License-Identifier: MIT
/*
 * --fake-root: TOOL's uid, gid and capability queries answered as root's
 * would be (0, and every capability the kernel knows), so that tools that
 * check for root before they call bpf() run as an ordinary user: bpftrace
 * refuses to start unless geteuid() == 0.
 *
 * Root may also raise RLIMIT_MEMLOCK, which tools do before loading
 * (bpftrace prints an ERROR line when it cannot): a raise the kernel
 * refuses is answered as done. Nothing of ours is limited by it, since
 * bpftime's maps are not locked memory; everything the kernel allows
 * (lowering, a soft limit up to the hard one) is done for real.
 *
 * Off by default because it is a lie that TOOL's children share: `id`
 * prints 0, and a program that takes geteuid() == 0 as permission to chown
 * or to write under /etc will try and fail with EPERM, since the kernel
 * still checks the real credentials. Only the queries are answered; nothing
 * is granted.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "sup-internal.h"

const int sup_fakeroot_syscalls[] = {
    SYS_getuid,    SYS_geteuid, SYS_getgid,    SYS_getegid,   SYS_getresuid,
    SYS_getresgid, SYS_capget,  SYS_prlimit64, SYS_setrlimit, -1,
};

unsigned int sup_cap_last(void)
{
	unsigned int last = 40; /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

	if (f) {
		if (fscanf(f, "%u", &last) != 1 || last > 63)
			last = 40;
		fclose(f);
	}
	return last;
}

/* getresuid(ruid, euid, suid): as the kernel, stop at the first fault. */
static long put_three_zeros(struct bpftime_caller *c, const uint64_t a[6])
{
	const __u32 zero = 0; /* uid_t and gid_t are 32 bits */

	for (int i = 0; i < 3; i++) {
		if (c->ops->write(c->ctx, a[i], &zero, sizeof(zero)))
			return -EFAULT;
	}
	return 0;
}

/* Bits 0..@last set, in the 32-bit word @word (0 or 1). */
static __u32 cap_word(unsigned int last, int word)
{
	unsigned int lo = word * 32;

	if (last < lo)
		return 0;
	if (last - lo >= 31)
		return 0xffffffffU;
	return (1U << (last - lo + 1)) - 1;
}

/* As the kernel's capget() (kernel/capability.c): cap_validate_magic()
 * first, a NULL data pointer is a version probe. */
static long capget(const struct sup_ctx *ctx, struct bpftime_caller *c, const uint64_t a[6])
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	unsigned int tocopy;

	if (c->ops->read(c->ctx, &hdr, a[0], sizeof(hdr)))
		return -EFAULT;
	switch (hdr.version) {
	case _LINUX_CAPABILITY_VERSION_1:
		tocopy = 1;
		break;
	case _LINUX_CAPABILITY_VERSION_2:
	case _LINUX_CAPABILITY_VERSION_3:
		tocopy = 2;
		break;
	default:
		hdr.version = _LINUX_CAPABILITY_VERSION_3;
		if (c->ops->write(c->ctx, a[0], &hdr.version, sizeof(hdr.version)))
			return -EFAULT;
		return a[1] ? -EINVAL : 0;
	}
	if (!a[1])
		return 0;
	if (hdr.pid < 0)
		return -EINVAL;
	/* another process's capabilities: the kernel knows them */
	if (hdr.pid && hdr.pid != c->tid && hdr.pid != c->pid)
		return BPFTIME_EMUL_CONTINUE;
	for (unsigned int i = 0; i < 2; i++) {
		data[i].effective = cap_word(ctx->cap_last, i);
		data[i].permitted = data[i].effective;
		data[i].inheritable = 0; /* root's inheritable set is empty */
	}
	if (c->ops->write(c->ctx, a[1], data, tocopy * sizeof(data[0])))
		return -EFAULT;
	return 0;
}

/* prlimit64(@pid, RLIMIT_MEMLOCK, @unew, @uold) as root would answer it:
 * the kernel's own answer when it allows the change, success when only
 * root's CAP_SYS_RESOURCE was missing. */
static long memlock(struct bpftime_caller *c, pid_t pid, uint64_t unew, uint64_t uold)
{
	struct rlimit want, old;

	if (c->ops->read(c->ctx, &want, unew, sizeof(want)))
		return -EFAULT;
	/* rlimits belong to the thread group; we may set them, as its uid */
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &old))
		return -errno;
	if (prlimit(pid, RLIMIT_MEMLOCK, &want, NULL) && errno != EPERM)
		return -errno; /* EINVAL (cur > max) as the kernel says it */
	if (uold && c->ops->write(c->ctx, uold, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

static long rlimit(struct bpftime_caller *c, long nr, const uint64_t a[6])
{
	bool prl = nr == SYS_prlimit64;
	pid_t pid = prl ? (pid_t)a[0] : 0;
	unsigned int resource = (unsigned int)(prl ? a[1] : a[0]);
	uint64_t unew = prl ? a[2] : a[1];
	uint64_t uold = prl ? a[3] : 0;

	/* reads, other limits and other processes: the kernel's business */
	if (resource != RLIMIT_MEMLOCK || !unew || (pid && pid != c->pid))
		return BPFTIME_EMUL_CONTINUE;
	return memlock(c, c->pid, unew, uold);
}

long sup_fakeroot(const struct sup_ctx *ctx, struct bpftime_caller *c, long nr, const uint64_t a[6])
{
	switch (nr) {
	case SYS_getuid:
	case SYS_geteuid:
	case SYS_getgid:
	case SYS_getegid:
		return 0;
	case SYS_getresuid:
	case SYS_getresgid:
		return put_three_zeros(c, a);
	case SYS_capget:
		return capget(ctx, c, a);
	case SYS_prlimit64:
	case SYS_setrlimit:
		return rlimit(c, nr, a);
	}
	return BPFTIME_EMUL_CONTINUE;
}
