// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_LOAD's checks of the attributes before the verifier runs, as
 * bpf_prog_load() and bpf_prog_load_check_attach() in kernel/bpf/syscall.c
 * and check_btf_info_early() in kernel/bpf/verifier.c. Answers for program
 * types checked on 6.18 with "r0 = 0; exit" (tool-surface.md machine): the
 * types tools load are accepted; those that attach to kernel objects
 * (TRACING, LSM, EXT, STRUCT_OPS) get the kernel's errno for a load that
 * names no kernel function, and a line in our log saying why.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"
#include "emul-prog.h"

/* prog_flags bits, with fallbacks for the 6.1 headers */
#define F_STRICT_ALIGNMENT   (1u << 0)
#define F_ANY_ALIGNMENT      (1u << 1)
#define F_TEST_RND_HI32      (1u << 2)
#define F_TEST_STATE_FREQ    (1u << 3)
#define F_SLEEPABLE          (1u << 4)
#define F_XDP_HAS_FRAGS      (1u << 5)
#define F_XDP_DEV_BOUND_ONLY (1u << 6)  /* 6.3 */
#define F_TEST_REG_INVARIANT (1u << 7)  /* 6.7 */
#define F_TOKEN_FD           (1u << 16) /* 6.9 */
#define F_ALL                                                                                      \
	(F_STRICT_ALIGNMENT | F_ANY_ALIGNMENT | F_TEST_RND_HI32 | F_TEST_STATE_FREQ |              \
	 F_SLEEPABLE | F_XDP_HAS_FRAGS | F_XDP_DEV_BOUND_ONLY | F_TEST_REG_INVARIANT | F_TOKEN_FD)

#define MIN_FUNC_INFO_SIZE 8u   /* MIN_BPF_FUNCINFO_SIZE */
#define MIN_LINE_INFO_SIZE 16u  /* MIN_BPF_LINEINFO_SIZE */
#define MAX_INFO_REC_SIZE  252u /* MAX_FUNCINFO_REC_SIZE, MAX_LINEINFO_REC_SIZE */

int emul_prog_check_flags(struct bpftime_emul *e, const union bpf_attr *attr)
{
	if (attr->prog_flags & ~F_ALL)
		return -EINVAL;
	if (attr->prog_flags & F_TOKEN_FD) {
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "BPF_PROG_LOAD: BPF tokens are not available in user space: -EINVAL");
		return -EINVAL;
	}
	return 0;
}

static bool eat_in(uint32_t eat, const uint32_t *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ok[i] == eat)
			return true;
	return false;
}

#define EAT_IN(eat, ...)                                                                           \
	eat_in((eat), (const uint32_t[]){__VA_ARGS__},                                             \
	       sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

/* bpf_prog_load_check_attach() for the types whose expected_attach_type
 * matters; the others take any, as the kernel's default case */
static int check_attach(uint32_t type, uint32_t eat)
{
	switch (type) {
	case BPF_PROG_TYPE_CGROUP_SKB:
		return EAT_IN(eat, BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS) ? 0 : -EINVAL;
	case BPF_PROG_TYPE_CGROUP_SOCK:
		return EAT_IN(eat, BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET_SOCK_RELEASE,
			      BPF_CGROUP_INET4_POST_BIND, BPF_CGROUP_INET6_POST_BIND)
			   ? 0
			   : -EINVAL;
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
		return EAT_IN(eat, BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND,
			      BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT,
			      BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_UDP6_SENDMSG,
			      BPF_CGROUP_UDP4_RECVMSG, BPF_CGROUP_UDP6_RECVMSG,
			      BPF_CGROUP_INET4_GETPEERNAME, BPF_CGROUP_INET6_GETPEERNAME,
			      BPF_CGROUP_INET4_GETSOCKNAME, BPF_CGROUP_INET6_GETSOCKNAME)
			   ? 0
			   : -EINVAL;
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
		return EAT_IN(eat, BPF_CGROUP_GETSOCKOPT, BPF_CGROUP_SETSOCKOPT) ? 0 : -EINVAL;
	case BPF_PROG_TYPE_SK_LOOKUP:
		return eat == BPF_SK_LOOKUP ? 0 : -EINVAL;
	}
	return 0;
}

/* The program types we load, and the kernel's answer for the others.
 * @vmsg: a message the kernel writes to the verifier log (NULL: none). */
int emul_prog_check_type(struct bpftime_emul *e, const union bpf_attr *attr, char *vmsg,
			 size_t vmsg_size)
{
	uint32_t type = attr->prog_type, eat = attr->expected_attach_type;

	vmsg[0] = 0;
	switch (type) {
	case BPF_PROG_TYPE_SOCKET_FILTER ... BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
	case BPF_PROG_TYPE_LWT_SEG6LOCAL:
	case BPF_PROG_TYPE_SK_REUSEPORT ... BPF_PROG_TYPE_CGROUP_SOCKOPT:
	case BPF_PROG_TYPE_SK_LOOKUP:
		if (attr->attach_btf_id)
			return -EINVAL;
		return check_attach(type, eat);
	case BPF_PROG_TYPE_TRACING:
		if (!eat) {
			snprintf(vmsg, vmsg_size, "Tracing programs must provide btf_id");
			return -EINVAL;
		}
		break;
	case BPF_PROG_TYPE_STRUCT_OPS:
		if (attr->attach_btf_id)
			snprintf(vmsg, vmsg_size, "attach_btf_id %u is not a supported struct",
				 attr->attach_btf_id);
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "BPF_PROG_LOAD: struct_ops programs need the kernel: -ENOTSUPP");
		return -EMUL_ENOTSUPP;
	case BPF_PROG_TYPE_EXT:
	case BPF_PROG_TYPE_LSM:
		break;
	case BPF_PROG_TYPE_SYSCALL:
		if (!(attr->prog_flags & F_SLEEPABLE)) {
			snprintf(vmsg, vmsg_size, "Syscall programs can only be sleepable");
			return -EINVAL;
		}
		return 0;
	default:
		/* find_prog_type(): unknown, or not built in (LIRC_MODE2 here) */
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "BPF_PROG_LOAD: program type %u: -EINVAL", type);
		return -EINVAL;
	}
	/* TRACING, EXT, LSM: what 6.18 answers when the kernel object they
	 * name cannot be attached to (checked with attach_btf_id 0 and 100) */
	emul_log(e, BPFTIME_EMUL_LOG_WARN,
		 "BPF_PROG_LOAD: program type %u attaches to kernel functions, which user space "
		 "does not have: -EPERM",
		 type);
	return -EPERM;
}

/* the verifier's can_be_sleepable(), for the types we load */
int emul_prog_check_sleepable(const union bpf_attr *attr, char *vmsg, size_t vmsg_size)
{
	if (!(attr->prog_flags & F_SLEEPABLE) || attr->prog_type == BPF_PROG_TYPE_KPROBE ||
	    attr->prog_type == BPF_PROG_TYPE_SYSCALL)
		return 0;
	snprintf(vmsg, vmsg_size,
		 "Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be "
		 "sleepable");
	return -EINVAL;
}

/* bpf_obj_name_cpy(): alphanumerics, '_' and '.', NUL within the field */
int emul_obj_name_cpy(char *dst, const char *src, size_t size)
{
	size_t i;

	memset(dst, 0, size);
	for (i = 0; i < size && src[i]; i++) {
		if (!isalnum((unsigned char)src[i]) && src[i] != '_' && src[i] != '.')
			return -EINVAL;
		dst[i] = src[i];
	}
	return i == size ? -EINVAL : 0;
}

/* license_is_gpl_compatible() */
bool emul_license_gpl(const char *license)
{
	static const char *const gpl[] = {
	    "GPL",          "GPL v2",       "GPL and additional rights",
	    "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};

	for (size_t i = 0; i < sizeof(gpl) / sizeof(gpl[0]); i++)
		if (!strcmp(license, gpl[i]))
			return true;
	return false;
}

static int check_func_info(struct bpftime_caller *c, const union bpf_attr *attr,
			   uint32_t nr_subprogs, struct emul_vlog *log)
{
	uint32_t rec = attr->func_info_rec_size, n = attr->func_info_cnt, prev = 0;
	uint8_t buf[MAX_INFO_REC_SIZE];

	if (rec < MIN_FUNC_INFO_SIZE || rec > MAX_INFO_REC_SIZE || rec % 4) {
		emul_vlog(log, "invalid func info rec size %u\n", rec);
		return -EINVAL;
	}
	if (n != nr_subprogs) {
		emul_vlog(log, "number of funcs in func_info doesn't match number of subprogs\n");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_func_info fi;

		if (emul_read(c, buf, attr->func_info + (uint64_t)i * rec, rec))
			return -EFAULT;
		/* bpf_check_uarg_tail_zero() on records bigger than ours */
		for (uint32_t b = sizeof(fi); b < rec; b++)
			if (buf[b]) {
				emul_vlog(log, "nonzero tailing record in func info");
				return -E2BIG;
			}
		memcpy(&fi, buf, sizeof(fi));
		if (i == 0 && fi.insn_off) {
			emul_vlog(log, "nonzero insn_off %u for the first func info record\n",
				  fi.insn_off);
			return -EINVAL;
		}
		if (i > 0 && fi.insn_off <= prev) {
			emul_vlog(log,
				  "same or smaller insn offset (%u) than previous func info record "
				  "(%u)",
				  fi.insn_off, prev);
			return -EINVAL;
		}
		prev = fi.insn_off;
	}
	return 0;
}

/* check_btf_info_early() and the record checks of check_btf_func_early()
 * and check_btf_line(): BTF and func/line info are accepted, not used.
 * *@btf gets a reference to the program's BTF object. */
int emul_prog_check_btf(struct bpftime_emul *e, struct bpftime_caller *c,
			const union bpf_attr *attr, uint32_t nr_subprogs, struct emul_vlog *log,
			struct emul_obj **btf)
{
	uint32_t lrec = attr->line_info_rec_size;
	struct emul_obj *o;
	int err;

	*btf = NULL;
	if (!attr->func_info_cnt && !attr->line_info_cnt)
		return 0;
	o = emul_obj_from_fd_type(e, c, (int)attr->prog_btf_fd, EMUL_OBJ_BTF, &err);
	if (!o)
		return err;
	if (o->btf.kernel)
		return -EACCES; /* btf_is_kernel(): a program's BTF is its own */
	if (attr->func_info_cnt) {
		err = check_func_info(c, attr, nr_subprogs, log);
		if (err)
			return err;
	}
	if (attr->line_info_cnt &&
	    (lrec < MIN_LINE_INFO_SIZE || lrec > MAX_INFO_REC_SIZE || lrec % 4)) {
		emul_vlog(log, "invalid line info rec size %u\n", lrec);
		return -EINVAL;
	}
	emul_obj_get(o);
	*btf = o;
	return 0;
}
