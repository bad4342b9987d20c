/* SPDX-License-Identifier: MIT */
/*
 * ALU semantics of RFC 9669 section 4.1, one function per operation and
 * width, written so that no input is undefined behaviour in C:
 *
 *   div: dst = src ? dst / src : 0              (unsigned)
 *   mod: dst = src ? dst % src : dst            (unsigned)
 *   sdiv: src == 0 -> 0; src == -1 -> -dst (INT_MIN / -1 wraps to INT_MIN)
 *   smod: src == 0 -> dst; src == -1 -> 0; else truncated C remainder
 *   shifts: amount masked to 63 (64-bit) or 31 (32-bit)
 *
 * 32-bit forms take and return uint32_t; the caller's assignment to a
 * 64-bit register zero-extends, as ALU32 requires.
 */
#ifndef BPFTIME_VM_ALU_H
#define BPFTIME_VM_ALU_H

#include <stdint.h>

#define VM_ALU_BOTH(NAME, EXPR)                                                                    \
	static inline uint64_t NAME##64(uint64_t d, uint64_t s)                                    \
	{                                                                                          \
		return (EXPR);                                                                     \
	}                                                                                          \
	static inline uint32_t NAME##32(uint32_t d, uint32_t s)                                    \
	{                                                                                          \
		return (EXPR);                                                                     \
	}

VM_ALU_BOTH(alu_add, d + s)
VM_ALU_BOTH(alu_sub, d - s)
VM_ALU_BOTH(alu_mul, d *s)
VM_ALU_BOTH(alu_div, s ? d / s : 0)
VM_ALU_BOTH(alu_mod, s ? d % s : d)
VM_ALU_BOTH(alu_or, d | s)
VM_ALU_BOTH(alu_and, d &s)
VM_ALU_BOTH(alu_xor, d ^ s)
VM_ALU_BOTH(alu_mov, ((void)d, s))
#undef VM_ALU_BOTH

static inline uint64_t alu_lsh64(uint64_t d, uint64_t s)
{
	return d << (s & 63);
}
static inline uint32_t alu_lsh32(uint32_t d, uint32_t s)
{
	return d << (s & 31);
}
static inline uint64_t alu_rsh64(uint64_t d, uint64_t s)
{
	return d >> (s & 63);
}
static inline uint32_t alu_rsh32(uint32_t d, uint32_t s)
{
	return d >> (s & 31);
}
/* Right shift of a negative value is arithmetic in GCC and Clang
 * (implementation-defined, not undefined). */
static inline uint64_t alu_arsh64(uint64_t d, uint64_t s)
{
	return (uint64_t)((int64_t)d >> (s & 63));
}
static inline uint32_t alu_arsh32(uint32_t d, uint32_t s)
{
	return (uint32_t)((int32_t)d >> (s & 31));
}

static inline uint64_t alu_sdiv64(uint64_t d, uint64_t s)
{
	if (s == 0)
		return 0;
	if ((int64_t)s == -1)
		return 0 - d;
	return (uint64_t)((int64_t)d / (int64_t)s);
}
static inline uint32_t alu_sdiv32(uint32_t d, uint32_t s)
{
	if (s == 0)
		return 0;
	if ((int32_t)s == -1)
		return 0u - d;
	return (uint32_t)((int32_t)d / (int32_t)s);
}
static inline uint64_t alu_smod64(uint64_t d, uint64_t s)
{
	if (s == 0)
		return d;
	if ((int64_t)s == -1)
		return 0;
	return (uint64_t)((int64_t)d % (int64_t)s);
}
static inline uint32_t alu_smod32(uint32_t d, uint32_t s)
{
	if (s == 0)
		return d;
	if ((int32_t)s == -1)
		return 0;
	return (uint32_t)((int32_t)d % (int32_t)s);
}

/* Unaligned, aliasing-safe access types: eBPF allows unaligned loads. */
typedef uint16_t vm_u16u __attribute__((aligned(1), may_alias));
typedef uint32_t vm_u32u __attribute__((aligned(1), may_alias));
typedef uint64_t vm_u64u __attribute__((aligned(1), may_alias));
typedef int16_t vm_s16u __attribute__((aligned(1), may_alias));
typedef int32_t vm_s32u __attribute__((aligned(1), may_alias));

/* Byte order conversions of BPF_END: truncate to the width, swap if needed. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define VM_LE(w, x) ((uint##w##_t)(x))
#define VM_BE(w, x) __builtin_bswap##w((uint##w##_t)(x))
#else
#define VM_LE(w, x) __builtin_bswap##w((uint##w##_t)(x))
#define VM_BE(w, x) ((uint##w##_t)(x))
#endif
static inline uint64_t vm_to_le16(uint64_t x)
{
	return VM_LE(16, x);
}
static inline uint64_t vm_to_le32(uint64_t x)
{
	return VM_LE(32, x);
}
static inline uint64_t vm_to_le64(uint64_t x)
{
	return VM_LE(64, x);
}
static inline uint64_t vm_to_be16(uint64_t x)
{
	return VM_BE(16, x);
}
static inline uint64_t vm_to_be32(uint64_t x)
{
	return VM_BE(32, x);
}
static inline uint64_t vm_to_be64(uint64_t x)
{
	return VM_BE(64, x);
}

#endif /* BPFTIME_VM_ALU_H */
