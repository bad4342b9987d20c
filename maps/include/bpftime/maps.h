/* SPDX-License-Identifier: MIT */
/*
 * bpftime maps: every eBPF map type, in memory shared by the processes of a
 * session, with the kernel's semantics.
 *
 *   region    one file per session (default /dev/shm/bpftime-<session>/maps),
 *             mapped by every process at its own address; everything inside
 *             is addressed by offsets. It grows in place: each process
 *             reserves the address space once and maps more of the file as
 *             it grows, so nothing already mapped ever moves.
 *   map       a descriptor and its data in the region (maps a tool mmaps, such
 *             as ring buffers and BPF_F_MMAPABLE arrays, keep their data in a
 *             file of their own next to the region, with the kernel's layout).
 *   handle    struct bpftime_map: this process's view of one map.
 *
 * Two sides, as in the kernel:
 *   - the syscall side (bpftime_map__lookup_elem & co.) has bpf(2)'s
 *     semantics: values are copied, per-CPU values come as one
 *     round_up(value_size, 8) slot per CPU, errors are the kernel's errno;
 *   - the program side (bpftime_map__prog_*) has the helpers' semantics:
 *     lookups return pointers into the map, per-CPU maps act on one CPU slot.
 *
 * Operation paths (both sides, batch operations included) make no libc
 * call, do not allocate from the process heap and use no thread-local
 * storage: they run inside targets whose libc we cannot rely on. Creating,
 * opening and destroying use libc; the agent joins a region without it
 * (bpftime_map_region__join_raw).
 *
 * Per-CPU maps and "CPUs": a thread that runs a program first takes a CPU
 * slot (bpftime_map_region__cpu_get), which no other thread in any process
 * holds until it is put back. Per-CPU values are indexed by slot, so two
 * threads that share a CPU, or a thread that migrates, never interleave
 * their updates of one per-CPU value.
 */
#ifndef BPFTIME_MAPS_H
#define BPFTIME_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPFTIME_MAP_MAX_MAPS 4096 /* map ids are 1 .. BPFTIME_MAP_MAX_MAPS - 1 */
#define BPFTIME_MAP_MAX_CPUS 1024

struct bpftime_map_region;
struct bpftime_map;

struct bpftime_map_region_opts {
	size_t sz; /* sizeof(struct bpftime_map_region_opts) */
	/* the region file; NULL: /dev/shm/bpftime-<session>/maps */
	const char *path;
	/* used when @path is NULL; NULL: "default" */
	const char *session;
	/* create a new region (replacing a file at @path) instead of joining one */
	bool create;
	/* create: the CPU slots of per-CPU maps; 0: the possible CPUs, as
	 * libbpf_num_possible_cpus() counts them */
	uint32_t nr_cpus;
	/* address space each process reserves; the region never grows past it.
	 * 0: 16 GiB (only what is used costs memory) */
	uint64_t max_size;
	size_t : 0;
};
#define bpftime_map_region_opts__last_field max_size

/**
 * @brief Create or join a region. Uses libc; not for the operation paths.
 * @return the region, or NULL with errno set (ENOENT: no region to join,
 * EINVAL: not a region of this version, ENOMEM, or the errno of the file
 * operation); a message goes to the log.
 */
struct bpftime_map_region *bpftime_map_region__open(const struct bpftime_map_region_opts *opts);

/** @brief Unmap the region; maps stay in the file for the other processes. NULL is accepted. */
void bpftime_map_region__close(struct bpftime_map_region *r);

/** @brief Remove the region's file and its maps' files (the creator, at the end). */
int bpftime_map_region__unlink(struct bpftime_map_region *r);

uint32_t bpftime_map_region__nr_cpus(const struct bpftime_map_region *r);
const char *bpftime_map_region__path(const struct bpftime_map_region *r);

/*
 * Joining without libc, for the agent (a freestanding library inside
 * targets: no libc, no TLS, no heap). Run path: raw syscalls only, no
 * logging (the caller logs), -errno returns.
 */

/**
 * @brief Join the region at @path as bpftime_map_region__open (not create)
 * does, with the same header checks, made on a copy read before anything
 * is mapped. The region handle and its handle table are anonymous mmaps.
 * The region works with every function that takes a region (operations,
 * handles, bpftime_map_region__nr_cpus, __path, CPU slots); release it with
 * bpftime_map_region__leave_raw only, never bpftime_map_region__close
 * (which frees with libc).
 * @return 0 with *@out set (NULL on error); -ENOENT (no file), -EINVAL (not
 * a region of this version, a corrupt header, @path NULL), -ENAMETOOLONG,
 * -ENOMEM (no address space for max_size), or the errno of open or mmap.
 */
int bpftime_map_region__join_raw(const char *path, struct bpftime_map_region **out);

/**
 * @brief Unmap what bpftime_map_region__join_raw mapped (the maps' own
 * files too) and close its file: every handle of @r becomes invalid. Only
 * for regions from join_raw. NULL is accepted. Run path.
 */
void bpftime_map_region__leave_raw(struct bpftime_map_region *r);

/** @brief In a fork child, first thing: handles another thread of the
 * parent was setting up at the fork are reset (nobody would finish them).
 * Run path. NULL is accepted. */
void bpftime_map_region__forked(struct bpftime_map_region *r);

/**
 * @brief Whether [@addr, @addr + @size) lies inside memory this process
 * mapped for @r: the region's mapping (checked first, cheap) or the data
 * file of a handle that is set up (ring buffers, BPF_F_MMAPABLE arrays,
 * perf buffers; scanned up to the highest id set up). For bounds-checked
 * accesses of programs. Lock-free, run path; any region.
 */
bool bpftime_map_region__contains(const struct bpftime_map_region *r, uint64_t addr, uint64_t size);

/**
 * @brief Whether [@addr, @addr + @size) lies inside one map's own memory:
 * its data in the region (values, and for hash maps their buckets and
 * keys) or its data file. Narrower than bpftime_map_region__contains: the
 * allocator's block headers, descriptors and other maps are outside, so a
 * bounds-checked program that strays from a value cannot corrupt the
 * region, only the map it points into. Lock-free, run path.
 */
bool bpftime_map__data_contains(const struct bpftime_map *m, uint64_t addr, uint64_t size);
/** @brief The same for any map set up in this process (map-in-map values). */
bool bpftime_map_region__data_contains(const struct bpftime_map_region *r, uint64_t addr,
				       uint64_t size);

/**
 * @brief Take a CPU slot for the calling thread, whose TID is @tid (the
 * caller caches it: a gettid() per run would cost more than the run): @hint
 * (the CPU it runs on) if free, else another one. Run path. Returns the
 * slot; it spins (yielding) while every slot is held, and takes over slots
 * whose holders died.
 */
uint32_t bpftime_map_region__cpu_get(struct bpftime_map_region *r, uint32_t hint, uint32_t tid);
void bpftime_map_region__cpu_put(struct bpftime_map_region *r, uint32_t slot);

/* The MAP_CREATE fields of union bpf_attr that maps use. */
struct bpftime_map_attr {
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t inner_map_id; /* map-in-map: id of the template map in this region */
	uint32_t numa_node;
	uint32_t btf_fd; /* stored, not interpreted */
	uint32_t btf_key_type_id;
	uint32_t btf_value_type_id;
	uint32_t btf_vmlinux_value_type_id;
	uint32_t pad;       /* internal (perf buffers); 0 */
	uint64_t map_extra; /* bloom filter: number of hash functions */
	char map_name[16];
	/*
	 * A struct bpf_spin_lock in the value: its offset + 1; 0: none. Maps
	 * never see BTF: bpf-emul parses the value type (btf_value_type_id) as
	 * map_check_btf() does and passes the offset of the lock it finds
	 * (btf_record's spin_lock_off), having answered itself for what only
	 * BTF tells (a value type of another size, two locks: btf_parse_fields).
	 * Creation then decides as map_check_btf() does for the lock (after the
	 * type's checks and the name), from btf_key_type_id too (0: a void
	 * key): -EINVAL when the lock word is not inside the value or not
	 * 4-byte aligned (see bpftime_map__create), or the key is void in a
	 * type that needs a key type (the hash types, queue, stack, prog
	 * array: a queue or stack with a lock must name an empty struct as
	 * key type to get past it, as in the kernel); -EACCES with
	 * BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG; -EOPNOTSUPP for types other
	 * than HASH and ARRAY; -EINVAL for an ARRAY with a void key and
	 * max_entries other than 1 (global data; that its value is a DATASEC
	 * is bpf-emul's to check). With a lock, as the kernel:
	 *   - syscall-side lookups (batches, lookup_and_delete) return the
	 *     value with the lock word zeroed; with BPF_F_LOCK the copy is made
	 *     holding the value's lock;
	 *   - updates never write the lock word; BPF_F_LOCK updates copy
	 *     holding the lock (hash: in place when the key exists, else a
	 *     normal insert), and BPF_F_LOCK is accepted in elem_flags;
	 *   - BPF_MAP_FREEZE is -ENOTSUPP (map_freeze()), and so is a tool's
	 *     mmap of a BPF_F_MMAPABLE array (bpf_map_mmap(): bpf-emul answers);
	 *   - map-in-map templates and inner maps must agree on it
	 *     (bpf_map_meta_equal() compares the btf_records).
	 * The lock word is the maps' robust lock (bpftime_map__spin_lock).
	 */
	uint32_t spin_lock_off;
	uint32_t reserved; /* 0 (-EINVAL otherwise) */
};

/**
 * @brief Create a map, with the kernel's create-time checks for its type.
 * Uses libc (control plane). The message for a refusal goes to the log.
 * @return 0 with *@id set; -EINVAL (bad sizes or flags, unknown type: the
 * kernel's answer to an unknown map_type), -E2BIG, -ENOSPC (no free map id),
 * -ENOMEM (region full), -EOPNOTSUPP (a type the kernel has that we lack, or
 * a spin lock in a type that cannot have one), -EACCES (a spin lock with
 * BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG); see attr.spin_lock_off.
 */
int bpftime_map__create(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			uint32_t *id);

/** @brief Destroy map @id: no program or handle may use it any more. */
int bpftime_map__destroy(struct bpftime_map_region *r, uint32_t id);

/**
 * @brief This process's handle of map @id, or NULL with errno ENOENT. The
 * handle lives as long as the region handle. Thread-safe; no allocation.
 */
struct bpftime_map *bpftime_map__get(struct bpftime_map_region *r, uint32_t id);

/**
 * @brief bpftime_map__get for the agent: the handle of map @id in *@out.
 * Run path (raw syscalls on first use, no libc, no logging), thread-safe.
 * @return 0; -ENOENT (no map @id), -EINVAL (corrupt descriptor), or the
 * errno of opening or mapping the map's data file.
 */
int bpftime_map__handle(struct bpftime_map_region *r, uint32_t id, struct bpftime_map **out);

uint32_t bpftime_map__id(const struct bpftime_map *m);
const struct bpftime_map_attr *bpftime_map__attr(const struct bpftime_map *m);

/**
 * @brief Path of the map's own data file (ring buffers, perf buffers,
 * BPF_F_MMAPABLE arrays: what a tool mmaps, in the kernel's layout), or
 * NULL for maps that live in the region only.
 */
const char *bpftime_map__file(const struct bpftime_map *m);

/** @brief Bytes of value a syscall-side lookup copies (per-CPU: all slots). */
uint32_t bpftime_map__value_size(const struct bpftime_map *m);

/* ---- syscall side: bpf(2) semantics, -errno returns ---- */

int bpftime_map__lookup_elem(struct bpftime_map *m, const void *key, void *value, uint64_t flags);
int bpftime_map__update_elem(struct bpftime_map *m, const void *key, const void *value,
			     uint64_t flags);
int bpftime_map__delete_elem(struct bpftime_map *m, const void *key);
/* @key NULL (or, for hash maps, a missing key): the first key */
int bpftime_map__get_next_key(struct bpftime_map *m, const void *key, void *next_key);
int bpftime_map__lookup_and_delete_elem(struct bpftime_map *m, const void *key, void *value,
					uint64_t flags);
/**
 * @brief BPF_MAP_FREEZE: the map becomes read-only for the syscall side;
 * programs still write. @return 0; -ENOTSUPP (524) for a map with a
 * spin lock (map_freeze() refuses maps with a btf_record), -EPERM when
 * already frozen (a frozen map's fd has lost write permission:
 * map_get_sys_perms), -EBUSY while a writable mmap of it exists.
 */
int bpftime_map__freeze(struct bpftime_map *m);
bool bpftime_map__frozen(const struct bpftime_map *m);

/*
 * Batches, as BPF_MAP_*_BATCH: @in_batch NULL starts; @out_batch receives
 * the token to continue from (bpftime_map__batch_token_size bytes); *@count
 * is the room in @keys/@values on entry and the number of elements on exit.
 * The last batch returns -ENOENT together with its elements.
 */
uint32_t bpftime_map__batch_token_size(const struct bpftime_map *m);
int bpftime_map__lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
			      void *keys, void *values, uint32_t *count, uint64_t elem_flags,
			      bool and_delete);
int bpftime_map__update_batch(struct bpftime_map *m, const void *keys, const void *values,
			      uint32_t *count, uint64_t elem_flags);
int bpftime_map__delete_batch(struct bpftime_map *m, const void *keys, uint32_t *count,
			      uint64_t elem_flags);

/* ---- program side: helper semantics, run path ---- */

/*
 * bpf_spin_lock() / bpf_spin_unlock() on the struct bpf_spin_lock at @lock,
 * a 4-byte aligned word inside a value of a map created with
 * attr.spin_lock_off (the verifier's job: the helpers take no map). The
 * word holds the TID of the holder, 0 when free; syscall-side BPF_F_LOCK
 * operations take the same word. @tid is the caller's TID (cached, as for
 * bpftime_map_region__cpu_get), or 0 to have it looked up (a syscall).
 * A waiter spins, then yields, and takes the lock over from a holder that
 * no longer exists (a process killed inside its critical section): the
 * value is then as the dead holder left it, maybe half-updated (the
 * kernel has no such case). Not recursive, as the kernel's: a thread that
 * takes a lock it holds takes it over from itself. Run path; no libc.
 * Limits (map-sync.h): every process of a session in one PID namespace;
 * the holder's TID must be its own (a cache that survived fork() names the
 * parent).
 */
void bpftime_map__spin_lock(void *lock, uint32_t tid);
void bpftime_map__spin_unlock(void *lock);

/* bpf_map_lookup_elem: a pointer to the value (of @cpu for per-CPU maps) or NULL */
void *bpftime_map__prog_lookup(struct bpftime_map *m, const void *key, uint32_t cpu);
long bpftime_map__prog_update(struct bpftime_map *m, const void *key, const void *value,
			      uint64_t flags, uint32_t cpu);
long bpftime_map__prog_delete(struct bpftime_map *m, const void *key, uint32_t cpu);
/* bpf_map_push_elem / pop / peek (queue, stack, bloom filter) */
long bpftime_map__prog_push(struct bpftime_map *m, const void *value, uint64_t flags);
long bpftime_map__prog_pop(struct bpftime_map *m, void *value);
long bpftime_map__prog_peek(struct bpftime_map *m, void *value);

/* ==== ring buffers and perf buffers (map-ringbuf.c, map-perf.c) ==== */

/*
 * BPF_MAP_TYPE_RINGBUF. The map's data file has the layout a tool sees
 * through mmap of a kernel ring buffer fd: consumer page (consumer_pos) at
 * 0, producer page (producer_pos, then pending_pos) at PAGE_SIZE, data at
 * 2 * PAGE_SIZE, followed by a second copy of the data area for records
 * that wrap (the kernel maps the data pages twice). libbpf's ring_buffer
 * reads it unchanged. Producer state, the lock and the wake-up word live in
 * the region, which tools never map.
 *
 * Program side (run path: no libc, no allocation; raw syscalls only to wake
 * a consumer that waits, and kill(tid, 0) when a full ring may be held up
 * by a dead producer). @tid is the caller's TID (cached, as
 * for bpftime_map_region__cpu_get), or 0 to have it looked up (a syscall):
 * it names the owner of a reserved record, so that a record whose producer
 * died before submitting is discarded instead of blocking the consumer
 * forever (the kernel has no such case; see map-ringbuf.c). It must be the
 * caller's own TID: a cache that survived fork() names the parent, whose
 * death would get the child's live record discarded. A thread must not
 * reserve or output from inside a signal handler that interrupted an
 * operation on the same ring or perf buffer (the kernel runs no program
 * nested on one CPU; the producer lock is not recursive).
 */

/**
 * @brief bpf_ringbuf_reserve(): room for @size bytes, contiguous even when
 * the record wraps. Thread-safe across threads and processes.
 * @return the sample, to pass to submit or discard; NULL when @flags is
 * not 0, @size is too big for the ring, or the ring is full.
 */
void *bpftime_map__ringbuf_reserve(struct bpftime_map *m, uint64_t size, uint64_t flags,
				   uint32_t tid);

/**
 * @brief bpf_ringbuf_reserve_dynptr(): as reserve, with the helper's errors.
 * @return 0 with *@sample set; -EINVAL (flags, or no room: what 6.18
 * answers), -E2BIG (@size above the dynptr limit, 16 MiB - 1); *@sample is
 * NULL on error. The caller builds the dynptr.
 */
long bpftime_map__ringbuf_reserve_dynptr(struct bpftime_map *m, uint64_t size, uint64_t flags,
					 uint32_t tid, void **sample);

/**
 * @brief bpf_ringbuf_submit() / bpf_ringbuf_discard() of a reserved
 * @sample of ring @m (the kernel finds the ring from the record; the caller
 * knows which ring it reserved from, see bpftime_map__ringbuf_owns).
 * @flags: BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP, else a consumer that has
 * caught up with this record is woken; other bits are ignored, as there.
 * @return 0, or -EINVAL when @sample is not a record of @m.
 */
long bpftime_map__ringbuf_submit(struct bpftime_map *m, void *sample, uint64_t flags);
long bpftime_map__ringbuf_discard(struct bpftime_map *m, void *sample, uint64_t flags);

/**
 * @brief bpf_ringbuf_output(): copy @size bytes of @data as one record.
 * @return 0; -EINVAL (flags other than the two wake-up flags), -EAGAIN
 * (no room, or @size too big for the ring).
 */
long bpftime_map__ringbuf_output(struct bpftime_map *m, const void *data, uint64_t size,
				 uint64_t flags, uint32_t tid);

/**
 * @brief bpf_ringbuf_query(): BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE,
 * BPF_RB_CONS_POS, BPF_RB_PROD_POS; 0 for anything else. Lock-free.
 */
uint64_t bpftime_map__ringbuf_query(const struct bpftime_map *m, uint64_t flags);

/** @brief Whether @sample is the start of a record's sample in ring @m. */
bool bpftime_map__ringbuf_owns(const struct bpftime_map *m, const void *sample);

/*
 * Consumer side: the process that stands for the tool's epoll on the ring
 * (the supervisor) waits here; the tool itself reads the file. No libc.
 */

/**
 * @brief Whether a consumer would make progress now: a record that is
 * submitted or discarded waits at consumer_pos. A busy record there whose
 * producer is gone is discarded first (and logged at INFO). Non-blocking.
 * @return 1 or 0; -EINVAL when @m is not a ring buffer.
 */
int bpftime_map__ringbuf_ready(struct bpftime_map *m);

/**
 * @brief Block until bpftime_map__ringbuf_ready() would answer 1, or for
 * @timeout_ms (< 0: no limit). Woken by producers through a futex, per the
 * wake-up flags, with no polling; every 50 ms it looks again for a dead
 * producer blocking the ring. Thread-safe; any number of waiters.
 * @return 1 when ready, 0 on timeout, -EINVAL when @m is not a ring buffer.
 * (The kernel's EPOLLIN condition is query(BPF_RB_AVAIL_DATA) != 0, which a
 * busy record at consumer_pos also satisfies.)
 */
int bpftime_map__ringbuf_wait(struct bpftime_map *m, int timeout_ms);

/**
 * @brief The count of wake-ups producers made so far: submits or discards
 * the kernel would wake the consumer for (BPF_RB_FORCE_WAKEUP, or, unless
 * BPF_RB_NO_WAKEUP, a consumer caught up to the record: consumer_pos at
 * its header), and dead producers' records discarded. Wraps. 0 if @m is not
 * a ring buffer. Lock-free, no libc.
 */
uint32_t bpftime_map__ringbuf_wakeups(const struct bpftime_map *m);

/**
 * @brief Edge-triggered wait, as the kernel's wait queue of a ring buffer:
 * block until bpftime_map__ringbuf_wakeups() differs from *@seen, or for
 * @timeout_ms (< 0: no limit), then store it in *@seen. Start with *@seen
 * from bpftime_map__ringbuf_wakeups(); a wake-up that happens between two
 * calls is not missed. Futex-based, no polling, no libc.
 *
 * Like the kernel, producers do not wake a consumer that has not caught up
 * (it is expected to read on), so a consumer that stores consumer_pos and
 * then reads producer_pos may, as on the kernel, miss the submit of the
 * record at that position in between (its store was not yet visible to the
 * producer): the kernel's poll then reports the data it finds (EPOLLIN
 * while data is available); callers standing for a poll should look at
 * the ring when this times out.
 * @return 1 after a wake-up, 0 on timeout, -EINVAL if @m is not a ring buffer.
 */
int bpftime_map__ringbuf_wait_wakeup(struct bpftime_map *m, uint32_t *seen, int timeout_ms);

/*
 * Perf buffers: what perf_event_open(PERF_TYPE_SOFTWARE,
 * PERF_COUNT_SW_BPF_OUTPUT, sample_type PERF_SAMPLE_RAW) and its mmap give
 * a tool. Each is an internal object of the map table (a map of type
 * BPFTIME_MAP_TYPE_PERF_BUFFER, which bpftime_map__create refuses: bpf-emul
 * hides it from map listings) whose data file is what the tool mmaps: page 0
 * a struct perf_event_mmap_page (data_head, data_tail, data_offset =
 * PAGE_SIZE, data_size), then page_cnt data pages. Its id stands for the
 * perf event fd: bpf-emul stores ids in PERF_EVENT_ARRAY maps, answers
 * PERF_EVENT_IOC_ID with it, and creates the buffer when the tool's mmap
 * tells the page count. Records: PERF_RECORD_SAMPLE with the raw data, and
 * PERF_RECORD_LOST (id = the buffer's id) once samples were dropped.
 *
 * Destroy a perf buffer with bpftime_map__destroy, and only once no
 * PERF_EVENT_ARRAY slot names it (the kernel's array holds a reference on
 * the perf event): a stale id makes outputs fail with -ENOENT, or reach a
 * new buffer that got the id.
 */
#define BPFTIME_MAP_TYPE_PERF_BUFFER 0x80000001u
#define BPFTIME_PERFBUF_ANY_CPU      UINT32_MAX

struct bpftime_map_perfbuf_opts {
	size_t sz; /* sizeof(struct bpftime_map_perfbuf_opts) */
	/* data pages: 0 (output fails with -ENOSPC) or a power of 2 */
	uint32_t page_cnt;
	/* perf_event_open()'s cpu: outputs from other CPU slots fail with
	 * -EOPNOTSUPP; BPFTIME_PERFBUF_ANY_CPU accepts every slot */
	uint32_t cpu;
	/* attr.wakeup_events, or attr.wakeup_watermark (bytes) with @watermark */
	uint32_t wakeup;
	bool watermark;
	/* attr.disabled: outputs fail with -EOPNOTSUPP until enabled */
	bool disabled;
	/* NULL, or the name of an existing, empty regular file in the
	 * region's directory to use as the data file instead of a new one
	 * (bpf-emul: the file the tool's perf event fd already refers to,
	 * which its mmap then maps); the buffer owns it from then on and
	 * removes it when destroyed. Callers whose sz ends before this field
	 * are accepted. */
	const char *file;
	size_t : 0;
};
#define bpftime_map_perfbuf_opts__last_field file

/**
 * @brief Create a perf buffer. Uses libc (control plane).
 * @return 0 with *@id set; -EINVAL (page_cnt not a power of 2, cpu not a
 * CPU slot, bad opts), -E2BIG (non-zero opts bytes we do not know), -ENOMEM
 * (more than 2^20 pages, or no memory), -ENOSPC (no free id).
 */
int bpftime_map__perfbuf_create(struct bpftime_map_region *r,
				const struct bpftime_map_perfbuf_opts *opts, uint32_t *id);

/** @brief PERF_EVENT_IOC_ENABLE / _DISABLE. 0, or -EINVAL if not a perf buffer. */
int bpftime_map__perfbuf_enable(struct bpftime_map *pb, bool enable);

/** @brief PERF_EVENT_IOC_PAUSE_OUTPUT: outputs are lost (counted) while paused. */
int bpftime_map__perfbuf_pause(struct bpftime_map *pb, bool pause);

/** @brief Samples dropped so far (what PERF_FORMAT_LOST reads). */
uint64_t bpftime_map__perfbuf_lost_samples(const struct bpftime_map *pb);

/**
 * @brief perf_poll(): 1 if a wake-up (per wakeup_events or the watermark)
 * happened since the previous poll or wait, which this consumes; else 0.
 * -EINVAL if @pb is not a perf buffer. Non-blocking, no libc.
 */
int bpftime_map__perfbuf_poll(struct bpftime_map *pb);

/**
 * @brief Block until bpftime_map__perfbuf_poll() would answer 1 (and
 * consume it), or for @timeout_ms (< 0: no limit). Futex-based, no polling.
 * @return 1, 0 on timeout, -EINVAL if @pb is not a perf buffer.
 */
int bpftime_map__perfbuf_wait(struct bpftime_map *pb, int timeout_ms);

/*
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: key and value 4 bytes; values are perf
 * buffer ids (update: -EBADF for an id that is not a perf buffer, flags
 * other than BPF_ANY -EINVAL, index -E2BIG; delete: -ENOENT for an empty
 * slot; lookup -ENOTSUPP), as the kernel's array of perf event fds.
 */

/**
 * @brief bpf_perf_event_output(): one PERF_RECORD_SAMPLE with @size bytes
 * of @data into the perf buffer at index (@flags & BPF_F_INDEX_MASK), or at
 * @cpu (the caller's CPU slot) for BPF_F_CURRENT_CPU. Run path.
 * @return 0; -EINVAL (other flag bits), -E2BIG (index >= max_entries, or a
 * sample too big for a record's u16 size, which the kernel corrupts its
 * buffer with), -ENOENT (empty slot), -EOPNOTSUPP (buffer disabled, or for
 * another CPU), -ENOSPC (no room: counted, reported by PERF_RECORD_LOST;
 * paused; no data pages). The first output to a buffer in a process maps
 * its file (raw openat + mmap).
 */
long bpftime_map__perf_event_output(struct bpftime_map *m, uint32_t cpu, uint64_t flags,
				    const void *data, uint64_t size, uint32_t tid);

/**
 * @brief Make every slot of PERF_EVENT_ARRAY @m that holds perf buffer
 * @old_id hold @new_id (a perf buffer) instead: bpf-emul replaces the
 * buffer of a perf event stored in an array before the tool mmap'd it.
 * Control plane. @return the number of slots changed; -EINVAL when @m is
 * not a PERF_EVENT_ARRAY.
 */
int bpftime_map__perf_event_array_replace(struct bpftime_map *m, uint32_t old_id, uint32_t new_id);

/* ==== end of ring buffers and perf buffers ==== */

/* ==== stack traces, program arrays, maps of maps (map-stack-trace.c,
 * map-prog-array.c, map-of-maps.c) ==== */

/**
 * @brief bpf_get_stackid() on a BPF_MAP_TYPE_STACK_TRACE map, over the
 * stack the caller collected: @ips[0] is the innermost frame, @nr frames.
 * As the kernel: at most value_size / 8 (build-id maps: / 32) + skip frames
 * count, capped by kernel.perf_event_max_stack; the low 8 bits of @flags
 * (BPF_F_SKIP_FIELD_MASK) skip frames off the top; the id is the jhash of
 * the remaining ips masked to roundup_pow_of_two(max_entries) buckets, as
 * on Linux. An equal stack in the bucket gives its id (with
 * BPF_F_FAST_STACK_CMP an equal hash is enough); a different one -EEXIST,
 * unless BPF_F_REUSE_STACKID replaces it. Build-id maps store each frame as
 * BPF_STACK_BUILD_ID_IP with its ip (what the kernel stores when it cannot
 * read a build id). Run path; thread- and process-safe.
 * @return the stack id; -EINVAL (other flags, BPF_F_USER_BUILD_ID included,
 * or @m not a stack map), -EFAULT (no frame left after the skip), -EEXIST,
 * -ENOMEM (every element in use).
 */
long bpftime_map__stackid(struct bpftime_map *m, const uint64_t *ips, uint32_t nr, uint64_t flags);

/**
 * @brief The value at @index of a BPF_MAP_TYPE_PROG_ARRAY (the program id
 * to tail-call) or BPF_MAP_TYPE_CGROUP_ARRAY (the u32 bpf-emul stored).
 * Lock-free, run path.
 * @return the value, or 0 for an empty slot, an index past the end or
 * another map type (a cgroup array slot holding 0 reads as empty).
 */
uint32_t bpftime_map__prog_array_get(struct bpftime_map *m, uint32_t index);

/*
 * BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS: attr.inner_map_id names the
 * template map at creation (-EBADF when no map has that id); values given
 * to bpftime_map__update_elem are inner map ids, which must be equal to the
 * template as the kernel's bpf_map_meta_equal() decides (-EINVAL
 * otherwise). The syscall lookup returns the inner map's id; the program
 * side (bpftime_map__prog_lookup) returns its struct bpftime_map *, which
 * programs hand on to the other map helpers. bpf-emul keeps inner maps
 * alive while an outer map holds them (the kernel's reference).
 */

/* ==== end of stack traces, program arrays, maps of maps ==== */

/* ---- logging ---- */

enum bpftime_map_log_level { BPFTIME_MAP_WARN, BPFTIME_MAP_INFO, BPFTIME_MAP_DEBUG };
typedef void (*bpftime_map_log_fn)(enum bpftime_map_log_level level, const char *msg);
/* Where messages go (default: stderr, "maps: " prefix, WARN only unless
 * BPFTIME_LOG_LEVEL=info|debug). Returns the previous function. */
bpftime_map_log_fn bpftime_map_set_log(bpftime_map_log_fn fn);

#ifdef __cplusplus
}
#endif
#endif /* BPFTIME_MAPS_H */
