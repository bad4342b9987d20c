#!/bin/sh
# SPDX-License-Identifier: MIT
# Debian's bpftrace, unmodified, prints under bpftime what it prints on the
# kernel (issue 6): one program of test/integration/compat/CASE.bt against
# the workload compat/bt_target.c, its output normalised (the Attaching
# line and blank lines dropped, the test's directory named TMP, stack
# frames' offsets dropped, the lines sorted: maps with equal values print
# in any order) and compared with
# compat/CASE.out, the kernel's output recorded as root:
#
#   compat_bpftrace_test.sh MODE BPFTIME_DIR TARGET CASE
#
# MODE kernel (root): bpftrace and the target plain, compared with CASE.out
#   (BPFTIME_COMPAT_UPDATE=1 writes CASE.out instead: the way to record
#   it); MODE bpftime: bpftrace under bpftime-run --fake-root, the target
#   under `bpftime start`.
# A CASE.bt names its placeholders @T@ (the target) and @P@ (its pid); its
# first line says how many probes (uprobes, uretprobes, syscall tracepoints)
# the agent must hook ("# probes: N"), and "syscalls" when it also waits for
# the syscall sites.
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
case_=$4
cases=$(cd "$(dirname "$0")/compat" && pwd)
command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
make_tmp compat
fail() {
	echo "FAIL: $*"
	show 30 target.out bt.out bt.err
	show_agent_log
	exit 1
}
cp "$target" "$tmp/bt_target"
target=$tmp/bt_target
printf 'hello world\n' >"$tmp/compat-file"
chmod 644 "$tmp/compat-file"
header=$(head -n 1 "$cases/$case_.bt")
probes=$(echo "$header" | awk '{print $3}')
bt_mode "$mode" compat "compat_bpftrace_test.sh kernel|bpftime DIR TARGET CASE"
start_target "$tmp/compat-file"
script=$(sed -e 1d -e "s|@T@|$target|g" -e "s|@P@|$tpid|g" "$cases/$case_.bt")
start_bt Attaching attach
if [ "$mode" = kernel ]; then
	sleep 1 # "Attaching" comes before the kernel has the probes
else
	[ "$probes" -gt 0 ] && wait_hooked "$tpid" "$probes"
	case $header in
	*syscalls*)
		wait_file "$session_dir/agent.log" "agent\[$tpid\]: .*libc.*syscall sites rewritten" 10 ||
			fail "the agent did not rewrite the target's syscall sites"
		;;
	esac
fi
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "^done" 10 || fail "the target did not finish"
case $script in
*"exit()"*)
	# a SIGINT while it runs END and drains its buffers makes bpftrace
	# drop the events not yet printed (its clear(), for one), on the
	# kernel as here: it is let finish
	wait_gone "$bpid" 20 || fail "bpftrace did not exit by itself within 20 s"
	;;
*)
	# bpftrace drops what it has not printed yet when SIGINT comes
	wait_quiet "$tmp/bt.out" 10
	interrupt "$bpid" bpftrace
	;;
esac
wait "$bpid"
# a stack frame's offset depends on the compiler (the clang build's
# target is not the gcc build's): frames are compared by symbol
grep -v -e '^Attaching' -e '^$' "$tmp/bt.out" | sed -e "s|$tmp|TMP|g" \
	-e 's/^\( *[A-Za-z_][A-Za-z0-9_]*\)+[0-9][0-9]*$/\1+N/' | LC_ALL=C sort >"$tmp/got"
# a program bpftrace could not load leaves an empty output on both sides:
# that would compare equal and prove nothing
if grep -v RLIMIT_MEMLOCK "$tmp/bt.err" | grep -q 'ERROR'; then
	fail "$mode $case_: bpftrace reported an error: $(grep ERROR "$tmp/bt.err" | head -n 3)"
fi
[ -s "$tmp/got" ] || fail "$mode $case_: bpftrace printed nothing"
if [ "$mode" = kernel ] && [ "${BPFTIME_COMPAT_UPDATE:-0}" = 1 ]; then
	cp "$tmp/got" "$cases/$case_.out"
	echo "ok: kernel $case_: recorded $cases/$case_.out"
	exit 0
fi
if ! cmp -s "$cases/$case_.out" "$tmp/got"; then
	diff "$cases/$case_.out" "$tmp/got" | sed 's/^/  diff: /'
	fail "$mode $case_: bpftrace's output differs from the kernel's (compat/$case_.out)"
fi
echo "ok: $mode $case_: $(wc -l <"$tmp/got") lines, as on the kernel"
