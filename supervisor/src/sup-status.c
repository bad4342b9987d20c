// SPDX-License-Identifier: MIT
/*
 * `bpftime status [--session NAME] [--clean]`: every session under the
 * per-user directory, one block each. A live session (its supervisor holds
 * the directory's lock) is asked over its control socket, since only the
 * supervisor knows its objects; a stale one (the supervisor was killed) is
 * reported, and removed with --clean. Removing happens with the lock held,
 * so it cannot race with a supervisor that starts in the same directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sup-internal.h"

/* 1 when the session was listed, 0 when it is not there, -errno. */
static int status_one(const char *base, const char *name, bool clean)
{
	struct sup_session s;
	int err = sup_session_init(&s, base, name);

	if (err)
		return 0; /* not a name of ours: not a session */
	err = sup_session_try_lock(&s);
	if (err == -ENOENT || err == -ENOTDIR)
		return 0;
	if (err == -EBUSY) {
		err = sup_control_ask(&s, stdout);
		if (err)
			printf("session %s  running, but its supervisor does not answer: %s\n",
			       name, strerror(-err));
		return 1;
	}
	if (err)
		return err;
	if (clean) {
		err = sup_session_remove(&s);
		if (err)
			printf("session %s  stale: cannot remove %s: %s\n", name, s.dir,
			       strerror(-err));
		else
			printf("session %s  stale: removed\n", name);
	} else {
		printf("session %s  stale: no supervisor (killed?); `bpftime status --clean` "
		       "removes %s\n",
		       name, s.dir);
	}
	sup_session_release(&s);
	return 1;
}

static int is_dir_entry(const struct dirent *de)
{
	return de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
}

static int status_all(const char *base, bool clean)
{
	struct dirent **list;
	int n = scandir(base, &list, is_dir_entry, alphasort);
	int listed = 0;

	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		if (status_one(base, list[i]->d_name, clean) > 0)
			listed++;
		free(list[i]);
	}
	if (n)
		free(list);
	if (!listed)
		printf("no sessions in %s\n", base);
	return 0;
}

int sup_cmd_status(const struct sup_opts *o)
{
	char base[PATH_MAX];
	int err = sup_base_dir(o->base_dir, base, sizeof(base));

	if (err) {
		sup_log(SUP_LOG_ERROR, "session directory path too long");
		return 1;
	}
	if (!o->session)
		err = status_all(base, o->clean);
	else if ((err = status_one(base, o->session, o->clean)) == 0) {
		sup_log(SUP_LOG_ERROR, "no session '%s' in %s", o->session, base);
		return 1;
	}
	if (err < 0) {
		sup_log(SUP_LOG_ERROR, "cannot read %s: %s", base, strerror(-err));
		return 1;
	}
	return 0;
}
