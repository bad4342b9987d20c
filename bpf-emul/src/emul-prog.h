/* SPDX-License-Identifier: MIT */
/* What the BPF_PROG_LOAD files share (emul-prog.c, emul-prog-attr.c,
 * emul-prog-info.c). */
#ifndef BPFTIME_EMUL_PROG_H
#define BPFTIME_EMUL_PROG_H

#include "emul-internal.h"

#define EMUL_MAX_USED_MAPS 64 /* MAX_USED_MAPS */

int emul_prog_check_flags(struct bpftime_emul *e, const union bpf_attr *attr);
int emul_prog_check_type(struct bpftime_emul *e, const union bpf_attr *attr, char *vmsg,
			 size_t vmsg_size);
int emul_prog_check_sleepable(const union bpf_attr *attr, char *vmsg, size_t vmsg_size);
int emul_obj_name_cpy(char *dst, const char *src, size_t size);
bool emul_license_gpl(const char *license);
int emul_prog_check_btf(struct bpftime_emul *e, struct bpftime_caller *c,
			const union bpf_attr *attr, uint32_t nr_subprogs, struct emul_vlog *log,
			struct emul_obj **btf);
/* bpf_prog_calc_tag() over the instructions as the caller gave them */
void emul_prog_calc_tag(const struct bpf_insn *insns, uint32_t cnt, uint8_t tag[BPF_TAG_SIZE]);

#endif
