// SPDX-License-Identifier: MIT
/*
 * bpf_get_current_cgroup_id() in a target: the kernel answers
 * cgroup_id(task_dfl_cgroup(current)), the id of the task's cgroup in the
 * default (v2) hierarchy, which is the inode number of that cgroup's
 * directory in cgroupfs. Here: the "0::PATH" line of /proc/self/cgroup,
 * then the inode of /sys/fs/cgroup/unified/PATH (a hybrid system's v2
 * hierarchy) or of /sys/fs/cgroup/PATH. Where neither resolves the root's id, 1,
 * which is what the kernel gives a task in the root cgroup.
 *
 * Reading that costs a few syscalls, too many for every hit: the id is
 * read at the first call in a process and kept. A process moved to
 * another cgroup afterwards keeps reporting the old id (documented in
 * docs/compatibility.md). A forked child inherits the cache, and with it
 * the cgroup it was born in, which is the kernel's rule at fork.
 */
#include <linux/stat.h>
#include "agent-internal.h"
#include "agent-cgroup.h"

#define ROOT_CGROUP_ID 1

static uint64_t ino_of(const char *prefix, const char *path, size_t len)
{
	char buf[512];
	struct statx stx;
	size_t n = 0;

	while (*prefix && n < sizeof(buf) - 1)
		buf[n++] = *prefix++;
	for (size_t i = 0; i < len && n < sizeof(buf) - 1; i++)
		buf[n++] = path[i];
	buf[n] = 0;
	if (agent_syscall6(__NR_statx, AT_FDCWD, (long)buf, 0, STATX_INO, (long)&stx, 0))
		return 0;
	return stx.stx_ino;
}

/* the PATH of the "0::PATH" line in @text, or NULL */
static const char *v2_path(const char *text, size_t n, size_t *len)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		if ((i == 0 || text[i - 1] == '\n') && text[i] == '0' && text[i + 1] == ':' &&
		    text[i + 2] == ':') {
			size_t s = i + 3, e = s;

			while (e < n && text[e] != '\n')
				e++;
			*len = e - s;
			return text + s;
		}
	}
	return NULL;
}

static uint64_t read_id(void)
{
	char text[4096];
	const char *path;
	size_t len = 0;
	long n = 0;
	uint64_t id;
	int fd = agent_openat("/proc/self/cgroup", O_RDONLY | O_CLOEXEC, 0);

	if (fd >= 0) {
		n = agent_read(fd, text, sizeof(text));
		agent_close(fd);
	}
	path = n > 0 ? v2_path(text, (size_t)n, &len) : NULL;
	if (!path)
		return ROOT_CGROUP_ID;
	/* a hybrid system's v2 hierarchy first: there /sys/fs/cgroup is a
	 * tmpfs of v1 hierarchies */
	id = ino_of("/sys/fs/cgroup/unified", path, len);
	if (!id)
		id = ino_of("/sys/fs/cgroup", path, len);
	return id ? id : ROOT_CGROUP_ID;
}

uint64_t agent_cgroup_id(void)
{
	static uint64_t cached;
	uint64_t id = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (!id) {
		/* two threads may both read it: the same answer */
		id = read_id();
		__atomic_store_n(&cached, id, __ATOMIC_RELAXED);
	}
	return id;
}
