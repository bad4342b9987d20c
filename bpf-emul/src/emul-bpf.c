// SPDX-License-Identifier: MIT
/*
 * bpf(2): the size rules of __sys_bpf() and the command table.
 *
 * As kernel/bpf/syscall.c: an attr larger than the kernel's union bpf_attr
 * is accepted only when the extra bytes are zero (else -E2BIG; more than a
 * page is always -E2BIG, bpf_check_uarg_tail_zero()); a smaller one is
 * zero-extended; an unreadable attr is -EFAULT. Our union is the uapi
 * header's this project builds with (Debian 12: Linux 6.1), so a newer
 * tool's non-zero fields past its end are -E2BIG here where 6.18 would read
 * them; the kernel we mirror (6.18) has a 168-byte union (probed: a
 * non-zero byte below 168 is -EINVAL, at 168 or above -E2BIG), so bytes
 * between our union's end and 168 are judged as CHECK_ATTR judges bytes
 * past a command's last field: -EINVAL. Each command then checks that the
 * bytes after its last field are zero (CHECK_ATTR, -EINVAL) before
 * anything else. Unknown commands are
 * -EINVAL, as the kernel's default case, with one line in the log.
 */
#include <string.h>
#include "emul-internal.h"

#define PAGE_SZ          4096u
#define KERNEL_ATTR_SIZE 168u /* sizeof(union bpf_attr) in Linux 6.18 */
_Static_assert(KERNEL_ATTR_SIZE >= sizeof(union bpf_attr), "kernel attr size");

bool emul_attr_tail_nonzero(const union bpf_attr *attr, size_t from)
{
	const uint8_t *p = (const uint8_t *)attr;

	for (size_t i = from; i < sizeof(*attr); i++)
		if (p[i])
			return true;
	return false;
}

struct emul_cmd {
	const char *name;
	emul_cmd_fn fn;
};

#define CMD(c, f) [c] = {#c, f}
static const struct emul_cmd cmds[] = {
    CMD(BPF_MAP_CREATE, emul_cmd_map_create),
    CMD(BPF_MAP_LOOKUP_ELEM, emul_cmd_map_lookup_elem),
    CMD(BPF_MAP_UPDATE_ELEM, emul_cmd_map_update_elem),
    CMD(BPF_MAP_DELETE_ELEM, emul_cmd_map_delete_elem),
    CMD(BPF_MAP_GET_NEXT_KEY, emul_cmd_map_get_next_key),
    CMD(BPF_PROG_LOAD, emul_cmd_prog_load),
    CMD(BPF_OBJ_PIN, emul_cmd_obj_pin),
    CMD(BPF_OBJ_GET, emul_cmd_obj_get),
    CMD(BPF_PROG_ATTACH, NULL),
    CMD(BPF_PROG_DETACH, NULL),
    CMD(BPF_PROG_TEST_RUN, emul_cmd_prog_test_run),
    CMD(BPF_PROG_GET_NEXT_ID, emul_cmd_prog_get_next_id),
    CMD(BPF_MAP_GET_NEXT_ID, emul_cmd_map_get_next_id),
    CMD(BPF_PROG_GET_FD_BY_ID, emul_cmd_prog_get_fd_by_id),
    CMD(BPF_MAP_GET_FD_BY_ID, emul_cmd_map_get_fd_by_id),
    CMD(BPF_OBJ_GET_INFO_BY_FD, emul_cmd_obj_get_info_by_fd),
    CMD(BPF_PROG_QUERY, NULL),
    CMD(BPF_RAW_TRACEPOINT_OPEN, NULL),
    CMD(BPF_BTF_LOAD, emul_cmd_btf_load),
    CMD(BPF_BTF_GET_FD_BY_ID, emul_cmd_btf_get_fd_by_id),
    CMD(BPF_TASK_FD_QUERY, NULL),
    CMD(BPF_MAP_LOOKUP_AND_DELETE_ELEM, emul_cmd_map_lookup_and_delete_elem),
    CMD(BPF_MAP_FREEZE, emul_cmd_map_freeze),
    CMD(BPF_BTF_GET_NEXT_ID, emul_cmd_btf_get_next_id),
    CMD(BPF_MAP_LOOKUP_BATCH, emul_cmd_map_lookup_batch),
    CMD(BPF_MAP_LOOKUP_AND_DELETE_BATCH, emul_cmd_map_lookup_and_delete_batch),
    CMD(BPF_MAP_UPDATE_BATCH, emul_cmd_map_update_batch),
    CMD(BPF_MAP_DELETE_BATCH, emul_cmd_map_delete_batch),
    CMD(BPF_LINK_CREATE, emul_cmd_link_create),
    CMD(BPF_LINK_UPDATE, NULL),
    CMD(BPF_LINK_GET_FD_BY_ID, emul_cmd_link_get_fd_by_id),
    CMD(BPF_LINK_GET_NEXT_ID, emul_cmd_link_get_next_id),
    CMD(BPF_ENABLE_STATS, NULL),
    CMD(BPF_ITER_CREATE, NULL),
    CMD(BPF_LINK_DETACH, NULL),
    CMD(BPF_PROG_BIND_MAP, emul_cmd_prog_bind_map),
};
#undef CMD

/* bpf_check_uarg_tail_zero() */
static long check_size(struct bpftime_caller *c, uint64_t uattr, uint32_t size)
{
	uint8_t tail[PAGE_SZ];

	if (size > PAGE_SZ)
		return -E2BIG;
	if (size <= KERNEL_ATTR_SIZE)
		return 0;
	if (emul_read(c, tail, uattr + KERNEL_ATTR_SIZE, size - KERNEL_ATTR_SIZE))
		return -EFAULT;
	for (uint32_t i = 0; i < size - KERNEL_ATTR_SIZE; i++)
		if (tail[i])
			return -E2BIG;
	return 0;
}

/* Fields of the 6.18 union past ours (@more, @n bytes read with the rest of
 * the attr): none of the commands we answer has one, so a non-zero byte
 * there fails their CHECK_ATTR. */
static bool newer_fields_set(const uint8_t *more, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (more[i])
			return true;
	return false;
}

long bpftime_emul__bpf(struct bpftime_emul *e, struct bpftime_caller *c, int cmd, uint64_t uattr,
		       uint32_t size)
{
	/* the attr as 6.18 copies it: min(size, its union) bytes, at once */
	uint8_t buf[KERNEL_ATTR_SIZE];
	union bpf_attr attr;
	long ret = check_size(c, uattr, size);
	uint32_t got;

	if (ret)
		return ret;
	got = size < KERNEL_ATTR_SIZE ? size : KERNEL_ATTR_SIZE;
	memset(buf, 0, sizeof(buf));
	if (emul_read(c, buf, uattr, got))
		return -EFAULT;
	memcpy(&attr, buf, sizeof(attr));
	if (size > sizeof(attr))
		size = sizeof(attr);
	if (cmd < 0 || (size_t)cmd >= sizeof(cmds) / sizeof(cmds[0]) || !cmds[cmd].name) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "bpf(%d): unknown command: -EINVAL", cmd);
		return -EINVAL;
	}
	if (!cmds[cmd].fn) {
		/* what the kernel has but user space cannot give: say what */
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "bpf(%s) is not available in user space: -EINVAL", cmds[cmd].name);
		return -EINVAL;
	}
	if (newer_fields_set(buf + sizeof(attr), (uint32_t)(sizeof(buf) - sizeof(attr))))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	ret = cmds[cmd].fn(e, c, &attr, uattr, size);
	pthread_mutex_unlock(&e->lock);
	emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "pid %d bpf(%s, size %u) = %ld", c->pid, cmds[cmd].name,
		 size, ret);
	return ret;
}
