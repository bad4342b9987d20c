/* SPDX-License-Identifier: MIT */
/* Shorthands for map commands in the bpf-emul tests (test_emul_map.c,
 * test_emul_info.c, test_emul_pin.c). */
#ifndef BPFTIME_EMUL_TEST_MAP_H
#define BPFTIME_EMUL_TEST_MAP_H

#include <string.h>
#include <sys/mman.h>
#include "emul-test.h"

/* An address that stays unreadable: a PROT_NONE page kept mapped (an
 * unmapped page can be reused, e.g. by the sanitizers' allocator). */
static inline uint64_t tm_bad_ptr(void)
{
	static void *p;

	if (!p)
		p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return ptr_to_u64(p);
}

static inline long tm_create(struct emul_test *t, uint32_t type, uint32_t ks, uint32_t vs,
			     uint32_t max, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = max;
	a.map_flags = flags;
	return emul_test_bpf(t, BPF_MAP_CREATE, &a, sizeof(a));
}

static inline long tm_elem(struct emul_test *t, int cmd, int fd, const void *key, void *value,
			   uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = ptr_to_u64(key);
	a.value = ptr_to_u64(value);
	a.flags = flags;
	return emul_test_bpf(t, cmd, &a, sizeof(a));
}

/* The map's id, from OBJ_GET_INFO_BY_FD. */
static inline uint32_t tm_id(struct emul_test *t, int fd)
{
	struct bpf_map_info info;
	union bpf_attr a;

	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof(info);
	a.info.info = ptr_to_u64(&info);
	return emul_test_bpf(t, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) ? 0 : info.id;
}

static inline long tm_fd_by_id(struct emul_test *t, int cmd, uint32_t id, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_id = id;
	a.open_flags = flags;
	return emul_test_bpf(t, cmd, &a, sizeof(a));
}

#endif
