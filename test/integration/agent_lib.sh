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

# wait_count FILE PATTERN N SECONDS: until FILE has N lines matching
# PATTERN; 1 if not within SECONDS.
wait_count() {
	i=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		[ "$i" -lt $(($4 * 20)) ] || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 0
}

# wait_quiet FILE SECS: until FILE has not grown for half a second (at
# most SECS seconds): a tool has printed what it had.
wait_quiet() {
	i=0
	q=0
	last=-1
	while [ "$q" -lt 10 ] && [ "$i" -lt $(($2 * 20)) ]; do
		size=$(stat -c %s "$1" 2>/dev/null || echo 0)
		if [ "$size" = "$last" ]; then q=$((q + 1)); else q=0; fi
		last=$size
		sleep 0.05
		i=$((i + 1))
	done
}

# wait_gone PID SECS: until PID has exited (SECS seconds); 1 if it has not.
wait_gone() {
	k=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$k" -lt $(($2 * 20)) ] || return 1
		sleep 0.05
		k=$((k + 1))
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

# start_target [ARGS...]: run_target ARGS in the background, its output in
# $tmp/target.out, until it prints "ready PID"; $tpid is that PID.
start_target() {
	run_target "$@" >"$tmp/target.out" 2>&1 &
	pids="$pids $!"
	wait_file "$tmp/target.out" "^ready" 10 || fail "the target did not start"
	tpid=$(awk '/^ready/ {print $2; exit}' "$tmp/target.out")
}

# start_bt PATTERN WHAT: run_bt in the background ($tmp/bt.out, bt.err;
# $bpid) until bt.out matches PATTERN, else fail "bpftrace did not WHAT".
start_bt() {
	run_bt >"$tmp/bt.out" 2>"$tmp/bt.err" &
	bpid=$!
	pids="$pids $bpid"
	wait_file "$tmp/bt.out" "$1" 30 || fail "bpftrace did not $2"
}

# bt_mode MODE SESSION USAGE: run_bt (bpftrace -e "$script") and run_target
# (exec "$target" with the arguments given) for MODE, from $dir, $tmp,
# $script and $target: "kernel", both plain (root only, else a skip);
# "bpftime", bpftrace under bpftime-run --fake-root and the target under
# `bpftime start`, in session SESSION ($session_dir set); "attach", the
# target plain and bpftrace -p $tpid under bpftime-run --attach $tpid.
# Anything else prints USAGE and exits 2.
bt_mode() {
	case $1 in
	kernel)
		[ "$(id -u)" -eq 0 ] || skip "the kernel's uprobes need root"
		run_bt() { exec bpftrace -e "$script"; }
		run_target() { exec "$target" "$@"; }
		;;
	bpftime)
		export BPFTIME_SESSION_DIR="$tmp/sessions"
		session_dir=$BPFTIME_SESSION_DIR/$2
		bt_session=$2
		run_bt() {
			exec "$dir/bpftime-run" --session "$bt_session" --fake-root -- \
				bpftrace -e "$script"
		}
		run_target() { exec "$dir/bpftime" start --session "$bt_session" -- "$target" "$@"; }
		;;
	attach)
		# the target runs plainly; bpftime run --attach brings it the
		# agent before bpftrace -p names it ($tpid: set before run_bt)
		export BPFTIME_SESSION_DIR="$tmp/sessions"
		session_dir=$BPFTIME_SESSION_DIR/$2
		bt_session=$2
		run_bt() {
			exec "$dir/bpftime-run" --session "$bt_session" --fake-root --attach "$tpid" \
				-- bpftrace -p "$tpid" -e "$script"
		}
		run_target() { exec "$target" "$@"; }
		;;
	*)
		echo "usage: $3" >&2
		exit 2
		;;
	esac
}

# make_tmp NAME: $tmp, a new directory (mode 755: the targets may run as
# another user) under $TMPDIR, and $pids, empty; both go at exit (cleanup).
make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-$1.XXXXXX") || exit 1
	chmod 755 "$tmp"
	pids=
	trap cleanup EXIT
}
