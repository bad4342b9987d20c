#!/bin/sh
# SPDX-License-Identifier: MIT
# C++ exceptions thrown through probed functions (cxx_target.cc), with
# bpftrace, under bpftime and on the kernel:
#
#   cxx_exception_test.sh MODE BPFTIME_DIR TARGET CASE
#
#   CASE uprobe     entry probes on both functions: the exceptions are
#                   caught ("caught 3") and each probe counts 3
#   CASE uretprobe  a uretprobe on the function the exception leaves: the
#                   unwinder meets the return trampoline, which has no
#                   unwind information, and the C++ runtime terminates the
#                   process (SIGABRT) -- the kernel's uretprobes do exactly
#                   the same; the test holds us to that, not to more
# MODE bpftime (target under `bpftime start`, bpftrace under bpftime-run
# --fake-root) or kernel (root).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
case_=$4
command -v bpftrace >/dev/null 2>&1 || { echo "SKIP: bpftrace is not installed"; exit 77; }
make_tmp cxx

fail() {
	echo "FAIL: $*"
	show 20 target.out bt.out bt.err
	show_agent_log
	exit 1
}


cp "$target" "$tmp/cxx_target"
target=$tmp/cxx_target
case $case_ in
uprobe)
	script="uprobe:$target:middle { @m = count(); } uprobe:$target:thrower { @t = count(); }"
	probes=2
	;;
uretprobe)
	script="uretprobe:$target:thrower { @t = count(); }"
	probes=1
	;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac

case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: the kernel's uprobes need root"; exit 77; }
	run_bt() { exec bpftrace -e "$script"; }
	run_target() { exec "$target"; }
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session_dir=$BPFTIME_SESSION_DIR/cxx
	run_bt() { exec "$dir/bpftime-run" --session cxx --fake-root -- bpftrace -e "$script"; }
	run_target() { exec "$dir/bpftime" start --session cxx -- "$target"; }
	;;
*) echo "usage: cxx_exception_test.sh kernel|bpftime DIR TARGET CASE" >&2; exit 2 ;;
esac

run_target >"$tmp/target.out" 2>&1 &
lpid=$!
pids="$pids $lpid"
wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
tpid=$(awk '/^ready/ {print $2; exit}' "$tmp/target.out")
start_bt Attaching attach
if [ "$mode" = bpftime ]; then
	wait_hooked "$tpid" "$probes"
else
	sleep 1
fi
kill -USR1 "$tpid"
wait "$lpid"
rc=$?
sleep 0.3
interrupt "$bpid" bpftrace
case $case_ in
uprobe)
	[ "$rc" -eq 0 ] && grep -q "^caught 3" "$tmp/target.out" ||
		fail "$mode: exceptions through uprobed functions: exit $rc, want 0 and 'caught 3'"
	grep -q "^@m: 3" "$tmp/bt.out" && grep -q "^@t: 3" "$tmp/bt.out" ||
		fail "$mode: want @m: 3 and @t: 3"
	echo "ok: $mode: exceptions through uprobed functions are caught, each probe counted 3"
	;;
uretprobe)
	# 134: SIGABRT from std::terminate (via bpftime start: its exit status
	# is the target's, 128 + the signal)
	[ "$rc" -eq 134 ] && grep -q "terminate called" "$tmp/target.out" ||
		fail "$mode: an exception through a uretprobe: exit $rc, want 134 (terminate), as the kernel"
	echo "ok: $mode: an exception through a uretprobe terminates the target, as on the kernel"
	;;
esac
