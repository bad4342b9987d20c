// SPDX-License-Identifier: MIT
/*
 * The bpftime legs of bpftime-vm-diff: a fresh vm per program and engine,
 * its map value a private copy of the program's initial bytes that the
 * ld_imm64 BPF_PSEUDO_MAP_VALUE resolves to (and, bounds-checked, the one
 * region the program may touch besides its stack).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpftime/vm.h>
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#endif
#include "vm-diff.h"

const char *const vmd_engine_name[VMD_NR_ENGINES] = {
    [VMD_INTERP] = "interp", [VMD_INTERP_CHECKED] = "interp-checked",
    [VMD_JIT] = "jit",       [VMD_JIT_CHECKED] = "jit-checked",
    [VMD_KERNEL] = "kernel", [VMD_MUTANT] = "mutant",
};

bool vmd_have_jit(void)
{
#ifdef BPFTIME_HAVE_JIT
	return bpftime_jit__available();
#else
	return false;
#endif
}

/* host is the result whose value buffer stands in for the map value */
static int resolve_value(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct vmd_result *res = host;

	if (req->src != BPF_PSEUDO_MAP_VALUE || req->next_imm < 0 ||
	    req->next_imm >= VMD_VALUE_SIZE)
		return -EINVAL;
	*value = (uint64_t)(uintptr_t)(res->value + req->next_imm);
	return 0;
}

static void fail(struct vmd_result *res, const char *stage, int err, const char *msg)
{
	res->err = err;
	res->stage = stage;
	snprintf(res->msg, sizeof(res->msg), "%s", msg);
}

static int jit_load(struct bpftime_vm *vm, struct vmd_result *res)
{
#ifdef BPFTIME_HAVE_JIT
	int err = bpftime_jit__load(vm, NULL);

	if (err)
		fail(res, "jit", err, bpftime_vm__last_error(vm));
	return err;
#else
	fail(res, "jit", -EOPNOTSUPP, "built without bpftime_vm_jit");
	return -EOPNOTSUPP;
#endif
}

void vmd_run_bpftime(const struct vmd_prog *prog, const struct bpf_insn *insns,
		     enum vmd_engine engine, struct vmd_result *res)
{
	/* the mutant may loop forever or leave its memory: checked, limited */
	bool checked =
	    engine == VMD_INTERP_CHECKED || engine == VMD_JIT_CHECKED || engine == VMD_MUTANT;
	bool jit = engine == VMD_JIT || engine == VMD_JIT_CHECKED;
	/* r1 and r2 at entry: the prologue overwrites both */
	uint64_t ctx[8] = {0};
	struct bpftime_vm_run run = {.ctx = ctx, .ctx_len = sizeof(ctx)};
	struct bpftime_vm *vm;
	int err;
	BPFTIME_VM_OPTS(opts, .bounds_check = checked, .zero_stack = true, .host = res,
			.resolve_ldimm64 = resolve_value,
			/* a generator bug must not hang the suite */
			.insn_limit = checked ? 1000000 : 0);

	memset(res, 0, sizeof(*res));
	memcpy(res->value, prog->init, VMD_VALUE_SIZE);
	vm = bpftime_vm__new(&opts);
	if (!vm) {
		fail(res, "new", -errno, strerror(errno));
		return;
	}
	/* the callback of bpf_loop, with the kernel's semantics (vm.h) */
	err = bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop);
	if (err) {
		fail(res, "helper", err, strerror(-err));
		goto out;
	}
	err = checked ? bpftime_vm__add_region(vm, res->value, VMD_VALUE_SIZE,
					       BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE)
		      : 0;
	if (err) {
		fail(res, "region", err, strerror(-err));
		goto out;
	}
	err = bpftime_vm__load(vm, insns ? insns : prog->insns, prog->cnt);
	if (err) {
		fail(res, "load", err, bpftime_vm__last_error(vm));
		goto out;
	}
	if (jit && jit_load(vm, res))
		goto out;
	err = bpftime_vm__run(vm, &run);
	if (err) {
		res->err = err;
		res->stage = "run";
		bpftime_vm_fault__format(&run.fault, res->msg, sizeof(res->msg));
		goto out;
	}
	res->has_r0 = true;
	res->r0 = run.r0;
out:
	bpftime_vm__free(vm);
}
