// SPDX-License-Identifier: MIT
/*
 * Can this process use seccomp user notification, and if not, what should
 * the user do? Asked before anything is created, so that the answer is one
 * clear line instead of a failure deep inside spawn.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include "sup-internal.h"

/* seccomp(SECCOMP_GET_ACTION_AVAIL) and SECCOMP_RET_USER_NOTIF are Linux
 * 4.14 and 5.0; the 6.1 headers have both, but say so if they do not. */
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

int sup_seccomp_probe(void)
{
	__u32 action = SECCOMP_RET_USER_NOTIF;
	int err;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
		return 0;
	err = -errno;
	switch (err) {
	case -EOPNOTSUPP:
		sup_log(SUP_LOG_ERROR, "this kernel has seccomp but not user notification "
				       "(SECCOMP_RET_USER_NOTIF, Linux 5.0 or later): bpftime run "
				       "needs it to answer bpf(); upgrade the kernel");
		break;
	case -EINVAL:
		sup_log(SUP_LOG_ERROR,
			"seccomp filters are not available in this kernel: "
			"bpftime run needs CONFIG_SECCOMP_FILTER and Linux 5.0 or later");
		break;
	default:
		sup_log(SUP_LOG_ERROR,
			"the seccomp() system call is refused here (%s): a container's seccomp "
			"profile may block it; run with seccomp allowed (docker/podman: "
			"--security-opt seccomp=unconfined)",
			strerror(-err));
	}
	return err;
}

void sup_spawn_explain(int err, const char *tool)
{
	switch (err) {
	case -ENOENT:
		sup_log(SUP_LOG_ERROR, "%s: command not found", tool);
		break;
	case -EACCES:
	case -ENOEXEC:
	case -EISDIR:
		sup_log(SUP_LOG_ERROR, "%s: cannot run it: %s", tool, strerror(-err));
		break;
	case -EBUSY:
		/* has_duplicate_listener(): one listener per filter chain */
		sup_log(SUP_LOG_ERROR,
			"cannot install the seccomp listener: this process already runs under "
			"one (bpftime run inside bpftime run, or a container runtime that uses "
			"seccomp notification); run bpftime outside it");
		break;
	default:
		sup_log(SUP_LOG_ERROR, "cannot start %s under the seccomp filter: %s", tool,
			strerror(-err));
	}
}
