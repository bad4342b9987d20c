// SPDX-License-Identifier: MIT
/*
 * bpftime_vm__load_native: a native image bound in memory from mmap. The
 * code pages become read + exec and the data slots read-only once filled,
 * so the mapping is never writable and executable at once. Uses libc; the
 * agent does the same with raw syscalls (agent-prog.c).
 */
#include <errno.h>
#include <sys/mman.h>
#include "vm-internal.h"

static void release(void *mem, size_t len)
{
	munmap(mem, len);
}

int bpftime_vm__load_native(struct bpftime_vm *vm, const void *image, size_t len)
{
	int64_t size = bpftime_vm__native_size(image, len);
	size_t exec_len = 0;
	void *mem;
	int err;

	if (!vm)
		return -EINVAL;
	if (size < 0)
		return bpftime_vm_error(vm, (int)size, "native image: not an image of this build");
	mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return bpftime_vm_error(vm, -errno, "native image: mmap of %lld bytes failed",
					(long long)size);
	err = bpftime_vm__native_bind(vm, image, len, mem, (size_t)size, release, &exec_len);
	if (err) {
		munmap(mem, (size_t)size);
		return err;
	}
	if (mprotect(mem, exec_len, PROT_READ | PROT_EXEC) ||
	    (exec_len < (size_t)size &&
	     mprotect((char *)mem + exec_len, (size_t)size - exec_len, PROT_READ))) {
		err = -errno;
		/* dropping the binding releases the mapping */
		bpftime_vm__native_drop(vm);
		return bpftime_vm_error(vm, err, "native image: mprotect failed");
	}
	return 0;
}
