#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages the build and the tests need, only those
# that are missing. Runs apt-get as root, through sudo otherwise.
set -eu

PACKAGES="gcc g++ make cmake pkg-config clang clang-format llvm llvm-19-dev libclang-rt-14-dev libelf-dev zlib1g-dev
libbpf-dev libcapstone-dev libcmocka-dev libseccomp-dev bpftool libbpf-tools bpftrace python3 musl-tools"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "setup: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "setup: missing packages:$missing; run as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
