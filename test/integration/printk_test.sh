#!/bin/sh
# SPDX-License-Identifier: MIT
# bpf_trace_printk to the trace_pipe, end to end: printk-tool (a libbpf
# tool) attaches bpf_printk("hello %d", n) to printk-target's say(n) and
# reads /sys/kernel/debug/tracing/trace_pipe; the target calls say(1..N).
#
#   printk_test.sh MODE BPFTIME_DIR TOOL TARGET [N]
#
# MODE bpftime: the tool under bpftime-run, the target under `bpftime
#   start` in the same session: the lines come from the session's
#   trace_pipe (bpf-emul's pipe), none on the target's stdout; then
#   `bpftime trace` reads lines written after the tool ended.
# MODE kernel: both plainly, the kernel's trace_pipe (root; tracefs mounted
#   in a private mount namespace when it is not). The oracle of the format.
#
# The tool must print N lines "<comm>-<pid> [CPU] FLAGS SECONDS.USECS:
# bpf_trace_printk: hello I", I = 1..N in order, of the target's pid.
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
tool=$3
target=$4
n=${5:-5}
make_tmp printk

fail() {
	echo "FAIL: $*"
	show 20 target.out target.err tool.out tool.err trace.out
	show_agent_log
	exit 1
}



# check FILE PID: N hello lines of PID, in order, in the kernel's format
check() {
	awk -v pid="$2" -v n="$n" '
		/bpf_trace_printk: hello / {
			re = "^ *[^ ].*-" pid " +\\[[0-9][0-9][0-9]\\] [^ ]+ +[0-9]+\\.[0-9][0-9][0-9][0-9][0-9][0-9]: bpf_trace_printk: hello [0-9]+$"
			if ($0 !~ re) { print "bad line: " $0; exit 1 }
			i++
			if ($NF != i) { print "line " i " says hello " $NF; exit 1 }
		}
		END { if (i != n) { print i " hello lines, want " n; exit 1 } }' "$1"
}

case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's trace_pipe needs root"
	[ -e /sys/kernel/btf/vmlinux ] || [ -d /sys/fs/bpf ] || skip "no kernel eBPF here"
	if [ -r /sys/kernel/debug/tracing/trace_pipe ] || [ -r /sys/kernel/tracing/trace_pipe ]; then
		run_tool() { exec "$tool" "$@"; }
	else
		unshare -m true 2>/dev/null || skip "no tracefs and no mount namespace"
		# shellcheck disable=SC2016 # expanded by the inner sh
		run_tool() {
			exec unshare -m --propagation private sh -c \
				'mount -t tracefs none /sys/kernel/tracing && exec "$0" "$@"' "$tool" "$@"
		}
	fi
	run_target() { exec "$target" "$@"; }
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session=printk
	session_dir=$BPFTIME_SESSION_DIR/$session
	run_tool() { exec "$dir/bpftime-run" --session "$session" -- "$tool" "$@"; }
	run_target() { exec "$dir/bpftime" start --session "$session" -- "$target" "$@"; }
	;;
*)
	echo "usage: printk_test.sh kernel|bpftime BPFTIME_DIR TOOL TARGET [N]" >&2
	exit 2
	;;
esac

run_target "$n" >"$tmp/target.out" 2>"$tmp/target.err" &
pids="$pids $!"
wait_file "$tmp/target.out" "ready" 10 || fail "the target did not start"
tpid=$(awk '/ready/ {print $2; exit}' "$tmp/target.out")

run_tool -b "$target" -f say -p "$tpid" -n "$n" >"$tmp/tool.out" 2>"$tmp/tool.err" &
cpid=$!
pids="$pids $cpid"
wait_file "$tmp/tool.err" "printk-tool: attached" 10 || fail "the tool did not attach"
if [ "$mode" = bpftime ]; then
	wait_file "$session_dir/agent.log" "agent\[$tpid\]: perf event .*: hooked" 5 ||
		fail "the agent in the target did not hook say() within 5 s"
fi
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "done" 10 || fail "the target did not finish"
wait "$cpid"
rc=$?
[ "$rc" -eq 0 ] || fail "the tool exited $rc"
check "$tmp/tool.out" "$tpid" >"$tmp/check.out" || fail "$(cat "$tmp/check.out")"
if [ "$mode" = bpftime ]; then
	! grep -q "hello" "$tmp/target.out" "$tmp/target.err" ||
		fail "trace_printk lines on the target's stdout or stderr"
fi
if [ "$mode" = bpftime ]; then
	# `bpftime trace`: lines no reader took (the tool attaches, reads nothing)
	run_target "$n" >"$tmp/target2.out" 2>&1 &
	pids="$pids $!"
	wait_file "$tmp/target2.out" "ready" 10 || fail "the second target did not start"
	tpid=$(awk '/ready/ {print $2; exit}' "$tmp/target2.out")
	run_tool -b "$target" -f say -p "$tpid" -n "$n" -q >"$tmp/tool.out" 2>"$tmp/tool.err" &
	cpid=$!
	pids="$pids $cpid"
	wait_file "$tmp/tool.err" "printk-tool: attached" 10 || fail "the tool did not attach (2)"
	wait_file "$session_dir/agent.log" "agent\[$tpid\]: perf event .*: hooked" 5 ||
		fail "the agent in the second target did not hook say() within 5 s"
	kill -USR1 "$tpid"
	wait_file "$tmp/target2.out" "done" 10 || fail "the second target did not finish"
	"$dir/bpftime" trace --session "$session" >"$tmp/trace.out" 2>&1 &
	trpid=$!
	pids="$pids $trpid"
	wait_file "$tmp/trace.out" "hello $n\$" 10 || fail "bpftime trace: no line 'hello $n'"
	kill -TERM "$trpid" "$cpid"
	wait "$cpid" || fail "the tool exited $?"
	check "$tmp/trace.out" "$tpid" >"$tmp/check.out" || fail "bpftime trace: $(cat "$tmp/check.out")"
fi
[ -n "${PRINTK_TEST_SHOW:-}" ] && sed "s/^/  /" "$tmp/tool.out"
echo "ok: $mode: $n trace_pipe lines of pid $tpid, as the kernel's"
