// SPDX-License-Identifier: MIT
/*
 * The few memory and string routines the agent needs. gcc and clang emit
 * calls to memcpy, memset, memmove and memcmp for struct copies and
 * initialisers even with -ffreestanding, so these keep their standard
 * names; hidden visibility binds those calls to our copies (never the
 * target's libc, which a static or musl target may not even export).
 *
 * Byte loops on purpose (memset aside: see there): nothing else here is on
 * a hot path, and the compiler
 * must not turn a loop back into a call to the function it is defining
 * (-fno-tree-loop-distribute-patterns for gcc; clang does not do it in
 * -ffreestanding mode).
 */
#include "agent-internal.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

/* Word at a time: the hook path clears its run structs with it. */
void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t w = 0x0101010101010101ull * (unsigned char)c;

	while (n && ((uintptr_t)d & 7)) {
		*d++ = (unsigned char)c;
		n--;
	}
	for (; n >= 8; n -= 8, d += 8)
		__builtin_memcpy(d, &w, 8);
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t agent_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
