#!/bin/sh
# SPDX-License-Identifier: MIT
# The vm's run path must not call libc, allocate or touch TLS: it runs inside
# static and musl targets whose libc we cannot rely on; nor may the rest of
# the vm but bpftime_vm__new (vm-alloc-libc.c), for the agent. Check the
# objects:
# every undefined symbol must be one of ours, and no instruction may address
# %fs (TLS, stack-protector canaries).
set -eu
status=0
for obj in "$@"; do
	# a list CMake passed unexpanded ("a.o;b.o") must not pass unchecked
	if [ ! -f "$obj" ]; then
		echo "FAIL: $obj: no such object file"
		status=1
		continue
	fi
	# _GLOBAL_OFFSET_TABLE_ is the linker's own (PIC code addressing its
	# GOT), not a dependency on anything at run time
	bad=$(nm -u "$obj" | awk '{print $2}' | grep -v -e '^bpftime_' -e '^_GLOBAL_OFFSET_TABLE_$' ||
		true)
	if [ -n "$bad" ]; then
		echo "FAIL: $obj calls outside the vm: $bad"
		status=1
	fi
	if objdump -d "$obj" | grep -q '%fs:'; then
		echo "FAIL: $obj uses thread-local storage (%fs)"
		status=1
	fi
done
[ $status -eq 0 ] && echo "vm: $# objects, no libc, no TLS"
exit $status
