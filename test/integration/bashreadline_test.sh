#!/bin/sh
# SPDX-License-Identifier: MIT
# bashreadline, unmodified, end to end: a uretprobe on bash's readline()
# prints the commands typed into an interactive bash.
#
#   bashreadline_test.sh MODE BPFTIME_DIR TOOL [nogate]
#
# TOOL libbpf-tools: Debian's libbpf-tools `bashreadline`;
# TOOL bpftrace:     bpftrace's bashreadline.bt (under --fake-root).
# MODE bpftime: the tool under bpftime-run, the terminal (script(1) running
#   an interactive bash on a pty) under `bpftime start` in the same session:
#   the agent reaches bash through LD_PRELOAD (as whoever runs the suite:
#   root, and uid 65534 in the unprivileged pass);
# MODE kernel: both plain (root, kernel eBPF): the oracle for the same input.
#
# The commands, typed into bash's pty from a FIFO: `echo one`, `echo two`,
# `exit`. The tool's lines for our bash (TIME and PID dropped) must be
# exactly those, in order. A uretprobe fires only for calls entered after
# it is in place, so bash waits in PROMPT_COMMAND, before its first
# readline(), until the probe is in (bpftime: the agent in bash says so).
set -u
. "$(dirname "$0")/agent_lib.sh"
mode=$1
dir=$2
tool=$3
gate=${4:-gate}
bash=/bin/bash
[ -x "$bash" ] || skip "no $bash"
command -v script >/dev/null 2>&1 || skip "no script(1) (util-linux)"
case $tool in
libbpf-tools)
	prog=
	for p in /usr/sbin/bashreadline $(command -v bashreadline 2>/dev/null); do
		[ -x "$p" ] && prog=$p && break
	done
	[ -n "$prog" ] || skip "libbpf-tools' bashreadline is not installed"
	;;
bpftrace)
	command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
	prog=
	for p in /usr/sbin/bashreadline.bt /usr/share/bpftrace/tools/bashreadline.bt; do
		[ -r "$p" ] && prog=$p && break
	done
	[ -n "$prog" ] || skip "bpftrace's bashreadline.bt is not installed"
	;;
*)
	echo "usage: bashreadline_test.sh kernel|bpftime BPFTIME_DIR libbpf-tools|bpftrace" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-brl.XXXXXX") || exit 1
chmod 755 "$tmp"
pids=
cleanup() {
	# Only the processes this script started, by pid.
	exec 3>&- 2>/dev/null
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	show 20 tool.out tool.err term.out
	show_agent_log
	exit 1
}


# A copy of bash, still named bash (libbpf-tools' program wants that
# comm): a kernel uprobe on /bin/bash (a kernel-mode run of this test at
# the same time, anyone's bashreadline) writes its int3 into /bin/bash's
# page cache, in every process, and bpftime's agent cannot hook over it.
# The tools are pointed at the copy: libbpf-tools' with its -s option,
# bpftrace's script with the path changed.
cp "$bash" "$tmp/bash" || fail "cannot copy $bash"
bash=$tmp/bash
case $tool in
libbpf-tools) cmd="$prog -s $bash" ;;
bpftrace)
	sed "s|/bin/bash:|$bash:|" "$prog" >"$tmp/bashreadline.bt"
	grep -q "^uretprobe:$bash:readline" "$tmp/bashreadline.bt" ||
		fail "$prog: no uretprobe:/bin/bash:readline to point at the copy"
	cmd="bpftrace $tmp/bashreadline.bt"
	;;
esac
case $mode in
kernel)
	[ "$(id -u)" -eq 0 ] || skip "the kernel's uprobes need root"
	[ -e /sys/kernel/btf/vmlinux ] || [ -d /sys/fs/bpf ] || skip "no kernel eBPF here"
	# shellcheck disable=SC2086 # $cmd is words
	run_tool() { exec stdbuf -oL $cmd; }
	run_term() { exec "$@"; }
	;;
bpftime)
	export BPFTIME_SESSION_DIR="$tmp/sessions"
	session=brl
	session_dir=$BPFTIME_SESSION_DIR/$session
	fake=
	[ "$tool" = bpftrace ] && fake=--fake-root
	# shellcheck disable=SC2086 # $fake and $cmd are words
	run_tool() { exec "$dir/bpftime-run" --session "$session" $fake -- stdbuf -oL $cmd; }
	run_term() { exec "$dir/bpftime" start --session "$session" -- "$@"; }
	;;
*)
	echo "usage: bashreadline_test.sh kernel|bpftime BPFTIME_DIR libbpf-tools|bpftrace" >&2
	exit 2
	;;
esac

# The tool first.
run_tool >"$tmp/tool.out" 2>"$tmp/tool.err" &
tpid=$!
pids="$pids $tpid"
# The header comes after the probe is attached and the perf buffer made
# (line buffered: stdbuf), in both modes: a tool attaches its uprobe before
# it makes its perf buffer, and an event in between is dropped (on the
# kernel too: no buffer in the array's slot yet). Under bpftime the agent
# in bash also says when the probe is in, below.
wait_file "$tmp/tool.out" "COMMAND" 30 || fail "the tool did not attach"

# The terminal: script(1) gives bash a pty and copies the FIFO to it. bash
# writes its pid and waits for $tmp/go before each prompt; no rc files, no
# history file. SHELL=/bin/sh: script's `$SHELL -c` is not a bash.
mkfifo "$tmp/in" || fail "mkfifo"
export HISTFILE=
export TERM=dumb
export PROMPT_COMMAND="echo \$\$ >'$tmp/bash.pid'; until [ -e '$tmp/go' ]; do sleep 0.05; done"
[ "$gate" = nogate ] && PROMPT_COMMAND="echo \$\$ >'$tmp/bash.pid'"
SHELL=/bin/sh run_term script -qfc "exec $bash --norc --noprofile -i" /dev/null \
	<"$tmp/in" >"$tmp/term.out" 2>&1 &
spid=$!
pids="$pids $spid"
exec 3>"$tmp/in"
wait_file "$tmp/bash.pid" "^[0-9]" 10 || fail "the interactive bash did not start"
bpid=$(cat "$tmp/bash.pid")
if [ "$mode" = bpftime ]; then
	wait_file "$session_dir/agent.log" "agent\[$bpid\]: perf event .*: \(hooked\|the site cannot\)" 10 ||
		fail "the agent in bash ($bpid) did not hook readline within 10 s"
	grep -q "agent\[$bpid\]: perf event .*: hooked" "$session_dir/agent.log" ||
		fail "the agent in bash ($bpid) could not hook readline"
fi
: >"$tmp/go"
for c in "echo one" "echo two" "exit"; do
	printf '%s\n' "$c" >&3
	sleep 0.2
done
wait_gone "$spid" 20 || fail "bash did not exit"
exec 3>&-
wait "$spid"
# the last event on its way to the tool
sleep 0.5
# Ctrl-C; again every 2 s: the kernel-mode bpftrace (0.17) now and then
# loses the first SIGINT (caught, not pending, still polling)
n=0
while kill -INT "$tpid" 2>/dev/null && ! wait_gone "$tpid" 2; do
	n=$((n + 1))
	[ "$n" -lt 5 ] || fail "the tool did not exit within 10 s of SIGINT"
done
wait "$tpid"
rc=$?
[ "$rc" -eq 0 ] || fail "the tool exited $rc"

printf 'echo one\necho two\nexit\n' >"$tmp/want"
# TIME PID COMMAND: libbpf-tools' TIME is one word, bpftrace's too
# (%H:%M:%S); keep our bash's lines, drop TIME and PID.
awk -v p="$bpid" '$2 == p { sub(/^[^ ]+ +[^ ]+ +/, ""); print }' "$tmp/tool.out" >"$tmp/got"
if [ "$mode" = bpftime ]; then
	# only the session's processes are traced: nothing but our bash
	others=$(awk -v p="$bpid" '$1 ~ /^[0-9][0-9]:/ && $2 != p' "$tmp/tool.out")
	[ -z "$others" ] || fail "lines from other processes: $others"
fi
if ! cmp -s "$tmp/want" "$tmp/got"; then
	diff "$tmp/want" "$tmp/got" | sed 's/^/  diff: /'
	fail "$mode $tool: the commands printed for bash $bpid differ from those typed"
fi
echo "ok: $mode $tool: bashreadline printed the 3 commands typed into bash $bpid, in order"
