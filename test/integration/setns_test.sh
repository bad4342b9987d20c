#!/bin/sh
# SPDX-License-Identifier: MIT
# A target with the agent can still join a mount namespace: the kernel
# refuses setns(CLONE_NEWNS) while another task shares the caller's
# fs_struct, so the agent's thread must not (agent-thread.c).
#
#   setns_test.sh BPFTIME_DIR
#
# Root only (setns needs CAP_SYS_ADMIN): nsenter --mount into its own mount
# namespace, under `bpftime start`, must succeed as it does plainly.
set -u
dir=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: setns into a mount namespace needs root"; exit 77; }
command -v nsenter >/dev/null 2>&1 || { echo "SKIP: nsenter is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-setns.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export BPFTIME_SESSION_DIR="$tmp/sessions"
nsenter --mount=/proc/self/ns/mnt true || { echo "SKIP: nsenter fails here without bpftime"; exit 77; }
if ! out=$("$dir/bpftime" start -- nsenter --mount=/proc/self/ns/mnt sh -c 'echo joined' 2>&1); then
	echo "FAIL: nsenter under bpftime start: $out"
	exit 1
fi
[ "$out" = joined ] || { echo "FAIL: unexpected output: $out"; exit 1; }
echo "ok: setns(CLONE_NEWNS) works in a process with the agent"
