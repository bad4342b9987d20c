// SPDX-License-Identifier: MIT
/*
 * The session catalog (emul-catalog.c writes, catalog-read.c reads): what
 * a tool's PROG_LOAD, perf_event_open, link and ioctls publish, as an agent
 * sees it from another process that maps the file read-only by path; the
 * seqlocks under a writer that never stops; futex wake-ups; full tables.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <bpftime/catalog.h>
#include "emul-insn.h"
#include "emul-pf-test.h"

static char probed[192]; /* a 3-page file to put uprobes on */
static char cat_path[256];

static int setup(void **state)
{
	static struct emul_test t;
	char page[4096] = {0};
	int fd;

	pf_setup(&t, "");
	snprintf(probed, sizeof(probed), "%s-probed", t.dir);
	snprintf(cat_path, sizeof(cat_path), "%s/" BPFTIME_CATALOG_FILE, t.dir);
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- a reader in another process ---- */

/* Run @fn(view, arg) in a forked child that maps the catalog by path; its
 * return value (0: all checks held, else the failed check's line) is the
 * child's exit status. */
static int in_child(int (*fn)(struct bpftime_catalog_view *, const void *), const void *arg)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct bpftime_catalog_view v;
		int r = bpftime_catalog__map(&v, cat_path);

		if (!r)
			r = fn(&v, arg);
		else
			r = 200;
		bpftime_catalog__unmap(&v);
		_exit(r > 255 ? 255 : r);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* In a child: a failed check exits with its line number (mod 256). */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return (__LINE__ % 255) + 1;                                               \
	} while (0)

/* The attachment with @id, copied consistently; its index or -ENOENT. */
static int find_attach(struct bpftime_catalog_view *v, uint32_t id,
		       struct bpftime_catalog_attach *a)
{
	for (;;) {
		uint64_t gen;
		int found = -ENOENT;

		if (bpftime_catalog__read_begin(v, &gen))
			return -EAGAIN;
		for (uint32_t i = 0;; i++) {
			int r = bpftime_catalog__attach_at(v, i, a);

			if (r == -ENOENT)
				break;
			if (r == 1 && a->id == id) {
				found = (int)i;
				break;
			}
		}
		if (!bpftime_catalog__read_retry(v, gen))
			return found;
	}
}

struct expect {
	uint32_t event_id, prog_id, map_id, value_map_id;
	uint64_t dev, ino, offset, cookie;
	int pid;
	bool enabled;
	bool attached;  /* the attachment exists */
	bool prog_live; /* the program is published */
};

/* With the JIT built, a kprobe program carries the supervisor's image
 * (emul-jit.c), readable whole and refused into a short buffer. */
static int check_image(struct bpftime_catalog_view *v, int idx,
		       const struct bpftime_catalog_prog *p)
{
#ifdef BPFTIME_HAVE_JIT
	uint64_t img[1024];

	CHECK(p->image_len > 0 && p->image_len <= sizeof(img));
	CHECK(bpftime_catalog__prog_image(v, (uint32_t)idx, p, img, 8) == -E2BIG);
	CHECK(bpftime_catalog__prog_image(v, (uint32_t)idx, p, img, sizeof(img)) ==
	      (int)p->image_len);
	CHECK(!memcmp(img, "BPFTJIT", 8));
#else
	uint64_t img[2];

	CHECK(p->image_len == 0);
	CHECK(bpftime_catalog__prog_image(v, (uint32_t)idx, p, img, sizeof(img)) == -ENOENT);
#endif
	return 0;
}

static int check_prog(struct bpftime_catalog_view *v, const struct expect *x)
{
	struct bpftime_catalog_prog p;
	uint64_t raw[8];
	struct bpf_insn *in = (struct bpf_insn *)raw;
	int idx = bpftime_catalog__prog_find(v, x->prog_id, &p);

	if (!x->prog_live) {
		CHECK(idx == -ENOENT);
		return 0;
	}
	CHECK(idx >= 0);
	CHECK(p.type == BPF_PROG_TYPE_KPROBE);
	CHECK(p.flags & BPFTIME_CATALOG_PROG_GPL);
	CHECK(!strcmp(p.name, "catalogued"));
	CHECK(p.insn_cnt == 6);
	CHECK(bpftime_catalog__prog_insns(v, (uint32_t)idx, &p, raw, 2) == -E2BIG);
	CHECK(bpftime_catalog__prog_insns(v, (uint32_t)idx, &p, raw, 8) == 6);
	/* map fds became map ids, in the kernel's pseudo forms */
	CHECK(in[0].code == (BPF_LD | BPF_IMM | BPF_DW));
	CHECK(in[0].src_reg == BPFTIME_CATALOG_PSEUDO_MAP_ID);
	CHECK((uint32_t)in[0].imm == x->map_id);
	CHECK(in[2].src_reg == BPFTIME_CATALOG_PSEUDO_MAP_ID_VALUE);
	CHECK((uint32_t)in[2].imm == x->value_map_id);
	CHECK(in[3].imm == 4);
	CHECK(in[5].code == (BPF_JMP | BPF_EXIT));
	return check_image(v, idx, &p);
}

static int check_uprobe(struct bpftime_catalog_view *v, const void *arg)
{
	const struct expect *x = arg;
	struct bpftime_catalog_attach a;
	char path[256];
	int idx = find_attach(v, x->event_id, &a);

	if (!x->attached) {
		CHECK(idx == -ENOENT);
		return check_prog(v, x);
	}
	CHECK(idx >= 0);
	CHECK(a.kind == BPFTIME_CATALOG_UPROBE);
	CHECK(a.dev == x->dev && a.ino == x->ino);
	CHECK(a.offset == x->offset);
	CHECK(a.pid == x->pid);
	CHECK(a.cpu == -1);
	CHECK(a.prog_id == x->prog_id);
	CHECK(a.cookie == x->cookie);
	CHECK(!!(a.flags & BPFTIME_CATALOG_ATTACH_ENABLED) == x->enabled);
	CHECK(bpftime_catalog__attach_path(v, (uint32_t)idx, &a, path, 4) == -E2BIG);
	CHECK(bpftime_catalog__attach_path(v, (uint32_t)idx, &a, path, sizeof(path)) ==
	      (int)strlen(probed));
	CHECK(!strcmp(path, probed));
	return check_prog(v, x);
}

/* ---- through the emulator, as a tool makes them ---- */

static long open_uprobe(struct emul_test *t, uint64_t off, int pid)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)emul_uprobe_pmu_type(t->e);
	a.config1 = ptr_to_u64(probed);
	a.config2 = off;
	return pf_open_event(t, &a, pid, -1, PERF_FLAG_FD_CLOEXEC);
}

static long load_catalogued(struct emul_test *t, long map, long value_map)
{
	struct bpf_insn insns[] = {
	    LD_MAP_FD(1, (int)map),
	    LD_MAP_VALUE(2, (int)value_map, 4),
	    MOV64_IMM(0, 0),
	    EXIT_INSN(),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_KPROBE;
	a.insns = ptr_to_u64(insns);
	a.insn_cnt = ARRAY_LEN(insns);
	a.license = ptr_to_u64("Dual MIT/GPL");
	strcpy(a.prog_name, "catalogued");
	return emul_test_bpf(t, BPF_PROG_LOAD, &a, sizeof(a));
}

static long perf_link(struct emul_test *t, long prog, long event, uint64_t cookie)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)event;
	a.link_create.attach_type = BPF_PERF_EVENT;
	a.link_create.perf_event.bpf_cookie = cookie;
	return emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a));
}

static uint32_t id_of(struct emul_test *t, long fd)
{
	return pf_obj(t, (int)fd)->id;
}

static long ioc(struct emul_test *t, long fd, unsigned long req, uint64_t arg)
{
	return bpftime_emul__ioctl(t->e, &t->caller, (int)fd, req, arg);
}

static void test_uprobe_link_life_cycle(void **state)
{
	struct emul_test *t = *state;
	long map = map_create(t, BPF_MAP_TYPE_HASH, 4, 8, 16);
	long vmap = map_create(t, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
	long prog, ev, link;
	struct expect x = {.cookie = 0xc0ffee, .pid = getpid(), .offset = 0x1000};
	struct stat st;

	assert_true(map >= 0 && vmap >= 0);
	prog = load_catalogued(t, map, vmap);
	assert_true(prog >= 0);
	ev = open_uprobe(t, x.offset, x.pid);
	assert_true(ev >= 0);
	link = perf_link(t, prog, ev, x.cookie);
	assert_true(link >= 0);
	assert_int_equal(stat(probed, &st), 0);
	x.dev = st.st_dev;
	x.ino = st.st_ino;
	x.event_id = id_of(t, ev);
	x.prog_id = id_of(t, prog);
	x.map_id = id_of(t, map);
	x.value_map_id = id_of(t, vmap);
	x.enabled = x.attached = x.prog_live = true;
	assert_int_equal(in_child(check_uprobe, &x), 0);

	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_DISABLE, 0), 0);
	x.enabled = false;
	assert_int_equal(in_child(check_uprobe, &x), 0);
	assert_int_equal(ioc(t, ev, PERF_EVENT_IOC_ENABLE, 0), 0);
	x.enabled = true;
	assert_int_equal(in_child(check_uprobe, &x), 0);

	if (bpftime_emul__event_fd(t->e) < 0)
		skip(); /* no inotify: objects live until the session ends */
	/* the link and the event hold the program: closing its fd is not enough */
	close((int)prog);
	bpftime_emul__process_events(t->e);
	assert_int_equal(in_child(check_uprobe, &x), 0);
	/* the link's last fd: the event stops running the program, whose last
	 * reference goes with it */
	close((int)link);
	bpftime_emul__process_events(t->e);
	x.attached = x.prog_live = false;
	assert_int_equal(in_child(check_uprobe, &x), 0);
	close((int)ev);
	close((int)map);
	close((int)vmap);
	bpftime_emul__process_events(t->e);
}

/* The built-in tracepoint id of @name. */
static uint64_t tp_id(struct emul_test *t, const char *name)
{
	const char *cat, *ev;

	for (uint64_t id = 10000; id < 12000; id++)
		if (!emul_tp_by_id(t->e, id, &cat, &ev) && !strcmp(ev, name))
			return id;
	fail_msg("no tracepoint %s", name);
	return 0;
}

struct tp_expect {
	uint32_t enter_id, exit_id, prog_id;
};

static int check_tracepoints(struct bpftime_catalog_view *v, const void *arg)
{
	const struct tp_expect *x = arg;
	struct bpftime_catalog_attach a;
	char path[8];
	int idx;

	idx = find_attach(v, x->enter_id, &a);
	CHECK(idx >= 0);
	CHECK(a.kind == BPFTIME_CATALOG_TRACEPOINT);
	CHECK(!strcmp(a.tp_category, "syscalls") && !strcmp(a.tp_name, "sys_enter_openat"));
	CHECK(a.syscall_nr == SYS_openat);
	CHECK(a.flags == 0); /* opened disabled, an enter event */
	CHECK(a.prog_id == x->prog_id && a.cookie == 0 && a.pid == -1 && a.cpu == 0);
	CHECK(bpftime_catalog__attach_path(v, (uint32_t)idx, &a, path, sizeof(path)) == -ENOENT);
	idx = find_attach(v, x->exit_id, &a);
	CHECK(idx >= 0);
	CHECK(!strcmp(a.tp_category, "raw_syscalls") && !strcmp(a.tp_name, "sys_exit"));
	CHECK(a.syscall_nr == -1);
	CHECK(a.flags == (BPFTIME_CATALOG_ATTACH_SYS_EXIT | BPFTIME_CATALOG_ATTACH_ENABLED));
	return 0;
}

static long open_tp(struct emul_test *t, uint64_t id, bool disabled)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = id;
	a.disabled = disabled;
	return pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
}

static void test_syscall_tracepoints(void **state)
{
	struct emul_test *t = *state;
	int prog = pf_prog_load(t, BPF_PROG_TYPE_TRACEPOINT);
	int out = pf_prog_load(t, BPF_PROG_TYPE_PERF_EVENT);
	long enter = open_tp(t, tp_id(t, "sys_enter_openat"), true);
	long exit_ = open_tp(t, tp_id(t, "sys_exit"), false);
	struct tp_expect x;
	struct perf_event_attr a;
	long sw;

	assert_true(prog >= 0 && out >= 0 && enter >= 0 && exit_ >= 0);
	assert_int_equal(ioc(t, enter, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	assert_int_equal(ioc(t, exit_, PERF_EVENT_IOC_SET_BPF, (uint64_t)prog), 0);
	x.enter_id = id_of(t, enter);
	x.exit_id = id_of(t, exit_);
	x.prog_id = id_of(t, prog);
	assert_int_equal(in_child(check_tracepoints, &x), 0);
	/* software events run in the supervisor: not published */
	pf_output_attr(&a, sizeof(a));
	sw = pf_open_event(t, &a, -1, 0, 0);
	assert_int_equal(ioc(t, sw, PERF_EVENT_IOC_SET_BPF, (uint64_t)out), 0);
	close((int)sw);
	close((int)enter);
	close((int)exit_);
	close(prog);
	close(out);
}

static void test_map_errors(void **state)
{
	struct bpftime_catalog_view v;

	(void)state;
	assert_int_equal(bpftime_catalog__map(&v, "/nonexistent/catalog"), -ENOENT);
	assert_int_equal(bpftime_catalog__map(&v, probed), -EPROTO); /* zeros: no magic */
	assert_null(v.base);
	bpftime_catalog__unmap(&v); /* never mapped: accepted */
}

/* ---- full tables ---- */

static void test_fixed_capacity(void **state)
{
	struct emul_test *t = *state;
	struct bpf_insn big[600];
	long p1, p2, p3;

	/* a catalog of 2 programs and a 4 KiB heap (512 instructions) */
	emul_catalog_free(t->e);
	assert_int_equal(emul_catalog_init_caps(t->e, 2, 1, 4096), 0);
	p1 = pf_prog_load(t, BPF_PROG_TYPE_KPROBE);
	p2 = pf_prog_load(t, BPF_PROG_TYPE_KPROBE);
	assert_true(p1 >= 0 && p2 >= 0);
	assert_int_equal(pf_prog_load(t, BPF_PROG_TYPE_KPROBE), -ENOSPC);
	for (size_t i = 0; i + 1 < ARRAY_LEN(big); i++)
		big[i] = MOV64_IMM(0, (int)i);
	big[ARRAY_LEN(big) - 1] = EXIT_INSN();
	close((int)p2);
	if (bpftime_emul__event_fd(t->e) >= 0) {
		bpftime_emul__process_events(t->e);
		/* the entry is free again, the heap is too small */
		assert_int_equal(prog_load(t, BPF_PROG_TYPE_KPROBE, big, ARRAY_LEN(big)), -ENOSPC);
		p3 = pf_prog_load(t, BPF_PROG_TYPE_KPROBE); /* entry and heap reused */
		assert_true(p3 >= 0);
		close((int)p3);
	}
	close((int)p1);
	bpftime_emul__process_events(t->e);
	emul_catalog_free(t->e);
	assert_int_equal(emul_catalog_init(t->e), 0);
}

/* ---- futex wake-ups ---- */

struct wake_shared {
	uint64_t gen;       /* the generation the child waits on */
	uint64_t change_ns; /* when the parent made the change */
	uint64_t woke_ns;   /* when the child woke */
	uint64_t done_ns;   /* when the change was made */
	int ready;
};

static int wait_child(struct bpftime_catalog_view *v, const void *arg)
{
	struct wake_shared *w = (struct wake_shared *)arg;
	uint64_t gen, t0;

	CHECK(!bpftime_catalog__read_begin(v, &gen));
	/* nothing changes: the timeout */
	t0 = now_ns();
	CHECK(bpftime_catalog__wait(v, gen, 20 * 1000000ull) == -ETIMEDOUT);
	CHECK(now_ns() - t0 >= 20 * 1000000ull);
	CHECK(bpftime_catalog__wait(v, gen, 0) == -ETIMEDOUT);
	CHECK(bpftime_catalog__wait(v, gen - 2, 0) == 0); /* already changed */
	w->gen = gen;
	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	CHECK(bpftime_catalog__wait(v, gen, 5 * 1000000000ull) == 0);
	w->woke_ns = now_ns();
	CHECK(bpftime_catalog__read_retry(v, gen));
	return 0;
}

/* A program published straight into the catalog (the PROG_LOAD path is
 * the life-cycle test's), so that the time of the change is known. */
static struct bpf_insn wake_insns[] = {MOV64_IMM(0, 0), EXIT_INSN()};
static struct emul_obj wake_prog = {
    .type = EMUL_OBJ_PROG,
    .id = 999,
    .prog = {.insn_cnt = 2, .insns = wake_insns, .name = "wake"},
};

static void *publish_later(void *arg)
{
	struct emul_test *t = ((void **)arg)[0];
	struct wake_shared *w = ((void **)arg)[1];
	int *err = ((void **)arg)[2];

	while (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(50 * 1000); /* the child is asleep in FUTEX_WAIT by now */
	pthread_mutex_lock(&t->e->lock);
	w->change_ns = now_ns();
	*err = emul_catalog_prog_publish(t->e, &wake_prog);
	w->done_ns = now_ns();
	pthread_mutex_unlock(&t->e->lock);
	return NULL;
}

static void test_wait_wakes(void **state)
{
	struct emul_test *t = *state;
	struct wake_shared *w =
	    mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int err = -1, status;
	void *args[3] = {t, w, &err};
	pthread_t th;
	pid_t pid;

	assert_true(w != MAP_FAILED);
	memset(w, 0, sizeof(*w));
	/* the timed publish reuses this one's entry and heap block: their
	 * pages' first faults (slow where the session is on a disk, as /tmp
	 * here) are not timed */
	assert_int_equal(emul_catalog_prog_publish(t->e, &wake_prog), 0);
	emul_catalog_prog_unpublish(t->e, &wake_prog);
	/* the child is forked first, from one thread; the publisher is ours */
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct bpftime_catalog_view v;

		_exit(bpftime_catalog__map(&v, cat_path) ? 200 : wait_child(&v, w));
	}
	assert_int_equal(pthread_create(&th, NULL, publish_later, args), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	pthread_join(th, NULL);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(err, 0);
	print_message(
	    "catalog: change to wake-up in another process: %llu us (the change: %llu us)\n",
	    (unsigned long long)(w->woke_ns - w->change_ns) / 1000,
	    (unsigned long long)(w->done_ns - w->change_ns) / 1000);
	/* "within a few ms"; generous for sanitizer builds on a busy machine */
	assert_true(w->woke_ns - w->change_ns < 10 * 1000000ull);
	emul_catalog_prog_unpublish(t->e, &wake_prog);
	munmap(w, sizeof(*w));
}

/* ---- a writer that never stops ---- */

/*
 * Synthetic objects with contents derived from their id, so that a reader
 * can tell a torn entry from a whole one: program id N has N % 37 + 1
 * instructions whose imm is N, type N % 30, name "pN"; attachment id N
 * names program N, has offset 3N, dev N, ino ~N and path "/stress/N".
 */
#define STRESS_LIVE     24
#define STRESS_FIRST_ID 1000 /* above the ids earlier tests' objects have */

struct stress {
	struct emul_test *t;
	volatile bool stop;
	uint64_t rounds;
	struct emul_obj progs[STRESS_LIVE], events[STRESS_LIVE];
	struct bpf_insn insns[STRESS_LIVE][40];
	char paths[STRESS_LIVE][32];
};

static void stress_make(struct stress *s, uint32_t slot, uint32_t id)
{
	struct emul_obj *p = &s->progs[slot], *ev = &s->events[slot];

	memset(p, 0, sizeof(*p));
	p->type = EMUL_OBJ_PROG;
	p->id = id;
	p->prog.type = id % 30;
	p->prog.insn_cnt = id % 37 + 1;
	p->prog.insns = s->insns[slot];
	for (uint32_t i = 0; i < p->prog.insn_cnt; i++)
		s->insns[slot][i] = MOV64_IMM(0, (int)id);
	snprintf(p->prog.name, sizeof(p->prog.name), "p%u", id);
	memset(ev, 0, sizeof(*ev));
	ev->type = EMUL_OBJ_PERF;
	ev->id = id;
	ev->perf.kind = EMUL_PERF_UPROBE;
	ev->perf.pid = -1;
	ev->perf.cpu = -1;
	ev->perf.enabled = id & 1;
	ev->perf.offset = 3ull * id;
	ev->perf.dev = id;
	ev->perf.ino = ~(uint64_t)id;
	snprintf(s->paths[slot], sizeof(s->paths[slot]), "/stress/%u", id);
	ev->perf.path = s->paths[slot];
}

static void *stress_writer(void *arg)
{
	struct stress *s = arg;
	struct bpftime_emul *e = s->t->e;
	uint32_t id = STRESS_FIRST_ID;

	while (!s->stop) {
		uint32_t slot = id % STRESS_LIVE;

		pthread_mutex_lock(&e->lock);
		if (id >= STRESS_FIRST_ID + STRESS_LIVE) { /* the slot's previous pair goes */
			emul_catalog_detach(e, &s->events[slot]);
			emul_catalog_prog_unpublish(e, &s->progs[slot]);
		}
		stress_make(s, slot, id);
		if (emul_catalog_prog_publish(e, &s->progs[slot]) ||
		    emul_catalog_attach(e, &s->events[slot], &s->progs[slot]))
			abort();
		if (id % 3 == 0) { /* and an update in place */
			s->events[slot].perf.enabled = !s->events[slot].perf.enabled;
			emul_catalog_attach_update(e, &s->events[slot]);
		}
		pthread_mutex_unlock(&e->lock);
		id++;
		s->rounds++;
	}
	pthread_mutex_lock(&e->lock);
	for (uint32_t i = 0; i < STRESS_LIVE; i++) {
		emul_catalog_detach(e, &s->events[i]);
		emul_catalog_prog_unpublish(e, &s->progs[i]);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int stress_prog_ok(struct bpftime_catalog_view *v, uint32_t idx,
			  const struct bpftime_catalog_prog *p, uint64_t *stale)
{
	uint64_t raw[40];
	struct bpf_insn *in = (struct bpf_insn *)raw;
	char name[16];
	int n;

	snprintf(name, sizeof(name), "p%u", p->id);
	CHECK(p->type == p->id % 30 && p->insn_cnt == p->id % 37 + 1 && !strcmp(p->name, name));
	n = bpftime_catalog__prog_insns(v, idx, p, raw, 40);
	if (n == -ESTALE) {
		(*stale)++;
		return 0;
	}
	CHECK(n == (int)p->insn_cnt);
	for (int i = 0; i < n; i++)
		CHECK(in[i].imm == (int32_t)p->id && in[i].code == (BPF_ALU64 | BPF_MOV | BPF_K));
	return 0;
}

static int stress_attach_ok(struct bpftime_catalog_view *v, uint32_t idx,
			    const struct bpftime_catalog_attach *a, uint64_t *stale)
{
	char path[32], want[32];
	int n;

	CHECK(a->prog_id == a->id && a->offset == 3ull * a->id && a->dev == a->id &&
	      a->ino == ~(uint64_t)a->id && a->kind == BPFTIME_CATALOG_UPROBE);
	n = bpftime_catalog__attach_path(v, idx, a, path, sizeof(path));
	if (n == -ESTALE) {
		(*stale)++;
		return 0;
	}
	snprintf(want, sizeof(want), "/stress/%u", a->id);
	CHECK(n > 0 && !strcmp(path, want));
	return 0;
}

/* One pass over both tables; *@seen counts live entries checked. */
static int stress_pass(struct bpftime_catalog_view *v, uint64_t *seen, uint64_t *stale)
{
	struct bpftime_catalog_prog p;
	struct bpftime_catalog_attach a;
	int r;

	for (uint32_t i = 0; (r = bpftime_catalog__prog_at(v, i, &p)) != -ENOENT; i++) {
		CHECK(r == 0 || r == 1);
		if (r != 1 || p.id < STRESS_FIRST_ID)
			continue; /* an earlier test's */
		r = stress_prog_ok(v, i, &p, stale);
		if (r)
			return r;
		(*seen)++;
	}
	for (uint32_t i = 0; (r = bpftime_catalog__attach_at(v, i, &a)) != -ENOENT; i++) {
		CHECK(r == 0 || r == 1);
		if (r != 1 || a.id < STRESS_FIRST_ID)
			continue;
		r = stress_attach_ok(v, i, &a, stale);
		if (r)
			return r;
		(*seen)++;
	}
	return 0;
}

static int stress_reader(struct bpftime_catalog_view *v, const void *arg)
{
	uint64_t end = now_ns() + 300 * 1000000ull, seen = 0, stale = 0, passes = 0;
	uint64_t consistent = 0;
	int r;

	(void)arg;
	while (now_ns() < end) {
		uint64_t gen;

		CHECK(!bpftime_catalog__read_begin(v, &gen));
		r = stress_pass(v, &seen, &stale);
		if (r)
			return r;
		consistent += !bpftime_catalog__read_retry(v, gen);
		passes++;
	}
	fprintf(stderr,
		"catalog reader %d: %llu passes (%llu at one generation), %llu entries, "
		"%llu stale copies\n",
		getpid(), (unsigned long long)passes, (unsigned long long)consistent,
		(unsigned long long)seen, (unsigned long long)stale);
	CHECK(seen > 1000);
	return 0;
}

static void test_concurrent_writer(void **state)
{
	static struct stress s;
	pid_t readers[2];
	pthread_t th;
	int status;

	memset(&s, 0, sizeof(s));
	s.t = *state;
	/* the readers exist before the writer thread: fork from one thread */
	for (int i = 0; i < 2; i++) {
		readers[i] = fork();
		assert_true(readers[i] >= 0);
		if (!readers[i]) {
			struct bpftime_catalog_view v;

			usleep(20 * 1000); /* the writer is running */
			_exit(bpftime_catalog__map(&v, cat_path) ? 200 : stress_reader(&v, NULL));
		}
	}
	assert_int_equal(pthread_create(&th, NULL, stress_writer, &s), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(readers[i], &status, 0), readers[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	s.stop = true;
	pthread_join(th, NULL);
	print_message("catalog: the writer made %llu publish/unpublish rounds\n",
		      (unsigned long long)s.rounds);
	assert_true(s.rounds > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uprobe_link_life_cycle),
	    cmocka_unit_test(test_syscall_tracepoints),
	    cmocka_unit_test(test_map_errors),
	    cmocka_unit_test(test_fixed_capacity),
	    cmocka_unit_test(test_wait_wakes),
	    cmocka_unit_test(test_concurrent_writer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
