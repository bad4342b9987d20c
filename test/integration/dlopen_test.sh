#!/bin/sh
# SPDX-License-Identifier: MIT
# A uprobe on a library that is unloaded and loaded again (dlclose,
# dlopen): the kernel's uprobe belongs to the file, so it fires in every
# new mapping; the agent must hook each new mapping too.
#
#   dlopen_test.sh MODE BPFTIME_DIR TARGET LIB
#
# TARGET (dlopen_target.c) loads LIB, calls dl_fn 50 times and unloads it,
# three rounds; bpftrace counts dl_fn's calls: 150 wanted.
# MODE bpftime: bpftrace under bpftime-run, the target under `bpftime
# start`; MODE kernel: both plain (root).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
lib=$4
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp dlopen
fail() {
	echo "FAIL: $*"
	show 20 target.out bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/dlopen_target"
cp "$lib" "$tmp/libdl_probed.so"
target=$tmp/dlopen_target
lib=$tmp/libdl_probed.so
script="uprobe:$lib:dl_fn { @calls = count(); }"
bt_mode "$mode" dl "dlopen_test.sh kernel|bpftime DIR TARGET LIB"
run_target "$lib" >"$tmp/target.out" 2>&1 &
tpid=$!
pids="$pids $tpid"
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
start_bt Attaching attach
[ "$mode" = kernel ] && sleep 1 # "Attaching" comes before the kernel has the probe
for round in 1 2 3; do
	kill -USR1 "$tpid"
	wait_file "$tmp/target.out" "^loaded $round" 10 || fail "round $round: the target did not load"
	[ "$mode" = bpftime ] && wait_hooked "$tpid" "$round"
	kill -USR1 "$tpid"
	wait_file "$tmp/target.out" "^called $round" 10 || fail "round $round: the target did not call"
done
sleep 0.3
interrupt "$bpid" bpftrace
wait "$bpid"
grep -q "^@calls: 150$" "$tmp/bt.out" || fail "$mode: want @calls: 150 (3 rounds of 50)"
grep '^loaded' "$tmp/target.out" | sed 's/^/  /'
echo "ok: $mode: a uprobe on a library fires in each of its three mappings (dlopen, dlclose)"
