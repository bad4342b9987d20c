// SPDX-License-Identifier: MIT
/*
 * bpf_transcript: raw bpf(2) calls, one transcript line each,
 *
 *   <CMD> <object> <arguments> -> <ret> <errno>[ <results>]
 *
 * where <ret> is "fd" for a new fd and the return value otherwise, <errno>
 * is "OK" or the errno's name. Nothing printed depends on fd numbers, ids,
 * times, addresses, the order in which hash maps iterate or the number of
 * CPUs, so two runs print the same text, and a run against the kernel and a
 * run under bpftime-run must print the same text (test/bpf-diff/run.sh).
 *
 * No libbpf: every attr is built here, so that what is sent is exactly what
 * the line says. Sections: map creation (good and bad attrs), each common
 * map type's commands, batches, freezing and read-only/write-only maps,
 * mmap of ring buffers and mmapable arrays, OBJ_GET_INFO_BY_FD, bad attr
 * sizes and tails, bad pointers, bad and borrowed fds (closed, pipes, dup,
 * fork), program loads that pass and fail, PROG_TEST_RUN, ids.
 *
 * The kernel's answers (Linux 6.18) are what bpf-emul must give; where a
 * line depends on the kernel's version, the comment above it says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/perf_event.h>

/* ENOTSUPP is kernel-internal (include/linux/errno.h) but reaches user space from bpf(2). */
#define TR_ENOTSUPP 524

/* At most this many CPUs' values per per-CPU value. */
#define TR_MAX_CPUS 1024
/* Bytes of a value buffer: any map's value here, all CPUs' slots. */
#define TR_VALUE_MAX (TR_MAX_CPUS * 8)

#define PAGE 4096

/* An address that is never mapped (below vm.mmap_min_addr). */
#define UNMAPPED ((void *)0x1000)

static void close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#define cleanup_close __attribute__((cleanup(close_fdp)))

/* One map under test, as created; the fd is owned by the section that made it. */
struct tmap {
	const char *label;
	int fd;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	int ncpus; /* per-CPU maps: CPU slots in a syscall value; 0 otherwise */
};

/* The result of one bpf(2) call, errno saved at once. */
struct res {
	long ret;
	int err;
	bool fd; /* the command returns a new fd on success */
};

static struct res sys_bpf(int cmd, const void *attr, unsigned int size)
{
	struct res r;

	r.ret = syscall(__NR_bpf, cmd, attr, size);
	r.err = r.ret < 0 ? errno : 0;
	r.fd = cmd == BPF_MAP_CREATE || cmd == BPF_PROG_LOAD || cmd == BPF_MAP_GET_FD_BY_ID ||
	       cmd == BPF_PROG_GET_FD_BY_ID || cmd == BPF_BTF_LOAD || cmd == BPF_OBJ_GET;
	/* Every fd we keep must be O_CLOEXEC; bpf(2) makes them so. */
	return r;
}

static const char *err_name(int err)
{
	static char buf[16];
	const char *name;

	if (err == TR_ENOTSUPP)
		return "ENOTSUPP";
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* Prints one transcript line: "<what> -> <ret> <errno>[ <extra>]". */
static void __attribute__((format(printf, 3, 4)))
show(struct res r, const char *extra, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (r.ret >= 0 && r.fd)
		printf(" -> fd OK");
	else
		printf(" -> %ld %s", r.ret, r.ret < 0 ? err_name(r.err) : "OK");
	if (extra && *extra)
		printf(" %s", extra);
	putchar('\n');
}

/* Prints a line about something other than bpf(2) (mmap, fork). */
static void __attribute__((format(printf, 3, 4))) note(int ret, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" -> %d %s\n", ret, ret < 0 ? err_name(err) : "OK");
}

static void section(const char *name)
{
	printf("\n== %s\n", name);
}

static __u64 ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static const char *type_name(__u32 type)
{
	static const char *const names[] = {
	    [BPF_MAP_TYPE_HASH] = "HASH",
	    [BPF_MAP_TYPE_ARRAY] = "ARRAY",
	    [BPF_MAP_TYPE_PROG_ARRAY] = "PROG_ARRAY",
	    [BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "PERF_EVENT_ARRAY",
	    [BPF_MAP_TYPE_PERCPU_HASH] = "PERCPU_HASH",
	    [BPF_MAP_TYPE_PERCPU_ARRAY] = "PERCPU_ARRAY",
	    [BPF_MAP_TYPE_LRU_HASH] = "LRU_HASH",
	    [BPF_MAP_TYPE_LPM_TRIE] = "LPM_TRIE",
	    [BPF_MAP_TYPE_ARRAY_OF_MAPS] = "ARRAY_OF_MAPS",
	    [BPF_MAP_TYPE_HASH_OF_MAPS] = "HASH_OF_MAPS",
	    [BPF_MAP_TYPE_QUEUE] = "QUEUE",
	    [BPF_MAP_TYPE_STACK] = "STACK",
	    [BPF_MAP_TYPE_RINGBUF] = "RINGBUF",
	    [BPF_MAP_TYPE_BLOOM_FILTER] = "BLOOM_FILTER",
	};
	static char buf[16];

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, sizeof(buf), "type%u", type);
	return buf;
}

/* The number of possible CPUs, as libbpf_num_possible_cpus() counts them. */
static int possible_cpus(void)
{
	char buf[256], *p = buf;
	int fd, n, total = 0;

	fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	/* "0-3,5,7-8\n" */
	while (*p && *p != '\n') {
		long a = strtol(p, &p, 10), b = a;

		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		total += b - a + 1;
		if (*p == ',')
			p++;
	}
	return total > 0 && total <= TR_MAX_CPUS ? total : -EINVAL;
}

/* ---- formatting keys and values ---------------------------------------- */

static void fmt_bytes(char *out, size_t n, const void *p, __u32 size)
{
	const unsigned char *b = p;
	size_t used;
	__u32 i;

	if (size == 0) {
		snprintf(out, n, "-");
		return;
	}
	if (size == 4) {
		snprintf(out, n, "%u", *(const __u32 *)p);
		return;
	}
	if (size == 8) {
		snprintf(out, n, "%llu", (unsigned long long)*(const __u64 *)p);
		return;
	}
	used = snprintf(out, n, "0x");
	for (i = 0; i < size && used + 3 < n; i++)
		used += snprintf(out + used, n - used, "%02x", b[i]);
}

/* LPM_TRIE keys here: struct { __u32 prefixlen; __u8 addr[4]; }. */
struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

static void fmt_key(char *out, size_t n, const struct tmap *m, const void *key)
{
	if (!key || !m->key_size) {
		snprintf(out, n, "-");
	} else if (m->type == BPF_MAP_TYPE_LPM_TRIE) {
		const struct lpm_key *k = key;

		snprintf(out, n, "%u.%u.%u.%u/%u", k->addr[0], k->addr[1], k->addr[2], k->addr[3],
			 k->prefixlen);
	} else {
		fmt_bytes(out, n, key, m->key_size);
	}
}

static __u64 slot_value(const struct tmap *m, const void *v, int cpu)
{
	const unsigned char *p =
	    (const unsigned char *)v + (size_t)cpu * ((m->value_size + 7) & ~7u);

	return m->value_size == 4 ? *(const __u32 *)p : *(const __u64 *)p;
}

/*
 * Per-CPU values print as "all=V" when every CPU holds V, "base+cpu=B" when
 * CPU i holds B + i (what fill_value writes), else "mixed": the same text
 * on any number of CPUs.
 */
static void fmt_value(char *out, size_t n, const struct tmap *m, const void *v)
{
	__u64 base;
	bool all = true, step = true;
	int i;

	if (!m->ncpus) {
		fmt_bytes(out, n, v, m->value_size);
		return;
	}
	base = slot_value(m, v, 0);
	for (i = 1; i < m->ncpus; i++) {
		all &= slot_value(m, v, i) == base;
		step &= slot_value(m, v, i) == base + i;
	}
	if (all)
		snprintf(out, n, "all=%llu", (unsigned long long)base);
	else if (step)
		snprintf(out, n, "base+cpu=%llu", (unsigned long long)base);
	else
		snprintf(out, n, "mixed");
}

/* Bytes of one value in a syscall: all CPUs' slots for per-CPU maps. */
static size_t value_bytes(const struct tmap *m)
{
	return m->ncpus ? (size_t)m->ncpus * ((m->value_size + 7) & ~7u) : m->value_size;
}

static void fill_value(const struct tmap *m, void *buf, __u64 v)
{
	int i, slots = m->ncpus ? m->ncpus : 1;

	memset(buf, 0, value_bytes(m));
	for (i = 0; i < slots; i++) {
		unsigned char *p = (unsigned char *)buf + (size_t)i * ((m->value_size + 7) & ~7u);
		__u64 x = v + (m->ncpus ? (__u64)i : 0);

		if (m->value_size == 4)
			*(__u32 *)p = (__u32)x;
		else if (m->value_size >= 8)
			*(__u64 *)p = x;
	}
}

/* ---- map commands ------------------------------------------------------- */

/*
 * MAP_CREATE from a filled attr; the map's name is "tr_<label>". Prints the
 * line and fills *m (m->fd is -1 on failure).
 */
static int create_attr(struct tmap *m, const char *label, union bpf_attr *attr, int ncpus)
{
	struct res r;

	snprintf(attr->map_name, sizeof(attr->map_name), "tr_%s", label);
	r = sys_bpf(BPF_MAP_CREATE, attr, sizeof(*attr));
	show(r, NULL, "MAP_CREATE %s type=%s key=%u value=%u max=%u flags=0x%x", label,
	     type_name(attr->map_type), attr->key_size, attr->value_size, attr->max_entries,
	     attr->map_flags);
	memset(m, 0, sizeof(*m));
	m->label = label;
	m->fd = r.ret >= 0 ? (int)r.ret : -1;
	m->type = attr->map_type;
	m->key_size = attr->key_size;
	m->value_size = attr->value_size;
	m->max_entries = attr->max_entries;
	if (attr->map_type == BPF_MAP_TYPE_PERCPU_HASH ||
	    attr->map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    attr->map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		m->ncpus = ncpus;
	return m->fd;
}

static int create(struct tmap *m, const char *label, __u32 type, __u32 key_size, __u32 value_size,
		  __u32 max_entries, __u32 flags, int ncpus)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.map_flags = flags;
	return create_attr(m, label, &attr, ncpus);
}

static struct res elem_call(int cmd, int fd, const void *key, void *value, __u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = ptr(key);
	attr.value = ptr(value);
	attr.flags = flags;
	return sys_bpf(cmd, &attr, sizeof(attr));
}

static long update(const struct tmap *m, const void *key, __u64 v, __u64 flags)
{
	unsigned char val[TR_VALUE_MAX];
	char k[64], vs[64];
	struct res r;

	fill_value(m, val, v);
	r = elem_call(BPF_MAP_UPDATE_ELEM, m->fd, key, val, flags);
	fmt_key(k, sizeof(k), m, key);
	fmt_value(vs, sizeof(vs), m, val);
	show(r, NULL, "MAP_UPDATE_ELEM %s key=%s value=%s flags=%llu", m->label, k, vs,
	     (unsigned long long)flags);
	return r.ret;
}

/* MAP_LOOKUP_ELEM or MAP_LOOKUP_AND_DELETE_ELEM, printing the value found. */
static long lookup_cmd(int cmd, const struct tmap *m, const void *key, __u64 flags)
{
	unsigned char val[TR_VALUE_MAX];
	char k[64], vs[80] = "";
	struct res r;

	memset(val, 0xee, sizeof(val));
	r = elem_call(cmd, m->fd, key, val, flags);
	fmt_key(k, sizeof(k), m, key);
	if (r.ret == 0) {
		strcpy(vs, "value=");
		fmt_value(vs + 6, sizeof(vs) - 6, m, val);
	}
	show(r, vs, "%s %s key=%s flags=%llu",
	     cmd == BPF_MAP_LOOKUP_ELEM ? "MAP_LOOKUP_ELEM" : "MAP_LOOKUP_AND_DELETE_ELEM",
	     m->label, k, (unsigned long long)flags);
	return r.ret;
}

static long lookup(const struct tmap *m, const void *key, __u64 flags)
{
	return lookup_cmd(BPF_MAP_LOOKUP_ELEM, m, key, flags);
}

static long lookup_and_delete(const struct tmap *m, const void *key, __u64 flags)
{
	return lookup_cmd(BPF_MAP_LOOKUP_AND_DELETE_ELEM, m, key, flags);
}

/* MAP_LOOKUP_ELEM of key k through any fd (maps with 4-byte keys, values of 4 or 8 bytes). */
static struct res lookup_fd(int fd, __u32 k, const char *what)
{
	__u64 value = 0;
	struct res r = elem_call(BPF_MAP_LOOKUP_ELEM, fd, &k, &value, 0);
	char out[32];

	snprintf(out, sizeof(out), "value=%llu", (unsigned long long)value);
	show(r, r.ret == 0 ? out : NULL, "MAP_LOOKUP_ELEM %s key=%u", what, k);
	return r;
}

static long delete_elem(const struct tmap *m, const void *key)
{
	char k[64];
	struct res r;

	r = elem_call(BPF_MAP_DELETE_ELEM, m->fd, key, NULL, 0);
	fmt_key(k, sizeof(k), m, key);
	show(r, NULL, "MAP_DELETE_ELEM %s key=%s", m->label, k);
	return r.ret;
}

/* MAP_GET_NEXT_KEY printing the next key: for maps whose order is defined. */
static long next_key(const struct tmap *m, const void *key)
{
	unsigned char next[64];
	char k[64], n[80] = "";
	struct res r;

	memset(next, 0xee, sizeof(next));
	r = elem_call(BPF_MAP_GET_NEXT_KEY, m->fd, key, next, 0);
	fmt_key(k, sizeof(k), m, key);
	if (r.ret == 0) {
		strcpy(n, "next=");
		fmt_key(n + 5, sizeof(n) - 5, m, next);
	}
	show(r, n, "MAP_GET_NEXT_KEY %s key=%s", m->label, k);
	return r.ret;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Walks a map with 4-byte keys by MAP_GET_NEXT_KEY from NULL and prints its
 * keys sorted (hash maps iterate in an order of their own), and whether the
 * walk ended in ENOENT.
 */
static void walk(const struct tmap *m)
{
	__u32 keys[256], cur = 0, next;
	char out[1024] = "keys=";
	size_t used = 5;
	struct res r;
	int n = 0, i;

	for (;;) {
		r = elem_call(BPF_MAP_GET_NEXT_KEY, m->fd, n ? &cur : NULL, &next, 0);
		if (r.ret < 0 || n == 256)
			break;
		keys[n++] = cur = next;
	}
	qsort(keys, n, sizeof(keys[0]), cmp_u32);
	for (i = 0; i < n && used + 12 < sizeof(out); i++)
		used += snprintf(out + used, sizeof(out) - used, "%s%u", i ? "," : "", keys[i]);
	if (!n)
		strcpy(out + used, "none");
	show(r, out, "MAP_GET_NEXT_KEY %s walk-from-NULL n=%d", m->label, n);
}

/* MAP_GET_NEXT_KEY of a key not in the map gives the first key, as NULL does. */
static void next_of_missing(const struct tmap *m, __u32 missing)
{
	__u32 first = 0, next = 0;
	struct res r0, r;

	r0 = elem_call(BPF_MAP_GET_NEXT_KEY, m->fd, NULL, &first, 0);
	r = elem_call(BPF_MAP_GET_NEXT_KEY, m->fd, &missing, &next, 0);
	show(r, r.ret == 0 ? (r0.ret == 0 && first == next ? "next=first-key" : "next=OTHER") : "",
	     "MAP_GET_NEXT_KEY %s key=%u(missing)", m->label, missing);
}

static long freeze(const struct tmap *m)
{
	union bpf_attr attr;
	struct res r;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = m->fd;
	r = sys_bpf(BPF_MAP_FREEZE, &attr, sizeof(attr));
	show(r, NULL, "MAP_FREEZE %s", m->label);
	return r.ret;
}

/* OBJ_GET_INFO_BY_FD on a map: the fields that do not vary between runs. */
static void map_info(const struct tmap *m)
{
	struct bpf_map_info info;
	union bpf_attr attr;
	char out[256] = "";
	struct res r;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = m->fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr(&info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	if (r.ret == 0)
		snprintf(out, sizeof(out),
			 "type=%s key=%u value=%u max=%u flags=0x%x name=%s extra=%llu "
			 "id=%s info_len=%u",
			 type_name(info.type), info.key_size, info.value_size, info.max_entries,
			 info.map_flags, info.name, (unsigned long long)info.map_extra,
			 info.id ? "set" : "0", attr.info.info_len);
	show(r, out, "OBJ_GET_INFO_BY_FD %s", m->label);
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr(&info);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)).ret == 0 ? info.id : 0;
}

/* ---- batches ---------------------------------------------------------- */

struct kv {
	__u32 key;
	__u64 value;
};

static int cmp_kv(const void *a, const void *b)
{
	return cmp_u32(&((const struct kv *)a)->key, &((const struct kv *)b)->key);
}

/*
 * A lookup (and delete) batch on a map with 4-byte keys and 8-byte values:
 * prints the count returned and the pairs, sorted by key. *batch is the
 * opaque position, NULL to start; in_batch/out_batch use the one buffer.
 */
static long lookup_batch(int cmd, const struct tmap *m, __u64 *batch, bool first, __u32 count,
			 __u64 elem_flags, __u64 flags)
{
	struct kv pairs[64];
	__u32 keys[64] = {0}, n;
	__u64 values[64] = {0};
	char out[1024];
	size_t used;
	union bpf_attr attr;
	struct res r;

	memset(&attr, 0, sizeof(attr));
	attr.batch.map_fd = m->fd;
	attr.batch.in_batch = first ? 0 : ptr(batch);
	attr.batch.out_batch = ptr(batch);
	attr.batch.keys = ptr(keys);
	attr.batch.values = ptr(values);
	attr.batch.count = count;
	attr.batch.elem_flags = elem_flags;
	attr.batch.flags = flags;
	r = sys_bpf(cmd, &attr, sizeof(attr));
	n = attr.batch.count < 64 ? attr.batch.count : 64;
	/* count is printed as the kernel left it; pairs only when the call returned any. */
	used = snprintf(out, sizeof(out), "count=%u", attr.batch.count);
	if (r.ret < 0 && r.err != ENOENT)
		n = 0;
	for (__u32 i = 0; i < n; i++) {
		pairs[i].key = keys[i];
		pairs[i].value = values[i];
	}
	qsort(pairs, n, sizeof(pairs[0]), cmp_kv);
	for (__u32 i = 0; i < n && used + 32 < sizeof(out); i++)
		used += snprintf(out + used, sizeof(out) - used, "%s%u:%llu", i ? "," : " ",
				 pairs[i].key, (unsigned long long)pairs[i].value);
	show(r, out, "%s %s %s count=%u elem_flags=%llu flags=%llu",
	     cmd == BPF_MAP_LOOKUP_BATCH ? "MAP_LOOKUP_BATCH" : "MAP_LOOKUP_AND_DELETE_BATCH",
	     m->label, first ? "from-start" : "from-batch", count, (unsigned long long)elem_flags,
	     (unsigned long long)flags);
	return r.ret;
}

/* An update or delete batch of n 4-byte keys (values v[i] for updates). */
static long change_batch(int cmd, const struct tmap *m, const __u32 *keys, const __u64 *values,
			 __u32 n, __u64 elem_flags)
{
	char ks[256];
	size_t used = 0;
	union bpf_attr attr;
	struct res r;
	char out[32];

	memset(&attr, 0, sizeof(attr));
	attr.batch.map_fd = m->fd;
	attr.batch.keys = ptr(keys);
	attr.batch.values = ptr(values);
	attr.batch.count = n;
	attr.batch.elem_flags = elem_flags;
	r = sys_bpf(cmd, &attr, sizeof(attr));
	ks[0] = '\0';
	for (__u32 i = 0; i < n && used + 32 < sizeof(ks); i++) {
		if (values)
			used += snprintf(ks + used, sizeof(ks) - used, "%s%u:%llu", i ? "," : "",
					 keys[i], (unsigned long long)values[i]);
		else
			used +=
			    snprintf(ks + used, sizeof(ks) - used, "%s%u", i ? "," : "", keys[i]);
	}
	snprintf(out, sizeof(out), "count=%u", attr.batch.count);
	show(r, out, "%s %s %s elem_flags=%llu",
	     cmd == BPF_MAP_UPDATE_BATCH ? "MAP_UPDATE_BATCH" : "MAP_DELETE_BATCH", m->label, ks,
	     (unsigned long long)elem_flags);
	return r.ret;
}

/* A pointer to a 4-byte key. */
#define K(x) (&(__u32){(x)})

/* ---- sections ------------------------------------------------------------ */

/* MAP_CREATE attrs the kernel refuses (map_create() and each type's alloc_check). */
static void section_create_errors(void)
{
	static const struct {
		const char *label;
		__u32 type, key, value, max, flags;
	} bad[] = {
	    {"unknown_type", 1000, 4, 8, 4, 0},
	    {"hash_key0", BPF_MAP_TYPE_HASH, 0, 8, 4, 0},
	    {"hash_value0", BPF_MAP_TYPE_HASH, 4, 0, 4, 0},
	    {"hash_max0", BPF_MAP_TYPE_HASH, 4, 8, 0, 0},
	    {"hash_badflag", BPF_MAP_TYPE_HASH, 4, 8, 4, 1u << 30},
	    {"array_key8", BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0},
	    {"array_noprealloc", BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC},
	    {"rdonly_wronly", BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY},
	    {"pcpu_array_big", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 1 << 20, 4, 0},
	    {"ringbuf_key4", BPF_MAP_TYPE_RINGBUF, 4, 0, PAGE, 0},
	    {"ringbuf_notpow2", BPF_MAP_TYPE_RINGBUF, 0, 0, 3 * PAGE, 0},
	    {"ringbuf_small", BPF_MAP_TYPE_RINGBUF, 0, 0, 1024, 0},
	    {"queue_key4", BPF_MAP_TYPE_QUEUE, 4, 4, 4, 0},
	    {"stack_value0", BPF_MAP_TYPE_STACK, 0, 0, 4, 0},
	    {"lpm_prealloc", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, 0},
	    {"lpm_key4", BPF_MAP_TYPE_LPM_TRIE, 4, 8, 4, BPF_F_NO_PREALLOC},
	    {"bloom_key4", BPF_MAP_TYPE_BLOOM_FILTER, 4, 4, 4, 0},
	    {"perf_key8", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 8, 4, 4, 0},
	};
	union bpf_attr attr;
	struct tmap m;
	struct res r;
	size_t i;

	section("MAP_CREATE refused");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		create(&m, bad[i].label, bad[i].type, bad[i].key, bad[i].value, bad[i].max,
		       bad[i].flags, 0);
		close_fdp(&m.fd);
	}

	/* Names: [A-Za-z0-9_.] only, NUL-terminated within 16 bytes (bpf_obj_name_cpy()). */
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	memcpy(attr.map_name, "bad-name", 9);
	r = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	show(r, NULL, "MAP_CREATE ARRAY name=bad-name");
	if (r.ret >= 0)
		close(r.ret);
	memset(attr.map_name, 'a', sizeof(attr.map_name));
	r = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	show(r, NULL, "MAP_CREATE ARRAY name=16*a(no NUL)");
	if (r.ret >= 0)
		close(r.ret);
	memcpy(attr.map_name, "ok.name_1", 10);
	r = sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	show(r, NULL, "MAP_CREATE ARRAY name=ok.name_1");
	if (r.ret >= 0)
		close(r.ret);

	/* ARRAY_OF_MAPS needs an inner map fd: -1 is none. */
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 2;
	attr.inner_map_fd = -1;
	create_attr(&m, "aom_noinner", &attr, 0);
	close_fdp(&m.fd);
}

static void section_hash(void)
{
	struct tmap m;

	section("HASH");
	if (create(&m, "hash", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0) < 0)
		return;
	lookup(&m, K(1), 0);
	update(&m, K(1), 100, BPF_ANY);
	update(&m, K(1), 101, BPF_NOEXIST);
	update(&m, K(2), 200, BPF_EXIST);
	update(&m, K(2), 200, BPF_NOEXIST);
	update(&m, K(3), 300, BPF_F_LOCK);
	update(&m, K(3), 300, 8);
	lookup(&m, K(1), 0);
	lookup(&m, K(1), BPF_F_LOCK);
	lookup(&m, K(1), 8);
	update(&m, K(3), 300, BPF_ANY);
	update(&m, K(4), 400, BPF_ANY);
	/* Full: a new key is refused, an existing one is replaced. */
	update(&m, K(5), 500, BPF_ANY);
	update(&m, K(1), 111, BPF_EXIST);
	update(&m, K(1), 112, BPF_ANY);
	lookup(&m, K(1), 0);
	walk(&m);
	next_of_missing(&m, 99);
	delete_elem(&m, K(4));
	delete_elem(&m, K(4));
	lookup_and_delete(&m, K(3), 0);
	lookup(&m, K(3), 0);
	lookup_and_delete(&m, K(3), 0);
	lookup_and_delete(&m, K(2), BPF_F_LOCK);
	lookup_and_delete(&m, K(2), 8);
	walk(&m);
	map_info(&m);
	/*
	 * Frozen: no syscall-side writes. A second freeze is EPERM, not EBUSY: map_freeze()
	 * checks for write access (which freezing took away) before checking frozen.
	 */
	freeze(&m);
	update(&m, K(1), 1, BPF_ANY);
	update(&m, K(7), 7, BPF_ANY);
	delete_elem(&m, K(1));
	lookup_and_delete(&m, K(2), 0);
	lookup(&m, K(1), 0);
	freeze(&m);
	close_fdp(&m.fd);
}

static void section_array(void)
{
	struct tmap m;

	section("ARRAY");
	if (create(&m, "array", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0) < 0)
		return;
	lookup(&m, K(0), 0);
	lookup(&m, K(4), 0);
	update(&m, K(4), 1, BPF_ANY);
	update(&m, K(1), 10, BPF_NOEXIST);
	update(&m, K(1), 11, BPF_EXIST);
	update(&m, K(2), 22, BPF_ANY);
	update(&m, K(2), 22, 3);
	lookup(&m, K(1), 0);
	delete_elem(&m, K(1));
	delete_elem(&m, K(9));
	lookup_and_delete(&m, K(1), 0);
	next_key(&m, NULL);
	next_key(&m, K(1));
	next_key(&m, K(3));
	next_key(&m, K(100));
	map_info(&m);
	freeze(&m);
	update(&m, K(1), 1, BPF_ANY);
	lookup(&m, K(1), 0);
	freeze(&m);
	close_fdp(&m.fd);
}

static void section_percpu(int ncpus)
{
	struct tmap h, a;

	section("PERCPU_HASH, PERCPU_ARRAY");
	if (create(&h, "pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, 0, ncpus) < 0)
		return;
	lookup(&h, K(1), 0);
	update(&h, K(1), 1000, BPF_ANY);
	update(&h, K(2), 2000, BPF_NOEXIST);
	update(&h, K(2), 2001, BPF_NOEXIST);
	update(&h, K(1), 1, BPF_F_LOCK);
	lookup(&h, K(1), 0);
	lookup(&h, K(2), 0);
	walk(&h);
	next_of_missing(&h, 77);
	lookup_and_delete(&h, K(2), 0);
	lookup(&h, K(2), 0);
	delete_elem(&h, K(1));
	delete_elem(&h, K(1));
	map_info(&h);
	close_fdp(&h.fd);

	/* 4-byte values: each CPU's slot is 8 bytes in a syscall value. */
	if (create(&a, "pcpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2, 0, ncpus) < 0)
		return;
	lookup(&a, K(0), 0);
	update(&a, K(0), 50, BPF_ANY);
	update(&a, K(1), 60, BPF_EXIST);
	update(&a, K(2), 70, BPF_ANY);
	update(&a, K(1), 60, BPF_NOEXIST);
	lookup(&a, K(0), 0);
	lookup(&a, K(1), 0);
	lookup(&a, K(2), 0);
	delete_elem(&a, K(0));
	next_key(&a, NULL);
	next_key(&a, K(1));
	map_info(&a);
	close_fdp(&a.fd);
}

static void section_lru(void)
{
	struct tmap m;

	section("LRU_HASH");
	/* Large enough that nothing is evicted: eviction depends on the CPU a call runs on. */
	if (create(&m, "lru", BPF_MAP_TYPE_LRU_HASH, 4, 8, 1024, 0, 0) < 0)
		return;
	lookup(&m, K(1), 0);
	update(&m, K(1), 10, BPF_ANY);
	update(&m, K(2), 20, BPF_NOEXIST);
	update(&m, K(2), 21, BPF_NOEXIST);
	update(&m, K(3), 30, BPF_EXIST);
	update(&m, K(3), 30, BPF_ANY);
	update(&m, K(3), 31, BPF_EXIST);
	lookup(&m, K(3), 0);
	walk(&m);
	next_of_missing(&m, 99);
	lookup_and_delete(&m, K(2), 0);
	delete_elem(&m, K(1));
	delete_elem(&m, K(1));
	walk(&m);
	map_info(&m);
	close_fdp(&m.fd);
}

/* QUEUE and STACK: push is UPDATE (key NULL), peek LOOKUP, pop LOOKUP_AND_DELETE. */
static void queue_or_stack(__u32 type, const char *label)
{
	struct tmap m;

	if (create(&m, label, type, 0, 4, 3, 0, 0) < 0)
		return;
	lookup(&m, NULL, 0);
	lookup_and_delete(&m, NULL, 0);
	update(&m, NULL, 1, BPF_ANY);
	update(&m, NULL, 2, BPF_ANY);
	update(&m, NULL, 3, BPF_ANY);
	/* Full: E2BIG, unless BPF_EXIST, which drops the oldest (queue_stack_map_push_elem()). */
	update(&m, NULL, 4, BPF_ANY);
	update(&m, NULL, 4, BPF_EXIST);
	update(&m, NULL, 5, BPF_NOEXIST);
	update(&m, K(0), 5, BPF_ANY);
	lookup(&m, NULL, 0);
	lookup(&m, K(0), 0);
	lookup_and_delete(&m, NULL, 0);
	lookup_and_delete(&m, NULL, 0);
	lookup_and_delete(&m, NULL, BPF_F_LOCK);
	delete_elem(&m, NULL);
	next_key(&m, NULL);
	map_info(&m);
	freeze(&m);
	update(&m, NULL, 6, BPF_ANY);
	lookup_and_delete(&m, NULL, 0);
	lookup(&m, NULL, 0);
	close_fdp(&m.fd);
}

static void section_queue_stack(void)
{
	section("QUEUE");
	queue_or_stack(BPF_MAP_TYPE_QUEUE, "queue");
	section("STACK");
	queue_or_stack(BPF_MAP_TYPE_STACK, "stack");
}

static void section_bloom(void)
{
	union bpf_attr attr;
	struct tmap m;

	section("BLOOM_FILTER");
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_BLOOM_FILTER;
	attr.value_size = 4;
	attr.max_entries = 16;
	attr.map_extra = 3; /* hash functions */
	attr.map_flags = BPF_F_ZERO_SEED;
	if (create_attr(&m, "bloom", &attr, 0) < 0)
		return;
	lookup(&m, NULL, 0); /* tests the value 0xeeeeeeee in an empty filter */
	update(&m, NULL, 7, BPF_ANY);
	update(&m, NULL, 9, BPF_ANY);
	update(&m, NULL, 9, BPF_EXIST);
	update(&m, NULL, 9, BPF_NOEXIST);
	delete_elem(&m, NULL);
	next_key(&m, NULL);
	lookup_and_delete(&m, NULL, 0);
	map_info(&m);
	close_fdp(&m.fd);

	/* map_extra beyond 15 hash functions is refused. */
	attr.map_extra = 16;
	create_attr(&m, "bloom_extra16", &attr, 0);
	close_fdp(&m.fd);
}

/* A bloom filter's peek takes the value to test, not an output buffer. */
static void bloom_peek(const struct tmap *m, __u32 v)
{
	struct res r = elem_call(BPF_MAP_LOOKUP_ELEM, m->fd, NULL, &v, 0);

	show(r, NULL, "MAP_LOOKUP_ELEM %s value=%u(peek)", m->label, v);
}

static void section_bloom_peek(void)
{
	union bpf_attr attr;
	struct tmap m;
	__u32 v = 7;
	struct res r;

	section("BLOOM_FILTER peek");
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_BLOOM_FILTER;
	attr.value_size = 4;
	attr.max_entries = 64;
	/* Seeded with zero, so that a false positive would at least be the same every run. */
	attr.map_flags = BPF_F_ZERO_SEED;
	if (create_attr(&m, "bloom_peek", &attr, 0) < 0)
		return;
	bloom_peek(&m, 7);
	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, NULL, &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM %s value=7", m.label);
	bloom_peek(&m, 7);
	bloom_peek(&m, 8);
	close_fdp(&m.fd);
}

static struct lpm_key *lpm(struct lpm_key *k, __u32 prefixlen, __u8 a, __u8 b, __u8 c, __u8 d)
{
	k->prefixlen = prefixlen;
	k->addr[0] = a;
	k->addr[1] = b;
	k->addr[2] = c;
	k->addr[3] = d;
	return k;
}

static void section_lpm(void)
{
	struct lpm_key k;
	struct tmap m;

	section("LPM_TRIE");
	if (create(&m, "lpm", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 0) < 0)
		return;
	lookup(&m, lpm(&k, 32, 10, 1, 2, 3), 0);
	next_key(&m, NULL);
	update(&m, lpm(&k, 8, 10, 0, 0, 0), 1, BPF_ANY);
	update(&m, lpm(&k, 16, 10, 1, 0, 0), 2, BPF_ANY);
	update(&m, lpm(&k, 24, 192, 168, 0, 0), 3, BPF_NOEXIST);
	update(&m, lpm(&k, 24, 192, 168, 0, 0), 3, BPF_NOEXIST);
	update(&m, lpm(&k, 12, 172, 16, 0, 0), 4, BPF_EXIST);
	update(&m, lpm(&k, 33, 10, 0, 0, 0), 5, BPF_ANY);
	lookup(&m, lpm(&k, 32, 10, 1, 2, 3), 0);
	lookup(&m, lpm(&k, 32, 10, 2, 0, 1), 0);
	lookup(&m, lpm(&k, 32, 11, 0, 0, 1), 0);
	lookup(&m, lpm(&k, 16, 10, 1, 0, 0), 0);
	lookup(&m, lpm(&k, 33, 10, 1, 0, 0), 0);
	/* The walk order is the trie's (trie_get_next_key()); a missing key starts over. */
	next_key(&m, NULL);
	next_key(&m, lpm(&k, 16, 10, 1, 0, 0));
	next_key(&m, lpm(&k, 8, 10, 0, 0, 0));
	next_key(&m, lpm(&k, 24, 192, 168, 0, 0));
	next_key(&m, lpm(&k, 12, 172, 16, 0, 0));
	update(&m, lpm(&k, 12, 172, 16, 0, 0), 4, BPF_ANY);
	/* Full (4 entries): a new prefix gets ENOSPC, a replacement succeeds. */
	update(&m, lpm(&k, 32, 1, 2, 3, 4), 6, BPF_ANY);
	update(&m, lpm(&k, 8, 10, 0, 0, 0), 11, BPF_ANY);
	delete_elem(&m, lpm(&k, 16, 10, 1, 0, 0));
	delete_elem(&m, lpm(&k, 16, 10, 1, 0, 0));
	lookup(&m, lpm(&k, 32, 10, 1, 2, 3), 0);
	lookup_and_delete(&m, lpm(&k, 8, 10, 0, 0, 0), 0);
	map_info(&m);
	close_fdp(&m.fd);
}

static void mmap_note(size_t len, int prot, int fd, off_t off, const char *what)
{
	void *q = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	note(q == MAP_FAILED ? -1 : 0, errno, "mmap %s len=%zu off=%lld prot=%s", what, len,
	     (long long)off,
	     prot == PROT_READ                  ? "r"
	     : prot == (PROT_READ | PROT_WRITE) ? "rw"
						: "other");
	if (q != MAP_FAILED)
		munmap(q, len);
}

static void section_ringbuf(void)
{
	struct tmap m;

	section("RINGBUF");
	if (create(&m, "ringbuf", BPF_MAP_TYPE_RINGBUF, 0, 0, PAGE, 0, 0) < 0)
		return;
	lookup(&m, NULL, 0);
	update(&m, NULL, 0, BPF_ANY);
	delete_elem(&m, NULL);
	next_key(&m, NULL);
	map_info(&m);
	/* The consumer page is writable, the producer page and data read-only
	 * (ringbuf_map_mmap_kern()). */
	mmap_note(PAGE, PROT_READ | PROT_WRITE, m.fd, 0, "consumer");
	mmap_note(PAGE * 3, PROT_READ, m.fd, PAGE, "producer+data");
	mmap_note(PAGE, PROT_READ | PROT_WRITE, m.fd, PAGE, "producer");
	mmap_note(PAGE * 2, PROT_READ | PROT_WRITE, m.fd, 0, "consumer+producer");
	mmap_note(PAGE * 4, PROT_READ, m.fd, PAGE, "producer+data+1page");
	close_fdp(&m.fd);
}

/* A BPF output event on one CPU, as libbpf's perf_buffer__new() opens them. */
static int open_bpf_output(int cpu)
{
	struct perf_event_attr pa;
	struct res r;

	memset(&pa, 0, sizeof(pa));
	pa.size = sizeof(pa);
	pa.type = PERF_TYPE_SOFTWARE;
	pa.config = PERF_COUNT_SW_BPF_OUTPUT;
	pa.sample_type = PERF_SAMPLE_RAW;
	pa.sample_period = 1;
	pa.wakeup_events = 1;
	r.ret = syscall(__NR_perf_event_open, &pa, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	r.err = r.ret < 0 ? errno : 0;
	r.fd = true;
	show(r, NULL, "perf_event_open SW_BPF_OUTPUT pid=-1 cpu=%d", cpu);
	return r.ret >= 0 ? (int)r.ret : -1;
}

static void section_perf_array(void)
{
	cleanup_close int pipe_r = -1, pipe_w = -1, event = -1;
	int p[2];
	struct tmap m;
	__u32 v;
	struct res r;

	section("PERF_EVENT_ARRAY");
	if (create(&m, "perf", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, 0) < 0)
		return;
	lookup(&m, K(0), 0);
	delete_elem(&m, K(0));
	next_key(&m, NULL);
	next_key(&m, K(3));
	update(&m, K(4), 0, BPF_ANY);
	/* A value is a perf event fd: a pipe or a closed fd is refused (perf_event_get()). */
	if (pipe2(p, O_CLOEXEC) == 0) {
		pipe_r = p[0];
		pipe_w = p[1];
		v = pipe_r;
		r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(0), &v, BPF_ANY);
		show(r, NULL, "MAP_UPDATE_ELEM perf key=0 value=pipe-fd");
	}
	v = 1000000;
	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(0), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM perf key=0 value=closed-fd");
	event = open_bpf_output(0);
	if (event >= 0) {
		v = event;
		r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(0), &v, BPF_ANY);
		show(r, NULL, "MAP_UPDATE_ELEM perf key=0 value=event-fd");
		r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(1), &v, BPF_NOEXIST);
		show(r, NULL, "MAP_UPDATE_ELEM perf key=1 value=event-fd flags=NOEXIST");
		lookup(&m, K(0), 0);
		next_key(&m, K(0));
		delete_elem(&m, K(0));
		delete_elem(&m, K(0));
		lookup_fd(event, 0, "perf-event-fd");
	}
	map_info(&m);
	close_fdp(&m.fd);
}

static void section_of_maps(void)
{
	cleanup_close int pipe_r = -1, pipe_w = -1;
	struct tmap inner, other, hash, outer;
	union bpf_attr attr;
	char out[64];
	__u32 v, id = 0;
	struct res r;
	int p[2];

	section("ARRAY_OF_MAPS");
	if (create(&inner, "inner", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0) < 0)
		return;
	create(&other, "inner_max4", BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0, 0);
	create(&hash, "inner_hash", BPF_MAP_TYPE_HASH, 4, 4, 1, 0, 0);
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 2;
	attr.inner_map_fd = inner.fd;
	if (create_attr(&outer, "outer", &attr, 0) < 0)
		goto out;
	lookup(&outer, K(0), 0);
	v = inner.fd;
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(0), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=0 value=inner-fd");
	/* A lookup from a syscall gives the inner map's id (bpf_map_fd_sys_lookup_elem()). */
	r = elem_call(BPF_MAP_LOOKUP_ELEM, outer.fd, K(0), &id, 0);
	snprintf(out, sizeof(out), "value=%s", id && id == map_id(inner.fd) ? "inner-id" : "OTHER");
	show(r, r.ret == 0 ? out : "", "MAP_LOOKUP_ELEM outer key=0");
	v = other.fd;
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(1), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=1 value=array-max4-fd");
	v = hash.fd;
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(1), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=1 value=hash-fd");
	if (pipe2(p, O_CLOEXEC) == 0) {
		pipe_r = p[0];
		pipe_w = p[1];
		v = pipe_r;
		r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(1), &v, BPF_ANY);
		show(r, NULL, "MAP_UPDATE_ELEM outer key=1 value=pipe-fd");
	}
	v = 1000000;
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(1), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=1 value=closed-fd");
	v = inner.fd;
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(2), &v, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=2 value=inner-fd");
	r = elem_call(BPF_MAP_UPDATE_ELEM, outer.fd, K(1), &v, BPF_NOEXIST);
	show(r, NULL, "MAP_UPDATE_ELEM outer key=1 value=inner-fd flags=NOEXIST");
	next_key(&outer, NULL);
	next_key(&outer, K(0));
	delete_elem(&outer, K(0));
	delete_elem(&outer, K(0));
	lookup(&outer, K(0), 0);
	lookup_and_delete(&outer, K(1), 0);
	map_info(&outer);
	close_fdp(&outer.fd);
out:
	close_fdp(&inner.fd);
	close_fdp(&other.fd);
	close_fdp(&hash.fd);
}

static void section_batch(void)
{
	static const __u32 keys[] = {1, 2, 3, 4, 5, 6};
	static const __u64 values[] = {10, 20, 30, 40, 50, 60};
	static const __u32 del[] = {1, 99, 2};
	__u64 batch = 0;
	struct tmap h, a;

	section("batches: HASH");
	if (create(&h, "bhash", BPF_MAP_TYPE_HASH, 4, 8, 8, 0, 0) < 0)
		return;
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &h, &batch, true, 8, 0, 0);
	change_batch(BPF_MAP_UPDATE_BATCH, &h, keys, values, 6, 0);
	change_batch(BPF_MAP_UPDATE_BATCH, &h, keys, values, 2, BPF_F_LOCK);
	/* A count covering everything: all pairs, and ENOENT for reaching the end. */
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &h, &batch, true, 8, 0, 0);
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &h, &batch, true, 8, BPF_F_LOCK, 0);
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &h, &batch, true, 8, 0, 1);
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &h, &batch, true, 0, 0, 0);
	/* Deletes in order until a key is missing; count says how many went. */
	change_batch(BPF_MAP_DELETE_BATCH, &h, del, NULL, 3, 0);
	walk(&h);
	lookup_batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, &h, &batch, true, 8, 0, 0);
	walk(&h);
	close_fdp(&h.fd);

	section("batches: ARRAY");
	if (create(&a, "barray", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0) < 0)
		return;
	change_batch(BPF_MAP_UPDATE_BATCH, &a, keys, values, 3, 0);
	change_batch(BPF_MAP_UPDATE_BATCH, &a, keys + 2, values + 2, 4, 0);
	/* Pages of 3 over 4 entries: the last page has one pair and ENOENT. */
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &a, &batch, true, 3, 0, 0);
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &a, &batch, false, 3, 0, 0);
	/* A page of exactly 4: no ENOENT yet; the next call finds nothing. */
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &a, &batch, true, 4, 0, 0);
	lookup_batch(BPF_MAP_LOOKUP_BATCH, &a, &batch, false, 4, 0, 0);
	change_batch(BPF_MAP_DELETE_BATCH, &a, keys, NULL, 1, 0);
	lookup_batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, &a, &batch, true, 4, 0, 0);
	close_fdp(&a.fd);
}

/* BPF_F_RDONLY / BPF_F_WRONLY: the syscall side's access (map_get_sys_perms()). */
static void section_access(void)
{
	struct tmap m;

	section("BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG");
	if (create(&m, "rdonly", BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY, 0) >= 0) {
		update(&m, K(1), 1, BPF_ANY);
		lookup(&m, K(1), 0);
		delete_elem(&m, K(1));
		next_key(&m, NULL);
		freeze(&m);
		map_info(&m);
		close_fdp(&m.fd);
	}
	if (create(&m, "wronly", BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_WRONLY, 0) >= 0) {
		update(&m, K(1), 1, BPF_ANY);
		lookup(&m, K(1), 0);
		next_key(&m, NULL);
		lookup_and_delete(&m, K(1), 0);
		delete_elem(&m, K(1));
		map_info(&m);
		close_fdp(&m.fd);
	}
	if (create(&m, "rdonly_prog", BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY_PROG, 0) >= 0) {
		update(&m, K(0), 5, BPF_ANY);
		lookup(&m, K(0), 0);
		map_info(&m);
		close_fdp(&m.fd);
	}
}

/* An ARRAY with BPF_F_MMAPABLE: the mapping and the syscalls see one memory. */
static void section_mmapable(void)
{
	struct tmap m;
	__u64 *mem;

	section("ARRAY BPF_F_MMAPABLE");
	if (create(&m, "mmapable", BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, 0) < 0)
		return;
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	note(mem == MAP_FAILED ? -1 : 0, errno, "mmap mmapable len=%d off=0 prot=rw", PAGE);
	if (mem != MAP_FAILED) {
		mem[2] = 77;
		lookup(&m, K(2), 0);
		update(&m, K(3), 88, BPF_ANY);
		printf("read mmapable[3] -> %llu\n", (unsigned long long)mem[3]);
		/* Frozen while writably mapped: busy (map_freeze()). */
		freeze(&m);
		munmap(mem, PAGE);
	}
	mmap_note(2 * PAGE, PROT_READ, m.fd, 0, "mmapable-2pages");
	mmap_note(PAGE, PROT_READ, m.fd, PAGE, "mmapable-off1page");
	freeze(&m);
	mmap_note(PAGE, PROT_READ | PROT_WRITE, m.fd, 0, "mmapable-frozen");
	mmap_note(PAGE, PROT_READ, m.fd, 0, "mmapable-frozen");
	close_fdp(&m.fd);

	if (create(&m, "not_mmapable", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0) >= 0) {
		mmap_note(PAGE, PROT_READ, m.fd, 0, "not_mmapable");
		close_fdp(&m.fd);
	}
	if (create(&m, "hash_mmapable", BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE, 0) >= 0)
		close_fdp(&m.fd);
}

static void attr_tails(unsigned char *big, int fd);

/* attr sizes and tails (bpf_check_uarg_tail_zero(), CHECK_ATTR()), unknown commands. */
static void section_attr(void)
{
	static unsigned char big[2 * PAGE] __attribute__((aligned(8)));
	union bpf_attr *attr = (union bpf_attr *)big;
	cleanup_close int fd = -1;
	struct res r;

	section("attr size and tail");
	r = sys_bpf(1000, big, sizeof(*attr));
	show(r, NULL, "cmd=1000");
	r = sys_bpf(-1, big, sizeof(*attr));
	show(r, NULL, "cmd=-1");
	r = sys_bpf(BPF_MAP_CREATE, NULL, sizeof(*attr));
	show(r, NULL, "MAP_CREATE attr=NULL");
	r = sys_bpf(BPF_MAP_CREATE, UNMAPPED, sizeof(*attr));
	show(r, NULL, "MAP_CREATE attr=unmapped");
	r = sys_bpf(BPF_MAP_CREATE, big, 0);
	show(r, NULL, "MAP_CREATE size=0");

	memset(big, 0, sizeof(big));
	attr->map_type = BPF_MAP_TYPE_ARRAY;
	attr->key_size = 4;
	attr->value_size = 8;
	attr->max_entries = 1;
	/* A size up to a page is fine while the bytes the kernel does not know are zero. */
	r = sys_bpf(BPF_MAP_CREATE, big, PAGE);
	show(r, NULL, "MAP_CREATE size=4096 tail=0");
	if (r.ret >= 0)
		close(r.ret);
	big[PAGE - 1] = 1;
	r = sys_bpf(BPF_MAP_CREATE, big, PAGE);
	show(r, NULL, "MAP_CREATE size=4096 tail[4095]=1");
	big[PAGE - 1] = 0;
	r = sys_bpf(BPF_MAP_CREATE, big, PAGE + 1);
	show(r, NULL, "MAP_CREATE size=4097 tail=0");
	/*
	 * Just past this header's union (Linux 6.1, 144 bytes): E2BIG if the running
	 * kernel's union ends there, EINVAL (CHECK_ATTR) if it is longer.
	 */
	big[sizeof(*attr)] = 1;
	r = sys_bpf(BPF_MAP_CREATE, big, sizeof(*attr) + 8);
	show(r, NULL, "MAP_CREATE size=sizeof(6.1 attr)+8 tail[0]=1");
	big[sizeof(*attr)] = 0;
	r = sys_bpf(BPF_MAP_CREATE, big, sizeof(*attr));
	show(r, NULL, "MAP_CREATE size=sizeof(6.1 attr)");
	fd = r.ret >= 0 ? (int)r.ret : -1;
	attr_tails(big, fd);
}

/* Non-zero bytes past a command's last field: CHECK_ATTR() -> EINVAL. */
static void attr_tails(unsigned char *big, int fd)
{
	union bpf_attr *attr = (union bpf_attr *)big;
	__u32 key = 0;
	__u64 value;
	struct res r;

	/* MAP_LOOKUP_ELEM's last field is flags (ending at byte 32). */
	memset(big, 0, sizeof(*attr) + 64);
	attr->map_fd = fd;
	attr->key = ptr(&key);
	attr->value = ptr(&value);
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, big, sizeof(*attr));
	show(r, NULL, "MAP_LOOKUP_ELEM size=sizeof(6.1 attr)");
	big[40] = 1;
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, big, sizeof(*attr));
	show(r, NULL, "MAP_LOOKUP_ELEM byte40=1");
	big[40] = 0;
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, big, 32);
	show(r, NULL, "MAP_LOOKUP_ELEM size=32");
	/* A short attr: the fields not passed are zero, so value is NULL. */
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, big, 16);
	show(r, NULL, "MAP_LOOKUP_ELEM size=16");
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, big, 4);
	show(r, NULL, "MAP_LOOKUP_ELEM size=4");
	/* MAP_FREEZE's last field is map_fd; OBJ_GET_INFO_BY_FD's is info (ending at 16). */
	memset(big, 0, sizeof(*attr) + 64);
	attr->map_fd = fd;
	big[8] = 1;
	r = sys_bpf(BPF_MAP_FREEZE, big, sizeof(*attr));
	show(r, NULL, "MAP_FREEZE byte8=1");
	memset(big, 0, sizeof(*attr) + 64);
	attr->info.bpf_fd = fd;
	big[20] = 1;
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, big, sizeof(*attr));
	show(r, NULL, "OBJ_GET_INFO_BY_FD byte20=1");
	memset(big, 0, sizeof(*attr) + 64);
	big[12] = 1;
	r = sys_bpf(BPF_MAP_GET_NEXT_ID, big, sizeof(*attr));
	show(r, NULL, "MAP_GET_NEXT_ID byte12=1");
}

/* OBJ_GET_INFO_BY_FD's info_len: shorter is cut, longer needs a zero tail. */
static void section_info_len(void)
{
	unsigned char buf[sizeof(struct bpf_map_info) + 64];
	struct bpf_map_info *info = (struct bpf_map_info *)buf;
	static const __u32 lens[] = {0, 4, 8, sizeof(struct bpf_map_info)};
	union bpf_attr attr;
	struct tmap m;
	char out[96];
	struct res r;
	size_t i;

	section("OBJ_GET_INFO_BY_FD info_len");
	if (create(&m, "info", BPF_MAP_TYPE_HASH, 4, 8, 3, 0, 0) < 0)
		return;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(buf, 0, sizeof(buf));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = m.fd;
		attr.info.info_len = lens[i];
		attr.info.info = ptr(buf);
		r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
		snprintf(out, sizeof(out), "info_len=%u type=%s key=%u", attr.info.info_len,
			 type_name(info->type), info->key_size);
		show(r, out, "OBJ_GET_INFO_BY_FD info info_len=%u", lens[i]);
	}
	/*
	 * Longer than the kernel's struct (Linux 6.18's is longer than this header's):
	 * with a zero tail the kernel writes back its own size, with a non-zero tail E2BIG.
	 */
	memset(buf, 0, sizeof(buf));
	attr.info.info_len = sizeof(buf);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	snprintf(out, sizeof(out), "info_len=%u max=%u", attr.info.info_len, info->max_entries);
	show(r, out, "OBJ_GET_INFO_BY_FD info info_len=sizeof(6.1 info)+64 tail=0");
	memset(buf, 0, sizeof(buf));
	buf[sizeof(buf) - 1] = 1;
	attr.info.info_len = sizeof(buf);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	show(r, NULL, "OBJ_GET_INFO_BY_FD info info_len=sizeof(6.1 info)+64 tail[last]=1");
	attr.info.info = ptr(UNMAPPED);
	attr.info.info_len = sizeof(struct bpf_map_info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	show(r, NULL, "OBJ_GET_INFO_BY_FD info info=unmapped");
	close_fdp(&m.fd);
}

/* Keys and values the kernel cannot copy: EFAULT, and nothing changes. */
static void section_pointers(void)
{
	unsigned char *pages, *none, *ro;
	__u64 value = 5;
	__u32 next;
	struct tmap m;
	struct res r;

	section("bad pointers");
	/* [rw page][PROT_NONE page][read-only page] */
	pages = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return;
	none = pages + PAGE;
	ro = pages + 2 * PAGE;
	if (mprotect(none, PAGE, PROT_NONE) || mprotect(ro, PAGE, PROT_READ))
		goto out;
	if (create(&m, "ptr", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0) < 0)
		goto out;
	update(&m, K(1), 10, BPF_ANY);

	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, UNMAPPED, &value, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=unmapped");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, NULL, &value, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=NULL");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, none, &value, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=PROT_NONE");
	/* The key's last two bytes are in the PROT_NONE page. */
	memcpy(none - 2, K(1), 2);
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, none - 2, &value, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=straddling-PROT_NONE");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(1), UNMAPPED, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=1 value=unmapped");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(1), none, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=1 value=PROT_NONE");
	/* Read-only memory: the kernel's copy_to_user() fails (a /proc/pid/mem write would not). */
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(1), ro, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=1 value=read-only");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(1), none - 4, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=1 value=straddling-PROT_NONE");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(2), UNMAPPED, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=2(missing) value=unmapped");
	r = elem_call(BPF_MAP_LOOKUP_ELEM, m.fd, K(1), NULL, 0);
	show(r, NULL, "MAP_LOOKUP_ELEM ptr key=1 value=NULL");

	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, UNMAPPED, &value, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM ptr key=unmapped");
	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(2), UNMAPPED, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM ptr key=2 value=unmapped");
	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(2), none, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM ptr key=2 value=PROT_NONE");
	/* Read-only memory is fine to read from. */
	r = elem_call(BPF_MAP_UPDATE_ELEM, m.fd, K(3), ro, BPF_ANY);
	show(r, NULL, "MAP_UPDATE_ELEM ptr key=3 value=read-only(zeros)");
	r = elem_call(BPF_MAP_DELETE_ELEM, m.fd, UNMAPPED, NULL, 0);
	show(r, NULL, "MAP_DELETE_ELEM ptr key=unmapped");
	r = elem_call(BPF_MAP_GET_NEXT_KEY, m.fd, UNMAPPED, &next, 0);
	show(r, NULL, "MAP_GET_NEXT_KEY ptr key=unmapped");
	r = elem_call(BPF_MAP_GET_NEXT_KEY, m.fd, NULL, UNMAPPED, 0);
	show(r, NULL, "MAP_GET_NEXT_KEY ptr key=NULL next=unmapped");
	r = elem_call(BPF_MAP_GET_NEXT_KEY, m.fd, NULL, ro, 0);
	show(r, NULL, "MAP_GET_NEXT_KEY ptr key=NULL next=read-only");
	r = elem_call(BPF_MAP_LOOKUP_AND_DELETE_ELEM, m.fd, K(1), UNMAPPED, 0);
	show(r, NULL, "MAP_LOOKUP_AND_DELETE_ELEM ptr key=1 value=unmapped");
	/* Nothing changed but key 3: */
	walk(&m);
	lookup(&m, K(1), 0);
	lookup(&m, K(3), 0);
	close_fdp(&m.fd);
out:
	munmap(pages, 3 * PAGE);
}

static struct res info_fd(int fd, const char *what)
{
	struct bpf_map_info info;
	union bpf_attr attr;
	struct res r;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr(&info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	show(r, r.ret == 0 ? "ok" : NULL, "OBJ_GET_INFO_BY_FD %s", what);
	return r;
}

static struct res freeze_fd(int fd, const char *what)
{
	union bpf_attr attr;
	struct res r;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	r = sys_bpf(BPF_MAP_FREEZE, &attr, sizeof(attr));
	show(r, NULL, "MAP_FREEZE %s", what);
	return r;
}

/* fds that are not maps, closed, duplicated, and inherited through fork(). */
static void section_fds(void)
{
	cleanup_close int pipe_r = -1, pipe_w = -1, null = -1, dup1 = -1, dup2_fd = -1;
	struct tmap m;
	int p[2], closed, status;
	pid_t child;

	section("fds");
	if (create(&m, "fds", BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0) < 0)
		return;
	update(&m, K(1), 10, BPF_ANY);
	if (pipe2(p, O_CLOEXEC) == 0) {
		pipe_r = p[0];
		pipe_w = p[1];
	}
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	lookup_fd(pipe_r, 1, "pipe-fd");
	lookup_fd(null, 1, "/dev/null-fd");
	lookup_fd(-1, 1, "fd=-1");
	lookup_fd(1000000, 1, "fd=1000000");
	info_fd(pipe_r, "pipe-fd");
	info_fd(-1, "fd=-1");
	freeze_fd(pipe_r, "pipe-fd");
	freeze_fd(-1, "fd=-1");

	/* dup'd fds are the same map, and outlive the original. */
	dup1 = fcntl(m.fd, F_DUPFD_CLOEXEC, 0);
	dup2_fd = fcntl(m.fd, F_DUPFD_CLOEXEC, 100);
	lookup_fd(dup1, 1, "dup");
	update(&(struct tmap){.label = "fds(dup)", .fd = dup1, .key_size = 4, .value_size = 8},
	       K(1), 11, BPF_ANY);
	lookup_fd(m.fd, 1, "fds");
	closed = m.fd;
	close_fdp(&m.fd);
	lookup_fd(closed, 1, "closed-fd");
	info_fd(closed, "closed-fd");
	lookup_fd(dup2_fd, 1, "dup(fd>=100)");
	info_fd(dup1, "dup");

	/* The child inherits the fd: it reads and writes the same map. */
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct tmap c = {.label = "fds(child)", .fd = dup1, .key_size = 4, .value_size = 8};

		printf("fork: in the child\n");
		lookup_fd(dup1, 1, "child");
		update(&c, K(2), 20, BPF_NOEXIST);
		fflush(stdout);
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child)
		status = -1;
	note(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "fork: child exit");
	walk(&(struct tmap){.label = "fds(parent)", .fd = dup1, .key_size = 4, .value_size = 8});
}

/* ---- programs ------------------------------------------------------------ */

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_IMM(d, i)  INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s)  INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD64_IMM(d, i)  INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define ST_W(d, o, i)    INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define STX_DW(d, s, o)  INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define LDX_W(d, s, o)   INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define JEQ_IMM(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JA(o)            INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(h)          INSN(BPF_JMP | BPF_CALL, 0, 0, 0, h)
#define EXIT()           INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* ld_imm64 of a map fd: two instructions. */
#define LD_MAP_FD(d, fd)                                                                           \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define LD_IMM64(d, v)                                                                             \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, 0, 0, (__s32)(__u32)(v)),                               \
	    INSN(0, 0, 0, 0, (__s32)(__u32)((__u64)(v) >> 32))

struct load {
	const char *label;
	__u32 type;
	const struct bpf_insn *insns;
	__u32 cnt;
	const char *license;
	__u32 log_level;
	__u32 log_size;
	bool log_buf;
};

/* PROG_LOAD; the verifier's log is never printed, only whether the call passed. */
static int load(const struct load *l)
{
	static char log[65536];
	union bpf_attr attr;
	struct res r;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = l->type;
	attr.insns = ptr(l->insns);
	attr.insn_cnt = l->cnt;
	attr.license = ptr(l->license);
	attr.log_level = l->log_level;
	attr.log_size = l->log_size;
	attr.log_buf = l->log_buf ? ptr(log) : 0;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "tr_%s", l->label);
	r = sys_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
	show(r, NULL, "PROG_LOAD %s type=%u insns=%u log_level=%u log_size=%u log_buf=%s", l->label,
	     l->type, l->cnt, l->log_level, l->log_size, l->log_buf ? "yes" : "NULL");
	return r.ret >= 0 ? (int)r.ret : -1;
}

static void prog_info(int fd, const char *label)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	char out[128] = "";
	struct res r;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr(&info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	if (r.ret == 0)
		snprintf(out, sizeof(out), "type=%u name=%s nr_map_ids=%u id=%s", info.type,
			 info.name, info.nr_map_ids, info.id ? "set" : "0");
	show(r, out, "OBJ_GET_INFO_BY_FD %s", label);
}

/* PROG_TEST_RUN of a socket filter on a zeroed 64-byte packet; prints retval. */
static long test_run(int fd, const char *label, __u32 size_in, __u32 repeat)
{
	unsigned char data[64] = {0};
	union bpf_attr attr;
	char out[32];
	struct res r;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = fd;
	attr.test.data_in = ptr(data);
	attr.test.data_size_in = size_in;
	attr.test.repeat = repeat;
	r = sys_bpf(BPF_PROG_TEST_RUN, &attr, sizeof(attr));
	snprintf(out, sizeof(out), "retval=%u", attr.test.retval);
	show(r, r.ret == 0 ? out : NULL, "PROG_TEST_RUN %s data_size_in=%u repeat=%u", label,
	     size_in, repeat);
	return r.ret;
}

/* Loads that the kernel refuses (bpf_prog_load() and the verifier's first checks). */
static void section_prog_refused(int pipe_fd)
{
	const struct bpf_insn ret0[] = {MOV64_IMM(BPF_REG_0, 0), EXIT()};
	const struct bpf_insn bad_op[] = {INSN(0xff, 0, 0, 0, 0), MOV64_IMM(BPF_REG_0, 0), EXIT()};
	const struct bpf_insn bad_jump[] = {JA(5), MOV64_IMM(BPF_REG_0, 0), EXIT()};
	const struct bpf_insn no_exit[] = {MOV64_IMM(BPF_REG_0, 0), MOV64_IMM(BPF_REG_0, 1)};
	const struct bpf_insn closed_map[] = {LD_MAP_FD(BPF_REG_1, 1000000),
					      MOV64_IMM(BPF_REG_0, 0), EXIT()};
	const struct bpf_insn pipe_map[] = {LD_MAP_FD(BPF_REG_1, pipe_fd), MOV64_IMM(BPF_REG_0, 0),
					    EXIT()};
	const struct load loads[] = {
	    {"bad_op", BPF_PROG_TYPE_SOCKET_FILTER, bad_op, 3, "GPL", 1, 65536, true},
	    {"bad_op_nolog", BPF_PROG_TYPE_SOCKET_FILTER, bad_op, 3, "GPL", 0, 0, false},
	    {"bad_jump", BPF_PROG_TYPE_SOCKET_FILTER, bad_jump, 3, "GPL", 1, 65536, true},
	    {"no_exit", BPF_PROG_TYPE_SOCKET_FILTER, no_exit, 2, "GPL", 0, 0, false},
	    {"insn_cnt0", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 0, "GPL", 0, 0, false},
	    {"type1000", 1000, ret0, 2, "GPL", 0, 0, false},
	    /* Passes, but its log ("processed 2 insns ...") does not fit: ENOSPC since 6.4. */
	    {"log_size16", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2, "GPL", 1, 16, true},
	    {"log_buf_null", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2, "GPL", 1, 4096, false},
	    /* BPF_LOG_FIXED (8) is known since Linux 6.4; 16 is not a log_level bit. */
	    {"log_level8", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2, "GPL", 8, 4096, true},
	    {"log_level16", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2, "GPL", 16, 4096, true},
	    {"insns_unmapped", BPF_PROG_TYPE_SOCKET_FILTER, UNMAPPED, 2, "GPL", 0, 0, false},
	    {"license_unmapped", BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2, UNMAPPED, 0, 0, false},
	    {"closed_map_fd", BPF_PROG_TYPE_SOCKET_FILTER, closed_map, 4, "GPL", 0, 0, false},
	    {"pipe_as_map", BPF_PROG_TYPE_SOCKET_FILTER, pipe_map, 4, "GPL", 0, 0, false},
	};
	size_t i;

	section("PROG_LOAD refused");
	for (i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		int fd = load(&loads[i]);

		if (fd >= 0)
			close(fd);
	}
}

/* A socket filter that writes 8 bytes to a ring buffer; the record is read through mmap. */
static void ringbuf_from_prog(void)
{
	struct tmap rb;
	int prog = -1;
	volatile __u64 *cons = MAP_FAILED;
	const volatile __u64 *prod = MAP_FAILED;
	const volatile __u32 *hdr;

	if (create(&rb, "prog_rb", BPF_MAP_TYPE_RINGBUF, 0, 0, PAGE, 0, 0) < 0)
		return;
	const struct bpf_insn insns[] = {
	    LD_IMM64(BPF_REG_1, 0x1122334455667788ULL),
	    STX_DW(BPF_REG_10, BPF_REG_1, -8),
	    LD_MAP_FD(BPF_REG_1, rb.fd),
	    MOV64_REG(BPF_REG_2, BPF_REG_10),
	    ADD64_IMM(BPF_REG_2, -8),
	    MOV64_IMM(BPF_REG_3, 8),
	    MOV64_IMM(BPF_REG_4, 0),
	    CALL(BPF_FUNC_ringbuf_output),
	    EXIT(),
	};
	const struct load l = {.label = "rb_out",
			       .type = BPF_PROG_TYPE_SOCKET_FILTER,
			       .insns = insns,
			       .cnt = sizeof(insns) / sizeof(insns[0]),
			       .license = "GPL"};

	prog = load(&l);
	if (prog < 0)
		goto out;
	cons = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rb.fd, 0);
	prod = mmap(NULL, 3 * PAGE, PROT_READ, MAP_SHARED, rb.fd, PAGE);
	note(cons == MAP_FAILED || prod == MAP_FAILED ? -1 : 0, errno,
	     "mmap prog_rb consumer+producer");
	if (cons == MAP_FAILED || prod == MAP_FAILED)
		goto out;
	printf("read prog_rb consumer_pos=%llu producer_pos=%llu\n", (unsigned long long)*cons,
	       (unsigned long long)*prod);
	test_run(prog, "rb_out", 64, 1);
	hdr = (const volatile __u32 *)((const char *)prod + PAGE);
	printf("read prog_rb consumer_pos=%llu producer_pos=%llu len=%u data=0x%llx\n",
	       (unsigned long long)*cons, (unsigned long long)*prod, hdr[0],
	       (unsigned long long)*(const volatile __u64 *)(hdr + 2));
	/* Consumed, as libbpf's ring_buffer does: then the second record follows the first. */
	*cons = *prod;
	test_run(prog, "rb_out", 64, 1);
	hdr = (const volatile __u32 *)((const char *)prod + PAGE + 16);
	printf("read prog_rb consumer_pos=%llu producer_pos=%llu len=%u data=0x%llx\n",
	       (unsigned long long)*cons, (unsigned long long)*prod, hdr[0],
	       (unsigned long long)*(const volatile __u64 *)(hdr + 2));
out:
	if (cons != MAP_FAILED)
		munmap((void *)cons, PAGE);
	if (prod != MAP_FAILED)
		munmap((void *)prod, 3 * PAGE);
	if (prog >= 0)
		close(prog);
	close_fdp(&rb.fd);
}

static struct res get_fd_by_id(int cmd, __u32 id, __u32 open_flags, const char *what)
{
	union bpf_attr attr;
	struct res r;

	memset(&attr, 0, sizeof(attr));
	if (cmd == BPF_MAP_GET_FD_BY_ID)
		attr.map_id = id;
	else
		attr.prog_id = id;
	attr.open_flags = open_flags;
	r = sys_bpf(cmd, &attr, sizeof(attr));
	show(r, NULL, "%s %s open_flags=0x%x",
	     cmd == BPF_MAP_GET_FD_BY_ID ? "MAP_GET_FD_BY_ID" : "PROG_GET_FD_BY_ID", what,
	     open_flags);
	return r;
}

/* GET_NEXT_ID from 0, then on until the given id is met: only whether it is. */
static void next_ids(int cmd, __u32 own, const char *what)
{
	union bpf_attr attr;
	struct res r, first;
	bool found = false;
	int n = 0;

	memset(&attr, 0, sizeof(attr));
	first = r = sys_bpf(cmd, &attr, sizeof(attr));
	while (r.ret == 0 && n++ < 100000) {
		if (attr.next_id == own)
			found = true;
		attr.start_id = attr.next_id;
		r = sys_bpf(cmd, &attr, sizeof(attr));
	}
	show(first, NULL, "%s start=0", what);
	printf("%s walk -> %s, ends %s\n", what, found ? "own id found" : "own id MISSING",
	       r.ret < 0 ? err_name(r.err) : "never");
}

/* Ids: an object's id opens a new fd to it; id 0 is never an object's. */
static void section_ids(int prog_fd, const struct tmap *m)
{
	cleanup_close int by_id = -1;
	struct bpf_prog_info info;
	union bpf_attr attr;
	__u32 prog_id;
	struct res r;

	section("ids");
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = prog_fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = ptr(&info);
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr));
	prog_id = r.ret == 0 ? info.id : 0;
	r = get_fd_by_id(BPF_PROG_GET_FD_BY_ID, prog_id, 0, "id=reader");
	by_id = r.ret >= 0 ? (int)r.ret : -1;
	test_run(by_id, "reader(by id)", 64, 1);
	get_fd_by_id(BPF_PROG_GET_FD_BY_ID, 0, 0, "id=0");
	r = get_fd_by_id(BPF_MAP_GET_FD_BY_ID, map_id(m->fd), 0, "id=prog_arr");
	if (r.ret >= 0) {
		lookup_fd(r.ret, 0, "prog_arr(by id)");
		close(r.ret);
	}
	/* Opened read-only by id: the syscall side may not write through that fd. */
	r = get_fd_by_id(BPF_MAP_GET_FD_BY_ID, map_id(m->fd), BPF_F_RDONLY, "id=prog_arr");
	if (r.ret >= 0) {
		struct tmap ro = *m;

		ro.label = "prog_arr(rdonly id)";
		ro.fd = r.ret;
		update(&ro, K(0), 8, BPF_ANY);
		lookup_fd(r.ret, 0, "prog_arr(rdonly id)");
		close(r.ret);
	}
	get_fd_by_id(BPF_MAP_GET_FD_BY_ID, map_id(m->fd), 1u << 5, "id=prog_arr");
	get_fd_by_id(BPF_MAP_GET_FD_BY_ID, 0, 0, "id=0");
	next_ids(BPF_MAP_GET_NEXT_ID, map_id(m->fd), "MAP_GET_NEXT_ID");
	next_ids(BPF_PROG_GET_NEXT_ID, prog_id, "PROG_GET_NEXT_ID");
}

static void section_prog(void)
{
	cleanup_close int pipe_r = -1, pipe_w = -1, ret0 = -1, reader = -1;
	struct tmap m;
	int p[2];

	section("PROG_LOAD, PROG_TEST_RUN");
	if (create(&m, "prog_arr", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0) < 0)
		return;
	update(&m, K(0), 42, BPF_ANY);
	/* r0 = *(u32 *)lookup(prog_arr, 0), or 1234 when the lookup fails */
	const struct bpf_insn reader_insns[] = {
	    ST_W(BPF_REG_10, -4, 0),        MOV64_REG(BPF_REG_2, BPF_REG_10),
	    ADD64_IMM(BPF_REG_2, -4),       LD_MAP_FD(BPF_REG_1, m.fd),
	    CALL(BPF_FUNC_map_lookup_elem), JEQ_IMM(BPF_REG_0, 0, 2),
	    LDX_W(BPF_REG_0, BPF_REG_0, 0), EXIT(),
	    MOV64_IMM(BPF_REG_0, 1234),     EXIT(),
	};
	const struct bpf_insn ret0_insns[] = {MOV64_IMM(BPF_REG_0, 0), EXIT()};
	const struct load l_ret0 = {.label = "ret0",
				    .type = BPF_PROG_TYPE_SOCKET_FILTER,
				    .insns = ret0_insns,
				    .cnt = 2,
				    .license = "GPL"};
	struct load l_ret0_log = l_ret0, l_reader = l_ret0;

	l_ret0_log.label = "ret0_log";
	l_ret0_log.log_level = 1;
	l_ret0_log.log_size = 65536;
	l_ret0_log.log_buf = true;
	l_reader.label = "reader";
	l_reader.insns = reader_insns;
	l_reader.cnt = sizeof(reader_insns) / sizeof(reader_insns[0]);

	ret0 = load(&l_ret0);
	prog_info(ret0, "ret0");
	close_fdp(&(int){load(&l_ret0_log)});
	test_run(ret0, "ret0", 64, 1);
	test_run(ret0, "ret0", 0, 1);
	test_run(ret0, "ret0", 13, 1);
	reader = load(&l_reader);
	prog_info(reader, "reader");
	test_run(reader, "reader", 64, 1);
	update(&m, K(0), 7, BPF_ANY);
	test_run(reader, "reader", 64, 5);
	test_run(-1, "fd=-1", 64, 1);
	test_run(m.fd, "map-fd", 64, 1);
	if (pipe2(p, O_CLOEXEC) == 0) {
		pipe_r = p[0];
		pipe_w = p[1];
	}
	test_run(pipe_r, "pipe-fd", 64, 1);
	/* A program fd where a map fd belongs. */
	lookup_fd(reader, 1, "prog-fd");

	section_ids(reader, &m);
	close_fdp(&m.fd);
	ringbuf_from_prog();
	section_prog_refused(pipe_r);
}

int main(void)
{
	int ncpus = possible_cpus();

	if (ncpus < 0) {
		fprintf(stderr, "bpf_transcript: cannot count CPUs: %s\n", strerror(-ncpus));
		return 1;
	}
	/* One line at a time, so that a fork()ed child's lines land in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bpf(2) transcript\n");
	section_create_errors();
	section_hash();
	section_array();
	section_percpu(ncpus);
	section_lru();
	section_queue_stack();
	section_bloom();
	section_bloom_peek();
	section_lpm();
	section_ringbuf();
	section_perf_array();
	section_of_maps();
	section_batch();
	section_access();
	section_mmapable();
	section_attr();
	section_info_len();
	section_pointers();
	section_fds();
	section_prog();
	return 0;
}
