// SPDX-License-Identifier: MIT
/*
 * The map lock (see map-sync.h). Run path: raw syscalls only.
 */
#include <errno.h>
#include "map-sync.h"
#include "map-sys.h"

/* Spins before the first liveness check, and between checks. */
#define LOCK_SPINS       128
#define LOCK_PROBE_EVERY 16

bool bpftime_map_task_gone(uint32_t tid)
{
	return map_sys_probe_task(tid) == -ESRCH;
}

static bool holder_is_gone(uint32_t holder, uint32_t self)
{
	/* Our own TID as holder: a dead thread whose TID the kernel gave us;
	 * the lock is not recursive, so it cannot be a live hold of ours. */
	if (holder == self)
		return true;
	return bpftime_map_task_gone(holder);
}

int bpftime_map_lock(uint32_t *lock, uint32_t self)
{
	unsigned spins = 0, yields = 0;

	for (;;) {
		uint32_t cur = 0;

		if (__atomic_compare_exchange_n(lock, &cur, self, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		if (spins++ < LOCK_SPINS) {
			map_cpu_relax();
			continue;
		}
		/* Holders keep the lock for a few hundred instructions: a long
		 * wait means a descheduled or a dead holder. */
		if (++yields % LOCK_PROBE_EVERY == 0 && holder_is_gone(cur, self) &&
		    __atomic_compare_exchange_n(lock, &cur, self, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 1;
		map_sys_yield();
	}
}

void bpftime_map_unlock(uint32_t *lock)
{
	/* Pairs with the acquire CAS of the next holder. */
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
