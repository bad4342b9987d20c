/* SPDX-License-Identifier: MIT */
/*
 * The tracefs directories emul-files.c serves, as real directories of the
 * session (emul-tracefs-dir.c).
 */
#ifndef BPFTIME_EMUL_TRACEFS_DIR_H
#define BPFTIME_EMUL_TRACEFS_DIR_H

#include <stddef.h>

/* Names of a directory's entries, grown by emul_names_add. */
struct emul_names {
	char **v;
	size_t n;
	int err; /* -ENOMEM once an allocation failed */
};

void emul_names_add(struct emul_names *l, const char *name);
void emul_names_free(struct emul_names *l);

/* An fd of ours for SESSION_DIR/tracefs/REST, a directory holding exactly
 * one empty subdirectory per name of @l, opened with the caller's @flags;
 * -errno. */
int emul_tracefs_dir_open(const char *session_dir, const char *rest, const struct emul_names *l,
			  int flags);

/* Removes SESSION_DIR/tracefs and all under it (the session ends). */
void emul_tracefs_dir_remove(const char *session_dir);

#endif
