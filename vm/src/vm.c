// SPDX-License-Identifier: MIT
/*
 * vm object lifecycle: creation from opts, helper registry, bounds-check
 * regions, error messages. Nothing here is on the run path.
 */
#include <errno.h>
#include "vm-internal.h"

int bpftime_vm_error(struct bpftime_vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bpftime_vm_vsnprintf(vm->err, sizeof(vm->err), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * As libbpf's OPTS_VALID: a caller built against a newer header may pass a
 * larger struct, which is fine as long as what we do not know is zero.
 */
/* No trailing padding after the last field: callers that fill opts without
 * BPFTIME_VM_OPTS would otherwise fail the zero-tail check at random. */
_Static_assert(sizeof(struct bpftime_vm_opts) ==
		   offsetof(struct bpftime_vm_opts, bpftime_vm_opts__last_field) +
		       sizeof(((struct bpftime_vm_opts *)0)->bpftime_vm_opts__last_field),
	       "bpftime_vm_opts must end with its last field");

static int opts_valid(const struct bpftime_vm_opts *opts)
{
	size_t known = offsetof(struct bpftime_vm_opts, bpftime_vm_opts__last_field) +
		       sizeof(opts->bpftime_vm_opts__last_field);
	const unsigned char *p = (const unsigned char *)opts;

	if (opts->sz < sizeof(size_t))
		return -EINVAL;
	for (size_t i = known; i < opts->sz; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}

struct bpftime_vm *bpftime_vm_create(const struct bpftime_vm_opts *opts,
				     bpftime_vm_alloc_fn def_alloc,
				     bpftime_vm_dealloc_fn def_dealloc, int *errp)
{
	struct bpftime_vm_opts o;
	struct bpftime_vm *vm;
	int err;

	/* not an initializer: clang -O0 would clear it with memset() */
	bpftime_vm_memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	if (opts) {
		err = opts_valid(opts);
		if (err)
			goto fail;
		/* what an older caller's smaller struct lacks stays zero */
		bpftime_vm_memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		o.sz = sizeof(o);
	}
	err = -EOPNOTSUPP;
	if (o.engine != BPFTIME_VM_ENGINE_INTERP)
		goto fail;
	err = -EINVAL;
	if (!o.alloc != !o.dealloc)
		goto fail;
	if (!o.alloc) {
		o.alloc = def_alloc;
		o.dealloc = def_dealloc;
	}
	if (!o.alloc || !o.dealloc)
		goto fail;
	err = -ENOMEM;
	vm = o.alloc(o.host, sizeof(*vm));
	if (!vm)
		goto fail;
	bpftime_vm_memset(vm, 0, sizeof(*vm));
	bpftime_vm_memcpy(&vm->opts, &o, sizeof(o));
	if (!vm->opts.max_insns || vm->opts.max_insns > BPFTIME_VM_MAX_INSNS)
		vm->opts.max_insns = BPFTIME_VM_MAX_INSNS;
	*errp = 0;
	return vm;

fail:
	*errp = err;
	return NULL;
}

struct bpftime_vm *bpftime_vm__create(const struct bpftime_vm_opts *opts, int *err)
{
	int dummy;

	return bpftime_vm_create(opts, NULL, NULL, err ? err : &dummy);
}

void bpftime_vm__free(struct bpftime_vm *vm)
{
	if (!vm)
		return;
	bpftime_vm_unload(vm);
	bpftime_vm_dealloc(vm, vm->helpers, vm->nr_helpers * sizeof(*vm->helpers));
	vm->opts.dealloc(vm->opts.host, vm, sizeof(*vm));
}

/* The table grows to exactly @id + 1 entries: ids are small and dense. */
static int grow_helpers(struct bpftime_vm *vm, uint32_t id)
{
	struct vm_helper *h;
	uint32_t n = id + 1;

	if (n <= vm->nr_helpers)
		return 0;
	h = bpftime_vm_zalloc(vm, n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (vm->helpers)
		bpftime_vm_memcpy(h, vm->helpers, vm->nr_helpers * sizeof(*h));
	bpftime_vm_dealloc(vm, vm->helpers, vm->nr_helpers * sizeof(*h));
	vm->helpers = h;
	vm->nr_helpers = n;
	return 0;
}

int bpftime_vm__register_helper(struct bpftime_vm *vm, uint32_t id, const char *name,
				bpftime_vm_helper_fn fn)
{
	int err;

	if (!vm || !fn || id == 0 || id > BPFTIME_VM_MAX_HELPER_ID)
		return -EINVAL;
	if (vm->loaded)
		return bpftime_vm_error(vm, -EBUSY, "helper %u: program already loaded", id);
	err = grow_helpers(vm, id);
	if (err)
		return err;
	vm->helpers[id].fn = fn;
	bpftime_vm_snprintf(vm->helpers[id].name, sizeof(vm->helpers[id].name), "%s",
			    name ? name : "helper");
	return 0;
}

int bpftime_vm__add_region(struct bpftime_vm *vm, const void *base, size_t size, unsigned flags)
{
	struct vm_region *r;
	uint64_t b = (uint64_t)(uintptr_t)base;

	if (!vm || size == 0 || b + size < b || !flags ||
	    (flags & ~(BPFTIME_VM_REGION_READ | BPFTIME_VM_REGION_WRITE)))
		return -EINVAL;
	if (vm->nr_regions == BPFTIME_VM_MAX_REGIONS)
		return bpftime_vm_error(vm, -ENOSPC, "no room for another region (max %d)",
					BPFTIME_VM_MAX_REGIONS);
	r = &vm->regions[vm->nr_regions++];
	r->base = b;
	r->size = size;
	r->flags = flags;
	return 0;
}

const char *bpftime_vm__last_error(const struct bpftime_vm *vm)
{
	return vm ? vm->err : "";
}

const struct bpf_insn *bpftime_vm__insns(const struct bpftime_vm *vm, size_t *cnt)
{
	if (!vm || !vm->loaded)
		return NULL;
	if (cnt)
		*cnt = vm->cnt;
	return vm->insns;
}

static const char *fault_reason(int err)
{
	switch (err) {
	case -EFAULT:
		return "invalid memory access";
	case -E2BIG:
		return "call stack too deep";
	case -EINVAL:
		return "callx to something that is neither a helper nor a function";
	case -ELOOP:
		return "instruction limit reached";
	case -ENOEXEC:
		return "program not loaded";
	}
	return "stopped";
}

/* strerror()'s words for what a run can return, without libc's table. */
static const char *err_text(int err)
{
	switch (err) {
	case -EFAULT:
		return "Bad address";
	case -E2BIG:
		return "Argument list too long";
	case -EINVAL:
		return "Invalid argument";
	case -ELOOP:
		return "Too many levels of symbolic links";
	case -ENOEXEC:
		return "Exec format error";
	case -ENOMEM:
		return "Cannot allocate memory";
	case -ENOENT:
		return "No such file or directory";
	case -EPERM:
		return "Operation not permitted";
	case -EACCES:
		return "Permission denied";
	case -EBUSY:
		return "Device or resource busy";
	case -EAGAIN:
		return "Resource temporarily unavailable";
	case -EOPNOTSUPP:
		return "Operation not supported";
	case -ERANGE:
		return "Numerical result out of range";
	}
	return NULL;
}

int bpftime_vm_fault__format(const struct bpftime_vm_fault *f, char *buf, size_t size)
{
	const char *text = err_text(f->err);

	if (f->err == -EFAULT && f->size)
		return bpftime_vm_snprintf(buf, size, "insn %u: %s: %s of %u bytes at 0x%llx",
					   f->pc, fault_reason(f->err), f->write ? "store" : "load",
					   f->size, (unsigned long long)f->addr);
	if (f->err == -EFAULT)
		return bpftime_vm_snprintf(buf, size, "insn %u: %s at 0x%llx", f->pc,
					   fault_reason(f->err), (unsigned long long)f->addr);
	if (!text)
		return bpftime_vm_snprintf(buf, size, "insn %u: %s (Unknown error %d)", f->pc,
					   fault_reason(f->err), -f->err);
	return bpftime_vm_snprintf(buf, size, "insn %u: %s (%s)", f->pc, fault_reason(f->err),
				   text);
}
