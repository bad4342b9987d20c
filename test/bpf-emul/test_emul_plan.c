// SPDX-License-Identifier: MIT
/*
 * Uprobe sites' patch plans in the catalog (emul-plan.c plans, emul-catalog.c
 * publishes, catalog-read.c copies): a site of this binary's hand-written
 * functions (test/rewrite/rw-test-fns.S, linked in) and libc's malloc get a
 * plan whose original bytes are the file's; refused sites get a status and
 * a reason; a path replaced since perf_event_open is -ESTALE; the uprobes
 * and uretprobes of three functions (gethostlatency's six) plan three
 * sites, and attaching them again plans none.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <bpftime/catalog.h>
#include <bpftime/rewrite.h>
#include "emul-pf-test.h"

static char self[4096]; /* this binary */
static char cat_path[256];

static int setup(void **state)
{
	static struct emul_test t;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	pf_setup(&t, "");
	snprintf(cat_path, sizeof(cat_path), "%s/" BPFTIME_CATALOG_FILE, t.dir);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	pf_teardown(*state);
	return 0;
}

/* ---- the tool's side ---- */

static long open_probe(struct emul_test *t, const char *path, uint64_t off, bool ret)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)emul_uprobe_pmu_type(t->e);
	a.config = ret; /* format/retprobe: config:0 */
	a.config1 = ptr_to_u64(path);
	a.config2 = off;
	return pf_open_event(t, &a, -1, 0, PERF_FLAG_FD_CLOEXEC);
}

static long perf_link(struct emul_test *t, long prog, long event)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)event;
	a.link_create.attach_type = BPF_PERF_EVENT;
	return emul_test_bpf(t, BPF_LINK_CREATE, &a, sizeof(a));
}

/* A probe on @path+@off running @prog: its event id; *@ev, *@link its fds. */
static uint32_t attach_probe(struct emul_test *t, long prog, const char *path, uint64_t off,
			     bool ret, long *ev, long *link)
{
	*ev = open_probe(t, path, off, ret);
	assert_true(*ev >= 0);
	*link = perf_link(t, prog, *ev);
	assert_true(*link >= 0);
	return pf_obj(t, (int)*ev)->id;
}

static void detach_probe(struct emul_test *t, long ev, long link)
{
	/* as the link's release (without inotify, objects live as long as
	 * the session): the event stops running the program */
	emul_catalog_detach(t->e, pf_obj(t, (int)ev));
	close((int)link);
	close((int)ev);
	bpftime_emul__process_events(t->e);
}

static uint64_t func_off(const char *path, const char *name)
{
	uint64_t off, size;

	assert_int_equal(bpftime_rw__elf_func_offset(path, name, &off, &size), 0);
	return off;
}

/* ---- the agent's side, in another process ---- */

/* Run @fn(view, arg) in a forked child that maps the catalog by path; its
 * exit status is 0 when all checks held, else the failed check's line. */
static int in_child(int (*fn)(struct bpftime_catalog_view *, const void *), const void *arg)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct bpftime_catalog_view v;
		int r = bpftime_catalog__map(&v, cat_path);

		r = r ? 200 : fn(&v, arg);
		bpftime_catalog__unmap(&v);
		_exit(r > 255 ? 255 : r);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return (__LINE__ % 250) + 1;                                               \
	} while (0)

/* The attachment with @id, copied at one generation: its index or -ENOENT. */
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

/* The plan of attachment @id, copied consistently (again on -ESTALE). */
static int plan_of(struct bpftime_catalog_view *v, uint32_t id, struct bpftime_catalog_attach *a,
		   struct bpftime_rw_plan *plan)
{
	for (;;) {
		int idx = find_attach(v, id, a), r;

		if (idx < 0)
			return idx;
		r = bpftime_catalog__attach_plan(v, (uint32_t)idx, a, plan);
		if (r != -ESTALE)
			return r;
	}
}

struct want_plan {
	uint32_t id;
	uint64_t offset;
	uint8_t file[BPFTIME_RW_ORIG_MAX]; /* the file's bytes at offset */
};

static int check_planned(struct bpftime_catalog_view *v, const void *arg)
{
	const struct want_plan *w = arg;
	struct bpftime_catalog_attach a;
	struct bpftime_rw_plan plan;
	char msg[64];
	int idx;

	CHECK(plan_of(v, w->id, &a, &plan) == 0);
	idx = find_attach(v, w->id, &a);
	CHECK(idx >= 0);
	CHECK(a.plan_status == 0 && a.plan_size == sizeof(plan) && !a.plan_msg_off);
	CHECK(bpftime_catalog__attach_plan_msg(v, (uint32_t)idx, &a, msg, sizeof(msg)) == -ENOENT);
	CHECK(plan.size == sizeof(plan) && plan.version == BPFTIME_RW_PLAN_VERSION);
	CHECK(plan.site == w->offset); /* plan_file: the file offset */
	CHECK(plan.orig_len >= BPFTIME_RW_JMP_LEN && plan.orig_len <= BPFTIME_RW_ORIG_MAX);
	CHECK(!memcmp(plan.orig, w->file, plan.orig_len));
	CHECK(plan.code_len > 0 && plan.nr_insns > 0);
	return 0;
}

static void want_file(struct want_plan *w, const char *path, uint64_t off, uint32_t id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, w->file, sizeof(w->file), (off_t)off), sizeof(w->file));
	close(fd);
	w->offset = off;
	w->id = id;
}

struct want_refusal {
	uint32_t id;
	int status;
	const char *reason; /* a part of the message */
};

static int check_refused(struct bpftime_catalog_view *v, const void *arg)
{
	const struct want_refusal *w = arg;
	struct bpftime_catalog_attach a;
	struct bpftime_rw_plan plan;
	char msg[EMUL_PLAN_MSG_MAX];
	int idx, n;

	CHECK(plan_of(v, w->id, &a, &plan) == -ENODATA);
	idx = find_attach(v, w->id, &a);
	CHECK(idx >= 0);
	CHECK(a.plan_status == w->status && !a.plan_off && !a.plan_size);
	CHECK(bpftime_catalog__attach_plan_msg(v, (uint32_t)idx, &a, msg, 4) == -E2BIG);
	n = bpftime_catalog__attach_plan_msg(v, (uint32_t)idx, &a, msg, sizeof(msg));
	CHECK(n > 0 && n == (int)strlen(msg) && n == (int)a.plan_msg_len);
	if (!strstr(msg, w->reason)) {
		fprintf(stderr, "reason: '%s', want '%s'\n", msg, w->reason);
		return 250;
	}
	return 0;
}

/* ---- tests ---- */

static void test_plan_published(void **state)
{
	struct emul_test *t = *state;
	long prog = pf_prog_load(t, BPF_PROG_TYPE_KPROBE), ev, link;
	uint64_t off = func_off(self, "rw_fn_sum6");
	struct want_plan w;

	assert_true(prog >= 0);
	want_file(&w, self, off, attach_probe(t, prog, self, off, false, &ev, &link));
	assert_int_equal(in_child(check_planned, &w), 0);
	detach_probe(t, ev, link);
	close((int)prog);
}

static void test_plan_refused(void **state)
{
	struct emul_test *t = *state;
	long prog = pf_prog_load(t, BPF_PROG_TYPE_KPROBE), ev[2], link[2];
	struct want_refusal loop = {.status = -EOPNOTSUPP, .reason = "branches to site+2"};
	struct want_refusal mid = {.status = -EOPNOTSUPP, .reason = "not an instruction boundary"};

	assert_true(prog >= 0);
	/* rw_fn_loop's loop jumps back into the bytes the jmp displaces */
	loop.id =
	    attach_probe(t, prog, self, func_off(self, "rw_fn_loop"), false, &ev[0], &link[0]);
	/* inside rw_fn_sum6's first instruction */
	mid.id =
	    attach_probe(t, prog, self, func_off(self, "rw_fn_sum6") + 1, true, &ev[1], &link[1]);
	assert_int_equal(in_child(check_refused, &loop), 0);
	assert_int_equal(in_child(check_refused, &mid), 0);
	for (int i = 0; i < 2; i++)
		detach_probe(t, ev[i], link[i]);
	close((int)prog);
}

/* perf_event_open found one file; the path names another at the attach
 * (a package upgrade renamed a new libc over it): that one is not planned,
 * nor is a file that is not ELF. */
static void test_plan_replaced_file(void **state)
{
	struct emul_test *t = *state;
	long prog = pf_prog_load(t, BPF_PROG_TYPE_KPROBE), ev, link;
	struct want_refusal stale = {.status = -ESTALE, .reason = "another file"};
	struct want_refusal not_elf = {.status = -ENOEXEC, .reason = "ELF"};
	char path[256], other[256], page[4096] = {0};
	uint64_t planned = emul_plan_count(t->e);

	snprintf(path, sizeof(path), "%s-probed", t->dir);
	snprintf(other, sizeof(other), "%s-other", t->dir);
	for (int i = 0; i < 2; i++) {
		int fd = open(i ? other : path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, page, sizeof(page)), sizeof(page));
		close(fd);
	}
	assert_true(prog >= 0);
	ev = open_probe(t, path, 16, false);
	assert_true(ev >= 0);
	assert_int_equal(rename(other, path), 0);
	link = perf_link(t, prog, ev);
	assert_true(link >= 0); /* the kernel would attach it: it is published */
	stale.id = pf_obj(t, (int)ev)->id;
	assert_int_equal(in_child(check_refused, &stale), 0);
	assert_int_equal(emul_plan_count(t->e), planned); /* never planned */
	detach_probe(t, ev, link);
	not_elf.id = attach_probe(t, prog, path, 16, false, &ev, &link);
	assert_int_equal(in_child(check_refused, &not_elf), 0);
	detach_probe(t, ev, link);
	unlink(path);
	close((int)prog);
}

struct want_same {
	uint32_t ids[6];
	struct want_plan first[3];
};

static int check_same(struct bpftime_catalog_view *v, const void *arg)
{
	const struct want_same *w = arg;
	struct bpftime_catalog_attach a;
	struct bpftime_rw_plan p[6];

	for (int i = 0; i < 6; i++) {
		struct want_plan one = w->first[i % 3];

		one.id = w->ids[i];
		CHECK(check_planned(v, &one) == 0);
		CHECK(plan_of(v, w->ids[i], &a, &p[i]) == 0);
		CHECK(a.kind == (i < 3 ? BPFTIME_CATALOG_UPROBE : BPFTIME_CATALOG_URETPROBE));
		if (i >= 3) /* the uretprobe hooks the entry the uprobe does */
			CHECK(!memcmp(&p[i], &p[i - 3], sizeof(p[i])));
	}
	return 0;
}

/* gethostlatency: uprobe and uretprobe on each of three functions. */
static void test_plan_cached(void **state)
{
	static const char *fns[3] = {"rw_fn_riprel", "rw_fn_jcc", "rw_fn_call"};
	struct emul_test *t = *state;
	long prog = pf_prog_load(t, BPF_PROG_TYPE_KPROBE), ev[6], link[6];
	uint64_t planned = emul_plan_count(t->e);
	struct want_same w;

	assert_true(prog >= 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 6; i++) {
			uint64_t off = func_off(self, fns[i % 3]);

			w.ids[i] = attach_probe(t, prog, self, off, i >= 3, &ev[i], &link[i]);
			if (i < 3)
				want_file(&w.first[i], self, off, w.ids[i]);
		}
		assert_int_equal(in_child(check_same, &w), 0);
		/* three sites planned in the first round, none in the second */
		assert_int_equal(emul_plan_count(t->e), planned + 3);
		for (int i = 0; i < 6; i++)
			detach_probe(t, ev[i], link[i]);
	}
	close((int)prog);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libc's malloc, planned from libc.so.6 (its whole .text decoded). */
static void test_plan_libc_malloc(void **state)
{
	struct emul_test *t = *state;
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	long prog = pf_prog_load(t, BPF_PROG_TYPE_KPROBE), ev[2], link[2];
	struct want_plan w;
	uint64_t off, t0, t1, t2;
	Dl_info info;
	void *sym;

	if (!libc)
		skip();
	sym = dlsym(libc, "malloc");
	assert_non_null(sym);
	assert_true(dladdr(sym, &info));
	assert_true(prog >= 0);
	off = func_off(info.dli_fname, "malloc");
	t0 = now_ms();
	want_file(&w, info.dli_fname, off,
		  attach_probe(t, prog, info.dli_fname, off, false, &ev[0], &link[0]));
	t1 = now_ms();
	attach_probe(t, prog, info.dli_fname, off, true, &ev[1], &link[1]);
	t2 = now_ms();
	print_message("plan: %s malloc: attach %llu ms planned, %llu ms cached\n", info.dli_fname,
		      (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	assert_int_equal(in_child(check_planned, &w), 0);
	for (int i = 0; i < 2; i++)
		detach_probe(t, ev[i], link[i]);
	close((int)prog);
	dlclose(libc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_published),     cmocka_unit_test(test_plan_refused),
	    cmocka_unit_test(test_plan_replaced_file), cmocka_unit_test(test_plan_cached),
	    cmocka_unit_test(test_plan_libc_malloc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
