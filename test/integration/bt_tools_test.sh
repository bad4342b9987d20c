#!/bin/sh
# SPDX-License-Identifier: MIT
# bpftrace's bundled tools that need only user-space probes (Debian's
# /usr/sbin/*.bt), unmodified, print for a workload what they print on
# the kernel: compat/bt_tools_target.c makes one known round of the
# syscalls (and libc calls) each tool traces; the tool's lines for the
# target's pid, normalised (its pid, times, latencies, the uid), must equal
# compat/bt-tools/TOOL.out, the kernel's, which the kernel mode (root)
# checks again on every run. A tool with compat/bt-tools/TOOL.list also has
# `bpftrace -l PATTERN` (the file's first line) compared with the kernel's.
#
#   bt_tools_test.sh kernel|bpftime BPFTIME_DIR TARGET TOOL
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
target=$3
tool=$4
script=/usr/sbin/$tool.bt
want=$(dirname "$0")/compat/bt-tools/$tool.out
[ -r "$script" ] || skip "$script is not installed (bpftrace)"
make_tmp bt-tools

fail() {
	echo "FAIL: $mode $tool: $*"
	show 30 target.out bt.out bt.err
	[ "$mode" = bpftime ] && show_agent_log
	exit 1
}

case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's probes need root"
	run_target() { exec "$target" "$@"; }
	run_bt() { exec bpftrace "$script"; }
	run_list() { exec bpftrace -l "$1"; }
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session=bt-tools
	session_dir=$BPFTIME_SESSION_DIR/$session
	run_target() { exec "$dir/bpftime" start --session "$session" -- "$target" "$@"; }
	run_bt() { exec "$dir/bpftime-run" --session "$session" --fake-root -- bpftrace "$script"; }
	run_list() { exec "$dir/bpftime-run" --session "$session-list" --fake-root -- bpftrace -l "$1"; }
	;;
*)
	echo "usage: bt_tools_test.sh kernel|bpftime BPFTIME_DIR TARGET TOOL" >&2
	exit 2
	;;
esac

start_target "$tmp"
start_bt "Hit Ctrl-C" "start tracing"
if [ "$mode" = kernel ]; then
	sleep 1
else
	# every probe hooked in the target: the count of hooked events stays
	# the same for half a second (the tools' probe counts vary with
	# wildcards and with which syscalls exist)
	last=-1 same=0 k=0
	while [ "$same" -lt 10 ] && [ "$k" -lt 200 ]; do
		n=$(grep -c "agent\[$tpid\]: perf event .*: hooked" "$session_dir/agent.log" 2>/dev/null)
		if [ "$n" = "$last" ] && [ "$n" -gt 0 ]; then same=$((same + 1)); else same=0; fi
		last=$n k=$((k + 1))
		sleep 0.05
	done
	[ "$same" -ge 10 ] || fail "the agent did not hook the tool's probes"
	case $(head -c 300 "$script") in
	*) grep -q "tracepoint:" "$script" &&
		{ wait_file "$session_dir/agent.log" "agent\[$tpid\]: .*libc.*syscall sites rewritten" 10 ||
			fail "the agent did not rewrite the target's syscall sites"; } ;;
	esac
fi
kill -USR1 "$tpid"
wait_file "$tmp/target.out" "^done" 10 || fail "the target did not finish"
sleep 0.5
kill -INT "$bpid"
wait "$bpid"

# the target's lines: its pid as a field; then TIME (HH:MM:SS) dropped,
# the pid and its parent's, the uid and latencies made words
# (the target's own lines: naptime's PID is its fourth field, the others'
# their first)
sed -e 's/^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] *//' -e "s|$tmp|TMP|g" "$tmp/bt.out" |
	awk -v p="$tpid" -v t="$tool" '(t == "naptime" ? $3 : $1) == p' |
	awk -v p="$tpid" -v pp="$$" -v u="$(id -u)" -v t="$tool" '{
		for (i = 1; i <= NF; i++) {
			if ($i == p) $i = "PID"
			else if ($i == pp) $i = "PPID"
		}
		if (t == "gethostlatency") $3 = "LATms"
		if (t == "setuids") { $3 = "UID"; sub("uid=" u " ", "uid=UID ") }
		print
	}' >"$tmp/got"
[ -s "$tmp/got" ] || fail "no line for the target (pid $tpid)"
if [ "${BPFTIME_RECORD:-}" = 1 ] && [ "$mode" = kernel ]; then
	mkdir -p "$(dirname "$want")"
	cp "$tmp/got" "$want"
fi
if ! cmp -s "$want" "$tmp/got"; then
	diff "$want" "$tmp/got" | sed 's/^/  diff: /'
	fail "the output differs from the kernel's ($want)"
fi
lines=$(wc -l <"$tmp/got")

# a tool with a tracepoint wildcard: bpftrace -l lists what the kernel's does
# (compat/bt-tools/TOOL.list: the pattern, then the kernel's names)
list=$(dirname "$0")/compat/bt-tools/$tool.list pattern=
if [ -r "$list" ]; then
	pattern=$(head -n 1 "$list")
	(run_list "$pattern") >"$tmp/list.out" 2>"$tmp/bt.err" || fail "bpftrace -l '$pattern' failed"
	{ echo "$pattern" && cat "$tmp/list.out"; } >"$tmp/list"
	if [ "${BPFTIME_RECORD:-}" = 1 ] && [ "$mode" = kernel ]; then
		cp "$tmp/list" "$list"
	fi
	if ! cmp -s "$list" "$tmp/list"; then
		diff "$list" "$tmp/list" | sed 's/^/  diff: /'
		fail "bpftrace -l '$pattern' differs from the kernel's ($list)"
	fi
fi
echo "ok: $mode $tool: $lines lines${pattern:+ and -l $pattern}, as on the kernel"
