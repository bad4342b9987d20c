#!/bin/sh
# SPDX-License-Identifier: MIT
# bpf_get_current_cgroup_id() in a target (bpftrace's `cgroup` in a BEGIN
# probe, which runs in bpftrace itself: bpftime-run --agent) is the id of
# the process's cgroup v2 directory, as the kernel gives it.
#
#   cgroup_test.sh BPFTIME_DIR
#
# As root the test first moves itself into a new cgroup of the v2
# hierarchy (a non-root id, which the root cgroup's 1 would not test), and
# compares with the kernel's answer there too; otherwise it checks the
# process's own cgroup against the inode of its directory.
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp cgroup
export BPFTIME_SESSION_DIR="$tmp/sessions"
prog='BEGIN { printf("cgroup %llu\n", cgroup); exit(); }'

v2=/sys/fs/cgroup
[ -d /sys/fs/cgroup/unified ] && v2=/sys/fs/cgroup/unified
cg=
if [ "$(id -u)" -eq 0 ] && [ -w "$v2" ]; then
	cg=$v2/bpftime-test-$$
	mkdir "$cg" && echo $$ >"$cg/cgroup.procs" || cg=
fi
# leave the cgroup before removing it (a cgroup with members stays)
undo() {
	if [ -n "$cg" ]; then
		echo $$ >"$v2/cgroup.procs" 2>/dev/null
		rmdir "$cg" 2>/dev/null
	fi
	cleanup
}
trap undo EXIT

path=$(sed -n 's/^0:://p' /proc/self/cgroup)
want=$(stat -c %i "$v2$path" 2>/dev/null) || want=1
"$dir/bpftime-run" --fake-root --agent -- bpftrace -e "$prog" >"$tmp/out" 2>&1
got=$(awk '/^cgroup/ {print $2}' "$tmp/out")
if [ "$got" != "$want" ]; then
	show 20 out
	echo "FAIL: bpftime: cgroup $got, the directory $v2$path has inode $want"
	exit 1
fi
if [ -n "$cg" ]; then
	bpftrace -e "$prog" >"$tmp/kout" 2>&1
	kgot=$(awk '/^cgroup/ {print $2}' "$tmp/kout")
	[ "$kgot" = "$got" ] || {
		show 20 kout
		echo "FAIL: the kernel says cgroup $kgot, bpftime $got"
		exit 1
	}
fi
echo "ok: cgroup $got (${cg:-own cgroup})${cg:+, as the kernel says}"
