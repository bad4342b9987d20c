// SPDX-License-Identifier: MIT
/*
 * A read-only walk of a BTF blob: the header and both sections checked to
 * lie inside it, the string section NUL-terminated (names are read up to
 * a NUL inside it), every type record indexed by id. Shared by the map
 * checks on a loaded BTF (emul-map-btf.c) and the task layout read from
 * the host's vmlinux BTF (emul-task-layout.c). A malformed blob gives
 * -EINVAL, never a read out of bounds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/btf.h>
#include "emul-internal.h"

/* Index every type record; -EINVAL for a blob this cannot walk. */
static int view_index(struct emul_btf_view *v)
{
	uint32_t off = 0, cap = 64;

	v->by_id = calloc(cap, sizeof(*v->by_id));
	if (!v->by_id)
		return -ENOMEM;
	v->nr = 1;
	while (off < v->types_len) {
		const struct btf_type *t = (const void *)(v->types + off);
		int64_t extra;

		/* the record header and its trailing data lie in the section */
		if (v->types_len - off < sizeof(*t))
			return -EINVAL;
		extra = emul_btf_type_extra(BTF_INFO_KIND(t->info), BTF_INFO_VLEN(t->info));
		if (extra < 0 || v->types_len - off - sizeof(*t) < (uint64_t)extra)
			return -EINVAL;
		if (v->nr == cap) {
			const struct btf_type **n = realloc(v->by_id, 2 * cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			v->by_id = n;
			cap *= 2;
		}
		v->by_id[v->nr++] = t;
		off += sizeof(*t) + (uint32_t)extra;
	}
	return 0;
}

int emul_btf_view_open(struct emul_btf_view *v, const void *data, uint32_t size)
{
	const struct btf_header *h = data;

	memset(v, 0, sizeof(*v));
	/* header, then both sections inside the blob */
	if (!data || size < sizeof(*h) || h->magic != BTF_MAGIC || h->hdr_len > size)
		return -EINVAL;
	if (h->type_off > size - h->hdr_len || h->type_len > size - h->hdr_len - h->type_off ||
	    h->str_off > size - h->hdr_len || h->str_len > size - h->hdr_len - h->str_off ||
	    !h->str_len)
		return -EINVAL;
	v->types = (const uint8_t *)data + h->hdr_len + h->type_off;
	v->types_len = h->type_len;
	v->strs = (const char *)data + h->hdr_len + h->str_off;
	v->strs_len = h->str_len;
	if (v->strs[v->strs_len - 1])
		return -EINVAL; /* as BPF_BTF_LOAD refuses it (emul-btf.c) */
	return view_index(v);
}

void emul_btf_view_close(struct emul_btf_view *v)
{
	free(v->by_id);
	v->by_id = NULL;
	v->nr = 0;
}

const struct btf_type *emul_btf_view_type(const struct emul_btf_view *v, uint32_t id)
{
	return id && id < v->nr ? v->by_id[id] : NULL;
}

const char *emul_btf_view_name(const struct emul_btf_view *v, uint32_t name_off)
{
	return name_off < v->strs_len ? v->strs + name_off : "";
}

static bool is_modifier(uint32_t kind)
{
	return kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_VOLATILE || kind == BTF_KIND_CONST ||
	       kind == BTF_KIND_RESTRICT || kind == BTF_KIND_TYPE_TAG;
}

const struct btf_type *emul_btf_view_resolve(const struct emul_btf_view *v, uint32_t id)
{
	const struct btf_type *t = emul_btf_view_type(v, id);

	for (uint32_t hops = 0; t && is_modifier(BTF_INFO_KIND(t->info)); hops++) {
		if (hops > 32)
			return NULL; /* BTF_LOAD refuses loops; never follow one */
		t = emul_btf_view_type(v, t->type);
	}
	return t;
}
