/* SPDX-License-Identifier: MIT */
/*
 * bpf-emul internals: the session's object table and what the command
 * files share. One file per concern:
 *
 *   emul.c          session life cycle, logging, bpftime_emul__syscall
 *   emul-obj.c      object table: files, ids, fds in the caller, lookups
 *   emul-bpf.c      bpf(2): attr size rules, command dispatch
 *   emul-map.c      MAP_CREATE and the map commands (incl. batches, freeze)
 *   emul-prog.c     PROG_LOAD (log_buf), PROG_BIND_MAP
 *   emul-btf.c      BTF_LOAD, the vmlinux BTF as id 1
 *   emul-info.c     OBJ_GET_INFO_BY_FD, *_GET_NEXT_ID, *_GET_FD_BY_ID
 *   emul-pin.c      OBJ_PIN / OBJ_GET
 *   emul-link.c     LINK_CREATE and links
 *   emul-test-run.c PROG_TEST_RUN (programs run in the supervisor)
 *   emul-helpers.c  helpers for programs run in the supervisor
 *   emul-perf.c     perf_event_open, perf event ioctls
 *   emul-epoll.c    epoll_ctl on objects: eventfds signalled by waiters
 *   emul-files.c    tracefs and sysfs files (openat, faccessat)
 *   emul-timer.c    CPU clock events: their programs run on a timer thread
 *   emul-catalog.c  the session catalog agents read (bpftime/catalog.h)
 *   emul-plan.c     uprobe sites' patch plans (rewrite.h), cached
 *
 * Locking: e->lock is held by every entry point (emul-bpf.c and the
 * others take it), so command code runs single-threaded.
 */
#ifndef BPFTIME_EMUL_INTERNAL_H
#define BPFTIME_EMUL_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/bpf.h>
#include <bpftime/bpf-emul.h>
#include <bpftime/maps.h>
#include <bpftime/vm.h>

#define EMUL_ENOTSUPP 524 /* the kernel's internal ENOTSUPP, seen by bpf(2) callers */

enum emul_obj_type {
	EMUL_OBJ_MAP = 1,
	EMUL_OBJ_PROG,
	EMUL_OBJ_LINK,
	EMUL_OBJ_BTF,
	EMUL_OBJ_PERF, /* a perf event fd: uprobe, tracepoint, BPF_OUTPUT, CPU clock */
};

struct emul_obj;

/* A program as loaded (emul-prog.c). Map references are object pointers
 * holding a reference each (the kernel's used_maps). */
struct emul_prog {
	uint32_t type; /* enum bpf_prog_type */
	uint32_t expected_attach_type;
	uint32_t insn_cnt;
	struct bpf_insn *insns;  /* as loaded, map fds replaced by map ids */
	struct bpf_insn *xlated; /* what OBJ_GET_INFO_BY_FD reports as xlated */
	char name[BPF_OBJ_NAME_LEN];
	uint8_t tag[BPF_TAG_SIZE];
	uint32_t kern_version;
	uint32_t prog_flags;
	bool gpl; /* GPL-compatible license (published in the catalog) */
	uint32_t nr_maps;
	struct emul_obj **maps; /* used maps, referenced */
	struct emul_obj *btf;   /* referenced, or NULL */
	uint64_t load_time;     /* CLOCK_BOOTTIME ns, as bpf_prog_info.load_time */
	uid_t uid;
	/* programs run in the supervisor (PROG_TEST_RUN): built lazily */
	struct bpftime_vm *vm;
	/* compiled for the agents (emul-jit.c), published in the catalog;
	 * malloc'd, NULL when interpreted */
	void *image;
	uint32_t image_len;
};

struct emul_btf {
	void *data;
	uint32_t size;
	bool kernel; /* the vmlinux BTF (id 1) */
	char name[64];
};

struct emul_link {
	uint32_t type; /* enum bpf_link_type: BPF_LINK_TYPE_PERF_EVENT */
	uint32_t attach_type;
	struct emul_obj *prog;   /* referenced */
	struct emul_obj *target; /* referenced: the perf event */
	uint64_t cookie;
};

/* What a perf event fd stands for (emul-perf.c). */
enum emul_perf_kind {
	EMUL_PERF_UPROBE = 1,
	EMUL_PERF_TRACEPOINT,
	EMUL_PERF_OUTPUT,    /* SOFTWARE / BPF_OUTPUT: a perf buffer */
	EMUL_PERF_CPU_CLOCK, /* SOFTWARE / CPU_CLOCK: interval probes */
	EMUL_PERF_KPROBE,    /* kprobe PMU: __x64_sys_X+0 only (emul-perf.c) */
};

struct emul_perf {
	enum emul_perf_kind kind;
	int pid, cpu;
	bool enabled;
	bool retprobe;
	char *path;             /* uprobe: the probed file; kprobe: the function */
	uint64_t offset;        /* uprobe: file offset */
	uint64_t dev, ino;      /* uprobe: the file's identity at open (the catalog) */
	uint64_t tp_id;         /* tracepoint id */
	int32_t syscall_nr;     /* kprobe: X of __x64_sys_X (x86-64 number) */
	uint64_t sample_period; /* CPU clock: ns (attr.freq converted at open) */
	/* CPU clock (emul-timer.c): the next tick, CLOCK_MONOTONIC ns, 0 while
	 * stopped; and what a disable left of the period (hwc->period_left) */
	uint64_t deadline;
	int64_t period_left;
	bool tick_faulted;     /* CPU clock: a run on a tick faulted (logged once) */
	uint32_t perfbuf_id;   /* BPF_OUTPUT: the maps module's perf buffer id, 0 until mmap'd */
	struct emul_obj *prog; /* PERF_EVENT_IOC_SET_BPF, referenced */
	struct perf_event_attr_copy {
		uint8_t bytes[128];
		uint32_t size;
	} attr;
};

struct emul_obj {
	enum emul_obj_type type;
	uint32_t id; /* map ids are the maps module's; others from e's counters */
	int refcnt;  /* references from other objects, pins, the table */
	int fd;      /* our fd for the object's file: what callers get */
	dev_t dev;   /* identity of that file */
	ino_t ino;
	/* emul-lifetime.c: descriptions of the file open outside ours */
	int wd;         /* inotify watch, -1 if none */
	int opens;      /* IN_OPEN - IN_CLOSE seen */
	bool installed; /* a caller got an fd of it at least once */
	bool in_table;  /* the table's reference is still held */
	bool pinned_by_overflow;
	union {
		struct {
			struct bpftime_map *m;
			uint32_t btf_id;
			uint32_t btf_key_type_id, btf_value_type_id;
			struct emul_obj *btf;    /* referenced, or NULL */
			struct emul_obj **inner; /* maps of maps: referenced inner maps */
		} map;
		struct emul_prog prog;
		struct emul_btf btf;
		struct emul_link link;
		struct emul_perf perf;
	};
};

struct bpftime_emul {
	pthread_mutex_t lock;
	struct bpftime_emul_opts opts;
	char session_dir[256];
	struct bpftime_map_region *region;
	struct emul_obj **objs; /* every live object, any order */
	uint32_t nr_objs, cap_objs;
	uint32_t next_prog_id, next_link_id, next_btf_id;
	enum bpftime_emul_log_level log_level;
	bool vmlinux_loaded; /* the vmlinux BTF object (id 1) exists */
	int inotify_fd;      /* emul-lifetime.c */
	bool shutting_down;  /* bpftime_emul__free: releases do not follow references */
	/* per-concern state owned by the files named above */
	void *pins;            /* emul-pin.c */
	void *epoll;           /* emul-epoll.c */
	void *files;           /* emul-files.c */
	uint32_t next_perf_id; /* [perf-files] emul-perf.c: perf event ids (IOC_ID) */
	void *timer;           /* emul-timer.c: the ticker thread, NULL until needed */
	void *catalog;         /* emul-catalog.c: NULL when not created */
	void *plans;           /* emul-plan.c: NULL until a site is planned */
};

/* ---- logging (emul.c) ---- */

__attribute__((format(printf, 3, 4))) void
emul_log(struct bpftime_emul *e, enum bpftime_emul_log_level level, const char *fmt, ...);

/* ---- the caller, checked (emul-obj.c) ---- */

static inline int emul_read(struct bpftime_caller *c, void *dst, uint64_t addr, size_t len)
{
	if (!len)
		return 0;
	return c->ops->read(c->ctx, dst, addr, len);
}

static inline int emul_write(struct bpftime_caller *c, uint64_t addr, const void *src, size_t len)
{
	if (!len)
		return 0;
	return c->ops->write(c->ctx, addr, src, len);
}

/* A NUL-terminated string of at most @max bytes (NUL included) from the
 * caller, as strncpy_from_user(): -EFAULT, or -ENAMETOOLONG / -E2BIG as
 * @toolong when no NUL fits. @return its length. */
long emul_read_str(struct bpftime_caller *c, char *dst, uint64_t addr, size_t max, int toolong);

/* ---- objects (emul-obj.c) ---- */

/* A new object of @type with a file of its own (a memfd named @name, or
 * @file opened read-write when not NULL), id 0, not yet in the table. */
struct emul_obj *emul_obj_new(struct bpftime_emul *e, enum emul_obj_type type, const char *name,
			      const char *file);
/* Put @o in the table (it becomes findable by fd and id). */
int emul_obj_add(struct bpftime_emul *e, struct emul_obj *o);
/* Give the caller an fd for @o: the syscall's result. On failure the
 * caller has nothing; the object stays as it was. */
int emul_obj_install(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     int flags);
/* The object the caller's @fd refers to, or NULL (-EBADF for a closed fd,
 * -EINVAL for an fd that is not an object: *err says which, as the kernel's
 * fdget + type checks). */
struct emul_obj *emul_obj_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				  int *err);
/* Typed: NULL and -EINVAL when the object is of another type (the kernel's
 * bpf_map_get / bpf_prog_get answer for a wrong fd: -EINVAL). */
struct emul_obj *emul_obj_from_fd_type(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				       enum emul_obj_type type, int *err);
struct emul_obj *emul_obj_by_id(struct bpftime_emul *e, enum emul_obj_type type, uint32_t id);
/* The live object of @type with the smallest id above @id, or NULL. */
struct emul_obj *emul_obj_next(struct bpftime_emul *e, enum emul_obj_type type, uint32_t id);
void emul_obj_get(struct emul_obj *o);
/* Drop a reference; the last one frees the object and what it references. */
void emul_obj_put(struct bpftime_emul *e, struct emul_obj *o);
/* The end of the session: release every object once (emul.c). */
void emul_obj_release_all(struct bpftime_emul *e);

/* ---- lifetime (emul-lifetime.c) ---- */
int emul_lifetime_init(struct bpftime_emul *e);
void emul_lifetime_fini(struct bpftime_emul *e);
int emul_lifetime_watch(struct bpftime_emul *e, struct emul_obj *o);
void emul_lifetime_unwatch(struct bpftime_emul *e, struct emul_obj *o);
int emul_lifetime_reopen(struct bpftime_emul *e, struct emul_obj *o);

/* Per-type teardown, called by emul_obj_put on the last reference. */
void emul_map_release(struct bpftime_emul *e, struct emul_obj *o);
void emul_prog_release(struct bpftime_emul *e, struct emul_obj *o);
void emul_btf_release(struct bpftime_emul *e, struct emul_obj *o);
void emul_link_release(struct bpftime_emul *e, struct emul_obj *o);
void emul_perf_release(struct bpftime_emul *e, struct emul_obj *o);

/* ---- bpf(2) commands: @attr is the caller's attr, zero-extended to
 * sizeof(union bpf_attr) after the size checks of __sys_bpf() (emul-bpf.c);
 * each command does its own CHECK_ATTR first, as the kernel's do. ---- */

/* CHECK_ATTR(): bytes after the command's last field must be zero. */
#define EMUL_CHECK_ATTR(attr, FIELD)                                                               \
	emul_attr_tail_nonzero((attr), offsetof(union bpf_attr, FIELD) + sizeof((attr)->FIELD))
bool emul_attr_tail_nonzero(const union bpf_attr *attr, size_t from);

typedef long (*emul_cmd_fn)(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			    uint64_t uattr, uint32_t size);

long emul_cmd_map_create(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
			 uint32_t);
long emul_cmd_map_lookup_elem(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			      uint64_t, uint32_t);
long emul_cmd_map_update_elem(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			      uint64_t, uint32_t);
long emul_cmd_map_delete_elem(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			      uint64_t, uint32_t);
long emul_cmd_map_get_next_key(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			       uint64_t, uint32_t);
long emul_cmd_map_lookup_and_delete_elem(struct bpftime_emul *, struct bpftime_caller *,
					 union bpf_attr *, uint64_t, uint32_t);
long emul_cmd_map_freeze(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
			 uint32_t);
long emul_cmd_map_lookup_batch(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			       uint64_t, uint32_t);
long emul_cmd_map_lookup_and_delete_batch(struct bpftime_emul *, struct bpftime_caller *,
					  union bpf_attr *, uint64_t, uint32_t);
long emul_cmd_map_update_batch(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			       uint64_t, uint32_t);
long emul_cmd_map_delete_batch(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			       uint64_t, uint32_t);
long emul_cmd_prog_load(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
			uint32_t);
long emul_cmd_prog_bind_map(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			    uint64_t, uint32_t);
long emul_cmd_prog_test_run(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			    uint64_t, uint32_t);
long emul_cmd_btf_load(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
		       uint32_t);
long emul_cmd_obj_get_info_by_fd(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
				 uint64_t, uint32_t);
/* one per object type (emul-info.c): the kernel's are distinct commands */
#define EMUL_ID_CMDS(kind)                                                                         \
	long emul_cmd_##kind##_get_next_id(struct bpftime_emul *, struct bpftime_caller *,         \
					   union bpf_attr *, uint64_t, uint32_t);                  \
	long emul_cmd_##kind##_get_fd_by_id(struct bpftime_emul *, struct bpftime_caller *,        \
					    union bpf_attr *, uint64_t, uint32_t);
EMUL_ID_CMDS(map)
EMUL_ID_CMDS(prog)
EMUL_ID_CMDS(btf)
EMUL_ID_CMDS(link)
#undef EMUL_ID_CMDS
long emul_cmd_obj_pin(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
		      uint32_t);
long emul_cmd_obj_get(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *, uint64_t,
		      uint32_t);
long emul_cmd_link_create(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			  uint64_t, uint32_t);

/* OBJ_GET_INFO_BY_FD per type (emul-info.c dispatches): fill @info (the
 * caller's info_len bytes, zero-extended; *@len is the kernel's struct size
 * for this type, the caller writes back min(info_len, *len)), reading and
 * writing the caller's arrays (e.g. prog xlated insns, map_ids) as the
 * kernel's bpf_prog_get_info_by_fd() does. -errno on failure. */
int emul_map_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_map_info *info, uint32_t *len);
int emul_prog_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_prog_info *info, uint32_t *len);
int emul_btf_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_btf_info *info, uint32_t *len);
int emul_link_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		   struct bpf_link_info *info, uint32_t *len);

/* mmap(@addr, @len, @prot, @flags, @fd, @off) (emul-perf.c dispatches):
 * ours when @fd is an object. BPFTIME_EMUL_CONTINUE lets the kernel map the
 * object's file (after e.g. a perf buffer was created for @len), -errno
 * refuses as the kernel would (a map that is not mmapable, a writable
 * mapping of a ring buffer's producer pages). */
long emul_mmap(struct bpftime_emul *e, struct bpftime_caller *c, uint64_t addr, uint64_t len,
	       int prot, int flags, int fd, uint64_t off);

/* bpf_map_write_active() as seen from the caller's mappings (emul-mmap.c). */
bool emul_mapped_writable(struct bpftime_caller *c, const struct emul_obj *o);

/* Bytes a BTF type record of @kind with @vlen members takes after its
 * struct btf_type; -1 for a kind we do not know (emul-btf.c). */
int64_t emul_btf_type_extra(uint32_t kind, uint32_t vlen);

/* emul-btf-view.c: a BTF blob's types by id and its names, read-only. */
struct btf_type;
struct emul_btf_view {
	const uint8_t *types; /* the type section */
	uint32_t types_len;
	const char *strs; /* the string section, NUL-terminated */
	uint32_t strs_len;
	const struct btf_type **by_id; /* [0] is void (NULL) */
	uint32_t nr;
};
/* 0, -EINVAL (a blob this cannot walk) or -ENOMEM; close it either way. */
int emul_btf_view_open(struct emul_btf_view *v, const void *data, uint32_t size);
void emul_btf_view_close(struct emul_btf_view *v);

/* emul-btf.c: the whole of a BTF file (the host's vmlinux BTF), malloc'd,
 * at most EMUL_BTF_FILE_MAX bytes; NULL with errno set (EINVAL: empty or
 * too large, EIO: short read, or open's) */
#define EMUL_BTF_FILE_MAX (256u * 1024 * 1024)
void *emul_btf_read_file(const char *path, uint32_t *size);
/* Type @id; NULL for void or a bad id. */
const struct btf_type *emul_btf_view_type(const struct emul_btf_view *v, uint32_t id);
/* The name at @name_off; "" outside the section. */
const char *emul_btf_view_name(const struct emul_btf_view *v, uint32_t name_off);
/* Type @id through typedefs and qualifiers (btf_type_skip_modifiers());
 * NULL for void, a bad id or a loop. */
const struct btf_type *emul_btf_view_resolve(const struct emul_btf_view *v, uint32_t id);

/* Register the helpers programs run in the supervisor may call (emul-helpers.c). */
int emul_helpers_register(struct bpftime_emul *e, struct bpftime_vm *vm);

/* emul-perf.c: a perf event's ioctls; the others are not ours */
long emul_perf_ioctl(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     unsigned long req, uint64_t arg);

/* ==== programs, BTF, links, test runs (emul-prog*.c, emul-vlog.c,
 * emul-btf.c, emul-link.c, emul-test-run.c, emul-helpers.c) ==== */

/* The verifier log of BPF_PROG_LOAD and BPF_BTF_LOAD, as kernel/bpf/log.c:
 * the text is kept whole here and written to the caller once, at the end
 * (rotated to its tail, or its head with BPF_LOG_FIXED). */
struct emul_vlog {
	uint32_t level;
	uint64_t ubuf;
	uint32_t size;
	char *text; /* NUL-terminated, or NULL */
	size_t len, cap;
};
/* bpf_vlog_init(): -EINVAL for attributes the kernel refuses. */
int emul_vlog_init(struct emul_vlog *log, uint32_t level, uint64_t ubuf, uint32_t size);
__attribute__((format(printf, 2, 3))) void emul_vlog(struct emul_vlog *log, const char *fmt, ...);
/* bpf_vlog_finalize(): write the log; *@true_size is the size it needed
 * (NUL included). -ENOSPC when it was truncated, -EFAULT. */
int emul_vlog_finalize(struct emul_vlog *log, struct bpftime_caller *c, uint32_t *true_size);
void emul_vlog_free(struct emul_vlog *log);

/* The helpers programs run in the supervisor may call, with what the load
 * checks need of their prototypes (emul-helpers.c). */
enum emul_arg {
	EMUL_ARG_ANY = 1, /* any initialised register */
	EMUL_ARG_MEM,     /* fp, map_key, map_value, mem...: not ctx */
	EMUL_ARG_MAP,     /* map_ptr */
	EMUL_ARG_RINGBUF, /* ringbuf_mem */
	EMUL_ARG_CTX,
};
struct emul_helper {
	uint32_t id;
	const char *name; /* without bpf_, as the kernel's func_id_name() */
	bpftime_vm_helper_fn fn;
	bool gpl_only;
	uint8_t arg[5]; /* enum emul_arg, 0 past the last argument */
};
const struct emul_helper *emul_helper_find(uint32_t id);
/* The kernel's per-type answer for a helper of a program of @type and
 * expected attach type @eat: the type's get_func_proto() (!@late: before
 * the arguments are checked), then the checks check_helper_call() makes
 * after them (@late). 0, or -errno with the verifier's line in @msg. */
int emul_helper_check_type(const struct emul_helper *h, uint32_t type, uint32_t eat, bool late,
			   char *msg, size_t len);

/* emul-prog-check.c: what the verifier finds without types: reachability
 * with constant branches folded, arguments that are certainly ctx or
 * uninitialised, GPL-only helpers. */
struct emul_prog_scan {
	uint8_t *live;      /* per insn: reached with constants folded */
	uint8_t *cfg;       /* per insn: reached by the control flow graph */
	uint32_t processed; /* live instructions ("processed N insns") */
	uint32_t nr_subprogs;
};
int emul_prog_scan(const struct bpf_insn *insns, uint32_t cnt, bool gpl, uint32_t type,
		   uint32_t eat, struct emul_vlog *log, struct emul_prog_scan *scan);
void emul_prog_scan_free(struct emul_prog_scan *scan);

/* emul-prog.c: the program's vm for runs in the supervisor, built once. */
struct bpftime_vm *emul_prog_vm(struct bpftime_emul *e, struct emul_obj *prog, int *err);
/* What a run in the supervisor hands to helpers (run->cookie). */
struct emul_run_ctx {
	struct bpftime_emul *e;
	/* the task the program runs for; NULL: the idle task of @cpu (timer
	 * ticks, emul-timer.c), which has pid 0, comm "swapper/N", no user
	 * memory */
	struct bpftime_caller *c;
	struct emul_obj *prog; /* the program run (its maps: ring buffers) */
	uint32_t cpu;          /* the CPU slot of per-CPU maps */
};

/* emul-btf.c: the vmlinux BTF as BTF id 1, created on first use; NULL
 * when it cannot be read. */
struct emul_obj *emul_btf_vmlinux(struct bpftime_emul *e);

/* emul-sha256.c: program tags (bpf_prog_calc_tag(), SHA-256 since 6.18). */
void emul_sha256(const void *data, size_t len, uint8_t out[32]);

/* ==== end of programs, BTF, links, test runs ==== */

/* ==== maps, object info and ids, pins (emul-map*.c, emul-info.c,
 * emul-pin.c) ==== */

/* The access a caller's fd grants, as the kernel's f_mode: a map fd opened
 * with BPF_F_RDONLY / BPF_F_WRONLY is a description of the object's file
 * opened O_RDONLY / O_WRONLY, so dup, fork and SCM_RIGHTS carry it. */
#define EMUL_FMODE_READ  1u
#define EMUL_FMODE_WRITE 2u

/* emul-map.c: the map the caller's @fd refers to, with the access the fd
 * grants in *@fmode; NULL and *@err as the kernel's __bpf_map_get()
 * (-EBADF: no such fd; -EINVAL: not a map). */
struct emul_obj *emul_map_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, int fd,
				  int *err, unsigned *fmode);
/* emul-map.c: a new caller fd for map @o, O_CLOEXEC, with the access of
 * @bpf_flags (BPF_F_RDONLY, BPF_F_WRONLY or neither; checked by the
 * caller). The syscall's result: the fd or -errno, nothing held on error. */
int emul_map_install(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     uint32_t bpf_flags);
/* emul-map.c: map_get_sys_perms() of the fd flags: -EPERM, else 0. */
int emul_map_perm(unsigned fmode, bool read, bool write);

/* emul-map-btf.c: map_check_btf() over BTF object @btf for @attr's key
 * and value type ids. 0 with @out filled, or the error map_create()
 * answers before it judges the value's special fields. */
struct emul_map_btf {
	uint32_t spin_lock_off; /* bpftime_map_attr.spin_lock_off: offset + 1, 0 none */
	int late_err;           /* the type's map_check_btf op, judged after the lock */
};
int emul_map_check_btf(struct emul_obj *btf, const union bpf_attr *attr, struct emul_map_btf *out);

/* emul-map.c: fd-valued maps (PROG_ARRAY, PERF_EVENT_ARRAY, CGROUP_ARRAY,
 * maps of maps): the caller's fd in *@value becomes the id the maps module
 * stores; *@ref the object to hold a reference on once stored (or NULL). */
int emul_map_value_from_fd(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			   uint32_t *value, struct emul_obj **ref);
bool emul_map_fd_valued(const struct emul_obj *o);
/* emul-map.c: the object an fd-valued map names at @key, or NULL. */
struct emul_obj *emul_map_slot_get(struct bpftime_emul *e, struct emul_obj *o, const void *key);
/* emul-map.c: keep the references of an fd-valued map right after a
 * successful store of @ref at @key (NULL: a delete) that replaced @old
 * (emul_map_slot_get before the store), as the kernel's map holds the
 * programs, perf events and inner maps it names. */
void emul_map_slot_set(struct bpftime_emul *e, struct emul_obj *o, const void *key,
		       struct emul_obj *ref, struct emul_obj *old);
/* emul-map-elem.c: one update of an fd-valued map from the caller's fd in
 * *@value (update_elem, or a one-element update batch with @batch). */
int emul_map_update_fd_value(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
			     const void *key, void *value, uint64_t flags, bool batch);

/* emul-pin.c: drop the session's pins (bpftime_emul__free). */
void emul_pins_free(struct bpftime_emul *e);

/* ==== end of maps, object info and ids, pins ==== */

/* ==== perf events, epoll, tracefs files (emul-perf.c, emul-epoll.c,
 * emul-files.c) ==== */

/* The perf buffer id that stands for perf event @o in a PERF_EVENT_ARRAY
 * (emul-map.c translates the fds of updates with it). A BPF_OUTPUT event
 * not yet mmap'd gets a buffer without data pages (outputs fail with
 * -ENOSPC, as the kernel's event without a ring buffer), which its mmap
 * later replaces in every array. @return the id, or -EINVAL when @o is not
 * a BPF_OUTPUT event (the kernel accepts any perf event there; its outputs
 * then fail), -errno when no buffer can be made. Under e->lock. */
int emul_perf_buffer_id(struct bpftime_emul *e, struct emul_obj *o);

/* emul-perf.c: perf_copy_attr() into @out (136 bytes: 6.18's struct
 * perf_event_attr), *@size the caller's size (0 read as VER0). -EFAULT,
 * -E2BIG (and the kernel's size written back into the caller's attr). */
int emul_perf_copy_attr(struct bpftime_caller *c, uint64_t uattr, void *out, uint32_t *size);
/* emul-perf.c: the mmap of perf event @o with @pages data pages: creates
 * its perf buffer on the event's file (replacing a placeholder), 0 when
 * one of that size exists; -EINVAL for another size (perf_mmap()), or the
 * maps module's error. */
int emul_perf_map_buffer(struct bpftime_emul *e, struct emul_obj *o, uint32_t pages);
/* emul-perf.c: data pages of @o's perf buffer, 0 without one. */
uint32_t emul_perf_buffer_pages(struct bpftime_emul *e, const struct emul_obj *o);
/* emul-perf.c: PERF_EVENT_IOC_ENABLE / _DISABLE, also of its perf buffer. */
int emul_perf_set_enabled(struct bpftime_emul *e, struct emul_obj *o, bool enabled);
/* emul-perf.c: perf_event_set_bpf_prog(): attach @prog (a reference is
 * taken) to perf event @o, for PERF_EVENT_IOC_SET_BPF and for
 * BPF_LINK_CREATE(BPF_PERF_EVENT) (emul-link.c should call it too, so that
 * a second attach is -EEXIST either way). -EINVAL when the program type
 * does not fit the event, -EEXIST when one is attached. Detach drops it. */
int emul_perf_attach_prog(struct bpftime_emul *e, struct emul_obj *o, struct emul_obj *prog);
void emul_perf_detach_prog(struct bpftime_emul *e, struct emul_obj *o);

/* The syscall tracepoint with id @id (as served in tracefs .../id):
 * *@category "syscalls" or "raw_syscalls", *@event e.g. "sys_enter_openat"
 * (valid until the next call). 0, or -ENOENT. Under e->lock. */
int emul_tp_by_id(struct bpftime_emul *e, uint64_t id, const char **category, const char **event);
/* The type we serve in /sys/bus/event_source/devices/uprobe/type. */
int emul_uprobe_pmu_type(struct bpftime_emul *e);
/* The type we serve in /sys/bus/event_source/devices/kprobe/type. */
int emul_kprobe_pmu_type(struct bpftime_emul *e);
/* emul-catalog.c: the x86-64 number of the syscall whose tracepoints are
 * sys_enter_@name / sys_exit_@name (and whose wrapper is __x64_sys_@name),
 * -1 when we serve none. */
int32_t emul_syscall_nr(const char *name);

/* epoll registrations: a perf event got its perf buffer (emul-perf.c's
 * mmap), so waiters of registrations made before can start. */
void emul_epoll_buffer_changed(struct bpftime_emul *e, struct emul_obj *o);

/* A program the supervisor ran for a caller (PROG_TEST_RUN) wrote its
 * buffers: report them to the epoll instances now, before the caller's
 * syscall returns, as the kernel's wake-up has happened by then (bpftrace
 * drains its perf buffers right after running END), instead of when the
 * waiter threads get to it. */
void emul_epoll_flush(struct bpftime_emul *e);

/* bpftime_emul__free must call these, in this order, before it releases
 * the objects: the first stops and joins the epoll waiter threads (which
 * use the buffers) and drops their references; the second frees the
 * tracefs state. Without e->lock held. */
void emul_epoll_free(struct bpftime_emul *e);
void emul_files_free(struct bpftime_emul *e);

/* emul-timer.c: CPU clock events run their program on the session's
 * timer thread, as the kernel's cpu-clock hrtimer. Each call below is made
 * under e->lock by the perf code when what drives the timer changes.
 * emul_timer_init: at open, before the first start (attr.freq → period). */
void emul_timer_init(struct emul_obj *o);
/* The event starts or stops counting (open, ENABLE, DISABLE, REFRESH). */
void emul_timer_set_enabled(struct bpftime_emul *e, struct emul_obj *o, bool enabled);
/* PERF_EVENT_IOC_PERIOD changed o->perf.sample_period. */
void emul_timer_period_changed(struct bpftime_emul *e, struct emul_obj *o);
/* A program was attached (SET_BPF, a perf link). */
void emul_timer_prog_attached(struct bpftime_emul *e, struct emul_obj *o);
/* bpftime_emul__free, first: stops and joins the thread (no program runs
 * after it returns). Without e->lock held. */
void emul_timer_free(struct bpftime_emul *e);

/* ==== end of perf events, epoll, tracefs files ==== */

/* ==== the session catalog (emul-catalog.c, bpftime/catalog.h): what
 * agents read. Each call is made under e->lock, or with no other thread
 * left (new, free); each is a no-op without a catalog. ==== */

/* Create "<session>/catalog" (bpftime_emul__new); *_caps with capacities
 * of our choosing (tests). -errno with a message in the log. */
int emul_catalog_init(struct bpftime_emul *e);
int emul_catalog_init_caps(struct bpftime_emul *e, uint32_t progs, uint32_t links, uint64_t heap);
/* Unmap and remove the file, after every object was released. */
void emul_catalog_free(struct bpftime_emul *e);
/* An accepted program, before the caller gets its fd: -ENOSPC (full,
 * logged), -ENOMEM. Unpublish: its object is being released. */
int emul_catalog_prog_publish(struct bpftime_emul *e, struct emul_obj *o);

/* emul-cgroup.c: bpf_get_current_cgroup_id() of process @pid (0: the idle
 * task, the root cgroup) */
uint64_t emul_cgroup_id(pid_t pid);

/* emul-jit.c: whether programs are compiled (built with LLVM, not
 * opts.interp_only) */
bool emul_jit_enabled(const struct bpftime_emul *e);
/* emul-jit.c: compile @o for the agents (o->prog.image); failures logged */
void emul_jit_compile(struct bpftime_emul *e, struct emul_obj *o);
/* emul-jit.c: native code for @vm, a supervisor run vm of @o, when enabled */
void emul_jit_native(struct bpftime_emul *e, struct emul_obj *o, struct bpftime_vm *vm);
void emul_catalog_prog_unpublish(struct bpftime_emul *e, struct emul_obj *o);
/* Perf event @ev is about to run @prog (uprobes and tracepoints are
 * published; software events run in the supervisor): -ENOSPC, -ENOMEM,
 * and the attach does not happen. Update: its enabled state changed.
 * Detach: it stops running its program (also on its release). */
int emul_catalog_attach(struct bpftime_emul *e, struct emul_obj *ev, struct emul_obj *prog);
void emul_catalog_attach_update(struct bpftime_emul *e, struct emul_obj *ev);
void emul_catalog_detach(struct bpftime_emul *e, struct emul_obj *ev);

/* ---- uprobe sites' patch plans (emul-plan.c) ---- */

#define EMUL_PLAN_MSG_MAX 192 /* a refusal's reason, NUL included */

struct bpftime_rw_plan;

/* The patch of the instruction at file offset @offset of @path, which must
 * still be the file (dev, ino) perf_event_open found: planned once per
 * site and file version, then cached. @return 0 and *@plan; else -errno
 * (-EOPNOTSUPP refused, -ENOEXEC, -ENOENT, -ESTALE, -EACCES, -ENOMEM...)
 * with the reason in @msg (@msg_sz bytes, NUL-terminated). May take
 * ~100 ms on a miss (the site's section is decoded). */
int emul_plan_site(struct bpftime_emul *e, const char *path, uint64_t dev, uint64_t ino,
		   uint64_t offset, struct bpftime_rw_plan *plan, char *msg, size_t msg_sz);
/* Calls of the planner so far (the cache's misses), for tests. */
uint64_t emul_plan_count(struct bpftime_emul *e);
/* bpftime_emul__free. */
void emul_plan_free(struct bpftime_emul *e);

/* ==== end of the session catalog ==== */

#endif /* BPFTIME_EMUL_INTERNAL_H */
