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
	uint32_t nr_maps;
	struct emul_obj **maps; /* used maps, referenced */
	struct emul_obj *btf;   /* referenced, or NULL */
	uint64_t load_time;     /* CLOCK_BOOTTIME ns, as bpf_prog_info.load_time */
	uid_t uid;
	/* programs run in the supervisor (PROG_TEST_RUN): built lazily */
	struct bpftime_vm *vm;
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
};

struct emul_perf {
	enum emul_perf_kind kind;
	int pid, cpu;
	bool enabled;
	bool retprobe;
	char *path;             /* uprobe: the probed file */
	uint64_t offset;        /* uprobe: file offset */
	uint64_t tp_id;         /* tracepoint id */
	uint64_t sample_period; /* CPU clock */
	uint32_t perfbuf_id;    /* BPF_OUTPUT: the maps module's perf buffer id, 0 until mmap'd */
	struct emul_obj *prog;  /* PERF_EVENT_IOC_SET_BPF, referenced */
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
	void *pins;  /* emul-pin.c */
	void *epoll; /* emul-epoll.c */
	void *files; /* emul-files.c */
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
long emul_cmd_get_next_id(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			  uint64_t, uint32_t);
long emul_cmd_get_fd_by_id(struct bpftime_emul *, struct bpftime_caller *, union bpf_attr *,
			   uint64_t, uint32_t);
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

/* Register the helpers programs run in the supervisor may call (emul-helpers.c). */
int emul_helpers_register(struct bpftime_emul *e, struct bpftime_vm *vm);

/* emul-perf.c: a perf event's ioctls; the others are not ours */
long emul_perf_ioctl(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		     unsigned long req, uint64_t arg);

#endif /* BPFTIME_EMUL_INTERNAL_H */
