// SPDX-License-Identifier: MIT
/*
 * The kernel leg of bpftime-vm-diff: raw bpf(2), no libbpf. One array map
 * (1 entry, VMD_VALUE_SIZE bytes) is reset to the program's initial bytes,
 * the program is loaded as a socket filter with its BPF_PSEUDO_MAP_VALUE
 * ld_imm64 pointing at that map, run once by BPF_PROG_TEST_RUN on a
 * minimal packet (bpf_prog_test_run_skb wants at least ETH_HLEN bytes),
 * and the value read back. The kernel reports only the low 32 bits of r0
 * (retval); the epilogue's copy in the value carries all 64.
 *
 * A program with a bpf_loop callback (ld_imm64 BPF_PSEUDO_FUNC) needs BTF
 * func_info ("missing btf func_info"), with static linkage for callbacks:
 * every program gets one, all subprograms sharing one `int f(void)`.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/btf.h>
#include <unistd.h>
#include "vm-diff.h"

#define LOG_SIZE (1u << 20)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

/* The BTF: [1] int, [2] int (void), [3] static func f of type 2. */
static int btf_load(void)
{
	static const char strs[] = "\0int\0f";
	struct {
		struct btf_header hdr;
		uint32_t types[3 + 1 + 3 + 3];
		char strs[sizeof(strs)];
	} b;
	union bpf_attr attr;
	uint32_t *t = b.types;

	memset(&b, 0, sizeof(b));
	b.hdr.magic = BTF_MAGIC;
	b.hdr.version = BTF_VERSION;
	b.hdr.hdr_len = sizeof(b.hdr);
	b.hdr.type_len = sizeof(b.types);
	b.hdr.str_off = sizeof(b.types);
	b.hdr.str_len = sizeof(strs);
	/* name_off, info (kind << 24 | vlen), size or type */
	*t++ = 1, *t++ = BTF_KIND_INT << 24, *t++ = 4;
	*t++ = BTF_INT_SIGNED << 24 | 32;
	*t++ = 0, *t++ = BTF_KIND_FUNC_PROTO << 24, *t++ = 1;
	*t++ = 5, *t++ = BTF_KIND_FUNC << 24 /* vlen 0: BTF_FUNC_STATIC */, *t++ = 2;
	memcpy(b.strs, strs, sizeof(strs));
	memset(&attr, 0, sizeof(attr));
	attr.btf = (uint64_t)(uintptr_t)&b;
	attr.btf_size = (uint32_t)(offsetof(typeof(b), strs) + sizeof(strs));
	return sys_bpf(BPF_BTF_LOAD, &attr);
}

int vmd_kernel_open(struct vmd_kernel *k, char *why, size_t why_size)
{
	union bpf_attr attr;
	int fd;

	memset(k, 0, sizeof(*k));
	k->map_fd = k->btf_fd = -1;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = VMD_VALUE_SIZE;
	attr.max_entries = 1;
	fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (fd < 0) {
		snprintf(why, why_size, "BPF_MAP_CREATE: %s", strerror(-fd));
		return fd;
	}
	k->log_size = LOG_SIZE;
	k->log = malloc(k->log_size);
	if (!k->log) {
		close(fd);
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	k->map_fd = fd;
	k->btf_fd = btf_load();
	if (k->btf_fd < 0) {
		snprintf(why, why_size, "BPF_BTF_LOAD: %s", strerror(-k->btf_fd));
		vmd_kernel_close(k);
		return -EINVAL;
	}
	return 0;
}

void vmd_kernel_close(struct vmd_kernel *k)
{
	if (k->map_fd >= 0)
		close(k->map_fd);
	if (k->btf_fd >= 0)
		close(k->btf_fd);
	free(k->log);
	k->map_fd = k->btf_fd = -1;
	k->log = NULL;
}

static int map_access(struct vmd_kernel *k, int cmd, void *value)
{
	union bpf_attr attr;
	uint32_t key = 0;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)k->map_fd;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(cmd, &attr);
}

/*
 * One func_info per subprogram, in order: the main program at 0, then
 * every target of a call local or of an ld_imm64 BPF_PSEUDO_FUNC (both
 * relative to the next slot). Returns how many.
 */
static uint32_t func_info(const struct bpf_insn *insns, size_t cnt, struct bpf_func_info *fi,
			  uint32_t max)
{
	uint32_t n = 1, j, at;
	size_t i;

	fi[0] = (struct bpf_func_info){.insn_off = 0, .type_id = 3};
	for (i = 0; i < cnt; i++) {
		if (!(insns[i].code == (BPF_JMP | BPF_CALL) &&
		      insns[i].src_reg == BPF_PSEUDO_CALL) &&
		    !(insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		      insns[i].src_reg == BPF_PSEUDO_FUNC))
			continue;
		at = (uint32_t)((long)i + 1 + insns[i].imm);
		for (j = 0; j < n && fi[j].insn_off != at; j++)
			;
		if (j < n || n == max)
			continue;
		/* insertion sort: the kernel wants them ascending */
		for (j = n++; j > 0 && fi[j - 1].insn_off > at; j--)
			fi[j] = fi[j - 1];
		fi[j] = (struct bpf_func_info){.insn_off = at, .type_id = 3};
	}
	return n;
}

/* log_level 0 first (fast); the log only when the verifier said no */
static int prog_load(struct vmd_kernel *k, const struct bpf_insn *insns, size_t cnt, bool log)
{
	struct bpf_func_info fi[16];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)cnt;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	attr.prog_btf_fd = (uint32_t)k->btf_fd;
	attr.func_info_rec_size = sizeof(fi[0]);
	attr.func_info = (uint64_t)(uintptr_t)fi;
	attr.func_info_cnt = func_info(insns, cnt, fi, 16);
	if (log) {
		k->log[0] = '\0';
		attr.log_buf = (uint64_t)(uintptr_t)k->log;
		attr.log_size = (uint32_t)k->log_size;
		attr.log_level = 1;
	}
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

static int test_run(int prog_fd, uint32_t *retval)
{
	uint8_t pkt[64] = {0};
	union bpf_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)prog_fd;
	attr.test.data_in = (uint64_t)(uintptr_t)pkt;
	attr.test.data_size_in = sizeof(pkt);
	attr.test.repeat = 1;
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr);
	*retval = attr.test.retval;
	return err;
}

static void fail(struct vmd_result *res, const char *stage, int err)
{
	res->err = err;
	res->stage = stage;
	snprintf(res->msg, sizeof(res->msg), "%s", strerror(-err));
}

void vmd_kernel_run(struct vmd_kernel *k, const struct vmd_prog *prog, struct vmd_result *res)
{
	struct bpf_insn *insns;
	uint32_t retval = 0;
	int fd, err;
	size_t i;

	memset(res, 0, sizeof(*res));
	insns = malloc(prog->cnt * sizeof(*insns));
	if (!insns) {
		fail(res, "malloc", -ENOMEM);
		return;
	}
	memcpy(insns, prog->insns, prog->cnt * sizeof(*insns));
	for (i = 0; i < prog->cnt; i++)
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    insns[i].src_reg == BPF_PSEUDO_MAP_VALUE)
			insns[i].imm = k->map_fd;
	err = map_access(k, BPF_MAP_UPDATE_ELEM, (void *)prog->init);
	if (err) {
		fail(res, "map update", err);
		goto out;
	}
	fd = prog_load(k, insns, prog->cnt, false);
	if (fd < 0) {
		fd = prog_load(k, insns, prog->cnt, true);
		if (fd < 0) {
			fail(res, "verifier", fd);
			goto out;
		}
		/* rejected once, accepted with a log: count it as accepted */
	}
	err = test_run(fd, &retval);
	close(fd);
	if (err) {
		fail(res, "test run", err);
		goto out;
	}
	err = map_access(k, BPF_MAP_LOOKUP_ELEM, res->value);
	if (err) {
		fail(res, "map lookup", err);
		goto out;
	}
	/* low 32 bits from retval; all 64 are compared through the value */
	res->r0 = retval;
out:
	free(insns);
}
