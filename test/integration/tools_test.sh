#!/bin/sh
# SPDX-License-Identifier: MIT
# Unmodified tools under bpftime-run, as whoever runs the suite (root, and
# uid 65534 in the unprivileged pass):
#   tools_test.sh BPFTIME_RUN CASE [TOOL]
# Cases:
#   example TOOL     our libbpf examples (static or dynamic): they load and
#                    attach (bpftime status shows their perf events running
#                    programs) and exit 0 on SIGINT
#   libbpf-tools     Debian's opensnoop, bashreadline, funclatency (uprobe
#                    form): the same
#   bpftrace         --fake-root bpftrace BEGIN/END with maps, printing what
#                    the kernel prints
#   bpftrace-interval --fake-root bpftrace interval probes (a CPU clock perf
#                    event whose program runs on the supervisor's timer):
#                    output byte for byte what 6.18 prints, one tick then
#                    exit, and the idle task's pid and comm
#   kill             TOOL killed with SIGKILL: bpftime-run exits with 137 and
#                    the session's directory (its maps) is gone
# Events from targets need the agent (issue 5); these check the control
# plane only. A tool that is not installed skips (77) with a message.
set -u
run=$1
case_=$2
tool=${3:-}
bpftime=$(dirname "$run")/bpftime
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-tools.XXXXXX") || exit 1
sup_pid=
cleanup() {
	# Only the processes this script started, by pid.
	[ -n "$sup_pid" ] && kill -KILL "$sup_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

skip() {
	echo "SKIP: $*"
	exit 77
}

show() {
	sed 's/^/  out: /' "$tmp/out" | tail -n 15
	sed 's/^/  err: /' "$tmp/err" | tail -n 15
}

# wait_for PATTERN SECONDS: until the tool's stdout or stderr has PATTERN
wait_for() {
	i=0
	while [ "$i" -lt $(($2 * 10)) ]; do
		grep -q "$1" "$tmp/out" "$tmp/err" 2>/dev/null && return 0
		kill -0 "$sup_pid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# attached N: bpftime status shows N perf events with a program, enabled
attached() {
	n=$("$bpftime" status --session "$session" 2>/dev/null |
		grep -c 'perf event .* prog [1-9][0-9]*  enabled')
	[ "$n" -ge "$1" ]
}

# interrupt NAME: SIGINT to bpftime-run, which passes it on; the tool must
# exit 0 within 10 s. SIGINT is sent again each second: a tool started with
# & from a script inherits SIGINT ignored until it installs its handler,
# which libbpf tools do only after attaching, and would lose an early one
# (as without bpftime in between).
interrupt() {
	i=0
	while kill -0 "$sup_pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		[ $((i % 10)) -eq 0 ] && kill -INT "$sup_pid" 2>/dev/null
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$sup_pid" 2>/dev/null; then
		fail "$1: still running 10 s after SIGINT"
		show
		return
	fi
	wait "$sup_pid"
	rc=$?
	sup_pid=
	[ "$rc" -eq 0 ] || {
		fail "$1: exit status $rc after SIGINT"
		show
	}
}

# attach_and_stop NAME EVENTS CMD...: start under a session of its own,
# wait until EVENTS perf events run programs, then SIGINT
attach_and_stop() {
	name=$1
	events=$2
	shift 2
	session=bpftime-tools-$$-$name
	: >"$tmp/out"
	: >"$tmp/err"
	"$run" --session "$session" -- "$@" >"$tmp/out" 2>"$tmp/err" &
	sup_pid=$!
	i=0
	until attached "$events"; do
		if [ "$i" -ge 300 ] || ! kill -0 "$sup_pid" 2>/dev/null; then
			fail "$name: not $events attached perf event(s) within 30 s"
			"$bpftime" status --session "$session" 2>&1 | sed 's/^/  status: /'
			show
			return
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "ok: $name attached ($events perf events with programs)"
	interrupt "$name"
	[ -z "$sup_pid" ] && echo "ok: $name exited cleanly on SIGINT"
}

case_example() {
	case "$tool" in
	*opensnoop*) events=2 ;; # sys_enter_openat, sys_exit_openat
	*) events=1 ;;           # the uprobe on malloc
	esac
	attach_and_stop "$(basename "$tool")" "$events" "$tool"
}

case_libbpf_tools() {
	[ -x /usr/sbin/opensnoop ] || skip "libbpf-tools is not installed (apt-get install libbpf-tools)"
	attach_and_stop opensnoop 4 /usr/sbin/opensnoop # open and openat, enter and exit
	attach_and_stop bashreadline 1 /usr/sbin/bashreadline
	libc=$(ldd /bin/sh | sed -n 's/.*libc.so.6 => \([^ ]*\).*/\1/p')
	attach_and_stop funclatency 2 /usr/sbin/funclatency "$libc:malloc" # entry and return
}

case_bpftrace() {
	command -v bpftrace >/dev/null || skip "bpftrace is not installed (apt-get install bpftrace)"
	"$run" --fake-root -- bpftrace -e \
		'BEGIN { printf("hello\n"); @x = count(); @y[1, "a"] = sum(5); exit(); }' \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "bpftrace: exit status $rc"
	grep -qx "hello" "$tmp/out" || fail "bpftrace: no hello"
	grep -qx "@x: 1" "$tmp/out" || fail "bpftrace: count map not printed as the kernel does"
	grep -qx "@y\[1, a\]: 5" "$tmp/out" || fail "bpftrace: keyed sum not printed as the kernel does"
	[ "$failures" -eq 0 ] && echo "ok: bpftrace BEGIN, printf, maps" || show
}

# What bpftrace 0.17 prints on the kernel (6.18, as root) for the script
# of case_bpftrace_interval: the predicate stops counting after the third
# tick, so a tick that comes before bpftrace detaches changes nothing and
# the output is deterministic. @c is a per-CPU count() (bpftrace sums the
# CPUs' values), @n a plain hash map read by the predicate.
interval_script='interval:ms:100 /@n < 3/ { @c = count(); @n++; if (@n == 3) { exit(); } }
END { printf("n=%d\n", @n); }'
interval_kernel='Attaching 2 probes...
n=3


@c: 3
@n: 3'

case_bpftrace_interval() {
	command -v bpftrace >/dev/null || skip "bpftrace is not installed (apt-get install bpftrace)"
	"$run" --fake-root -- bpftrace -e "$interval_script" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "bpftrace interval: exit status $rc"
	printf '%s\n' "$interval_kernel" >"$tmp/want"
	cmp -s "$tmp/want" "$tmp/out" || fail "bpftrace interval: output differs from the kernel's"
	[ "$failures" -eq 0 ] || show
	# one tick, then exit: printf reaches the tool through the perf buffer
	"$run" --fake-root -- bpftrace -e 'interval:ms:100 { printf("tick\n"); exit(); }' \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "bpftrace tick: exit status $rc"
	[ "$(grep -c '^tick$' "$tmp/out")" -eq 1 ] || fail "bpftrace tick: not exactly one tick"
	# a tick interrupts no task here: the kernel's answer for an idle CPU 0
	"$run" --fake-root -- bpftrace -e \
		'interval:ms:50 /@n < 1/ { @n++; printf("%d %d %s %d\n", pid, tid, comm, cpu); exit(); }' \
		>"$tmp/out" 2>"$tmp/err"
	grep -qx "0 0 swapper/0 0" "$tmp/out" || fail "bpftrace idle: not pid 0, swapper/0 on CPU 0"
	[ "$failures" -eq 0 ] && echo "ok: bpftrace interval probes" || show
}

case_kill() {
	session=bpftime-kill-test-$$
	"$run" --session "$session" -- "$tool" >"$tmp/out" 2>"$tmp/err" &
	sup_pid=$!
	wait_for "Ctrl-C to stop" 30 || {
		fail "kill: the tool did not attach"
		show
		return
	}
	dir=/dev/shm/bpftime-$(id -u)/$session
	[ -d "$dir" ] || fail "kill: no session directory $dir while the tool runs"
	# the tool is the supervisor's child
	tool_pid=$(pgrep -P "$sup_pid" | head -n 1)
	[ -n "$tool_pid" ] || {
		fail "kill: no tool process under bpftime-run"
		return
	}
	kill -KILL "$tool_pid"
	wait "$sup_pid"
	rc=$?
	sup_pid=
	[ "$rc" -eq 137 ] || fail "kill: bpftime-run exited $rc, not 137 (128 + SIGKILL)"
	[ ! -e "$dir" ] || fail "kill: $dir is still there: the session's objects were not released"
	[ "$failures" -eq 0 ] && echo "ok: SIGKILL of the tool releases the session"
}

case "$case_" in
example) case_example ;;
libbpf-tools) case_libbpf_tools ;;
bpftrace) case_bpftrace ;;
bpftrace-interval) case_bpftrace_interval ;;
kill) case_kill ;;
*)
	echo "unknown case $case_" >&2
	exit 2
	;;
esac
[ "$failures" -eq 0 ]
