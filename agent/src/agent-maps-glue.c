// SPDX-License-Identifier: MIT
/*
 * What the maps module's run-path objects expect from their host, for the
 * agent (its own copies of maps/src/map-*.c; see agent/CMakeLists.txt):
 *
 *   bpftime_map_log / bpftime_map_err   the module's log (maps/src/map-log.c
 *       uses stdio): here the format string alone goes to agent.log, with
 *       no conversion done (the agent has no printf; the text says which
 *       event it was, the numbers are in the supervisor's log when it
 *       meets the same map);
 *   bpftime_map__get                    the handle of a map id (map.c logs
 *       with libc): the run path's handle lookup;
 *   bpftime_map__create, _create_adopt  creating maps is the supervisor's:
 *       an agent never does (-EPERM), but perf buffer creation, which is
 *       in a run-path file, names them.
 */
#include <errno.h>
#include "agent-internal.h"
#include "agent-runtime.h"

#include "../../maps/src/map-internal.h"

void bpftime_map_log(enum bpftime_map_log_level level, const char *fmt, ...)
{
	if (level <= BPFTIME_MAP_WARN)
		agent_log(agent_session_dir(), "maps: ", fmt);
}

int bpftime_map_err(int err, const char *fmt, ...)
{
	agent_log(agent_session_dir(), "maps: ", fmt);
	return err;
}

struct bpftime_map *bpftime_map__get(struct bpftime_map_region *r, uint32_t id)
{
	struct bpftime_map *m;

	return bpftime_map_handle(r, id, &m) ? NULL : m;
}

int bpftime_map__create(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			uint32_t *id)
{
	(void)r;
	(void)attr;
	(void)id;
	return -EPERM;
}

int bpftime_map_create_adopt(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			     uint32_t *id, const char *adopt)
{
	(void)adopt;
	return bpftime_map__create(r, attr, id);
}
