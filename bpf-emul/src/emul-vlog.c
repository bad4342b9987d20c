// SPDX-License-Identifier: MIT
/*
 * The verifier log (BPF_PROG_LOAD log_buf, BPF_BTF_LOAD btf_log_buf), as
 * kernel/bpf/log.c since 6.4: the attributes are checked as
 * bpf_verifier_log_attr_valid() does; the caller's buffer receives the tail
 * of the text (a rotating log) or, with BPF_LOG_FIXED, its head; the size
 * the whole text needed (NUL included) goes back as log_true_size; a
 * truncated log turns the result into -ENOSPC, success included.
 *
 * Checked on 6.18 (raw bpf(2), SOCKET_FILTER "r0 = 0; exit"): level 1 with
 * no buffer loads; a buffer with level 0, a size without a buffer or a
 * buffer with size 0, level 16 and size 1 GiB are -EINVAL; size 10 gives
 * -ENOSPC with "k_read 0\n" (level 1) or "processed" (level 9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emul-internal.h"

#define LOG_LEVEL1 1u
#define LOG_LEVEL2 2u
#define LOG_STATS  4u
#define LOG_FIXED  8u /* 6.4 */
#define LOG_MASK   (LOG_LEVEL1 | LOG_LEVEL2 | LOG_STATS | LOG_FIXED)

int emul_vlog_init(struct emul_vlog *log, uint32_t level, uint64_t ubuf, uint32_t size)
{
	memset(log, 0, sizeof(*log));
	log->level = level;
	log->ubuf = ubuf;
	log->size = size;
	/* ubuf and len_total come together; a buffer needs a level */
	if (!!ubuf != !!size || (ubuf && !level))
		return -EINVAL;
	if ((level & ~LOG_MASK) || size > (UINT32_MAX >> 2))
		return -EINVAL;
	return 0;
}

void emul_vlog(struct emul_vlog *log, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!log || !log->level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if (log->len + n + 1 > log->cap) {
		size_t cap = (log->len + n + 1) * 2;
		char *t = realloc(log->text, cap);

		if (!t)
			return; /* the kernel's log loses text too when it cannot copy */
		log->text = t;
		log->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(log->text + log->len, n + 1, fmt, ap);
	va_end(ap);
	log->len += n;
}

int emul_vlog_finalize(struct emul_vlog *log, struct bpftime_caller *c, uint32_t *true_size)
{
	const char *src;
	uint32_t copy;
	char nul = 0;

	*true_size = 0;
	if (!log->level)
		return 0;
	*true_size = log->len + 1;
	if (!log->ubuf)
		return 0;
	/* the kernel's buffer holds size - 1 characters and a NUL */
	copy = log->len < log->size - 1 ? log->len : log->size - 1;
	src = log->text ? log->text : "";
	if (!(log->level & LOG_FIXED))
		src += log->len - copy; /* rotating: the tail survives */
	if (emul_write(c, log->ubuf, src, copy) || emul_write(c, log->ubuf + copy, &nul, 1))
		return -EFAULT;
	return log->len + 1 > log->size ? -ENOSPC : 0;
}

void emul_vlog_free(struct emul_vlog *log)
{
	free(log->text);
	log->text = NULL;
	log->len = log->cap = 0;
}
