/* SPDX-License-Identifier: MIT */
/*
 * The session catalog: which programs exist and where they are attached,
 * for the agents inside target processes.
 *
 * One file per session, "<session dir>/catalog" next to the maps region.
 * The supervisor (bpf-emul, emul-catalog.c) is its only writer; agents map
 * it read-only by path and read it without talking to the supervisor
 * (catalog-read.c, freestanding: no libc, no TLS, no allocation). This
 * header is included by both sides and by code without a libc: it uses
 * only <stdint.h>, <stdbool.h> and <stddef.h>.
 *
 *   offset 0           struct bpftime_catalog_header (one page)
 *   prog_off           prog_cap  x prog_stride   struct bpftime_catalog_prog
 *   attach_off         attach_cap x attach_stride struct bpftime_catalog_attach
 *   heap_off           heap_size bytes: program instructions, probed paths,
 *                      patch plans and the reasons a site cannot be patched
 *
 * Capacity is fixed when the session starts (the file is sparse: only the
 * pages the writer used are memory). A full table or heap fails the
 * command that needed it with -ENOSPC and a message in the supervisor's
 * log. Fixed rather than growing so that a reader maps the file once and
 * never remaps: an agent thread reading entries while another extends the
 * mapping would need a lock the hook path must not take.
 *
 * Consistency (a seqlock at two levels, single writer):
 *   - header.generation is odd while a change is in progress and grows by
 *     2 for every change; header.futex is then bumped and FUTEX_WAKEd, so
 *     readers sleep on it (bpftime_catalog__wait);
 *   - every entry has its own seq, odd while the entry is written; a reader
 *     copies the entry and retries when seq was odd or moved, so it never
 *     sees a torn entry, and it can read one entry while others change;
 *   - the instructions and path an entry points to are written before the
 *     entry names them and never change while it does; a freed block may be
 *     reused at once, so a reader copies it and then checks that the
 *     entry's seq did not move (bpftime_catalog__prog_insns,
 *     bpftime_catalog__attach_plan).
 * For a view of all tables at one generation: read_begin, iterate,
 * read_retry (see the example at the end).
 *
 * Entries are reused once freed: keys are ids, never table indexes.
 * Programs are published before anything attaches them and unpublished
 * after every attachment naming them is gone (an attachment holds its
 * program), so an attachment's prog_id is found in a consistent view.
 */
#ifndef BPFTIME_CATALOG_H
#define BPFTIME_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPFTIME_CATALOG_FILE    "catalog"   /* in the session directory */
#define BPFTIME_CATALOG_MAGIC   0x43465042u /* "BPFC" */
#define BPFTIME_CATALOG_VERSION 3           /* 3: programs carry their native image */

/* The header, at offset 0. Readers reject another magic or version, a
 * hdr_size smaller than theirs, and strides smaller than their entries. */
struct bpftime_catalog_header {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_size;   /* sizeof(struct bpftime_catalog_header) */
	uint64_t file_size;  /* the whole file, fixed at creation */
	uint64_t generation; /* writer: odd while changing, +2 per change */
	uint32_t futex;      /* writer: +1 after each change, then FUTEX_WAKE */
	int32_t writer_pid;  /* the supervisor (its pid namespace) */
	uint64_t prog_off;
	uint32_t prog_stride; /* sizeof(struct bpftime_catalog_prog) */
	uint32_t prog_cap;
	uint32_t prog_hwm; /* entries [0, hwm) were ever used: readers stop there */
	uint32_t attach_stride;
	uint64_t attach_off;
	uint32_t attach_cap;
	uint32_t attach_hwm;
	uint64_t heap_off;
	uint64_t heap_size;
	uint32_t nr_progs; /* live entries, for status displays */
	uint32_t nr_attach;
};
_Static_assert(sizeof(struct bpftime_catalog_header) == 96, "catalog header layout");
_Static_assert(offsetof(struct bpftime_catalog_header, generation) == 16, "catalog generation");
_Static_assert(offsetof(struct bpftime_catalog_header, futex) == 24, "catalog futex");
_Static_assert(offsetof(struct bpftime_catalog_header, nr_attach) == 92, "catalog header end");

/* An entry's state. */
#define BPFTIME_CATALOG_FREE 0
#define BPFTIME_CATALOG_LIVE 1

/* bpftime_catalog_prog.flags */
#define BPFTIME_CATALOG_PROG_GPL (1u << 0) /* GPL-compatible license */

/*
 * ld_imm64 map references in published instructions. The writer replaces
 * the tool's map fds by map ids, as bpf_prog_info's xlated instructions
 * show them; the src_reg values stay the kernel's so that the vm's
 * resolve_ldimm64 callback sees the same codes in the supervisor and in
 * the agent:
 *   BPFTIME_CATALOG_PSEUDO_MAP_ID (BPF_PSEUDO_MAP_FD): imm is a map id;
 *     the agent resolves it with bpftime_map__get(region, id);
 *   BPFTIME_CATALOG_PSEUDO_MAP_ID_VALUE (BPF_PSEUDO_MAP_VALUE): imm is a
 *     map id, the next instruction's imm an offset into its value (a
 *     single-element array: global data).
 * BPF_PSEUDO_MAP_IDX forms never appear: the writer resolved them.
 */
#define BPFTIME_CATALOG_PSEUDO_MAP_ID       1
#define BPFTIME_CATALOG_PSEUDO_MAP_ID_VALUE 2

/* One loaded program (BPF_PROG_LOAD, after it was accepted). */
struct bpftime_catalog_prog {
	uint32_t seq;   /* writer: odd while the entry is written */
	uint32_t state; /* BPFTIME_CATALOG_FREE / _LIVE */
	uint32_t id;    /* the program's id (bpf_prog_info.id) */
	uint32_t type;  /* enum bpf_prog_type */
	uint32_t expected_attach_type;
	uint32_t prog_flags; /* attr.prog_flags (BPF_F_SLEEPABLE, ...) */
	uint32_t flags;      /* BPFTIME_CATALOG_PROG_* */
	uint32_t insn_cnt;   /* 8-byte struct bpf_insn each */
	uint64_t insn_off;   /* file offset of the instructions, in the heap */
	char name[16];       /* BPF_OBJ_NAME_LEN, NUL-terminated */
	uint8_t tag[8];      /* bpf_prog_info.tag */
	/* the program compiled by the supervisor's JIT for the agents' vm
	 * (bounds-checked; vm-image.h), in the heap; 0 when there is none
	 * (no LLVM, --engine interp, or it did not compile: agents interpret) */
	uint64_t image_off;
	uint32_t image_len;
	uint32_t reserved;
};
_Static_assert(sizeof(struct bpftime_catalog_prog) == 80, "catalog prog layout");
_Static_assert(offsetof(struct bpftime_catalog_prog, insn_off) == 32, "catalog prog insn_off");
_Static_assert(offsetof(struct bpftime_catalog_prog, tag) == 56, "catalog prog tag");

/* bpftime_catalog_attach.kind */
enum bpftime_catalog_attach_kind {
	BPFTIME_CATALOG_UPROBE = 1,
	BPFTIME_CATALOG_URETPROBE,
	BPFTIME_CATALOG_TRACEPOINT, /* syscalls/sys_{enter,exit}_X, raw_syscalls/sys_{enter,exit} */
	/* a kprobe / kretprobe on a syscall's x86-64 wrapper __x64_sys_X at
	 * offset 0 (the kprobe PMU): syscall_nr the syscall, tp_category
	 * "kprobes" and tp_name the function, for logs; no tp_id */
	BPFTIME_CATALOG_KPROBE_SYSCALL,
	BPFTIME_CATALOG_KRETPROBE_SYSCALL,
};

/* bpftime_catalog_attach.flags */
#define BPFTIME_CATALOG_ATTACH_ENABLED  (1u << 0) /* the event counts (IOC_ENABLE) */
#define BPFTIME_CATALOG_ATTACH_SYS_EXIT (1u << 1) /* tracepoint: a sys_exit event */

/* rewrite.h's fixed-size, pointer-free patch of one site; the catalog only
 * names it (include <bpftime/rewrite.h> for its layout). */
struct bpftime_rw_plan;

/*
 * The patch of a uprobe's or uretprobe's site (both hook the instruction
 * at the offset with a jmp): planned by the supervisor with rewrite's
 * planner when the program is attached (IOC_SET_BPF or link creation), so
 * that agents need no disassembler. Plans are cached per (dev, ino, mtime,
 * size, offset) in the supervisor: the sites of a file are decoded once
 * per session, however many events probe them.
 *   plan_status 0: plan_off names a struct bpftime_rw_plan of plan_size
 *     bytes (bpftime_catalog__attach_plan copies it);
 *   plan_status -errno: no plan, and the site cannot be hooked: -EOPNOTSUPP
 *     the planner refused (a branch into the displaced bytes, an offset
 *     inside an instruction, an instruction that cannot move...), -ENOEXEC
 *     not an ELF file or undecodable bytes, -ENOENT / -EACCES / -ESTALE
 *     the supervisor could not open the file the event probes (-ESTALE: the
 *     path now names another file); plan_msg_off names a short message
 *     saying why (bpftime_catalog__attach_plan_msg), for logs and status.
 * Tracepoints have neither (status 0, both offsets 0).
 */

/* One perf event that runs a program (IOC_SET_BPF or a perf link). */
struct bpftime_catalog_attach {
	uint32_t seq;   /* writer: odd while the entry is written */
	uint32_t state; /* BPFTIME_CATALOG_FREE / _LIVE */
	uint32_t id;    /* the perf event's id (PERF_EVENT_IOC_ID) */
	uint32_t kind;  /* enum bpftime_catalog_attach_kind */
	uint32_t prog_id;
	uint32_t flags;  /* BPFTIME_CATALOG_ATTACH_* */
	int32_t pid;     /* perf_event_open's pid: -1 any process */
	int32_t cpu;     /* perf_event_open's cpu: -1 any */
	uint64_t cookie; /* the link's bpf_cookie (0 for IOC_SET_BPF) */
	/* uprobes: the probed file as it was at perf_event_open (the kernel's
	 * uprobe holds the inode: match mappings by dev and ino, not path) */
	uint64_t dev;      /* st_dev */
	uint64_t ino;      /* st_ino */
	uint64_t offset;   /* file offset of the probed instruction */
	uint64_t path_off; /* file offset of the path (NUL-terminated), 0 none */
	uint32_t path_len; /* without the NUL */
	/* tracepoints: the syscall hooked by sys_enter_X / sys_exit_X (x86-64
	 * number), -1 for every syscall (raw_syscalls); syscall kprobes: X of
	 * __x64_sys_X */
	int32_t syscall_nr;
	uint64_t tp_id;       /* the id served in tracefs .../id */
	char tp_category[16]; /* "syscalls", "raw_syscalls" */
	char tp_name[64];     /* "sys_enter_openat", "sys_exit" */
	/* uprobes: the site's patch (see above) */
	int32_t plan_status;   /* 0 planned, else -errno: the site cannot be hooked */
	uint32_t plan_size;    /* sizeof(struct bpftime_rw_plan) of the writer; 0 none */
	uint64_t plan_off;     /* file offset of the plan (8-aligned), 0 none */
	uint64_t plan_msg_off; /* file offset of the reason (NUL-terminated), 0 none */
	uint32_t plan_msg_len; /* without the NUL */
	uint32_t pad;
};
_Static_assert(sizeof(struct bpftime_catalog_attach) == 200, "catalog attach layout");
_Static_assert(offsetof(struct bpftime_catalog_attach, cookie) == 32, "catalog attach cookie");
_Static_assert(offsetof(struct bpftime_catalog_attach, tp_id) == 80, "catalog attach tp_id");
_Static_assert(offsetof(struct bpftime_catalog_attach, tp_name) == 104, "catalog attach tp_name");
_Static_assert(offsetof(struct bpftime_catalog_attach, plan_status) == 168, "catalog attach plan");
_Static_assert(offsetof(struct bpftime_catalog_attach, plan_off) == 176, "catalog attach plan_off");

/* ---- the reader (catalog-read.c): freestanding, for agents ---- */

/* A process's read-only mapping of the catalog. The caller owns the
 * storage (no allocation); the fields are private. */
struct bpftime_catalog_view {
	const void *base;
	uint64_t size;
};

/**
 * @brief Map the catalog at @path read-only (raw syscalls) and check its
 * header. @return 0, or -errno: -ENOENT no session, -EPROTO a file that is
 * not a catalog of this version or whose layout does not fit.
 * Thread-safety: @v is not shared until this returns.
 */
int bpftime_catalog__map(struct bpftime_catalog_view *v, const char *path);
/** @brief Unmap. A view that was never mapped (base NULL) is accepted. */
void bpftime_catalog__unmap(struct bpftime_catalog_view *v);

/**
 * @brief Start a consistent read: the current generation in *@gen, once it
 * is even (no change in progress; spins, then yields). @return 0, or
 * -EAGAIN when a change has been in progress for a second (the writer is
 * stopped or died inside it; see header.writer_pid). Any thread, any time.
 */
int bpftime_catalog__read_begin(const struct bpftime_catalog_view *v, uint64_t *gen);
/** @brief Whether anything changed since read_begin gave @gen: if so, what
 * was read since may mix generations; read again. */
bool bpftime_catalog__read_retry(const struct bpftime_catalog_view *v, uint64_t gen);

/**
 * @brief Copy program entry @idx into @out, never torn.
 * @return 1 a live entry, 0 a free one, -ENOENT past the last entry ever
 * used (stop iterating), -EAGAIN when the entry stayed in the middle of a
 * change for a second (a stopped or dead writer).
 */
int bpftime_catalog__prog_at(const struct bpftime_catalog_view *v, uint32_t idx,
			     struct bpftime_catalog_prog *out);
/** @brief The same for attachments. */
int bpftime_catalog__attach_at(const struct bpftime_catalog_view *v, uint32_t idx,
			       struct bpftime_catalog_attach *out);
/**
 * @brief The live program with @id, copied into @out. @return its index
 * (for bpftime_catalog__prog_insns), -ENOENT when there is none.
 */
int bpftime_catalog__prog_find(const struct bpftime_catalog_view *v, uint32_t id,
			       struct bpftime_catalog_prog *out);

/**
 * @brief Copy the instructions of @p (entry @idx as prog_at or prog_find
 * copied it) into @dst, room for @max instructions of 8 bytes. @return
 * p->insn_cnt; -E2BIG when @max is too small, -ESTALE when the entry
 * changed meanwhile (the program went: read it again), -EPROTO when the
 * entry points outside the file.
 */
int bpftime_catalog__prog_insns(const struct bpftime_catalog_view *v, uint32_t idx,
				const struct bpftime_catalog_prog *p, uint64_t *dst, uint32_t max);

/**
 * @brief Copy the native image of @p (entry @idx) into @dst, 8-aligned, of
 * @max bytes; the same guarantees as bpftime_catalog__prog_insns.
 * @return its length, -ENOENT when the program has none, -E2BIG, -ESTALE,
 * -EPROTO as bpftime_catalog__prog_insns.
 */
int bpftime_catalog__prog_image(const struct bpftime_catalog_view *v, uint32_t idx,
				const struct bpftime_catalog_prog *p, uint64_t *dst, uint32_t max);
/**
 * @brief Copy the probed path of @a (entry @idx) into @dst (@size bytes,
 * NUL-terminated). @return its length, -ENOENT when it has none, -E2BIG,
 * -ESTALE, -EPROTO as above.
 */
int bpftime_catalog__attach_path(const struct bpftime_catalog_view *v, uint32_t idx,
				 const struct bpftime_catalog_attach *a, char *dst, uint32_t size);

/**
 * @brief Copy the patch plan of @a (entry @idx) into @plan (rewrite.h's
 * struct, which the caller allocates). @return 0; -ENODATA when @a has no
 * plan: a tracepoint, or a site that cannot be hooked (a->plan_status < 0
 * says so, attach_plan_msg why); -ESTALE when the entry changed meanwhile
 * (read it again); -EPROTO when the entry points outside the heap or its
 * plan_size is not sizeof(*@plan) (a writer of another rewrite version).
 * The plan's own fields are the applier's to check (bpftime_rw__prepare).
 */
int bpftime_catalog__attach_plan(const struct bpftime_catalog_view *v, uint32_t idx,
				 const struct bpftime_catalog_attach *a,
				 struct bpftime_rw_plan *plan);
/**
 * @brief Copy why @a's site cannot be hooked into @dst (@size bytes,
 * NUL-terminated). @return its length, -ENOENT when there is no message
 * (a planned site), -E2BIG, -ESTALE, -EPROTO as attach_path.
 */
int bpftime_catalog__attach_plan_msg(const struct bpftime_catalog_view *v, uint32_t idx,
				     const struct bpftime_catalog_attach *a, char *dst,
				     uint32_t size);

/**
 * @brief Sleep until the generation differs from @gen (from read_begin) or
 * @timeout_ns passed (0: do not sleep; UINT64_MAX: no timeout). A FUTEX_WAIT
 * on header.futex: no polling. @return 0 changed, -ETIMEDOUT, -EINTR (a
 * signal came).
 */
int bpftime_catalog__wait(const struct bpftime_catalog_view *v, uint64_t gen, uint64_t timeout_ns);

/** @brief The header, for status displays: read fields with atomic loads. */
const struct bpftime_catalog_header *bpftime_catalog__header(const struct bpftime_catalog_view *v);

/*
 * Example: follow the attachments.
 *
 *	for (;;) {
 *		uint64_t gen;
 *		struct bpftime_catalog_attach a;
 *
 *		if (bpftime_catalog__read_begin(&v, &gen))
 *			break;
 *		for (uint32_t i = 0; ; i++) {
 *			int r = bpftime_catalog__attach_at(&v, i, &a);
 *			if (r == -ENOENT)
 *				break;
 *			if (r == 1)
 *				... a.id, a.prog_id: want it hooked; a uprobe's
 *				    patch: bpftime_catalog__attach_plan(&v, i,
 *				    &a, &plan) (retry the pass on -ESTALE) ...
 *		}
 *		if (bpftime_catalog__read_retry(&v, gen))
 *			continue; // mixed generations: start over
 *		... apply: hook what is wanted, unhook the rest ...
 *		bpftime_catalog__wait(&v, gen, UINT64_MAX);
 *	}
 */

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_CATALOG_H */
