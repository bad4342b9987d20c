#!/bin/sh
# SPDX-License-Identifier: MIT
# The task struct images (agent-task.c), end to end: Debian's execsnoop
# (BPF_CORE_READ(task, real_parent, tgid), relocated by libbpf against the
# host's BTF) and mountsnoop (task->nsproxy->mnt_ns->ns.inum) on
# task_target's workload, under bpftime (the tool under bpftime-run, the
# target under `bpftime start`, as whoever runs the suite) and, as root,
# on the kernel. The normalised lines must be what the workload did, and
# the kernel's.
#
#   task_test.sh BPFTIME_DIR execsnoop|execsnoop-vfork|mountsnoop|bpftrace TASK_TARGET
#
# execsnoop -x: a fork child of the target execs a missing file (ENOENT),
#   then /bin/echo alpha "beta gamma": two lines for the child's pid whose
#   PPID is the target's, the second with the new comm (the exit of a
#   successful execve runs in the new image: agent-exec.c).
# execsnoop-vfork: the same from a vfork child, which shares the target's
#   memory and TCB, after the target's own failed execve (the agent's
#   cached ids of the target's thread must not name the child).
# mountsnoop: the target mounts a tmpfs on a directory of ours and
#   unmounts it (root), or fails to (EPERM, one line): MNT_NS must be the
#   inode of the target's /proc/self/ns/mnt.
# bpftrace: curtask's pid, tgid, real_parent->tgid, comm,
#   group_leader->comm and nsproxy->mnt_ns->ns.inum at that mount's
#   sys_enter (bpftrace takes the offsets from the same BTF).
set -u
. "$(dirname "$0")/agent_lib.sh"
dir=$1
tool=$2
target=$3
make_tmp task

fail() {
	echo "FAIL: $*"
	# the tool first, by SIGINT: bpftime-run forwards it, where a SIGKILL
	# (cleanup) would leave its TOOL running on
	if [ -n "${tpid_tool:-}" ] && kill -INT "$tpid_tool" 2>/dev/null; then
		sleep 1
	fi
	for m in kernel bpftime; do
		show 20 "$m.target" "$m.tool.err"
		show 10 "$m.tool"
	done
	show_agent_log "$tmp/sessions/task/agent.log"
	exit 1
}

# execsnoop-vfork: execsnoop on the same execs made from a vfork child
exec_mode=exec
if [ "$tool" = execsnoop-vfork ]; then
	tool=execsnoop
	exec_mode=vexec
fi
command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (Debian's libbpf-tools)"
command -v stdbuf >/dev/null 2>&1 || skip "no stdbuf (coreutils)"
mnt=$tmp/mnt
mkdir "$mnt"
case $tool in
execsnoop)
	targs="$exec_mode /bin/echo alpha beta\ gamma"
	topts=-x
	;;
mountsnoop)
	targs="mount $mnt"
	topts=
	;;
bpftrace)
	command -v bpftrace >/dev/null 2>&1 || skip "bpftrace is not installed"
	targs="mount $mnt"
	topts=
	bt='tracepoint:syscalls:sys_enter_mount { printf("%d %d %d %d %s %s %u\n", pid,
		curtask->pid, curtask->tgid, curtask->real_parent->tgid, curtask->comm,
		curtask->group_leader->comm, curtask->nsproxy->mnt_ns->ns.inum); }'
	;;
*)
	echo "usage: task_test.sh BPFTIME_DIR execsnoop|mountsnoop|bpftrace TASK_TARGET" >&2
	exit 2
	;;
esac

# run MODE: the tool, then the target's workload; $tmp/MODE.norm is the
# tool's lines about it, normalised (pids, the namespace, our directory).
run() {
	m=$1
	case $m in
	kernel)
		# shellcheck disable=SC2086 # $topts: empty or one flag
		run_tool() { exec stdbuf -oL "$tool" $topts; }
		[ "$tool" = bpftrace ] && run_tool() { exec stdbuf -oL bpftrace -e "$bt"; }
		run_target() { eval exec "$target" "$targs"; }
		;;
	bpftime)
		export BPFTIME_SESSION_DIR="$tmp/sessions"
		# shellcheck disable=SC2086 # $topts: empty or one flag
		run_tool() { exec "$dir/bpftime-run" --session task -- stdbuf -oL "$tool" $topts; }
		[ "$tool" = bpftrace ] && run_tool() {
			exec "$dir/bpftime-run" --session task --fake-root -- stdbuf -oL bpftrace -e "$bt"
		}
		run_target() { eval exec "$dir/bpftime" start --session task -- "$target" "$targs"; }
		;;
	esac
	run_tool >"$tmp/$m.tool" 2>"$tmp/$m.tool.err" &
	tpid_tool=$!
	pids="$pids $tpid_tool"
	# the header comes once the programs are attached (line-buffered:
	# the tools leave stdout to stdio)
	wait_file "$tmp/$m.tool" "COMM\|^Attaching" 20 || fail "$m: $tool did not start"
	run_target >"$tmp/$m.target" 2>&1 &
	pids="$pids $!"
	wait_file "$tmp/$m.target" "^ready" 10 || fail "$m: the target did not start"
	tpid=$(awk '/^ready/ {print $2; exit}' "$tmp/$m.target")
	mntns=$(awk '/^ready/ {print $4; exit}' "$tmp/$m.target")
	if [ "$m" = bpftime ]; then
		wait_file "$tmp/sessions/task/agent.log" "agent\[$tpid\]: .*syscall sites rewritten" 10 ||
			fail "bpftime: the agent in the target did not rewrite its syscall sites"
	fi
	kill -USR1 "$tpid"
	wait_file "$tmp/$m.target" "^done" 20 || fail "$m: the target did not finish"
	# the buffers are polled: give the last lines time to arrive
	sleep 1
	interrupt "$tpid_tool" "$tool"
	wait "$tpid_tool" || fail "$m: $tool exited $?"
	cpid=$(awk '/^child/ {print $2; exit}' "$tmp/$m.target")
	case $tool in
	execsnoop) # PCOMM PID PPID RET ARGS
		awk -v c="${cpid:-x}" -v p="$tpid" '$2 == c {
			$2 = "CPID"; if ($3 == p) $3 = "TPID"; print }' "$tmp/$m.tool" ;;
	mountsnoop) # COMM PID TID MNT_NS CALL
		awk -v p="$tpid" -v n="$mntns" -v d="$mnt" '$2 == p {
			$2 = "TPID"; if ($3 == p) $3 = "TPID"; if ($4 == n) $4 = "MNTNS"
			gsub(d, "DIR"); print }' "$tmp/$m.tool" ;;
	bpftrace) # pid, curtask's pid, tgid, real_parent->tgid, comm,
		# group_leader->comm, nsproxy->mnt_ns->ns.inum; our shell is
		# the target's parent (bpftime start execs it)
		awk -v p="$tpid" -v n="$mntns" -v s="$$" '$1 == p {
			for (i = 1; i <= 3; i++) if ($i == p) $i = "TPID"
			if ($4 == s) $4 = "PARENT"; if ($7 == n) $7 = "MNTNS"; print }' "$tmp/$m.tool" ;;
	esac >"$tmp/$m.norm"
}

# What the workload did, as the kernel's tool prints it.
if [ "$tool" = execsnoop ]; then
	cat >"$tmp/want" <<-EOF
		task_target CPID TPID -2 /nonexistent-bpftime x
		echo CPID TPID 0 /bin/echo alpha beta gamma
	EOF
elif [ "$tool" = bpftrace ]; then
	echo "TPID TPID TPID PARENT task_target task_target MNTNS" >"$tmp/want"
elif [ "$(id -u)" -eq 0 ]; then
	cat >"$tmp/want" <<-EOF
		task_target TPID TPID MNTNS mount("bpftime-src", "DIR", "tmpfs", MS_NOSUID, "size=1m") = 0
		task_target TPID TPID MNTNS umount("DIR", 0x0) = 0
	EOF
else
	echo "(not root: the mount fails with EPERM, which mountsnoop reports the same way)"
	cat >"$tmp/want" <<-EOF
		task_target TPID TPID MNTNS mount("bpftime-src", "DIR", "tmpfs", MS_NOSUID, "size=1m") = -EPERM
	EOF
fi

run bpftime
diff "$tmp/want" "$tmp/bpftime.norm" >"$tmp/diff" ||
	fail "bpftime: $tool's lines are not the workload's (- wanted, + got):
$(sed 's/^/  /' "$tmp/diff")"
echo "ok: bpftime: $tool as uid $(id -u):"
sed 's/^/  /' "$tmp/bpftime.norm"

if [ "$(id -u)" -ne 0 ] || ! [ -e /sys/kernel/btf/vmlinux ]; then
	echo "(the kernel's run needs root and kernel BTF: not compared)"
	exit 0
fi
run kernel
diff "$tmp/kernel.norm" "$tmp/bpftime.norm" >"$tmp/diff" ||
	fail "the kernel's and bpftime's lines differ (- kernel, + bpftime):
$(sed 's/^/  /' "$tmp/diff")"
echo "ok: kernel: the same lines"
