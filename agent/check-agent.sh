#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that libbpftime-agent.so can go into any x86-64 process: loaded by
# glibc's or musl's ld.so, or mapped by our ptrace injector, which applies
# R_X86_64_RELATIVE relocations and nothing else (supervisor/src/sup-elf.c).
# Run after every link (the build fails) and as a test.
set -eu
so=$1
command -v readelf >/dev/null 2>&1 || { echo "readelf not found: skipped"; exit 77; }
fail() { echo "check-agent: $so: $*" >&2; exit 1; }

dyn=$(readelf -dW "$so")
echo "$dyn" | grep -q '(NEEDED)' && fail "has DT_NEEDED entries: $(echo "$dyn" | grep NEEDED)"
echo "$dyn" | grep -q '(TEXTREL)' && fail "has text relocations"
echo "$dyn" | grep -Eq '\((JMPREL|PLTREL)\)' && fail "has PLT relocations"
echo "$dyn" | grep -q '(INIT_ARRAY)' || fail "no DT_INIT_ARRAY: the constructor is missing"
readelf -lW "$so" | grep -q '^ *TLS ' && fail "has a PT_TLS segment"
# every dynamic relocation must be R_X86_64_RELATIVE
other=$(readelf -rW "$so" | awk '/^[0-9a-f]+ +[0-9a-f]+ R_/ && $3 != "R_X86_64_RELATIVE"')
[ -z "$other" ] || fail "relocations the injector cannot apply:
$other"
# no undefined dynamic symbols: nothing may be looked up in the target
und=$(readelf --dyn-syms -W "$so" | awk '$7 == "UND" && $8 != ""')
[ -z "$und" ] || fail "undefined symbols:
$und"
# exactly the entry points are exported
exp=$(readelf --dyn-syms -W "$so" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' |
	sed 's/@.*//' | sort | tr '\n' ' ')
[ "$exp" = "bpftime_agent_detach bpftime_agent_main bpftime_agent_trap " ] ||
	fail "exports '$exp', expected the three entry points"
echo "check-agent: $so is freestanding (no NEEDED, no TLS, RELATIVE relocations only)"
