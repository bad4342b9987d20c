// SPDX-License-Identifier: MIT
/*
 * A reader for the .BTF section (Documentation/bpf/btf.rst): a header, a
 * type section of variable-length records (struct btf_type plus a tail
 * whose size depends on the kind) and a string section.
 *
 * Parsing indexes every record once, checking that each one lies inside
 * the type section; afterwards obj_btf_type() only has to check the id.
 * Type ids inside records (member types, array element types, ...) are
 * checked when followed. Following chains of modifiers, typedefs and array
 * elements is bounded, because a crafted file can make them cycle.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "obj-internal.h"

/* The kernel's MAX_RESOLVE_DEPTH (kernel/bpf/btf.c) is 32 too. */
#define BTF_MAX_DEPTH 32

const struct btf_type *obj_btf_type(const struct obj_btf *btf, uint32_t id)
{
	if (id == 0 || id > btf->nr_types)
		return NULL;
	return (const struct btf_type *)(btf->types + btf->offs[id]);
}

const char *obj_btf_str(const struct obj_btf *btf, uint32_t off)
{
	/* strs ends in '\0', so any offset inside it starts a terminated string */
	return off < btf->strs_len ? btf->strs + off : NULL;
}

/* Bytes that follow struct btf_type for @t's kind; -1 for unknown kinds. */
static long tail_size(const struct btf_type *t)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
		return sizeof(uint32_t);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	}
	return -1;
}

/* Walk the type section; with @offs, record each record's offset. */
static int walk_types(struct obj_ctx *ctx, struct obj_btf *btf, uint32_t *offs, uint32_t *nr)
{
	uint32_t off = 0, n = 0;

	while (off < btf->types_len) {
		const struct btf_type *t = (const struct btf_type *)(btf->types + off);
		long tail;

		/* the fixed part of the record is inside the type section */
		if (btf->types_len - off < sizeof(*t))
			return obj_error(ctx, -EINVAL, "BTF: type %u is truncated", n + 1);
		tail = tail_size(t);
		if (tail < 0)
			return obj_error(ctx, -EINVAL, "BTF: type %u has unknown kind %u", n + 1,
					 BTF_INFO_KIND(t->info));
		/* and so is its tail */
		if ((uint64_t)tail > btf->types_len - off - sizeof(*t))
			return obj_error(ctx, -EINVAL, "BTF: type %u is truncated", n + 1);
		/* ids fit the format's 20 bits (BTF_MAX_TYPE) */
		if (n == BTF_MAX_TYPE)
			return obj_error(ctx, -EINVAL, "BTF: more than %u types", BTF_MAX_TYPE);
		n++;
		if (offs)
			offs[n] = off;
		off += (uint32_t)(sizeof(*t) + tail);
	}
	*nr = n;
	return 0;
}

/* Header checks; sets the types and strs views into btf->buf. */
static int parse_header(struct obj_ctx *ctx, struct obj_btf *btf, size_t size)
{
	struct btf_header h;

	/* the fixed header is inside the section */
	if (size < sizeof(h))
		return obj_error(ctx, -EINVAL, "BTF: section too small (%zu bytes)", size);
	memcpy(&h, btf->buf, sizeof(h));
	if (h.magic != BTF_MAGIC)
		return obj_error(ctx, -EINVAL, "BTF: bad magic 0x%x%s", h.magic,
				 h.magic == 0x9FEB ? " (other byte order)" : "");
	if (h.version != BTF_VERSION)
		return obj_error(ctx, -EINVAL, "BTF: unsupported version %u", h.version);
	/* the header may grow, but stays inside the section */
	if (h.hdr_len < sizeof(h) || h.hdr_len > size)
		return obj_error(ctx, -EINVAL, "BTF: bad header length %u", h.hdr_len);
	size -= h.hdr_len;
	/* both parts lie inside what follows the header; types are 4-aligned */
	if (h.type_off > size || h.type_len > size - h.type_off || h.str_off > size ||
	    h.str_len > size - h.str_off || h.type_off % 4 || h.hdr_len % 4)
		return obj_error(ctx, -EINVAL, "BTF: type or string section outside the data");
	/* strings end in '\0', so no lookup can run past the section */
	if (h.str_len == 0 || ((const char *)btf->buf)[h.hdr_len + h.str_off + h.str_len - 1])
		return obj_error(ctx, -EINVAL, "BTF: string section is not NUL-terminated");
	btf->types = (const uint8_t *)btf->buf + h.hdr_len + h.type_off;
	btf->types_len = h.type_len;
	btf->strs = (const char *)btf->buf + h.hdr_len + h.str_off;
	btf->strs_len = h.str_len;
	return 0;
}

int obj_btf_parse(struct obj_ctx *ctx, const void *data, size_t size)
{
	struct obj_btf *btf = &ctx->btf;
	uint32_t nr;
	int err;

	/* A copy: the section may sit at any offset of the file, and records
	 * are read as structs of 32-bit fields. */
	btf->buf = malloc(size ? size : 1);
	if (!btf->buf)
		return obj_error(ctx, -ENOMEM, "out of memory for BTF (%zu bytes)", size);
	if (size)
		memcpy(btf->buf, data, size);
	err = parse_header(ctx, btf, size);
	if (!err)
		err = walk_types(ctx, btf, NULL, &nr);
	if (err)
		return err;
	btf->offs = calloc((size_t)nr + 1, sizeof(*btf->offs));
	if (!btf->offs)
		return obj_error(ctx, -ENOMEM, "out of memory for %u BTF types", nr);
	btf->nr_types = nr;
	return walk_types(ctx, btf, btf->offs, &nr);
}

void obj_btf_free(struct obj_btf *btf)
{
	free(btf->buf);
	free(btf->offs);
	memset(btf, 0, sizeof(*btf));
}

static bool is_mod(const struct btf_type *t)
{
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		return true;
	}
	return false;
}

/* Follow typedefs and qualifiers from @id to a type that is neither. */
int obj_btf_skip_mods(struct obj_ctx *ctx, uint32_t id, uint32_t *out)
{
	for (int depth = 0; depth < BTF_MAX_DEPTH; depth++) {
		const struct btf_type *t = obj_btf_type(&ctx->btf, id);

		if (!t)
			return obj_error(ctx, -EINVAL, "BTF: type id %u out of range", id);
		if (!is_mod(t)) {
			*out = id;
			return 0;
		}
		id = t->type;
	}
	return obj_error(ctx, -EINVAL, "BTF: type chain too long (loop?) at id %u", id);
}

/* The size in bytes of type @id, as sizeof() in the program. */
int obj_btf_size(struct obj_ctx *ctx, uint32_t id, uint32_t *size)
{
	uint64_t mult = 1;

	for (int depth = 0; depth < BTF_MAX_DEPTH; depth++) {
		const struct btf_type *t = obj_btf_type(&ctx->btf, id);
		const struct btf_array *a;

		if (!t)
			return obj_error(ctx, -EINVAL, "BTF: type id %u has no size", id);
		switch (BTF_INFO_KIND(t->info)) {
		case BTF_KIND_INT:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
		case BTF_KIND_FLOAT:
		case BTF_KIND_DATASEC:
			mult *= t->size;
			goto out;
		case BTF_KIND_PTR:
			mult *= sizeof(uint64_t);
			goto out;
		case BTF_KIND_ARRAY:
			a = (const struct btf_array *)(t + 1);
			mult *= a->nelems;
			id = a->type;
			break;
		default:
			if (!is_mod(t) && BTF_INFO_KIND(t->info) != BTF_KIND_VAR)
				return obj_error(ctx, -EINVAL,
						 "BTF: type id %u (kind %u) has no size", id,
						 BTF_INFO_KIND(t->info));
			id = t->type;
		}
		/* every factor is below 2^32, so one check per step stops overflow */
		if (mult > UINT32_MAX)
			return obj_error(ctx, -E2BIG, "BTF: type id %u is larger than 4 GiB", id);
	}
	return obj_error(ctx, -EINVAL, "BTF: type chain too long (loop?) at id %u", id);
out:
	if (mult > UINT32_MAX)
		return obj_error(ctx, -E2BIG, "BTF: type id %u is larger than 4 GiB", id);
	*size = (uint32_t)mult;
	return 0;
}

/* The id of the DATASEC named @name, or -ENOENT. */
int obj_btf_find_datasec(const struct obj_btf *btf, const char *name)
{
	for (uint32_t id = 1; id <= btf->nr_types; id++) {
		const struct btf_type *t = obj_btf_type(btf, id);
		const char *n;

		if (BTF_INFO_KIND(t->info) != BTF_KIND_DATASEC)
			continue;
		n = obj_btf_str(btf, t->name_off);
		if (n && !strcmp(n, name))
			return (int)id;
	}
	return -ENOENT;
}
