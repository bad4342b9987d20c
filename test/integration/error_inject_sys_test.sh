#!/bin/sh
# SPDX-License-Identifier: MIT
# bpf_override_return() from a kprobe on a syscall's wrapper, end to end:
# example/error-inject's error-inject-sys (SEC("ksyscall/openat"), i.e. a
# kprobe on __x64_sys_openat) under bpftime-run makes its victim's
# openat(TARGET) fail with a chosen errno, without making the syscall,
# while the victim's other syscalls run as usual.
#
#   error_inject_sys_test.sh BPFTIME_DIR TOOL VICTIM_OPEN
#
# The victim opens TARGET (O_CREAT; with open(3), a `mov $nr,%eax;
# syscall` site, and with syscall(2), a window site) and OTHER 3 times
# after SIGUSR1: each open of TARGET must fail with EACCES (-13, which
# O_CREAT in our own directory would never give) and leave no file; each
# open of OTHER must succeed. The tool must count 6 overrides, 9 openat
# calls, 6 sys_exit_openat events that saw -13 (the exit tracepoint runs
# with the overridden result, as the kernel's) and, from a kretprobe on
# the wrapper, 3 successful calls (ctx->ax the result). Then a kprobe on
# anything but a syscall's wrapper (do_sys_openat2) must fail to attach
# with ENOENT, with one line from bpftime saying why, as every kprobe
# failed before syscall wrappers were served. The kernel is the oracle
# only where it has kprobes and CONFIG_BPF_KPROBE_OVERRIDE (root).
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
tool=$2
victim=$3
make_tmp errsys

export BPFTIME_SESSION_DIR="$tmp/sessions"
session=errsys
session_dir=$BPFTIME_SESSION_DIR/$session
target=$tmp/target
other=$tmp/other
echo other >"$other"

fail() {
	echo "FAIL: $*"
	show 20 victim.out victim.err tool.out tool.err other.err
	show_agent_log
	exit 1
}

# (run_* are only run in the background: they exec, so that $! is the
# process itself and signals reach it)
run_tool() { exec "$dir/bpftime-run" --session "$session" -- "$tool" "$@"; }
run_victim() { exec "$dir/bpftime" start --session "$session" -- "$victim" "$@"; }

run_victim -w -s -n 3 "$target" "$other" >"$tmp/victim.out" 2>"$tmp/victim.err" &
pids="$pids $!"
wait_file "$tmp/victim.out" "ready" 10 || fail "the victim did not start"
vpid=$(awk '/ready/ {print $2; exit}' "$tmp/victim.out")

run_tool -P "$target" -p "$vpid" -r -13 >"$tmp/tool.out" 2>"$tmp/tool.err" &
tpid=$!
pids="$pids $tpid"
wait_file "$tmp/tool.err" "openat of .* returns -13" 10 || fail "the tool did not attach"
# the kprobe, the kretprobe and the sys_exit_openat tracepoint; then
# libc's sites (a link is logged before the sites are patched)
wait_hooked "$vpid" 3
wait_file "$session_dir/agent.log" "agent\[$vpid\]: .*libc.*syscall sites rewritten" 5 ||
	fail "the agent did not patch libc's syscall sites within 5 s"

kill -USR1 "$vpid"
wait_count "$tmp/victim.out" "other" 3 10
[ "$(grep -c "target -1 errno 13 exists 0$" "$tmp/victim.out")" -eq 3 ] ||
	fail "open($target) did not fail with EACCES, unmade, 3 times"
[ "$(grep -c "target-raw -1 errno 13 exists 0$" "$tmp/victim.out")" -eq 3 ] ||
	fail "syscall(SYS_openat, $target) did not fail with EACCES, unmade, 3 times"
[ "$(grep -c "other 0 errno 0$" "$tmp/victim.out")" -eq 3 ] ||
	fail "openat($other) did not succeed 3 times"
[ -e "$target" ] && fail "$target exists: the overridden openat was made"
kill -TERM "$tpid"
wait "$tpid"
rc=$?
[ "$rc" -eq 0 ] || fail "the tool exited $rc"
grep -q "^overrides 6 openat 9 returned 6 succeeded 3$" "$tmp/tool.out" ||
	fail "the tool did not count 6 overrides of 9 openat calls, 6 exits with -13, 3 successes"
echo "ok: open() and syscall(SYS_openat) of $target failed with EACCES 3 times each, unmade; other opens ran"

# a kprobe on a kernel function that is not a syscall's wrapper: ENOENT,
# with one line from bpftime (the tool's first line from bpftime)
"$dir/bpftime-run" --session errsys2 -- "$tool" -P "$target" -k do_sys_openat2 -d 1 \
	>"$tmp/other.out" 2>"$tmp/other.err"
rc=$?
[ "$rc" -eq 1 ] || fail "a kprobe on do_sys_openat2: the tool exited $rc, not 1"
grep -q "attaching to do_sys_openat2: No such file or directory$" "$tmp/other.err" ||
	fail "a kprobe on do_sys_openat2 did not fail with ENOENT"
[ "$(grep -c "^bpftime: .*kprobe do_sys_openat2.*-ENOENT$" "$tmp/other.err")" -eq 1 ] ||
	fail "bpftime did not say once why a kprobe on do_sys_openat2 cannot be had"
echo "ok: a kprobe on do_sys_openat2 fails with ENOENT and one line saying why"

# bpftrace's override() on a kprobe on the wrapper (Debian's bpftrace,
# unmodified; --unsafe as the kernel's needs): every openat of the victim
# fails with EPERM (-1) and the probe's printf reaches bpftrace
if command -v bpftrace >/dev/null 2>&1; then
	run_bt() {
		exec "$dir/bpftime-run" --session errsys3 --fake-root -- bpftrace --unsafe -e \
			"kprobe:__x64_sys_openat /pid == $1/ { printf(\"hit %d\\n\", pid); override(-1); }"
	}
	run_vbt() { exec "$dir/bpftime" start --session errsys3 -- "$victim" "$@"; }
	run_vbt -w -n 2 "$target" "$other" >"$tmp/bvictim.out" 2>"$tmp/bvictim.err" &
	pids="$pids $!"
	wait_file "$tmp/bvictim.out" "ready" 10 || fail "bpftrace's victim did not start"
	bv=$(awk '/ready/ {print $2; exit}' "$tmp/bvictim.out")
	run_bt "$bv" >"$tmp/bt.out" 2>"$tmp/bt.err" &
	bt=$!
	pids="$pids $bt"
	session_dir=$BPFTIME_SESSION_DIR/errsys3
	wait_file "$tmp/bt.out" "Attaching" 30 || fail "bpftrace did not attach"
	wait_hooked "$bv" 1
	wait_file "$session_dir/agent.log" "agent\[$bv\]: .*libc.*syscall sites rewritten" 5 ||
		fail "the agent did not patch libc's syscall sites for bpftrace within 5 s"
	kill -USR1 "$bv"
	wait_count "$tmp/bvictim.out" "other" 2 10
	# bpftrace drops the events it has not printed when SIGINT comes (on
	# the kernel too): its 4 hits first
	wait_count "$tmp/bt.out" "^hit $bv$" 4 10
	interrupt "$bt" bpftrace
	[ "$(grep -c "errno 1\( exists 0\)*$" "$tmp/bvictim.out")" -eq 4 ] ||
		{ show 10 bvictim.out bt.out bt.err; fail "bpftrace's override(-1) did not fail 4 opens with EPERM"; }
	[ "$(grep -c "^hit $bv$" "$tmp/bt.out")" -eq 4 ] ||
		{ show 10 bt.out; fail "bpftrace did not print 4 hits"; }
	echo "ok: bpftrace's kprobe:__x64_sys_openat { override(-1) } failed 4 opens with EPERM"
else
	echo "SKIP (bpftrace part): bpftrace is not installed"
fi

# the kernel, as the oracle, where it can be
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP (kernel part): not root"
elif [ ! -e /sys/bus/event_source/devices/kprobe/type ]; then
	echo "SKIP (kernel part): this kernel has no kprobes (CONFIG_KPROBES)"
else
	"$victim" -w -s -n 3 "$target" "$other" >"$tmp/kvictim.out" 2>&1 &
	kv=$!
	pids="$pids $kv"
	wait_file "$tmp/kvictim.out" "ready" 10 || fail "the kernel's victim did not start"
	"$tool" -P "$target" -p "$kv" -r -13 >"$tmp/ktool.out" 2>"$tmp/ktool.err" &
	kt=$!
	pids="$pids $kt"
	if ! wait_file "$tmp/ktool.err" "openat of .* returns -13" 10; then
		sed 's/^/  kernel tool: /' "$tmp/ktool.err" | tail -n 5
		echo "SKIP (kernel part): the kernel refused (CONFIG_BPF_KPROBE_OVERRIDE?)"
	else
		kill -USR1 "$kv"
		wait "$kv"
		kill -TERM "$kt"
		wait "$kt"
		[ "$(grep -c "errno 13 exists 0$" "$tmp/kvictim.out")" -eq 6 ] ||
			fail "the kernel: openat($target) did not fail with EACCES 6 times"
		grep -q "^overrides 6 openat 9 returned 6 succeeded 3$" "$tmp/ktool.out" ||
			fail "the kernel: the tool's counts differ from bpftime's"
		echo "ok: the kernel agrees"
	fi
fi
