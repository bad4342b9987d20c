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
	X(BPF_MAP_TYPE_PERCPU_ARRAY, percpu_array)

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
