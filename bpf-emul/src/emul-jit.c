// SPDX-License-Identifier: MIT
/*
 * Programs compiled once, in the supervisor, for every agent (issue 7's
 * "compiled once, used everywhere"): at PROG_LOAD a program that agents
 * may run is loaded on a vm configured as the agents' (bounds-checked, the
 * same helper ids, tail calls through the hook) and compiled by the LLVM
 * JIT into an image the catalog publishes next to its instructions. Each
 * agent binds the image to its own vm (bpftime_vm__native_bind), which
 * fills in its own map and helper addresses; agents never link LLVM.
 *
 * The image is built from the catalog's form of the instructions (map ids,
 * not the tool's fds), the form agents load, so that the instruction hash
 * the binding checks is the same on both sides. Addresses the load
 * resolves here are never used: the code reads them from per-process
 * slots.
 *
 * LLVM runs in a child process, stopped after JIT_TIME_LIMIT_MS
 * (jit.h's timeout_ms): LLVM ends the process on its own internal errors,
 * and no program a tool loads may end the supervisor, or hold its load
 * for long. A program that does not compile, in time or at all, still
 * loads and runs interpreted: the reason is logged once.
 */
#include <errno.h>
#include <stdlib.h>
#include "emul-internal.h"
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#endif

bool emul_jit_enabled(const struct bpftime_emul *e)
{
#ifdef BPFTIME_HAVE_JIT
	return !e->opts.interp_only && bpftime_jit__available();
#else
	(void)e;
	return false;
#endif
}

/* Compiling grows faster than the size: measured here at -O2, random
 * straight-line ALU code of 100 instructions takes 9 ms, 4000 take 0.65 s,
 * 10000 take 5.7 s (LLVM's instruction scheduling of long blocks). The
 * tool's PROG_LOAD waits for it, so larger programs are interpreted. */
#define JIT_MAX_INSNS 8192

/* Above what the largest programs compiled take here (about 3 s at
 * JIT_MAX_INSNS): a compilation this long is a pathological one. */
#define JIT_TIME_LIMIT_MS 5000

#ifdef BPFTIME_HAVE_JIT
/* Only the value's place matters: the code loads it from a slot. */
static int any_value(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	(void)host;
	*value = 0x1000 + req->insn_idx;
	return 0;
}

/* Present so that bpf_tail_call compiles as the agents decode it. */
static const struct bpftime_vm *no_tail_call(void *host, uint64_t map, uint64_t index)
{
	(void)host;
	(void)map;
	(void)index;
	return NULL;
}

/* The program types whose programs agents run (uprobes, kprobes on
 * syscalls, tracepoints, raw syscall tracepoints). */
static bool runs_in_agents(uint32_t type)
{
	return type == BPF_PROG_TYPE_KPROBE || type == BPF_PROG_TYPE_TRACEPOINT ||
	       type == BPF_PROG_TYPE_RAW_TRACEPOINT;
}

static int compile(struct bpftime_emul *e, struct emul_obj *o, char *msg, size_t len)
{
	/* the agents' vm, agent-prog.c: checked, stack kept, no instruction limit */
	BPFTIME_VM_OPTS(vo, .bounds_check = true, .keep_stack = true, .resolve_ldimm64 = any_value,
			.tail_call = no_tail_call);
	BPFTIME_JIT_OPTS(jo, .timeout_ms = JIT_TIME_LIMIT_MS);
	struct bpftime_vm *vm = bpftime_vm__new(&vo);
	void *image = NULL;
	size_t size = 0;
	int err;

	if (!vm)
		return -errno;
	err = emul_helpers_register(e, vm);
	if (!err)
		err = bpftime_vm__load(vm, o->prog.insns, o->prog.insn_cnt);
	if (err)
		snprintf(msg, len, "%s", bpftime_vm__last_error(vm));
	else
		err = bpftime_jit__compile(vm, &jo, &image, &size, msg, len);
	bpftime_vm__free(vm);
	if (err)
		return err;
	o->prog.image = image;
	o->prog.image_len = (uint32_t)size;
	return 0;
}
#endif

void emul_jit_compile(struct bpftime_emul *e, struct emul_obj *o)
{
#ifdef BPFTIME_HAVE_JIT
	char msg[256] = "";
	int err;

	if (!emul_jit_enabled(e) || !runs_in_agents(o->prog.type))
		return;
	if (o->prog.insn_cnt > JIT_MAX_INSNS) {
		emul_log(e, BPFTIME_EMUL_LOG_INFO,
			 "prog '%s': %u instructions, not compiled (above %u: LLVM would hold up "
			 "the load for seconds); agents interpret it",
			 o->prog.name, o->prog.insn_cnt, JIT_MAX_INSNS);
		return;
	}
	err = compile(e, o, msg, sizeof(msg));
	if (err)
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "prog '%s': not compiled (%s: %s); agents interpret it", o->prog.name,
			 strerror(-err), msg);
#else
	(void)e;
	(void)o;
#endif
}

void emul_jit_native(struct bpftime_emul *e, struct emul_obj *o, struct bpftime_vm *vm)
{
#ifdef BPFTIME_HAVE_JIT
	BPFTIME_JIT_OPTS(jo, .timeout_ms = JIT_TIME_LIMIT_MS);
	int err;

	if (!emul_jit_enabled(e))
		return;
	err = bpftime_jit__load(vm, &jo);
	if (err)
		emul_log(e, BPFTIME_EMUL_LOG_WARN, "prog '%s': runs interpreted here: %s",
			 o->prog.name, bpftime_vm__last_error(vm));
#else
	(void)e;
	(void)o;
	(void)vm;
#endif
}
