// SPDX-License-Identifier: MIT
/*
 * The kernel column: libbpf loads bench_vm.bpf.o (the verifier inlines the
 * bpf_loop calls and the JIT compiles each program), the runner writes the
 * inputs into the object's .bss map, and BPF_PROG_TEST_RUN with `repeat`
 * times the runs in the kernel (bpf_test_run(): the mean of `repeat` runs
 * in ns, rounded down, without syscall cost but with the test loop's own
 * few ns per run).
 *
 * Needs root; without it, or without bpf(2), the column reads "n/a" and the
 * reason. A program the verifier rejects is a bug of the benchmark and fails
 * the run. Built without libbpf, the engine is a stub that says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench-vm.h"

#ifdef BENCH_VM_HAVE_LIBBPF
#include <stdarg.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct kernel_ctx {
	struct bpf_object *obj;
	int prog_fd[BENCH_WL__COUNT]; /* owned by obj; -1 when not loaded */
	unsigned char pkt[BENCH_PKT_SIZE];
};

/* libbpf's warnings (the verifier log among them) matter; its info and
 * debug lines would bury the table. */
static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int kernel_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
			  uint32_t *ret)
{
	struct kernel_ctx *k = ctx;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = k->pkt, .data_size_in = sizeof(k->pkt));
	int err;

	if (!repeat || repeat > UINT32_MAX || k->prog_fd[wl] < 0)
		return -EINVAL;
	opts.repeat = (__u32)repeat;
	err = bpf_prog_test_run_opts(k->prog_fd[wl], &opts);
	if (err) {
		fprintf(stderr, "kernel: prog '%s': BPF_PROG_TEST_RUN (repeat %llu): %s\n",
			bpftime_bench_workloads[wl].prog, (unsigned long long)repeat,
			strerror(-err));
		return err;
	}
	*ns_per_run = opts.duration;
	*ret = opts.retval;
	return 0;
}

/* Load only the programs of @mask: the others need not pass the verifier. */
static int select_progs(struct kernel_ctx *k, unsigned mask)
{
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++) {
		const char *name = bpftime_bench_workloads[wl].prog;
		struct bpf_program *prog = bpf_object__find_program_by_name(k->obj, name);

		if (!prog) {
			fprintf(stderr, "kernel: no program '%s' in the object\n", name);
			return -ENOENT;
		}
		bpf_program__set_autoload(prog, (mask >> wl) & 1);
	}
	return 0;
}

/* The inputs go into .bss after load: libbpf 1.1 maps the section's image
 * into the kernel map only through skeletons. */
static int write_inputs(struct kernel_ctx *k, const struct bench_vm_data *img)
{
	struct bpf_map *bss = bpf_object__find_map_by_name(k->obj, ".bss");
	__u32 key = 0;
	int err;

	if (!bss) {
		fprintf(stderr, "kernel: the object has no .bss map\n");
		return -ENOENT;
	}
	if (bpf_map__value_size(bss) != sizeof(*img)) {
		fprintf(stderr,
			"kernel: .bss is %u bytes, struct bench_vm_data %zu: "
			"bench_data must be its only variable\n",
			bpf_map__value_size(bss), sizeof(*img));
		return -EINVAL;
	}
	err = bpf_map_update_elem(bpf_map__fd(bss), &key, img, BPF_ANY);
	if (err)
		fprintf(stderr, "kernel: writing the inputs into .bss: %s\n", strerror(-err));
	return err;
}

static void set_unavailable(struct bench_engine *e, const char *why, int err)
{
	e->available = false;
	snprintf(e->reason, sizeof(e->reason), "%s%s%s", why, err ? ": " : "",
		 err ? strerror(err) : "");
}

static int load(struct bench_engine *e, struct kernel_ctx *k, unsigned mask,
		const struct bench_vm_data *img)
{
	int err = select_progs(k, mask);

	if (err)
		return err;
	err = bpf_object__load(k->obj);
	/* No permission (lockdown, an LSM) or no bpf(2) is the machine's
	 * business, not ours. Not -EACCES: the verifier rejects with it. */
	if (err == -EPERM || err == -ENOSYS) {
		set_unavailable(e, "bpf() refused", -err);
		return 0;
	}
	if (err) {
		fprintf(stderr, "kernel: loading the programs: %s (verifier log above)\n",
			strerror(-err));
		return err;
	}
	err = write_inputs(k, img);
	if (err)
		return err;
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++)
		if ((mask >> wl) & 1)
			k->prog_fd[wl] = bpf_program__fd(bpf_object__find_program_by_name(
			    k->obj, bpftime_bench_workloads[wl].prog));
	e->available = true;
	return 0;
}

int bpftime_bench_kernel__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			       const struct bench_vm_data *img)
{
	struct kernel_ctx *k;
	int err;

	e->name = "kernel";
	e->measure = kernel_measure;
	e->ctx = NULL;
	if (geteuid() != 0) {
		set_unavailable(e, "not root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN)",
				0);
		return 0;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (int wl = 0; wl < BENCH_WL__COUNT; wl++)
		k->prog_fd[wl] = -1;
	e->ctx = k;
	libbpf_set_print(print_warnings);
	k->obj = bpf_object__open_file(obj_path, NULL);
	if (!k->obj) {
		err = -errno;
		fprintf(stderr, "kernel: opening %s: %s\n", obj_path, strerror(errno));
		goto err_free;
	}
	err = load(e, k, mask, img);
	if (err)
		goto err_free;
	return 0;

err_free:
	bpftime_bench_kernel__fini(e);
	return err;
}

void bpftime_bench_kernel__fini(struct bench_engine *e)
{
	struct kernel_ctx *k = e->ctx;

	if (!k)
		return;
	bpf_object__close(k->obj);
	free(k);
	e->ctx = NULL;
}

#else /* !BENCH_VM_HAVE_LIBBPF */

static int kernel_measure(void *ctx, enum bench_wl wl, uint64_t repeat, double *ns_per_run,
			  uint32_t *ret)
{
	return -EOPNOTSUPP;
}

int bpftime_bench_kernel__init(struct bench_engine *e, const char *obj_path, unsigned mask,
			       const struct bench_vm_data *img)
{
	e->name = "kernel";
	e->ctx = NULL;
	e->measure = kernel_measure;
	e->available = false;
	snprintf(e->reason, sizeof(e->reason), "built without libbpf (install libbpf-dev)");
	return 0;
}

void bpftime_bench_kernel__fini(struct bench_engine *e)
{
}

#endif /* BENCH_VM_HAVE_LIBBPF */
