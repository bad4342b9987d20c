#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/hooks: what a uprobe hit costs the probed thread, ours next to the
# kernel's, from one run. Installed as build/bin/bpftime-bench-hooks.
#
#   bpftime-bench-hooks [-n CALLS] [-k KERNEL_CALLS] [-r ROUNDS] [--smoke] [BINDIR]
#
# For each case (empty uprobe, hash counter, 16-byte ring buffer record with
# an epoll consumer, empty uretprobe) it runs bpftime-bench-hooks-target,
# which times ROUNDS x CALLS calls of bench_probed() against as many of an
# unprobed twin and prints the difference per call (thread CPU time,
# median of the rounds), three ways:
#
#   baseline  the target alone (the difference should be ~0);
#   ours      the target under `bpftime start`, the tool
#             (bpftime-bench-hooks-tool) under `bpftime-run` in the same
#             session; the target starts its loops (SIGUSR1) once the agent
#             in it logged the site as hooked;
#   kernel    both run plainly: the kernel's uprobe (root only; KERNEL_CALLS
#             per round, as a kernel hit costs microseconds here).
#
# and prints a table: case, ours ns/call, kernel ns/call, kernel/ours, and
# the goal for ours. --smoke: tiny counts; exits 1 unless our column has
# figures for the three uprobe cases (never checks timings). BINDIR: where
# bpftime, bpftime-run and the two programs are (default: this script's
# directory). Exit status 0 otherwise, 2 for bad options.
set -u
calls=1000000
kcalls=20000
rounds=7
smoke=0
bindir=
while [ $# -gt 0 ]; do
	case $1 in
	-n) calls=$2; shift 2 ;;
	-k) kcalls=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	--smoke) smoke=1; calls=2000; kcalls=100; rounds=3; shift ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	-*) echo "usage: bpftime-bench-hooks [-n CALLS] [-k KERNEL_CALLS] [-r ROUNDS] [--smoke] [BINDIR]" >&2; exit 2 ;;
	*) bindir=$1; shift ;;
	esac
done
[ -n "$bindir" ] || bindir=$(dirname "$0")
bindir=$(cd "$bindir" && pwd) || exit 2
target=$bindir/bpftime-bench-hooks-target
tool=$bindir/bpftime-bench-hooks-tool
for f in "$target" "$tool" "$bindir/bpftime" "$bindir/bpftime-run"; do
	if [ ! -x "$f" ]; then
		echo "bpftime-bench-hooks: $f: not built" >&2
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-bench-hooks.XXXXXX") || exit 1
chmod 755 "$tmp"
pids=
cleanup() {
	# Only the processes this script started, by pid.
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_file FILE PATTERN SECONDS
wait_file() {
	i=0
	while [ "$i" -lt $(($3 * 20)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# field FILE NAME: the word after NAME on the target's result line
field() {
	awk -v k="$2" '/^target .* calls / { for (i = 1; i < NF; i++) if ($i == k) print $(i + 1); exit }' "$1"
}

# run_case SIDE MODE N: runs one case; sets cost, spread, events, want, why
# (cost is empty when the case has no figure, and why says why).
run_case() {
	side=$1 mode=$2 n=$3
	cost= spread= events= want= why=
	d=$tmp/$side-$mode
	mkdir -p "$d"
	case $side in
	ours)
		export BPFTIME_SESSION_DIR="$tmp/sessions"
		session=bench-$mode
		"$bindir/bpftime" start --session "$session" -- "$target" -w -n "$n" -r "$rounds" \
			>"$d/target.out" 2>"$d/target.err" &
		;;
	*)
		"$target" -w -n "$n" -r "$rounds" >"$d/target.out" 2>"$d/target.err" &
		;;
	esac
	tpid=$!
	pids="$pids $tpid"
	if ! wait_file "$d/target.out" "ready" 10; then
		why="the target did not start: $(tail -n 1 "$d/target.err")"
		return
	fi
	vpid=$(awk '/ready/ { print $2; exit }' "$d/target.out")
	cpid=
	if [ "$mode" != none ]; then
		case $side in
		ours) "$bindir/bpftime-run" --session "$session" -- "$tool" -m "$mode" -p "$vpid" \
			-b "$target" >"$d/tool.out" 2>"$d/tool.err" & ;;
		*) "$tool" -m "$mode" -p "$vpid" -b "$target" >"$d/tool.out" 2>"$d/tool.err" & ;;
		esac
		cpid=$!
		pids="$pids $cpid"
		if ! wait_file "$d/tool.err" "attached" 10; then
			why="the tool did not attach: $(grep -v '^$' "$d/tool.err" | tail -n 1)"
			kill -KILL "$tpid" "$cpid" 2>/dev/null
			wait "$tpid" "$cpid" 2>/dev/null
			return
		fi
		if [ "$side" = ours ]; then
			log=$BPFTIME_SESSION_DIR/$session/agent.log
			if ! wait_file "$log" "agent\[$vpid\]: perf event .* hooked" 5; then
				why="not hooked within 5 s: $(grep "agent\[$vpid\]" "$log" 2>/dev/null | tail -n 1)"
				kill -KILL "$tpid" 2>/dev/null
				kill -TERM "$cpid" 2>/dev/null
				wait "$tpid" "$cpid" 2>/dev/null
				return
			fi
		fi
	fi
	kill -USR1 "$vpid"
	wait "$tpid"
	rc=$?
	if [ -n "$cpid" ]; then
		kill -TERM "$cpid" 2>/dev/null
		wait "$cpid"
		events=$(awk '/^tool events/ { print $3 }' "$d/tool.out")
	fi
	cost=$(field "$d/target.out" cost)
	spread=$(field "$d/target.out" spread)
	want=$(field "$d/target.out" calls)
	if [ "$rc" -ne 0 ] || [ -z "$cost" ]; then
		why="the target exited $rc: $(tail -n 1 "$d/target.err")"
		cost=
		return
	fi
	probed=$(field "$d/target.out" probed)
	twin=$(field "$d/target.out" twin)
}

# Kernel column: root and kernel eBPF.
kernel_ok=1
kernel_why=
if [ "$(id -u)" -ne 0 ]; then
	kernel_ok=0
	kernel_why="not root"
elif [ ! -d /sys/fs/bpf ] && [ ! -e /sys/kernel/btf/vmlinux ]; then
	kernel_ok=0
	kernel_why="no kernel eBPF"
fi

run_case base none "$calls"
if [ -z "$cost" ]; then
	echo "baseline: $why"
	exit 1
fi
echo "baseline (no probe): bench_probed $probed ns/call, its twin $twin ns/call, difference $cost ns"
echo "calls per round: ours $calls, kernel $kcalls; $rounds rounds; thread CPU time, median of rounds"
echo

notes=
failed=0
widest=0
widest_at=
printf '| %-34s | %12s | %14s | %11s | %-16s |\n' "case" "ours ns/call" "kernel ns/call" "kernel/ours" "goal (ours)"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------" "-------------:" "---------------:" "------------:" "------------------"
for c in "empty:uprobe, empty program:30" "hash:uprobe + hash counter:80" \
	"ring:uprobe + 16-byte ringbuf output:150" "uret:uretprobe, empty program:40"; do
	mode=${c%%:*}
	rest=${c#*:}
	label=${rest%:*}
	goal=${rest##*:}

	run_case ours "$mode" "$calls"
	ours=$cost
	if [ -n "$ours" ] && [ "$mode" = uret ] && awk -v c="$ours" 'BEGIN { exit !(c < 2) }'; then
		why="hooked, but the probe adds nothing ($ours ns/call): it did not fire"
		ours=
	fi
	[ -n "$ours" ] || notes="$notes
ours, $mode: $why"
	[ -n "$ours" ] || [ "$mode" = uret ] || failed=1
	if [ -n "$ours" ]; then
		if [ "$mode" = hash ] && [ "$events" != "$want" ]; then
			notes="$notes
ours, $mode: the map counted $events hits of $want calls"
		elif [ "$mode" = ring ]; then
			notes="$notes
ours, $mode: $events of $want records consumed"
		fi
		if [ "${spread:-0}" -gt "$widest" ] 2>/dev/null; then
			widest=$spread
			widest_at="ours, $mode"
		fi
	fi

	kern=
	if [ "$kernel_ok" -eq 1 ]; then
		run_case kernel "$mode" "$kcalls"
		kern=$cost
		if [ -z "$kern" ]; then
			notes="$notes
kernel, $mode: $why"
		else
			if [ "$mode" = hash ] && [ "$events" != "$want" ]; then
				notes="$notes
kernel, $mode: the map counted $events hits of $want calls"
			elif [ "$mode" = ring ]; then
				notes="$notes
kernel, $mode: $events of $want records consumed"
			fi
			if [ "${spread:-0}" -gt "$widest" ] 2>/dev/null; then
				widest=$spread
				widest_at="kernel, $mode"
			fi
		fi
	fi

	o=n/a k=n/a r=n/a g="<= $goal"
	[ -n "$ours" ] && o=$ours
	[ -n "$kern" ] && k=$kern
	if [ -n "$ours" ] && [ -n "$kern" ]; then
		r=$(awk -v o="$ours" -v k="$kern" 'BEGIN { if (o > 0) printf "%.1fx", k / o; else print "n/a" }')
	fi
	if [ -n "$ours" ]; then
		if awk -v o="$ours" -v g="$goal" 'BEGIN { exit !(o <= g) }'; then
			g="$g: met"
		else
			g="$g: not met"
		fi
	fi
	printf '| %-34s | %12s | %14s | %11s | %-16s |\n' "$label" "$o" "$k" "$r" "$g"
done
echo
[ "$kernel_ok" -eq 1 ] || echo "kernel: n/a ($kernel_why; the kernel column needs root and kernel eBPF)"
[ -n "$widest_at" ] && echo "widest spread of the rounds' costs: $widest% ($widest_at)"
[ -n "$notes" ] && echo "$notes" | sed '/^$/d'
if [ "$smoke" -eq 1 ] && [ "$failed" -ne 0 ]; then
	echo "smoke: our column is missing figures"
	exit 1
fi
exit 0
