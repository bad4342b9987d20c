#!/bin/sh
# SPDX-License-Identifier: MIT
# The libbpf examples against a workload, one case per ctest test:
#   examples_test.sh malloc-counter|opensnoop TOOL WORKLOAD
# TOOL is the example's binary (dynamic or static), WORKLOAD the
# examples-workload program. Two runs per case:
#   1. every process: the tool runs until SIGINT; the workload's pid must
#      appear with at least N malloc calls / N opens of a known file;
#   2. -p WORKLOAD_PID -d 3: the tool exits by itself after 3 s, and prints
#      nothing about other processes.
# Both must exit 0. Without a wrapper it needs root and kernel eBPF and
# skips (77) otherwise.
#
# BPFTIME_WRAP, when set, is a command prefixed to every tool run (word-split,
# e.g. BPFTIME_WRAP="build/bin/bpftime-run --"): then the kernel checks are
# not made, and the wrapper must pass SIGINT on to the tool (which, started
# with & from this script, inherits SIGINT ignored and installs its own
# handler). BPFTIME_WORKLOAD_WRAP likewise prefixes the workload (for the
# agent that runs the programs in the traced process); the workload's pid is
# the one it prints, not the wrapper's.
set -u

# opensnoop on the kernel needs tracefs; where it is not mounted (a fresh
# machine), root mounts one in a private mount namespace for this run only.
if [ "$1" = opensnoop ] && [ -z "${BPFTIME_WRAP:-}" ] && [ -z "${BPFTIME_EXAMPLES_NS:-}" ] &&
	[ "$(id -u)" -eq 0 ] && [ ! -e /sys/kernel/tracing/events ] &&
	[ ! -e /sys/kernel/debug/tracing/events ] && command -v unshare >/dev/null; then
	BPFTIME_EXAMPLES_NS=1 exec unshare -m --propagation private sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec sh "$@"' sh "$0" "$@"
fi

example=$1
tool=$2
workload=$3
wrap=${BPFTIME_WRAP:-}
work_wrap=${BPFTIME_WORKLOAD_WRAP:-}
malloc_n=1000
open_n=50

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-examples.XXXXXX") || exit 1
tool_pid=
work_pid=
cleanup() {
	# Only the processes this script started, by pid.
	[ -n "$tool_pid" ] && kill -TERM "$tool_pid" 2>/dev/null
	[ -n "$work_pid" ] && kill -TERM "$work_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0

fail() {
	echo "FAIL: $example ($tool): $*"
	failures=$((failures + 1))
}

skip() {
	echo "SKIP: $*"
	exit 77
}

show_logs() {
	sed 's/^/  stdout: /' "$tmp/out" | tail -n 40
	sed 's/^/  stderr: /' "$tmp/err" | tail -n 20
}

check_environment() {
	if [ -n "$wrap" ]; then
		echo "running the tools under: $wrap"
		return
	fi
	[ "$(id -u)" -eq 0 ] || skip "needs root for kernel eBPF (or BPFTIME_WRAP=bpftime-run)"
	"$workload" probe >"$tmp/probe" 2>&1 ||
		skip "no kernel eBPF here: $(cat "$tmp/probe")"
	if [ "$example" = opensnoop ] &&
		[ ! -e /sys/kernel/tracing/events/syscalls/sys_enter_openat ] &&
		[ ! -e /sys/kernel/debug/tracing/events/syscalls/sys_enter_openat ]; then
		skip "no syscall tracepoints in tracefs (mount -t tracefs nodev /sys/kernel/tracing)"
	fi
}

# start_workload: the workload in the background, waiting for $tmp/go; sets
# work_pid (to wait for) and traced_pid (the workload's own, from its "pid N")
start_workload() {
	rm -f "$tmp/go"
	: >"$tmp/work"
	# shellcheck disable=SC2086 # the wrapper is a command line
	if [ "$example" = malloc-counter ]; then
		$work_wrap "$workload" -w "$tmp/go" malloc "$malloc_n" >"$tmp/work" 2>&1 &
	else
		$work_wrap "$workload" -w "$tmp/go" open "$tmp/known-file" "$open_n" \
			>"$tmp/work" 2>&1 &
	fi
	work_pid=$!
	_i=0
	until traced_pid=$(awk '$1 == "pid" { print $2; exit }' "$tmp/work") &&
		[ -n "$traced_pid" ]; do
		if ! kill -0 "$work_pid" 2>/dev/null || [ $_i -ge 300 ]; then
			fail "the workload did not start: $(cat "$tmp/work")"
			return 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
}

# start_tool ARGS...: the tool in the background; waits until it says it is
# attached ("Ctrl-C to stop" on stderr), at most 30 s
start_tool() {
	# Emptied here: the background job's own redirections happen after the fork, and
	# the previous run's "Ctrl-C to stop" must not be mistaken for this run's.
	: >"$tmp/out"
	: >"$tmp/err"
	# shellcheck disable=SC2086 # the wrapper is a command line
	$wrap "$tool" "$@" >"$tmp/out" 2>"$tmp/err" &
	tool_pid=$!
	_i=0
	while ! grep -q "Ctrl-C to stop" "$tmp/err"; do
		if ! kill -0 "$tool_pid" 2>/dev/null || [ $_i -ge 300 ]; then
			fail "$* did not start"
			show_logs
			return 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
}

# run_workload: let the workload go and wait for it
run_workload() {
	touch "$tmp/go"
	wait "$work_pid"
	_rc=$?
	work_pid=
	[ $_rc -eq 0 ] || fail "the workload failed ($_rc): $(cat "$tmp/work")"
}

# wait_tool ARGS: wait for the tool's exit; it must be 0
wait_tool() {
	wait "$tool_pid"
	_rc=$?
	tool_pid=
	if [ $_rc -ne 0 ]; then
		fail "$* exited $_rc"
		show_logs
	fi
}

# found PID: whether the output shows the workload's work
found() {
	if [ "$example" = malloc-counter ]; then
		# "PID COUNT" lines; the last block holds the totals
		awk -v pid="$1" -v n="$malloc_n" '$1 == pid && $2 >= n { ok = 1 } END { exit !ok }' \
			"$tmp/out"
	else
		# "PID COMM RET PATH" lines, one per successful open of the file
		awk -v pid="$1" -v n="$open_n" -v path="$tmp/known-file" \
			'$1 == pid && $3 >= 0 && $4 == path { c++ } END { exit !(c >= n) }' \
			"$tmp/out"
	fi
}

# only PID: whether every data line of the output is about PID
only() {
	awk -v pid="$1" '/^#/ || /^PID / { next } $1 != pid { bad = 1 } END { exit bad }' \
		"$tmp/out"
}

run_everyone() {
	start_workload || return
	_pid=$traced_pid
	start_tool -d 60 || return
	run_workload
	# malloc-counter prints every second; opensnoop polls every 100 ms
	sleep 1.5
	kill -INT "$tool_pid"
	wait_tool "(every process, SIGINT)"
	found "$_pid" || {
		fail "every process: pid $_pid with its work not in the output"
		show_logs
	}
}

run_one_pid() {
	start_workload || return
	_pid=$traced_pid
	start_tool -p "$_pid" -d 3 || return
	run_workload
	wait_tool "-p $_pid -d 3"
	found "$_pid" || {
		fail "-p $_pid: its work is not in the output"
		show_logs
	}
	only "$_pid" || {
		fail "-p $_pid: other processes in the output"
		show_logs
	}
}

case $example in
malloc-counter | opensnoop) ;;
*)
	echo "usage: examples_test.sh malloc-counter|opensnoop TOOL WORKLOAD"
	exit 2
	;;
esac
check_environment
echo "known file" >"$tmp/known-file"
run_everyone
run_one_pid
if [ $failures -ne 0 ]; then
	echo "$example ($tool): $failures failure(s)"
	exit 1
fi
echo "$example ($tool): ok"
