// SPDX-License-Identifier: MIT
/*
 * The follower: one thread of the agent's own (agent-thread.c) that keeps
 * this process's hooks equal to what the session's catalog asks for.
 *
 *   wait for the session    the catalog and the maps region appear when
 *                           `bpftime run` starts; until then, look every
 *                           10 ms (a stat: a process that is never traced
 *                           pays ~2 us per 10 ms, no fd, no wake-up source)
 *   follow                  read the catalog at one generation; hook what
 *                           it wants for this process, unhook the rest;
 *                           sleep on the catalog's futex (a change wakes us
 *                           at once: a new link takes effect within the
 *                           time of one pass)
 *   session gone            the supervisor died (its pid is gone): unhook
 *                           everything, forget the session, wait for the
 *                           next one. The target runs on unhooked.
 *
 * What "wants" means, as the kernel decides for a uprobe perf event: a live
 * attachment that is enabled, whose pid is -1 or a thread of this process
 * (a uprobe event with a task filters by mm), on a file this process maps
 * executable at the offset. A file mapped later (dlopen) is found on a
 * later pass: while an attachment waits for its file, passes run every
 * 100 ms. A hooked site whose code went (dlclose) is seen on the next pass
 * (at most 200 ms later) and hooked again wherever the file is mapped
 * next.
 *
 * Only this thread patches and unpatches (rewrite.h asks callers to
 * serialise), loads programs and writes sites and links. Hooks read sites'
 * link slots and links with acquire loads; links, programs and trampolines
 * are never freed while the process runs (a hook may be inside them), only
 * reused: a link entry is reused one second after it was unlinked.
 */
#include <linux/mman.h>
#include <linux/stat.h>
#include "agent-internal.h"
#include "agent-procmaps.h"
#include "agent-runtime.h"
#include "agent-sc.h"
#include "agent-sys.h"
#include "agent-thread.h"

#define MAX_SITES       512
#define MAX_LINKS       1024
#define MAX_PROGS       256
#define MAX_WANTED      1024
#define STACK_SIZE      (256u << 10)
#define NO_SESSION_POLL 10000000ull  /* 10 ms */
#define PENDING_POLL    100000000ull /* 100 ms */
#define ALIVE_POLL      200000000ull /* 200 ms: is the supervisor still there */
#define LINK_REUSE_NS   1000000000ull

/* One link of this process: an attachment the follower hooked. */
struct rt_link {
	struct agent_link l; /* what hooks see */
	uint32_t in_use;
	struct agent_site *site;
	int slot;
	uint64_t freed_at;
};

/* One attachment the catalog wants here, from the last pass. */
struct want {
	struct bpftime_catalog_attach a;
	uint32_t idx;
};

/* What could not be hooked, so that it is said once, not every pass. */
struct refusal {
	uint32_t attach_id;
	int err;
};

static struct {
	const char *session;
	struct agent_thread thread;
	uint32_t stop; /* futex word: 1 asks the follower to end */
	int pid;
	bool ever_hooked;
	bool watch_forks; /* attached: the follower watches fork children */

	/* the session followed now (follower thread only, except region) */
	bool joined;
	char catalog_path[PATH_MAX];
	char region_path[PATH_MAX];
	struct bpftime_catalog_view cat;
	struct bpftime_map_region *region; /* read by hooks (acquire) */
	int writer_pid;
	bool pending; /* some attachment waits for its file */

	struct agent_site sites[MAX_SITES];
	struct rt_link links[MAX_LINKS];
	struct agent_prog *progs[MAX_PROGS]; /* read by tail calls (acquire) */
	uint32_t nr_progs;
	struct want wanted[MAX_WANTED];
	uint32_t nr_wanted;
	struct refusal refused[MAX_LINKS];
	uint32_t nr_refused;
} rt;

struct bpftime_map_region *agent_rt_region(void)
{
	return __atomic_load_n(&rt.region, __ATOMIC_ACQUIRE);
}

const char *agent_session_dir(void)
{
	return rt.session;
}

const struct agent_prog *agent_prog_find(uint32_t id)
{
	uint32_t n = __atomic_load_n(&rt.nr_progs, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++) {
		const struct agent_prog *p = __atomic_load_n(&rt.progs[i], __ATOMIC_ACQUIRE);

		if (p && p->id == id && p->vm)
			return p;
	}
	return NULL;
}

/* ---- logging ---- */

static void log_attach(const struct bpftime_catalog_attach *a, const char *what, int err,
		       const char *detail)
{
	char line[512];
	struct agent_buf b;

	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, "perf event ");
	agent_buf_num(&b, a->id);
	agent_buf_str(&b, " (prog ");
	agent_buf_num(&b, a->prog_id);
	agent_buf_str(&b, ", offset 0x");
	agent_buf_hex(&b, a->offset);
	agent_buf_str(&b, "): ");
	agent_buf_str(&b, what);
	if (err) {
		agent_buf_str(&b, ": errno ");
		agent_buf_num(&b, -err);
	}
	if (detail && detail[0]) {
		agent_buf_str(&b, ": ");
		agent_buf_str(&b, detail);
	}
	agent_log(rt.session, line, NULL);
}

/* Log a refusal of attachment @a once. */
void agent_rt_refuse(const struct bpftime_catalog_attach *a, const char *what, int err,
		     const char *detail)
{
	for (uint32_t i = 0; i < rt.nr_refused; i++)
		if (rt.refused[i].attach_id == a->id && rt.refused[i].err == err)
			return;
	if (rt.nr_refused < MAX_LINKS)
		rt.refused[rt.nr_refused++] = (struct refusal){a->id, err};
	log_attach(a, what, err, detail);
}

/* ---- the session ---- */

static int path_in_session(char *out, const char *name)
{
	struct agent_buf b;

	agent_buf_init(&b, out, PATH_MAX);
	agent_buf_str(&b, rt.session);
	agent_buf_str(&b, "/");
	agent_buf_str(&b, name);
	return b.overflow ? -ENAMETOOLONG : 0;
}

static bool writer_alive(int pid)
{
	/* EPERM: a process we may not signal exists */
	return pid > 0 && agent_sys_kill(pid, 0) != -ESRCH;
}

static int join_session(void)
{
	const struct bpftime_catalog_header *h;
	struct bpftime_map_region *r;
	int err;

	err = bpftime_catalog__map(&rt.cat, rt.catalog_path);
	if (err)
		return err;
	h = bpftime_catalog__header(&rt.cat);
	rt.writer_pid = __atomic_load_n(&h->writer_pid, __ATOMIC_ACQUIRE);
	if (!writer_alive(rt.writer_pid)) {
		/* the file of a session whose supervisor died */
		bpftime_catalog__unmap(&rt.cat);
		return -ESRCH;
	}
	err = bpftime_map_region__join_raw(rt.region_path, &r);
	if (err) {
		bpftime_catalog__unmap(&rt.cat);
		return err;
	}
	/* the old region, if any, stays mapped: a hook may still use it */
	__atomic_store_n(&rt.region, r, __ATOMIC_RELEASE);
	rt.joined = true;
	rt.nr_refused = 0;
	agent_log(rt.session, "joined the session: catalog ", rt.catalog_path);
	return 0;
}

/* ---- programs ---- */

struct agent_prog *agent_rt_prog(uint32_t id, int *err)
{
	struct bpftime_catalog_prog cp;
	struct agent_prog *p;
	int idx;

	for (uint32_t i = 0; i < rt.nr_progs; i++)
		if (rt.progs[i]->id == id) {
			*err = rt.progs[i]->vm ? 0 : -ENOEXEC;
			return rt.progs[i]->vm ? rt.progs[i] : NULL;
		}
	if (rt.nr_progs == MAX_PROGS) {
		*err = -ENOSPC;
		return NULL;
	}
	idx = bpftime_catalog__prog_find(&rt.cat, id, &cp);
	if (idx < 0) {
		*err = idx;
		return NULL;
	}
	p = agent_sys_mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = agent_prog_load(p, &rt.cat, (uint32_t)idx, &cp);
	if (*err == -ESTALE) {
		/* the program went while we copied it: not loaded, not kept */
		agent_sys_munmap(p, sizeof(*p));
		return NULL;
	}
	/* kept even when it failed: the failure is said once */
	__atomic_store_n(&rt.progs[rt.nr_progs], p, __ATOMIC_RELEASE);
	__atomic_store_n(&rt.nr_progs, rt.nr_progs + 1, __ATOMIC_RELEASE);
	return *err ? NULL : p;
}

/* ---- what the catalog wants ---- */

static bool pid_matches(int pid)
{
	char path[40];
	struct agent_buf b;
	long fd;

	if (pid == -1 || pid == rt.pid)
		return true;
	if (pid <= 0)
		return false;
	/* another thread of ours: the event follows our mm */
	agent_buf_init(&b, path, sizeof(path));
	agent_buf_str(&b, "/proc/self/task/");
	agent_buf_num(&b, pid);
	fd = agent_openat(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	agent_close((int)fd);
	return true;
}

static bool wanted_kind(uint32_t kind)
{
	return kind == BPFTIME_CATALOG_UPROBE || kind == BPFTIME_CATALOG_URETPROBE ||
	       kind == BPFTIME_CATALOG_TRACEPOINT || kind == BPFTIME_CATALOG_KPROBE_SYSCALL ||
	       kind == BPFTIME_CATALOG_KRETPROBE_SYSCALL;
}

/* Read the wanted attachments at one generation. @return 0 or -EAGAIN. */
static int read_wanted(uint64_t *gen)
{
	for (int tries = 0; tries < 100; tries++) {
		struct bpftime_catalog_attach a;
		int err = bpftime_catalog__read_begin(&rt.cat, gen);

		if (err)
			return err;
		rt.nr_wanted = 0;
		for (uint32_t i = 0;; i++) {
			int r = bpftime_catalog__attach_at(&rt.cat, i, &a);

			if (r == -ENOENT)
				break;
			if (r < 0)
				return r;
			if (r == 0 || !(a.flags & BPFTIME_CATALOG_ATTACH_ENABLED) ||
			    !wanted_kind(a.kind) || !pid_matches(a.pid))
				continue;
			if (rt.nr_wanted == MAX_WANTED)
				break;
			rt.wanted[rt.nr_wanted].a = a;
			rt.wanted[rt.nr_wanted++].idx = i;
		}
		if (!bpftime_catalog__read_retry(&rt.cat, *gen))
			return 0;
	}
	return -EAGAIN;
}

static bool is_wanted(uint32_t attach_id)
{
	for (uint32_t i = 0; i < rt.nr_wanted; i++)
		if (rt.wanted[i].a.id == attach_id)
			return true;
	return false;
}

static struct rt_link *link_of(uint32_t attach_id)
{
	for (int i = 0; i < MAX_LINKS; i++)
		if (rt.links[i].in_use && rt.links[i].l.attach_id == attach_id)
			return &rt.links[i];
	return NULL;
}

/* ---- sites and links ---- */

static bool site_empty(const struct agent_site *s)
{
	for (int i = 0; i < AGENT_SITE_LINKS; i++)
		if (s->links[i])
			return false;
	return true;
}

/* agent_site.kinds from its links */
static void site_kinds(struct agent_site *s)
{
	uint32_t k = 0;

	for (int i = 0; i < AGENT_SITE_LINKS; i++)
		if (s->links[i])
			k |= 1u << s->links[i]->kind;
	__atomic_store_n(&s->kinds, k, __ATOMIC_RELAXED);
}

static void unlink_one(struct rt_link *rl)
{
	struct agent_site *s = rl->site;

	__atomic_store_n(&s->links[rl->slot], NULL, __ATOMIC_RELEASE);
	site_kinds(s);
	if (site_empty(s) && s->hook.patched) {
		int err = bpftime_rw__unpatch(&s->hook);

		if (err)
			agent_log_num(rt.session, "cannot unpatch a site: errno ", -err);
	}
	rl->in_use = 0;
	rl->freed_at = agent_sys_now_ns();
}

static struct rt_link *new_link(void)
{
	uint64_t now = agent_sys_now_ns();

	for (int i = 0; i < MAX_LINKS; i++) {
		struct rt_link *rl = &rt.links[i];

		/* a hook that loaded this entry a moment ago may still read it */
		if (!rl->in_use && (!rl->freed_at || now - rl->freed_at > LINK_REUSE_NS))
			return rl;
	}
	return NULL;
}

static struct agent_site *site_for(uint64_t addr, const struct bpftime_catalog_attach *a)
{
	struct agent_site *free_site = NULL;

	for (int i = 0; i < MAX_SITES; i++) {
		struct agent_site *s = &rt.sites[i];

		/* uprobes and uretprobes of one instruction share its patch */
		if (s->addr == addr && s->dev == a->dev && s->ino == a->ino &&
		    s->offset == a->offset)
			return s;
		if (!s->addr && !free_site)
			free_site = s;
	}
	return free_site;
}

/* Make the trampoline of a new site. */
static int site_prepare(struct agent_site *s, const struct want *w, uint64_t addr, uint32_t prot)
{
	struct bpftime_rw_prepare_opts o = {sizeof(o), prot, BPFTIME_RW_PREPARE_NO_FPU};
	struct bpftime_rw_plan plan;
	int err;

	err = bpftime_catalog__attach_plan(&rt.cat, w->idx, &w->a, &plan);
	if (err == -ENODATA) {
		char msg[256];

		if (bpftime_catalog__attach_plan_msg(&rt.cat, w->idx, &w->a, msg, sizeof(msg)) < 0)
			msg[0] = '\0';
		agent_rt_refuse(&w->a, "not hooked: the site cannot be patched", w->a.plan_status,
				msg);
		return w->a.plan_status ? w->a.plan_status : err;
	}
	if (err) {
		if (err != -ESTALE)
			agent_rt_refuse(&w->a, "cannot read its patch plan", err, NULL);
		return err;
	}
	memset(&s->hook, 0, sizeof(s->hook));
	err = bpftime_rw__prepare(&s->hook, &plan, addr, agent_hook_fire, s, &o);
	if (err) {
		agent_rt_refuse(&w->a, "cannot build its trampoline", err, NULL);
		return err;
	}
	s->addr = addr;
	s->dev = w->a.dev;
	s->ino = w->a.ino;
	s->offset = w->a.offset;
	s->faults = 0;
	s->patch_len = plan.orig_len;
	/* the kernel's is_uprobe_at_func_entry(): the frame is not set up yet */
	s->func_entry = plan.orig[0] == 0x55 || (plan.orig[0] == 0xf3 && plan.orig[1] == 0x0f &&
						 plan.orig[2] == 0x1e && plan.orig[3] == 0xfa);
	return 0;
}

static void hook_one(const struct want *w)
{
	struct agent_site *s;
	struct agent_prog *p;
	struct rt_link *rl;
	uint64_t addr;
	uint32_t prot;
	int err, slot = -1;

	err = agent_procmaps_find(w->a.dev, w->a.ino, w->a.offset, &addr, &prot);
	if (err == -ENOENT) {
		rt.pending = true; /* not mapped here (yet) */
		return;
	}
	if (err) {
		agent_rt_refuse(&w->a, "cannot find the probed code in this process", err, NULL);
		return;
	}
	p = agent_rt_prog(w->a.prog_id, &err);
	if (!p) {
		if (err != -ESTALE)
			agent_rt_refuse(&w->a, "cannot load its program", err, NULL);
		return;
	}
	if (w->a.kind == BPFTIME_CATALOG_URETPROBE && (err = agent_uret_init())) {
		agent_rt_refuse(&w->a, "cannot map the return instances", err, NULL);
		return;
	}
	s = site_for(addr, &w->a);
	if (!s) {
		agent_rt_refuse(&w->a, "too many hooked sites", -ENOSPC, NULL);
		return;
	}
	if (!s->addr && site_prepare(s, w, addr, prot))
		return;
	for (int i = 0; i < AGENT_SITE_LINKS && slot < 0; i++)
		if (!s->links[i])
			slot = i;
	rl = slot < 0 ? NULL : new_link();
	if (!rl) {
		agent_rt_refuse(&w->a, "too many links on one site", -ENOSPC, NULL);
		return;
	}
	rl->l.attach_id = w->a.id;
	rl->l.kind = w->a.kind;
	rl->l.cookie = w->a.cookie;
	rl->l.func_ip = addr;
	rl->l.func_entry = s->func_entry;
	rl->l.prog = p;
	rl->site = s;
	rl->slot = slot;
	rl->in_use = 1;
	/* publishes the link's fields to hooks: pairs with their acquire */
	__atomic_store_n(&s->links[slot], &rl->l, __ATOMIC_RELEASE);
	site_kinds(s);
	if (!s->hook.patched) {
		err = agent_park_patch(&s->hook, s->addr, s->addr + s->patch_len);
		if (err == -EAGAIN) {
			/* a thread stopped inside the bytes: again next pass */
			agent_rt_refuse(
			    &w->a,
			    "not hooked yet: a thread stopped outside a system call sits "
			    "inside the bytes to patch; trying again",
			    -EAGAIN, NULL);
			unlink_one(rl);
			rt.pending = true;
			return;
		}
		if (err && err != -EALREADY) {
			agent_rt_refuse(&w->a, "cannot patch the site", err, NULL);
			unlink_one(rl);
			return;
		}
		rt.ever_hooked = true;
	}
	log_attach(&w->a, "hooked", 0, NULL);
}

/* Is @s's jmp still in memory? A library unloaded (dlclose) takes the
 * patched page with it, and mapped again it holds the file's bytes. Read
 * with process_vm_readv on ourselves: an unmapped address is -EFAULT, not
 * a fault. */
static bool site_intact(const struct agent_site *s)
{
	uint8_t cur[BPFTIME_RW_JMP_LEN];
	struct agent_iovec l = {cur, sizeof(cur)};
	struct agent_iovec r = {(void *)(uintptr_t)s->hook.site, sizeof(cur)};

	return agent_process_vm_readv(rt.pid, &l, 1, &r, 1) == (long)sizeof(cur) &&
	       !memcmp(cur, s->hook.jmp, sizeof(cur));
}

/* Forget the links and the patch of every site whose code went: there is
 * nothing to unpatch, and the file mapped again (at the same address or
 * another) is hooked anew by apply(), as the kernel's uprobes, which
 * belong to the inode, fire in every later mapping of the file. The
 * trampoline stays: no thread runs code that is unmapped. */
static void drop_gone_sites(void)
{
	for (int i = 0; i < MAX_SITES; i++) {
		struct agent_site *s = &rt.sites[i];

		if (!s->addr || !s->hook.patched || site_intact(s))
			continue;
		s->hook.patched = 0;
		for (int k = 0; k < MAX_LINKS; k++) {
			struct rt_link *rl = &rt.links[k];

			if (!rl->in_use || rl->site != s)
				continue;
			__atomic_store_n(&s->links[rl->slot], NULL, __ATOMIC_RELEASE);
			rl->in_use = 0;
			rl->freed_at = agent_sys_now_ns();
		}
		site_kinds(s);
		agent_log(rt.session,
			  "a probed site's code was unmapped (dlclose?): its probes wait for the "
			  "file to be mapped again",
			  NULL);
	}
}

/* Unhook what is not wanted, hook what is and was not. */
static void apply(void)
{
	const struct bpftime_catalog_attach *tps[MAX_WANTED];
	uint32_t nr_tps = 0;

	drop_gone_sites();
	for (int i = 0; i < MAX_LINKS; i++)
		if (rt.links[i].in_use && !is_wanted(rt.links[i].l.attach_id))
			unlink_one(&rt.links[i]);
	rt.pending = false;
	for (uint32_t i = 0; i < rt.nr_wanted; i++) {
		const struct want *w = &rt.wanted[i];

		if (w->a.kind == BPFTIME_CATALOG_TRACEPOINT ||
		    w->a.kind == BPFTIME_CATALOG_KPROBE_SYSCALL ||
		    w->a.kind == BPFTIME_CATALOG_KRETPROBE_SYSCALL)
			tps[nr_tps++] = &w->a;
		else if (!link_of(w->a.id))
			hook_one(w);
	}
	/* syscall tracepoints are hooked process-wide, not per site */
	agent_tp_apply(tps, nr_tps);
}

static void unhook_all(void)
{
	agent_tp_apply(NULL, 0);
	for (int i = 0; i < MAX_LINKS; i++)
		if (rt.links[i].in_use)
			unlink_one(&rt.links[i]);
}

/* The session is gone: hooks off; what hooks may still use stays mapped. */
static void leave_session(const char *why)
{
	unhook_all();
	/* Sites stay as they are, unpatched and without links: a trampoline
	 * or a pending uretprobe return may still name one, so an entry is
	 * never given to another address; the same site hooked in a later
	 * session finds its trampoline again (same file, offset and plan).
	 * Programs are the session's (its map ids): loaded again. */
	rt.nr_progs = 0;
	bpftime_catalog__unmap(&rt.cat);
	rt.joined = false;
	agent_log(rt.session, "left the session: ", why);
}

/* ---- the thread ---- */

static bool stopping(void)
{
	return __atomic_load_n(&rt.stop, __ATOMIC_ACQUIRE) != 0;
}

/* Sleep until the catalog changes, @ns pass, or stop is asked. */
static int wait_change(uint64_t gen, uint64_t ns)
{
	return bpftime_catalog__wait(&rt.cat, gen, ns);
}

static int follow(void *arg)
{
	(void)arg;
	/* An attached process: the thread the injector borrowed could be
	 * stopped inside _Fork's bytes; from here the patch parks the
	 * target's threads first, as every patch of ours does. */
	if (rt.watch_forks) {
		rt.watch_forks = false;
		agent_forkwatch_init();
	}
	while (!stopping()) {
		uint64_t gen;
		int err;

		if (!rt.joined) {
			err = join_session();
			if (err) {
				agent_sys_futex_wait(&rt.stop, 0, NO_SESSION_POLL, 1);
				continue;
			}
		}
		err = read_wanted(&gen);
		if (err) {
			leave_session("its catalog stayed mid-change (supervisor stopped?)");
			continue;
		}
		apply();
		err = wait_change(gen, rt.pending ? PENDING_POLL : ALIVE_POLL);
		if (err == -ETIMEDOUT && !writer_alive(rt.writer_pid))
			leave_session("the supervisor is gone");
	}
	unhook_all();
	if (rt.joined)
		bpftime_catalog__unmap(&rt.cat);
	rt.joined = false;
	/* a later bpftime_agent_main() (attach after detach) may join another
	 * session, whose program ids name other programs */
	rt.nr_progs = 0;
	return 0;
}

int agent_rt_start(const char *session, bool first_pass, bool started)
{
	int err;

	rt.session = session;
	rt.pid = agent_getpid();
	__atomic_store_n(&rt.stop, 0, __ATOMIC_RELEASE);
	err = path_in_session(rt.catalog_path, BPFTIME_CATALOG_FILE);
	if (!err)
		err = path_in_session(rt.region_path, "maps");
	agent_tid_init();
	if (!err && agent_fork_init())
		agent_log(session, "fork children will not follow the session (no MADV_WIPEONFORK)",
			  NULL);
	else if (!err && started)
		agent_forkwatch_init(); /* children forked before any hook follow too */
	else if (!err)
		rt.watch_forks = true; /* the same, from the follower (follow()) */
	/* One pass now, on the caller's thread (the constructor's, before the
	 * program's own code runs): what is attached already is hooked before
	 * the program runs, as kernel uprobes registered before a process
	 * starts catch its first calls. Not for an injected agent: the thread
	 * the injector borrowed is stopped wherever it was, maybe inside bytes
	 * we would replace, and parking cannot see it. The follower takes
	 * over from there. */
	if (!err && first_pass && !join_session()) {
		uint64_t gen;

		if (!read_wanted(&gen)) {
			apply();
			/* the loader loaded us after an execve: its sys_exit */
			agent_exec_returned();
		}
	}
	if (!err)
		err = agent_thread_start(&rt.thread, follow, NULL, STACK_SIZE);
	if (err)
		agent_log_num(session, "cannot start the agent's thread: errno ", -err);
	return err;
}

int agent_rt_forked(void)
{
	int err;

	/* the parent's thread is not ours: its stack is a copy we keep */
	memset(&rt.thread, 0, sizeof(rt.thread));
	bpftime_map_region__forked(agent_rt_region());
	rt.pid = agent_getpid();
	rt.nr_refused = 0;
	err = agent_thread_start(&rt.thread, follow, NULL, STACK_SIZE);
	if (err)
		agent_log_num(rt.session, "fork child: cannot start the agent's thread: errno ",
			      -err);
	return err;
}

int agent_rt_stop(void)
{
	__atomic_store_n(&rt.stop, 1, __ATOMIC_RELEASE);
	agent_sys_futex_wake(&rt.stop, 1, 1);
	if (rt.joined) {
		/* wake a follower sleeping on the catalog: it sees stop */
		const struct bpftime_catalog_header *h = bpftime_catalog__header(&rt.cat);

		if (h)
			agent_sys_futex_wake((uint32_t *)&h->futex, 1 << 30, 0);
	}
	agent_thread_join(&rt.thread);
	/* a thread may still be in its stub: we stay mapped */
	if (agent_forkwatch_undo())
		rt.ever_hooked = true;
	return rt.ever_hooked || agent_sc_sites_ever() ? 0 : 1;
}
