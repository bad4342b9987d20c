#!/bin/sh
# SPDX-License-Identifier: MIT
# Set up a fresh Debian 12 machine, build, and run the demo: a BPF C program
# (CRC-32 of its input, example/vm/crc32.bpf.c) compiled by clang -target bpf
# and run by the bpftime vm, checked against zlib's CRC-32 of the same bytes;
# then unmodified tools (bpftrace, a static libbpf tool) under bpftime-run;
# then the agent: a uprobe tool counting a static target's malloc() calls.
set -eu
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh build

prog=build/example/vm/crc32.bpf.o
input=${1:-example/vm/crc32-input.txt}

echo "== program: example/vm/crc32.bpf.c -> $prog (clang -target bpf)"
echo "== input:   $input ($(wc -c <"$input") bytes)"
echo "== bpftime-vm run --mem $input $prog"
build/bin/bpftime-vm run --mem "$input" "$prog"
echo "== the same in the bounds-checked mode, 1000 runs"
build/bin/bpftime-vm run --checked --repeat 1000 --mem "$input" "$prog"
if command -v python3 >/dev/null 2>&1; then
	echo "== zlib.crc32 of the same file, for comparison"
	python3 -c 'import sys, zlib; print(zlib.crc32(open(sys.argv[1], "rb").read()))' "$input"
fi

# The fake bpf(2): unmodified tools under bpftime-run, as an ordinary user
# when run as root (uid 65534), where the kernel itself would refuse them.
as_user() {
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
		(cd /tmp && setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@")
	else
		"$@"
	fi
}
run=$(pwd)/build/bin/bpftime-run
echo "== bpftime-run --fake-root -- bpftrace (BEGIN, printf, maps), as uid $(as_user id -u)"
as_user "$run" --fake-root -- bpftrace -e \
	'BEGIN { printf("hello from bpftrace\n"); @calls["demo"] = count(); @sum = sum(42); exit(); }'
echo "== bpftime-run -- the static opensnoop example: load, attach, 2 s, detach"
as_user "$run" --session demo -- "$(pwd)/build/example/opensnoop/opensnoop-static" -d 2 &
demo_pid=$!
sleep 1
echo "== bpftime status --session demo (while it runs)"
as_user "$(pwd)/build/bin/bpftime" status --session demo
wait "$demo_pid"

# The agent: programs running inside a target. The malloc counter under
# bpftime-run counts the malloc() calls of a static victim started with
# `bpftime start` in the same session; the victim says how many it made.
base=$(pwd)/build/example/malloc-counter
bt=$(pwd)/build/bin/bpftime
echo "== the agent: malloc-counter (bpftime-run) and a static 4-thread victim (bpftime start), as uid $(as_user id -u)"
as_user "$run" --session demo-agent -- "$base/malloc-counter" -l "$base/victim-static" -d 3 \
	>/tmp/bpftime-demo-counter.out 2>&1 &
counter_pid=$!
sleep 1
as_user "$bt" start --session demo-agent -- "$base/victim-static" -w -t 4 -n 100000 \
	>/tmp/bpftime-demo-victim.out 2>&1 &
victim_pid=$!
log=/dev/shm/bpftime-$(as_user id -u)/demo-agent/agent.log
i=0
until grep -q "hooked" "$log" 2>/dev/null || [ "$i" -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
vpid=$(awk '/ready/ {print $2; exit}' /tmp/bpftime-demo-victim.out)
echo "   agent.log: $(grep hooked "$log" | head -n 1)"
[ -n "$vpid" ] && kill -USR1 "$vpid"
wait "$victim_pid"
wait "$counter_pid"
echo "   the victim: $(grep mallocs /tmp/bpftime-demo-victim.out)"
echo "   the counter's last count for it: $(awk -v p="$vpid" '$1 == p {n = $2} END {print n + 0}' \
	/tmp/bpftime-demo-counter.out)"
rm -f /tmp/bpftime-demo-counter.out /tmp/bpftime-demo-victim.out
