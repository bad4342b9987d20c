#!/bin/sh
# SPDX-License-Identifier: MIT
# bpf_override_return() from a uprobe, end to end: example/error-inject
# under bpftime-run overrides do_work() of its victim under `bpftime start`
# in the same session. bpftime only (the kernel refuses the attachment).
#
#   error_inject_test.sh BPFTIME_DIR TOOL VICTIM
#
# The victim calls do_work(21) (= 42) once, waits for SIGUSR1, then calls
# it 3 times: each must return -12 and the body must not have run again.
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
tool=$2
victim=$3
make_tmp errinj

export BPFTIME_SESSION_DIR="$tmp/sessions"
session=errinj
session_dir=$BPFTIME_SESSION_DIR/$session

fail() {
	echo "FAIL: $*"
	show 20 victim.out victim.err tool.out tool.err
	show_agent_log
	exit 1
}


# (run_* are only run in the background: they exec, so that $! is the
# process itself and signals reach it)
run_tool() { exec "$dir/bpftime-run" --session "$session" -- "$tool" "$@"; }
run_victim() { exec "$dir/bpftime" start --session "$session" -- "$victim" "$@"; }

run_victim -w -n 3 >"$tmp/victim.out" 2>"$tmp/victim.err" &
pids="$pids $!"
wait_file "$tmp/victim.out" "ready" 10 || fail "the victim did not start"
vpid=$(awk '/ready/ {print $2; exit}' "$tmp/victim.out")
grep -q "before do_work(21) = 42 body 1$" "$tmp/victim.out" ||
	fail "do_work(21) was not 42 before the tool"

run_tool -b "$victim" -p "$vpid" -r -12 >"$tmp/tool.out" 2>"$tmp/tool.err" &
tpid=$!
pids="$pids $tpid"
wait_file "$tmp/tool.err" "do_work in .* returns -12" 10 || fail "the tool did not attach"
wait_file "$session_dir/agent.log" "agent\[$vpid\]: perf event .*: hooked" 5 ||
	fail "the agent in the victim did not hook do_work within 5 s"

kill -USR1 "$vpid"
wait_count "$tmp/victim.out" after 3 10
[ "$(grep -c "after do_work(21) = -12 body 1$" "$tmp/victim.out")" -eq 3 ] ||
	fail "do_work(21) did not return -12 without running its body, 3 times"
kill -TERM "$tpid"
wait "$tpid"
rc=$?
[ "$rc" -eq 0 ] || fail "the tool exited $rc"
grep -q "^overrides 3$" "$tmp/tool.out" || fail "the tool did not count 3 overrides"
echo "ok: do_work(21) returned -12 three times, its body did not run"
