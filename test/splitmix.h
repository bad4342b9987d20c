/* SPDX-License-Identifier: MIT */
/*
 * splitmix64: the tests' random numbers. Small, and the same sequence on
 * every host, so that a failing seed replays anywhere.
 */
#ifndef BPFTIME_TEST_SPLITMIX_H
#define BPFTIME_TEST_SPLITMIX_H

#include <stdint.h>

static inline uint64_t test_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif /* BPFTIME_TEST_SPLITMIX_H */
