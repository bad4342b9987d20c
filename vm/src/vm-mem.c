// SPDX-License-Identifier: MIT
/*
 * Memory for the vm's tables, through the allocator of its opts, and the
 * two memory routines the loader needs, so that nothing outside the run
 * path calls libc either (see vm-alloc-libc.c for the default allocator).
 *
 * The empty asm in the loops hides the pointer's progression from the
 * optimizer, which would otherwise turn them back into memcpy and memset
 * calls (gcc's loop distribution, clang's loop idiom recognition).
 */
#include "vm-internal.h"

void bpftime_vm_memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (!(((uintptr_t)d | (uintptr_t)s) & 7)) {
		for (; n >= 8; n -= 8, d += 8, s += 8) {
			__asm__("" : "+r"(d));
			*(uint64_t *)d = *(const uint64_t *)s;
		}
	}
	for (; n; n--) {
		__asm__("" : "+r"(d));
		*d++ = *s++;
	}
}

void bpftime_vm_memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t w = 0x0101010101010101ull * (unsigned char)c;

	for (; n && ((uintptr_t)d & 7); n--) {
		__asm__("" : "+r"(d));
		*d++ = (unsigned char)c;
	}
	for (; n >= 8; n -= 8, d += 8) {
		__asm__("" : "+r"(d));
		*(uint64_t *)d = w;
	}
	for (; n; n--) {
		__asm__("" : "+r"(d));
		*d++ = (unsigned char)c;
	}
}

void *bpftime_vm_zalloc(const struct bpftime_vm *vm, size_t size)
{
	void *p = vm->opts.alloc(vm->opts.host, size);

	if (p)
		bpftime_vm_memset(p, 0, size);
	return p;
}

void bpftime_vm_dealloc(const struct bpftime_vm *vm, void *p, size_t size)
{
	if (p)
		vm->opts.dealloc(vm->opts.host, p, size);
}
