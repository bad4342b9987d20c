#!/bin/sh
# SPDX-License-Identifier: MIT
# Which syscall sites the agent patches: a `mov $nr,%eax; syscall` site
# only while a link wants its number (agent-sc-sites.c). The target
# (syscall_sites_target.c) under `bpftime start` prints the first byte of
# glibc's getppid() and getuid() on SIGUSR1 (b8: the mov; e9: our jmp).
#
#   syscall_sites_test.sh BPFTIME_DIR OPENSNOOP TOOL TARGET
#
# With opensnoop (links on openat) both stay b8; with TOOL -m tp too (the
# bench/hooks tool: a link on sys_enter_getppid) getppid is e9, getuid b8;
# with TOOL gone (opensnoop still linked) getppid is b8 again.
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
snoop=$2
tool=$3
target=$4
make_tmp sc-sites
export BPFTIME_SESSION_DIR="$tmp/sessions"
session=sites
log=$BPFTIME_SESSION_DIR/$session/agent.log

fail() {
	echo "FAIL: $*"
	show 10 target.out target.err snoop.err tool.err
	show_agent_log "$log"
	exit 1
}


# expect GETPPID GETUID WHAT: asks the target until its bytes are those (5 s)
expect() {
	i=0
	while [ "$i" -lt 50 ]; do
		kill -USR1 "$tpid"
		sleep 0.1
		last=$(tail -n 1 "$tmp/target.out")
		[ "$last" = "bytes getppid $1 getuid $2" ] && {
			echo "ok: $3: $last"
			return 0
		}
		i=$((i + 1))
	done
	fail "$3: want getppid $1 getuid $2, the target says '$last'"
}

"$dir/bpftime" start --session "$session" -- "$target" >"$tmp/target.out" 2>"$tmp/target.err" &
pids="$pids $!"
wait_file "$tmp/target.out" "ready" 10 || fail "the target did not start"
tpid=$(awk '/ready/ {print $2; exit}' "$tmp/target.out")
expect b8 b8 "no link"

"$dir/bpftime-run" --session "$session" -- "$snoop" >"$tmp/snoop.out" 2>"$tmp/snoop.err" &
spid=$!
pids="$pids $spid"
wait_file "$log" "agent\[$tpid\]: .*libc.*syscall sites rewritten" 10 ||
	fail "the agent did not patch the target for opensnoop"
expect b8 b8 "links on openat"

"$dir/bpftime-run" --session "$session" -- "$tool" -m tp -p "$tpid" -b "$target" \
	>"$tmp/tool.out" 2>"$tmp/tool.err" &
cpid=$!
pids="$pids $cpid"
wait_file "$tmp/tool.err" "attached" 10 || fail "the tool did not attach"
expect e9 b8 "links on openat and sys_enter_getppid"

kill -TERM "$cpid"
wait "$cpid"
expect b8 b8 "links on openat again"

kill -TERM "$tpid" "$spid"
wait "$spid" 2>/dev/null
grep "agent\[$tpid\]: .*libc.*syscall sites rewritten" "$log" | sed 's/^/  /'
echo "ok: a mov site is patched exactly while a link wants its number"
