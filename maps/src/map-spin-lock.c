// SPDX-License-Identifier: MIT
/*
 * Values that hold a struct bpf_spin_lock, treated as the kernel treats
 * them: bpf_spin_lock() / bpf_spin_unlock() and copy_map_value_locked() in
 * kernel/bpf/helpers.c, copy_map_value() and check_and_init_map_value() in
 * include/linux/bpf.h. Which types may have one, and the checks of the
 * syscall side, are in map.c; the types call the copies below.
 *
 *   value  [ fields ... | lock word (u32) | ... fields ]
 *                       ^ attr.spin_lock_off - 1, 4-byte aligned (values
 *                         start 8-byte aligned in every type that has one)
 *
 * The lock word is a map lock (map-sync.h): the TID of its holder, 0 when
 * free, taken over from a holder that no longer exists. Programs take it
 * through bpftime_map__spin_lock(), the syscall side for BPF_F_LOCK. Only
 * lockers write it: copies into and out of a map go around it, as
 * copy_map_value() skips it, so an update can neither release nor fake a
 * lock, and lookups show it as 0.
 *
 * Lock order: a hash bucket's lock before a value's lock, never the
 * reverse. A program holding a bpf_spin_lock calls no map helper (the
 * verifier refuses any helper call but the unlock), so the holder of a
 * value lock waits for nothing and the order cannot be inverted.
 *
 * Run path: no libc, no allocation.
 */
#include "map-internal.h"
#include "map-sync.h"
#include "map-sys.h"

static uint32_t self_or(uint32_t tid)
{
	return tid ? tid : map_sys_gettid();
}

static uint32_t *lock_word(const void *value, uint32_t lock_off)
{
	return (uint32_t *)((uintptr_t)value + lock_off - 1);
}

void bpftime_map__spin_lock(void *lock, uint32_t tid)
{
	/* A takeover (1) needs no repair here: what the dead holder left
	 * half-written is data of the program's, as it would be in a
	 * kernel that killed a program mid-way (which it never does). */
	bpftime_map_lock(lock, self_or(tid));
}

void bpftime_map__spin_unlock(void *lock)
{
	bpftime_map_unlock(lock);
}

void bpftime_map_value_copy(void *dst, const void *src, uint32_t size, uint32_t lock_off)
{
	uint32_t before = lock_off - 1, after;

	if (!lock_off) {
		map_copy(dst, src, size);
		return;
	}
	/* before + 4 <= size: checked at creation and by every handle */
	after = size - before - 4;
	map_copy(dst, src, before);
	map_copy((uint8_t *)dst + before + 4, (const uint8_t *)src + before + 4, after);
}

void bpftime_map_value_read(void *dst, const void *src, uint32_t size, uint32_t lock_off,
			    uint64_t flags, uint32_t tid)
{
	uint32_t zero = 0, *l;

	if (!lock_off) {
		map_copy(dst, src, size);
		return;
	}
	if (flags & BPF_F_LOCK) {
		l = lock_word(src, lock_off);
		bpftime_map_lock(l, self_or(tid));
		bpftime_map_value_copy(dst, src, size, lock_off);
		bpftime_map_unlock(l);
	} else {
		bpftime_map_value_copy(dst, src, size, lock_off);
	}
	/* check_and_init_map_value(): the caller's buffer gets a free lock */
	map_copy((uint8_t *)dst + lock_off - 1, &zero, sizeof(zero));
}

void bpftime_map_value_write(void *dst, const void *src, uint32_t size, uint32_t lock_off,
			     uint64_t flags, uint32_t tid)
{
	uint32_t *l;

	if (!lock_off || !(flags & BPF_F_LOCK)) {
		bpftime_map_value_copy(dst, src, size, lock_off);
		return;
	}
	l = lock_word(dst, lock_off);
	bpftime_map_lock(l, self_or(tid));
	bpftime_map_value_copy(dst, src, size, lock_off);
	bpftime_map_unlock(l);
}
