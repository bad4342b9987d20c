// SPDX-License-Identifier: MIT
/*
 * bpftime_vm__load_native: a native image bound in memory from mmap. The
 * code pages become read + exec and the data slots read-only once filled,
 * so the mapping is never writable and executable at once
 * (bpftime_vm__native_map), with libc's mmap; the agent brings raw
 * syscalls instead (agent-prog.c).
 */
#include <errno.h>
#include <sys/mman.h>
#include "vm-internal.h"

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int protect(void *mem, size_t len, bool exec)
{
	return mprotect(mem, len, exec ? PROT_READ | PROT_EXEC : PROT_READ) ? -errno : 0;
}

static void unmap(void *mem, size_t len)
{
	munmap(mem, len);
}

int bpftime_vm__load_native(struct bpftime_vm *vm, const void *image, size_t len)
{
	static const struct bpftime_vm_native_mem libc_mem = {map, protect, unmap};

	return bpftime_vm__native_map(vm, image, len, &libc_mem);
}
