#!/bin/sh
# SPDX-License-Identifier: MIT
# Set up a fresh Debian 12 machine, build, and run the demo: a BPF C program
# (CRC-32 of its input, example/vm/crc32.bpf.c) compiled by clang -target bpf
# and run by the bpftime vm, checked against zlib's CRC-32 of the same bytes.
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
