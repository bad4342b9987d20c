/* SPDX-License-Identifier: MIT */
/*
 * Synchronisation that survives SIGKILL, for memory shared by processes
 * that may die at any instruction.
 *
 * map_lock: a lock word holding the TID of its holder (0 = free). A waiter
 * that has spun for a while asks the kernel whether the holder still exists
 * (kill(tid, 0)); if it does not, the waiter takes the lock over and is told
 * so, because the data under the lock may be half-updated: the caller then
 * repairs what its own update order can leave behind. Operations are written
 * so that every intermediate state is one a repair can finish or undo.
 * Limit: TIDs are per PID namespace; all processes of a session must share
 * one (a holder in another namespace would look dead).
 *
 * map_freelist: a lock-free stack of element indexes with an ABA tag, for
 * preallocated element pools. A process killed between popping an element
 * and linking it loses that element (the pool shrinks by one); nothing else
 * can be observed half-done.
 */
#ifndef BPFTIME_MAP_SYNC_H
#define BPFTIME_MAP_SYNC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Take @lock for the thread @self (its TID). Return 0 once held, 1 when
 * taken over from a holder that no longer exists.
 */
int bpftime_map_lock(uint32_t *lock, uint32_t self);
/* TID probe as the lock uses it: true when no task @tid exists. */
bool bpftime_map_task_gone(uint32_t tid);
void bpftime_map_unlock(uint32_t *lock);

/*
 * Freelist head: (tag << 32) | (index + 1); 0 in the low half means empty.
 * @next points at the pool's "next free" words, one per element.
 */
struct map_freelist {
	uint64_t head;
};

static inline void map_freelist_push(struct map_freelist *fl, uint32_t *next, uint32_t idx)
{
	uint64_t h = __atomic_load_n(&fl->head, __ATOMIC_ACQUIRE), n;

	do {
		/* Published by the release CAS below; read by pop's acquire load. */
		__atomic_store_n(&next[idx], (uint32_t)h, __ATOMIC_RELAXED);
		n = (((h >> 32) + 1) << 32) | (uint64_t)(idx + 1);
	} while (!__atomic_compare_exchange_n(&fl->head, &h, n, true, __ATOMIC_RELEASE,
					      __ATOMIC_ACQUIRE));
}

/* Pop an index, or return -1 when the list is empty. */
static inline int64_t map_freelist_pop(struct map_freelist *fl, uint32_t *next, uint32_t cap)
{
	uint64_t h = __atomic_load_n(&fl->head, __ATOMIC_ACQUIRE), n;
	uint32_t top, nx;

	do {
		top = (uint32_t)h;
		if (top == 0)
			return -1;
		/* top - 1 < cap always: indexes come from push; a stale next is caught by the tag
		 */
		nx = __atomic_load_n(&next[(top - 1) % cap], __ATOMIC_RELAXED);
		n = (((h >> 32) + 1) << 32) | nx;
	} while (!__atomic_compare_exchange_n(&fl->head, &h, n, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return (int64_t)top - 1;
}

#endif /* BPFTIME_MAP_SYNC_H */
