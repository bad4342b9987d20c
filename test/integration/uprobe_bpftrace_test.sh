#!/bin/sh
# SPDX-License-Identifier: MIT
# uprobes and uretprobes in a target, from Debian's bpftrace (unmodified):
#
#   uprobe_bpftrace_test.sh MODE BPFTIME_DIR TARGET CASE
#
# TARGET is uret_target.c: it reports, in bpftrace's map syntax, how many
# times it called the probed function and how many returns gave each
# value. bpftrace counts the same with a uprobe and a uretprobe; the two
# must be equal line for line.
#   CASE fib    4 threads of recursive fib(): a uretprobe per frame
#   CASE jump   recursion left by longjmp: skipped frames never return
#               (the kernel's behaviour), and the target does not crash
# MODE bpftime: bpftrace under bpftime-run --fake-root, the target under
#   `bpftime start`; MODE attach: the target plain, bpftrace -p PID under
#   bpftime-run --attach PID, which brings the target the agent; MODE kernel:
#   both plain (root, kernel eBPF).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
case_=$4
command -v bpftrace >/dev/null 2>&1 || { echo "SKIP: bpftrace is not installed"; exit 77; }
make_tmp ubt

fail() {
	echo "FAIL: $*"
	show 30 target.out bt.out bt.err
	show_agent_log
	exit 1
}


# A copy the unprivileged pass can read, at a path without spaces.
cp "$target" "$tmp/uret_target"
target=$tmp/uret_target
case $case_ in
fib) args="fib 4 20" ;;
jump) args="jump 50" ;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac
fn=fib
[ "$case_" = jump ] && fn=jumpy
script="uprobe:$target:$fn { @calls = count(); } uretprobe:$target:$fn { @ret[retval] = count(); }"

bt_mode "$mode" ubt "uprobe_bpftrace_test.sh kernel|bpftime|attach DIR TARGET CASE"

# shellcheck disable=SC2086 # args are words
start_target $args
start_bt Attaching attach
if [ "$mode" != kernel ]; then
	wait_hooked "$tpid" 2
else
	sleep 1 # bpftrace prints "Attaching" before the kernel has the probes
fi
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "^@calls" 30 ||
	fail "the target did not finish ($(grep -E 'State|Threads' /proc/"$tpid"/status 2>/dev/null | tr '\n' ' '))"
sleep 0.3
interrupt "$bpid" bpftrace
wait "$bpid"
grep '^@' "$tmp/target.out" | sort >"$tmp/want"
grep '^@' "$tmp/bt.out" | sort >"$tmp/got"
[ -s "$tmp/want" ] || fail "the target reported nothing"
if ! cmp -s "$tmp/want" "$tmp/got"; then
	diff "$tmp/want" "$tmp/got" | sed 's/^/  diff: /'
	fail "$mode $case_: bpftrace's counts differ from what the target did"
fi
echo "ok: $mode $case_: bpftrace's uprobe and uretprobe counts equal the target's ($(head -n 1 "$tmp/want"))"
