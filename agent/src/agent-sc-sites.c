// SPDX-License-Identifier: MIT
/*
 * Syscall tracepoints: the rewritten syscall sites of this process.
 *
 * Page 0 cannot be mapped without privilege, so zpoline's `call *%rax`
 * rewrite is not for ordinary users. Instead every syscall site of the
 * process's executable file mappings (the program, ld.so, libc and every
 * other library; not the agent, not [vdso]) becomes a jump to a stub of
 * its own that runs the sys_enter links, the syscall, the sys_exit links:
 * `mov $nr,%eax; syscall` as such, other syscalls as a WINDOW of the few
 * relocatable instructions before them (rewrite/src/rw-syscall.h has the
 * stubs and the safety argument). Sites are found by a linear sweep of
 * the file's executable sections, in the file's own bytes (mapped
 * read-only for the scan; the section headers tell where code is), and
 * patched only where memory still holds those bytes.
 *
 * Which sites are patched: a WINDOW's number is only known when it runs,
 * so every window site is patched while any link exists. A `mov $nr,%eax;
 * syscall` site's number is known here, so it is patched only while a link
 * wants that number (agent_sc_nr_wanted: its sys_enter/sys_exit event, or
 * any raw_syscalls link) and put back when none does: a traced process
 * pays nothing on those of its syscalls nobody traces. Writing or undoing
 * the jmp over a mov needs no parking: the mov is one 5-byte instruction,
 * so no thread can sit inside the bytes written, and a thread already in
 * the stub returns to the site's end as before (stubs stay mapped).
 *
 * A fork child restarts the agent on its first syscall through any
 * patched site (agent-fork.c; the entries check even when no link wants
 * the number): with the untraced mov sites unpatched that may come later,
 * and a child that makes no syscall through a window or a traced mov site
 * is not followed (links made later do not reach it).
 *
 * A syscall with fewer than 5 relocatable bytes before it (glibc's _exit
 * loop and __read_nocancel: one 2-byte instruction, then the syscall) gets
 * a punned jmp, whose stub sits where the code's own bytes make its rel32
 * point (rw-syscall-pun.c). What is left runs unhooked and is counted: a
 * syscall with nothing relocatable before it (a function's first
 * instruction, or a branch target), a punned stub whose address range is
 * taken or outside user space. Syscall User Dispatch is not the fallback
 * for those: it traps every syscall made outside one address range, and
 * the stubs lie near each file (rel32 reach), not in one range, so it
 * would trap the hooked syscalls too, at a signal's cost each. Each file's
 * counts go to agent.log on its first pass:
 *
 *   <path>: N syscall sites rewritten (A mov $nr,%eax; syscall, B windows
 *   of which C punned; P patched now), M not rewritable, not hooked (...)
 *
 * N = A + B are the sites with a stub that can be patched; P those patched
 * on this first pass (every window, and the mov sites whose number is
 * wanted then; a window a parked thread sat in waits for a later pass).
 *
 * A file mapped later (dlopen) is found on a later pass of the follower.
 * A mapping that went is forgotten (its stubs stay mapped); its sites are
 * never written again. Stubs are never unmapped: a thread may be in one.
 */
#include <elf.h>
#include "agent-internal.h"
#include "agent-procmaps.h"
#include "agent-runtime.h"
#include "agent-sc.h"
#include "agent-sys.h"
#include "rw-syscall.h"

#define MAX_FILES    256
#define MAX_SC_SITES 16384
#define MAX_SHDRS    256
#define MAX_PUNS     512
#define PAGE         4096ull

struct sc_site {
	uint64_t addr; /* the mov */
	uint8_t orig[5];
	/* a WINDOW's bytes, its syscall's included (rw-syscall.h): punned
	 * when below 7; 0 for a mov $nr,%eax site */
	uint8_t len;
	uint8_t patched;
	int8_t err; /* -errno of a failed patch (then never retried) */
};

struct sc_file {
	uint64_t start, end, offset; /* the first executable mapping seen */
	uint64_t dev, ino;
	uint32_t prot;
	bool seen, dead, logged;
	uint64_t tramp, tramp_size; /* published before any site is patched */
	uint32_t first, nr_sites;
	uint32_t others; /* syscalls whose number is not known from the 5 bytes before */
	uint64_t bad;    /* bytes the sweep could not decode */
	char path[160];
};

/* A punned window's stub, placed where its jmp's fixed bytes point. */
struct sc_pun {
	uint64_t stub;
	uint32_t site; /* index in ss.sites */
};

static struct {
	struct sc_file files[MAX_FILES];
	uint32_t nr_files; /* published with release (site_ip reads it) */
	struct sc_site sites[MAX_SC_SITES];
	uint32_t nr_sites;
	struct sc_pun puns[MAX_PUNS];
	uint32_t nr_puns; /* published with release (site_ip reads it) */
	struct bpftime_rw_sc_pun_pool pool;
	bool ever;
	bool full_logged;
} ss;

/* The bytes a WINDOW keeps before its syscall; punned when below 5. */
static unsigned int before(const struct sc_site *s)
{
	return s->len ? s->len - 2u : 5u;
}

static bool punned(const struct sc_site *s)
{
	return before(s) < BPFTIME_RW_JMP_LEN;
}

/* The address after the site's syscall. */
static uint64_t site_end(const struct sc_site *s)
{
	return s->addr + (s->len ? s->len : BPFTIME_RW_SC_SITE_LEN);
}

static const char *session(void)
{
	return agent_session_dir();
}

bool agent_sc_sites_ever(void)
{
	return ss.ever;
}

uint64_t agent_sc_site_ip(uint64_t ret)
{
	uint32_t n = __atomic_load_n(&ss.nr_files, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++) {
		const struct sc_file *f = &ss.files[i];
		/* pairs with make_stubs' release: the file's sites are written */
		uint64_t t = __atomic_load_n(&f->tramp, __ATOMIC_ACQUIRE);

		if (t && ret >= t && ret < t + f->tramp_size) {
			uint64_t k = (ret - t) / BPFTIME_RW_SC_STUB_SIZE;
			const struct sc_site *st;

			if (k >= f->nr_sites)
				return 0;
			st = &ss.sites[f->first + k];
			return site_end(st);
		}
	}
	n = __atomic_load_n(&ss.nr_puns, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++)
		if (ret >= ss.puns[i].stub && ret < ss.puns[i].stub + BPFTIME_RW_SC_STUB_SIZE)
			return site_end(&ss.sites[ss.puns[i].site]);
	return 0;
}

/* ---- /proc/self/maps ---- */

/* ---- scanning one file ---- */

struct collect {
	struct sc_file *f;
	bool full;
	uint32_t from;   /* the section's first site */
	int64_t to_file; /* a runtime address + this: the file's byte, mapped */
};

static void found(void *arg, int kind, uint64_t addr, uint32_t nr)
{
	struct collect *c = arg;
	struct sc_site *s;

	if (kind != BPFTIME_RW_SC_SITE && kind != BPFTIME_RW_SC_WINDOW) {
		c->f->others++;
		return;
	}
	if (ss.nr_sites == MAX_SC_SITES) {
		c->full = true;
		return;
	}
	s = &ss.sites[ss.nr_sites++];
	memset(s, 0, sizeof(*s));
	s->addr = addr;
	if (kind == BPFTIME_RW_SC_SITE) {
		s->orig[0] = 0xb8;
		for (int i = 0; i < 4; i++)
			s->orig[1 + i] = (uint8_t)(nr >> (8 * i));
	} else {
		s->len = (uint8_t)nr;
		memcpy(s->orig, (const void *)(uintptr_t)(addr + (uint64_t)c->to_file), 5);
	}
	/* never patchable (the bytes written end a cache line): known now,
	 * so a mov site waiting for its number is counted honestly */
	s->err = (int8_t)bpftime_rw_sc_patchable(addr, punned(s) ? before(s) : 5);
	/* patched for good by the fork watch, whose stub runs the same
	 * entries: never ours to write */
	if (agent_forkwatch_site(addr))
		s->err = -EALREADY;
	c->f->nr_sites++;
}

/* A direct branch to @target: a WINDOW with the target between its start
 * and its syscall now starts there (a branch to the syscall itself runs it
 * unhooked, as before the patch). Sites are in address order. */
static void branch(void *arg, uint64_t target)
{
	struct collect *c = arg;
	uint32_t lo = c->from, hi = ss.nr_sites;
	struct sc_site *s;

	/* the last site that starts before @target */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ss.sites[mid].addr < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->from)
		return;
	s = &ss.sites[lo - 1];
	if (!s->len || target >= s->addr + before(s))
		return;
	/* the instructions from the target on were accepted too */
	s->len = (uint8_t)(s->len - (target - s->addr));
	s->addr = target;
	memcpy(s->orig, (const void *)(uintptr_t)(target + (uint64_t)c->to_file), 5);
	s->err = (int8_t)bpftime_rw_sc_patchable(target, punned(s) ? before(s) : 5);
}

static long pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	long n = agent_syscall4(__NR_pread64, fd, (long)buf, (long)len, (long)off);

	return n == (long)len ? 0 : (n < 0 ? n : -EIO);
}

static void log_file(const struct sc_file *f, const char *what, long v)
{
	char line[400];
	struct agent_buf b;

	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, f->path);
	agent_buf_str(&b, ": ");
	agent_buf_str(&b, what);
	if (v)
		agent_buf_num(&b, v);
	agent_log(session(), line, NULL);
}

static int make_stubs(struct sc_file *f, int64_t to_file);

/* Sweep the executable sections of @f that lie in its mapping, in the
 * file's own bytes (what is in memory may be patched already: a uprobe's
 * jmp), and make their stubs. */
static int scan_file(struct sc_file *f)
{
	static Elf64_Shdr sh[MAX_SHDRS];
	struct collect c = {f, false, 0, 0};
	uint64_t lo = ~0ull, hi = 0, pg, len = f->end - f->start;
	struct agent_mapping m = {.dev = f->dev, .ino = f->ino, .path = f->path};
	Elf64_Ehdr eh;
	uint8_t *map;
	int fd, err;

	fd = agent_procmaps_open(&m, NULL);
	if (fd < 0)
		return fd;
	err = (int)pread_all(fd, &eh, sizeof(eh), 0);
	if (!err && (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
		     eh.e_machine != EM_X86_64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
		     !eh.e_shnum || eh.e_shnum > MAX_SHDRS))
		err = -ENOEXEC; /* no section headers: no sweep */
	if (!err)
		err = (int)pread_all(fd, sh, eh.e_shnum * sizeof(sh[0]), eh.e_shoff);
	for (unsigned int i = 0; !err && i < eh.e_shnum; i++) {
		if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_EXECINSTR) ||
		    sh[i].sh_offset < f->offset ||
		    sh[i].sh_offset + sh[i].sh_size > f->offset + len)
			sh[i].sh_type = SHT_NULL; /* not swept */
		else {
			lo = sh[i].sh_offset < lo ? sh[i].sh_offset : lo;
			hi = sh[i].sh_offset + sh[i].sh_size > hi ? sh[i].sh_offset + sh[i].sh_size
								  : hi;
		}
	}
	if (err || lo >= hi) {
		agent_close(fd);
		return err;
	}
	pg = lo & ~(PAGE - 1);
	map = agent_sys_mmap(NULL, hi - pg, PROT_READ, MAP_PRIVATE, fd, (long)pg);
	agent_close(fd);
	if (!map)
		return -ENOMEM;
	/* runtime address a is file offset a - start + offset, at map + that - pg */
	c.to_file = (int64_t)((uint64_t)(uintptr_t)map - pg + f->offset - f->start);
	f->first = ss.nr_sites;
	for (unsigned int i = 0; i < eh.e_shnum; i++) {
		uint64_t at = f->start + (sh[i].sh_offset - f->offset);
		const uint8_t *code = map + (sh[i].sh_offset - pg);
		bool windows = false;

		if (sh[i].sh_type == SHT_NULL)
			continue;
		c.from = ss.nr_sites;
		f->bad += bpftime_rw_sc_scan(code, sh[i].sh_size, at, found, &c);
		for (uint32_t k = c.from; k < ss.nr_sites && !windows; k++)
			windows = ss.sites[k].len;
		if (windows)
			bpftime_rw_sc_branches(code, sh[i].sh_size, at, branch, &c);
	}
	if (c.full && !ss.full_logged) {
		ss.full_logged = true;
		log_file(f, "too many syscall sites in this process: the rest are not hooked", 0);
	}
	err = make_stubs(f, c.to_file);
	agent_sys_munmap(map, hi - pg);
	return err;
}

/* Place the stub of punned window @s (site index @i) where its jmp's
 * fixed bytes point, and fill it. @return its address, or 0 with s->err
 * set. */
static uint64_t pun_stub(struct sc_site *s, uint32_t i, int64_t to_file)
{
	uint64_t lo, n, at;
	int err;

	if (ss.nr_puns == MAX_PUNS) {
		s->err = -ENOSPC;
		return 0;
	}
	err = bpftime_rw_sc_pun_range(s->addr, before(s), s->orig, &lo, &n);
	at = err ? 0 : bpftime_rw_sc_pun_alloc(&ss.pool, lo, n, BPFTIME_RW_SC_STUB_SIZE);
	if (!at) {
		s->err = (int8_t)(err ? err : -ENOMEM);
		return 0;
	}
	err = bpftime_rw_sc_stub_window((uint8_t *)(uintptr_t)at, at, s->addr,
					(const uint8_t *)(uintptr_t)(s->addr + (uint64_t)to_file),
					s->len, (uint64_t)(uintptr_t)agent_sc_enter_entry,
					(uint64_t)(uintptr_t)agent_sc_exit_entry);
	if (err) {
		memset((void *)(uintptr_t)at, 0xcc, BPFTIME_RW_SC_STUB_SIZE);
		s->err = (int8_t)(err < -127 ? -127 : err);
		return 0;
	}
	ss.puns[ss.nr_puns].stub = at;
	ss.puns[ss.nr_puns].site = i;
	/* pairs with site_ip's acquire: the entry is written */
	__atomic_store_n(&ss.nr_puns, ss.nr_puns + 1, __ATOMIC_RELEASE);
	return at;
}

/* The stub of site @k of @f. */
static uint64_t site_stub(const struct sc_file *f, uint32_t k)
{
	if (punned(&ss.sites[f->first + k]))
		for (uint32_t i = 0; i < ss.nr_puns; i++)
			if (ss.puns[i].site == f->first + k)
				return ss.puns[i].stub;
	return f->tramp + (uint64_t)k * BPFTIME_RW_SC_STUB_SIZE;
}

/* Map and fill the stubs of @f; a window's bytes are at its address +
 * @to_file. A punned window's slot among them stays int3: its stub is
 * elsewhere (pun_stub). */
static int make_stubs(struct sc_file *f, int64_t to_file)
{
	uint64_t size = ((uint64_t)f->nr_sites * BPFTIME_RW_SC_STUB_SIZE + PAGE - 1) & ~(PAGE - 1);
	uint64_t t;

	if (!f->nr_sites)
		return 0;
	t = bpftime_rw_sc_map_near(f->start, f->end, size);
	if (!t)
		return -ENOMEM;
	for (uint32_t k = 0; k < f->nr_sites; k++) {
		struct sc_site *s = &ss.sites[f->first + k];
		uint64_t at = t + (uint64_t)k * BPFTIME_RW_SC_STUB_SIZE;
		uint64_t enter = (uint64_t)(uintptr_t)agent_sc_enter_entry;
		uint64_t exit = (uint64_t)(uintptr_t)agent_sc_exit_entry;
		int err = 0;

		if (s->len && punned(s)) {
			memset((void *)(uintptr_t)at, 0xcc, BPFTIME_RW_SC_STUB_SIZE);
			if (!s->err)
				pun_stub(s, f->first + k, to_file);
			continue;
		}
		err = s->len ? bpftime_rw_sc_stub_window(
				   (uint8_t *)(uintptr_t)at, at, s->addr,
				   (const uint8_t *)(uintptr_t)(s->addr + (uint64_t)to_file),
				   s->len, enter, exit)
			     : bpftime_rw_sc_stub((uint8_t *)(uintptr_t)at, at, s->addr,
						  (uint32_t)s->orig[1] | (uint32_t)s->orig[2] << 8 |
						      (uint32_t)s->orig[3] << 16 |
						      (uint32_t)s->orig[4] << 24,
						  enter, exit);
		if (err) {
			/* this site only: never patched, its stub traps */
			memset((void *)(uintptr_t)at, 0xcc, BPFTIME_RW_SC_STUB_SIZE);
			s->err = (int8_t)(err < -127 ? -127 : err);
		}
	}
	if (bpftime_rw_sc_pun_seal(&ss.pool)) {
		log_file(f, "cannot make the punned stubs read-only code", 0);
		for (uint32_t k = 0; k < f->nr_sites; k++)
			if (ss.sites[f->first + k].len && punned(&ss.sites[f->first + k]))
				ss.sites[f->first + k].err = -EPERM;
	}
	if (agent_syscall3(__NR_mprotect, (long)t, (long)size, PROT_READ | PROT_EXEC)) {
		agent_sys_munmap((void *)(uintptr_t)t, size);
		return -EPERM;
	}
	f->tramp_size = size;
	__atomic_store_n(&f->tramp, t, __ATOMIC_RELEASE);
	/* SYNC_CORE needs registering once per process */
	agent_syscall3(__NR_membarrier, 1 << 6, 0, 0);
	return 0;
}

/* The agent's own code is not scanned (its syscalls are the hooks'). */
static bool is_agent(const struct agent_mapping *l)
{
	uint64_t me = (uint64_t)(uintptr_t)&agent_sc_sites_sync;

	return me >= l->start && me < l->end;
}

static struct sc_file *file_of(const struct agent_mapping *l)
{
	for (uint32_t i = 0; i < ss.nr_files; i++) {
		struct sc_file *f = &ss.files[i];

		/* the same file at the same load bias, overlapping */
		if (!f->dead && f->dev == l->dev && f->ino == l->ino &&
		    f->start - f->offset == l->start - l->offset &&
		    l->start < f->end + (1ull << 30) && l->end + (1ull << 30) > f->start)
			return f;
	}
	return NULL;
}

static void new_file(const struct agent_mapping *l)
{
	struct sc_file *f;
	struct agent_buf b;
	int err;

	if (ss.nr_files == MAX_FILES)
		return;
	f = &ss.files[ss.nr_files];
	memset(f, 0, sizeof(*f));
	f->start = l->start;
	f->end = l->end;
	f->offset = l->offset;
	f->dev = l->dev;
	f->ino = l->ino;
	f->prot = l->prot;
	f->seen = true;
	agent_buf_init(&b, f->path, sizeof(f->path));
	agent_buf_str(&b, l->path);
	err = scan_file(f);
	if (err) {
		log_file(f, "syscall sites not scanned: errno ", -err);
		ss.nr_sites = f->first; /* drop what was collected */
		while (ss.nr_puns && ss.puns[ss.nr_puns - 1].site >= f->first)
			ss.nr_puns--; /* never patched into: nobody runs them */
		f->nr_sites = 0;
		f->logged = true;
	}
	__atomic_store_n(&ss.nr_files, ss.nr_files + 1, __ATOMIC_RELEASE);
}

/* One pass over /proc/self/maps: mark known files seen, scan new ones
 * when scan is set. A file's executable mapping may come in pieces (an
 * mprotect over part of it, e.g. a uprobe's patch or the fork watch's,
 * splits the VMA for good): contiguous pieces of one file at consistent
 * offsets are merged before the file is scanned. */
struct maps_pass {
	bool scan;
	bool have; /* m: a new file's executable mapping, waiting */
	struct agent_mapping m;
	char path[160];
};

static void flush(struct maps_pass *p)
{
	if (p->have) {
		p->have = false;
		new_file(&p->m);
	}
}

static void see_mapping(void *arg, const struct agent_mapping *l)
{
	struct maps_pass *p = arg;
	struct agent_buf b;
	struct sc_file *f;

	if (p->have && (l->prot & PROT_EXEC) && l->dev == p->m.dev && l->ino == p->m.ino &&
	    l->start == p->m.end && l->offset == p->m.offset + (p->m.end - p->m.start)) {
		p->m.end = l->end; /* the next piece */
		return;
	}
	flush(p);
	if (!(l->prot & PROT_EXEC) || !l->ino || l->path[0] != '/' || is_agent(l))
		return;
	f = file_of(l);
	if (f)
		f->seen = true;
	else if (p->scan) {
		p->m = *l;
		agent_buf_init(&b, p->path, sizeof(p->path));
		agent_buf_str(&b, l->path);
		p->m.path = p->path;
		p->have = true;
	}
}

static int read_maps(bool scan)
{
	struct maps_pass p = {.scan = scan};
	int err;

	for (uint32_t i = 0; i < ss.nr_files; i++)
		ss.files[i].seen = false;
	err = agent_procmaps_each(see_mapping, &p);
	flush(&p);
	if (err)
		return err;
	for (uint32_t i = 0; i < ss.nr_files; i++)
		if (!ss.files[i].seen)
			ss.files[i].dead = true; /* unmapped: never written again */
	return 0;
}

/* ---- patching ---- */

static uint32_t site_nr(const struct sc_site *s)
{
	return (uint32_t)s->orig[1] | (uint32_t)s->orig[2] << 8 | (uint32_t)s->orig[3] << 16 |
	       (uint32_t)s->orig[4] << 24;
}

/* Should @s be patched now (a link exists)? */
static bool wanted(const struct sc_site *s)
{
	return s->len || agent_sc_nr_wanted(site_nr(s));
}

static void report(struct sc_file *f)
{
	uint32_t movs = 0, windows = 0, puns = 0, now = 0, line_end = 0, no_room = 0, other = 0;
	char line[512];
	struct agent_buf b;

	for (uint32_t k = 0; k < f->nr_sites; k++) {
		const struct sc_site *s = &ss.sites[f->first + k];

		if (!s->err) {
			*(s->len ? &windows : &movs) += 1;
			puns += s->len && punned(s);
			now += s->patched;
		} else if (s->err == -EALREADY) {
			*(s->len ? &windows : &movs) += 1; /* the fork watch's */
			now++;
		} else if (s->err == -EOPNOTSUPP)
			line_end++;
		else if (s->err == -ERANGE || s->err == -ENOMEM || s->err == -ENOSPC)
			no_room++;
		else
			other++;
	}
	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, f->path);
	agent_buf_str(&b, ": ");
	agent_buf_num(&b, movs + windows);
	agent_buf_str(&b, " syscall sites rewritten (");
	agent_buf_num(&b, movs);
	agent_buf_str(&b, " mov $nr,%eax; syscall, ");
	agent_buf_num(&b, windows);
	agent_buf_str(&b, " windows of which ");
	agent_buf_num(&b, puns);
	agent_buf_str(&b, " punned; ");
	agent_buf_num(&b, now);
	agent_buf_str(&b, " patched now), ");
	agent_buf_num(&b, f->others + line_end + no_room + other);
	agent_buf_str(&b, " not rewritable, not hooked (");
	agent_buf_num(&b, f->others);
	agent_buf_str(&b, " with nothing to displace, ");
	agent_buf_num(&b, line_end);
	agent_buf_str(&b, " at a cache line's end, ");
	agent_buf_num(&b, no_room);
	agent_buf_str(&b, " with no room for a punned stub, ");
	agent_buf_num(&b, other);
	agent_buf_str(&b, " failed)");
	if (f->bad) {
		agent_buf_str(&b, "; undecodable bytes: ");
		agent_buf_num(&b, (long)f->bad);
	}
	agent_log(session(), line, NULL);
	f->logged = true;
}

/* Patch or unpatch the sites of @f whose state is not what wanted() says. */
static void sync_file(struct sc_file *f)
{
	bool todo = false, park = false;
	int err;

	for (uint32_t k = 0; k < f->nr_sites; k++) {
		const struct sc_site *s = &ss.sites[f->first + k];

		if (s->err || wanted(s) == (bool)s->patched)
			continue;
		todo = true;
		park |= s->len && !s->patched;
	}
	if (!todo)
		return;
	err = bpftime_rw_sc_begin(f->start, f->end - f->start);
	/* window sites have instruction boundaries inside the 5 bytes
	 * written: threads are parked, and a window a thread sits in is left
	 * for a later pass (agent-park.c); mov sites need none (see above) */
	if (park && !err)
		agent_park_begin();
	for (uint32_t k = 0; k < f->nr_sites; k++) {
		struct sc_site *s = &ss.sites[f->first + k];
		uint64_t stub = site_stub(f, k);
		bool w;
		int e = err;

		if (s->err || (w = wanted(s)) == (bool)s->patched)
			continue;
		if (!w) {
			/* with err, left patched (its stub runs no link) and
			 * tried again on the next pass */
			if (e)
				continue;
			e = bpftime_rw_sc_unpatch(s->addr, s->orig, stub);
			s->patched = 0;
			if (e) {
				/* not our jmp any more: never written again */
				s->err = (int8_t)(e < -127 ? -127 : e);
				agent_log_num(session(), "cannot unpatch a syscall site: errno ",
					      -e);
			}
			continue;
		}
		/* a thread at a boundary inside the bytes that change */
		if (s->len && agent_park_inside(
				  s->addr, s->addr + (punned(s) ? before(s) : BPFTIME_RW_JMP_LEN)))
			continue;
		if (!e)
			e = bpftime_rw_sc_patch(s->addr, s->orig, stub);
		if (e)
			s->err = (int8_t)(e < -127 ? -127 : e);
		else {
			s->patched = 1;
			ss.ever = true;
		}
	}
	if (park && !err)
		agent_park_end();
	if (!err && bpftime_rw_sc_end(f->start, f->end - f->start, f->prot))
		log_file(f, "cannot make the code read-only again after patching", 0);
}

void agent_sc_sites_sync(void)
{
	int err = read_maps(true);

	if (err) {
		agent_log_num(session(), "syscall hooks: cannot read /proc/self/maps: errno ",
			      -err);
		return;
	}
	for (uint32_t i = 0; i < ss.nr_files; i++) {
		struct sc_file *f = &ss.files[i];

		if (f->dead || !f->tramp)
			continue;
		sync_file(f);
		if (!f->logged)
			report(f);
	}
}

void agent_sc_sites_disable(void)
{
	bool any = false;

	for (uint32_t i = 0; i < ss.nr_files && !any; i++)
		for (uint32_t k = 0; k < ss.files[i].nr_sites && !any; k++)
			any = ss.sites[ss.files[i].first + k].patched;
	if (!any)
		return;
	/* only what is still mapped as it was */
	if (read_maps(false))
		return;
	for (uint32_t i = 0; i < ss.nr_files; i++) {
		struct sc_file *f = &ss.files[i];
		bool todo = false;
		int err = 0;

		for (uint32_t k = 0; k < f->nr_sites && !todo; k++)
			todo = ss.sites[f->first + k].patched;
		if (!todo)
			continue;
		if (!f->dead)
			err = bpftime_rw_sc_begin(f->start, f->end - f->start);
		for (uint32_t k = 0; k < f->nr_sites; k++) {
			struct sc_site *s = &ss.sites[f->first + k];
			int e = err;

			if (!s->patched)
				continue;
			s->patched = 0;
			if (f->dead)
				continue;
			if (!e)
				e = bpftime_rw_sc_unpatch(s->addr, s->orig, site_stub(f, k));
			if (e)
				agent_log_num(session(), "cannot unpatch a syscall site: errno ",
					      -e);
		}
		if (!f->dead && !err && bpftime_rw_sc_end(f->start, f->end - f->start, f->prot))
			log_file(f, "cannot make the code read-only again after unpatching", 0);
	}
}
