// SPDX-License-Identifier: MIT
/*
 * The part of the vm that uses libc, apart from everything else so that
 * freestanding hosts can leave it out: bpftime_vm__new, which reports its
 * error in errno and gives vms without an allocator of their own libc's.
 */
#include <errno.h>
#include <stdlib.h>
#include "vm-internal.h"

static void *libc_alloc(void *host, size_t size)
{
	return malloc(size);
}

static void libc_dealloc(void *host, void *p, size_t size)
{
	free(p);
}

struct bpftime_vm *bpftime_vm__new(const struct bpftime_vm_opts *opts)
{
	struct bpftime_vm *vm;
	int err;

	vm = bpftime_vm_create(opts, libc_alloc, libc_dealloc, &err);
	if (!vm)
		errno = -err;
	return vm;
}
