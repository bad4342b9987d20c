// SPDX-License-Identifier: MIT
/*
 * BPF_PROG_TEST_RUN: the program runs here, in the supervisor, on its vm
 * (bounds-checked, an instruction limit, our helpers; emul-prog.c), as
 * net/bpf/test_run.c runs it in the caller's context:
 *
 *   RAW_TRACEPOINT (bpf_prog_test_run_raw_tp: bpftrace's BEGIN and END): no
 *   data, no ctx_out, no repeat or duration (-EINVAL); ctx_in is up to 12
 *   u64 arguments; cpu only with BPF_F_TEST_RUN_ON_CPU (-EINVAL), a CPU
 *   that is not there -ENXIO; only retval is written back.
 *
 *   SOCKET_FILTER, SCHED_CLS, SCHED_ACT, CGROUP_SKB (bpf_prog_test_run_skb):
 *   data_in is the packet, from ETH_HLEN to a page less the kernel's head-
 *   and tailroom (-EINVAL); flags, cpu, batch_size must be 0; ctx_in is a
 *   struct __sk_buff whose fields before mark are zero. The program's r1
 *   is a struct __sk_buff with len, protocol and the ctx_in fields set, not
 *   a kernel sk_buff: programs that read those fields, use maps and return
 *   a value run as in the kernel; data/data_end (32-bit there) are 0.
 *   data_out receives the packet (-ENOSPC when data_size_out is smaller),
 *   data_size_out, ctx_out, retval and duration are written back.
 *
 *   Other types: -ENOTSUPP, as 6.18 answers for KPROBE, TRACEPOINT and
 *   PERF_EVENT programs (checked with raw bpf(2) on this machine).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "emul-internal.h"

#define MAX_FUNC_ARGS   12 /* MAX_BPF_FUNC_ARGS */
#define ETH_HLEN_       14
#define TEST_RUN_ON_CPU 1u                     /* BPF_F_TEST_RUN_ON_CPU */
#define SKB_DATA_MAX    (4096u - 64 - 2 - 320) /* PAGE_SIZE - headroom - shinfo */
#define TEST_RUN_LAST   (offsetof(union bpf_attr, test.batch_size) + 4)
#define UOFF(field)     offsetof(union bpf_attr, test.field)
#define SKB_ZERO_UNTIL  offsetof(struct __sk_buff, mark)

struct run {
	struct bpftime_emul *e;
	struct bpftime_caller *c;
	struct emul_obj *prog;
	const union bpf_attr *attr;
	uint64_t uattr;
	void *ctx;
	uint32_t ctx_len;
	uint32_t repeat;
	uint32_t retval;
	uint64_t duration; /* ns per run */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int put_u32(struct run *r, size_t off, uint32_t v)
{
	return emul_write(r->c, r->uattr + off, &v, sizeof(v)) ? -EFAULT : 0;
}

/* bpf_test_run(): @repeat runs on one CPU slot, the last one's r0 */
static int run_prog(struct run *r)
{
	struct emul_run_ctx rc = {.e = r->e, .c = r->c, .prog = r->prog};
	struct bpftime_vm_run vr;
	struct bpftime_vm *vm;
	uint64_t start;
	int err = 0;

	vm = emul_prog_vm(r->e, r->prog, &err);
	if (!vm)
		return err;
	rc.cpu = bpftime_map_region__cpu_get(r->e->region, 0, (uint32_t)gettid());
	start = now_ns();
	for (uint32_t i = 0; i < r->repeat && !err; i++) {
		memset(&vr, 0, sizeof(vr));
		vr.ctx = r->ctx;
		vr.ctx_len = r->ctx_len;
		vr.cookie = &rc;
		err = bpftime_vm__run(vm, &vr);
	}
	r->duration = (now_ns() - start) / r->repeat;
	bpftime_map_region__cpu_put(r->e->region, rc.cpu);
	emul_epoll_flush(r->e);
	if (err) {
		char msg[256];

		bpftime_vm_fault__format(&vr.fault, msg, sizeof(msg));
		emul_log(r->e, BPFTIME_EMUL_LOG_WARN, "prog '%s' (id %u): test run stopped: %s",
			 r->prog->prog.name, r->prog->id, msg);
		return err;
	}
	r->retval = (uint32_t)vr.r0;
	return 0;
}

/* ---- raw tracepoints ---- */

static long test_run_raw_tp(struct run *r)
{
	const union bpf_attr *a = r->attr;
	uint64_t args[MAX_FUNC_ARGS] = {0};
	int err;

	if (a->test.data_in || a->test.data_out || a->test.ctx_out || a->test.duration ||
	    a->test.repeat || a->test.batch_size)
		return -EINVAL;
	if (a->test.ctx_size_in > sizeof(args))
		return -EINVAL;
	if (!(a->test.flags & TEST_RUN_ON_CPU) && a->test.cpu)
		return -EINVAL;
	if (emul_read(r->c, args, a->test.ctx_in, a->test.ctx_size_in))
		return -EFAULT;
	if ((a->test.flags & TEST_RUN_ON_CPU) &&
	    a->test.cpu >= bpftime_map_region__nr_cpus(r->e->region))
		return -ENXIO;
	r->ctx = args;
	r->ctx_len = sizeof(args);
	r->repeat = 1;
	err = run_prog(r);
	return err ? err : put_u32(r, UOFF(retval), r->retval);
}

/* ---- skb programs ---- */

/* bpf_ctx_init(): up to sizeof(__sk_buff) of ctx_in, the rest zero */
static int skb_ctx_in(struct run *r, struct __sk_buff *skb)
{
	const union bpf_attr *a = r->attr;
	uint32_t n = a->test.ctx_size_in;
	uint8_t b;

	memset(skb, 0, sizeof(*skb));
	if (!a->test.ctx_in)
		return 0;
	if (emul_read(r->c, skb, a->test.ctx_in, n < sizeof(*skb) ? n : sizeof(*skb)))
		return -EFAULT;
	/* bpf_check_uarg_tail_zero() on what is past the struct */
	for (uint32_t i = sizeof(*skb); i < n; i++) {
		if (emul_read(r->c, &b, a->test.ctx_in + i, 1))
			return -EFAULT;
		if (b)
			return -E2BIG;
	}
	/* convert___skb_to_skb(): len, pkt_type ... are the kernel's to set */
	for (uint32_t i = 0; i < SKB_ZERO_UNTIL; i++)
		if (((uint8_t *)skb)[i])
			return -EINVAL;
	return 0;
}

/* bpf_test_finish(): data_out (-ENOSPC when short), data_size_out,
 * retval, duration; then bpf_ctx_finish() for ctx_out */
static long skb_finish(struct run *r, const void *pkt, uint32_t len, const struct __sk_buff *skb)
{
	const union bpf_attr *a = r->attr;
	uint32_t copy = len, dur = (uint32_t)(r->duration > UINT32_MAX ? UINT32_MAX : r->duration);
	long err = 0;

	if (a->test.data_out && a->test.data_size_out < len) {
		copy = a->test.data_size_out;
		err = -ENOSPC;
	}
	if (a->test.data_out && emul_write(r->c, a->test.data_out, pkt, copy))
		return -EFAULT;
	if (put_u32(r, UOFF(data_size_out), len) || put_u32(r, UOFF(retval), r->retval) ||
	    put_u32(r, UOFF(duration), dur))
		return -EFAULT;
	if (err)
		return err;
	if (a->test.ctx_out) {
		copy = a->test.ctx_size_out < sizeof(*skb) ? a->test.ctx_size_out : sizeof(*skb);
		if (emul_write(r->c, a->test.ctx_out, skb, copy) ||
		    put_u32(r, UOFF(ctx_size_out), sizeof(*skb)))
			return -EFAULT;
		if (copy < sizeof(*skb))
			return -ENOSPC;
	}
	return 0;
}

static long test_run_skb(struct run *r)
{
	const union bpf_attr *a = r->attr;
	uint32_t len = a->test.data_size_in;
	struct __sk_buff skb;
	uint8_t *pkt;
	long err;

	if (a->test.flags || a->test.cpu || a->test.batch_size)
		return -EINVAL;
	if (len < ETH_HLEN_ || len > SKB_DATA_MAX)
		return -EINVAL;
	pkt = malloc(len);
	if (!pkt)
		return -ENOMEM;
	err = emul_read(r->c, pkt, a->test.data_in, len) ? -EFAULT : skb_ctx_in(r, &skb);
	if (!err) {
		skb.len = len;
		skb.protocol = (uint32_t)pkt[12] << 8 | pkt[13]; /* network order, as there */
		skb.protocol = (uint16_t)((skb.protocol >> 8) | (skb.protocol << 8));
		r->ctx = &skb;
		r->ctx_len = sizeof(skb);
		r->repeat = a->test.repeat ? a->test.repeat : 1;
		err = run_prog(r);
	}
	if (!err)
		err = skb_finish(r, pkt, len, &skb);
	free(pkt);
	return err;
}

long emul_cmd_prog_test_run(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			    uint64_t uattr, uint32_t size)
{
	struct run r = {.e = e, .c = c, .attr = attr, .uattr = uattr};
	int err;

	(void)size;
	if (emul_attr_tail_nonzero(attr, TEST_RUN_LAST))
		return -EINVAL;
	/* bpf_prog_test_run(): a ctx buffer and its size come together */
	if (!!attr->test.ctx_size_in != !!attr->test.ctx_in ||
	    !!attr->test.ctx_size_out != !!attr->test.ctx_out)
		return -EINVAL;
	r.prog = emul_obj_from_fd_type(e, c, (int)attr->test.prog_fd, EMUL_OBJ_PROG, &err);
	if (!r.prog)
		return err;
	switch (r.prog->prog.type) {
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return test_run_raw_tp(&r);
	case BPF_PROG_TYPE_SOCKET_FILTER:
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_CGROUP_SKB:
		return test_run_skb(&r);
	}
	emul_log(e, BPFTIME_EMUL_LOG_INFO,
		 "BPF_PROG_TEST_RUN: program type %u cannot be test-run: -ENOTSUPP",
		 r.prog->prog.type);
	return -EMUL_ENOTSUPP;
}
