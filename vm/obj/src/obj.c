// SPDX-License-Identifier: MIT
/*
 * The obj lifecycle: read the file, run the parse steps in order, keep what
 * the caller may ask for, drop the rest. Accessors of the built object.
 *
 * Every malformed input fails with NULL, errno and one message naming the
 * file: ENOEXEC when it is not a BPF ELF object at all, EINVAL when its
 * contents are inconsistent, EOPNOTSUPP for features this reader does not
 * implement (legacy maps, externs, kfunc calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "obj-internal.h"

/* Objects are small; anything larger is almost surely the wrong file. */
#define OBJ_MAX_FILE_SIZE (1ull << 30)

int obj_error(struct obj_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err || !ctx->err_size || ctx->err[0])
		return err;
	n = snprintf(ctx->err, ctx->err_size, "%s: ", ctx->name);
	if (n < 0 || (size_t)n >= ctx->err_size)
		return err;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->err_size - n, fmt, ap);
	va_end(ap);
	return err;
}

void bpftime_obj__free(struct bpftime_obj *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->nr_progs; i++) {
		free(obj->progs[i].name);
		free(obj->progs[i].sec_name);
		free(obj->progs[i].insns);
	}
	for (size_t i = 0; i < obj->nr_maps; i++) {
		free((char *)obj->maps[i].pub.name);
		free((void *)obj->maps[i].pub.init);
		free(obj->maps[i].data);
	}
	free(obj->progs);
	free(obj->maps);
	free(obj);
}

static void ctx_release(struct obj_ctx *ctx)
{
	obj_elf_close(ctx);
	obj_btf_free(&ctx->btf);
	free(ctx->image);
	ctx->image = NULL;
}

static int parse(struct obj_ctx *ctx)
{
	int err;

	err = obj_elf_open(ctx);
	if (!err)
		err = obj_elf_sections(ctx);
	if (!err)
		err = obj_elf_symbols(ctx);
	if (!err)
		err = obj_elf_relocs(ctx);
	if (!err)
		err = obj_collect_maps(ctx);
	if (!err)
		err = obj_collect_progs(ctx);
	return err;
}

/* Takes ownership of @image (malloc'd, @size bytes). */
static struct bpftime_obj *open_image(const char *name, void *image, size_t size, char *err_buf,
				      size_t err_size)
{
	struct obj_ctx ctx = {
	    .name = name, .err = err_buf, .err_size = err_size, .image = image, .size = size};
	int err;

	if (err_buf && err_size)
		err_buf[0] = '\0';
	ctx.obj = calloc(1, sizeof(*ctx.obj));
	if (!ctx.obj) {
		err = obj_error(&ctx, -ENOMEM, "out of memory");
		goto err_out;
	}
	err = parse(&ctx);
	if (err)
		goto err_out;
	ctx_release(&ctx);
	return ctx.obj;

err_out:
	ctx_release(&ctx);
	bpftime_obj__free(ctx.obj);
	errno = -err;
	return NULL;
}

struct bpftime_obj *bpftime_obj__open_mem(const void *buf, size_t size, char *err, size_t err_size)
{
	struct obj_ctx ctx = {.name = "(memory)", .err = err, .err_size = err_size};
	void *image;

	if (err && err_size)
		err[0] = '\0';
	if (!buf && size) {
		errno = -obj_error(&ctx, -EINVAL, "NULL buffer");
		return NULL;
	}
	/* one byte more so that an empty input still gets a buffer */
	image = malloc(size + 1);
	if (!image) {
		errno = -obj_error(&ctx, -ENOMEM, "out of memory for %zu bytes", size);
		return NULL;
	}
	if (size)
		memcpy(image, buf, size);
	return open_image(ctx.name, image, size, err, err_size);
}

/* Read all of @fd into a malloc'd buffer. */
static int read_all(struct obj_ctx *ctx, int fd, void **out, size_t *out_size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;

	if (fstat(fd, &st))
		return obj_error(ctx, -errno, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return obj_error(ctx, -EINVAL, "not a regular file");
	if ((unsigned long long)st.st_size > OBJ_MAX_FILE_SIZE)
		return obj_error(ctx, -EFBIG, "file too large (%lld bytes)", (long long)st.st_size);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return obj_error(ctx, -ENOMEM, "out of memory for %lld bytes",
				 (long long)st.st_size);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(buf);
			return obj_error(ctx, -e, "cannot read: %s",
					 n < 0 ? strerror(e) : "file shrank");
		}
		done += (size_t)n;
	}
	*out = buf;
	*out_size = done;
	return 0;
}

struct bpftime_obj *bpftime_obj__open(const char *path, char *err, size_t err_size)
{
	struct obj_ctx ctx = {.name = path ? path : "(null)", .err = err, .err_size = err_size};
	void *image = NULL;
	size_t size = 0;
	int fd, ret;

	if (err && err_size)
		err[0] = '\0';
	if (!path) {
		errno = -obj_error(&ctx, -EINVAL, "no path");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errno = -obj_error(&ctx, ret, "cannot open: %s", strerror(-ret));
		return NULL;
	}
	ret = read_all(&ctx, fd, &image, &size);
	close(fd);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return open_image(path, image, size, err, err_size);
}

size_t bpftime_obj__prog_cnt(const struct bpftime_obj *obj)
{
	return obj ? obj->nr_progs : 0;
}

const char *bpftime_obj__prog_name(const struct bpftime_obj *obj, size_t idx)
{
	return obj && idx < obj->nr_progs ? obj->progs[idx].name : NULL;
}

const char *bpftime_obj__prog_section(const struct bpftime_obj *obj, size_t idx)
{
	return obj && idx < obj->nr_progs ? obj->progs[idx].sec_name : NULL;
}

int bpftime_obj__prog_find(const struct bpftime_obj *obj, const char *name)
{
	if (!obj || !name)
		return -EINVAL;
	for (size_t i = 0; i < obj->nr_progs && i <= INT32_MAX; i++)
		if (!strcmp(obj->progs[i].sec_name, name) || !strcmp(obj->progs[i].name, name))
			return (int)i;
	return -ENOENT;
}

const struct bpf_insn *bpftime_obj__prog_insns(const struct bpftime_obj *obj, size_t idx,
					       size_t *cnt)
{
	if (!obj || idx >= obj->nr_progs)
		return NULL;
	if (cnt)
		*cnt = obj->progs[idx].cnt;
	return obj->progs[idx].insns;
}

size_t bpftime_obj__map_cnt(const struct bpftime_obj *obj)
{
	return obj ? obj->nr_maps : 0;
}

const struct bpftime_obj_map *bpftime_obj__map(const struct bpftime_obj *obj, size_t idx)
{
	return obj && idx < obj->nr_maps ? &obj->maps[idx].pub : NULL;
}
