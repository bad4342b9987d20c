// SPDX-License-Identifier: MIT
/*
 * Native code in any process: binding an image (vm-image.h) that the JIT
 * made elsewhere to this process's vm, and the runtime entries the code
 * calls. No LLVM and no libc here: the agent binds images inside static and
 * musl targets.
 *
 * Binding never trusts the image more than the instructions it claims to
 * come from: the hash of the loaded instructions, the mode and every slot
 * are checked against the vm, so an image for another program, another
 * build or another helper set is refused (-ESTALE, -ENOEXEC) rather than
 * run. The image itself is as trusted as the supervisor that compiled it:
 * it sits in the session's read-only metadata, next to the instructions.
 */
#include <errno.h>
#include "vm-internal.h"
#include "vm-image.h"

static int bad_image(struct bpftime_vm *vm, const char *why)
{
	return bpftime_vm_error(vm, -EINVAL, "native image: %s", why);
}

/* Header and table bounds; the caller has checked len >= sizeof(*h). */
static int check_layout(const struct vm_image_hdr *h, size_t len)
{
	static const char magic[8] = VM_IMAGE_MAGIC;

	for (int i = 0; i < 8; i++)
		if (h->magic[i] != magic[i])
			return -EINVAL;
	if (h->abi != VM_IMAGE_ABI)
		return -ENOEXEC;
	if (h->total_len != len || h->code_len == 0 || h->code_off % 16)
		return -EINVAL;
	if ((uint64_t)h->funcs_off + (uint64_t)h->nr_funcs * sizeof(struct vm_image_func) > len ||
	    (uint64_t)h->slots_off + (uint64_t)h->nr_slots * sizeof(struct vm_image_slot) > len ||
	    (uint64_t)h->code_off + h->code_len > len || h->funcs_off % 4 || h->slots_off % 4)
		return -EINVAL;
	if (h->nr_slots > (1u << 24) || h->nr_funcs == 0)
		return -EINVAL;
	/* every image has the entry runs start at but a counting one */
	if (!(h->flags & VM_IMAGE_ENTRY) != !!(h->flags & VM_IMAGE_COUNTED) ||
	    ((h->flags & VM_IMAGE_ENTRY) && h->entry_code >= h->code_len))
		return -EINVAL;
	return 0;
}

/* A checked entry leaves the run's stack as the last run left it: right
 * for a vm that keeps it (opts.keep_stack) and does not clear it
 * (opts.zero_stack); any other runs through run_full(), which clears it. */
static bool entry_usable(const struct bpftime_vm *vm, const struct vm_image_hdr *h)
{
	if (!(h->flags & VM_IMAGE_CHECKED))
		return true;
	return vm->opts.keep_stack && !vm->opts.zero_stack;
}

static uint64_t mapping_size(const struct vm_image_hdr *h)
{
	uint64_t data = vm_image_data_off(h->code_len);
	uint64_t end = data + (uint64_t)h->nr_slots * 8;

	return (end + VM_IMAGE_PAGE - 1) & ~(uint64_t)(VM_IMAGE_PAGE - 1);
}

int64_t bpftime_vm__native_size(const void *image, size_t len)
{
	const struct vm_image_hdr *h = image;
	int err;

	if (!image || len < sizeof(*h))
		return -EINVAL;
	err = check_layout(h, len);
	if (err)
		return err;
	return (int64_t)mapping_size(h);
}

/* ---- the runtime entries (enum vm_rt), called by generated code ---- */

static bool rt_access(struct bpftime_vm_call *call, uint64_t addr, uint64_t size, bool write)
{
	return bpftime_vm_access_ok(call, addr, size, write);
}

/* As the interpreter's `fault:` label: the whole fault, once. */
static void rt_fault(struct bpftime_vm_call *call, const struct bpftime_vm *vm, uint32_t pc,
		     int err, uint64_t addr, uint32_t size, bool write)
{
	struct bpftime_vm_fault *f = &call->run->fault;

	call->err = err;
	f->err = err;
	f->pc = pc;
	f->prog = vm;
	f->addr = addr;
	f->size = size;
	f->write = write;
}

/* A helper returned with call->err set: a callback of it faulted (already
 * described), or it failed itself (named by its call instruction). */
static void rt_helper_err(struct bpftime_vm_call *call, const struct bpftime_vm *vm, uint32_t pc)
{
	if (!call->run->fault.err)
		rt_fault(call, vm, pc, call->err, 0, 0, false);
}

/* A fast native run has no stack area (vm-run.c): interpreted code
 * reached from it by a tail call gets one for its frames. */
static __attribute__((noinline)) void interp_with_stack(struct bpftime_vm_call *call,
							unsigned depth, const uint64_t args[5],
							uint64_t *r0)
{
	uint64_t stack[VM_STACK_TOTAL / sizeof(uint64_t)] __attribute__((aligned(16)));

	call->stack_lo = (uint64_t)(uintptr_t)stack;
	call->stack_hi = call->stack_lo + sizeof(stack);
	bpftime_vm_interp(call, 0, depth, args, r0);
	call->stack_lo = 0;
	call->stack_hi = 0;
}

/*
 * bpf_tail_call(ctx, map, index) as the interpreter runs it: the target
 * replaces the current frame, so its r0 is the current function's. Returns
 * 0 to fall through (no target, or the 33 calls are used up), 1 when the
 * target ran (r0 set, or call->err on a fault). The target runs natively
 * when it has code of this run's mode, else interpreted.
 */
static int rt_tail_call(struct bpftime_vm_call *call, const struct bpftime_vm *vm, uint64_t depth,
			uint64_t r1, uint64_t r2, uint64_t r3, uint64_t *r0)
{
	const struct bpftime_vm *next;
	uint64_t args[5] = {r1, r2, r3, 0, 0};

	if (call->tail_calls >= BPFTIME_VM_MAX_TAIL_CALLS)
		return 0;
	next = vm->opts.tail_call(vm->opts.host, r2, r3);
	if (!next || !next->loaded)
		return 0;
	call->tail_calls++;
	call->cur = next;
	/* the run's instruction limit is the first vm's, and holds across
	 * tail calls, as in the interpreter: code that does not count runs
	 * interpreted in a limited run */
	if (bpftime_vm_native_ok(next, call->checked) &&
	    (next->native_counted || !call->vm->opts.insn_limit || !call->checked))
		call->depth = (unsigned)depth, *r0 = next->native_fn[0](call, r1, r2, r3, 0, 0);
	else if (call->stack_hi)
		bpftime_vm_interp(call, 0, (unsigned)depth, args, r0);
	else
		interp_with_stack(call, (unsigned)depth, args, r0);
	/* the caller of the replaced frame belongs to @vm */
	call->cur = vm;
	return 1;
}

static int64_t rt_func_index(const struct bpftime_vm *vm, uint64_t value)
{
	return bpftime_vm_func_index(vm, value);
}

/* callx of something that is not a function of the program: a helper id,
 * as the interpreter accepts, or -EINVAL naming the value. */
static uint64_t rt_callx(struct bpftime_vm_call *call, const struct bpftime_vm *vm, uint64_t depth,
			 uint32_t pc, uint64_t v, uint64_t r1, uint64_t r2, uint64_t r3,
			 uint64_t r4, uint64_t r5)
{
	uint64_t r0;

	if (v > 0 && v < vm->nr_helpers && vm->helpers[v].fn) {
		call->depth = (unsigned)depth;
		r0 = vm->helpers[v].fn(r1, r2, r3, r4, r5, call);
		if (call->err)
			rt_helper_err(call, vm, pc);
		return r0;
	}
	rt_fault(call, vm, pc, -EINVAL, v, 0, false);
	return 0;
}

static const void *const runtime[VM_RT__COUNT] = {
    [VM_RT_ACCESS] = (const void *)rt_access,
    [VM_RT_FAULT] = (const void *)rt_fault,
    [VM_RT_HELPER_ERR] = (const void *)rt_helper_err,
    [VM_RT_TAIL_CALL] = (const void *)rt_tail_call,
    [VM_RT_FUNC_INDEX] = (const void *)rt_func_index,
    [VM_RT_CALLX] = (const void *)rt_callx,
};

/* ---- binding ---- */

static int slot_value(struct bpftime_vm *vm, const struct vm_image_slot *s, uint64_t *v)
{
	switch (s->kind) {
	case VM_SLOT_LDIMM64:
		if (s->arg >= vm->cnt || vm->dec[s->arg].code != VM_OP_LDDW ||
		    !(vm->dec[s->arg].flags & VM_DEC_PER_PROCESS))
			return bpftime_vm_error(vm, -ESTALE,
						"native image: slot for insn %u, which is not a "
						"map or function ld_imm64 here",
						s->arg);
		*v = vm->dec[s->arg].imm;
		return 0;
	case VM_SLOT_HELPER:
		if (s->arg == 0 || s->arg >= vm->nr_helpers || !vm->helpers[s->arg].fn)
			return bpftime_vm_error(
			    vm, -ESTALE, "native image: helper %u is not registered here", s->arg);
		*v = (uint64_t)(uintptr_t)vm->helpers[s->arg].fn;
		return 0;
	case VM_SLOT_VM:
		*v = (uint64_t)(uintptr_t)vm;
		return 0;
	case VM_SLOT_RT:
		if (s->arg >= VM_RT__COUNT)
			return bad_image(vm, "unknown runtime entry");
		*v = (uint64_t)(uintptr_t)runtime[s->arg];
		return 0;
	default:
		return bad_image(vm, "unknown slot kind");
	}
}

uint64_t bpftime_vm_dec_hash(const struct bpftime_vm *vm)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < vm->cnt; i++)
		h = (h ^ vm->dec[i].code) * 0x100000001b3ull;
	return h;
}

static int check_match(struct bpftime_vm *vm, const struct vm_image_hdr *h)
{
	bool checked = (h->flags & VM_IMAGE_CHECKED) != 0;
	bool counted = (h->flags & VM_IMAGE_COUNTED) != 0;

	if (h->insn_cnt != vm->cnt || h->insn_hash != vm->insn_hash)
		return bpftime_vm_error(vm, -ESTALE,
					"native image: compiled from other instructions (%u insns, "
					"hash %llx; loaded: %u, %llx)",
					h->insn_cnt, (unsigned long long)h->insn_hash, vm->cnt,
					(unsigned long long)vm->insn_hash);
	if (h->dec_hash != bpftime_vm_dec_hash(vm))
		return bpftime_vm_error(
		    vm, -ESTALE,
		    "native image: the program decodes differently here (bpf_loop "
		    "or bpf_tail_call registered differently)");
	if (checked != vm->opts.bounds_check)
		return bpftime_vm_error(vm, -ESTALE, "native image: compiled for the %s mode",
					checked ? "bounds-checked" : "fast");
	if (counted != (checked && vm->opts.insn_limit != 0))
		return bpftime_vm_error(vm, -ESTALE,
					"native image: compiled %s an instruction limit",
					counted ? "with" : "without");
	return 0;
}

static int bind_funcs(struct bpftime_vm *vm, const struct vm_image_hdr *h,
		      const struct vm_image_func *f, uint8_t *code, vm_native_fn *table)
{
	for (uint32_t i = 0; i < h->nr_funcs; i++) {
		if (f[i].insn >= vm->cnt || !vm->is_func[f[i].insn] || f[i].code >= h->code_len)
			return bad_image(vm, "function table does not match the program");
		table[f[i].insn] = (vm_native_fn)(void *)(code + f[i].code);
	}
	for (uint32_t i = 0; i < vm->cnt; i++)
		if (vm->is_func[i] && !table[i])
			return bad_image(vm, "a function of the program has no code");
	return 0;
}

int bpftime_vm__native_bind(struct bpftime_vm *vm, const void *image, size_t len, void *mem,
			    size_t mem_len, void (*release)(void *mem, size_t len),
			    size_t *exec_len)
{
	const struct vm_image_hdr *h = image;
	const uint8_t *base = image;
	uint64_t *slots;
	vm_native_fn *table;
	int err;

	if (!vm)
		return -EINVAL;
	if (!vm->loaded)
		return bpftime_vm_error(vm, -EINVAL, "native image: no program loaded");
	if (vm->native_fn)
		return bpftime_vm_error(vm, -EBUSY, "native image: already bound");
	if (!image || len < sizeof(*h))
		return bad_image(vm, "too short");
	err = check_layout(h, len);
	if (err == -ENOEXEC)
		return bpftime_vm_error(vm, err, "native image: ABI %u, this build reads %u",
					h->abi, VM_IMAGE_ABI);
	if (err)
		return bad_image(vm, "inconsistent header");
	if (!mem || ((uintptr_t)mem & (VM_IMAGE_PAGE - 1)) || mem_len < mapping_size(h))
		return bpftime_vm_error(vm, -EINVAL, "native image: memory too small or unaligned");
	err = check_match(vm, h);
	if (err)
		return err;
	slots = (uint64_t *)((uint8_t *)mem + vm_image_data_off(h->code_len));
	for (uint32_t i = 0; i < h->nr_slots; i++) {
		const struct vm_image_slot *s =
		    (const struct vm_image_slot *)(base + h->slots_off) + i;

		err = slot_value(vm, s, &slots[i]);
		if (err)
			return err;
	}
	table = bpftime_vm_zalloc(vm, vm->cnt * sizeof(*table));
	if (!table)
		return bpftime_vm_error(vm, -ENOMEM, "native image: out of memory");
	bpftime_vm_memcpy(mem, base + h->code_off, h->code_len);
	err = bind_funcs(vm, h, (const struct vm_image_func *)(base + h->funcs_off), mem, table);
	if (err) {
		bpftime_vm_dealloc(vm, table, vm->cnt * sizeof(*table));
		return err;
	}
	vm->native_fn = table;
	vm->native_entry = (h->flags & VM_IMAGE_ENTRY) && entry_usable(vm, h)
			       ? (vm_native_entry)(void *)((uint8_t *)mem + h->entry_code)
			       : NULL;
	vm->native_checked = (h->flags & VM_IMAGE_CHECKED) != 0;
	vm->native_counted = (h->flags & VM_IMAGE_COUNTED) != 0;
	vm->native_mem = mem;
	vm->native_len = mem_len;
	vm->native_release = release;
	if (exec_len)
		*exec_len = (size_t)vm_image_data_off(h->code_len);
	return 0;
}

int bpftime_vm__native_map(struct bpftime_vm *vm, const void *image, size_t len,
			   const struct bpftime_vm_native_mem *mem)
{
	int64_t size = bpftime_vm__native_size(image, len);
	size_t exec_len = 0;
	void *pages;
	int err;

	if (!vm || !mem)
		return -EINVAL;
	if (size < 0)
		return bpftime_vm_error(vm, (int)size, "native image: not an image of this build");
	pages = mem->map((size_t)size);
	if (!pages)
		return bpftime_vm_error(vm, -ENOMEM, "native image: no %lld bytes of memory",
					(long long)size);
	err = bpftime_vm__native_bind(vm, image, len, pages, (size_t)size, mem->unmap, &exec_len);
	if (err) {
		mem->unmap(pages, (size_t)size);
		return err;
	}
	err = mem->protect(pages, exec_len, true);
	if (!err && exec_len < (size_t)size)
		err = mem->protect((char *)pages + exec_len, (size_t)size - exec_len, false);
	if (err) {
		/* dropping the binding releases the pages */
		bpftime_vm__native_drop(vm);
		return bpftime_vm_error(vm, err,
					"native image: the code cannot be made executable");
	}
	return 0;
}

void bpftime_vm_native_unbind(struct bpftime_vm *vm)
{
	if (vm->native_fn)
		bpftime_vm_dealloc(vm, vm->native_fn, vm->cnt * sizeof(*vm->native_fn));
	if (vm->native_mem && vm->native_release)
		vm->native_release(vm->native_mem, vm->native_len);
	vm->native_fn = NULL;
	vm->native_entry = NULL;
	vm->native_mem = NULL;
	vm->native_len = 0;
	vm->native_release = NULL;
}

void bpftime_vm__native_drop(struct bpftime_vm *vm)
{
	if (vm)
		bpftime_vm_native_unbind(vm);
}

bool bpftime_vm__is_native(const struct bpftime_vm *vm)
{
	return vm && bpftime_vm_native_ok(vm, vm->opts.bounds_check);
}

/* ---- running ---- */

int bpftime_vm_native_call(struct bpftime_vm_call *call, uint32_t idx, unsigned depth,
			   const uint64_t args[5], uint64_t *r0)
{
	call->depth = depth;
	*r0 = call->cur->native_fn[idx](call, args[0], args[1], args[2], args[3], args[4]);
	return call->err;
}
