#!/bin/sh
# SPDX-License-Identifier: MIT
# Programs running inside targets, end to end: the malloc counter example
# under bpftime-run, its victim under `bpftime start`, counted by the agent.
#
#   hooks_test.sh MODE BPFTIME_DIR COUNTER VICTIM [THREADS CALLS]
#
# (run_* are only ever run in the background: they exec, so that $! is the
# process itself and signals reach it)
# MODE bpftime: the counter runs under bpftime-run, the victim under
#   `bpftime start` in the same session (as whoever runs the suite: root,
#   and uid 65534 in the unprivileged pass);
# MODE attach: as bpftime, but the victim starts plainly and gets the agent
#   from `bpftime attach PID` (ptrace injection into a running process);
# MODE interp: as bpftime, with `bpftime-run --engine interp`: the agent
#   must interpret (no native image in the catalog);
# MODE kernel: both run plainly and the kernel's uprobe counts (root and a
#   kernel with eBPF; skips otherwise). The oracle for the same workload.
# With BPFTIME_TEST_JIT=1 (set by CMake when the JIT is built), the agent
# must say it runs the supervisor's native code (modes bpftime, attach).
#
# The victim (example/malloc-counter/victim.c) makes exactly THREADS * CALLS
# malloc() calls between SIGUSR1 and its last line, with 4 threads by
# default; the counter's total for the victim's pid must equal that.
# A dynamic victim's malloc is libc's (found by the counter from
# /proc/PID/maps); a static one's is in the victim itself (-l VICTIM).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
counter=$3
victim=$4
threads=${5:-4}
calls=${6:-50000}
make_tmp hooks

fail() {
	echo "FAIL: $*"
	show 20 victim.out victim.err counter.out counter.err
	show_agent_log
	exit 1
}



case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's uprobes need root"
	[ -e /sys/kernel/btf/vmlinux ] || [ -d /sys/fs/bpf ] || skip "no kernel eBPF here"
	run_counter() { exec "$counter" "$@"; }
	run_victim() { exec "$victim" "$@"; }
	;;
bpftime | attach | interp)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session=hooks
	session_dir=$BPFTIME_SESSION_DIR/$session
	engine=jit
	[ "$mode" = interp ] && engine=interp
	run_counter() {
		exec "$dir/bpftime-run" --session "$session" --engine "$engine" -- "$counter" "$@"
	}
	if [ "$mode" = attach ]; then
		run_victim() { exec "$victim" "$@"; }
	else
		run_victim() { exec "$dir/bpftime" start --session "$session" -- "$victim" "$@"; }
	fi
	;;
*)
	echo "usage: hooks_test.sh kernel|bpftime|attach|interp BPFTIME_DIR COUNTER VICTIM" >&2
	exit 2
	;;
esac

# The victim first: its threads exist, it waits for SIGUSR1.
run_victim -w -t "$threads" -n "$calls" >"$tmp/victim.out" 2>"$tmp/victim.err" &
pids="$pids $!"
wait_file "$tmp/victim.out" "ready" 10 || fail "the victim did not start"
vpid=$(awk '/ready/ {print $2; exit}' "$tmp/victim.out")
if [ "$mode" = attach ]; then
	"$dir/bpftime" attach --session "$session" "$vpid" >"$tmp/attach.out" 2>&1 ||
		fail "bpftime attach $vpid: $(cat "$tmp/attach.out")"
fi

lib=
case $(basename "$victim") in
*static* | *musl*) lib="-l $victim" ;;
esac
# shellcheck disable=SC2086 # $lib is two words or none
run_counter -p "$vpid" $lib >"$tmp/counter.out" 2>"$tmp/counter.err" &
cpid=$!
pids="$pids $cpid"
wait_file "$tmp/counter.err" "counting malloc" 10 || fail "the counter did not attach"
if [ "$mode" != kernel ]; then
	# the agent in the victim says when the site is patched
	wait_file "$session_dir/agent.log" "agent\[$vpid\]: perf event .*: hooked" 5 ||
		fail "the agent in the victim did not hook malloc within 5 s"
	native="agent\[$vpid\]: prog '.*' (id [0-9]*): runs the supervisor's native code"
	if [ "$mode" = interp ]; then
		! grep -q "$native" "$session_dir/agent.log" ||
			fail "--engine interp, but the agent runs native code"
	elif [ "${BPFTIME_TEST_JIT:-0}" = 1 ]; then
		grep -q "$native" "$session_dir/agent.log" ||
			fail "the agent does not run the supervisor's native code"
	fi
fi

kill -USR1 "$vpid"
wait_file "$tmp/victim.out" "mallocs" 60 || fail "the victim did not finish"
want=$(awk '/mallocs/ {print $4; exit}' "$tmp/victim.out")
# the counter prints every second; take its last count after one more tick
sleep 1.2
kill -TERM "$cpid"
wait "$cpid"
rc=$?
[ "$rc" -eq 0 ] || fail "the counter exited $rc"
got=$(awk -v p="$vpid" '$1 == p {n = $2} END {print n + 0}' "$tmp/counter.out")
[ "$got" = "$want" ] ||
	fail "$mode: counted $got malloc() calls of pid $vpid, the victim made $want"
echo "ok: $mode: $(basename "$victim"): $got malloc() calls counted, $threads threads, as made"
