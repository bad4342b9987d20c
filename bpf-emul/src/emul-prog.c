// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_LOAD and BPF_PROG_BIND_MAP, as bpf_prog_load() and bpf_check():
 *
 *   1. attributes (emul-prog-attr.c): CHECK_ATTR, prog_flags, insn_cnt,
 *      the program type and expected_attach_type; the instructions, the
 *      license and the name are copied in once;
 *   2. the verifier's part, with its log (emul-vlog.c): BTF and func/line
 *      info (accepted, not used), map fds and fd_array indexes in ld_imm64
 *      resolved to map objects held as used maps, the control flow and
 *      live-code checks (emul-prog-check.c), and the vm's load checks on a
 *      throw-away vm with our helpers registered: its errno is the answer;
 *   3. the program object: the instructions with map ids in place of fds
 *      (what is published to the agent, and what OBJ_GET_INFO_BY_FD shows
 *      as xlated), the used maps, the tag; the caller gets an O_CLOEXEC fd.
 *
 * Unknown helper calls in dead code (libbpf's "call 2001000000+idx") are
 * replaced by "ja -1" in the stored program, as sanitize_dead_code() does:
 * the vm refuses unknown helper ids at load, and they are never reached.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "emul-internal.h"
#include "emul-prog.h"

/* log_true_size (6.4) is the last field of our 6.1 union bpf_attr */
#define LOG_TRUE_SIZE_OFF (offsetof(union bpf_attr, core_relo_rec_size) + 4)
#define RUN_INSN_LIMIT    (1ull << 26) /* runs in the supervisor stop here (-ELOOP) */

struct load {
	struct bpftime_emul *e;
	struct bpftime_caller *c;
	const union bpf_attr *attr;
	uint32_t cnt;
	struct bpf_insn *insns; /* as the caller gave them: the tag */
	struct bpf_insn *work;  /* map ids, dead unknown calls sanitised: stored */
	char license[128];
	bool gpl;
	char name[BPF_OBJ_NAME_LEN];
	int type_err; /* a refusal the verifier logs */
	char vmsg[160];
	struct emul_obj *maps[EMUL_MAX_USED_MAPS];
	uint32_t nr_maps;
	struct emul_obj *btf;
	struct emul_vlog log;
	struct emul_prog_scan scan;
	uint64_t start_ns;
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void load_free(struct load *ld)
{
	for (uint32_t i = 0; i < ld->nr_maps; i++)
		emul_obj_put(ld->e, ld->maps[i]);
	emul_obj_put(ld->e, ld->btf);
	free(ld->insns);
	free(ld->work);
	emul_vlog_free(&ld->log);
	emul_prog_scan_free(&ld->scan);
}

/* ---- 1. attributes ---- */

static int copy_in(struct load *ld)
{
	const union bpf_attr *attr = ld->attr;
	size_t bytes = (size_t)ld->cnt * sizeof(struct bpf_insn);
	long n;

	ld->insns = malloc(bytes);
	ld->work = malloc(bytes);
	if (!ld->insns || !ld->work)
		return -ENOMEM;
	if (emul_read(ld->c, ld->insns, attr->insns, bytes))
		return -EFAULT;
	memcpy(ld->work, ld->insns, bytes);
	/* strncpy_from_bpfptr(license, ..., sizeof(license) - 1): a longer
	 * license is cut, only a fault fails */
	n = emul_read_str(ld->c, ld->license, attr->license, sizeof(ld->license), E2BIG);
	if (n == -EFAULT)
		return -EFAULT;
	ld->gpl = emul_license_gpl(ld->license);
	return emul_obj_name_cpy(ld->name, attr->prog_name, sizeof(attr->prog_name));
}

/* bpf_prog_load() up to bpf_check() */
static int prepare(struct load *ld)
{
	const union bpf_attr *attr = ld->attr;
	int err;

	/* CHECK_ATTR(BPF_PROG_LOAD): our union ends with log_true_size, which
	 * is within PROG_LOAD's fields on 6.18: nothing to check here */
	err = emul_prog_check_flags(ld->e, attr);
	if (err)
		return err;
	/* 6.18 answers -E2BIG for 0 instructions as for too many */
	if (attr->insn_cnt == 0 || attr->insn_cnt > BPFTIME_VM_MAX_INSNS)
		return -E2BIG;
	ld->cnt = attr->insn_cnt;
	err = emul_prog_check_type(ld->e, attr, ld->vmsg, sizeof(ld->vmsg));
	if (err && !ld->vmsg[0])
		return err;
	ld->type_err = err;
	if (!err)
		ld->type_err = emul_prog_check_sleepable(attr, ld->vmsg, sizeof(ld->vmsg));
	return copy_in(ld);
}

/* ---- 2. the verifier's part ---- */

static int add_used_map(struct load *ld, struct emul_obj *m)
{
	for (uint32_t i = 0; i < ld->nr_maps; i++)
		if (ld->maps[i] == m)
			return 0;
	if (ld->nr_maps == EMUL_MAX_USED_MAPS) {
		emul_vlog(&ld->log,
			  "The total number of maps per program has reached the limit of %u\n",
			  EMUL_MAX_USED_MAPS);
		return -E2BIG;
	}
	emul_obj_get(m);
	ld->maps[ld->nr_maps++] = m;
	return 0;
}

/* map_direct_value_addr(): only single-element arrays have one address */
static int check_direct_value(struct load *ld, struct emul_obj *m, uint32_t off)
{
	const struct bpftime_map_attr *a = bpftime_map__attr(m->map.m);

	if (a->map_type != BPF_MAP_TYPE_ARRAY) {
		emul_vlog(&ld->log, "no direct value access support for this map type\n");
		return -EINVAL;
	}
	if (a->max_entries != 1 || off >= a->value_size) {
		emul_vlog(&ld->log, "invalid access to map value pointer, value_size=%u off=%u\n",
			  a->value_size, off);
		return a->max_entries != 1 ? -EMUL_ENOTSUPP : -EINVAL;
	}
	return 0;
}

static int resolve_map(struct load *ld, struct bpf_insn *in)
{
	bool idx = in->src_reg == BPF_PSEUDO_MAP_IDX || in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE;
	bool value = in->src_reg == BPF_PSEUDO_MAP_VALUE || in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE;
	struct emul_obj *m;
	int32_t fd = in->imm;
	int err;

	if (idx) {
		if (!ld->attr->fd_array) {
			emul_vlog(&ld->log, "fd_idx without fd_array is invalid\n");
			return -EPROTO;
		}
		if (emul_read(ld->c, &fd, ld->attr->fd_array + (uint64_t)(uint32_t)in->imm * 4, 4))
			return -EFAULT;
	}
	m = emul_obj_from_fd_type(ld->e, ld->c, fd, EMUL_OBJ_MAP, &err);
	if (!m) {
		emul_vlog(&ld->log, "fd %d is not pointing to valid bpf_map\n", fd);
		return err;
	}
	if (value) {
		err = check_direct_value(ld, m, (uint32_t)in[1].imm);
		if (err)
			return err;
	}
	err = add_used_map(ld, m);
	if (err)
		return err;
	/* stored with the map's id, as bpf_insn_prepare_dump() shows them */
	in->src_reg = value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
	in->imm = (int32_t)m->id;
	return 0;
}

/* resolve_pseudo_ldimm64() for the map forms */
static int resolve_maps(struct load *ld)
{
	for (uint32_t i = 0; i + 1 < ld->cnt; i++) {
		struct bpf_insn *in = &ld->work[i];
		int err;

		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		switch (in->src_reg) {
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_VALUE:
		case BPF_PSEUDO_MAP_IDX:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			err = resolve_map(ld, in);
			if (err)
				return err;
		}
		i++;
	}
	return 0;
}

/* the vm's ld_imm64 callback: map ids to this process's handles */
static int resolve(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct bpftime_emul *e = host;
	struct bpftime_map *m;
	uint32_t zero = 0;
	char *v;

	if (req->src != BPF_PSEUDO_MAP_FD && req->src != BPF_PSEUDO_MAP_VALUE)
		return -EINVAL; /* ksyms (BPF_PSEUDO_BTF_ID) need the kernel */
	m = bpftime_map__get(e->region, (uint32_t)req->imm);
	if (!m)
		return -EBADF;
	if (req->src == BPF_PSEUDO_MAP_FD) {
		*value = (uint64_t)(uintptr_t)m;
		return 0;
	}
	v = bpftime_map__prog_lookup(m, &zero, 0);
	if (!v)
		return -EINVAL;
	*value = (uint64_t)(uintptr_t)(v + (uint32_t)req->next_imm);
	return 0;
}

static const struct bpftime_vm *tail_call(void *host, uint64_t map, uint64_t index)
{
	struct bpftime_emul *e = host;
	uint32_t id =
	    bpftime_map__prog_array_get((struct bpftime_map *)(uintptr_t)map, (uint32_t)index);
	struct emul_obj *o = id ? emul_obj_by_id(e, EMUL_OBJ_PROG, id) : NULL;
	int err;

	return o ? emul_prog_vm(e, o, &err) : NULL;
}

/*
 * Checked runs in the supervisor: memory outside the stack, ctx and map
 * values is allowed when it is mapped (helpers return pointers into maps,
 * programs follow them). Limit: a store to a mapped read-only page still
 * faults the supervisor; the verifier, when it comes, closes this.
 */
static bool access_ok(void *host, uint64_t addr, uint64_t size, bool write)
{
	unsigned char vec;

	(void)host;
	(void)write;
	if (!size || addr + size < addr)
		return false;
	for (uint64_t p = addr & ~4095ull; p < addr + size; p += 4096)
		if (mincore((void *)(uintptr_t)p, 4096, &vec))
			return false;
	return true;
}

static struct bpftime_vm *new_vm(struct bpftime_emul *e, bool run)
{
	BPFTIME_VM_OPTS(o, .host = e, .resolve_ldimm64 = resolve, .tail_call = tail_call);
	struct bpftime_vm *vm;

	if (run) {
		o.bounds_check = true;
		o.insn_limit = RUN_INSN_LIMIT;
		o.access = access_ok;
	}
	vm = bpftime_vm__new(&o);
	if (vm && emul_helpers_register(e, vm)) {
		bpftime_vm__free(vm);
		errno = ENOMEM;
		return NULL;
	}
	return vm;
}

static int vm_check(struct load *ld)
{
	struct bpftime_vm *vm = new_vm(ld->e, false);
	int err;

	if (!vm)
		return -errno;
	err = bpftime_vm__load(vm, ld->work, ld->cnt);
	if (err)
		emul_vlog(&ld->log, "%s\n", bpftime_vm__last_error(vm));
	bpftime_vm__free(vm);
	return err;
}

static void sanitize_dead_code(struct load *ld)
{
	for (uint32_t i = 0; i < ld->cnt; i++) {
		struct bpf_insn *in = &ld->work[i];

		if (!ld->scan.live[i] && in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    !emul_helper_find((uint32_t)in->imm))
			*in = (struct bpf_insn){.code = BPF_JMP | BPF_JA, .off = -1};
	}
}

/* check_cfg(): every instruction is on some path */
static int check_unreachable(struct load *ld)
{
	for (uint32_t i = 0; i < ld->cnt; i++) {
		if (!ld->scan.cfg[i]) {
			emul_vlog(&ld->log, "unreachable insn %u\n", i);
			return -EINVAL;
		}
		if (ld->work[i].code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	return 0;
}

static int verify(struct load *ld)
{
	struct emul_vlog scan_log;
	int err, scan_err;

	if (ld->type_err) {
		emul_vlog(&ld->log, "%s\n", ld->vmsg);
		return ld->type_err;
	}
	/* the walk's findings come after the vm's structural ones, as
	 * do_check() comes after check_subprogs() and check_cfg() */
	emul_vlog_init(&scan_log, 1, 0, 0);
	scan_err = emul_prog_scan(ld->insns, ld->cnt, ld->gpl, ld->attr->prog_type,
				  ld->attr->expected_attach_type, &scan_log, &ld->scan);
	err = scan_err == -ENOMEM ? -ENOMEM : 0;
	if (!err)
		err = emul_prog_check_btf(ld->e, ld->c, ld->attr, ld->scan.nr_subprogs, &ld->log,
					  &ld->btf);
	if (!err)
		err = resolve_maps(ld);
	if (!err) {
		sanitize_dead_code(ld);
		err = vm_check(ld);
	}
	if (!err)
		err = check_unreachable(ld);
	if (!err && scan_err) {
		emul_vlog(&ld->log, "%s", scan_log.text ? scan_log.text : "");
		err = scan_err;
	}
	emul_vlog_free(&scan_log);
	return err;
}

/* bpf_check()'s last words: statistics, the log, log_true_size */
static int finish_log(struct load *ld, uint64_t uattr, uint32_t size, int ret)
{
	uint32_t true_size;
	int err;

	if (ld->log.level & 4) /* BPF_LOG_STATS */
		emul_vlog(&ld->log, "verification time %llu usec\nstack depth 0\n",
			  (unsigned long long)(now_ns(CLOCK_MONOTONIC) - ld->start_ns) / 1000);
	emul_vlog(&ld->log,
		  "processed %u insns (limit %u) max_states_per_insn 0 total_states 0 "
		  "peak_states 0 mark_read 0\n",
		  ret ? 0 : ld->scan.processed, BPFTIME_VM_MAX_INSNS);
	err = emul_vlog_finalize(&ld->log, ld->c, &true_size);
	if (err)
		ret = err;
	if (size >= LOG_TRUE_SIZE_OFF + sizeof(uint32_t) &&
	    emul_write(ld->c, uattr + LOG_TRUE_SIZE_OFF, &true_size, sizeof(true_size)))
		ret = -EFAULT;
	return ret;
}

/* ---- 3. the program object ---- */

static long publish(struct load *ld)
{
	struct emul_obj *o = emul_obj_new(ld->e, EMUL_OBJ_PROG, "bpf-prog", NULL);
	struct emul_prog *p;
	int fd, err;

	if (!o)
		return -ENOMEM;
	p = &o->prog;
	p->type = ld->attr->prog_type;
	p->expected_attach_type = ld->attr->expected_attach_type;
	p->insn_cnt = ld->cnt;
	emul_prog_calc_tag(ld->insns, ld->cnt, p->tag);
	p->insns = ld->work;
	p->xlated = ld->work;
	ld->work = NULL;
	memcpy(p->name, ld->name, sizeof(p->name));
	p->kern_version = ld->attr->kern_version;
	p->prog_flags = ld->attr->prog_flags;
	p->gpl = ld->gpl;
	p->maps = malloc(sizeof(*p->maps) * (ld->nr_maps ? ld->nr_maps : 1));
	if (!p->maps) {
		emul_obj_put(ld->e, o);
		return -ENOMEM;
	}
	memcpy(p->maps, ld->maps, sizeof(*p->maps) * ld->nr_maps);
	p->nr_maps = ld->nr_maps;
	ld->nr_maps = 0;
	p->btf = ld->btf;
	ld->btf = NULL;
	p->load_time = now_ns(CLOCK_BOOTTIME);
	p->uid = ld->c->uid;
	o->id = ld->e->next_prog_id++;
	emul_jit_compile(ld->e, o);
	err = emul_obj_add(ld->e, o);
	if (!err)
		err = emul_catalog_prog_publish(ld->e, o);
	if (err) {
		emul_obj_put(ld->e, o);
		return err;
	}
	fd = emul_obj_install(ld->e, ld->c, o, O_CLOEXEC);
	if (fd < 0)
		emul_obj_put(ld->e, o);
	return fd;
}

long emul_cmd_prog_load(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			uint64_t uattr, uint32_t size)
{
	struct load ld = {.e = e, .c = c, .attr = attr, .start_ns = now_ns(CLOCK_MONOTONIC)};
	long ret = prepare(&ld);

	if (!ret)
		ret = emul_vlog_init(&ld.log, attr->log_level, attr->log_buf, attr->log_size);
	if (!ret)
		ret = finish_log(&ld, uattr, size, verify(&ld));
	if (!ret)
		ret = publish(&ld);
	if (ret < 0)
		emul_log(e, BPFTIME_EMUL_LOG_INFO, "BPF_PROG_LOAD '%s' (type %u, %u insns): %s",
			 ld.name, attr->prog_type, attr->insn_cnt, strerror((int)-ret));
	load_free(&ld);
	return ret;
}

/* bpf_prog_bind_map(): a used map more, no duplicate */
long emul_cmd_prog_bind_map(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			    uint64_t uattr, uint32_t size)
{
	struct emul_obj *p, *m, **maps;
	int err;

	(void)uattr;
	(void)size;
	if (EMUL_CHECK_ATTR(attr, prog_bind_map.flags) || attr->prog_bind_map.flags)
		return -EINVAL;
	p = emul_obj_from_fd_type(e, c, (int)attr->prog_bind_map.prog_fd, EMUL_OBJ_PROG, &err);
	if (!p)
		return err;
	m = emul_obj_from_fd_type(e, c, (int)attr->prog_bind_map.map_fd, EMUL_OBJ_MAP, &err);
	if (!m)
		return err;
	for (uint32_t i = 0; i < p->prog.nr_maps; i++)
		if (p->prog.maps[i] == m)
			return 0;
	maps = realloc(p->prog.maps, sizeof(*maps) * (p->prog.nr_maps + 1));
	if (!maps)
		return -ENOMEM;
	emul_obj_get(m);
	maps[p->prog.nr_maps++] = m;
	p->prog.maps = maps;
	return 0;
}

struct bpftime_vm *emul_prog_vm(struct bpftime_emul *e, struct emul_obj *o, int *err)
{
	struct bpftime_vm *vm;

	if (o->prog.vm)
		return o->prog.vm;
	vm = new_vm(e, true);
	if (!vm) {
		*err = -errno;
		return NULL;
	}
	*err = bpftime_vm__load(vm, o->prog.insns, o->prog.insn_cnt);
	if (*err) {
		/* loaded once already: only a map gone from the region */
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "prog '%s' (id %u): cannot build its vm: %s",
			 o->prog.name, o->id, bpftime_vm__last_error(vm));
		bpftime_vm__free(vm);
		return NULL;
	}
	emul_jit_native(e, o, vm);
	o->prog.vm = vm;
	return vm;
}

void emul_prog_release(struct bpftime_emul *e, struct emul_obj *o)
{
	struct emul_prog *p = &o->prog;

	emul_catalog_prog_unpublish(e, o);
	for (uint32_t i = 0; i < p->nr_maps; i++)
		emul_obj_put(e, p->maps[i]);
	free(p->maps);
	emul_obj_put(e, p->btf);
	bpftime_vm__free(p->vm);
	free(p->image);
	if (p->xlated != p->insns)
		free(p->xlated);
	free(p->insns);
}
