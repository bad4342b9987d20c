// SPDX-License-Identifier: MIT
/*
 * What run and compile share: reading a file, the program (an ELF object
 * through bpftime_obj, or raw instructions) and the vm it is loaded into,
 * with the helpers of helpers.c. compile loads exactly as run does, so that
 * the image it writes binds to the vm a later `run --aot` loads.
 *
 * Every failure prints one line, "bpftime-vm: <what>: <why>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/obj.h>
#include "cli.h"

/* The whole of @path (a file, a pipe, /dev/stdin) into *buf. */
int cli_read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	size_t cap = 0, n = 0;
	uint8_t *p = NULL, *np;

	if (!f) {
		cli_error("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			np = realloc(p, cap);
			if (!np) {
				cli_error("%s: out of memory", path);
				goto err;
			}
			p = np;
		}
		n += fread(p + n, 1, cap - n, f);
		if (n < cap)
			break;
	}
	if (ferror(f)) {
		cli_error("%s: cannot read: %s", path, strerror(errno));
		goto err;
	}
	fclose(f);
	*buf = p;
	*len = n;
	return 0;
err:
	free(p);
	fclose(f);
	return -1;
}

/* Raw instructions: code, dst:src (low nibble dst), off (le16), imm (le32). */
static int load_raw(const char *path, struct cli_program *prog)
{
	uint8_t *b;
	size_t len;

	if (cli_read_file(path, &b, &len))
		return -1;
	if (len == 0 || len % 8) {
		cli_error("%s: %zu bytes is not a whole number of 8-byte instructions", path, len);
		free(b);
		return -1;
	}
	prog->raw = calloc(len / 8, sizeof(*prog->raw));
	if (!prog->raw) {
		cli_error("%s: out of memory", path);
		free(b);
		return -1;
	}
	for (size_t i = 0; i < len / 8; i++) {
		const uint8_t *p = b + i * 8;

		prog->raw[i].code = p[0];
		prog->raw[i].dst_reg = p[1] & 0xf;
		prog->raw[i].src_reg = p[1] >> 4;
		prog->raw[i].off = (int16_t)(p[2] | p[3] << 8);
		prog->raw[i].imm = (int32_t)((uint32_t)p[4] | (uint32_t)p[5] << 8 |
					     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24);
	}
	free(b);
	prog->insns = prog->raw;
	prog->cnt = len / 8;
	prog->name = path;
	return 0;
}

/* "a (section x), b (section y)" into @buf, for the no-such-program message. */
static void list_progs(const struct bpftime_obj *obj, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < bpftime_obj__prog_cnt(obj) && len < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s (section %s)", i ? ", " : "",
				 bpftime_obj__prog_name(obj, i), bpftime_obj__prog_section(obj, i));

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Maps other than global data need a map runtime, which this tool lacks:
 * say which one, rather than let the load fail on an ld_imm64. */
static int check_maps(const char *path, const struct cli_program *prog)
{
	for (size_t i = 0; i + 1 < prog->cnt; i++) {
		const struct bpf_insn *insn = &prog->insns[i];
		const struct bpftime_obj_map *m;

		if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		i++;
		if (insn->src_reg != BPF_PSEUDO_MAP_IDX)
			continue;
		m = bpftime_obj__map(prog->obj, (size_t)(uint32_t)insn->imm);
		cli_error("%s: prog '%s' uses map '%s' (type %u): bpftime-vm runs programs "
			  "whose only maps are global data",
			  path, prog->name, m ? m->name : "?", m ? m->type : 0);
		return -1;
	}
	return 0;
}

static int load_elf(const char *path, const char *section, struct cli_program *prog)
{
	char err[512];
	int idx = 0;

	prog->obj = bpftime_obj__open(path, err, sizeof(err));
	if (!prog->obj) {
		cli_error("%s", err);
		return -1;
	}
	if (!bpftime_obj__prog_cnt(prog->obj)) {
		cli_error("%s: no programs in this object", path);
		return -1;
	}
	if (section) {
		idx = bpftime_obj__prog_find(prog->obj, section);
		if (idx < 0) {
			list_progs(prog->obj, err, sizeof(err));
			cli_error("%s: no program with section or name '%s' (programs: %s)", path,
				  section, err);
			return -1;
		}
	}
	prog->insns = bpftime_obj__prog_insns(prog->obj, (size_t)idx, &prog->cnt);
	prog->name = bpftime_obj__prog_name(prog->obj, (size_t)idx);
	return check_maps(path, prog);
}

int cli_program_open(const char *path, bool raw, const char *section, struct cli_program *prog)
{
	memset(prog, 0, sizeof(*prog));
	prog->path = path;
	return raw ? load_raw(path, prog) : load_elf(path, section, prog);
}

void cli_program_free(struct cli_program *prog)
{
	bpftime_obj__free(prog->obj);
	free(prog->raw);
	memset(prog, 0, sizeof(*prog));
}

struct bpftime_vm *cli_make_vm(const struct cli_program *prog, bool checked)
{
	BPFTIME_VM_OPTS(opts, .bounds_check = checked, .host = prog->obj,
			.resolve_ldimm64 = prog->obj ? bpftime_obj__resolve_ldimm64 : NULL);
	struct bpftime_vm *vm = bpftime_vm__new(&opts);
	int err;

	if (!vm) {
		cli_error("cannot create the vm: %s", strerror(errno));
		return NULL;
	}
	err = cli_register_helpers(vm);
	if (err) {
		cli_error("cannot register helpers: %s", strerror(-err));
		goto err_free;
	}
	err = bpftime_vm__load(vm, prog->insns, prog->cnt);
	if (err) {
		cli_error("%s: prog '%s': load failed: %s", prog->path, prog->name,
			  bpftime_vm__last_error(vm));
		goto err_free;
	}
	/* global data copies exist once load resolved the ld_imm64s */
	err = checked && prog->obj ? bpftime_obj__add_regions(prog->obj, vm) : 0;
	if (err) {
		cli_error("%s: cannot register global data: %s", prog->path, strerror(-err));
		goto err_free;
	}
	return vm;
err_free:
	bpftime_vm__free(vm);
	return NULL;
}
