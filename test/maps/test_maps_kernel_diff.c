// SPDX-License-Identifier: MIT
/*
 * Differential test: the same random operations, valid and invalid, on the
 * kernel's maps (bpf(2), through libbpf) and on ours, comparing every return
 * value, errno and value.
 *
 * Table-driven by map type (kd_types[]): each entry says how to make valid
 * attributes, keys and values for the type, and how its results may be
 * compared (kd_kind). A type missing from our registry is a skip, so the
 * test grows as types land. Per type and per seed:
 *   1. creation: random attributes, mostly valid ones with one or two
 *      fields set to an edge value; both sides must agree on the errno;
 *   2. operations: one valid map on each side, then a random sequence of
 *      update (every flag), lookup, delete, get_next_key (NULL, present and
 *      missing keys), lookup_and_delete, the four batch operations with
 *      random counts and tokens, and freeze followed by more writes.
 *
 * Where the order legitimately differs (get_next_key order of hash maps,
 * batch tokens, which element an LRU evicts) only what is order-independent
 * is compared: the set of keys a full walk visits, each key once, the
 * ENOENT/ENOSPC contract of batches, and the values found.
 *
 * Out of scope, because they are properties of the fd and not of the map:
 * BPF_F_RDONLY/BPF_F_WRONLY (the fd's mode; bpf-emul answers for them) are
 * only compared at creation.
 *
 * Needs root and eBPF in the kernel: exits 77 otherwise. Seeds are printed;
 *   BPFTIME_MAPS_DIFF_SEED=<n>  replays one seed (for every type),
 *   BPFTIME_MAPS_DIFF_LONG=<s>  runs new seeds for <s> seconds per type.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps-test.h"
#include "../splitmix.h"

#ifndef BPF_F_TOKEN_FD
#define BPF_F_TOKEN_FD (1U << 16) /* Linux 6.9 */
#endif

#define KD_SEEDS     20  /* per type, in the ctest run */
#define KD_OPS       300 /* per sequence */
#define KD_CREATES   60  /* per seed */
#define KD_MAX_KEY   512
#define KD_MAX_VALUE (1 << 16)
#define KD_MAX_BATCH 80

/* How results of a type may be compared. */
enum kd_kind {
	KD_ORDERED,   /* same order: every result compared exactly */
	KD_UNORDERED, /* hash order: walks compared as sets */
	KD_LRU,       /* unordered, and evictions differ: per-side contract */
	KD_QUEUE,     /* no keys; push/peek/pop compared exactly */
	KD_BLOOM,     /* no keys; only pushed values are known to be present */
};

struct kd_run;
struct kd_type {
	uint32_t type;
	const char *name;
	enum kd_kind kind;
	/* a valid attr for the operation sequence */
	void (*valid_attr)(struct kd_run *k, struct bpftime_map_attr *a);
	/* the i-th key of the type's key space (unordered kinds) */
	void (*key)(struct kd_run *k, const struct bpftime_map_attr *a, uint32_t i, uint8_t *key);
	/* values are file descriptors / ids: no syscall-side writes */
	bool no_writes;
};

struct kd_run {
	const struct kd_type *t;
	uint64_t seed, rng;
	unsigned step;
	char op[160]; /* the operation under way, for failure messages */
	struct bpftime_map_region *r;
	uint32_t ncpus;
	/* the pair of maps of the operation sequence */
	struct bpftime_map_attr a;
	int kfd;
	struct bpftime_map *m;
	uint32_t ks, vs, nkeys;
	bool frozen;
	/* bloom filters: the byte values of the uniform values pushed so far */
	uint8_t pushed[256];
};

/* ---- randomness ---- */

static uint64_t rnd(struct kd_run *k)
{
	return test_splitmix64(&k->rng);
}

static uint32_t below(struct kd_run *k, uint32_t n)
{
	return n ? (uint32_t)(rnd(k) % n) : 0;
}

static bool chance(struct kd_run *k, unsigned percent)
{
	return below(k, 100) < percent;
}

static uint32_t pick(struct kd_run *k, const uint32_t *v, size_t n)
{
	return v[below(k, (uint32_t)n)];
}

#define PICK(k, ...) pick(k, (const uint32_t[]){__VA_ARGS__}, sizeof((uint32_t[]){__VA_ARGS__}) / 4)

static void fill(struct kd_run *k, void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = (uint8_t)rnd(k);
}

/* ---- reporting ---- */

#define kd_check(k, cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond))                                                                       \
			kd_fail(k, #cond, __VA_ARGS__);                                            \
	} while (0)

static void kd_fail(struct kd_run *k, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void kd_fail(struct kd_run *k, const char *cond, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("%s: seed %llu step %u: %s: %s (%s); replay with BPFTIME_MAPS_DIFF_SEED=%llu",
		 k->t->name, (unsigned long long)k->seed, k->step, k->op, msg, cond,
		 (unsigned long long)k->seed);
}

static void set_op(struct kd_run *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_op(struct kd_run *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->op, sizeof(k->op), fmt, ap);
	va_end(ap);
}

/* Compared calls, and how many of them succeeded: a run of refusals only
 * would prove little. Per test, reset by test_type(). */
static unsigned long kd_compared, kd_succeeded;

/* Both sides answered @kr and @or: they must agree. */
static void same_ret(struct kd_run *k, int kr, int or)
{
	kd_check(k, kr == or, "kernel %d (%s), ours %d (%s)", kr, strerror(-kr), or,
		 strerror(- or));
	kd_compared++;
	kd_succeeded += kr >= 0;
}

/* ---- creation on both sides ---- */

static int kernel_create(const struct bpftime_map_attr *a, int inner_fd)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = a->map_type;
	attr.key_size = a->key_size;
	attr.value_size = a->value_size;
	attr.max_entries = a->max_entries;
	attr.map_flags = a->map_flags;
	attr.inner_map_fd = (uint32_t)inner_fd;
	attr.numa_node = a->numa_node;
	memcpy(attr.map_name, a->map_name, sizeof(attr.map_name));
	attr.btf_key_type_id = a->btf_key_type_id;
	attr.btf_value_type_id = a->btf_value_type_id;
	attr.btf_vmlinux_value_type_id = a->btf_vmlinux_value_type_id;
	attr.map_extra = a->map_extra;
	/* raw bpf(2): libbpf would fix names that are wrong on purpose */
	fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

static bool percpu_type(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool map_in_map(uint32_t t)
{
	return t == BPF_MAP_TYPE_ARRAY_OF_MAPS || t == BPF_MAP_TYPE_HASH_OF_MAPS;
}

/* The inner map template of map-in-map types, on both sides. */
struct kd_inner {
	int kfd;
	uint32_t id;
};

static void inner_template(struct kd_run *k, struct kd_inner *in)
{
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);

	in->kfd = kernel_create(&a, 0);
	kd_check(k, in->kfd >= 0, "kernel inner map: %d", in->kfd);
	kd_check(k, bpftime_map__create(k->r, &a, &in->id) == 0, "our inner map");
}

static void inner_release(struct kd_run *k, struct kd_inner *in)
{
	close(in->kfd);
	bpftime_map__destroy(k->r, in->id);
}

/*
 * Whether a creation is safe to ask of the kernel: at most 32 MiB of
 * elements, or no elements at all. Anything else huge is skipped: the
 * kernel may really allocate it (per-CPU arrays even element by element,
 * up to the OOM killer; 6.18 takes hash keys of 1 MiB), and so would we.
 */
static bool affordable(struct kd_run *k, const struct bpftime_map_attr *a)
{
	uint64_t per = ((uint64_t)a->key_size + 7) / 8 * 8 + ((uint64_t)a->value_size + 7) / 8 * 8;
	uint64_t est =
	    (uint64_t)a->max_entries * (per + 64) * (percpu_type(a->map_type) ? k->ncpus : 1);

	if (a->max_entries == 0)
		return true;
	if (a->map_type == BPF_MAP_TYPE_RINGBUF)
		est = a->max_entries;
	return est <= (32ull << 20);
}

/* ---- attribute generators ---- */

static const uint32_t kd_flag_bits[] = {
    BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU,
    BPF_F_NUMA_NODE,   BPF_F_RDONLY,
    BPF_F_WRONLY,      BPF_F_STACK_BUILD_ID,
    BPF_F_ZERO_SEED,   BPF_F_RDONLY_PROG,
    BPF_F_WRONLY_PROG, BPF_F_CLONE,
    BPF_F_MMAPABLE,    BPF_F_PRESERVE_ELEMS,
    BPF_F_INNER_MAP,   1u << 13,
    1u << 14,          1u << 15,
    1u << 16,          1u << 17,
    1u << 20,          1u << 31,
};

static void random_name(struct kd_run *k, char *name)
{
	static const char ok[] = "abcXYZ019_.";

	memset(name, 0, 16);
	switch (below(k, 8)) {
	case 0: /* sixteen characters: no room for the NUL */
		memset(name, 'a', 16);
		break;
	case 1: /* a character bpf_obj_name_cpy refuses */
		name[0] = 'm';
		name[1] = (char)PICK(k, '-', ' ', '/', 0x80, '\n');
		break;
	default:
		for (uint32_t i = 0, n = below(k, 16); i < n; i++)
			name[i] = ok[below(k, sizeof(ok) - 1)];
	}
}

/* Set one field of @a to an edge value. */
static void mutate(struct kd_run *k, struct bpftime_map_attr *a)
{
	switch (below(k, 9)) {
	case 0:
		a->key_size =
		    PICK(k, 0, 1, 3, 4, 5, 8, 64, 256, 260, 512, 513, 1u << 20, UINT32_MAX);
		break;
	case 1:
		a->value_size = PICK(k, 0, 1, 4, 7, 8, 4096, 32760, 32768, 32769, 1u << 20,
				     (uint32_t)INT_MAX, (uint32_t)INT_MAX + 1u, UINT32_MAX);
		break;
	case 2:
		a->max_entries =
		    PICK(k, 0, 1, 2, 3, 4096, 4097, 65536, 1u << 20, 1u << 31, UINT32_MAX);
		break;
	case 3:
		a->map_flags ^= kd_flag_bits[below(k, ARRAY_LEN(kd_flag_bits))];
		break;
	case 4:
		a->map_flags |= BPF_F_NUMA_NODE;
		a->numa_node = PICK(k, 0, 1, 7, UINT32_MAX);
		break;
	case 5:
		a->map_extra = PICK(k, 1, 5, 15, 16, 1u << 31);
		break;
	case 6:
		random_name(k, a->map_name);
		break;
	case 7: /* BTF ids without BTF: refused before the fd is looked at */
		if (chance(k, 50))
			a->btf_key_type_id = 1;
		else
			a->btf_vmlinux_value_type_id = 1;
		break;
	default:
		a->map_flags = (uint32_t)rnd(k);
	}
	/* BPF_F_TOKEN_FD makes the kernel look up map_token_fd (0: whatever
	 * stdin is); tokens are bpf-emul's business, not the maps' */
	a->map_flags &= ~BPF_F_TOKEN_FD;
}

static void attr_array(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 4, PICK(k, 1, 3, 4, 8, 12, 24, 64, 100, 256), 1 + below(k, 40), 0);
	if (chance(k, 20))
		a->map_flags |= PICK(k, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG);
	if (k->t->type == BPF_MAP_TYPE_ARRAY && chance(k, 25))
		a->map_flags |= PICK(k, BPF_F_MMAPABLE, BPF_F_INNER_MAP);
	if (k->t->type != BPF_MAP_TYPE_PERCPU_ARRAY && chance(k, 10)) {
		a->map_flags |= BPF_F_NUMA_NODE;
		a->numa_node = 0;
	}
}

static void attr_hash(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, PICK(k, 1, 2, 4, 5, 8, 16, 40), PICK(k, 1, 4, 8, 12, 32, 100),
		     4 + below(k, 60), 0);
	if (chance(k, 30))
		a->map_flags |= BPF_F_NO_PREALLOC;
	if (chance(k, 20))
		a->map_flags |= PICK(k, BPF_F_ZERO_SEED, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG);
}

/* LRU maps: large enough that the kernel's per-CPU free lists never make it
 * evict (LOCAL_FREE_TARGET is 128 per CPU), or small to make it evict. */
static void attr_lru(struct kd_run *k, struct bpftime_map_attr *a)
{
	attr_hash(k, a);
	a->map_flags &= ~BPF_F_NO_PREALLOC;
	if (chance(k, 30))
		a->map_flags |= BPF_F_NO_COMMON_LRU;
	a->max_entries = chance(k, 50) ? 128 * (k->ncpus + 2) * 2 : 8 + below(k, 24);
}

static void attr_queue(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 0, PICK(k, 1, 4, 8, 13, 64), 1 + below(k, 12), 0);
	if (chance(k, 20))
		a->map_flags |= PICK(k, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG);
}

static void attr_bloom(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 0, PICK(k, 1, 4, 8, 13, 64), 1 + below(k, 200), 0);
	a->map_extra = below(k, 16);
	if (chance(k, 30))
		a->map_flags |= BPF_F_ZERO_SEED;
}

static void attr_lpm(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 4 + PICK(k, 1, 2, 4, 8, 16), PICK(k, 1, 4, 8, 24),
		     4 + below(k, 60), BPF_F_NO_PREALLOC);
}

static void attr_ringbuf(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 0, 0, 4096u << below(k, 5), 0);
}

static void attr_fd_array(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 4, 4, 1 + below(k, 16), 0);
}

static void attr_stack_trace(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, 4, 8 * (1 + below(k, 20)), 1 + below(k, 64), 0);
}

static void attr_hash_of_maps(struct kd_run *k, struct bpftime_map_attr *a)
{
	*a = mt_attr(k->t->type, PICK(k, 1, 4, 8), 4, 4 + below(k, 20), 0);
}

/* ---- keys ---- */

/* Key i of a hash map's key space: distinct bytes for distinct i. */
static void key_hash(struct kd_run *k, const struct bpftime_map_attr *a, uint32_t i, uint8_t *key)
{
	uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;

	for (uint32_t b = 0; b < a->key_size; b++)
		key[b] = (uint8_t)(h >> (8 * (b % 8))) ^ (uint8_t)(b * 31);
	/* short keys: the index itself (a one-byte key space has 256 keys; the
	 * key spaces used stay below that) */
	if (a->key_size < 8)
		memcpy(key, &i, a->key_size < 4 ? a->key_size : 4);
}

/* LPM keys: prefix lengths and data from small sets, so that prefixes nest. */
static void key_lpm(struct kd_run *k, const struct bpftime_map_attr *a, uint32_t i, uint8_t *key)
{
	uint32_t bits = (a->key_size - 4) * 8, plen = (i * 7) % (bits + 1);

	memcpy(key, &plen, 4);
	for (uint32_t b = 0; b < a->key_size - 4; b++)
		key[4 + b] = (uint8_t)((i / (bits + 1)) * 0x55 + b);
}

static void key_index(struct kd_run *k, const struct bpftime_map_attr *a, uint32_t i, uint8_t *key)
{
	memcpy(key, &i, 4);
}

/* stack_trace takes every update (the kernel refuses them all): only the
 * fd-valued types (programs, perf events, maps) are limited to refusals. */
static const struct kd_type kd_types[] = {
    {BPF_MAP_TYPE_ARRAY, "array", KD_ORDERED, attr_array, key_index, false},
    {BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array", KD_ORDERED, attr_array, key_index, false},
    {BPF_MAP_TYPE_HASH, "hash", KD_UNORDERED, attr_hash, key_hash, false},
    {BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash", KD_UNORDERED, attr_hash, key_hash, false},
    {BPF_MAP_TYPE_LRU_HASH, "lru_hash", KD_LRU, attr_lru, key_hash, false},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru_percpu_hash", KD_LRU, attr_lru, key_hash, false},
    {BPF_MAP_TYPE_QUEUE, "queue", KD_QUEUE, attr_queue, NULL, false},
    {BPF_MAP_TYPE_STACK, "stack", KD_QUEUE, attr_queue, NULL, false},
    {BPF_MAP_TYPE_BLOOM_FILTER, "bloom_filter", KD_BLOOM, attr_bloom, NULL, false},
    {BPF_MAP_TYPE_LPM_TRIE, "lpm_trie", KD_UNORDERED, attr_lpm, key_lpm, false},
    {BPF_MAP_TYPE_RINGBUF, "ringbuf", KD_QUEUE, attr_ringbuf, NULL, true},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, "perf_event_array", KD_ORDERED, attr_fd_array, key_index, true},
    {BPF_MAP_TYPE_PROG_ARRAY, "prog_array", KD_ORDERED, attr_fd_array, key_index, true},
    {BPF_MAP_TYPE_CGROUP_ARRAY, "cgroup_array", KD_ORDERED, attr_fd_array, key_index, true},
    {BPF_MAP_TYPE_STACK_TRACE, "stack_trace", KD_ORDERED, attr_stack_trace, key_index, false},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, "array_of_maps", KD_ORDERED, attr_fd_array, key_index, true},
    {BPF_MAP_TYPE_HASH_OF_MAPS, "hash_of_maps", KD_UNORDERED, attr_hash_of_maps, key_hash, true},
};

/* ---- phase 1: creation ---- */

static void describe_attr(struct kd_run *k, const char *what, const struct bpftime_map_attr *a)
{
	set_op(k,
	       "%s key %u value %u max %u flags 0x%x numa %u extra %llu name '%.16s' btf %u/%u/%u",
	       what, a->key_size, a->value_size, a->max_entries, a->map_flags, a->numa_node,
	       (unsigned long long)a->map_extra, a->map_name, a->btf_key_type_id,
	       a->btf_value_type_id, a->btf_vmlinux_value_type_id);
}

/* Create @a on both sides; 0 with both maps made, or the common errno. */
static int create_pair(struct kd_run *k, const struct bpftime_map_attr *a,
		       const struct kd_inner *in, int *kfd, uint32_t *id)
{
	struct bpftime_map_attr ours = *a;
	int kr, or ;

	describe_attr(k, "create", a);
	kr = kernel_create(a, in ? in->kfd : 0);
	ours.inner_map_id = in ? in->id : 0;
	or = bpftime_map__create(k->r, &ours, id);
	same_ret(k, kr < 0 ? kr : 0, or);
	*kfd = kr;
	return or ;
}

static void random_attr(struct kd_run *k, struct bpftime_map_attr *a)
{
	for (int tries = 0; tries < 50; tries++) {
		k->t->valid_attr(k, a);
		if (chance(k, 50))
			random_name(k, a->map_name);
		/* mostly one or two edge values, so each check is reached */
		for (uint32_t i = 0, n = PICK(k, 0, 1, 1, 1, 2, 2, 3); i < n; i++)
			mutate(k, a);
		if (affordable(k, a))
			return;
	}
	k->t->valid_attr(k, a);
}

static void create_phase(struct kd_run *k, struct kd_inner *in)
{
	/* the kernel's writes to maps of maps wait for an RCU grace period: slow */
	unsigned n = in ? KD_CREATES / 6 : KD_CREATES;

	for (k->step = 0; k->step < n; k->step++) {
		struct bpftime_map_attr a;
		uint32_t id;
		int kfd;

		random_attr(k, &a);
		if (!create_pair(k, &a, in, &kfd, &id)) {
			close(kfd);
			bpftime_map__destroy(k->r, id);
		}
	}
}

/* ---- phase 2: operations ---- */

static bool contract_mode(const struct kd_run *k)
{
	return k->t->kind == KD_LRU && k->a.max_entries < 128 * (k->ncpus + 2) * 2;
}

/* Writes follow the contract, unless the map is frozen: then both refuse. */
static bool contract_writes(const struct kd_run *k)
{
	return contract_mode(k) && !k->frozen;
}

static bool keyless(const struct kd_run *k)
{
	return k->t->kind == KD_QUEUE || k->t->kind == KD_BLOOM;
}

static bool unordered(const struct kd_run *k)
{
	return k->t->kind == KD_UNORDERED || k->t->kind == KD_LRU;
}

/* A key for an operation: mostly from the key space, sometimes outside.
 * Returns its index in the key space of unordered types (else 0). */
static uint32_t op_key(struct kd_run *k, uint8_t *key)
{
	uint32_t i;

	if (!unordered(k)) {
		i = chance(k, 5) ? PICK(k, k->a.max_entries, UINT32_MAX, 1u << 31)
				 : below(k, k->a.max_entries + 2);
		memset(key, 0, k->ks);
		memcpy(key, &i, 4 < k->ks ? 4 : k->ks);
		return 0;
	}
	i = below(k, k->nkeys);
	k->t->key(k, &k->a, i, key);
	/* LPM: a prefix longer than the key's bits */
	if (k->t->type == BPF_MAP_TYPE_LPM_TRIE && chance(k, 5)) {
		uint32_t plen = (k->ks - 4) * 8 + 1 + below(k, 3);

		memcpy(key, &plen, 4);
	}
	return i;
}

static uint64_t update_flags(struct kd_run *k)
{
	return PICK(k, BPF_ANY, BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_EXIST, BPF_F_LOCK,
		    BPF_F_LOCK | BPF_EXIST, 3, 8, 16);
}

static uint64_t lookup_flags(struct kd_run *k)
{
	return chance(k, 85) ? 0 : PICK(k, BPF_F_LOCK, 1, 2, 8);
}

static void *key_arg(struct kd_run *k, uint8_t *key)
{
	/* key-less types: NULL, or now and then a pointer bpf(2) refuses */
	if (keyless(k))
		return chance(k, 5) ? key : NULL;
	return key;
}

/* Whether @key is present on each side (syscall lookups do not touch the
 * LRU order in the kernel: htab_lru_map_lookup_elem_sys). */
static void presence(struct kd_run *k, const uint8_t *key, bool *kp, bool *op)
{
	static uint8_t v[KD_MAX_VALUE];

	*kp = bpf_map_lookup_elem(k->kfd, key, v) == 0;
	*op = bpftime_map__lookup_elem(k->m, key, v, 0) == 0;
}

/*
 * LRU contract: whether @ret is an answer a side may give from its own
 * state. An update takes its new element first (prealloc_lru_pop), which
 * may evict the very key it updates: a present key may come back as
 * missing (BPF_EXIST: -ENOENT; BPF_NOEXIST: 0).
 */
static bool lru_allowed(int ret, bool present, uint64_t flags, bool is_delete)
{
	if (is_delete)
		return ret == (present ? 0 : -ENOENT);
	if (flags == BPF_NOEXIST)
		return present ? ret == -EEXIST || ret == 0 : ret == 0;
	if (flags == BPF_EXIST)
		return present ? ret == 0 || ret == -ENOENT : ret == -ENOENT;
	return ret == 0;
}

static void do_update(struct kd_run *k, uint8_t *key, uint8_t *diverged)
{
	static uint8_t val[KD_MAX_VALUE];
	uint64_t flags = update_flags(k);
	void *kp = key_arg(k, key);
	bool kpres = false, opres = false, valid = flags <= BPF_EXIST;
	int kr, or ;

	if (k->t->no_writes && flags == BPF_ANY)
		flags = BPF_EXIST; /* fd-valued types: only the flag checks */
	fill(k, val, k->vs);
	if (k->t->kind == KD_BLOOM && chance(k, 70))
		memset(val, (uint8_t)below(k, 8), k->vs); /* values come back */
	set_op(k, "update flags 0x%llx", (unsigned long long)flags);
	if (contract_writes(k) && valid)
		presence(k, key, &kpres, &opres);
	kr = bpf_map_update_elem(k->kfd, kp, val, flags);
	or = bpftime_map__update_elem(k->m, kp, val, flags);
	if (!contract_writes(k) || !valid) {
		same_ret(k, kr, or);
	} else {
		kd_check(k, lru_allowed(kr, kpres, flags, false), "kernel %d, present %d", kr,
			 kpres);
		kd_check(k, lru_allowed(or, opres, flags, false), "ours %d, present %d", or, opres);
		/* values may differ from now on where the sides answered differently */
		if (!kr && ! or)
			*diverged = 0;
		else if (kr != or)
			*diverged = 1;
	}
	if (k->t->kind == KD_BLOOM && !kr && ! or &&val[0] == val[k->vs - 1])
		k->pushed[val[0]] = 1;
}

static void do_lookup(struct kd_run *k, uint8_t *key, bool and_delete, bool diverged)
{
	static uint8_t kv[KD_MAX_VALUE], ov[KD_MAX_VALUE];
	uint64_t flags = lookup_flags(k);
	void *kp = key_arg(k, key);
	int kr, or ;

	memset(kv, 0xa5, k->vs);
	memset(ov, 0xa5, k->vs);
	if (k->t->kind == KD_BLOOM) /* a value to test for */
		memset(kv, (uint8_t)below(k, 8), k->vs), memcpy(ov, kv, k->vs);
	set_op(k, "%s flags 0x%llx", and_delete ? "lookup_and_delete" : "lookup",
	       (unsigned long long)flags);
	if (and_delete) {
		kr = bpf_map_lookup_and_delete_elem_flags(k->kfd, kp, kv, flags);
		or = bpftime_map__lookup_and_delete_elem(k->m, kp, ov, flags);
	} else {
		kr = bpf_map_lookup_elem_flags(k->kfd, kp, kv, flags);
		or = bpftime_map__lookup_elem(k->m, kp, ov, flags);
	}
	if (k->t->kind == KD_BLOOM && !kp && !flags && !k->pushed[kv[0]] && !and_delete) {
		/* not pushed: either answer may be a false positive */
		kd_check(k, (kr == 0 || kr == -ENOENT) && (or == 0 || or == -ENOENT),
			 "kernel %d ours %d", kr, or);
		return;
	}
	if (contract_mode(k) && !flags && (!and_delete || !k->frozen)) {
		kd_check(k, kr == 0 || kr == -ENOENT, "kernel %d", kr);
		kd_check(k, or == 0 || or == -ENOENT, "ours %d", or);
	} else {
		same_ret(k, kr, or);
	}
	if (!kr && ! or &&!diverged && k->t->kind != KD_BLOOM)
		kd_check(k, !memcmp(kv, ov, k->vs), "values differ");
}

static void do_delete(struct kd_run *k, uint8_t *key, uint8_t *diverged)
{
	void *kp = key_arg(k, key);
	int kr, or ;

	set_op(k, "delete");
	kr = bpf_map_delete_elem(k->kfd, kp);
	or = bpftime_map__delete_elem(k->m, kp);
	if (contract_writes(k)) {
		kd_check(k, kr == 0 || kr == -ENOENT, "kernel %d", kr);
		kd_check(k, or == 0 || or == -ENOENT, "ours %d", or);
		*diverged = 0; /* absent on both now */
	} else {
		same_ret(k, kr, or);
	}
}

/* Present on our side (for keys returned by get_next_key and walks). */
static bool ours_has(struct kd_run *k, const uint8_t *key)
{
	static uint8_t v[KD_MAX_VALUE];

	return bpftime_map__lookup_elem(k->m, key, v, 0) == 0;
}

static bool kernel_has(struct kd_run *k, const uint8_t *key)
{
	static uint8_t v[KD_MAX_VALUE];

	return bpf_map_lookup_elem(k->kfd, key, v) == 0;
}

static void do_get_next_key(struct kd_run *k, uint8_t *key)
{
	uint8_t kn[KD_MAX_KEY], on[KD_MAX_KEY];
	bool null = chance(k, 25), kp = false, op = false;
	void *arg = null ? NULL : key_arg(k, key);
	int kr, or ;

	memset(kn, 0x5a, sizeof(kn));
	memset(on, 0x5a, sizeof(on));
	set_op(k, "get_next_key(%s)", arg ? "key" : "NULL");
	if (arg && unordered(k))
		presence(k, key, &kp, &op);
	kr = bpf_map_get_next_key(k->kfd, arg, kn);
	or = bpftime_map__get_next_key(k->m, arg, on);
	if (!unordered(k)) {
		same_ret(k, kr, or);
		if (!kr)
			kd_check(k, !memcmp(kn, on, k->ks), "next keys differ");
		return;
	}
	/* hash order: a present key's successor is any other present key or
	 * ENOENT; NULL or a missing key gives some first key (ENOENT: empty) */
	kd_check(k, kr == 0 || kr == -ENOENT, "kernel %d", kr);
	kd_check(k, or == 0 || or == -ENOENT, "ours %d (%s)", or, strerror(- or));
	if (!kr)
		kd_check(k, kernel_has(k, kn), "kernel's next key is not in its map");
	if (! or)
		kd_check(k, ours_has(k, on) && (!arg || !op || memcmp(on, key, k->ks)),
			 "our next key is not another key of the map");
	if (!contract_mode(k) && (!arg || (!kp && !op)))
		same_ret(k, kr, or);
}

/* ---- batches ---- */

struct kd_batch {
	uint8_t keys[KD_MAX_BATCH * 64], vals[KD_MAX_BATCH * 2048];
	uint8_t in[KD_MAX_KEY], out[KD_MAX_KEY];
};

static bool batch_fits(const struct kd_run *k, uint32_t n)
{
	return (uint64_t)n * k->ks <= sizeof(((struct kd_batch *)0)->keys) &&
	       (uint64_t)n * k->vs <= sizeof(((struct kd_batch *)0)->vals);
}

static uint64_t batch_flags(struct kd_run *k)
{
	return chance(k, 85) ? 0 : PICK(k, BPF_F_LOCK, BPF_NOEXIST, BPF_EXIST, 8);
}

/* One lookup(_and_delete) batch call on each side, compared exactly
 * (ordered types, and every call that fails before touching elements). */
static void batch_lookup_exact(struct kd_run *k, bool and_delete, uint32_t count, uint64_t flags,
			       bool from_start)
{
	static struct kd_batch kb, ob;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	uint32_t kc = count, oc = count;
	int kr, or ;

	memset(&kb, 0x11, sizeof(kb));
	memset(&ob, 0x11, sizeof(ob));
	op_key(k, kb.in);
	memcpy(ob.in, kb.in, k->ks);
	set_op(k, "%s_batch count %u flags 0x%llx from %s",
	       and_delete ? "lookup_and_delete" : "lookup", count, (unsigned long long)flags,
	       from_start ? "start" : "key");
	if (and_delete)
		kr = bpf_map_lookup_and_delete_batch(k->kfd, from_start ? NULL : kb.in, kb.out,
						     kb.keys, kb.vals, &kc, &opts);
	else
		kr = bpf_map_lookup_batch(k->kfd, from_start ? NULL : kb.in, kb.out, kb.keys,
					  kb.vals, &kc, &opts);
	or = bpftime_map__lookup_batch(k->m, from_start ? NULL : ob.in, ob.out, ob.keys, ob.vals,
				       &oc, flags, and_delete);
	same_ret(k, kr, or);
	kd_check(k, kc == oc, "count: kernel %u ours %u", kc, oc);
	kd_check(k, !memcmp(kb.keys, ob.keys, (uint64_t)kc * k->ks), "keys differ");
	kd_check(k, !memcmp(kb.vals, ob.vals, (uint64_t)kc * k->vs), "values differ");
	if (kc && (!kr || kr == -ENOENT))
		kd_check(k, !memcmp(kb.out, ob.out, k->ks), "tokens differ");
}

/* The elements one side's batch walk found. */
struct kd_walk {
	uint32_t n;
	uint8_t keys[1024 * 64];
	uint8_t vals[1024 * 256];
};

/* Walk one side with batches of random sizes to the end, as a tool would:
 * ENOSPC (a bucket larger than the room) comes with no element and asks for
 * more room; ENOENT ends the walk, with the last elements. */
static void batch_walk(struct kd_run *k, bool kernel, bool and_delete, struct kd_walk *w)
{
	static struct kd_batch b;
	uint32_t room = 1 + below(k, 8);
	bool first = true;

	w->n = 0;
	for (unsigned calls = 0;; calls++) {
		uint32_t c = room;
		int ret;

		kd_check(k, calls < 4096 && w->n <= k->a.max_entries, "%s walk does not end",
			 kernel ? "kernel" : "our");
		if (kernel) {
			ret = and_delete
				  ? bpf_map_lookup_and_delete_batch(k->kfd, first ? NULL : b.in,
								    b.out, b.keys, b.vals, &c, NULL)
				  : bpf_map_lookup_batch(k->kfd, first ? NULL : b.in, b.out, b.keys,
							 b.vals, &c, NULL);
		} else {
			ret = bpftime_map__lookup_batch(k->m, first ? NULL : b.in, b.out, b.keys,
							b.vals, &c, 0, and_delete);
		}
		if (ret == -ENOSPC) {
			kd_check(k, c == 0, "%s: ENOSPC with %u elements",
				 kernel ? "kernel" : "ours", c);
			kd_check(k, room < KD_MAX_BATCH, "ENOSPC with room for %u", room);
			room = room * 2 > KD_MAX_BATCH ? KD_MAX_BATCH : room * 2;
			continue;
		}
		kd_check(k, ret == 0 || ret == -ENOENT, "%s: %d", kernel ? "kernel" : "ours", ret);
		kd_check(k, c <= room && (ret || c), "%s: %u elements for room %u, ret %d",
			 kernel ? "kernel" : "ours", c, room, ret);
		kd_check(k, w->n + c <= 1024, "walk too long");
		memcpy(w->keys + (uint64_t)w->n * k->ks, b.keys, (uint64_t)c * k->ks);
		memcpy(w->vals + (uint64_t)w->n * k->vs, b.vals, (uint64_t)c * k->vs);
		w->n += c;
		if (ret == -ENOENT)
			return;
		memcpy(b.in, b.out, sizeof(b.in));
		first = false;
	}
}

static int find_key(const struct kd_run *k, const struct kd_walk *w, const uint8_t *key)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (!memcmp(w->keys + (uint64_t)i * k->ks, key, k->ks))
			return (int)i;
	return -1;
}

/* Both walks visit the same keys, each once, with the same values. */
static void same_set(struct kd_run *k, const struct kd_walk *kw, const struct kd_walk *ow)
{
	for (uint32_t i = 0; i < ow->n; i++) {
		const uint8_t *key = ow->keys + (uint64_t)i * k->ks;
		int j = find_key(k, kw, key);

		kd_check(k, find_key(k, ow, key) == (int)i, "our walk visits a key twice");
		kd_check(k, j >= 0, "our walk has a key the kernel's has not");
		kd_check(
		    k,
		    !memcmp(kw->vals + (uint64_t)j * k->vs, ow->vals + (uint64_t)i * k->vs, k->vs),
		    "values differ");
	}
	kd_check(k, kw->n == ow->n, "kernel walk %u keys, ours %u", kw->n, ow->n);
}

/* Walk one side with get_next_key from NULL; values by lookup. */
static void key_walk(struct kd_run *k, bool kernel, struct kd_walk *w)
{
	uint8_t cur[KD_MAX_KEY], next[KD_MAX_KEY];
	bool first = true;

	w->n = 0;
	for (;;) {
		uint8_t *val = w->vals + (uint64_t)w->n * k->vs;
		int ret = kernel ? bpf_map_get_next_key(k->kfd, first ? NULL : cur, next)
				 : bpftime_map__get_next_key(k->m, first ? NULL : cur, next);

		if (ret == -ENOENT)
			return;
		kd_check(k, ret == 0, "%s get_next_key: %d", kernel ? "kernel" : "ours", ret);
		kd_check(k, w->n < 1024 && w->n <= k->a.max_entries, "%s walk does not end",
			 kernel ? "kernel" : "our");
		memcpy(w->keys + (uint64_t)w->n * k->ks, next, k->ks);
		ret = kernel ? bpf_map_lookup_elem(k->kfd, next, val)
			     : bpftime_map__lookup_elem(k->m, next, val, 0);
		kd_check(k, ret == 0, "%s: a walked key cannot be looked up: %d",
			 kernel ? "kernel" : "ours", ret);
		w->n++;
		memcpy(cur, next, k->ks);
		first = false;
	}
}

/* LRU maps that evict: each walk is consistent; common keys agree. */
static void contract_sets(struct kd_run *k, const struct kd_walk *kw, const struct kd_walk *ow,
			  const uint8_t *diverged)
{
	uint8_t key[KD_MAX_KEY];

	kd_check(k, ow->n <= k->a.max_entries, "ours holds %u > max_entries", ow->n);
	for (uint32_t i = 0; i < ow->n; i++)
		kd_check(k, find_key(k, ow, ow->keys + (uint64_t)i * k->ks) == (int)i,
			 "our walk visits a key twice");
	for (uint32_t i = 0; i < k->nkeys; i++) {
		int a, b;

		k->t->key(k, &k->a, i, key);
		a = find_key(k, kw, key);
		b = find_key(k, ow, key);
		if (a >= 0 && b >= 0 && !diverged[i])
			kd_check(k,
				 !memcmp(kw->vals + (uint64_t)a * k->vs,
					 ow->vals + (uint64_t)b * k->vs, k->vs),
				 "values of key %u differ", i);
	}
}

static void compare_walks(struct kd_run *k, bool batches, bool and_delete, const uint8_t *diverged)
{
	static struct kd_walk kw, ow;

	set_op(k, "full %s walk%s", batches ? "batch" : "get_next_key",
	       and_delete ? " (lookup_and_delete)" : "");
	if (batches) {
		batch_walk(k, true, and_delete, &kw);
		batch_walk(k, false, and_delete, &ow);
	} else {
		key_walk(k, true, &kw);
		key_walk(k, false, &ow);
	}
	if (contract_mode(k))
		contract_sets(k, &kw, &ow, diverged);
	else
		same_set(k, &kw, &ow);
}

static void do_lookup_batch(struct kd_run *k, bool and_delete, const uint8_t *diverged)
{
	uint32_t count = chance(k, 10) ? 0 : 1 + below(k, k->a.max_entries + 3);
	uint64_t flags = batch_flags(k);

	if (!batch_fits(k, count))
		count = 1;
	/* calls that fail or return before touching elements compare exactly */
	if (!unordered(k) || flags || !count || (and_delete && k->frozen)) {
		batch_lookup_exact(k, and_delete, count, flags, chance(k, 50));
		return;
	}
	/* hash order: compare whole walks (draining ones are rare: they empty
	 * the map), where both sides have the command: count 0 asks */
	if (and_delete && !chance(k, 20))
		return;
	batch_lookup_exact(k, and_delete, 0, 0, true);
	if (bpftime_map__lookup_batch(k->m, NULL, NULL, NULL, NULL, &(uint32_t){0}, 0,
				      and_delete) == 0)
		compare_walks(k, true, and_delete, diverged);
}

static void do_update_batch(struct kd_run *k, uint8_t *diverged)
{
	static struct kd_batch b;
	uint32_t n = below(k, k->a.max_entries + 3), idx[KD_MAX_BATCH], kc, oc;
	uint64_t flags = batch_flags(k);
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	int kr, or ;

	if (n > KD_MAX_BATCH || !batch_fits(k, n))
		n = 1;
	if (k->t->no_writes && !flags)
		flags = opts.elem_flags = BPF_F_LOCK; /* fd values: only refusals */
	for (uint32_t i = 0; i < n; i++)
		idx[i] = op_key(k, b.keys + (uint64_t)i * k->ks);
	fill(k, b.vals, (uint64_t)n * k->vs);
	kc = oc = n;
	set_op(k, "update_batch count %u flags 0x%llx", n, (unsigned long long)flags);
	kr = bpf_map_update_batch(k->kfd, b.keys, b.vals, &kc, &opts);
	or = bpftime_map__update_batch(k->m, b.keys, b.vals, &oc, flags);
	same_ret(k, kr, or);
	kd_check(k, kc == oc, "count: kernel %u ours %u", kc, oc);
	if (contract_mode(k))
		for (uint32_t i = 0; !kr && i < n; i++)
			diverged[idx[i]] = 0;
}

static void do_delete_batch(struct kd_run *k)
{
	static struct kd_batch b;
	uint32_t n = below(k, k->a.max_entries + 3), kc, oc;
	uint64_t flags = batch_flags(k);
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	int kr, or ;

	if (n > KD_MAX_BATCH || !batch_fits(k, n))
		n = 1;
	for (uint32_t i = 0; i < n; i++)
		op_key(k, b.keys + (uint64_t)i * k->ks);
	kc = oc = n;
	set_op(k, "delete_batch count %u flags 0x%llx", n, (unsigned long long)flags);
	kr = bpf_map_delete_batch(k->kfd, b.keys, &kc, &opts);
	or = bpftime_map__delete_batch(k->m, b.keys, &oc, flags);
	if (contract_writes(k) && !flags) {
		/* each side stops at its first missing key */
		kd_check(k, (kr == 0 && kc == n) || (kr == -ENOENT && kc < n), "kernel %d %u", kr,
			 kc);
		kd_check(k, (or == 0 && oc == n) || (or == -ENOENT && oc < n), "ours %d %u", or,
			 oc);
		return;
	}
	same_ret(k, kr, or);
	kd_check(k, kc == oc, "count: kernel %u ours %u", kc, oc);
}

static void do_freeze(struct kd_run *k)
{
	int kr, or ;

	set_op(k, "freeze");
	kr = bpf_map_freeze(k->kfd);
	or = bpftime_map__freeze(k->m);
	same_ret(k, kr, or);
	if (!kr)
		k->frozen = true;
}

/* Ordered types, at the end: every element, by index. */
static void compare_all_indexes(struct kd_run *k)
{
	static uint8_t kv[KD_MAX_VALUE], ov[KD_MAX_VALUE];

	for (uint32_t i = 0; i < k->a.max_entries && i < 256; i++) {
		int kr, or ;

		set_op(k, "final lookup of index %u", i);
		kr = bpf_map_lookup_elem(k->kfd, &i, kv);
		or = bpftime_map__lookup_elem(k->m, &i, ov, 0);
		same_ret(k, kr, or);
		if (!kr)
			kd_check(k, !memcmp(kv, ov, k->vs), "values differ");
	}
}

static void one_op(struct kd_run *k, uint8_t *diverged)
{
	uint8_t key[KD_MAX_KEY];
	uint32_t ki = op_key(k, key), r = below(k, 100);

	if (r < 25)
		do_update(k, key, &diverged[ki]);
	else if (r < 45)
		do_lookup(k, key, false, diverged[ki]);
	else if (r < 52)
		do_delete(k, key, &diverged[ki]);
	else if (r < 64)
		do_get_next_key(k, key);
	else if (r < 69)
		do_lookup(k, key, true, diverged[ki]);
	else if (r < 76)
		do_lookup_batch(k, false, diverged);
	else if (r < 80)
		do_lookup_batch(k, true, diverged);
	else if (r < 89)
		do_update_batch(k, diverged);
	else if (r < 95)
		do_delete_batch(k);
	else if (r < 96)
		do_freeze(k);
	else if (unordered(k))
		compare_walks(k, false, false, diverged);
}

static uint32_t key_space(const struct kd_run *k)
{
	if (contract_mode(k))
		return 4 * k->a.max_entries;
	if (k->t->kind == KD_LRU)
		return 64;
	return k->a.max_entries + k->a.max_entries / 2 + 1;
}

/* A valid map on both sides (retrying attrs both refuse alike). */
static void open_pair(struct kd_run *k, const struct kd_inner *in)
{
	for (int tries = 0;; tries++) {
		struct bpftime_map_attr a;
		uint32_t id;
		int kfd;

		k->t->valid_attr(k, &a);
		if (!create_pair(k, &a, in, &kfd, &id)) {
			k->a = a;
			k->kfd = kfd;
			k->m = bpftime_map__get(k->r, id);
			kd_check(k, k->m != NULL, "no handle");
			return;
		}
		kd_check(k, tries < 20, "no valid attributes");
	}
}

static void ops_phase(struct kd_run *k, const struct kd_inner *in)
{
	static uint8_t diverged[1024];

	k->step = 0;
	open_pair(k, in);
	k->frozen = false;
	k->ks = k->a.key_size;
	k->vs =
	    percpu_type(k->a.map_type) ? (k->a.value_size + 7) / 8 * 8 * k->ncpus : k->a.value_size;
	k->nkeys = key_space(k);
	memset(diverged, 0, sizeof(diverged));
	memset(k->pushed, 0, sizeof(k->pushed));
	kd_check(k, bpftime_map__value_size(k->m) == k->vs, "value size %u, want %u",
		 bpftime_map__value_size(k->m), k->vs);
	/* every write to a map of maps waits for an RCU grace period in the
	 * kernel (maybe_wait_bpf_programs): fewer operations for those */
	for (k->step = 1; k->step <= (map_in_map(k->a.map_type) ? KD_OPS / 3 : KD_OPS); k->step++)
		one_op(k, diverged);
	if (unordered(k))
		compare_walks(k, false, false, diverged);
	else if (!keyless(k))
		compare_all_indexes(k);
	close(k->kfd);
	bpftime_map__destroy(k->r, bpftime_map__id(k->m));
}

/* ---- driver ---- */

/* The region every type's maps live in; set up once in main(). */
static struct bpftime_map_region *kd_region;

static void run_seed(const struct kd_type *t, uint64_t seed)
{
	struct kd_run k = {.t = t, .seed = seed, .rng = seed, .r = kd_region};
	struct kd_inner in = {.kfd = -1};

	k.ncpus = bpftime_map_region__nr_cpus(kd_region);
	if (map_in_map(t->type))
		inner_template(&k, &in);
	create_phase(&k, map_in_map(t->type) ? &in : NULL);
	ops_phase(&k, map_in_map(t->type) ? &in : NULL);
	if (map_in_map(t->type))
		inner_release(&k, &in);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_type(void **state)
{
	const struct kd_type *t = *state;
	const char *replay = getenv("BPFTIME_MAPS_DIFF_SEED");
	const char *lng = getenv("BPFTIME_MAPS_DIFF_LONG");
	uint64_t base = (uint64_t)t->type * 1000000;
	double end = now() + (lng ? atof(lng) : 0);
	unsigned n = 0;

	if (!mt_type_present(t->type)) {
		printf("kernel_diff: %s: not in our registry yet: skipped\n", t->name);
		skip();
	}
	if (replay) {
		printf("kernel_diff: %s: seed %s\n", t->name, replay);
		run_seed(t, strtoull(replay, NULL, 0));
		return;
	}
	kd_compared = kd_succeeded = 0;
	do
		run_seed(t, base + n);
	while (++n < (map_in_map(t->type) ? KD_SEEDS / 5 : KD_SEEDS) || now() < end);
	printf("kernel_diff: %s: seeds %llu..%llu: %lu calls compared, %lu succeeded\n", t->name,
	       (unsigned long long)base, (unsigned long long)(base + n - 1), kd_compared,
	       kd_succeeded);
	/* keyed types whose elements the syscall side can write must succeed
	 * often: a run of refusals only would prove little */
	assert_true(kd_succeeded > 0);
	if (!t->no_writes && t->kind != KD_QUEUE && t->kind != KD_BLOOM &&
	    t->type != BPF_MAP_TYPE_STACK_TRACE)
		assert_true(kd_succeeded > kd_compared / 4);
}

static void quiet(enum bpftime_map_log_level level, const char *msg)
{
	/* refusals are what this test provokes; their messages are tested elsewhere */
}

/* Exit 77 when the kernel's maps are out of reach (not root, no eBPF). */
static void require_kernel_maps(void)
{
	struct bpftime_map_attr a = mt_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
	int fd = kernel_create(&a, 0);

	if (fd == -EPERM || fd == -ENOSYS || fd == -EACCES) {
		printf("kernel_diff: cannot create a kernel ARRAY map (%s): needs root and a "
		       "kernel with eBPF; skipped\n",
		       strerror(-fd));
		exit(77);
	}
	if (fd < 0) {
		printf("kernel_diff: creating a kernel ARRAY map: %s\n", strerror(-fd));
		exit(1);
	}
	close(fd);
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_LEN(kd_types)];
	static char names[ARRAY_LEN(kd_types)][48];
	int cpus, ret;

	require_kernel_maps();
	cpus = libbpf_num_possible_cpus();
	if (cpus <= 0) {
		printf("kernel_diff: cannot count the possible CPUs: %d\n", cpus);
		return 1;
	}
	bpftime_map_set_log(quiet);
	/* per-CPU values must have the kernel's number of slots; 1 GiB: a
	 * size check we lack fails fast instead of filling /dev/shm */
	kd_region = mt_region_create((uint32_t)cpus, 1ull << 30);
	for (size_t i = 0; i < ARRAY_LEN(kd_types); i++) {
		snprintf(names[i], sizeof(names[i]), "diff_%s", kd_types[i].name);
		tests[i] = (struct CMUnitTest){.name = names[i],
					       .test_func = test_type,
					       .initial_state = (void *)&kd_types[i]};
	}
	ret = _cmocka_run_group_tests("kernel_diff", tests, ARRAY_LEN(tests), NULL, NULL);
	mt_region_destroy(kd_region);
	return ret;
}
