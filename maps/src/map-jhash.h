/* SPDX-License-Identifier: MIT */
/*
 * Bob Jenkins' lookup3 hash ("hashlittle", public domain, 2006:
 * http://burtleburtle.net/bob/c/lookup3.c) with the seeding the kernel's
 * <linux/jhash.h> uses: the three state words start at
 * 0xdeadbeef + length in bytes + initval.
 *
 * Same function as the kernel's jhash()/jhash2(), so that what depends on
 * the hash comes out as on Linux: the ids bpf_get_stackid() gives a stack
 * (jhash2 of the ips, seed 0) and the bits a BPF_F_ZERO_SEED bloom filter
 * sets. Run path: no libc.
 */
#ifndef BPFTIME_MAP_JHASH_H
#define BPFTIME_MAP_JHASH_H

#include <stdint.h>

#define MAP_JHASH_INITVAL 0xdeadbeefu

static inline uint32_t jh_rol(uint32_t w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

/* lookup3's mix(): reversible mixing of three words. */
static inline void jh_mix(uint32_t *a, uint32_t *b, uint32_t *c)
{
	*a -= *c, *a ^= jh_rol(*c, 4), *c += *b;
	*b -= *a, *b ^= jh_rol(*a, 6), *a += *c;
	*c -= *b, *c ^= jh_rol(*b, 8), *b += *a;
	*a -= *c, *a ^= jh_rol(*c, 16), *c += *b;
	*b -= *a, *b ^= jh_rol(*a, 19), *a += *c;
	*c -= *b, *c ^= jh_rol(*b, 4), *b += *a;
}

/* lookup3's final(): the last mix, into c. */
static inline void jh_final(uint32_t *a, uint32_t *b, uint32_t *c)
{
	*c ^= *b, *c -= jh_rol(*b, 14);
	*a ^= *c, *a -= jh_rol(*c, 11);
	*b ^= *a, *b -= jh_rol(*a, 25);
	*c ^= *b, *c -= jh_rol(*b, 16);
	*a ^= *c, *a -= jh_rol(*c, 4);
	*b ^= *a, *b -= jh_rol(*a, 14);
	*c ^= *b, *c -= jh_rol(*b, 24);
}

/* Little-endian word of up to 4 bytes at @p (the tail of a key). */
static inline uint32_t jh_tail_word(const uint8_t *p, uint32_t n)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < n && i < 4; i++)
		w |= (uint32_t)p[i] << (8 * i);
	return w;
}

/*
 * As jhash(): @len bytes at @key, any alignment. For a multiple of 4 bytes
 * this equals the kernel's jhash2() over len / 4 words (same start value,
 * same 12-byte rounds, same tail), which is what stack maps and aligned
 * bloom filter values use.
 */
static inline uint32_t map_jhash(const void *key, uint32_t len, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;

	a = b = c = MAP_JHASH_INITVAL + len + initval;
	for (; len > 12; len -= 12, k += 12) {
		a += jh_tail_word(k, 4);
		b += jh_tail_word(k + 4, 4);
		c += jh_tail_word(k + 8, 4);
		jh_mix(&a, &b, &c);
	}
	if (len == 0)
		return c; /* lookup3: a zero-length tail needs no final mix */
	a += jh_tail_word(k, len);
	if (len > 4)
		b += jh_tail_word(k + 4, len - 4);
	if (len > 8)
		c += jh_tail_word(k + 8, len - 8);
	jh_final(&a, &b, &c);
	return c;
}

#endif /* BPFTIME_MAP_JHASH_H */
