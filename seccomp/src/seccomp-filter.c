// SPDX-License-Identifier: MIT
/*
 * The filter: SECCOMP_RET_USER_NOTIF for the trapped syscalls, ALLOW for the
 * rest, compiled by libseccomp.
 *
 * It is compiled in the parent and only loaded, with the raw seccomp(2)
 * call, in the child: after fork() in a process that may have threads (the
 * emulator's buffer waiters) the child may only make async-signal-safe
 * calls, and libseccomp allocates. libseccomp 2.5 can export a filter only
 * to an fd (seccomp_export_bpf_mem came in 2.6), so it goes through a memfd.
 *
 * Other ABIs (i386 via int 0x80, x32) are allowed rather than killed: only
 * x86-64 calls are emulated, a 32-bit helper a tool runs still works, and
 * its bpf() reaches the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <seccomp.h>
#include "seccomp-internal.h"

static int add_rules(scmp_filter_ctx ctx, const int *syscalls)
{
	/* fd != -1 as the 64-bit register holds it: glibc, musl and Go all
	 * sign-extend the int; a caller that zero-extends it is trapped and
	 * let through, which costs a round trip and nothing else */
	const struct scmp_arg_cmp fd_arg = {
	    .arg = 4, .op = SCMP_CMP_NE, .datum_a = UINT64_MAX, .datum_b = 0};
	int err;

	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (err)
		return sec_err(err, "cannot set the filter's action for other ABIs: %s",
			       strerror(-err));
	for (; syscalls && *syscalls >= 0; syscalls++) {
		/* mmap is trapped only for an fd: anonymous mappings are never
		 * an object's and are far too frequent to pay a round trip each */
		if (*syscalls == SCMP_SYS(mmap))
			err = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, *syscalls, 1, &fd_arg);
		/* stat calls only by path: fstat() is newfstatat(fd, "",
		 * AT_EMPTY_PATH), as frequent as anonymous mmaps */
		else if (*syscalls == SCMP_SYS(newfstatat))
			err = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, *syscalls, 1,
					       SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
		else if (*syscalls == SCMP_SYS(statx))
			err = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, *syscalls, 1,
					       SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
		else
			err = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, *syscalls, 0);
		if (err)
			return sec_err(err, "cannot trap syscall %d: %s%s", *syscalls,
				       strerror(-err),
				       err == -EOPNOTSUPP ? " (the kernel has no seccomp user "
							    "notification: Linux 5.0 or later)"
							  : "");
	}
	return 0;
}

/* The program libseccomp wrote to @fd, as a sock_fprog. */
static int read_back(int fd, struct sock_fprog *prog)
{
	struct stat st;
	size_t n;
	void *buf;

	if (fstat(fd, &st))
		return -errno;
	n = (size_t)st.st_size / sizeof(struct sock_filter);
	/* a classic BPF program has at most BPF_MAXINSNS (4096) instructions */
	if (n == 0 || n > BPF_MAXINSNS || n * sizeof(struct sock_filter) != (size_t)st.st_size)
		return sec_err(-E2BIG, "libseccomp produced a filter of %lld bytes",
			       (long long)st.st_size);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return -EIO;
	}
	prog->len = (unsigned short)n;
	prog->filter = buf;
	return 0;
}

int sec_filter_build(const int *syscalls, struct sock_fprog *prog)
{
	scmp_filter_ctx ctx;
	int fd, err;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return sec_err(-ENOMEM, "cannot create a libseccomp filter");
	err = add_rules(ctx, syscalls);
	if (err)
		goto out;
	fd = memfd_create("bpftime-seccomp-filter", MFD_CLOEXEC);
	if (fd < 0) {
		err = sec_err(-errno, "memfd_create: %s", strerror(errno));
		goto out;
	}
	err = seccomp_export_bpf(ctx, fd);
	if (err)
		sec_log(BPFTIME_SECCOMP_WARN, "cannot compile the filter: %s", strerror(-err));
	else
		err = read_back(fd, prog);
	close(fd);
out:
	seccomp_release(ctx);
	return err;
}
