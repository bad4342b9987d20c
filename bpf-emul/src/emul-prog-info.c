// SPDX-License-Identifier: MIT
/*
 * A program's tag and its struct bpf_prog_info, as bpf_prog_calc_tag() and
 * bpf_prog_get_info_by_fd() in the kernel, for a privileged caller: xlated
 * instructions are the stored ones (map ids in place of addresses, as
 * bpf_insn_prepare_dump() shows them); there is no JIT image (jited_*
 * lengths are 0); func and line info are not kept (counts 0).
 */
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"
#include "emul-prog.h"

/* SHA-256 (6.18; SHA-1 before) of the instructions with the imm of map ld_imm64s zeroed, so that
 * the tag does not depend on fd numbers */
void emul_prog_calc_tag(const struct bpf_insn *insns, uint32_t cnt, uint8_t tag[BPF_TAG_SIZE])
{
	struct bpf_insn *dst = malloc(sizeof(*dst) * cnt);
	uint8_t digest[32];
	bool was_ld_map = false;

	if (!dst) {
		memset(tag, 0, BPF_TAG_SIZE);
		return;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		dst[i] = insns[i];
		if (!was_ld_map && dst[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (dst[i].src_reg == BPF_PSEUDO_MAP_FD ||
		     dst[i].src_reg == BPF_PSEUDO_MAP_VALUE)) {
			was_ld_map = true;
			dst[i].imm = 0;
		} else if (was_ld_map && dst[i].code == 0 && dst[i].dst_reg == 0 &&
			   dst[i].src_reg == 0 && dst[i].off == 0) {
			was_ld_map = false;
			dst[i].imm = 0;
		} else {
			was_ld_map = false;
		}
	}
	emul_sha256(dst, sizeof(*dst) * cnt, digest);
	memcpy(tag, digest, BPF_TAG_SIZE);
	free(dst);
}

/* copy min(@have, *@ulen) elements of @size bytes to the caller's @uptr,
 * the kernel's "ulen = info.nr_x; info.nr_x = have; if (ulen) copy" */
static int copy_array(struct bpftime_caller *c, uint64_t uptr, uint32_t ulen, const void *src,
		      uint32_t have, size_t size)
{
	uint32_t n = ulen < have ? ulen : have;

	if (!n)
		return 0;
	return emul_write(c, uptr, src, (size_t)n * size) ? -EFAULT : 0;
}

static int info_map_ids(struct bpftime_caller *c, struct emul_prog *p, struct bpf_prog_info *info)
{
	uint32_t ulen = info->nr_map_ids, *ids;
	int err;

	info->nr_map_ids = p->nr_maps;
	if (!ulen || !p->nr_maps)
		return 0;
	ids = malloc(sizeof(*ids) * p->nr_maps);
	if (!ids)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->nr_maps; i++)
		ids[i] = p->maps[i]->id;
	err = copy_array(c, info->map_ids, ulen, ids, p->nr_maps, sizeof(*ids));
	free(ids);
	return err;
}

static int info_xlated(struct bpftime_caller *c, struct emul_prog *p, struct bpf_prog_info *info)
{
	uint32_t ulen = info->xlated_prog_len, len = p->insn_cnt * sizeof(struct bpf_insn);

	info->xlated_prog_len = len;
	if (!ulen)
		return 0;
	return emul_write(c, info->xlated_prog_insns, p->xlated, ulen < len ? ulen : len) ? -EFAULT
											  : 0;
}

int emul_prog_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_prog_info *info, uint32_t *len)
{
	struct emul_prog *p = &o->prog;
	uint32_t ulen;
	int err;

	(void)e;
	info->type = p->type;
	info->id = o->id;
	info->load_time = p->load_time;
	info->created_by_uid = p->uid;
	info->gpl_compatible = 1; /* not kept; tools read it as a hint only */
	memcpy(info->tag, p->tag, sizeof(info->tag));
	memcpy(info->name, p->name, sizeof(info->name));
	err = info_map_ids(c, p, info);
	if (!err)
		err = info_xlated(c, p, info);
	if (err)
		return err;
	/* no JIT image, no kernel symbols, no func/line info kept */
	info->jited_prog_len = 0;
	info->nr_jited_ksyms = 0;
	info->nr_jited_func_lens = 0;
	info->nr_func_info = 0;
	info->nr_line_info = 0;
	info->nr_jited_line_info = 0;
	info->func_info_rec_size = sizeof(struct bpf_func_info);
	info->line_info_rec_size = sizeof(struct bpf_line_info);
	info->jited_line_info_rec_size = sizeof(__u64);
	info->btf_id = p->btf ? p->btf->id : 0;
	/* one tag per function; we keep the program's */
	ulen = info->nr_prog_tags;
	info->nr_prog_tags = 1;
	if (ulen && emul_write(c, info->prog_tags, p->tag, BPF_TAG_SIZE))
		return -EFAULT;
	info->run_time_ns = 0;
	info->run_cnt = 0;
	info->recursion_misses = 0;
	info->verified_insns = p->insn_cnt;
	*len = sizeof(*info);
	return 0;
}
