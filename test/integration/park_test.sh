#!/bin/sh
# SPDX-License-Identifier: MIT
# A thread stopped outside a system call at an instruction boundary inside
# the bytes a uprobe's jmp would replace (as a thread blocked in a page
# fault, or stopped by a debugger): the agent must leave the site alone
# while it is there, and hook it once it has moved on.
#
#   park_test.sh BPFTIME_DIR TARGET PARK_STOP
#
# TARGET (park_target.c) spins a thread through probed(); PARK_STOP
# (park_stop.c) stops that thread with ptrace at probed+2. bpftrace under
# bpftime-run then probes probed(): the agent must say it waits, the bytes
# must stay as they are; after PARK_STOP detaches, the site is hooked, the
# target keeps running and bpftrace counts its calls.
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
target=$2
park_stop=$3
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp park
export BPFTIME_SESSION_DIR="$tmp/sessions"
session_dir=$BPFTIME_SESSION_DIR/park
fail() {
	echo "FAIL: $*"
	show 20 target.out stop.out stop.err bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/park_target"
target=$tmp/park_target

"$dir/bpftime" start --session park -- "$target" >"$tmp/target.out" 2>&1 &
pids="$pids $!"
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
set -- $(awk '/^ready/ {print $2, $3, $4, $5; exit}' "$tmp/target.out")
tpid=$1 spinner=$2 probed=$3 slot=$4
# the boundary after `xor %eax,%eax`, inside the 8 bytes the jmp replaces
inside=$(printf '0x%x' $((probed + 2)))
mkfifo "$tmp/ctl"
"$park_stop" "$spinner" "$inside" "$slot" <"$tmp/ctl" >"$tmp/stop.out" 2>"$tmp/stop.err" &
spid=$!
pids="$pids $spid"
exec 3>"$tmp/ctl"
wait_file "$tmp/stop.out" "^stopped" 10 || fail "park_stop did not stop the thread"
grep -q "^-1 0x[0-9a-f]* $inside$" "/proc/$tpid/task/$spinner/syscall" ||
	fail "the thread is not where it should be: $(cat "/proc/$tpid/task/$spinner/syscall")"
orig=$(kill -USR1 "$tpid" && sleep 0.2 && grep '^bytes' "$tmp/target.out" | tail -n 1)
"$dir/bpftime-run" --session park --fake-root -- bpftrace -e \
	"uprobe:$target:probed { @calls = count(); }" >"$tmp/bt.out" 2>"$tmp/bt.err" &
bpid=$!
pids="$pids $bpid"
wait_file "$tmp/bt.out" "Attaching" 30 || fail "bpftrace did not attach"
wait_file "$session_dir/agent.log" "agent\[$tpid\]: .*not hooked yet: a thread stopped" 10 ||
	fail "the agent did not say it waits for the stopped thread"
sleep 0.3 # a few more passes
kill -USR1 "$tpid"
sleep 0.2
now=$(grep '^bytes' "$tmp/target.out" | tail -n 1)
[ "$now" = "$orig" ] || fail "the site was written while the thread sat inside it: $orig -> $now"
echo "ok: the site is left alone while a stopped thread sits inside it ($now)"
echo go >&3
exec 3>&-
wait_file "$tmp/stop.out" "^detached" 10 || fail "park_stop did not detach"
wait_hooked "$tpid" 1
sleep 0.5
kill -0 "$tpid" 2>/dev/null || fail "the target died"
kill -USR1 "$tpid"
sleep 0.2
grep '^bytes e9' "$tmp/target.out" >/dev/null || fail "the site was not hooked after the thread moved on"
interrupt "$bpid" bpftrace
wait "$bpid"
n=$(awk '/^@calls:/ {print $2}' "$tmp/bt.out")
[ "${n:-0}" -gt 0 ] || fail "bpftrace counted no call of probed()"
kill -0 "$tpid" 2>/dev/null || fail "the target died"
echo "ok: hooked once the thread moved on; the target runs on ($n calls counted)"
