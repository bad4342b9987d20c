/* SPDX-License-Identifier: MIT */
/*
 * bpftime vm: the eBPF instruction set (RFC 9669 plus the Linux extensions
 * tools emit) behind one small API.
 *
 * Life of a program:
 *
 *   bpftime_vm__new(opts)            one vm object per program
 *   bpftime_vm__register_helper()    helper ids the program may call
 *   bpftime_vm__add_region()         memory the bounds-checked mode accepts
 *   bpftime_vm__load(insns)          load-time checks, pseudo ld_imm64
 *                                    resolution, pre-decoding
 *   bpftime_vm__run(run) ...         any number of times, from any thread
 *   bpftime_vm__free()
 *
 * The run path (bpftime_vm__run and everything it calls, helpers excluded)
 * makes no libc call, never allocates and uses no thread-local storage: it
 * runs inside target processes whose libc we cannot rely on (static, musl).
 * A loaded vm is immutable, so concurrent runs of one vm are safe.
 *
 * The rest of the vm needs no libc either when the host brings its own
 * allocator (opts.alloc, opts.dealloc) and creates the vm with
 * bpftime_vm__create: only bpftime_vm__new (errno, malloc) uses libc.
 */
#ifndef BPFTIME_VM_H
#define BPFTIME_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/bpf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-frame stack, as MAX_BPF_STACK in include/linux/filter.h. */
#define BPFTIME_VM_STACK_SIZE 512
/* Main program plus nested BPF-to-BPF calls, as MAX_CALL_FRAMES. */
#define BPFTIME_VM_MAX_CALL_FRAMES 8
/* Tail calls per run, as MAX_TAIL_CALL_CNT (kernel >= 5.17). */
#define BPFTIME_VM_MAX_TAIL_CALLS 33
/* Largest program, as BPF_COMPLEXITY_LIMIT_INSNS for privileged loads. */
#define BPFTIME_VM_MAX_INSNS 1000000
/* Helper ids are dense small integers; leave room for runtime extensions. */
#define BPFTIME_VM_MAX_HELPER_ID 65535
/* Memory regions the bounds-checked mode knows besides stack and ctx. */
#define BPFTIME_VM_MAX_REGIONS 64

struct bpftime_vm;
/* Handed to helpers: the state of the run that called them. */
struct bpftime_vm_call;

enum bpftime_vm_engine {
	/* The interpreter, unless native code is bound (bpftime/jit.h). */
	BPFTIME_VM_ENGINE_INTERP = 0,
};

/*
 * A pseudo ld_imm64 (src_reg != 0) that the runtime resolves to a value at
 * load time: BPF_PSEUDO_MAP_FD, _MAP_VALUE, _BTF_ID, _MAP_IDX, _MAP_IDX_VALUE.
 * BPF_PSEUDO_FUNC is resolved by the vm itself.
 */
struct bpftime_vm_ldimm64 {
	uint32_t insn_idx; /* index of the first half */
	uint8_t src;       /* BPF_PSEUDO_* */
	int32_t imm;       /* insn[0].imm: map fd, map index or BTF id */
	int32_t next_imm;  /* insn[1].imm: offset into the map value */
};

/*
 * Resolve @req to the 64-bit value the instruction loads. Return 0, or a
 * negative errno that fails the load; the message names the instruction.
 */
typedef int (*bpftime_vm_ldimm64_fn)(void *host, const struct bpftime_vm_ldimm64 *req,
				     uint64_t *value);

/* A helper: r1..r5 in, r0 out, as the kernel's BPF_CALL_x helpers. */
typedef uint64_t (*bpftime_vm_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
					 uint64_t r5, const struct bpftime_vm_call *call);

/*
 * bpf_tail_call(ctx, map, index): return the loaded vm to continue in, or
 * NULL to fall through to the next instruction as the kernel does when the
 * slot is empty. Called on the run path: must not allocate.
 */
typedef const struct bpftime_vm *(*bpftime_vm_tail_call_fn)(void *host, uint64_t map,
							    uint64_t index);

/*
 * Bounds-checked mode: the last word on an access that no registered region
 * covers. Return true to allow it. Called on the run path.
 */
typedef bool (*bpftime_vm_access_fn)(void *host, uint64_t addr, uint64_t size, bool write);

/*
 * Memory for everything a vm keeps: the vm object, the helper table, the
 * loaded program. alloc returns @size bytes aligned for any type, or NULL;
 * dealloc gets back a pointer alloc returned and the size asked for then.
 * Called by bpftime_vm__new/__create, __register_helper, __load and __free,
 * never on the run path. Set both or neither.
 */
typedef void *(*bpftime_vm_alloc_fn)(void *host, size_t size);
typedef void (*bpftime_vm_dealloc_fn)(void *host, void *ptr, size_t size);

struct bpftime_vm_opts {
	/* sizeof(struct bpftime_vm_opts); bytes past the known fields must be 0 */
	size_t sz;
	enum bpftime_vm_engine engine;
	/* check every load and store against stack, ctx and regions */
	bool bounds_check;
	/* clear the stack before every run in the fast mode too (the checked
	 * mode always does): 4 KiB per run, for differential testing. Native
	 * fast code, whose frames are its functions' own, clears a function's
	 * frame whenever the function starts */
	bool zero_stack;
	/* bounds-checked mode: do not clear the stack before runs. For hosts
	 * whose stack holds nothing a program could not read anyway (the
	 * agent: programs read the target's memory with probe_read_user), as
	 * the kernel lets privileged programs read uninitialised stack
	 * (bpf_allow_uninit_stack). Saves clearing 4 KiB per run. (In what was padding: callers
	 * that predate it pass 0 there.) */
	bool keep_stack;
	/* 0 means BPFTIME_VM_MAX_INSNS */
	uint32_t max_insns;
	/* bounds-checked mode only: stop after this many instructions (0: no limit) */
	uint64_t insn_limit;
	/* handed to every callback below and to helpers */
	void *host;
	bpftime_vm_ldimm64_fn resolve_ldimm64;
	bpftime_vm_tail_call_fn tail_call;
	bpftime_vm_access_fn access;
	/* NULL: libc malloc and free (bpftime_vm__new); bpftime_vm__create,
	 * which uses no libc, needs both */
	bpftime_vm_alloc_fn alloc;
	bpftime_vm_dealloc_fn dealloc;
	/* New fields go here, and become the last field. Bytes past the last
	 * field must be zero, trailing padding included: declare opts with
	 * BPFTIME_VM_OPTS, which clears them. */
	size_t : 0;
};
#define bpftime_vm_opts__last_field dealloc

/*
 * Declare opts with the size set and every other byte zero, padding
 * included (a designated initializer alone leaves padding unspecified, and
 * clang does leave garbage there), as LIBBPF_OPTS does.
 */
#define BPFTIME_VM_OPTS(NAME, ...)                                                                 \
	struct bpftime_vm_opts NAME = ({                                                           \
		memset(&NAME, 0, sizeof(struct bpftime_vm_opts));                                  \
		(struct bpftime_vm_opts){.sz = sizeof(struct bpftime_vm_opts), __VA_ARGS__};       \
	})

/** @brief Where and why a run stopped early. */
struct bpftime_vm_fault {
	int err;                       /* 0, or the negative errno the run returned */
	uint32_t pc;                   /* instruction index in @prog */
	const struct bpftime_vm *prog; /* differs from the run's vm after a tail call */
	uint64_t addr;                 /* -EFAULT: the address accessed */
	uint32_t size;                 /* -EFAULT: the access size */
	bool write;                    /* -EFAULT: store or load */
};

#define BPFTIME_VM_RUN_CTX_RDONLY (1u << 0) /* bounds-checked mode: ctx is read-only */
/* Run this one in the bounds-checked mode even if the vm was created fast
 * (checking can be added per run, never removed). */
#define BPFTIME_VM_RUN_CHECKED (1u << 1)

/** @brief One run: inputs, and r0 or the fault as outputs. */
struct bpftime_vm_run {
	void *ctx;        /* r1 at entry */
	uint64_t ctx_len; /* r2 at entry; [ctx, ctx + ctx_len) is accessible when checked */
	void *cookie;     /* per-run value for helpers (bpftime_vm_call__cookie) */
	uint32_t flags;   /* BPFTIME_VM_RUN_* */
	uint64_t r0;      /* out: the program's return value */
	/* out, bounds-checked mode only: instructions executed (native code
	 * counts only under opts.insn_limit, and says 0 otherwise) */
	uint64_t insns;
	struct bpftime_vm_fault fault; /* out: set when the run returns an error */
};

/**
 * @brief Create an empty vm.
 * @return the vm, or NULL with errno set (EINVAL for bad opts, alloc without
 * dealloc or the reverse included, E2BIG for non-zero bytes past the known
 * fields, EOPNOTSUPP for an engine that is not built, ENOMEM).
 */
struct bpftime_vm *bpftime_vm__new(const struct bpftime_vm_opts *opts);

/**
 * @brief bpftime_vm__new without libc, for freestanding hosts (the agent):
 * opts->alloc and opts->dealloc are required, and the error goes to *@err
 * (negative errno, 0 on success) instead of errno. Everything else the vm
 * does after creation, helper registration, load and run included, makes no
 * libc call when the vm was created this way.
 * @return the vm, or NULL with *@err set: -EINVAL (bad opts, NULL @opts or
 * allocator), -E2BIG, -EOPNOTSUPP, -ENOMEM, as bpftime_vm__new.
 */
struct bpftime_vm *bpftime_vm__create(const struct bpftime_vm_opts *opts, int *err);

/** @brief Free a vm; NULL and half-built vms are accepted. No run may be active. */
void bpftime_vm__free(struct bpftime_vm *vm);

/**
 * @brief Make helper @id callable, before load. @name is copied (for messages).
 * @return 0; -EINVAL (id 0, id above BPFTIME_VM_MAX_HELPER_ID, NULL fn),
 * -EBUSY after load, -ENOMEM.
 */
int bpftime_vm__register_helper(struct bpftime_vm *vm, uint32_t id, const char *name,
				bpftime_vm_helper_fn fn);

#define BPFTIME_VM_REGION_READ  (1u << 0)
#define BPFTIME_VM_REGION_WRITE (1u << 1)

/**
 * @brief Declare memory that programs may access in bounds-checked mode (map
 * values, global data, ...). Stack and ctx are implicit. Not thread-safe
 * against concurrent runs: call it before the first run.
 * @return 0; -EINVAL for empty or wrapping ranges or bad flags; -ENOSPC when
 * BPFTIME_VM_MAX_REGIONS are in use.
 */
int bpftime_vm__add_region(struct bpftime_vm *vm, const void *base, size_t size, unsigned flags);

/**
 * @brief Check @cnt instructions and prepare them to run. May be called once.
 * On failure, bpftime_vm__last_error() names the instruction and the reason.
 * @return 0; -EINVAL (malformed program), -E2BIG (too many instructions),
 * -EACCES (write to r10), -ENOENT (unknown helper), -EBUSY (already loaded),
 * an errno from the ldimm64 resolver, -ENOMEM.
 */
int bpftime_vm__load(struct bpftime_vm *vm, const struct bpf_insn *insns, size_t cnt);

/** @brief Message of the last failed call on @vm ("" when none). */
const char *bpftime_vm__last_error(const struct bpftime_vm *vm);

/** @brief Loaded instructions, pseudo ld_imm64 values resolved (NULL before load). */
const struct bpf_insn *bpftime_vm__insns(const struct bpftime_vm *vm, size_t *cnt);

/**
 * @brief Run the loaded program. Thread-safe; no libc, no allocation.
 * Uses about 4.5 KiB of the caller's stack per nesting level.
 * @return 0 with run->r0 set, or a negative errno with run->fault filled:
 * -EFAULT (access outside every region, checked mode; misaligned atomic),
 * -E2BIG (call depth above BPFTIME_VM_MAX_CALL_FRAMES), -EINVAL (callx to
 * something that is neither a helper nor a function), -ELOOP (insn_limit
 * reached), -ENOEXEC (not loaded).
 */
int bpftime_vm__run(const struct bpftime_vm *vm, struct bpftime_vm_run *run);

/** @brief Convenience: run with r1 = @mem, r2 = @len; r0 into @ret. */
int bpftime_vm__exec(const struct bpftime_vm *vm, void *mem, size_t len, uint64_t *ret);

/**
 * @brief Describe @fault in @buf (snprintf semantics, no libc). Not for the
 * run path.
 */
int bpftime_vm_fault__format(const struct bpftime_vm_fault *fault, char *buf, size_t size);

/* ---- native code (bpftime/jit.h compiles it) ---- */

/**
 * @brief Bytes of writable, page-aligned memory that binding @image needs.
 * @return the size, or -EINVAL (not an image, or inconsistent), -ENOEXEC
 * (an image of another build's ABI).
 */
int64_t bpftime_vm__native_size(const void *image, size_t len);

/**
 * @brief Bind a native image to the loaded @vm, without libc: copy its code
 * into @mem (page-aligned, bpftime_vm__native_size bytes, writable) and fill
 * in this process's values (helpers, maps, runtime). The host then makes
 * the first *@exec_len bytes of @mem executable and the rest read-only,
 * before the first run. From then on, runs in the image's mode take the
 * native code. @release, when not NULL, is called with (@mem, @mem_len) when
 * the vm is freed.
 * @return 0; -EINVAL (vm not loaded, bad image or memory), -ENOEXEC (another
 * ABI), -ESTALE (compiled from other instructions, or for another mode,
 * helper table or instruction limit: the message says which), -EBUSY
 * (already bound), -ENOMEM.
 */
int bpftime_vm__native_bind(struct bpftime_vm *vm, const void *image, size_t len, void *mem,
			    size_t mem_len, void (*release)(void *mem, size_t len),
			    size_t *exec_len);

/**
 * @brief Undo bpftime_vm__native_bind (the host could not make the memory
 * executable, say): runs interpret again and @release gets the memory. No
 * run may be active.
 */
void bpftime_vm__native_drop(struct bpftime_vm *vm);

/** @brief A host's pages for a native image (bpftime_vm__native_map). */
struct bpftime_vm_native_mem {
	/* @len bytes, page-aligned, read + write; NULL when none */
	void *(*map)(size_t len);
	/* make [@mem, @mem + @len) read + exec (@exec) or read-only; 0 or -errno */
	int (*protect)(void *mem, size_t len, bool exec);
	void (*unmap)(void *mem, size_t len);
};

/**
 * @brief bpftime_vm__native_bind into pages from @mem, then the code made
 * read + exec and the data slots read-only: the pages are never writable
 * and executable at once. Freestanding: the host brings the syscalls.
 * @return 0, or as bpftime_vm__native_bind; -ENOMEM (no pages), or
 * protect's error (a W^X policy, say), the binding then undone. The
 * message in bpftime_vm__last_error.
 */
int bpftime_vm__native_map(struct bpftime_vm *vm, const void *image, size_t len,
			   const struct bpftime_vm_native_mem *mem);

/**
 * @brief bpftime_vm__native_map with pages from libc's mmap (not in
 * bpftime_vm__create's freestanding set).
 */
int bpftime_vm__load_native(struct bpftime_vm *vm, const void *image, size_t len);

/** @brief Whether runs of @vm in its own mode take native code. */
bool bpftime_vm__is_native(const struct bpftime_vm *vm);

/* ---- for helpers: the calling run ---- */

/** @brief opts.host of the vm that called the helper. */
void *bpftime_vm_call__host(const struct bpftime_vm_call *call);

/** @brief run->cookie of the current run. */
void *bpftime_vm_call__cookie(const struct bpftime_vm_call *call);

/**
 * @brief Whether the program may access [addr, addr + size): always true in
 * unchecked mode, the same test as the program's own loads otherwise.
 */
bool bpftime_vm_call__access_ok(const struct bpftime_vm_call *call, uint64_t addr, uint64_t size,
				bool write);

/**
 * @brief Call a BPF function whose address the program produced with a
 * BPF_PSEUDO_FUNC ld_imm64 (callbacks of bpf_loop and friends), one frame
 * deeper than the caller.
 * @return 0 with *ret set, or the negative errno that stops the whole run;
 * -EINVAL when @fn is not a function of this program.
 */
int bpftime_vm_call__callback(const struct bpftime_vm_call *call, uint64_t fn, uint64_t a1,
			      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t *ret);

/* ---- helpers the vm provides, with the kernel's semantics ---- */

/**
 * bpf_loop(nr_loops, callback_fn, callback_ctx, flags), as kernel/bpf/bpf_iter.c:
 * -EINVAL for flags, -E2BIG above 1 << 23 loops; stops when the callback
 * returns 1; returns the number of iterations run.
 */
uint64_t bpftime_vm_helper_loop(uint64_t nr_loops, uint64_t fn, uint64_t cb_ctx, uint64_t flags,
				uint64_t r5, const struct bpftime_vm_call *call);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_VM_H */
