#!/bin/sh
# SPDX-License-Identifier: MIT
# bpftrace's feature probing ends in the kernel's decisions: `bpftrace
# --info` probes helpers, map types and probe types by loading small
# programs and opening events; from "Kernel helpers" on, its report under
# bpftime-run must equal the kernel's, recorded on this machine's kernel
# in compat/bpftrace-info.out (the kernel mode, as root, checks that the
# record still holds).
#
#   bpftrace_info_test.sh kernel|bpftime BPFTIME_DIR
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
want=$(dirname "$0")/compat/bpftrace-info.out
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp bt-info

case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's answers need root"
	bpftrace --info >"$tmp/out" 2>&1
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	"$dir/bpftime-run" --fake-root -- bpftrace --info >"$tmp/out" 2>&1
	;;
*)
	echo "usage: bpftrace_info_test.sh kernel|bpftime BPFTIME_DIR" >&2
	exit 2
	;;
esac
sed -n '/^Kernel helpers/,$p' "$tmp/out" >"$tmp/got"
if ! cmp -s "$want" "$tmp/got"; then
	diff "$want" "$tmp/got" | sed 's/^/  diff: /'
	echo "FAIL: $mode: bpftrace --info decides otherwise than on the kernel"
	exit 1
fi
echo "ok: $mode: bpftrace --info: $(grep -c ': yes' "$tmp/got") features found, as on the kernel"
