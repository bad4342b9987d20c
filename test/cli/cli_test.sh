#!/bin/sh
# SPDX-License-Identifier: MIT
# bpftime-vm command-line tests, one case per ctest test:
#   cli_test.sh CASE BPFTIME_VM CRC32_OBJ CRC32_INPUT HELPERS_OBJ JIT
# Each case runs the binary and checks its exit code, stdout and stderr.
# JIT is "jit" when the build has the JIT (bpftime_vm_jit), else "nojit";
# the cases that need one or the other exit 77 (skipped) in the other.
set -u

case_name=$1
vm=$2
crc_obj=$3
crc_input=$4
helpers_obj=$5
jit=${6:-nojit}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpftime-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect CODE ARGS...: run bpftime-vm, keep its output in $tmp/out, $tmp/err
# (variables of helpers start with _: sh has no locals)
expect() {
	_code=$1
	shift
	"$vm" "$@" >"$tmp/out" 2>"$tmp/err"
	_got=$?
	if [ "$_got" -ne "$_code" ]; then
		fail "bpftime-vm $*: exit $_got, expected $_code"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

# out_has / err_has TEXT: fixed string in stdout / stderr of the last run
out_has() {
	grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1': $(cat "$tmp/out")"
}

err_has() {
	grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}

# Errors are one line on stderr, prefixed with the program's name.
err_is_one_line() {
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$tmp/err")"
	grep -q '^bpftime-vm: ' "$tmp/err" || fail "stderr lacks the prefix: $(cat "$tmp/err")"
}

# zcrc FILE: zlib's CRC-32 of FILE, by python3; fails without one
zcrc() {
	command -v python3 >/dev/null 2>&1 || return 1
	_crc=$(python3 -c 'import zlib,sys; print(zlib.crc32(open(sys.argv[1],"rb").read()))' \
		"$1" 2>/dev/null) || return 1
	[ -n "$_crc" ] || return 1
	echo "$_crc"
}

# same_run ARGS...: bpftime-vm run ARGS with --engine interp and with
# --engine jit: the same exit code, stdout and stderr (timing lines aside,
# which name the engine, and fault addresses, which move with ASLR between
# the two processes)
same_run() {
	"$vm" run --engine interp "$@" >"$tmp/interp.out" 2>"$tmp/interp.err"
	_ic=$?
	"$vm" run --engine jit "$@" >"$tmp/jit.out" 2>"$tmp/jit.err"
	_jc=$?
	[ "$_ic" -eq "$_jc" ] || fail "run $*: interp exit $_ic, jit exit $_jc: $(cat "$tmp/jit.err")"
	for _f in out err; do
		for _e in interp jit; do
			grep -v ' ns/run ([a-z]*)$' "$tmp/$_e.$_f" | sed 's/ at 0x[0-9a-f]*/ at 0xADDR/g' \
				>"$tmp/$_e.$_f.cmp"
		done
		cmp -s "$tmp/interp.$_f.cmp" "$tmp/jit.$_f.cmp" ||
			fail "run $*: std$_f differs: interp '$(cat "$tmp/interp.$_f")'," \
				"jit '$(cat "$tmp/jit.$_f")'"
	done
}

# need_jit / need_nojit: skip the case (exit 77) in builds without / with the JIT
need_jit() {
	[ "$jit" = jit ] && return 0
	echo "$case_name: skipped: this build has no JIT (LLVM >= 16 not found)"
	exit 77
}

need_nojit() {
	[ "$jit" = nojit ] && return 0
	echo "$case_name: skipped: this build has the JIT; configure one without" \
		"(-DCMAKE_DISABLE_FIND_PACKAGE_LLVM=ON) to run it"
	exit 77
}

# hex BYTES...: write bytes given in hex to stdout (printf's octal escapes
# are the portable way)
hex() {
	for _b in "$@"; do
		printf "\\$(printf '%03o' "0x$_b")"
	done
}

# raw_prog FILE: five raw instructions into FILE:
# r0 = r2; r0 *= 10; r3 = *(u8 *)(r1 + 0); r0 += r3; exit
raw_prog() {
	{
		hex bf 20 00 00 00 00 00 00
		hex 27 00 00 00 0a 00 00 00
		hex 71 13 00 00 00 00 00 00
		hex 0f 30 00 00 00 00 00 00
		hex 95 00 00 00 00 00 00 00
	} >"$1"
}

case $case_name in
help)
	expect 0 --help
	out_has "Usage: bpftime-vm COMMAND"
	out_has "run [OPTIONS] PROGRAM"
	expect 0 run --help
	out_has "Usage: bpftime-vm run [OPTIONS] PROGRAM"
	for opt in --engine --aot --checked --mem --repeat --section --raw; do
		out_has "$opt"
	done
	out_has "interp"
	expect 0 compile --help
	out_has "Usage: bpftime-vm compile [OPTIONS] FILE..."
	for opt in --output --checked --section --raw --ir; do
		out_has "$opt"
	done
	expect 0 --help
	out_has "compile [OPTIONS] FILE..."
	expect 0 --version
	out_has "bpftime-vm "
	if [ "$jit" = jit ]; then
		out_has "(engines: interp, jit)"
	else
		out_has "(engines: interp)"
	fi
	;;
usage)
	expect 2 run --bogus "$crc_obj"
	err_has "bpftime-vm: run: unknown option '--bogus'"
	err_is_one_line
	expect 2 frobnicate
	err_has "unknown command 'frobnicate'"
	expect 2 --bogus
	err_has "unknown option '--bogus'"
	expect 2
	expect 2 run
	err_has "no PROGRAM given"
	expect 2 run "$crc_obj" "$crc_obj"
	err_has "more than one PROGRAM"
	expect 2 run --repeat 0 "$crc_obj"
	err_has "--repeat needs a positive integer"
	expect 2 run --repeat -3 "$crc_obj"
	expect 2 run --repeat 12abc "$crc_obj"
	expect 2 run --engine bogus "$crc_obj"
	err_has "unknown engine 'bogus' (engines: interp, jit)"
	err_is_one_line
	expect 2 run --aot "$tmp/x.jit" --engine interp "$crc_obj"
	err_has "--aot runs a compiled image: it takes no --engine"
	expect 2 run --aot
	err_has "needs an argument"
	expect 2 compile
	err_has "compile: no FILE given"
	expect 2 compile --bogus "$crc_obj"
	err_has "compile: unknown option '--bogus'"
	err_is_one_line
	expect 2 compile -o "$tmp/x.jit" "$crc_obj" "$crc_obj"
	err_has "-o names one file"
	expect 2 compile --ir "$tmp/x.ll" "$crc_obj" "$crc_obj"
	err_has "--ir names one file"
	expect 2 compile --raw --section x "$crc_obj"
	expect 2 run --mem
	err_has "needs an argument"
	expect 2 run --raw --section x "$crc_obj"
	;;
missing)
	expect 1 run /nonexistent/prog.bpf.o
	err_has "bpftime-vm: /nonexistent/prog.bpf.o: cannot open: No such file or directory"
	err_is_one_line
	expect 1 run --mem /nonexistent/input "$crc_obj"
	err_has "/nonexistent/input: cannot open"
	err_is_one_line
	expect 1 run "$0"
	err_has "not an ELF file"
	err_is_one_line
	expect 1 run --section no_such_prog "$crc_obj"
	err_has "no program with section or name 'no_such_prog'"
	err_has "(programs: crc32_ieee (section crc32))"
	err_is_one_line
	expect 1 run "$helpers_obj" --section no_such_prog
	err_is_one_line
	;;
crc)
	# CRC-32 of the classic pangram, and of the demo's input (zlib values)
	printf 'The quick brown fox jumps over the lazy dog' >"$tmp/fox"
	expect 0 run --mem "$tmp/fox" "$crc_obj"
	out_has "r0 = 1095738169 (0x414fa339)"
	expect 0 run --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	expect 0 run --section crc32 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	# no input: the CRC of nothing
	expect 0 run "$crc_obj"
	out_has "r0 = 0 (0x0)"
	# cross-check with zlib where a working python3 exists
	head -c 100000 /dev/urandom >"$tmp/random"
	if want=$(zcrc "$tmp/random"); then
		expect 0 run --mem "$tmp/random" "$crc_obj"
		out_has "r0 = $want "
		want=$(zcrc "$crc_input")
		[ "$want" = 2801588775 ] || fail "python3 zlib says $want for the demo input"
	else
		echo "no working python3: zlib cross-check skipped"
	fi
	;;
raw)
	raw_prog "$tmp/prog.raw"
	printf 'A' >"$tmp/one"
	expect 0 run --raw --mem "$tmp/one" "$tmp/prog.raw"
	out_has "r0 = 75 (0x4b)"
	# r0 = -1 (ld_imm64, two slots); exit
	{
		hex 18 00 00 00 ff ff ff ff
		hex 00 00 00 00 ff ff ff ff
		hex 95 00 00 00 00 00 00 00
	} >"$tmp/imm.raw"
	expect 0 run --raw "$tmp/imm.raw"
	out_has "r0 = 18446744073709551615 (0xffffffffffffffff)"
	hex 95 00 00 00 >"$tmp/short.raw"
	expect 1 run --raw "$tmp/short.raw"
	err_has "not a whole number of 8-byte instructions"
	# an invalid opcode is a load error, with the vm's reason
	hex ff 00 00 00 00 00 00 00 >"$tmp/bad.raw"
	expect 1 run --raw "$tmp/bad.raw"
	err_has "load failed: insn 0:"
	err_is_one_line
	;;
repeat)
	expect 0 run --repeat 50 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	grep -Eq '^50 runs, [0-9]+\.[0-9][0-9] ns/run \((interp|jit)\)$' "$tmp/out" ||
		fail "no '50 runs, X.XX ns/run (ENGINE)' line: $(cat "$tmp/out")"
	# the engine: the jit by default when built in, else the interpreter
	if [ "$jit" = jit ]; then
		out_has "ns/run (jit)"
	else
		out_has "ns/run (interp)"
	fi
	expect 0 run --engine interp --repeat 2 --mem "$crc_input" "$crc_obj"
	out_has "ns/run (interp)"
	expect 0 run --mem "$crc_input" "$crc_obj"
	grep -q 'ns/run' "$tmp/out" && fail "timing printed without --repeat"
	;;
checked)
	expect 0 run --checked --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	expect 0 run --checked --engine interp --repeat 3 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	;;
fault)
	# r0 = *(u64 *)(r1 + 8); exit -- past the end of a 1-byte input
	{
		hex 79 10 08 00 00 00 00 00
		hex 95 00 00 00 00 00 00 00
	} >"$tmp/oob.raw"
	printf 'A' >"$tmp/one"
	expect 1 run --checked --raw --mem "$tmp/one" "$tmp/oob.raw"
	err_has "run failed: insn 0: invalid memory access: load of 8 bytes at 0x"
	err_is_one_line
	;;
helpers)
	expect 0 run "$helpers_obj"
	out_has "r0 = 111122 (0x1b212)"
	out_has "d=-5 u=4000000000 x=ff"
	out_has "ld=-5 lu=18446744073709551615 lx=deadbeefcafe"
	out_has "lld=-1 llu=12345678901234 llx=abc"
	out_has "s=bpftime c=Z 100%"
	out_has "w=[    7] [a   ] [009]"
	out_has "i=42 p=0x1000 bad=[]"
	[ "$(grep -c . "$tmp/out")" -eq 7 ] || fail "expected 6 trace lines and r0: $(cat "$tmp/out")"
	expect 0 run --checked "$helpers_obj"
	out_has "r0 = 111122 (0x1b212)"
	out_has "s=bpftime c=Z 100%"
	out_has "i=42 p=0x1000 bad=[]"
	;;
engines)
	# the jit and the interpreter: same r0, trace lines, faults
	need_jit
	printf 'The quick brown fox jumps over the lazy dog' >"$tmp/fox"
	head -c 100000 /dev/urandom >"$tmp/random"
	for mem in "$tmp/fox" "$crc_input" "$tmp/random"; do
		same_run --mem "$mem" "$crc_obj"
		same_run --checked --mem "$mem" "$crc_obj"
	done
	same_run "$crc_obj"
	same_run --repeat 20 --mem "$crc_input" "$crc_obj"
	same_run "$helpers_obj"
	same_run --checked "$helpers_obj"
	# a fault: the same message and instruction
	{
		hex 79 10 08 00 00 00 00 00
		hex 95 00 00 00 00 00 00 00
	} >"$tmp/oob.raw"
	printf 'A' >"$tmp/one"
	same_run --checked --raw --mem "$tmp/one" "$tmp/oob.raw"
	mv "$tmp/jit.err" "$tmp/err"
	err_has "run failed: insn 0: invalid memory access: load of 8 bytes at 0x"
	# the jit is the default engine, and runs native code
	expect 0 run --repeat 2 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	out_has "ns/run (jit)"
	expect 0 run --engine jit --repeat 2 --checked --mem "$crc_input" "$crc_obj"
	out_has "ns/run (jit)"
	;;
aot)
	# compile, then run the image: the interpreter's output, no LLVM
	need_jit
	cp "$crc_obj" "$tmp/crc.o"
	expect 0 compile "$tmp/crc.o"
	out_has "$tmp/crc.o: prog 'crc32_ieee' ("
	out_has "fast mode): $tmp/crc.o.jit, "
	[ -s "$tmp/crc.o.jit" ] || fail "compile wrote no $tmp/crc.o.jit"
	expect 0 run --engine interp --mem "$crc_input" "$crc_obj"
	cp "$tmp/out" "$tmp/want"
	expect 0 run --aot "$tmp/crc.o.jit" --mem "$crc_input" "$crc_obj"
	cmp -s "$tmp/out" "$tmp/want" || fail "aot: '$(cat "$tmp/out")', interp: '$(cat "$tmp/want")'"
	expect 0 run --aot "$tmp/crc.o.jit" --repeat 10 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	out_has "ns/run (aot)"
	# -o, --section, --ir
	expect 0 compile -o "$tmp/crc-s.jit" --section crc32 --ir "$tmp/crc.ll" "$crc_obj"
	grep -q '^define ' "$tmp/crc.ll" || fail "--ir wrote no LLVM IR function: $(head -5 "$tmp/crc.ll")"
	expect 0 run --aot "$tmp/crc-s.jit" --section crc32 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	# the bounds-checked mode has its own image
	expect 0 compile --checked -o "$tmp/crc-c.jit" "$crc_obj"
	out_has "bounds-checked mode"
	expect 0 run --checked --aot "$tmp/crc-c.jit" --repeat 2 --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	out_has "ns/run (aot)"
	# helpers and their trace lines, as run prints them
	expect 0 compile -o "$tmp/helpers.jit" "$helpers_obj"
	expect 0 run --engine interp "$helpers_obj"
	cp "$tmp/out" "$tmp/want"
	expect 0 run --aot "$tmp/helpers.jit" "$helpers_obj"
	cmp -s "$tmp/out" "$tmp/want" || fail "aot: '$(cat "$tmp/out")', interp: '$(cat "$tmp/want")'"
	raw_prog "$tmp/prog.raw"
	printf 'A' >"$tmp/one"
	expect 0 compile --raw "$tmp/prog.raw"
	expect 0 run --raw --aot "$tmp/prog.raw.jit" --mem "$tmp/one" "$tmp/prog.raw"
	out_has "r0 = 75 (0x4b)"
	# several files, one image each; a failing file fails the command
	cp "$crc_obj" "$tmp/a.o"
	cp "$helpers_obj" "$tmp/b.o"
	expect 0 compile "$tmp/a.o" "$tmp/b.o"
	[ -s "$tmp/a.o.jit" ] && [ -s "$tmp/b.o.jit" ] || fail "compile of two files: $(ls "$tmp")"
	expect 1 compile "$tmp/a.o" /nonexistent/prog.bpf.o
	err_has "/nonexistent/prog.bpf.o: cannot open"
	err_is_one_line
	expect 1 compile -o /nonexistent/dir/x.jit "$crc_obj"
	err_has "/nonexistent/dir/x.jit: cannot create"
	hex ff 00 00 00 00 00 00 00 >"$tmp/bad.raw"
	expect 1 compile --raw "$tmp/bad.raw"
	err_has "load failed: insn 0:"
	err_is_one_line
	;;
aot_stale)
	# images that do not belong to the program loaded are refused
	need_jit
	expect 0 compile -o "$tmp/crc.jit" "$crc_obj"
	expect 1 run --aot "$tmp/crc.jit" "$helpers_obj"
	err_has "$tmp/crc.jit: cannot bind the image to prog 'helpers' of $helpers_obj:"
	err_has "native image: compiled from other instructions"
	err_is_one_line
	[ -s "$tmp/out" ] && fail "a refused image still ran: $(cat "$tmp/out")"
	expect 1 run --checked --aot "$tmp/crc.jit" "$crc_obj"
	err_has "native image: compiled for the fast mode"
	err_is_one_line
	expect 0 compile --checked -o "$tmp/crc-c.jit" "$crc_obj"
	expect 1 run --aot "$tmp/crc-c.jit" "$crc_obj"
	err_has "native image: compiled for the bounds-checked mode"
	err_is_one_line
	# not an image at all, a truncated one, a missing one
	expect 1 run --aot "$crc_input" "$crc_obj"
	err_has "cannot bind the image to prog 'crc32_ieee'"
	err_has "native image: "
	err_is_one_line
	head -c 100 "$tmp/crc.jit" >"$tmp/short.jit"
	expect 1 run --aot "$tmp/short.jit" "$crc_obj"
	err_has "native image: "
	err_is_one_line
	expect 1 run --aot "$tmp/none.jit" "$crc_obj"
	err_has "$tmp/none.jit: cannot open"
	err_is_one_line
	;;
nojit)
	# a build without the JIT says so, and runs the interpreter by default
	need_nojit
	expect 2 run --engine jit "$crc_obj"
	err_has "run: engine 'jit' is not in this build"
	err_has "use --engine interp"
	err_is_one_line
	expect 2 compile "$crc_obj"
	err_has "compile: this build has no JIT"
	err_is_one_line
	expect 0 run --mem "$crc_input" "$crc_obj"
	out_has "r0 = 2801588775 (0xa6fcda27)"
	;;
*)
	echo "unknown case $case_name"
	exit 2
	;;
esac

if [ "$failures" -ne 0 ]; then
	echo "$case_name: $failures check(s) failed"
	exit 1
fi
echo "$case_name: ok"
