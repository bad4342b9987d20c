// SPDX-License-Identifier: MIT
/*
 * perf_event_open, perf event ioctls and mmap of objects (emul-perf.c,
 * emul-perf-ioctl.c, emul-mmap.c), with the errno 6.18 answers (probed as
 * root on the kernel for each case below).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "emul-pf-test.h"

static char probed[160]; /* a 3-page file to put uprobes on */

static int setup(void **state)
{
	static struct emul_test t;
	char page[4096] = {0};
	int fd;

	pf_setup(&t, "");
	snprintf(probed, sizeof(probed), "%s-probed", t.dir);
	fd = open(probed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	for (int i = 0; i < 3; i++)
		assert_int_equal(write(fd, page, sizeof(page)), sizeof(page));
	close(fd);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	unlink(probed);
	pf_teardown(*state);
	return 0;
}

static void test_output_size0(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_attr a;
	long fd;

	pf_output_attr(&a, 0); /* bcc's size 0: PERF_ATTR_SIZE_VER0 */
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pf_obj(t, (int)fd)->perf.kind, EMUL_PERF_OUTPUT);
	assert_int_equal(pf_obj(t, (int)fd)->perf.cpu, 0);
	close((int)fd);
	fd = pf_open_event(t, &a, -1, 1 % bpftime_map_region__nr_cpus(t->e->region), 0);
	assert_true(fd >= 0);
	assert_false(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
	close((int)fd);
}

static void test_attr_size_rules(void **state)
{
	struct emul_test *t = *state;
	struct {
		struct perf_event_attr a;
		uint8_t more[200];
	} big;

	pf_output_attr(&big.a, 32);
	assert_int_equal(pf_open_event(t, &big, -1, 0, 0), -E2BIG);
	assert_int_equal(big.a.size, 136); /* the kernel's size, written back */
	memset(big.more, 0, sizeof(big.more));
	big.a.size = sizeof(big);
	long fd = pf_open_event(t, &big, -1, 0, 0); /* a zero tail is fine */

	assert_true(fd >= 0);
	close((int)fd);
	big.more[5] = 1; /* byte 133: config3, which 6.18 knows */
	fd = pf_open_event(t, &big, -1, 0, 0);
	assert_true(fd >= 0);
	close((int)fd);
	big.more[5] = 0;
	big.more[8] = 1; /* byte 136: past 6.18's attr */
	assert_int_equal(pf_open_event(t, &big, -1, 0, 0), -E2BIG);
	big.a.size = 4097;
	assert_int_equal(pf_open_event(t, &big, -1, 0, 0), -E2BIG);
	assert_int_equal(
	    bpftime_emul__perf_event_open(t->e, &t->caller, emul_test_bad_ptr(), -1, 0, -1, 0),
	    -EFAULT);
}

static void test_open_errors(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_attr a;

	pf_output_attr(&a, sizeof(a));
	assert_int_equal(pf_open_event(t, &a, -1, 0, 1ul << 10), -EINVAL); /* flags */
	assert_int_equal(pf_open_event(t, &a, -1, -1, 0), -EINVAL);        /* no target */
	assert_int_equal(pf_open_event(t, &a, -1, 4096, 0), -EINVAL);      /* no such CPU */
	assert_int_equal(pf_open_event(t, &a, 999999, -1, 0), -ESRCH);
	assert_int_equal(
	    bpftime_emul__perf_event_open(t->e, &t->caller, ptr_to_u64(&a), -1, 0, 0, 0),
	    -EBADF); /* group_fd that is not a perf event */
	a.sample_period = 1ull << 63;
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -EINVAL);
	a.sample_period = 1;
	a.config = 1000; /* past PERF_COUNT_SW_MAX */
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -ENOENT);
	a.type = PERF_TYPE_HARDWARE; /* no hardware PMU here, none in user space */
	a.config = PERF_COUNT_HW_CPU_CYCLES;
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -ENOENT);
	a.type = 1000;
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -ENOENT);
}

static long open_uprobe(struct emul_test *t, uint64_t path, uint64_t off, bool ret, int pid,
			int cpu)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)emul_uprobe_pmu_type(t->e);
	a.config = ret ? 1 : 0; /* format/retprobe: config:0 */
	a.config1 = path;
	a.config2 = off;
	return pf_open_event(t, &a, pid, cpu, PERF_FLAG_FD_CLOEXEC);
}

static void test_uprobe(void **state)
{
	struct emul_test *t = *state;
	char path[sizeof(probed)];
	struct emul_obj *o;
	long fd;

	strcpy(path, probed); /* read from the caller's memory, not ours */
	fd = open_uprobe(t, ptr_to_u64(path), 0x1000, false, -1, 0);
	assert_true(fd >= 0);
	o = pf_obj(t, (int)fd);
	assert_int_equal(o->perf.kind, EMUL_PERF_UPROBE);
	assert_string_equal(o->perf.path, probed);
	assert_int_equal(o->perf.offset, 0x1000);
	assert_false(o->perf.retprobe);
	assert_int_equal(o->perf.pid, -1);
	close((int)fd);
	fd = open_uprobe(t, ptr_to_u64(path), 0x2000, true, getpid(), -1);
	assert_true(fd >= 0);
	o = pf_obj(t, (int)fd);
	assert_true(o->perf.retprobe);
	assert_int_equal(o->perf.pid, getpid());
	close((int)fd);
}

static void record_pid(void *ctx, pid_t pid)
{
	*(pid_t *)ctx = pid;
}

/* bpftime run --inject: the supervisor hears of a uprobe for one process,
 * not of one for every process, nor of an event that runs nothing there. */
static void test_on_target_pid(void **state)
{
	struct emul_test *t = *state;
	pid_t got = 0;
	long fd;

	t->e->opts.on_target_pid = record_pid;
	t->e->opts.on_target_ctx = &got;
	fd = open_uprobe(t, ptr_to_u64(probed), 0x1000, false, -1, 0);
	assert_true(fd >= 0);
	close((int)fd);
	assert_int_equal(got, 0);
	fd = open_uprobe(t, ptr_to_u64(probed), 0x1000, true, getpid(), -1);
	assert_true(fd >= 0);
	close((int)fd);
	assert_int_equal(got, getpid());
	got = 0;
	/* refused: nothing to inject for */
	assert_int_equal(open_uprobe(t, ptr_to_u64("/nonexistent/x"), 0, false, getpid(), -1),
			 -ENOENT);
	assert_int_equal(got, 0);
	t->e->opts.on_target_pid = NULL;
	t->e->opts.on_target_ctx = NULL;
}

static void test_uprobe_errors(void **state)
{
	struct emul_test *t = *state;
	static char longp[4200];

	assert_int_equal(open_uprobe(t, 0, 0, false, -1, 0), -EINVAL);
	assert_int_equal(open_uprobe(t, emul_test_bad_ptr(), 0, false, -1, 0), -EFAULT);
	assert_int_equal(open_uprobe(t, ptr_to_u64(""), 0, false, -1, 0), -EINVAL);
	assert_int_equal(open_uprobe(t, ptr_to_u64("/nonexistent/x"), 0, false, -1, 0), -ENOENT);
	assert_int_equal(open_uprobe(t, ptr_to_u64("/tmp"), 0, false, -1, 0), -EINVAL);
	assert_int_equal(open_uprobe(t, ptr_to_u64(probed), 1 << 20, false, -1, 0), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	assert_int_equal(open_uprobe(t, ptr_to_u64(longp), 0, false, -1, 0), -E2BIG);
	assert_int_equal(open_uprobe(t, ptr_to_u64(probed), 0, false, 999999, -1), -ESRCH);
}

static void test_cpu_clock(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = 500000000; /* bpftrace interval:ms:500, attr size 0 */
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pf_obj(t, (int)fd)->perf.kind, EMUL_PERF_CPU_CLOCK);
	assert_int_equal(pf_obj(t, (int)fd)->perf.sample_period, 500000000);
	close((int)fd);
	a.freq = 1;
	a.sample_freq = 1u << 30; /* above perf_event_max_sample_rate */
	assert_int_equal(pf_open_event(t, &a, -1, 0, 0), -EINVAL);
}

static long ioc(struct emul_test *t, long fd, unsigned long req, uint64_t arg)
{
	return bpftime_emul__ioctl(t->e, &t->caller, (int)fd, req, arg);
}

static void test_ioctls(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_attr a;
	uint64_t id = 0;
	long fd, other;
	int pipefd[2];

	pf_output_attr(&a, sizeof(a));
	fd = pf_open_event(t, &a, -1, 0, 0);
	other = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_ENABLE, 0), 0);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_DISABLE, 0), 0);
	assert_false(pf_obj(t, (int)fd)->perf.enabled);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_ENABLE, 77), 0); /* arg: only the group bit */
	assert_true(pf_obj(t, (int)fd)->perf.enabled);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_ID, ptr_to_u64(&id)), 0);
	assert_int_equal(id, pf_obj(t, (int)fd)->id);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_ID, emul_test_bad_ptr()), -EFAULT);
	assert_int_equal(ioc(t, fd, _IO('$', 99), 0), -ENOTTY);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_SET_BPF, 555), -EBADF);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_SET_BPF, (uint64_t)other), -EINVAL);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_PAUSE_OUTPUT, 1), -EINVAL); /* no buffer */
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_SET_FILTER, ptr_to_u64("x")), -EINVAL);
	/* generic ioctls and fds that are not ours: the kernel's */
	assert_int_equal(ioc(t, fd, FIOCLEX, 0), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(ioc(t, pipefd[0], PERF_EVENT_IOC_ENABLE, 0), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(ioc(t, 555, PERF_EVENT_IOC_ENABLE, 0), BPFTIME_EMUL_CONTINUE);
	close(pipefd[0]);
	close(pipefd[1]);
	close((int)fd);
	close((int)other);
}

/* SET_BPF's program type rules, when programs can be loaded. */
static void test_set_bpf(void **state)
{
	struct emul_test *t = *state;
	int pe = pf_prog_load(t, BPF_PROG_TYPE_PERF_EVENT);
	int tp = pf_prog_load(t, BPF_PROG_TYPE_TRACEPOINT);
	int kp = pf_prog_load(t, BPF_PROG_TYPE_KPROBE);
	struct perf_event_attr a;
	long out, up, tpf;

	if (pe < 0 || tp < 0 || kp < 0)
		skip(); /* BPF_PROG_LOAD is not there yet */
	pf_output_attr(&a, sizeof(a));
	out = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, out, PERF_EVENT_IOC_SET_BPF, (uint64_t)tp), -EINVAL);
	assert_int_equal(ioc(t, out, PERF_EVENT_IOC_SET_BPF, (uint64_t)pe), 0);
	assert_int_equal(ioc(t, out, PERF_EVENT_IOC_SET_BPF, (uint64_t)tp), -EEXIST);
	up = open_uprobe(t, ptr_to_u64(probed), 0, false, -1, 0);
	assert_int_equal(ioc(t, up, PERF_EVENT_IOC_SET_BPF, (uint64_t)tp), -EINVAL);
	assert_int_equal(ioc(t, up, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), 0);
	assert_int_equal(ioc(t, up, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), -EEXIST);
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	assert_int_equal(emul_tp_by_id(t->e, 10001, &(const char *){0}, &(const char *){0}), 0);
	a.config = 10001;
	tpf = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, tpf, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), -EINVAL);
	assert_int_equal(ioc(t, tpf, PERF_EVENT_IOC_SET_BPF, (uint64_t)tp), 0);
	assert_int_equal(ioc(t, tpf, PERF_EVENT_IOC_SET_BPF, (uint64_t)kp), -EINVAL);
	close((int)out);
	close((int)up);
	close((int)tpf);
	close(pe);
	close(tp);
	close(kp);
}

/* Output one sample through a PERF_EVENT_ARRAY naming @id at slot 0. */
static long output(struct emul_test *t, uint32_t id, const char *msg)
{
	struct bpftime_map_attr ma = {.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
				      .key_size = 4,
				      .value_size = 4,
				      .max_entries = 1};
	uint32_t pea, key = 0;
	struct bpftime_map *m;
	long ret;

	assert_int_equal(bpftime_map__create(t->e->region, &ma, &pea), 0);
	m = bpftime_map__get(t->e->region, pea);
	assert_int_equal(bpftime_map__update_elem(m, &key, &id, 0), 0);
	ret = bpftime_map__perf_event_output(m, 0, 0, msg, strlen(msg) + 1, 0);
	bpftime_map__destroy(t->e->region, pea);
	return ret;
}

static void test_output_mmap(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_mmap_page *pg;
	struct perf_event_header *h;
	struct perf_event_attr a;
	long fd;

	pf_output_attr(&a, 0);
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	/* perf_mmap(): shared, offset 0, 1 + 2^n pages */
	assert_int_equal(pf_mmap_check(t, (int)fd, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 -EINVAL);
	assert_int_equal(
	    pf_mmap_check(t, (int)fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0), -EINVAL);
	assert_int_equal(
	    pf_mmap_check(t, (int)fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 4096), -EINVAL);
	assert_int_equal(pf_mmap_check(t, (int)fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	/* the kernel's mmap of the tool's fd, as after CONTINUE */
	pg = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	assert_ptr_not_equal(pg, MAP_FAILED);
	assert_int_equal(pg->data_offset, 4096);
	assert_int_equal(pg->data_size, 2 * 4096);
	assert_int_equal(emul_perf_buffer_pages(t->e, pf_obj(t, (int)fd)), 2);
	/* a second mapping of that size, but not of another */
	assert_int_equal(pf_mmap_check(t, (int)fd, 3 * 4096, PROT_READ, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	assert_int_equal(pf_mmap_check(t, (int)fd, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 -EINVAL);
	assert_int_equal(output(t, (uint32_t)emul_perf_buffer_id(t->e, pf_obj(t, (int)fd)), "hi"),
			 0);
	assert_true(pg->data_head > 0);
	h = (struct perf_event_header *)((char *)pg + 4096);
	assert_int_equal(h->type, PERF_RECORD_SAMPLE);
	assert_string_equal((char *)(h + 1) + 4, "hi");
	/* DISABLE reaches the buffer */
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_DISABLE, 0), 0);
	assert_int_equal(output(t, pf_obj(t, (int)fd)->perf.perfbuf_id, "x"), -EOPNOTSUPP);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_ENABLE, 0), 0);
	assert_int_equal(ioc(t, fd, PERF_EVENT_IOC_PAUSE_OUTPUT, 1), 0);
	munmap(pg, 3 * 4096);
	close((int)fd);
}

/* Stored in an array before its mmap (allowed by 6.18): the mmap's buffer
 * takes the placeholder's place in the array. */
static void test_output_stored_before_mmap(void **state)
{
	struct emul_test *t = *state;
	struct perf_event_mmap_page *pg;
	struct perf_event_attr a;
	struct bpftime_map *m;
	int pea, key = 0, id;
	long fd;

	pea = pf_map_create(t, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1, 0);
	if (pea < 0)
		skip(); /* BPF_MAP_CREATE is not there yet */
	m = pf_obj(t, pea)->map.m;
	pf_output_attr(&a, sizeof(a));
	fd = pf_open_event(t, &a, -1, 0, 0);
	id = (int)fd;
	assert_int_equal(pf_map_update(t, pea, &key, &id), 0);
	id = emul_perf_buffer_id(t->e, pf_obj(t, (int)fd));
	assert_true(id > 0);
	/* no ring buffer yet: as the kernel's perf_output_begin() */
	assert_int_equal(bpftime_map__perf_event_output(m, 0, 0, "a", 2, 0), -ENOSPC);
	assert_int_equal(pf_mmap_check(t, (int)fd, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	assert_int_not_equal(emul_perf_buffer_id(t->e, pf_obj(t, (int)fd)), id);
	pg = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	assert_ptr_not_equal(pg, MAP_FAILED);
	assert_int_equal(bpftime_map__perf_event_output(m, 0, 0, "a", 2, 0), 0);
	assert_true(pg->data_head > 0);
	munmap(pg, 2 * 4096);
	close(pea);
	close((int)fd);
	/* not a BPF_OUTPUT event */
	fd = open_uprobe(t, ptr_to_u64(probed), 0, false, -1, 0);
	assert_int_equal(emul_perf_buffer_id(t->e, pf_obj(t, (int)fd)), -EINVAL);
	close((int)fd);
}

static void test_mmap_maps(void **state)
{
	struct emul_test *t = *state;
	int rb = pf_map_create(t, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	int hash = pf_map_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, 0);
	int arr = pf_map_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	int mm = pf_map_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_MMAPABLE);
	int ro = pf_map_create(t, BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
	const int rw = PROT_READ | PROT_WRITE;

	if (rb < 0 || hash < 0 || arr < 0 || mm < 0 || ro < 0)
		skip(); /* BPF_MAP_CREATE is not there yet */
	/* ringbuf_map_mmap_kern() */
	assert_int_equal(pf_mmap_check(t, rb, 4096, rw, MAP_SHARED, 0), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(pf_mmap_check(t, rb, 8192, rw, MAP_SHARED, 0), -EPERM);
	assert_int_equal(pf_mmap_check(t, rb, 4096, rw, MAP_SHARED, 4096), -EPERM);
	assert_int_equal(pf_mmap_check(t, rb, 4096 + 8192, PROT_READ, MAP_SHARED, 4096),
			 BPFTIME_EMUL_CONTINUE);
	assert_int_equal(pf_mmap_check(t, rb, 4096 + 8192 + 4096, PROT_READ, MAP_SHARED, 4096),
			 -EINVAL);
	assert_int_equal(pf_mmap_check(t, rb, 4096, PROT_READ, MAP_PRIVATE, 0), -EINVAL);
	/* bpf_map_mmap(): no map_mmap: the kernel's ENOTSUPP (524) */
	assert_int_equal(pf_mmap_check(t, hash, 4096, PROT_READ, MAP_SHARED, 0), -524);
	assert_int_equal(pf_mmap_check(t, arr, 4096, PROT_READ, MAP_SHARED, 0), -EINVAL);
	assert_int_equal(pf_mmap_check(t, mm, 4096, rw, MAP_SHARED, 0), BPFTIME_EMUL_CONTINUE);
	assert_int_equal(pf_mmap_check(t, mm, 8192, PROT_READ, MAP_SHARED, 0), -EINVAL);
	assert_int_equal(pf_mmap_check(t, ro, 4096, rw, MAP_SHARED, 0), -EACCES);
	assert_int_equal(pf_mmap_check(t, ro, 4096, PROT_READ, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	close(rb);
	close(hash);
	close(arr);
	close(mm);
	close(ro);
}

static void test_mmap_other_objects(void **state)
{
	struct emul_test *t = *state;
	int prog = pf_prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER);
	int pipefd[2];

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(pf_mmap_check(t, pipefd[0], 4096, PROT_READ, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	close(pipefd[0]);
	close(pipefd[1]);
	if (prog < 0)
		skip();
	assert_int_equal(pf_mmap_check(t, prog, 4096, PROT_READ, MAP_SHARED, 0), -ENODEV);
	assert_int_equal(ioc(t, prog, PERF_EVENT_IOC_ENABLE, 0), -ENOTTY);
	close(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_output_size0),
	    cmocka_unit_test(test_attr_size_rules),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_uprobe),
	    cmocka_unit_test(test_uprobe_errors),
	    cmocka_unit_test(test_on_target_pid),
	    cmocka_unit_test(test_cpu_clock),
	    cmocka_unit_test(test_ioctls),
	    cmocka_unit_test(test_set_bpf),
	    cmocka_unit_test(test_output_mmap),
	    cmocka_unit_test(test_output_stored_before_mmap),
	    cmocka_unit_test(test_mmap_maps),
	    cmocka_unit_test(test_mmap_other_objects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
