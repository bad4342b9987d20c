#!/bin/sh
# SPDX-License-Identifier: MIT
# Set up a fresh Debian 12 machine, build, and run the whole test suite:
#   1. build/      gcc, warnings as errors: every test except the fuzzers;
#   2. build-san/  clang with ASan + UBSan and the libFuzzer targets: every
#                  test again under the sanitizers, plus short fuzz runs;
#   3. when run as root: the suite once more as uid 65534 (nobody), from a
#      copy of the tree in /tmp, because every feature must work unprivileged.
# Exits non-zero when anything fails.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc)

scripts/setup.sh

echo "== build (gcc)"
scripts/build.sh build
(cd build && ctest --output-on-failure -j "$jobs" -LE fuzz)

echo "== build-san (clang, ASan + UBSan, libFuzzer)"
CC=clang scripts/build.sh build-san -DBPFTIME_SANITIZE=ON -DBPFTIME_FUZZ=ON -DBPFTIME_BENCH=OFF
(cd build-san && ctest --output-on-failure -j "$jobs")

if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null 2>&1; then
		echo "test: setpriv not found: skipping the unprivileged pass" >&2
		exit 1
	fi
	echo "== unprivileged (uid 65534)"
	tmp=$(mktemp -d /tmp/bpftime-unpriv.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/src"
	tar -C "$top" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$tmp/src" -xf -
	chmod 755 "$tmp"
	chown -R 65534:65534 "$tmp/src"
	mkdir "$tmp/build" && chown 65534:65534 "$tmp/build"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$tmp" sh -c \
		"cd '$tmp/src' && scripts/build.sh '$tmp/build' && cd '$tmp/build' &&
		 ctest --output-on-failure -j $jobs -LE fuzz"
fi
echo "== all tests passed"
