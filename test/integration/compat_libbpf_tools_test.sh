#!/bin/sh
# SPDX-License-Identifier: MIT
# Debian's libbpf-tools, unmodified: the same tool on the same workload,
# once on the kernel and once under bpftime, normalised outputs compared.
#
#   compat_libbpf_tools_test.sh BPFTIME_DIR CASE TARGET
#
# TARGET is lbt_target (lbt_target.c): it prints "ready PID", waits for
# SIGUSR1, does one known piece of work and exits. Each run uses its own
# copy of it (and of libc when the tool probes libc), so that the kernel's uprobes,
# which write int3 into the page cache of the file they probe, touch no
# file any other test or run uses.
#
# kernel:  target and tool plainly (root only: as another user this part
#          skips with a message and the bpftime part still runs);
# bpftime: the tool under bpftime-run, the target under `bpftime start`
#          in the same session, as whoever runs the suite (root, and uid
#          65534 in the unprivileged pass).
#
# Each run's output is normalised (the target's pid becomes PID, times,
# timestamps and latencies dropped) and must equal what the workload did;
# when both ran, the two normalised outputs are also compared with each
# other.
#
# CASE            tool and workload
# opensnoop       opensnoop -p PID: 3 opens of a file (the fd the target
#                 got), one ENOENT
# syscount        syscount -p PID -T 4: 300 getppid, 200 getuid, 100 getgid,
#                 50 close
# syscount-x      syscount -p PID -x: the 50 failed close() calls only
# syscount-L      syscount -p PID -L: the same 4 counts, with latencies
#                 (entry and exit; a syscall entered before the tool
#                 attached has no start and is not counted, on either)
# funclatency     funclatency -p PID :lbt_work: 1000 calls (the histogram's
#                 counts summed; the latencies differ by design)
# funclatency-libc funclatency -p PID c:getppid: the 300 getppid() calls
#                 of the syscalls workload, in libc (a copy the target loads)
# gethostlatency  gethostlatency -p PID -l LIBC: 2 getaddrinfo, 1
#                 gethostbyname, 1 gethostbyname2 of "localhost"
# sigsnoop-k      sigsnoop -k -p PID (kill, tkill and tgkill's syscall
#                 tracepoints): 3 kill(self, SIGURG), kill(self, 0),
#                 kill(no such pid) = -ESRCH
# killsnoop       killsnoop -p PID (sigsnoop's other name): the same
# sigsnoop-kxn    sigsnoop -k -x -n -p PID: the failed kill() only, the
#                 signal by name
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
case_=$2
target_src=$3
usage="compat_libbpf_tools_test.sh BPFTIME_DIR CASE TARGET"
make_tmp lbt

fail() {
	echo "FAIL: $*"
	for m in kernel bpftime; do
		[ -d "$tmp/$m" ] || continue
		for f in tool.out tool.err target.out target.err; do
			[ -s "$tmp/$m/$f" ] && sed "s/^/  $m $f: /" "$tmp/$m/$f" | tail -n 25
		done
	done
	show_agent_log "$tmp/sessions/lbt/agent.log"
	exit 1
}

# ---- the cases: tool, workload, expected lines, normaliser ----
# hooks: how many perf events the agent in the target must hook (bpftime);
# sites: yes when the tool uses syscall tracepoints (the agent then says
# it rewrote libc's syscall sites); lines: how many output lines the
# normaliser must see before the tool is stopped (streaming tools);
# perfbuf: yes when the tool reads a perf buffer (see perfbufs_ready).
libc=
tool=
sites=no
lines=0
perfbuf=no
case $case_ in
opensnoop)
	tool="opensnoop -p @PID@"
	work="open @FILE@ 3"
	hooks=4 # open and openat, entry and exit
	sites=yes
	lines=4
	perfbuf=yes
	;;
syscount)
	tool="syscount -p @PID@ -T 4"
	work="syscalls 100"
	hooks=1 # raw_syscalls sys_exit (sys_enter only with -L)
	sites=yes
	printf '%s\n' "getppid 300" "getuid 200" "getgid 100" "close 50" >"$tmp/want"
	;;
syscount-x)
	tool="syscount -p @PID@ -x"
	work="syscalls 100"
	hooks=1
	sites=yes
	printf '%s\n' "close 50" >"$tmp/want"
	;;
syscount-L)
	tool="syscount -p @PID@ -L -T 10"
	work="syscalls 100"
	hooks=2 # raw_syscalls sys_enter and sys_exit
	sites=yes
	printf '%s\n' "close 50" "getgid 100" "getppid 300" "getuid 200" >"$tmp/want"
	;;
funclatency)
	tool="funclatency -p @PID@ :lbt_work"
	work="func 1000"
	hooks=2 # uprobe and uretprobe
	echo "calls 1000" >"$tmp/want"
	;;
funclatency-libc)
	tool="funclatency -p @PID@ c:getppid" # libc, found in the target's maps
	work="syscalls 100"
	libc=copy
	hooks=2
	echo "calls 300" >"$tmp/want"
	;;
gethostlatency)
	libc=copy
	tool="gethostlatency -p @PID@ -l @LIBC@"
	work="resolve 2"
	hooks=6 # getaddrinfo, gethostbyname, gethostbyname2: entry and return
	lines=4
	perfbuf=yes
	printf '%s\n' "lbt_target localhost" "lbt_target localhost" "lbt_target localhost" \
		"lbt_target localhost" >"$tmp/want"
	;;
sigsnoop-k | killsnoop)
	tool="sigsnoop -k -p @PID@"
	[ "$case_" = killsnoop ] && tool="killsnoop -p @PID@"
	work="kill 3"
	hooks=6 # kill, tkill and tgkill, entry and exit
	sites=yes
	lines=5
	perfbuf=yes
	printf '%s\n' "lbt_target 23 SELF 0" "lbt_target 23 SELF 0" "lbt_target 23 SELF 0" \
		"lbt_target 0 SELF 0" "lbt_target 23 2147483632 -3" >"$tmp/want"
	;;
sigsnoop-kxn)
	tool="sigsnoop -k -x -n -p @PID@"
	work="kill 3"
	hooks=6
	sites=yes
	lines=1
	perfbuf=yes
	echo "lbt_target SIGURG 2147483632 -3" >"$tmp/want"
	;;
*)
	echo "usage: $usage" >&2
	exit 2
	;;
esac
case $libc in
copy)
	libc=$(ldd "$target_src" | sed -n 's/.*libc\.so\.6 => \([^ ]*\).*/\1/p')
	[ -r "$libc" ] || skip "no libc.so.6 found for $target_src"
	;;
esac
prog=/usr/sbin/${tool%% *}
[ -x "$prog" ] || skip "libbpf-tools' ${tool%% *} is not installed (apt-get install libbpf-tools)"

# normalise PID OUT: the tool's output reduced to what must be equal
normalise() {
	case $case_ in
	opensnoop)
		# PID COMM FD ERR PATH
		awk -v p="$1" '$1 == p { print $2, $3, $4, $5 }' "$2"
		;;
	syscount | syscount-x)
		# SYSCALL COUNT, after the header
		awk '/^SYSCALL +COUNT/ { on = 1; next } on && NF == 2 { print $1, $2 }' "$2"
		;;
	syscount-L)
		# SYSCALL COUNT TIME, sorted by TIME: the workload's syscalls, by
		# name; their times must be numbers
		awk '/^SYSCALL +COUNT +TIME/ { on = 1; next }
			on && NF == 3 && $3 ~ /^[0-9]+\.[0-9]+$/ && $1 ~ /^(getppid|getuid|getgid|close)$/ {
				print $1, $2 }' "$2" | LC_ALL=C sort
		;;
	funclatency | funclatency-libc)
		# "LOW -> HIGH : COUNT |...|": the calls, whatever they took
		awk '$2 == "->" && $4 == ":" { n += $5; seen = 1 }
			END { if (seen) print "calls", n }' "$2"
		;;
	gethostlatency)
		# TIME PID COMM LATms HOST: a latency must be a number
		awk -v p="$1" '$2 == p && $4 ~ /^[0-9]+\.[0-9]+$/ { print $3, $5 }' "$2"
		;;
	sigsnoop-k | killsnoop | sigsnoop-kxn)
		# TIME PID COMM SIG TPID RESULT
		awk -v p="$1" '$2 == p { t = $5 == p ? "SELF" : $5; print $3, $4, t, $6 }' "$2"
		;;
	esac
}

# wait_lines PID OUT N SECONDS: until the normalised output has N lines
wait_lines() {
	i=0
	while [ "$(normalise "$1" "$2" | wc -l)" -lt "$3" ]; do
		[ "$i" -lt $(($4 * 20)) ] || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 0
}

# perfbufs_ready PID: whether the tool (PID, or under bpftime-run its
# child of the tool's name) has an epoll instance watching one perf buffer
# per online CPU. libbpf's perf_buffer__new stores each CPU's buffer in the
# PERF_EVENT_ARRAY before it adds it to its epoll, so outputs then reach a
# buffer; before, bpf_perf_event_output() finds the slot empty (-ENOENT)
# and the event is lost, on the kernel as under bpftime. opensnoop prints
# its header before perf_buffer__new (strace shows it), so its first line
# does not say it is ready.
perfbufs_ready() {
	ncpu=$(getconf _NPROCESSORS_ONLN)
	for p in $1 $(pgrep -P "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "${tool%% *}" ] || continue
		for f in /proc/"$p"/fd/*; do
			[ "$(readlink "$f" 2>/dev/null)" = "anon_inode:[eventpoll]" ] || continue
			[ "$(grep -c '^tfd:' "/proc/$p/fdinfo/${f##*/}" 2>/dev/null)" -ge "$ncpu" ] && return 0
		done
	done
	return 1
}

# run MODE: the workload under the tool, in $tmp/MODE; the normalised
# output in $tmp/MODE/got
run() {
	m=$1
	d=$tmp/$m
	{ mkdir "$d" && chmod 755 "$d"; } || fail "mkdir $d"
	cp "$target_src" "$d/lbt_target" || fail "cannot copy $target_src"
	envs=
	if [ -n "$libc" ]; then
		{ mkdir "$d/lib" && cp "$libc" "$d/lib/libc.so.6"; } || fail "cannot copy $libc"
		chmod -R a+rX "$d/lib"
		envs="LD_LIBRARY_PATH=$d/lib"
	fi
	w=$(echo "$work" | sed "s|@FILE@|$tmp/opened|")
	# shellcheck disable=SC2086 # $envs is empty or one word
	case $m in
	kernel)
		run_target() { exec env $envs "$@"; }
		run_tool() { exec stdbuf -oL "$@"; }
		;;
	bpftime)
		export BPFTIME_SESSION_DIR="$tmp/sessions"
		session_dir=$BPFTIME_SESSION_DIR/lbt
		run_target() { exec "$dir/bpftime" start --session lbt -- env $envs "$@"; }
		run_tool() { exec "$dir/bpftime-run" --session lbt -- stdbuf -oL "$@"; }
		;;
	esac
	# shellcheck disable=SC2086 # $w is words
	run_target "$d/lbt_target" $w >"$d/target.out" 2>"$d/target.err" &
	tp=$!
	pids="$pids $tp"
	wait_file "$d/target.out" "^ready" 10 || fail "$m: the target did not start"
	pid=$(awk '/^ready/ { print $2; exit }' "$d/target.out") # $tp: env and start exec
	t=$(echo "$tool" | sed "s|@PID@|$pid|; s|@LIBC@|$d/lib/libc.so.6|")
	# shellcheck disable=SC2086 # $t is words
	run_tool /usr/sbin/$t >"$d/tool.out" 2>"$d/tool.err" &
	sp=$!
	pids="$pids $sp"
	# the tools print their first line once attached (line buffered);
	# under bpftime the agent in the target then hooks within a pass
	i=0
	until [ -s "$d/tool.out" ]; do
		kill -0 "$sp" 2>/dev/null || fail "$m: ${tool%% *} exited before attaching"
		[ "$i" -lt 600 ] || fail "$m: ${tool%% *} did not attach within 30 s"
		sleep 0.05
		i=$((i + 1))
	done
	i=0
	while [ "$perfbuf" = yes ] && ! perfbufs_ready "$sp"; do
		kill -0 "$sp" 2>/dev/null || fail "$m: ${tool%% *} exited before opening its perf buffers"
		[ "$i" -lt 200 ] || fail "$m: ${tool%% *} did not open its perf buffers within 10 s"
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$m" = bpftime ]; then
		wait_hooked "$pid" "$hooks"
		if [ "$sites" = yes ]; then
			wait_file "$session_dir/agent.log" "agent\[$pid\]: .*libc.so.6: .*syscall sites rewritten" 5 ||
				fail "$m: the agent in the target did not rewrite libc's syscall sites within 5 s"
		fi
		# the agent's own fds stay out of the numbers a program gets next:
		# the kernel's process has none (opensnoop's FD column)
		low=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%f %l\n' 2>/dev/null |
			awk -v s="$session_dir" '$1 < 64 && index($2, s) == 1 { print $1 }')
		[ -z "$low" ] || fail "$m: the agent holds fd(s) $low of the target (low numbers)"
	fi
	kill -USR1 "$pid"
	wait_file "$d/target.out" "^done" 30 || fail "$m: the target did not finish"
	wait "$tp"
	[ "$lines" -gt 0 ] && ! wait_lines "$pid" "$d/tool.out" "$lines" 5 &&
		fail "$m: fewer than $lines lines from ${tool%% *} within 5 s"
	interrupt "$sp" "${tool%% *}"
	wait "$sp"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$m: ${tool%% *} exited $rc"
	normalise "$pid" "$d/tool.out" >"$d/got"
	if [ "$case_" = opensnoop ]; then
		fd=$(awk '/^fd / { print $2; exit }' "$d/target.out")
		printf '%s\n' "lbt_target $fd 0 $tmp/opened" "lbt_target $fd 0 $tmp/opened" \
			"lbt_target $fd 0 $tmp/opened" "lbt_target -1 2 /nonexistent/lbt-target" >"$d/want"
	else
		cp "$tmp/want" "$d/want"
	fi
	if ! cmp -s "$d/want" "$d/got"; then
		diff "$d/want" "$d/got" | sed "s/^/  $m diff (want, got): /"
		fail "$m: ${tool%% *}'s output is not what the workload did"
	fi
}

echo data >"$tmp/opened"
chmod 644 "$tmp/opened"
if [ "$(id -u)" -ne 0 ]; then
	echo "kernel part skipped: the kernel's tracepoints and uprobes need root"
elif ! [ -e /sys/kernel/btf/vmlinux ]; then
	echo "kernel part skipped: no kernel BTF (/sys/kernel/btf/vmlinux) for CO-RE"
else
	run kernel
fi
run bpftime
if [ -s "$tmp/kernel/got" ]; then
	if ! cmp -s "$tmp/kernel/got" "$tmp/bpftime/got"; then
		diff "$tmp/kernel/got" "$tmp/bpftime/got" | sed 's/^/  diff (kernel, bpftime): /'
		fail "${tool%% *}: bpftime's output differs from the kernel's"
	fi
	echo "ok: $case_: kernel and bpftime print the same $(wc -l <"$tmp/bpftime/got") normalised line(s):"
else
	echo "ok: $case_: bpftime prints the $(wc -l <"$tmp/bpftime/got") normalised line(s) the workload makes:"
fi
sed 's/^/  /' "$tmp/bpftime/got"
