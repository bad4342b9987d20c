// SPDX-License-Identifier: MIT
/*
 * A handle's identity and the program side's dispatch to the map type
 * (bpftime_map__prog_*): run path, compiled into the agent, no libc.
 */
#include "map-internal.h"

#define MAP_ENOTSUPP 524 /* the kernel's ENOTSUPP, not in the UAPI */

uint32_t bpftime_map__id(const struct bpftime_map *m)
{
	return m->d->id;
}

const struct bpftime_map_attr *bpftime_map__attr(const struct bpftime_map *m)
{
	return &m->d->attr;
}

const char *bpftime_map__file(const struct bpftime_map *m)
{
	return m->file_mem ? m->file_path : NULL;
}

/* ---- program side ---- */

void *bpftime_map__prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	return m->ops->prog_lookup ? m->ops->prog_lookup(m, key, cpu) : NULL;
}

long bpftime_map__prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu)
{
	return m->ops->prog_update ? m->ops->prog_update(m, key, value, flags, cpu) : -MAP_ENOTSUPP;
}

long bpftime_map__prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu)
{
	return m->ops->prog_delete ? m->ops->prog_delete(m, key, cpu) : -MAP_ENOTSUPP;
}

long bpftime_map__prog_push(struct bpftime_map *m, const void *value, uint64_t flags)
{
	return m->ops->push ? m->ops->push(m, value, flags) : -MAP_ENOTSUPP;
}

long bpftime_map__prog_pop(struct bpftime_map *m, void *value)
{
	return m->ops->pop ? m->ops->pop(m, value) : -MAP_ENOTSUPP;
}

long bpftime_map__prog_peek(struct bpftime_map *m, void *value)
{
	return m->ops->peek ? m->ops->peek(m, value) : -MAP_ENOTSUPP;
}
