// SPDX-License-Identifier: MIT
/*
 * The map types, by BPF_MAP_TYPE_*. Each type's ops live in their own file
 * (map-<type>.c, picked up by the build); a type that is not listed here is
 * absent, and map creation refuses it as the kernel refuses an unknown type
 * (-EINVAL), naming it. Add a line when a type lands.
 */
#include "map-internal.h"

#define MAP_TYPES(X)                                                                               \
	X(BPF_MAP_TYPE_ARRAY, array)                                                               \
	X(BPF_MAP_TYPE_PERCPU_ARRAY, percpu_array)                                                 \
	X(BPF_MAP_TYPE_HASH, hash)                                                                 \
	X(BPF_MAP_TYPE_PERCPU_HASH, percpu_hash)                                                   \
	X(BPF_MAP_TYPE_LRU_HASH, lru_hash)                                                         \
	X(BPF_MAP_TYPE_LRU_PERCPU_HASH, lru_percpu_hash)                                           \
	X(BPF_MAP_TYPE_RINGBUF, ringbuf)                                                           \
	X(BPF_MAP_TYPE_PERF_EVENT_ARRAY, perf_event_array)                                         \
	X(BPFTIME_MAP_TYPE_PERF_BUFFER, perfbuf)                                                   \
	X(BPF_MAP_TYPE_QUEUE, queue)                                                               \
	X(BPF_MAP_TYPE_STACK, stack)                                                               \
	X(BPF_MAP_TYPE_BLOOM_FILTER, bloom_filter)                                                 \
	X(BPF_MAP_TYPE_LPM_TRIE, lpm_trie)                                                         \
	X(BPF_MAP_TYPE_STACK_TRACE, stack_trace)                                                   \
	X(BPF_MAP_TYPE_PROG_ARRAY, prog_array)                                                     \
	X(BPF_MAP_TYPE_CGROUP_ARRAY, cgroup_array)                                                 \
	X(BPF_MAP_TYPE_ARRAY_OF_MAPS, array_of_maps)                                               \
	X(BPF_MAP_TYPE_HASH_OF_MAPS, hash_of_maps)

#define DECLARE(type, name) extern const struct map_ops bpftime_map_##name##_ops;
MAP_TYPES(DECLARE)
#undef DECLARE

const struct map_ops *bpftime_map_ops_of(uint32_t map_type)
{
	switch (map_type) {
#define CASE(type, name)                                                                           \
	case type:                                                                                 \
		return &bpftime_map_##name##_ops;
		MAP_TYPES(CASE)
#undef CASE
	}
	return NULL;
}
