#!/bin/sh
# SPDX-License-Identifier: MIT
# Syscalls with fewer than 5 bytes before them (punned jmps,
# rewrite/src/rw-syscall-pun.c), with Debian's bpftrace under bpftime:
#
#   syscall_pun_test.sh BPFTIME_DIR TARGET
#
# TARGET is syscall_pun_target.c: a reader thread is asleep in pun_read()
# (glibc's __read_nocancel shape) when the agent writes the jmp; it is then
# restarted on the syscall by a SA_RESTART signal, which must run the
# original bytes. bpftrace counts sys_enter_getppid and sys_enter_read of
# the target: every pun_getppid() call goes through its punned stub (the
# count equals the calls), and the reader's second pun_read() too (1; its
# first read entered the kernel before the jmp existed, and a restart does
# not enter the stub again: see docs/architecture.md).
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
target=$2
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp pun
export BPFTIME_SESSION_DIR="$tmp/sessions"
session_dir=$BPFTIME_SESSION_DIR/pun
fail() {
	echo "FAIL: $*"
	show 20 target.out bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/pun_target"
target=$tmp/pun_target

"$dir/bpftime" start --session pun -- "$target" >"$tmp/target.out" 2>&1 &
pids="$pids $!"
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
tpid=$(awk '/^ready/ {print $2; exit}' "$tmp/target.out")
script="tracepoint:syscalls:sys_enter_getppid /pid == $tpid/ { @getppid = count(); }
tracepoint:syscalls:sys_enter_read /pid == $tpid/ { @read = count(); }"
"$dir/bpftime-run" --session pun --fake-root -- bpftrace -e "$script" \
	>"$tmp/bt.out" 2>"$tmp/bt.err" &
bpid=$!
pids="$pids $bpid"
wait_file "$tmp/bt.out" "Attaching" 30 || fail "bpftrace did not attach"
wait_file "$session_dir/agent.log" "agent\[$tpid\]: $target: .*syscall sites rewritten" 10 ||
	fail "the agent did not rewrite the target's syscall sites"
line=$(grep "agent\[$tpid\]: $target: .*syscall sites rewritten" "$session_dir/agent.log")
echo "  $line"
echo "$line" | grep -q "windows of which 2 punned" ||
	fail "want pun_read and pun_getppid punned"
grep "agent\[$tpid\]: .*libc.so.6: .*syscall sites rewritten" "$session_dir/agent.log" |
	sed 's/^/  /'
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "^done" 10 || fail "the target did not finish"
# e9 at the windows' start; pun_read keeps its syscall (0f 05) and the
# next instruction's first byte (48) under the jmp
grep -q "^bytes pun_read e9 .. 0f 05 48 pun_getppid e9 .. .. .. 0f" "$tmp/target.out" ||
	fail "the punned jmps are not what they should be"
grep -q "^read a (signals 1)" "$tmp/target.out" ||
	fail "the reader's restarted read did not return the byte"
grep -q "^done calls 100 bad 0" "$tmp/target.out" || fail "pun_getppid() returned wrong values"
sleep 0.3
interrupt "$bpid" bpftrace
wait "$bpid"
grep -q "^@getppid: 100$" "$tmp/bt.out" || fail "want @getppid: 100"
grep -q "^@read: 1$" "$tmp/bt.out" || fail "want @read: 1"
kill -0 "$tpid" || fail "the target died"
echo "ok: punned syscall sites are hooked, and a thread asleep under a punned jmp restarts safely"
