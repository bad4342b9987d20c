// SPDX-License-Identifier: MIT
/*
 * epoll_ctl on objects (emul-epoll.c): a real epoll instance of this
 * process gets EPOLLIN with its own data when a record is produced, and
 * times out when none is; the kernel's errors (probed on 6.18).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "emul-pf-test.h"

static int setup(void **state)
{
	static struct emul_test t;

	pf_setup(&t, "");
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	pf_teardown(*state);
	return 0;
}

static long ctl(struct emul_test *t, int ep, int op, int fd, struct epoll_event *ev)
{
	return bpftime_emul__epoll_ctl(t->e, &t->caller, ep, op, fd, ptr_to_u64(ev));
}

/* A mmap'd BPF_OUTPUT event (wakeup_events 1) and a PERF_EVENT_ARRAY
 * handle naming its buffer at slot 0. */
static long output_event(struct emul_test *t, void **mem, uint32_t *pea)
{
	struct bpftime_map_attr ma = {.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
				      .key_size = 4,
				      .value_size = 4,
				      .max_entries = 1};
	struct perf_event_attr a;
	uint32_t key = 0, id;
	long fd;

	pf_output_attr(&a, 0);
	fd = pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pf_mmap_check(t, (int)fd, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
			 BPFTIME_EMUL_CONTINUE);
	*mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	assert_ptr_not_equal(*mem, MAP_FAILED);
	id = (uint32_t)emul_perf_buffer_id(t->e, pf_obj(t, (int)fd));
	assert_int_equal(bpftime_map__create(t->e->region, &ma, pea), 0);
	assert_int_equal(
	    bpftime_map__update_elem(bpftime_map__get(t->e->region, *pea), &key, &id, 0), 0);
	return fd;
}

static void test_perf_buffer_wakes_epoll(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234}, out[2];
	struct bpftime_map *pea;
	uint32_t pea_id;
	void *mem;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	long fd = output_event(t, &mem, &pea_id);

	pea = bpftime_map__get(t->e->region, pea_id);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	/* nothing produced: epoll_wait times out */
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 0x1234);
	assert_true(out[0].events & EPOLLIN);
	/* once per wake-up, as perf_poll() */
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	/* MOD keeps it, with new data; DEL stops it */
	ev.data.u64 = 0x5678;
	assert_int_equal(ctl(t, ep, EPOLL_CTL_MOD, (int)fd, &ev), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 0x5678);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_DEL, (int)fd, NULL), 0);
	assert_int_equal(bpftime_map__perf_event_output(pea, 0, 0, "rec", 4, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 200), 0);
	bpftime_map__destroy(t->e->region, pea_id);
	munmap(mem, 3 * 4096);
	close((int)fd);
	close(ep);
}

static void test_errors(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC), p[2];
	struct perf_event_attr a;
	long fd;

	pf_output_attr(&a, sizeof(a));
	fd = pf_open_event(t, &a, -1, 0, 0); /* not mmap'd: no buffer yet */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, (int)fd, &ev), -EEXIST);
	/* another epoll instance is another set */
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_DEL, (int)fd, NULL), -ENOENT);
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_MOD, (int)fd, &ev), -ENOENT);
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, (int)fd, &ev), 0);
	assert_int_equal(ctl(t, ep, 9, (int)fd, &ev), -EINVAL);
	assert_int_equal(ctl(t, p[0], EPOLL_CTL_ADD, (int)fd, &ev), -EINVAL); /* not an epoll */
	assert_int_equal(ctl(t, 555, EPOLL_CTL_ADD, (int)fd, &ev), -EBADF);
	assert_int_equal(bpftime_emul__epoll_ctl(t->e, &t->caller, ep, EPOLL_CTL_ADD, (int)fd,
						 emul_test_bad_ptr()),
			 -EFAULT);
	/* DEL reads no event */
	assert_int_equal(bpftime_emul__epoll_ctl(t->e, &t->caller, ep, EPOLL_CTL_DEL, (int)fd,
						 emul_test_bad_ptr()),
			 0);
	/* fds that are not ours: the kernel's */
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, p[0], &ev), BPFTIME_EMUL_CONTINUE);
	/* a perf event without a buffer reports nothing (6.18) */
	assert_int_equal(epoll_wait(ep2, &ev, 1, 50), 0);
	/* the caller's exit drops its registrations */
	bpftime_emul__caller_gone(t->e, getpid());
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_DEL, (int)fd, NULL), -ENOENT);
	close((int)fd);
	close(p[0]);
	close(p[1]);
	close(ep);
	close(ep2);
}

/* Maps: ring buffers wake the epoll; other maps report EPOLLERR
 * (bpf_map_poll); programs cannot be polled (-EPERM). */
static void test_maps(void **state)
{
	struct emul_test *t = *state;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[2];
	int rb = pf_map_create(t, BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	int hash = pf_map_create(t, BPF_MAP_TYPE_HASH, 4, 4, 4, 0);
	int prog = pf_prog_load(t, BPF_PROG_TYPE_SOCKET_FILTER);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC);
	struct bpftime_map *m;

	if (rb < 0 || hash < 0)
		skip(); /* BPF_MAP_CREATE is not there yet */
	m = pf_obj(t, rb)->map.m;
	assert_int_equal(ctl(t, ep, EPOLL_CTL_ADD, rb, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 100), 0);
	assert_int_equal(bpftime_map__ringbuf_output(m, "abcd", 4, 0, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 2000), 1);
	assert_int_equal(out[0].data.u64, 7);
	assert_true(out[0].events & EPOLLIN);
	ev.data.u64 = 8;
	assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, hash, &ev), 0);
	assert_int_equal(epoll_wait(ep2, out, 2, 100), 1);
	assert_int_equal(out[0].events, EPOLLERR);
	assert_int_equal(out[0].data.u64, 8);
	if (prog >= 0) {
		assert_int_equal(ctl(t, ep2, EPOLL_CTL_ADD, prog, &ev), -EPERM);
		close(prog);
	}
	close(rb);
	close(hash);
	close(ep);
	close(ep2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_buffer_wakes_epoll),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_maps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
