#!/bin/sh
# SPDX-License-Identifier: MIT
# `bpftime run --agent`: TOOL probes itself. The agent's own calls (its
# openat and mmap of the session's files) must reach the kernel, not the
# emulator: a writable mapping of a frozen map (.rodata) is refused to
# TOOL's bpf() fds, and the agent could not load programs that use one.
#
#   run_agent_test.sh BPFTIME_DIR KIND COUNTER
#
# KIND dynamic: COUNTER (example/malloc-counter, dynamic) counts the
#   malloc() calls of every process; under --agent it probes itself, and
#   its own printing mallocs: at least one "PID COUNT" line with a count
#   above 0, and no error in the session's agent.log.
# KIND static: the static COUNTER has no libc mapped to probe; the agent is
#   injected over ptrace and must start without an error in agent.log.
set -u
dir=$1
kind=$2
counter=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-run-agent.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export BPFTIME_SESSION_DIR="$tmp/sessions"
session=self
log=$BPFTIME_SESSION_DIR/$session/agent.log

fail() {
	echo "FAIL: $*"
	for f in out err; do
		[ -s "$tmp/$f" ] && sed "s/^/  $f: /" "$tmp/$f" | tail -n 20
	done
	[ -e "$log" ] && sed 's/^/  agent.log: /' "$log" | tail -n 20
	exit 1
}

"$dir/bpftime" run --session "$session" --agent -- "$counter" -d 2 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -qi "seccomp.*\(not supported\|notification\|EOPNOTSUPP\)" "$tmp/err"; then
	echo "SKIP: no seccomp user notification here"
	exit 77
fi
[ "$rc" -eq 0 ] || fail "bpftime run --agent exited $rc"
[ -e "$log" ] || fail "no agent.log: the agent did not start"
grep -q "joined the session" "$log" || fail "the agent did not join the session"
if grep -qi "cannot\|error\|fail" "$log"; then
	fail "the agent reports an error"
fi
case $kind in
dynamic)
	grep -q "hooked" "$log" || fail "the agent hooked nothing"
	awk 'NF == 2 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $2 > 0 { found = 1 }
	     END { exit !found }' "$tmp/out" || fail "no count above 0 for the tool itself"
	;;
static)
	grep -q "injected" "$log" || fail "the agent was not injected"
	;;
*)
	echo "usage: run_agent_test.sh BPFTIME_DIR dynamic|static COUNTER" >&2
	exit 2
	;;
esac
echo "PASS: run --agent, $kind"
