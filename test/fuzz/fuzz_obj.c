// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the ELF reader: bpftime_obj__open_mem on arbitrary
 * bytes, then, for objects that open, every accessor, the resolver and a
 * load plus a checked run (with an instruction limit) of every program.
 *
 * Seeds: the objects test/obj builds (calls, globals, loop, maps .bpf.o);
 * byte flips of valid objects reach far deeper than random bytes, which
 * stop at the ELF magic. A crash, a sanitizer report or a leak is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <bpftime/obj.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch_maps(struct bpftime_obj *obj)
{
	volatile size_t sink = 0;

	for (size_t i = 0; i < bpftime_obj__map_cnt(obj); i++) {
		const struct bpftime_obj_map *m = bpftime_obj__map(obj, i);
		struct bpftime_vm_ldimm64 req = {.src = BPF_PSEUDO_MAP_IDX_VALUE,
						 .imm = (int32_t)i};
		uint64_t v;

		sink += strlen(m->name) + m->key_size + m->value_size + m->max_entries;
		/* the init bytes are readable in full */
		for (size_t j = 0; m->init && j < m->init_size; j++)
			sink += ((const uint8_t *)m->init)[j];
		req.next_imm = (int32_t)(m->value_size ? m->value_size - 1 : 0);
		if (!bpftime_obj__resolve_ldimm64(obj, &req, &v))
			sink += *(volatile uint8_t *)(uintptr_t)v;
	}
	(void)sink;
}

static void run_prog(struct bpftime_obj *obj, size_t idx)
{
	BPFTIME_VM_OPTS(opts, .bounds_check = true, .insn_limit = 100000, .host = obj,
			.resolve_ldimm64 = bpftime_obj__resolve_ldimm64);
	uint64_t ctx[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const struct bpf_insn *insns;
	struct bpftime_vm *vm;
	size_t cnt;

	insns = bpftime_obj__prog_insns(obj, idx, &cnt);
	if (!insns || !bpftime_obj__prog_name(obj, idx) || !bpftime_obj__prog_section(obj, idx))
		__builtin_trap();
	vm = bpftime_vm__new(&opts);
	if (!vm)
		return;
	bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop);
	if (!bpftime_vm__load(vm, insns, cnt) && !bpftime_obj__add_regions(obj, vm))
		bpftime_vm__exec(vm, ctx, sizeof(ctx), NULL);
	bpftime_vm__free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct bpftime_obj *obj = bpftime_obj__open_mem(data, size, err, sizeof(err));

	if (!obj) {
		/* every failure explains itself */
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	touch_maps(obj);
	for (size_t i = 0; i < bpftime_obj__prog_cnt(obj); i++) {
		if (bpftime_obj__prog_find(obj, bpftime_obj__prog_name(obj, i)) < 0)
			__builtin_trap();
		run_prog(obj, i);
	}
	bpftime_obj__free(obj);
	return 0;
}
