// SPDX-License-Identifier: MIT
/*
 * BPF_BTF_LOAD and the vmlinux BTF, as kernel/bpf/btf.c: btf_parse() checks
 * the header (btf_parse_hdr), the sections (btf_check_sec_info), the string
 * section (btf_parse_str_sec) and that every type record is well formed
 * (btf_check_all_metas: kind, size of the record and its members, name
 * offsets), with the kernel's errno and log lines. Types are not resolved:
 * a BTF whose references point nowhere loads here and not in the kernel.
 * The bytes are kept for OBJ_GET_INFO_BY_FD.
 *
 * BTF id 1 is the host's vmlinux BTF (opts.vmlinux_btf or
 * /sys/kernel/btf/vmlinux), read on first use and kept for the session:
 * bpftrace takes kernel BTF by id (tool-surface.md section 4).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/btf.h>
#include "emul-internal.h"

#define BTF_MAX_SIZE      (16u * 1024 * 1024)
#define BTF_KIND_ENUM64_  19 /* 6.0 */
#define BTF_KIND_MAX_     19
#define BTF_MAX_NAME_OFF  0xffffffu
#define BTF_LOG_TRUE_OFF  (offsetof(union bpf_attr, btf_log_level) + 4) /* 6.4 */
#define BTF_FLAGS_OFF     (BTF_LOG_TRUE_OFF + 4)                        /* 6.9 */
#define BTF_LOAD_ATTR_END (BTF_FLAGS_OFF + 8) /* btf_flags, btf_token_fd */
#define VMLINUX_DEFAULT   "/sys/kernel/btf/vmlinux"

struct parse {
	const uint8_t *data;
	uint32_t size;
	struct btf_header hdr;
	struct emul_vlog *log;
};

static int check_hdr(struct parse *p)
{
	const struct btf_header *h = (const void *)p->data;
	uint32_t hdr_len;

	if (p->size < offsetof(struct btf_header, hdr_len) + sizeof(h->hdr_len)) {
		emul_vlog(p->log, "hdr_len not found");
		return -EINVAL;
	}
	hdr_len = h->hdr_len;
	if (p->size < hdr_len) {
		emul_vlog(p->log, "btf_header not found");
		return -EINVAL;
	}
	/* fields past the ones we know must be zero */
	for (uint32_t i = sizeof(p->hdr); i < hdr_len; i++)
		if (p->data[i]) {
			emul_vlog(p->log, "Unsupported btf_header");
			return -E2BIG;
		}
	memset(&p->hdr, 0, sizeof(p->hdr));
	memcpy(&p->hdr, h, hdr_len < sizeof(p->hdr) ? hdr_len : sizeof(p->hdr));
	emul_vlog(p->log,
		  "magic: 0x%x\nversion: %u\nflags: 0x%x\nhdr_len: %u\ntype_off: %u\n"
		  "type_len: %u\nstr_off: %u\nstr_len: %u\nbtf_total_size: %u\n",
		  p->hdr.magic, p->hdr.version, p->hdr.flags, hdr_len, p->hdr.type_off,
		  p->hdr.type_len, p->hdr.str_off, p->hdr.str_len, p->size);
	if (p->hdr.magic != BTF_MAGIC) {
		emul_vlog(p->log, "Invalid magic");
		return -EINVAL;
	}
	if (p->hdr.version != BTF_VERSION) {
		emul_vlog(p->log, "Unsupported version");
		return -EMUL_ENOTSUPP;
	}
	if (p->hdr.flags) {
		emul_vlog(p->log, "Unsupported flags");
		return -EMUL_ENOTSUPP;
	}
	if (p->size == hdr_len) {
		emul_vlog(p->log, "No data");
		return -EINVAL;
	}
	return 0;
}

/* btf_check_sec_info(): the two sections, in offset order, cover the data
 * after the header exactly */
static int check_sections(struct parse *p)
{
	uint32_t off[2] = {p->hdr.type_off, p->hdr.str_off};
	uint32_t len[2] = {p->hdr.type_len, p->hdr.str_len};
	uint32_t expected = p->size - p->hdr.hdr_len, total = 0;
	int first = off[0] <= off[1] ? 0 : 1;

	for (int k = 0; k < 2; k++) {
		int s = k ? !first : first;

		if (expected < off[s]) {
			emul_vlog(p->log, "Invalid section offset");
			return -EINVAL;
		}
		if (total < off[s]) {
			emul_vlog(p->log, "Unsupported section found");
			return -EINVAL;
		}
		if (total > off[s]) {
			emul_vlog(p->log, "Section overlap found");
			return -EINVAL;
		}
		if (expected - total < len[s]) {
			emul_vlog(p->log, "Total section length too long");
			return -EINVAL;
		}
		total += len[s];
	}
	if (expected != total) {
		emul_vlog(p->log, "Unsupported section found");
		return -EINVAL;
	}
	return 0;
}

/* btf_parse_str_sec() */
static int check_strings(struct parse *p)
{
	const char *start = (const char *)p->data + p->hdr.hdr_len + p->hdr.str_off;
	const char *end = start + p->hdr.str_len;

	if (end != (const char *)p->data + p->size) {
		emul_vlog(p->log, "String section is not at the end");
		return -EINVAL;
	}
	if (!p->hdr.str_len || p->hdr.str_len - 1 > BTF_MAX_NAME_OFF || start[0] || end[-1]) {
		emul_vlog(p->log, "Invalid string section");
		return -EINVAL;
	}
	return 0;
}

/* bytes that follow a struct btf_type of @kind with @vlen members */
int64_t emul_btf_type_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT:
		return 4;
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
		return (int64_t)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (int64_t)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (int64_t)vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return (int64_t)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	case BTF_KIND_ENUM64_:
		return (int64_t)vlen * 12; /* struct btf_enum64 */
	}
	return -1;
}

/* btf_check_all_metas(), the part that needs no resolution */
static int check_types(struct parse *p)
{
	const uint8_t *t = p->data + p->hdr.hdr_len + p->hdr.type_off;
	uint32_t left = p->hdr.type_len, id = 1;

	if (p->hdr.type_off % 4) {
		emul_vlog(p->log, "Unaligned type_off");
		return -EINVAL;
	}
	while (left) {
		struct btf_type bt;
		int64_t extra;

		if (left < sizeof(bt)) {
			emul_vlog(p->log, "[%u] meta_left:%u meta_needed:%zu\n", id, left,
				  sizeof(bt));
			return -EINVAL;
		}
		memcpy(&bt, t, sizeof(bt));
		if (BTF_INFO_KIND(bt.info) == 0 || BTF_INFO_KIND(bt.info) > BTF_KIND_MAX_) {
			emul_vlog(p->log, "[%u] Invalid kind:%u\n", id, BTF_INFO_KIND(bt.info));
			return -EINVAL;
		}
		if (bt.name_off >= p->hdr.str_len) {
			emul_vlog(p->log, "[%u] Invalid name_offset:%u\n", id, bt.name_off);
			return -EINVAL;
		}
		extra = emul_btf_type_extra(BTF_INFO_KIND(bt.info), BTF_INFO_VLEN(bt.info));
		if (extra < 0 || (uint64_t)extra > left - sizeof(bt)) {
			emul_vlog(p->log, "[%u] meta_left:%zu meta_needed:%lld\n", id,
				  left - sizeof(bt), (long long)extra);
			return -EINVAL;
		}
		t += sizeof(bt) + extra;
		left -= sizeof(bt) + (uint32_t)extra;
		id++;
	}
	return 0;
}

static int parse(struct parse *p)
{
	int err = check_hdr(p);

	if (!err)
		err = check_sections(p);
	if (!err)
		err = check_strings(p);
	if (!err)
		err = check_types(p);
	return err;
}

static struct emul_obj *btf_obj(struct bpftime_emul *e, void *data, uint32_t size, uint32_t id)
{
	struct emul_obj *o = emul_obj_new(e, EMUL_OBJ_BTF, "bpf-btf", NULL);

	if (!o)
		return NULL;
	o->btf.data = data;
	o->btf.size = size;
	o->id = id;
	if (emul_obj_add(e, o)) {
		o->btf.data = NULL; /* the caller still owns it */
		emul_obj_put(e, o);
		return NULL;
	}
	return o;
}

static int finish_log(struct emul_vlog *log, struct bpftime_caller *c, uint64_t uattr,
		      uint32_t size, int ret)
{
	uint32_t true_size;
	int err = emul_vlog_finalize(log, c, &true_size);

	if (err)
		ret = err;
	if (size >= BTF_LOG_TRUE_OFF + 4 &&
	    emul_write(c, uattr + BTF_LOG_TRUE_OFF, &true_size, sizeof(true_size)))
		ret = -EFAULT;
	return ret;
}

static int btf_flags(struct bpftime_emul *e, const union bpf_attr *attr)
{
	uint32_t flags;

	/* btf_flags (6.9) lies past our 6.1 union's BTF_LOAD fields */
	memcpy(&flags, (const uint8_t *)attr + BTF_FLAGS_OFF, sizeof(flags));
	if (flags)
		emul_log(e, BPFTIME_EMUL_LOG_WARN,
			 "BPF_BTF_LOAD: btf_flags 0x%x (BPF tokens) are not available in user "
			 "space: -EINVAL",
			 flags);
	return flags ? -EINVAL : 0;
}

long emul_cmd_btf_load(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
		       uint64_t uattr, uint32_t size)
{
	struct parse p = {0};
	struct emul_vlog log;
	struct emul_obj *o;
	uint8_t *data;
	long ret;
	int fd;

	/* CHECK_ATTR as 6.18: btf_log_true_size, btf_flags, btf_token_fd */
	if (emul_attr_tail_nonzero(attr, BTF_LOAD_ATTR_END) || btf_flags(e, attr))
		return -EINVAL;
	if (attr->btf_size > BTF_MAX_SIZE)
		return -E2BIG;
	ret = emul_vlog_init(&log, attr->btf_log_level, attr->btf_log_buf, attr->btf_log_size);
	if (ret)
		return ret;
	data = malloc(attr->btf_size ? attr->btf_size : 1);
	if (!data)
		return -ENOMEM;
	if (emul_read(c, data, attr->btf, attr->btf_size)) {
		emul_vlog_free(&log);
		free(data);
		return -EFAULT;
	}
	p.data = data;
	p.size = attr->btf_size;
	p.log = &log;
	ret = finish_log(&log, c, uattr, size, parse(&p));
	emul_vlog_free(&log);
	o = ret ? NULL : btf_obj(e, data, p.size, e->next_btf_id);
	if (!o) {
		free(data);
		return ret ? ret : -ENOMEM;
	}
	e->next_btf_id++;
	fd = emul_obj_install(e, c, o, O_CLOEXEC);
	if (fd < 0)
		emul_obj_put(e, o);
	return fd;
}

void *emul_btf_read_file(const char *path, uint32_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > EMUL_BTF_FILE_MAX) {
		errno = EINVAL;
		goto out;
	}
	data = malloc(st.st_size);
	while (data && got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, st.st_size - got);

		if (n <= 0)
			break;
		got += n;
	}
	if (data && got != (size_t)st.st_size) {
		free(data);
		data = NULL;
		errno = EIO;
	}
	*size = (uint32_t)got;
out:
	close(fd);
	return data;
}

struct emul_obj *emul_btf_vmlinux(struct bpftime_emul *e)
{
	const char *path = e->opts.vmlinux_btf ? e->opts.vmlinux_btf : VMLINUX_DEFAULT;
	struct emul_obj *o;
	uint32_t size = 0;
	void *data;

	if (e->vmlinux_loaded)
		return emul_obj_by_id(e, EMUL_OBJ_BTF, 1);
	data = emul_btf_read_file(path, &size);
	if (!data) {
		emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "vmlinux BTF %s: %s: no BTF id 1", path,
			 strerror(errno));
		return NULL;
	}
	o = btf_obj(e, data, size, 1);
	if (!o) {
		free(data);
		return NULL;
	}
	o->btf.kernel = true;
	strcpy(o->btf.name, "vmlinux");
	/* the kernel's own BTF never goes away: the session holds it */
	emul_obj_get(o);
	e->vmlinux_loaded = true;
	return o;
}

void emul_btf_release(struct bpftime_emul *e, struct emul_obj *o)
{
	(void)e;
	free(o->btf.data);
	o->btf.data = NULL;
}

/* btf_get_info_by_fd(): the bytes, the id, the name, kernel_btf */
int emul_btf_info(struct bpftime_emul *e, struct bpftime_caller *c, struct emul_obj *o,
		  struct bpf_btf_info *info, uint32_t *len)
{
	uint32_t copy = info->btf_size < o->btf.size ? info->btf_size : o->btf.size;
	uint32_t name_len = strlen(o->btf.name), ulen = info->name_len;
	char nul = 0;

	(void)e;
	*len = sizeof(*info);
	info->id = o->id;
	if (copy && emul_write(c, info->btf, o->btf.data, copy))
		return -EFAULT;
	info->btf_size = o->btf.size;
	info->kernel_btf = o->btf.kernel;
	if (!info->name ^ !ulen)
		return -EINVAL;
	info->name_len = name_len;
	if (!info->name)
		return 0;
	if (ulen >= name_len + 1)
		return emul_write(c, info->name, o->btf.name, name_len + 1) ? -EFAULT : 0;
	if (emul_write(c, info->name, o->btf.name, ulen - 1) ||
	    emul_write(c, info->name + ulen - 1, &nul, 1))
		return -EFAULT;
	return -ENOSPC; /* the kernel writes the info back, then says the name was cut */
}
