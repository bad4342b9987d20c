#!/bin/sh
# SPDX-License-Identifier: MIT
# Set up a fresh Debian 12 machine, build, and run the demo: a BPF C program
# (CRC-32 of its input, example/vm/crc32.bpf.c) compiled by clang -target bpf
# and run by the bpftime vm, checked against zlib's CRC-32 of the same bytes;
# then unmodified tools (bpftrace, a static libbpf tool) under bpftime-run.
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
