# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2154 # tmp and pids are the sourcing script's
# Shared by the agent's end-to-end scripts here (sourced, not run):
#   . "$(dirname "$0")/agent_lib.sh"
# They set $tmp (their directory) and $pids (what they started) and call
# `trap cleanup EXIT`.

# Only the processes the script started, by pid; then its directory.
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# wait_file FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_file() {
	i=0
	while [ "$i" -lt $(($3 * 20)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# show LINES FILE...: the last LINES lines of each non-empty $tmp/FILE,
# prefixed with its name (for a failure's report).
show() {
	n=$1
	shift
	for f in "$@"; do
		[ -s "$tmp/$f" ] && sed "s/^/  $f: /" "$tmp/$f" | tail -n "$n"
	done
	return 0
}

# show_agent_log [LOG]: the agent's log (default: $session_dir/agent.log).
show_agent_log() {
	l=${1:-${session_dir:+$session_dir/agent.log}}
	[ -n "$l" ] && [ -e "$l" ] && sed 's/^/  agent.log: /' "$l" | tail -n 20
	return 0
}

# interrupt PID WHAT: SIGINT, again every 2 s (bpftrace 0.17 sometimes lets
# the first one go by, on the kernel too), and a failure if PID has not
# exited within 10 s: a tool that never exits is reported with its output,
# not a hang until ctest's timeout.
interrupt() {
	kill -INT "$1"
	k=0
	while kill -0 "$1" 2>/dev/null; do
		k=$((k + 1))
		[ "$k" -lt 200 ] || fail "$2 did not exit within 10 s of SIGINT"
		[ $((k % 40)) -eq 0 ] && kill -INT "$1" 2>/dev/null
		sleep 0.05
	done
	return 0
}

# wait_hooked PID N: until the agent in PID says N perf events are hooked
# (5 s), in $session_dir/agent.log.
wait_hooked() {
	k=0
	while [ "$(grep -c "agent\[$1\]: perf event .*: hooked" "$session_dir/agent.log" 2>/dev/null)" != "$2" ]; do
		k=$((k + 1))
		[ "$k" -lt 100 ] || fail "the agent did not hook $2 probe(s) within 5 s"
		sleep 0.05
	done
	return 0
}
