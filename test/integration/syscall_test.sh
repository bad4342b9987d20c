#!/bin/sh
# SPDX-License-Identifier: MIT
# Syscall tracepoints inside targets, end to end: the opensnoop example
# (tracepoints syscalls/sys_enter_openat and sys_exit_openat, a ring
# buffer) under bpftime-run, its target under `bpftime start`, the agent
# rewriting the target's syscall sites.
#
#   syscall_test.sh MODE BPFTIME_DIR OPENSNOOP TARGET [THREADS CALLS]
#
# MODE bpftime: opensnoop under bpftime-run, the target under `bpftime
#   start` in the same session (as whoever runs the suite);
# MODE kernel: both run plainly and the kernel's tracepoints report (root
#   and a kernel with eBPF; skips otherwise). The oracle for the same
#   workload.
#
# The target (syscall_target.c) opens one file a known number of times
# after SIGUSR1: from THREADS threads created then (clone3), a fork child,
# the main thread once and then a vfork child (which shares its TCB: the
# agent's cached ids must not name the parent) and, for the dynamic target, a program it execs from a
# vfork child (the agent comes back through LD_PRELOAD; a static program
# exec'd from a target is not re-injected yet). opensnoop must report
# exactly that many successful openat() calls of the file, THREADS * CALLS
# of them from the target's own pid.
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
snoop=$3
target=$4
threads=${5:-4}
calls=${6:-100}
make_tmp syscall

fail() {
	echo "FAIL: $*"
	for f in target.out target.err snoop.err; do
		[ -s "$tmp/$f" ] && sed "s/^/  $f: /" "$tmp/$f" | tail -n 20
	done
	[ -s "$tmp/snoop.out" ] && sed 's/^/  snoop.out: /' "$tmp/snoop.out" | tail -n 5
	[ -s "$tmp/snoop.out" ] && awk -v f="${file:-}" '$4 == f {n[$1 " " $2]++}
		END {for (k in n) print "  reported for pid " k ": " n[k]}' "$tmp/snoop.out"
	[ -n "${session_dir:-}" ] && [ -e "$session_dir/agent.log" ] &&
		sed 's/^/  agent.log: /' "$session_dir/agent.log" | tail -n 30
	exit 1
}



case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's tracepoints need root"
	[ -e /sys/kernel/btf/vmlinux ] || [ -d /sys/fs/bpf ] || skip "no kernel eBPF here"
	run_snoop() { exec "$snoop"; }
	run_target() { exec "$target" "$@"; }
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session=syscalls
	session_dir=$BPFTIME_SESSION_DIR/$session
	run_snoop() { exec "$dir/bpftime-run" --session "$session" -- "$snoop"; }
	run_target() { exec "$dir/bpftime" start --session "$session" -- "$target" "$@"; }
	;;
*)
	echo "usage: syscall_test.sh kernel|bpftime BPFTIME_DIR OPENSNOOP TARGET" >&2
	exit 2
	;;
esac

file=$tmp/opened-by-target
echo data >"$file"
chmod 644 "$file"
extra="-F -V"
what="$threads threads, fork, vfork"
case $(basename "$target") in
*static* | *musl*) ;;
*)
	extra="$extra -x"
	what="$what, exec"
	;;
esac

# The target first: it waits for SIGUSR1.
# shellcheck disable=SC2086 # $extra is several words
run_target -w -f "$file" -t "$threads" -n "$calls" $extra >"$tmp/target.out" 2>"$tmp/target.err" &
pids="$pids $!"
wait_file "$tmp/target.out" "ready" 10 || fail "the target did not start"
tpid=$(awk '/ready/ {print $2; exit}' "$tmp/target.out")

run_snoop >"$tmp/snoop.out" 2>"$tmp/snoop.err" &
spid=$!
pids="$pids $spid"
wait_file "$tmp/snoop.err" "tracing openat" 10 || fail "opensnoop did not attach"
if [ "$mode" = bpftime ]; then
	# the agent in the target links both events and rewrites its sites
	for msg in "hooked: sys_enter_openat" "hooked: sys_exit_openat" \
		"syscall sites rewritten"; do
		wait_file "$session_dir/agent.log" "agent\[$tpid\]: .*$msg" 5 ||
			fail "the agent in the target did not say '$msg' within 5 s"
	done
fi

kill -USR1 "$tpid"
wait_file "$tmp/target.out" "opens" 60 || fail "the target did not finish"
want=$(awk '/ opens / {print $4; exit}' "$tmp/target.out")
# the ring buffer is polled: give the last events time to arrive
sleep 1
kill -INT "$spid"
wait "$spid"
rc=$?
[ "$rc" -eq 0 ] || fail "opensnoop exited $rc"
# PID COMM RET PATH
got=$(awk -v f="$file" '$4 == f && $3 >= 0 {n++} END {print n + 0}' "$tmp/snoop.out")
own=$(awk -v f="$file" -v p="$tpid" '$4 == f && $3 >= 0 && $1 == p {n++} END {print n + 0}' \
	"$tmp/snoop.out")
bad=$(awk -v f="$file" '$4 == f && $3 < 0 {n++} END {print n + 0}' "$tmp/snoop.out")
[ "$bad" = 0 ] || fail "$mode: $bad failed openat() calls of $file reported, none made"
# the threads' and one of the main thread's (-V), not the vfork child's
[ "$own" = $((threads * calls + 1)) ] ||
	fail "$mode: $own openat() calls of $file by pid $tpid reported, it made $((threads * calls + 1))"
[ "$got" = "$want" ] ||
	fail "$mode: $got openat() calls of $file reported, the target and its children made $want"
if [ "$mode" = bpftime ]; then
	grep "agent\[$tpid\]: .*syscall sites rewritten" "$session_dir/agent.log" |
		sed 's/^/  /'
fi
echo "ok: $mode: $(basename "$target"): $got openat() calls reported ($what), as made"
