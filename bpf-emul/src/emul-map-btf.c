// SPDX-License-Identifier: MIT
/*
 * MAP_CREATE's BTF: what map_check_btf() (kernel/bpf/syscall.c) decides
 * from the key and value types, and where the value's struct bpf_spin_lock
 * is (btf_parse_fields(), its btf_record's spin_lock_off), which the maps
 * module needs and cannot find itself (maps never see BTF).
 *
 * The BTF object's data is the blob BPF_BTF_LOAD accepted (emul-btf.c has
 * checked it, so this parser only guards against reading out of bounds: a
 * malformed blob gives -EINVAL). Only what the map checks need is parsed:
 * sizes of types through modifiers and typedefs, struct and union members
 * (nested ones too: 6.18 finds a lock inside a member struct), and the
 * kinds the per-type checks look at. Probed on 6.18:
 *
 *   key or value type size != key_size / value_size     -EINVAL
 *   no key type, and the map type has no map_check_btf  -EINVAL
 *     (HASH family, QUEUE, STACK)
 *   map_check_no_btf types (PERF_EVENT_ARRAY, STACK_TRACE, CGROUP_ARRAY,
 *     ARRAY_OF_MAPS, HASH_OF_MAPS, RINGBUF)            -ENOTSUPP (524)
 *   array_map_check_btf (ARRAY, PERCPU_ARRAY, PROG_ARRAY): the key is a
 *     32-bit int, or absent for a 1-entry ARRAY of a DATASEC (.bss,
 *     .data, .rodata)                                  -EINVAL otherwise
 *   LPM_TRIE: the key is a struct; BLOOM_FILTER: no key  -EINVAL otherwise
 *   a value that is itself struct bpf_spin_lock has no lock field.
 * The spin lock's own rules (types, flags) are the maps module's.
 */
#include <stdlib.h>
#include <string.h>
#include <linux/btf.h>
#include "emul-internal.h"

/* btf_type_id_size(): the resolved type's size; false when it has none. */
static bool type_size(const struct emul_btf_view *v, uint32_t id, uint64_t *size, int depth)
{
	const struct btf_type *t = emul_btf_view_resolve(v, id);

	if (!t || depth > 32)
		return false;
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_DATASEC:
	case BTF_KIND_FLOAT:
		*size = t->size;
		return true;
	case BTF_KIND_PTR:
		*size = sizeof(uint64_t);
		return true;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = (const void *)(t + 1);
		uint64_t elem;

		if (!type_size(v, a->type, &elem, depth + 1))
			return false;
		*size = elem * a->nelems;
		return true;
	}
	}
	return false;
}

static bool is_struct(const struct btf_type *t)
{
	uint32_t k = t ? BTF_INFO_KIND(t->info) : 0;

	return k == BTF_KIND_STRUCT || k == BTF_KIND_UNION;
}

/*
 * Find struct bpf_spin_lock members of @t (at byte @base), recursing into
 * member structs as btf_find_nested_struct() does. *@off is the lock's
 * offset + 1; a second lock is -E2BIG, as btf_get_field_type() answers
 * for a repeated field (BPF_BTF_LOAD already refuses such types).
 */
static int find_lock(const struct emul_btf_view *v, const struct btf_type *t, uint64_t base,
		     uint32_t *off, int depth)
{
	const struct btf_member *mem = (const void *)(t + 1);

	if (depth > 8)
		return 0;
	for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
		const struct btf_type *mt = emul_btf_view_resolve(v, mem[i].type);
		uint32_t bits =
		    BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(mem[i].offset) : mem[i].offset;
		uint64_t at = base + bits / 8;
		int err;

		if (!is_struct(mt))
			continue;
		if (!strcmp(emul_btf_view_name(v, mt->name_off), "bpf_spin_lock") &&
		    BTF_INFO_KIND(mt->info) == BTF_KIND_STRUCT) {
			if (*off)
				return -E2BIG;
			*off = (uint32_t)at + 1;
			continue;
		}
		err = find_lock(v, mt, at, off, depth + 1);
		if (err)
			return err;
	}
	return 0;
}

/* Which map_check_btf op a map type has. */
enum btf_op { OP_NONE, OP_NO_BTF, OP_ARRAY, OP_TRIE, OP_BLOOM, OP_ANY_KEY };

static enum btf_op op_of(uint32_t map_type)
{
	switch (map_type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
		return OP_ARRAY;
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_STACK_TRACE:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
	case BPF_MAP_TYPE_RINGBUF:
		return OP_NO_BTF;
	case BPF_MAP_TYPE_LPM_TRIE:
		return OP_TRIE;
	case BPF_MAP_TYPE_BLOOM_FILTER:
		return OP_BLOOM;
	}
	return OP_NONE;
}

static bool is_i32(const struct btf_type *t)
{
	uint32_t enc;

	if (!t || BTF_INFO_KIND(t->info) != BTF_KIND_INT)
		return false;
	memcpy(&enc, t + 1, sizeof(enc));
	return BTF_INT_BITS(enc) == 32 && BTF_INT_OFFSET(enc) == 0;
}

/* The type's map_check_btf op, run last, after the fields were judged. */
static int run_op(const struct emul_btf_view *v, const union bpf_attr *attr,
		  const struct btf_type *key, const struct btf_type *value)
{
	switch (op_of(attr->map_type)) {
	case OP_NO_BTF:
		return -EMUL_ENOTSUPP; /* map_check_no_btf() */
	case OP_ARRAY:
		if (key)
			return is_i32(key) ? 0 : -EINVAL;
		/* keyless: only the global data maps */
		if (attr->map_type != BPF_MAP_TYPE_ARRAY || attr->max_entries != 1 ||
		    BTF_INFO_KIND(value->info) != BTF_KIND_DATASEC)
			return -EINVAL;
		return 0;
	case OP_TRIE:
		return key && BTF_INFO_KIND(key->info) == BTF_KIND_STRUCT ? 0 : -EINVAL;
	case OP_BLOOM:
		return key ? -EINVAL : 0;
	default:
		return 0;
	}
}

static int check_types(const struct emul_btf_view *v, const union bpf_attr *attr,
		       struct emul_map_btf *out)
{
	const struct btf_type *key = NULL, *value;
	uint64_t size;
	int err;

	/* map_check_btf(): a key type of the key's size, or none when the
	 * type's op can judge a keyless map */
	if (attr->btf_key_type_id) {
		key = emul_btf_view_resolve(v, attr->btf_key_type_id);
		if (!type_size(v, attr->btf_key_type_id, &size, 0) || size != attr->key_size)
			return -EINVAL;
	} else if (op_of(attr->map_type) == OP_NONE) {
		return -EINVAL;
	}
	value = emul_btf_view_resolve(v, attr->btf_value_type_id);
	if (!type_size(v, attr->btf_value_type_id, &size, 0) || size != attr->value_size)
		return -EINVAL;
	if (is_struct(value)) {
		err = find_lock(v, value, 0, &out->spin_lock_off, 0);
		if (err)
			return err;
	}
	/* the op's answer comes after the lock's checks (the maps module's) */
	out->late_err = run_op(v, attr, key, value);
	return 0;
}

int emul_map_check_btf(struct emul_obj *btf, const union bpf_attr *attr, struct emul_map_btf *out)
{
	struct emul_btf_view v;
	int err;

	memset(out, 0, sizeof(*out));
	/* map_create(): the vmlinux BTF describes no map value */
	if (btf->btf.kernel)
		return -EACCES;
	err = emul_btf_view_open(&v, btf->btf.data, btf->btf.size);
	if (!err)
		err = check_types(&v, attr, out);
	emul_btf_view_close(&v);
	return err;
}
