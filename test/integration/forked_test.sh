#!/bin/sh
# SPDX-License-Identifier: MIT
# Fork children made before any tool existed (a prefork server) are traced
# like their parent: the kernel's uprobe fires in every process that maps
# the file; the agent must be running in those children by the time the
# tool attaches.
#
#   forked_test.sh MODE BPFTIME_DIR TARGET
#
# TARGET (forked_target.c) forks 2 workers at start; then bpftrace counts
# work() per pid while the 3 processes call it 100 times each: 3 pids, 100
# each. MODE bpftime: the target under `bpftime start`, bpftrace under
# bpftime-run; MODE kernel: both plain (root); MODE attached: the target
# starts plainly, `bpftime attach` gives it the agent, and only then does
# it fork its workers (which run no hook before the tool comes: they must
# follow the session from the fork on, as a started target's do).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp forked
fail() {
	echo "FAIL: $*"
	show 20 target.out bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/forked_target"
target=$tmp/forked_target
script="uprobe:$target:work { @[pid] = count(); }"
if [ "$mode" = attached ]; then
	bt_mode bpftime fk "forked_test.sh kernel|bpftime|attached DIR TARGET"
	run_target() { exec "$target" "$@"; }
	run_target late >"$tmp/target.out" 2>&1 &
	pids="$pids $!"
	wait_file "$tmp/target.out" "^up" 10 || fail "the target did not start"
	tpid=$(awk '/^up/ {print $2; exit}' "$tmp/target.out")
	"$dir/bpftime" attach --session fk "$tpid" >"$tmp/attach.out" 2>&1 ||
		fail "bpftime attach $tpid: $(cat "$tmp/attach.out")"
	wait_file "$session_dir/agent.log" "agent\[$tpid\]: fork children follow" 10 ||
		fail "the attached agent does not watch fork children"
	kill -USR2 "$tpid"
else
	bt_mode "$mode" fk "forked_test.sh kernel|bpftime|attached DIR TARGET"
	run_target >"$tmp/target.out" 2>&1 &
	pids="$pids $!"
fi
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
set -- $(awk '/^ready/ {print $2, $3, $4; exit}' "$tmp/target.out")
tpid=$1 kid1=$2 kid2=$3
pids="$pids $kid1 $kid2" # killed at exit too: the parent may go first
sleep 0.3 # the workers are up, no tool yet
start_bt Attaching attach
if [ "$mode" != kernel ]; then
	for p in "$tpid" "$kid1" "$kid2"; do
		wait_hooked "$p" 1
	done
else
	sleep 1
fi
kill -USR1 "$tpid" "$kid1" "$kid2"
for p in "$tpid" "$kid1" "$kid2"; do
	wait_file "$tmp/target.out" "^called $p" 10 || fail "$p did not call work()"
done
sleep 0.3
interrupt "$bpid" bpftrace
wait "$bpid"
for p in "$tpid" "$kid1" "$kid2"; do
	grep -q "^@\[$p\]: 100$" "$tmp/bt.out" || fail "$mode: want @[$p]: 100"
done
kill -TERM "$tpid"
for p in "$kid1" "$kid2"; do wait_gone "$p" 5; done
echo "ok: $mode: the parent and the 2 workers it forked before the tool: 100 calls each"
