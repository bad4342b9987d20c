// SPDX-License-Identifier: MIT
/*
 * Maps: the table of ids, creation and destruction, handles, and the
 * syscall-side entry points with the checks the kernel makes before it
 * reaches a map type (kernel/bpf/syscall.c), then dispatch to the type's ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "map-internal.h"
#include "map-sys.h"

/* The kernel's ENOTSUPP (524): what bpf(2) returns for a missing map op. */
#define MAP_ENOTSUPP 524

/* ---- creation ---- */

/* map_create() refuses nodes that are not online: is @node in node/online
 * (a list like cpu/possible)? Control plane. */
static bool node_online(uint32_t node)
{
	FILE *f = fopen("/sys/devices/system/node/online", "re");
	unsigned a, b;
	bool found = false;
	int c = ',';

	if (!f)
		return node == 0; /* no NUMA: node 0 only */
	while (!found && c == ',' && fscanf(f, "%u", &a) == 1) {
		b = a;
		c = fgetc(f);
		if (c == '-' && fscanf(f, "%u", &b) == 1)
			c = fgetc(f);
		found = node >= a && node <= b;
	}
	fclose(f);
	return found;
}

/*
 * The checks map_create() makes for every type before the type's own, in
 * its order (the first failing check decides the errno).
 */
static int check_common(const struct bpftime_map_attr *a)
{
	/* not a bpf_attr field: room for a later one of ours */
	if (a->reserved)
		return -EINVAL;
	/* BTF ids: a vmlinux value type is for struct_ops only, and a key type
	 * needs a value type */
	if (a->btf_vmlinux_value_type_id) {
		if (a->map_type != BPF_MAP_TYPE_STRUCT_OPS || a->btf_key_type_id ||
		    a->btf_value_type_id)
			return -EINVAL;
	} else if (a->btf_key_type_id && !a->btf_value_type_id) {
		return -EINVAL;
	}
	/* map_extra means something to bloom filters only */
	if (a->map_type != BPF_MAP_TYPE_BLOOM_FILTER && a->map_extra != 0)
		return -EINVAL;
	/* bpf_get_file_flag(): read-only and write-only at once */
	if ((a->map_flags & BPF_F_RDONLY) && (a->map_flags & BPF_F_WRONLY))
		return -EINVAL;
	/* a NUMA node must exist and be online; -1 (NUMA_NO_NODE) is none */
	if ((a->map_flags & BPF_F_NUMA_NODE) && a->numa_node != UINT32_MAX &&
	    !node_online(a->numa_node))
		return -EINVAL;
	return 0;
}

/* bpf_obj_name_cpy(): [A-Za-z0-9_.], NUL-terminated. map_create() checks the
 * name after the type has allocated the map, so a size the type refuses
 * (-E2BIG, -ENOMEM) wins over a bad name. */
static int check_name(const struct bpftime_map_attr *a)
{
	size_t n = strnlen(a->map_name, sizeof(a->map_name));

	if (n == sizeof(a->map_name))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = a->map_name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return -EINVAL;
	}
	return 0;
}

/* Types whose ops have no map_check_btf (6.18): with value BTF, their key
 * type must be given (map_check_btf(): "Some maps allow key to be
 * unspecified"; these do not). */
static bool needs_key_type(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_PROG_ARRAY:
		return true;
	}
	return false;
}

/*
 * The value's bpf_spin_lock (attr.spin_lock_off), as map_check_btf() judges
 * the btf_record bpf-emul found it in: map_create() calls it after the
 * type's map_alloc() and the name, and in this order (probed on 6.18 with
 * real BTF, test_maps_kernel_spin.c):
 *   - the key: no key type (btf_key_type_id 0, a void key) for a type
 *     without a map_check_btf op (needs_key_type): -EINVAL. A key type
 *     of the wrong size is BTF's business (bpf-emul);
 *   - BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG with any special field: -EACCES;
 *   - a spin lock outside HASH, ARRAY and the local storages: -EOPNOTSUPP;
 *   - then the type's map_check_btf: an ARRAY without a key type is global
 *     data, one element (else -EINVAL) whose value is a DATASEC (which
 *     only BTF tells: bpf-emul's).
 * So a queue or stack whose key type is an empty struct gets -EACCES or
 * -EOPNOTSUPP, with no key type -EINVAL, and a HASH with a lock must name
 * its key type. A lock word outside the value cannot come from BTF (the
 * value type must be value_size bytes); it is -EINVAL, as that size
 * mismatch. Alignment: 6.18 refuses a struct with a misaligned
 * bpf_spin_lock member when the BTF is loaded (BPF_BTF_LOAD: -EFAULT, from
 * btf_parse_struct_metas()), but accepts one nested in a struct member at
 * any offset; we refuse every misaligned lock word (-EINVAL): it is taken
 * with atomic instructions, which must not straddle cache lines.
 */
static int check_spin_lock(const struct bpftime_map_attr *a)
{
	uint32_t off = a->spin_lock_off - 1;

	if (!a->spin_lock_off)
		return 0;
	/* the lock word (4 bytes at off) lies inside the value */
	if (a->value_size < 4 || off > a->value_size - 4 || off % 4)
		return -EINVAL;
	if (!a->btf_key_type_id && needs_key_type(a->map_type))
		return -EINVAL;
	if (a->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
		return -EACCES;
	if (a->map_type != BPF_MAP_TYPE_HASH && a->map_type != BPF_MAP_TYPE_ARRAY)
		return -EOPNOTSUPP;
	/* array_map_check_btf() */
	if (a->map_type == BPF_MAP_TYPE_ARRAY && !a->btf_key_type_id && a->max_entries != 1)
		return -EINVAL;
	return 0;
}

/* Reserve a free id (the table entry says so, but names no map yet). */
static int take_id(struct bpftime_map_region *r, uint32_t *id)
{
	struct region_hdr *h = r->hdr;
	int err = -ENOSPC;

	bpftime_map_lock(&h->table_lock, map_sys_gettid());
	for (uint32_t i = 0; i < BPFTIME_MAP_MAX_MAPS - 1; i++) {
		uint32_t cand = (h->next_id + i - 1) % (BPFTIME_MAP_MAX_MAPS - 1) + 1;

		if (h->maps[cand])
			continue;
		*id = cand;
		h->next_id = cand % (BPFTIME_MAP_MAX_MAPS - 1) + 1;
		__atomic_store_n(&h->maps[cand], MAP_ID_RESERVED, __ATOMIC_RELAXED);
		err = 0;
		break;
	}
	bpftime_map_unlock(&h->table_lock);
	return err;
}

/* Publish a complete map under its id, or give a reserved id back (@off 0). */
static void publish_id(struct bpftime_map_region *r, uint32_t id, uint64_t off)
{
	/* Pairs with the acquire load in bpftime_map_table_off(): whoever sees
	 * the offset sees the initialised map. */
	__atomic_store_n(&r->hdr->maps[id], off, __ATOMIC_RELEASE);
}

int bpftime_map_file_path(const struct bpftime_map_region *r, const struct map_desc *d, char *buf,
			  size_t size)
{
	int n = snprintf(buf, size, "%s/%s", r->dir, d->file);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* [perf-files] An existing empty file @adopt of the region's directory
 * (bpftime_map_perfbuf_opts.file), opened to become the map's data file. */
static int adopt_file(const char *path, const char *name)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return bpftime_map_err(-errno, "map: cannot adopt %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size) {
		close(fd);
		return bpftime_map_err(-EINVAL, "map: %s is not an empty regular file", name);
	}
	return fd;
}

/* Create (or, with @adopt, take over) and size the map's own data file
 * (what a tool mmaps). */
static int create_file(struct bpftime_map_region *r, struct map_desc *d, uint64_t size,
		       const char *adopt)
{
	char path[PATH_MAX];
	int fd;

	if (adopt)
		snprintf(d->file, sizeof(d->file), "%s", adopt);
	else
		snprintf(d->file, sizeof(d->file), "map-%llu-%s", (unsigned long long)d->gen,
			 bpftime_map_ops_of(d->attr.map_type)->name);
	if (bpftime_map_file_path(r, d, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = adopt ? adopt_file(path, adopt)
		   : open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && adopt) {
		d->file[0] = '\0'; /* not ours: destroy_desc must not unlink it */
		return fd;
	}
	if (fd < 0)
		return bpftime_map_err(-errno, "map '%s': cannot create %s: %s", d->attr.map_name,
				       path, strerror(errno));
	if (ftruncate(fd, (off_t)size) || fallocate(fd, 0, 0, (off_t)size)) {
		int e = errno;

		close(fd);
		unlink(path);
		d->file[0] = '\0';
		return bpftime_map_err(-ENOMEM, "map '%s': cannot commit %llu bytes for %s: %s",
				       d->attr.map_name, (unsigned long long)size, path,
				       strerror(e));
	}
	close(fd);
	return 0;
}

static void destroy_desc(struct bpftime_map_region *r, uint64_t desc_off)
{
	struct map_desc *d = (struct map_desc *)(r->base + desc_off);
	char path[PATH_MAX];

	if (d->file[0] && !bpftime_map_file_path(r, d, path, sizeof(path)))
		unlink(path);
	if (d->data_off)
		bpftime_region_free(r, d->data_off);
	bpftime_region_free(r, desc_off);
}

static int alloc_map(struct bpftime_map_region *r, const struct map_ops *ops,
		     const struct bpftime_map_attr *attr, uint64_t *desc_off, const char *adopt)
{
	uint64_t data_size = ops->data_size ? ops->data_size(attr, r->nr_cpus) : 0;
	uint64_t file_size = ops->file_size ? ops->file_size(attr, r->nr_cpus) : 0;
	int64_t off = bpftime_region_alloc(r, sizeof(struct map_desc));
	struct map_desc *d;
	int err = 0;

	if (off < 0)
		return (int)off;
	d = (struct map_desc *)(r->base + off);
	d->size = sizeof(*d);
	d->attr = *attr;
	d->nr_cpus = r->nr_cpus;
	d->gen = __atomic_add_fetch(&r->hdr->generation, 1, __ATOMIC_RELAXED);
	if (data_size) {
		int64_t doff = bpftime_region_alloc(r, data_size);

		if (doff < 0)
			err = (int)doff;
		else {
			d->data_off = (uint64_t)doff;
			d->data_size = data_size;
		}
	}
	if (!err && file_size)
		err = create_file(r, d, file_size, adopt);
	if (err) {
		destroy_desc(r, (uint64_t)off);
		return err;
	}
	*desc_off = (uint64_t)off;
	return 0;
}

/* Initialise the new map through a private handle, before anyone can see it. */
static int init_map(struct bpftime_map_region *r, const struct map_ops *ops, uint64_t desc_off,
		    uint32_t id)
{
	struct bpftime_map tmp = {0};
	int err;

	((struct map_desc *)(r->base + desc_off))->id = id;
	err = bpftime_map_setup_handle(r, &tmp, desc_off);
	if (!err && ops->init)
		err = ops->init(&tmp);
	if (tmp.file_mem)
		munmap(tmp.file_mem, tmp.file_size);
	return err;
}

int bpftime_map__create(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			uint32_t *id)
{
	return bpftime_map_create_adopt(r, attr, id, NULL);
}

int bpftime_map_create_adopt(struct bpftime_map_region *r, const struct bpftime_map_attr *attr,
			     uint32_t *id, const char *adopt)
{
	const struct map_ops *ops = bpftime_map_ops_of(attr->map_type);
	uint64_t desc_off = 0;
	int err;

	/* [perf-files] an adopted file is a name in the region's directory */
	if (adopt && (!adopt[0] || strchr(adopt, '/') || !strcmp(adopt, ".") ||
		      !strcmp(adopt, "..") || strlen(adopt) >= MAP_FILE_NAME_LEN))
		return -EINVAL;
	err = check_common(attr);
	if (!err && !ops)
		/* map_create(): an unknown type is -EINVAL */
		return bpftime_map_err(-EINVAL, "map '%.16s': map type %u is not supported",
				       attr->map_name, attr->map_type);
	if (!err)
		err = ops->check(attr, r->nr_cpus);
	if (!err && ops->check_region)
		err = ops->check_region(r, attr);
	if (!err)
		err = check_name(attr);
	if (!err)
		err = check_spin_lock(attr);
	if (err) {
		bpftime_map_log(BPFTIME_MAP_INFO,
				"map '%.16s' (%s): key_size %u value_size %u max_entries %u "
				"flags 0x%x spin_lock_off %u refused: %s",
				attr->map_name, ops ? ops->name : "?", attr->key_size,
				attr->value_size, attr->max_entries, attr->map_flags,
				attr->spin_lock_off, strerror(-err));
		return err;
	}
	err = take_id(r, id);
	if (err)
		return bpftime_map_err(err, "map '%.16s': no free map id (%d maps)", attr->map_name,
				       BPFTIME_MAP_MAX_MAPS - 1);
	err = alloc_map(r, ops, attr, &desc_off, adopt);
	if (!err)
		err = init_map(r, ops, desc_off, *id);
	if (err) {
		if (desc_off)
			destroy_desc(r, desc_off);
		publish_id(r, *id, 0);
		return err;
	}
	publish_id(r, *id, desc_off);
	return 0;
}

int bpftime_map__destroy(struct bpftime_map_region *r, uint32_t id)
{
	struct bpftime_map *m = bpftime_map__get(r, id);
	uint64_t off;

	if (!m)
		return -ENOENT;
	if (m->ops->release)
		m->ops->release(m);
	bpftime_map_lock(&r->hdr->table_lock, map_sys_gettid());
	off = r->hdr->maps[id];
	__atomic_store_n(&r->hdr->maps[id], 0, __ATOMIC_RELEASE);
	bpftime_map_unlock(&r->hdr->table_lock);
	if (m->file_mem)
		munmap(m->file_mem, m->file_size);
	memset(m, 0, sizeof(*m));
	if (off)
		destroy_desc(r, off);
	return 0;
}

/* ---- handles ---- */

struct bpftime_map *bpftime_map__get(struct bpftime_map_region *r, uint32_t id)
{
	struct bpftime_map *m = NULL;
	int err = bpftime_map_handle(r, id, &m);

	if (err) {
		if (err != -ENOENT)
			bpftime_map_log(BPFTIME_MAP_WARN, "map %u: cannot set up a handle: %s", id,
					strerror(-err));
		errno = -err;
		return NULL;
	}
	return m;
}

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

uint32_t bpftime_map__value_size(const struct bpftime_map *m)
{
	/* bpf_map_value_size(): per-CPU values come as one 8-aligned slot per CPU */
	if (is_percpu(m->d->attr.map_type))
		return map_round8(m->d->attr.value_size) * m->d->nr_cpus;
	return m->d->attr.value_size;
}

/* ---- syscall side ---- */

/*
 * The checks below follow kernel/bpf/syscall.c (Linux 6.18), in its order,
 * because the first failing check decides the errno: the fd's permissions
 * (a frozen map is read-only for the syscall side: map_get_sys_perms), then
 * BPF_F_LOCK, then the key copy (__bpf_copy_key), then the type's operation.
 */

bool bpftime_map__frozen(const struct bpftime_map *m)
{
	return __atomic_load_n(&m->d->frozen, __ATOMIC_ACQUIRE) != 0;
}

/* BPF_F_LOCK needs a bpf_spin_lock in the value (btf_record_has_field()). */
static int check_lock_flag(const struct bpftime_map *m, uint64_t flags)
{
	return (flags & BPF_F_LOCK) && !map_has_lock(&m->d->attr) ? -EINVAL : 0;
}

/* __bpf_copy_key(): key-less maps take no key pointer; the others need one
 * (NULL stands for the bad user pointer copy_from_user() refuses). */
static int check_key(const struct bpftime_map *m, const void *key)
{
	if (!m->d->attr.key_size)
		return key ? -EINVAL : 0;
	return key ? 0 : -EFAULT;
}

int bpftime_map__lookup_elem(struct bpftime_map *m, const void *key, void *value, uint64_t flags)
{
	int err;

	/* map_lookup_elem(): only BPF_F_LOCK is a valid flag */
	if (flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	err = check_lock_flag(m, flags);
	if (!err)
		err = check_key(m, key);
	if (err)
		return err;
	if (!m->ops->lookup)
		return -MAP_ENOTSUPP;
	return m->ops->lookup(m, key, value, flags);
}

int bpftime_map__update_elem(struct bpftime_map *m, const void *key, const void *value,
			     uint64_t flags)
{
	int err;

	if (bpftime_map__frozen(m))
		return -EPERM;
	err = check_lock_flag(m, flags);
	if (!err)
		err = check_key(m, key);
	if (err)
		return err;
	if (!m->ops->update)
		return -MAP_ENOTSUPP;
	return m->ops->update(m, key, value, flags);
}

int bpftime_map__delete_elem(struct bpftime_map *m, const void *key)
{
	int err;

	if (bpftime_map__frozen(m))
		return -EPERM;
	err = check_key(m, key);
	if (err)
		return err;
	if (!m->ops->delete)
		return -MAP_ENOTSUPP;
	return m->ops->delete (m, key);
}

int bpftime_map__get_next_key(struct bpftime_map *m, const void *key, void *next_key)
{
	/* map_get_next_key(): a NULL key asks for the first one */
	if (key && !m->d->attr.key_size)
		return -EINVAL;
	if (!m->ops->get_next_key)
		return -MAP_ENOTSUPP;
	return m->ops->get_next_key(m, key, next_key);
}

int bpftime_map__lookup_and_delete_elem(struct bpftime_map *m, const void *key, void *value,
					uint64_t flags)
{
	int err;

	/* map_lookup_and_delete_elem(): flags are BPF_F_LOCK or nothing, and
	 * nothing at all for queues and stacks */
	if (flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	if (bpftime_map__frozen(m))
		return -EPERM;
	if (flags && (m->d->attr.map_type == BPF_MAP_TYPE_QUEUE ||
		      m->d->attr.map_type == BPF_MAP_TYPE_STACK))
		return -EINVAL;
	err = check_lock_flag(m, flags);
	if (!err)
		err = check_key(m, key);
	if (err)
		return err;
	if (!m->ops->lookup_and_delete)
		return -MAP_ENOTSUPP;
	return m->ops->lookup_and_delete(m, key, value, flags);
}

int bpftime_map__freeze(struct bpftime_map *m)
{
	uint32_t expected = 0;

	/* map_freeze(): a map with a btf_record (a spin lock) is refused
	 * before the fd's permissions are looked at */
	if (map_has_lock(&m->d->attr))
		return -MAP_ENOTSUPP;
	/* a frozen map's fd has lost its write permission
	 * (map_get_sys_perms), so a second freeze is -EPERM, not -EBUSY */
	if (bpftime_map__frozen(m))
		return -EPERM;
	/* writable mmaps exist (bpf_map_write_active) */
	if (__atomic_load_n(&m->d->writable_maps, __ATOMIC_ACQUIRE))
		return -EBUSY;
	if (!__atomic_compare_exchange_n(&m->d->frozen, &expected, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EPERM; /* frozen meanwhile by another thread */
	return 0;
}

/* ---- batches ---- */

/*
 * bpf_map_do_batch(): writers need write permission, then the command must
 * exist for the type (map->ops->map_*_batch, else -ENOTSUPP), and only then
 * come the command's own checks. @no is the type's MAP_NO_*_BATCH bit.
 */
static int batch_allowed(const struct bpftime_map *m, uint32_t no, bool writes)
{
	if (writes && bpftime_map__frozen(m))
		return -EPERM;
	if (m->ops->no_batch & no)
		return -MAP_ENOTSUPP;
	return 0;
}

/* The elem_flags every batch command accepts: BPF_F_LOCK alone, and only
 * for maps with a spin lock (generic_map_*_batch(), htab's batches). */
static int check_elem_flags(const struct bpftime_map *m, uint64_t elem_flags)
{
	if (elem_flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	return check_lock_flag(m, elem_flags);
}

uint32_t bpftime_map__batch_token_size(const struct bpftime_map *m)
{
	return m->ops->batch_token_size ? m->ops->batch_token_size : m->d->attr.key_size;
}

/* As generic_map_lookup_batch(): walk with get_next_key, token = last key. */
static int generic_lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
				void *keys, void *values, uint32_t *count, uint64_t elem_flags)
{
	uint32_t ks = m->d->attr.key_size, vs = bpftime_map__value_size(m);
	uint32_t max = *count, cp = 0;
	const uint8_t *prev = in_batch;
	uint8_t *k = keys, *v = values;
	int err = 0;

	for (; cp < max; cp++) {
		err = m->ops->get_next_key(m, prev, k + (uint64_t)cp * ks);
		if (err)
			break;
		/* bpf_map_copy_value() with elem_flags: BPF_F_LOCK copies locked */
		err = m->ops->lookup(m, k + (uint64_t)cp * ks, v + (uint64_t)cp * vs, elem_flags);
		if (err)
			break;
		prev = k + (uint64_t)cp * ks;
	}
	*count = cp;
	if (cp)
		map_copy(out_batch, prev, ks);
	return err;
}

int bpftime_map__lookup_batch(struct bpftime_map *m, const void *in_batch, void *out_batch,
			      void *keys, void *values, uint32_t *count, uint64_t elem_flags,
			      bool and_delete)
{
	int err = batch_allowed(m, MAP_NO_LOOKUP_BATCH, and_delete);

	/* the kernel has no generic lookup_and_delete batch */
	if (!err && and_delete && !m->ops->lookup_batch)
		err = -MAP_ENOTSUPP;
	if (!err)
		err = check_elem_flags(m, elem_flags);
	if (err)
		return err;
	if (m->ops->lookup_batch)
		return m->ops->lookup_batch(m, in_batch, out_batch, keys, values, count, elem_flags,
					    and_delete);
	if (!m->ops->get_next_key || !m->ops->lookup)
		return -MAP_ENOTSUPP;
	if (*count == 0)
		return 0;
	return generic_lookup_batch(m, in_batch, out_batch, keys, values, count, elem_flags);
}

/* As generic_map_update_batch(): stop at the first error; *count = done. */
int bpftime_map__update_batch(struct bpftime_map *m, const void *keys, const void *values,
			      uint32_t *count, uint64_t elem_flags)
{
	uint32_t ks = m->d->attr.key_size, vs = bpftime_map__value_size(m), cp;
	int err = batch_allowed(m, MAP_NO_UPDATE_BATCH, true);

	if (!err)
		err = check_elem_flags(m, elem_flags);
	if (err)
		return err;
	if (!m->ops->update)
		return -MAP_ENOTSUPP;
	for (cp = 0; cp < *count; cp++) {
		err = m->ops->update(m, (const uint8_t *)keys + (uint64_t)cp * ks,
				     (const uint8_t *)values + (uint64_t)cp * vs, elem_flags);
		if (err)
			break;
	}
	*count = cp;
	return err;
}

/* As generic_map_delete_batch(). */
int bpftime_map__delete_batch(struct bpftime_map *m, const void *keys, uint32_t *count,
			      uint64_t elem_flags)
{
	uint32_t ks = m->d->attr.key_size, cp;
	int err = batch_allowed(m, MAP_NO_DELETE_BATCH, true);

	if (!err)
		err = check_elem_flags(m, elem_flags);
	if (err)
		return err;
	if (!m->ops->delete)
		return -MAP_ENOTSUPP;
	for (cp = 0; cp < *count; cp++) {
		err = m->ops->delete (m, (const uint8_t *)keys + (uint64_t)cp * ks);
		if (err)
			break;
	}
	*count = cp;
	return err;
}
