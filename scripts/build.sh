#!/bin/sh
# SPDX-License-Identifier: MIT
# Configure and build one tree: scripts/build.sh DIR [cmake options...]
set -eu
dir=$1
shift
cmake -S "$(dirname "$0")/.." -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
