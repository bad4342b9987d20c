// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "emul-test.h"

static int self_read(void *ctx, void *dst, uint64_t addr, size_t len)
{
	struct iovec l = {dst, len}, r = {(void *)(uintptr_t)addr, len};

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int self_write(void *ctx, uint64_t addr, const void *src, size_t len)
{
	struct iovec l = {(void *)src, len}, r = {(void *)(uintptr_t)addr, len};

	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int self_install(void *ctx, int fd, int flags)
{
	int n = fcntl(fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);

	return n < 0 ? -errno : n;
}

static int self_get(void *ctx, int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return n < 0 ? -EBADF : n;
}

static const struct bpftime_caller_ops self_ops = {
    .read = self_read,
    .write = self_write,
    .install_fd = self_install,
    .get_fd = self_get,
};

void emul_test_setup(struct emul_test *t)
{
	struct bpftime_emul_opts o;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/bpftime-emul-test-%d", getpid());
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.session_dir = t->dir;
	o.log_level =
	    getenv("BPFTIME_TEST_VERBOSE") ? BPFTIME_EMUL_LOG_DEBUG : BPFTIME_EMUL_LOG_ERROR;
	t->e = bpftime_emul__new(&o);
	if (!t->e) {
		fprintf(stderr, "emulator: %s\n", strerror(errno));
		abort();
	}
	t->caller.ops = &self_ops;
	t->caller.pid = getpid();
	t->caller.tid = gettid();
	t->caller.uid = getuid();
}

void emul_test_teardown(struct emul_test *t)
{
	bpftime_emul__free(t->e);
	t->e = NULL;
}

long emul_test_bpf(struct emul_test *t, int cmd, void *attr, uint32_t size)
{
	return bpftime_emul__bpf(t->e, &t->caller, cmd, ptr_to_u64(attr), size);
}

uint64_t emul_test_bad_ptr(void)
{
	static void *p;

	if (!p) {
		p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(p, 4096);
	}
	return ptr_to_u64(p);
}
