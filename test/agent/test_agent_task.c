// SPDX-License-Identifier: MIT
/*
 * The agent's images of "current" (agent-task.c), in-process: a session
 * directory with the task layout the supervisor writes (from the host's
 * BTF when readable, else a made-up one), then bpf_get_current_task()'s
 * address walked as the tools walk it (real_parent->tgid, comm,
 * group_leader, nsproxy->mnt_ns->ns.inum) through agent_task_span(), the
 * only way in: values equal what /proc and the syscalls say, a rename
 * shows at the next call, another thread has its own slot, reads past an
 * image or into a slot never handed out fail, and every address is in the
 * kernel half, where no user mapping (so no region of the checked VM) can
 * be.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpftime/task-layout.h>
#include "agent-task.h"

/* ---- what agent-task.c takes from the rest of the agent ---- */

struct agent_buf {
	char *p;
	size_t len;
	size_t cap;
	int overflow;
};

static char session[64] = "/tmp/bpftime-agent-task.XXXXXX";

const char *agent_session_dir(void);
void agent_buf_init(struct agent_buf *b, char *p, size_t cap);
void agent_buf_str(struct agent_buf *b, const char *s);
void agent_buf_num(struct agent_buf *b, long v);
void agent_log(const char *s, const char *a, const char *b);

const char *agent_session_dir(void)
{
	return session;
}

void agent_buf_init(struct agent_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	p[0] = 0;
}

void agent_buf_str(struct agent_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n >= b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

void agent_buf_num(struct agent_buf *b, long v)
{
	char t[24];

	snprintf(t, sizeof(t), "%ld", v);
	agent_buf_str(b, t);
}

void agent_log(const char *s, const char *a, const char *b)
{
	(void)s;
	fprintf(stderr, "agent: %s%s\n", a, b ? b : "");
}

/* ---- the test ---- */

static struct bpftime_task_layout lay;

static uint32_t tid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

/* bpf_probe_read_kernel() as agent-helpers.c makes it: 0 or -1 */
static int kread(uint64_t addr, void *dst, uint32_t len)
{
	uint32_t avail;
	const void *p = agent_task_span(addr, len, tid(), &avail);

	if (!p || avail < len)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

static uint64_t read_ptr(uint64_t addr, uint32_t off)
{
	uint64_t v = 0;

	assert_int_not_equal(off, BPFTIME_TASK_NO_FIELD);
	assert_int_equal(kread(addr + off, &v, 8), 0);
	return v;
}

static uint32_t read_u32(uint64_t addr, uint32_t off)
{
	uint32_t v = 0;

	assert_int_not_equal(off, BPFTIME_TASK_NO_FIELD);
	assert_int_equal(kread(addr + off, &v, 4), 0);
	return v;
}

static void read_comm(uint64_t task, char out[16])
{
	assert_int_equal(kread(task + lay.task_comm, out, 16), 0);
	assert_int_equal(out[15], 0);
}

static uint32_t proc_mnt_ns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/mnt", &st), 0);
	return (uint32_t)st.st_ino;
}

/* Without the host's BTF, a layout of our own: the images only follow it. */
static void write_layout(void)
{
	char path[128];
	int fd;

	if (!bpftime_task_layout__write(session, NULL))
		goto read;
	memset(&lay, 0, sizeof(lay));
	lay.magic = BPFTIME_TASK_LAYOUT_MAGIC;
	lay.version = BPFTIME_TASK_LAYOUT_VERSION;
	lay.size = sizeof(lay);
	lay.task_size = 3000;
	lay.task_pid = 1000;
	lay.task_tgid = 1004;
	lay.task_real_parent = 1016;
	lay.task_parent = 1024;
	lay.task_group_leader = 1100;
	lay.task_comm = 1500;
	lay.task_nsproxy = 1600;
	lay.nsproxy_size = 72;
	lay.nsproxy_mnt_ns = 24;
	lay.mnt_ns_size = 200;
	lay.mnt_ns_inum = 24;
	snprintf(path, sizeof(path), "%s/%s", session, BPFTIME_TASK_LAYOUT_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &lay, sizeof(lay)), sizeof(lay));
	close(fd);
	return;
read:
	snprintf(path, sizeof(path), "%s/%s", session, BPFTIME_TASK_LAYOUT_FILE);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, &lay, sizeof(lay)), sizeof(lay));
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(session))
		return -1;
	write_layout();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bpftime_task_layout__unlink(session);
	rmdir(session);
	return 0;
}

static void test_current(void **state)
{
	uint32_t me = tid(), pid = (uint32_t)getpid();
	uint64_t task, parent, nsp, mnt;
	char comm[16], want[16] = "";

	(void)state;
	task = agent_task_current(me, pid);
	assert_true(task >= AGENT_TASK_BASE); /* the kernel half: never a user mapping */
	assert_int_equal(read_u32(task, lay.task_pid), me);
	assert_int_equal(read_u32(task, lay.task_tgid), pid);
	/* execsnoop: task->real_parent->tgid */
	parent = read_ptr(task, lay.task_real_parent);
	assert_true(parent >= AGENT_TASK_BASE);
	assert_int_equal(read_u32(parent, lay.task_tgid), (uint32_t)getppid());
	assert_int_equal(read_u32(parent, lay.task_pid), (uint32_t)getppid());
	if (lay.task_parent != BPFTIME_TASK_NO_FIELD)
		assert_true(read_ptr(task, lay.task_parent) == parent);
	/* the parent's ancestors are not there: NULL */
	assert_true(read_ptr(parent, lay.task_real_parent) == 0);
	/* the main thread is its own group leader */
	assert_true(read_ptr(task, lay.task_group_leader) == task);
	prctl(PR_GET_NAME, want);
	read_comm(task, comm);
	assert_string_equal(comm, want);
	/* mountsnoop: task->nsproxy->mnt_ns->ns.inum */
	nsp = read_ptr(task, lay.task_nsproxy);
	mnt = read_ptr(nsp, lay.nsproxy_mnt_ns);
	assert_int_equal(read_u32(mnt, lay.mnt_ns_inum), proc_mnt_ns());
	/* a rename shows at the next call */
	prctl(PR_SET_NAME, "renamed-task");
	assert_true(agent_task_current(me, pid) == task);
	read_comm(task, comm);
	assert_string_equal(comm, "renamed-task");
	prctl(PR_SET_NAME, want);
}

/* Reads end at an image's end; other addresses are not ours. */
static void test_bounds(void **state)
{
	uint64_t task = agent_task_current(tid(), (uint32_t)getpid()), nsp, v;
	uint32_t avail;

	(void)state;
	assert_int_equal(kread(task + lay.task_size - 8, &v, 8), 0);
	assert_int_equal(kread(task + lay.task_size - 4, &v, 8), -1);
	assert_int_equal(kread(task + lay.task_size, &v, 1), -1);
	nsp = read_ptr(task, lay.task_nsproxy);
	assert_int_equal(kread(nsp + lay.nsproxy_size - 4, &v, 8), -1);
	/* below the base, a user address, far above */
	assert_null(agent_task_span(AGENT_TASK_BASE - 8, 8, tid(), &avail));
	assert_null(agent_task_span((uint64_t)(uintptr_t)&v, 8, tid(), &avail));
	assert_null(agent_task_span(AGENT_TASK_BASE + (1ull << 40), 8, tid(), &avail));
	assert_int_equal(avail, 0);
	/* the slot of a thread id nobody asked for (slots are tid % 512) */
	assert_null(agent_task_span(task + ((uint64_t)256 << 16), 4, tid(), &avail));
}

struct thr {
	uint64_t task, leader;
	uint32_t tid, pid, leader_pid;
	char comm[16], leader_comm[16];
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	prctl(PR_SET_NAME, "task-thread");
	t->tid = tid();
	t->task = agent_task_current(t->tid, (uint32_t)getpid());
	t->pid = read_u32(t->task, lay.task_pid);
	t->leader = read_ptr(t->task, lay.task_group_leader);
	t->leader_pid = read_u32(t->leader, lay.task_pid);
	read_comm(t->task, t->comm);
	read_comm(t->leader, t->leader_comm);
	return NULL;
}

static void test_thread(void **state)
{
	uint64_t mine = agent_task_current(tid(), (uint32_t)getpid());
	char want[16] = "";
	struct thr t;
	pthread_t th;

	(void)state;
	prctl(PR_GET_NAME, want);
	memset(&t, 0, sizeof(t));
	assert_int_equal(pthread_create(&th, NULL, thread_main, &t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(t.task != mine);
	assert_int_equal(t.pid, t.tid);
	assert_true(t.leader != t.task);
	assert_int_equal(t.leader_pid, (uint32_t)getpid());
	assert_string_equal(t.comm, "task-thread");
	assert_string_equal(t.leader_comm, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_current),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_thread),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
