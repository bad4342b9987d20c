// SPDX-License-Identifier: MIT
/*
 * CPU slots (maps.h): taken and put by every thread that runs a program,
 * in any process of the session. Run path: no libc.
 */
#include "map-internal.h"
#include "map-sys.h"

/* ---- CPU slots (run path) ---- */

uint32_t bpftime_map_region__cpu_get(struct bpftime_map_region *r, uint32_t hint, uint32_t tid)
{
	uint32_t *owner = r->hdr->cpu_owner, n = r->nr_cpus;

	for (unsigned round = 0;; round++) {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t slot = (hint + i) % n, cur = 0;

			/* Pairs with the release store of cpu_put. */
			if (__atomic_compare_exchange_n(&owner[slot], &cur, tid, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return slot;
			/* every few rounds, reclaim slots of threads that died holding them */
			if (round % 16 == 15 && (cur == tid || bpftime_map_task_gone(cur)) &&
			    __atomic_compare_exchange_n(&owner[slot], &cur, tid, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return slot;
		}
		map_sys_yield();
	}
}

void bpftime_map_region__cpu_put(struct bpftime_map_region *r, uint32_t slot)
{
	if (slot < r->nr_cpus)
		__atomic_store_n(&r->hdr->cpu_owner[slot], 0, __ATOMIC_RELEASE);
}
