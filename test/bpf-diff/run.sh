#!/bin/sh
# SPDX-License-Identifier: MIT
# The bpf(2) differential transcript (bpf_transcript.c), on the kernel and
# under bpftime-run:
#   run.sh TRANSCRIPT [OUTDIR]
#
# Kernel side (root with kernel eBPF): runs TRANSCRIPT twice, fails if the two
# runs differ (the transcript must be deterministic), and saves the text as
# OUTDIR/transcript-kernel.txt. It also says whether it matches the recorded
# transcript next to this script (kernel-6.18.txt); some lines depend on the
# kernel's version, so a difference there is reported, not failed.
#
# bpftime side, when $BPFTIME_RUN is an executable (bpftime-run): runs
# "$BPFTIME_RUN -- TRANSCRIPT" twice (as any user), saves
# OUTDIR/transcript-bpftime.txt and fails unless it equals the kernel's
# transcript, or the recorded one when the kernel side could not run. The
# differences go to OUTDIR/transcript.diff.
#
# Exit 77 (skip) when neither side can run.
set -u

transcript=$1
out=${2:-.}
here=$(cd "$(dirname "$0")" && pwd)
recorded=$here/kernel-6.18.txt
mkdir -p "$out" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-bpf-diff.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0
reference=
ran=
rm -f "$out/transcript-kernel.txt" "$out/transcript-bpftime.txt" "$out/transcript.diff" \
	"$out/transcript-kernel-vs-recorded.diff"

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run_twice NAME CMD...: two runs into $tmp/NAME.1, .2; 0 if both exit 0 and agree
run_twice() {
	_name=$1
	shift
	for _i in 1 2; do
		if ! timeout 120 "$@" >"$tmp/$_name.$_i" 2>"$tmp/$_name.err.$_i"; then
			fail "$_name run $_i: $* exited non-zero"
			tail -n 20 "$tmp/$_name.err.$_i"
			return 1
		fi
	done
	if ! diff -u "$tmp/$_name.1" "$tmp/$_name.2" >"$tmp/$_name.nondet"; then
		fail "$_name: two runs differ (the transcript must not depend on the run):"
		cat "$tmp/$_name.nondet"
		return 1
	fi
	return 0
}

kernel_side() {
	[ "$(id -u)" -eq 0 ] || {
		echo "kernel side: skipped (needs root for kernel eBPF)"
		return
	}
	echo "kernel side: $transcript"
	run_twice kernel "$transcript" || return
	# Root without kernel eBPF (no CONFIG_BPF_SYSCALL, a container without CAP_BPF)
	if ! grep -q '^MAP_CREATE hash type=HASH .* -> fd OK$' "$tmp/kernel.1"; then
		echo "kernel side: skipped (the kernel refuses bpf(2):" \
			"$(grep -m1 '^MAP_CREATE hash ' "$tmp/kernel.1"))"
		return
	fi
	ran=1
	cp "$tmp/kernel.1" "$out/transcript-kernel.txt"
	reference=$out/transcript-kernel.txt
	echo "kernel side: $(grep -c ' -> ' "$reference") calls, deterministic;" \
		"saved as $reference"
	if [ -f "$recorded" ]; then
		if diff -u "$recorded" "$reference" >"$out/transcript-kernel-vs-recorded.diff"; then
			echo "kernel side: same as the recorded $(basename "$recorded")"
			rm -f "$out/transcript-kernel-vs-recorded.diff"
		else
			echo "kernel side: differs from the recorded $(basename "$recorded")" \
				"(kernel $(uname -r)); see $out/transcript-kernel-vs-recorded.diff"
		fi
	fi
}

bpftime_side() {
	if [ -z "${BPFTIME_RUN:-}" ] || [ ! -x "${BPFTIME_RUN:-}" ]; then
		echo "bpftime side: bpftime-run is not built yet (set BPFTIME_RUN to its path)"
		return
	fi
	if [ -z "$reference" ]; then
		[ -f "$recorded" ] || {
			fail "bpftime side: no kernel transcript and no recorded one to compare with"
			return
		}
		reference=$recorded
	fi
	echo "bpftime side: $BPFTIME_RUN -- $transcript, compared with $reference"
	ran=1
	run_twice bpftime "$BPFTIME_RUN" -- "$transcript" || return
	cp "$tmp/bpftime.1" "$out/transcript-bpftime.txt"
	if diff -u "$reference" "$out/transcript-bpftime.txt" >"$out/transcript.diff"; then
		echo "bpftime side: same transcript as the kernel"
	else
		fail "bpftime side: $(grep -c "^[-+][^-+]" "$out/transcript.diff") changed lines (- kernel, + bpftime)" \
			"from the kernel ($out/transcript.diff):"
		cat "$out/transcript.diff"
	fi
}

kernel_side
bpftime_side
if [ $failures -ne 0 ]; then
	echo "bpf-diff: $failures failure(s)"
	exit 1
fi
if [ -z "$ran" ]; then
	echo "bpf-diff: skipped (neither the kernel nor bpftime-run could run the transcript)"
	exit 77
fi
exit 0
