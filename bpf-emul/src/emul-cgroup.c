// SPDX-License-Identifier: MIT
/*
 * bpf_get_current_cgroup_id() for programs the supervisor runs
 * (PROG_TEST_RUN, timer ticks): cgroup_id(task_dfl_cgroup(current)), the
 * inode of the task's cgroup directory in the default (v2) hierarchy. The
 * task is the caller (PROG_TEST_RUN runs in the calling task on the
 * kernel); a tick runs as the idle task, whose cgroup is the root (id 1).
 * Agents answer the same for their process (agent/src/agent-cgroup.c).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "emul-internal.h"

#define ROOT_CGROUP_ID 1

static uint64_t ino_of(const char *root, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	if (snprintf(full, sizeof(full), "%s%s", root, path) >= (int)sizeof(full) ||
	    stat(full, &st))
		return 0;
	return st.st_ino;
}

uint64_t emul_cgroup_id(pid_t pid)
{
	char path[64], line[PATH_MAX + 8];
	uint64_t id = 0;
	FILE *f;

	if (pid <= 0)
		return ROOT_CGROUP_ID;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return ROOT_CGROUP_ID;
	while (!id && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		/* a hybrid system's v2 hierarchy first (agent-cgroup.c) */
		id = ino_of("/sys/fs/cgroup/unified", line + 3);
		if (!id)
			id = ino_of("/sys/fs/cgroup", line + 3);
	}
	fclose(f);
	return id ? id : ROOT_CGROUP_ID;
}
