#!/bin/sh
# SPDX-License-Identifier: MIT
# A uprobe hit inside a vfork child names the child, as the kernel's does:
# the child runs on its parent's TCB, where the agent caches the parent's
# ids, so the agent counts the vforks in flight through vfork's own
# syscall site (agent-forkwatch.c) and asks the kernel meanwhile.
#
#   vfork_test.sh MODE BPFTIME_DIR TARGET
#
# TARGET (vfork_target.c) calls work() 10 times, then its vfork child calls
# it 7 times; then it posix_spawn()s /bin/true, whose child calls libc's
# execve on its parent's TCB. bpftrace counts work() and execve per pid
# and tid. MODE bpftime: the target under `bpftime start`, bpftrace under
# bpftime-run; MODE kernel: both plain (root). musl's posix_spawn child
# calls no execve uprobe of the C library's file as glibc's does: the
# execve check is for glibc targets.
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp vfork
fail() {
	echo "FAIL: $*"
	show 20 target.out bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/vfork_target"
target=$tmp/vfork_target
# the C library the target runs: its own file when static
libc=$(ldd "$target" 2>/dev/null | awk '/libc\.so/ {print $3; exit}')
[ -n "$libc" ] || libc=$target
spawn=yes
strings "$target" | grep -q musl && spawn=no
script="uprobe:$target:work { @[pid, tid] = count(); }"
[ "$spawn" = yes ] &&
	script="$script uprobe:$libc:execve /comm == \"vfork_target\"/ { @e[pid, tid] = count(); }"
bt_mode "$mode" vf "vfork_test.sh kernel|bpftime DIR TARGET"
run_target >"$tmp/target.out" 2>&1 &
pids="$pids $!"
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
tpid=$(awk '/^ready/ {print $2; exit}' "$tmp/target.out")
start_bt Attaching attach
if [ "$mode" = kernel ]; then
	sleep 1
else
	[ "$spawn" = yes ] && n=2 || n=1
	wait_hooked "$tpid" "$n"
	grep -q "agent\[$tpid\]: uprobe hits in a vfork child name its parent" \
		"$session_dir/agent.log" && fail "the agent found no vfork site to watch"
fi
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "^done" 10 || fail "the target did not finish"
kid=$(awk '/^child/ {print $2; exit}' "$tmp/target.out")
sleep 0.3
interrupt "$bpid" bpftrace
wait "$bpid"
grep -q "^@\[$tpid, $tpid\]: 10$" "$tmp/bt.out" || fail "$mode: want @[$tpid, $tpid]: 10 (the parent)"
grep -q "^@\[$kid, $kid\]: 7$" "$tmp/bt.out" || fail "$mode: want @[$kid, $kid]: 7 (the vfork child)"
[ "$(grep -c '^@\[' "$tmp/bt.out")" -eq 2 ] || fail "$mode: more than the two keys"
if [ "$spawn" = yes ]; then
	sp=$(awk '/^spawned/ {print $2; exit}' "$tmp/target.out")
	grep -q "^@e\[$sp, $sp\]: 1$" "$tmp/bt.out" ||
		fail "$mode: want @e[$sp, $sp]: 1 (execve in the posix_spawn child)"
	[ "$(grep -c '^@e\[' "$tmp/bt.out")" -eq 1 ] || fail "$mode: execve under other ids"
fi
echo "ok: $mode: 10 hits in the parent ($tpid), 7 in its vfork child ($kid)," \
	"execve in its posix_spawn child (${sp:-musl: not checked}), each under its own ids"
