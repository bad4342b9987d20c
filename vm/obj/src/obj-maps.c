// SPDX-License-Identifier: MIT
/*
 * The maps of an object, in the order of bpftime_obj__map():
 *
 *   1. BTF-defined maps, in the order of the '.maps' DATASEC of the BTF.
 *      Their attributes are encoded in the types of the members of the map
 *      variable's struct, by the macros of bpf_helpers.h:
 *        __uint(name, val)  int (*name)[val]      value = the array's nelems
 *        __type(name, val)  typeof(val) *name     value = sizeof(val)
 *      The variable's offset in '.maps' comes from its ELF symbol: clang
 *      leaves DATASEC offsets to relocations (.rel.BTF) in objects.
 *   2. Global data: one single-element array per non-empty .data*,
 *      .rodata* or .bss* section, in section order, as libbpf creates them;
 *      .rodata* ones are read-only for programs (BPF_F_RDONLY_PROG).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "obj-internal.h"

/* KMALLOC_MAX_SIZE on x86-64 with 4 KiB pages (Linux 6.1: MAX_ORDER 11) */
#define OBJ_MAX_VALUE_SIZE (4u << 20)

static int new_map(struct obj_ctx *ctx, const char *name, struct obj_map **out)
{
	struct bpftime_obj *obj = ctx->obj;
	struct obj_map *maps, *m;

	/* map indexes travel in 32-bit immediates */
	if (obj->nr_maps >= INT32_MAX)
		return obj_error(ctx, -E2BIG, "too many maps");
	maps = realloc(obj->maps, (obj->nr_maps + 1) * sizeof(*maps));
	if (!maps)
		return obj_error(ctx, -ENOMEM, "out of memory for map '%s'", name);
	obj->maps = maps;
	m = &maps[obj->nr_maps];
	memset(m, 0, sizeof(*m));
	m->pub.name = strdup(name);
	if (!m->pub.name)
		return obj_error(ctx, -ENOMEM, "out of memory for map '%s'", name);
	obj->nr_maps++;
	*out = m;
	return 0;
}

/* __uint(): a pointer to an array whose element count is the value. */
static int field_uint(struct obj_ctx *ctx, const char *map, const char *field, uint32_t type,
		      uint32_t *val)
{
	const struct btf_type *t;
	uint32_t id;
	int err;

	err = obj_btf_skip_mods(ctx, type, &id);
	if (err)
		return err;
	t = obj_btf_type(&ctx->btf, id);
	if (BTF_INFO_KIND(t->info) != BTF_KIND_PTR)
		goto bad;
	err = obj_btf_skip_mods(ctx, t->type, &id);
	if (err)
		return err;
	t = obj_btf_type(&ctx->btf, id);
	if (BTF_INFO_KIND(t->info) != BTF_KIND_ARRAY)
		goto bad;
	*val = ((const struct btf_array *)(t + 1))->nelems;
	return 0;
bad:
	return obj_error(ctx, -EINVAL, "map '%s': field '%s' is not an __uint() (pointer to array)",
			 map, field);
}

/* __type(): a pointer to the key or value type. */
static int field_type_size(struct obj_ctx *ctx, const char *map, const char *field, uint32_t type,
			   uint32_t *size)
{
	const struct btf_type *t;
	uint32_t id;
	int err;

	err = obj_btf_skip_mods(ctx, type, &id);
	if (err)
		return err;
	t = obj_btf_type(&ctx->btf, id);
	if (BTF_INFO_KIND(t->info) != BTF_KIND_PTR)
		return obj_error(ctx, -EINVAL, "map '%s': field '%s' is not a __type() (pointer)",
				 map, field);
	return obj_btf_size(ctx, t->type, size);
}

/* key/key_size (value/value_size) may both be given if they agree. */
static int set_size(struct obj_ctx *ctx, const char *map, const char *what, uint32_t *slot,
		    uint32_t val)
{
	if (*slot && *slot != val)
		return obj_error(ctx, -EINVAL, "map '%s': conflicting %s sizes %u and %u", map,
				 what, *slot, val);
	*slot = val;
	return 0;
}

static int parse_field(struct obj_ctx *ctx, struct bpftime_obj_map *def, const char *field,
		       uint32_t type)
{
	const char *map = def->name;
	uint32_t v;
	int err;

	if (!strcmp(field, "key") || !strcmp(field, "value")) {
		err = field_type_size(ctx, map, field, type, &v);
		if (err)
			return err;
		return set_size(ctx, map, field,
				field[0] == 'k' ? &def->key_size : &def->value_size, v);
	}
	/* attributes that matter only to a map runtime: known, not kept */
	if (!strcmp(field, "values") || !strcmp(field, "pinning") || !strcmp(field, "numa_node") ||
	    !strcmp(field, "map_extra"))
		return 0;
	if (strcmp(field, "type") && strcmp(field, "max_entries") && strcmp(field, "map_flags") &&
	    strcmp(field, "key_size") && strcmp(field, "value_size"))
		return obj_error(ctx, -EOPNOTSUPP, "map '%s': unknown field '%s'", map, field);
	err = field_uint(ctx, map, field, type, &v);
	if (err)
		return err;
	if (!strcmp(field, "type"))
		def->type = v;
	else if (!strcmp(field, "max_entries"))
		def->max_entries = v;
	else if (!strcmp(field, "map_flags"))
		def->map_flags = v;
	else
		return set_size(ctx, map, field[0] == 'k' ? "key" : "value",
				field[0] == 'k' ? &def->key_size : &def->value_size, v);
	return 0;
}

static int parse_def(struct obj_ctx *ctx, struct bpftime_obj_map *def, uint32_t struct_id)
{
	const struct btf_type *t = obj_btf_type(&ctx->btf, struct_id);
	const struct btf_member *m = (const struct btf_member *)(t + 1);
	int err;

	if (BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT)
		return obj_error(ctx, -EINVAL, "map '%s': definition is not a struct", def->name);
	for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
		const char *field = obj_btf_str(&ctx->btf, m[i].name_off);

		if (!field || !field[0])
			return obj_error(ctx, -EINVAL, "map '%s': member %u has no name", def->name,
					 i);
		err = parse_field(ctx, def, field, m[i].type);
		if (err)
			return err;
	}
	return 0;
}

static const struct obj_sym *find_map_sym(const struct obj_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->nr_syms; i++) {
		const struct obj_sym *s = &ctx->syms[i];

		if (s->shndx == ctx->maps_sec && s->type != STT_SECTION && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

static int add_btf_map(struct obj_ctx *ctx, const struct btf_var_secinfo *vsi)
{
	const struct btf_type *var = obj_btf_type(&ctx->btf, vsi->type);
	const struct obj_sym *sym;
	const char *name;
	struct obj_map *m;
	uint32_t id;
	int err;

	if (!var || BTF_INFO_KIND(var->info) != BTF_KIND_VAR)
		return obj_error(ctx, -EINVAL, "BTF: '.maps' entry %u is not a variable",
				 vsi->type);
	name = obj_btf_str(&ctx->btf, var->name_off);
	if (!name || !name[0])
		return obj_error(ctx, -EINVAL, "BTF: '.maps' variable %u has no name", vsi->type);
	sym = find_map_sym(ctx, name);
	if (!sym)
		return obj_error(ctx, -EINVAL, "map '%s': no symbol in '.maps'", name);
	err = obj_btf_skip_mods(ctx, var->type, &id);
	if (err)
		return err;
	err = new_map(ctx, name, &m);
	if (err)
		return err;
	m->shndx = ctx->maps_sec;
	m->sec_off = sym->value;
	return parse_def(ctx, &m->pub, id);
}

static int add_btf_maps(struct obj_ctx *ctx)
{
	const struct obj_sec *s;
	const struct btf_type *t;
	int err, id;

	if (!ctx->maps_sec)
		return 0;
	if (!ctx->btf_sec)
		return obj_error(ctx, -EINVAL, "'.maps' without BTF: compile with -g");
	err = obj_elf_load(ctx, ctx->btf_sec);
	if (err)
		return err;
	s = &ctx->secs[ctx->btf_sec];
	err = obj_btf_parse(ctx, s->data, s->data ? s->sh.sh_size : 0);
	if (err)
		return err;
	id = obj_btf_find_datasec(&ctx->btf, ".maps");
	if (id < 0)
		return obj_error(ctx, -EINVAL, "BTF has no DATASEC '.maps'");
	t = obj_btf_type(&ctx->btf, (uint32_t)id);
	for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); i++) {
		err = add_btf_map(ctx, (const struct btf_var_secinfo *)(t + 1) + i);
		if (err)
			return err;
	}
	return 0;
}

/* ".data", ".data.foo", but not ".database" */
static bool is_data_name(const char *name)
{
	static const char *const prefixes[] = {".data", ".rodata", ".bss"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], n) && (name[n] == '\0' || name[n] == '.'))
			return true;
	}
	return false;
}

static int add_data_map(struct obj_ctx *ctx, size_t idx)
{
	const struct obj_sec *s = &ctx->secs[idx];
	struct obj_map *m;
	void *init;
	int err;

	/* as array_map_alloc_check(): value_size > KMALLOC_MAX_SIZE -> -E2BIG;
	 * this also bounds what a .bss, whose size costs no file bytes, makes
	 * us allocate */
	if (s->sh.sh_size > OBJ_MAX_VALUE_SIZE)
		return obj_error(ctx, -E2BIG,
				 "section '%s': %llu bytes, more than a map value may "
				 "hold (%u)",
				 s->name, (unsigned long long)s->sh.sh_size, OBJ_MAX_VALUE_SIZE);
	err = obj_elf_load(ctx, idx);
	if (err)
		return err;
	err = new_map(ctx, s->name, &m);
	if (err)
		return err;
	m->shndx = idx;
	m->pub.type = BPF_MAP_TYPE_ARRAY;
	m->pub.key_size = sizeof(uint32_t);
	m->pub.value_size = (uint32_t)s->sh.sh_size;
	m->pub.max_entries = 1;
	m->pub.map_flags = !strncmp(s->name, ".rodata", 7) ? BPF_F_RDONLY_PROG : 0;
	m->pub.global_data = true;
	if (!s->data)
		return 0;
	init = malloc(s->sh.sh_size);
	if (!init)
		return obj_error(ctx, -ENOMEM, "out of memory for '%s'", s->name);
	memcpy(init, s->data, s->sh.sh_size);
	m->pub.init = init;
	m->pub.init_size = s->sh.sh_size;
	return 0;
}

int obj_collect_maps(struct obj_ctx *ctx)
{
	int err = add_btf_maps(ctx);

	for (size_t i = 1; !err && i < ctx->nr_secs; i++) {
		const struct obj_sec *s = &ctx->secs[i];

		if ((s->sh.sh_type != SHT_PROGBITS && s->sh.sh_type != SHT_NOBITS) ||
		    (s->sh.sh_flags & SHF_EXECINSTR) || !s->sh.sh_size || !is_data_name(s->name))
			continue;
		err = add_data_map(ctx, i);
	}
	return err;
}

/*
 * The map a relocation's symbol refers to: for '.maps', the variable at the
 * symbol's offset (as libbpf matches them); for data, the section's map.
 */
int obj_map_by_sym(const struct obj_ctx *ctx, const struct obj_sym *sym)
{
	const struct bpftime_obj *obj = ctx->obj;

	for (size_t i = 0; i < obj->nr_maps; i++) {
		const struct obj_map *m = &obj->maps[i];

		if (m->shndx != sym->shndx)
			continue;
		if (m->pub.global_data || m->sec_off == sym->value)
			return (int)i;
	}
	return -ENOENT;
}
