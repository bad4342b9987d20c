#!/bin/sh
# SPDX-License-Identifier: MIT
# Every C file follows the project's .clang-format (STYLE.md: one format,
# checked in CI). Prints the files that differ; exit 77 (skip) without
# clang-format.
set -eu
top=$1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not found: skipped"; exit 77; }
cd "$top"
bad=0
for f in $(find . -path './build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print); do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run clang-format -i $f)"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "format: every C file follows .clang-format"
exit $bad
