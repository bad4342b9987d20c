// SPDX-License-Identifier: MIT
/*
 * The seccomp handler: every trapped call of TOOL and its children comes
 * here. The fake-root answers first (their syscalls are trapped only with
 * --fake-root), then the emulator, which returns BPFTIME_EMUL_CONTINUE for
 * what is not ours (an ioctl on a tty, an open of a normal file) so that the
 * kernel runs it.
 */
#include <errno.h>
#include <stdlib.h>
#include "sup-internal.h"

static size_t count(const int *list)
{
	size_t n = 0;

	while (list[n] >= 0)
		n++;
	return n;
}

int *sup_trapped_syscalls(bool fake_root)
{
	const int *emul = bpftime_emul__syscalls();
	size_t ne = count(emul);
	size_t nf = fake_root ? count(sup_fakeroot_syscalls) : 0;
	int *list = malloc((ne + nf + 1) * sizeof(*list));

	if (!list)
		return NULL;
	for (size_t i = 0; i < ne; i++)
		list[i] = emul[i];
	for (size_t i = 0; i < nf; i++)
		list[ne + i] = sup_fakeroot_syscalls[i];
	list[ne + nf] = -1;
	return list;
}

long sup_handle(void *opaque, struct bpftime_caller *caller, long nr, const uint64_t args[6])
{
	struct sup_ctx *ctx = opaque;
	long ret;

	if (ctx->fake_root) {
		ret = sup_fakeroot(ctx, caller, nr, args);
		if (ret != BPFTIME_EMUL_CONTINUE)
			return ret;
	}
	if (!ctx->emul)
		return BPFTIME_EMUL_CONTINUE;
	return bpftime_emul__syscall(ctx->emul, caller, nr, args);
}
