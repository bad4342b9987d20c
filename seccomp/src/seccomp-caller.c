// SPDX-License-Identifier: MIT
/*
 * struct bpftime_caller over a pending notification: the trapped thread's
 * memory (process_vm_readv/writev), its fd table (SECCOMP_IOCTL_NOTIF_ADDFD
 * to give it an fd, pidfd_getfd to take one).
 *
 * Memory copies follow the kernel's copy_from_user/copy_to_user contract
 * that bpf-emul expects: all bytes or -EFAULT. process_vm_writev does not
 * write through read-only mappings (no FOLL_FORCE, unlike /proc/PID/mem),
 * so a write to a read-only page fails with EFAULT as the kernel's own
 * copy_to_user would.
 *
 * A read is followed by NOTIF_ID_VALID (seccomp_unotify(2), "Caveats"):
 * if the thread died during the copy its TID may have been recycled and the
 * bytes belong to someone else. Fds do not need it: ADDFD is bound to the
 * notification, and pidfd_getfd to a pidfd, which never names another
 * process.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "seccomp-internal.h"

bool sec_id_valid(int listener, uint64_t id)
{
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int copy_failed(struct sec_caller *c, uint64_t addr, int err)
{
	/* EPERM: the caller is not dumpable (PR_SET_DUMPABLE 0), so ptrace
	 * access checks refuse us; say it once per server */
	if (err == EPERM && !c->s->warned_eperm) {
		c->s->warned_eperm = true;
		sec_log(BPFTIME_SECCOMP_WARN,
			"pid %d: cannot access its memory: %s (a process that made itself "
			"non-dumpable cannot be served; its calls fail with EFAULT)",
			(int)c->task->tgid, strerror(err));
	} else if (err != EFAULT) {
		sec_log(BPFTIME_SECCOMP_DEBUG, "tid %d: memory at 0x%llx: %s", (int)c->tid,
			(unsigned long long)addr, strerror(err));
	}
	return -EFAULT;
}

/* Copy @len bytes between our @local and the caller's @addr, looping over
 * short transfers: the kernel stops at the first page it cannot access and
 * caps one call at MAX_RW_COUNT, so a retry tells the two apart. */
static int vm_copy(struct sec_caller *c, void *local, uint64_t addr, size_t len, bool write)
{
	ssize_t n;

	/* the caller's range must not wrap around its address space */
	if (addr + len < addr)
		return -EFAULT;
	while (len) {
		struct iovec l = {.iov_base = local, .iov_len = len};
		struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};

		n = write ? process_vm_writev(c->tid, &l, 1, &r, 1, 0)
			  : process_vm_readv(c->tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return copy_failed(c, addr, n < 0 ? errno : EFAULT);
		local = (char *)local + n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int caller_read(void *ctx, void *dst, uint64_t addr, size_t len)
{
	struct sec_caller *c = ctx;
	int err;

	err = vm_copy(c, dst, addr, len, false);
	if (err)
		return err;
	if (!sec_id_valid(c->s->listener, c->id)) {
		sec_log(BPFTIME_SECCOMP_DEBUG, "tid %d: gone during a read", (int)c->tid);
		return -EFAULT;
	}
	return 0;
}

static int caller_write(void *ctx, uint64_t addr, const void *src, size_t len)
{
	return vm_copy(ctx, (void *)src, addr, len, true);
}

static int caller_install_fd(void *ctx, int fd, int flags)
{
	struct sec_caller *c = ctx;
	struct seccomp_notif_addfd a = {
	    .id = c->id,
	    .srcfd = (uint32_t)fd,
	    .newfd_flags = (uint32_t)flags,
	};
	int ret;

	if (fd < 0 || (flags & ~O_CLOEXEC))
		return -EINVAL;
	/* The ioctl waits until the caller has installed the fd. A signal to
	 * us withdraws the request before it is done (seccomp_notify_addfd()
	 * dequeues it), so retrying cannot install it twice. */
	do
		ret = ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int caller_get_fd(void *ctx, int caller_fd)
{
	struct sec_caller *c = ctx;
	long fd;

	if (caller_fd < 0)
		return -EBADF;
	/* the new fd has O_CLOEXEC; EBADF when the caller has no such fd */
	fd = syscall(SYS_pidfd_getfd, c->task->pidfd, caller_fd, 0);
	return fd < 0 ? -errno : (int)fd;
}

const struct bpftime_caller_ops sec_caller_ops = {
    .read = caller_read,
    .write = caller_write,
    .install_fd = caller_install_fd,
    .get_fd = caller_get_fd,
};

bool bpftime_seccomp_caller_valid(const struct bpftime_caller *caller)
{
	const struct sec_caller *c;

	if (!caller)
		return false;
	/* callers made elsewhere (tests' in-process callers) have nothing
	 * that can go stale */
	if (caller->ops != &sec_caller_ops)
		return true;
	c = caller->ctx;
	return sec_id_valid(c->s->listener, c->id);
}
