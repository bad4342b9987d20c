// SPDX-License-Identifier: MIT
/*
 * Fork children made before anything was hooked.
 *
 * A fork child restarts the agent on the first hook it runs (agent-fork.c).
 * A child forked while nothing was patched runs none, ever: a prefork
 * server's workers, forked before the tool started, would never be traced,
 * while the kernel's uprobes fire in every process that maps the file.
 *
 * So at start the agent patches, for good, the syscall site that every
 * fork child of libc's fork() runs first: in _Fork, the one after the
 * fork's own (clone, fork or clone3): glibc's child calls set_robust_list,
 * musl's gettid. The site is a `mov $nr,%eax; syscall` or a WINDOW
 * (rw-syscall.h), and its stub calls the syscall entries (agent-sc.c),
 * whose fast path reads the fork page: in a child it is 0 and the agent
 * restarts there, before the child's own code runs. In the parent the
 * entries return at once (no link wants those numbers): a few
 * instructions per thread start and fork.
 *
 * _Fork is found in the symbol table of the program (static targets: its
 * .symtab) or of the C library (.dynsym); the function's bytes are swept
 * for the site. Not found (a stripped static program, another libc, a raw
 * clone): logged, and such children are followed only once they run a
 * hook, as before.
 *
 * vfork's own syscall site (glibc's and musl's vfork: pop the return
 * address, `mov $58,%eax; syscall`, push it back) is patched for good the
 * same way, so that its entries count the vforks in flight (agent-sc.c,
 * agent_tid_vfork): the child runs on its parent's TCB, under which the
 * thread's cached ids name the parent. Its stub runs the syscall at the
 * site's %rsp and the child skips the exit call (rw-syscall.h). So are
 * clone's and clone3's (posix_spawn's child: CLONE_VM | CLONE_VFORK, on
 * a stack of its own but its parent's TCB), whose entries count only the
 * calls with CLONE_VFORK. clone3's function is in .symtab only
 * (__clone3); without it, the first clone3 site in the CLONE3_SPAN bytes
 * from clone's start is taken (glibc links clone.S and clone3.S in turn).
 */
#include <elf.h>
#include "agent-internal.h"
#include "agent-procmaps.h"
#include "agent-runtime.h"
#include "agent-sc.h"
#include "agent-sys.h"
#include "rw-syscall.h"

#define NR_FORK     57
#define MAX_WATCHED 4
#define CLONE3_SPAN 16384
#define MAX_FOUND   64

static struct {
	bool done;
	bool fork_found, vfork_found, clone_found, clone3_found;
	uint32_t nr;
	uint64_t site[MAX_WATCHED]; /* patched for good */
	uint64_t stub[MAX_WATCHED];
	uint8_t orig[MAX_WATCHED][5];
	uint32_t prot[MAX_WATCHED]; /* of the site's mapping */
	uint64_t main_ino;          /* the first file mapping: the program */
} fw;

bool agent_forkwatch_site(uint64_t addr)
{
	for (uint32_t i = 0; i < fw.nr; i++)
		if (fw.site[i] == addr)
			return true;
	return false;
}

/* Is @path a C library (glibc's libc.so.6, musl's ld-musl-*.so.1)? */
static bool is_libc(const char *path)
{
	const char *base = path;

	for (const char *p = path; *p; p++)
		if (*p == '/')
			base = p + 1;
	return !memcmp(base, "libc.so", 7) || !memcmp(base, "libc-", 5) ||
	       !memcmp(base, "ld-musl-", 8);
}

/* The syscall sites of _Fork, in address order. */
struct found {
	int kind[MAX_FOUND];
	uint64_t at[MAX_FOUND];
	uint32_t nr[MAX_FOUND]; /* a SITE's number, a WINDOW's length */
	uint32_t n;
};

static void site_found(void *arg, int kind, uint64_t addr, uint32_t nr)
{
	struct found *f = arg;

	if (f->n < MAX_FOUND) {
		f->kind[f->n] = kind;
		f->at[f->n] = addr;
		f->nr[f->n++] = nr;
	}
}

/* The site after the fork's own: the child's first syscall. -1: none. */
static int child_site(const struct found *f)
{
	for (uint32_t i = 0; i + 1 < f->n; i++)
		if (f->kind[i] == BPFTIME_RW_SC_SITE &&
		    (f->nr[i] == AGENT_NR_CLONE || f->nr[i] == NR_FORK ||
		     f->nr[i] == AGENT_NR_CLONE3))
			return f->kind[i + 1] == BPFTIME_RW_SC_OTHER ? -1 : (int)i + 1;
	return -1;
}

/* The first `mov $nr,%eax; syscall` of number @nr. -1: none. */
static int site_of(const struct found *f, uint32_t nr)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->kind[i] == BPFTIME_RW_SC_SITE && f->nr[i] == nr)
			return (int)i;
	return -1;
}

/* Function @name's file offset and size in the ELF image @e of @size
 * bytes, from .symtab, else .dynsym. @return 0, or -ENOENT. */
static int find_func(const uint8_t *e, uint64_t size, const char *name, uint64_t *off,
		     uint64_t *len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)e;
	uint64_t name_len = agent_strlen(name) + 1;
	const Elf64_Shdr *sh;
	const Elf64_Phdr *ph;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
		return -ENOENT;
	sh = (const Elf64_Shdr *)(e + eh->e_shoff);
	ph = (const Elf64_Phdr *)(e + eh->e_phoff);
	for (int pass = 0; pass < 2; pass++) {
		uint32_t want = pass ? SHT_DYNSYM : SHT_SYMTAB;

		for (unsigned int i = 0; i < eh->e_shnum; i++) {
			const Elf64_Shdr *st, *s = &sh[i];

			if (s->sh_type != want || s->sh_link >= eh->e_shnum ||
			    s->sh_offset + s->sh_size > size)
				continue;
			st = &sh[s->sh_link];
			if (st->sh_offset + st->sh_size > size)
				continue;
			for (uint64_t k = 0; k < s->sh_size / sizeof(Elf64_Sym); k++) {
				const Elf64_Sym *y = (const Elf64_Sym *)(e + s->sh_offset) + k;

				if (ELF64_ST_TYPE(y->st_info) != STT_FUNC || !y->st_size ||
				    y->st_name + name_len > st->sh_size ||
				    memcmp(e + st->sh_offset + y->st_name, name, name_len))
					continue;
				/* the symbol's address to a file offset */
				for (unsigned int p = 0; p < eh->e_phnum; p++)
					if (ph[p].p_type == PT_LOAD &&
					    y->st_value >= ph[p].p_vaddr &&
					    y->st_value + y->st_size <=
						ph[p].p_vaddr + ph[p].p_filesz) {
						*off = y->st_value - ph[p].p_vaddr + ph[p].p_offset;
						*len = y->st_size;
						return 0;
					}
			}
		}
	}
	return -ENOENT;
}

/* Patch the site at @addr for good: a SITE of number @nr, else a WINDOW
 * of @nr bytes; @code is its bytes in the file. */
static int watch(int kind, uint64_t addr, uint32_t nr, const uint8_t *code, uint32_t prot)
{
	uint64_t page = addr & ~4095ull, stub;
	uint64_t enter = (uint64_t)(uintptr_t)agent_sc_enter_entry;
	uint64_t exit = (uint64_t)(uintptr_t)agent_sc_exit_entry;
	bool inside;
	int err;

	if (fw.nr == MAX_WATCHED)
		return -ENOSPC;
	/* a punned window would need its own placement: not here */
	if (kind == BPFTIME_RW_SC_WINDOW && nr < BPFTIME_RW_JMP_LEN + 2)
		return -EOPNOTSUPP;
	if (memcmp((const void *)(uintptr_t)addr, code, 5))
		return -EILSEQ; /* not the file's bytes: someone else's patch */
	stub = bpftime_rw_sc_map_near(addr, addr + 64, 4096);
	if (!stub)
		return -ENOMEM;
	err = kind == BPFTIME_RW_SC_SITE
		  ? bpftime_rw_sc_stub((uint8_t *)(uintptr_t)stub, stub, addr, nr, enter, exit)
		  : bpftime_rw_sc_stub_window((uint8_t *)(uintptr_t)stub, stub, addr, code, nr,
					      enter, exit);
	if (!err && agent_syscall3(__NR_mprotect, (long)stub, 4096, PROT_READ | PROT_EXEC))
		err = -EPERM;
	if (err) {
		agent_sys_munmap((void *)(uintptr_t)stub, 4096);
		return err;
	}
	/* SYNC_CORE needs registering once per process */
	agent_syscall3(__NR_membarrier, 1 << 6, 0, 0);
	err = bpftime_rw_sc_begin(page, 8192);
	if (!err) {
		/* a window's first instruction may be short: park as for any */
		agent_park_begin();
		inside = agent_park_inside(addr, addr + BPFTIME_RW_JMP_LEN);
		if (!inside)
			err = bpftime_rw_sc_patch(addr, code, stub);
		agent_park_end();
		if (inside)
			err = -EBUSY;
		if (bpftime_rw_sc_end(page, 8192, prot) && !err)
			err = -EPERM;
	}
	if (err)
		return err; /* the stub stays: harmless */
	fw.site[fw.nr] = addr;
	fw.stub[fw.nr] = stub;
	memcpy(fw.orig[fw.nr], code, 5);
	fw.prot[fw.nr] = prot;
	fw.nr++;
	return 0;
}

/* The function to look for and which of its sites to watch: _Fork's
 * child site (nr 0), else the site of number @nr, in the function or, with
 * @span, in the @span bytes from its start. */
struct target {
	const char *name;
	uint32_t nr;
	uint64_t span;
	bool *found;
};

/* Look for @t's function in @e (@size bytes), the file of executable
 * mapping @m, and watch its site. */
static int try_target(const struct agent_mapping *m, const uint8_t *e, uint64_t size,
		      const struct target *t)
{
	struct found f = {{0}, {0}, {0}, 0};
	uint64_t off, len;
	int err;

	err = find_func(e, size, t->name, &off, &len);
	if (!err && t->span) {
		/* as far as the mapping goes */
		uint64_t end = m->offset + (m->end - m->start);

		len = off < end && end - off < t->span ? end - off : t->span;
	}
	/* inside this executable mapping */
	if (!err && (off < m->offset || off + len > m->offset + (m->end - m->start) ||
		     len > (t->span ? t->span : 4096)))
		err = -ENOENT;
	if (!err) {
		uint64_t addr = m->start + (off - m->offset);

		int k;

		bpftime_rw_sc_scan(e + off, len, addr, site_found, &f);
		k = t->nr ? site_of(&f, t->nr) : child_site(&f);
		err = k < 0
			  ? -ENOENT
			  : watch(f.kind[k], f.at[k], f.nr[k], e + off + (f.at[k] - addr), m->prot);
		if (!err)
			*t->found = true;
	}
	return err;
}

/* The file of executable mapping @m, mapped read-only: *@e, *@size.
 * @return 0 or -errno. */
static int map_file(const struct agent_mapping *m, uint8_t **e, uint64_t *size)
{
	int fd = agent_procmaps_open(m, size);

	if (fd < 0)
		return fd;
	if (*size < sizeof(Elf64_Ehdr)) {
		agent_close(fd);
		return -ENOEXEC;
	}
	*e = agent_sys_mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	agent_close(fd);
	return *e ? 0 : -ENOMEM;
}

struct scan {
	bool first_seen;
	int err, vfork_err;
};

static void each_mapping(void *arg, const struct agent_mapping *m)
{
	struct scan *s = arg;
	bool program = false;
	uint64_t size = 0;
	uint8_t *e;
	int err;

	if (!m->ino || m->path[0] != '/')
		return;
	if (!s->first_seen) {
		s->first_seen = true; /* the program's first mapping */
		fw.main_ino = m->ino;
	}
	program = m->ino == fw.main_ino;
	if (!(m->prot & PROT_EXEC) || (!program && !is_libc(m->path)) ||
	    (fw.fork_found && fw.vfork_found && fw.clone_found && fw.clone3_found))
		return;
	err = map_file(m, &e, &size);
	if (err) {
		s->err = s->vfork_err = err;
		return;
	}
	if (!fw.fork_found)
		s->err = try_target(m, e, size, &(struct target){"_Fork", 0, 0, &fw.fork_found});
	if (!fw.vfork_found)
		s->vfork_err = try_target(
		    m, e, size, &(struct target){"vfork", AGENT_NR_VFORK, 0, &fw.vfork_found});
	if (!fw.clone_found)
		try_target(m, e, size,
			   &(struct target){"clone", AGENT_NR_CLONE, 0, &fw.clone_found});
	if (!fw.clone3_found && try_target(m, e, size,
					   &(struct target){"__clone3", AGENT_NR_CLONE3, 0,
							    &fw.clone3_found}) == -ENOENT)
		try_target(
		    m, e, size,
		    &(struct target){"clone", AGENT_NR_CLONE3, CLONE3_SPAN, &fw.clone3_found});
	agent_sys_munmap(e, size);
}

void agent_forkwatch_init(void)
{
	struct scan s = {false, -ENOENT, -ENOENT};

	if (fw.done)
		return; /* a fork child: the parent's patch is ours */
	fw.done = true;
	agent_procmaps_each(each_mapping, &s);
	if (fw.fork_found)
		agent_log(agent_session_dir(),
			  "fork children follow the session from their first system call", NULL);
	else
		agent_log_num(agent_session_dir(),
			      "fork children made before a hook was installed are not followed: "
			      "no _Fork syscall site found, errno ",
			      -s.err);
	agent_sc_watch_vfork(AGENT_NR_CLONE, fw.clone_found);
	agent_sc_watch_vfork(AGENT_NR_CLONE3, fw.clone3_found);
	if (!fw.clone3_found)
		agent_log(agent_session_dir(),
			  "uprobe hits in a posix_spawn child may name its parent: no clone3 "
			  "syscall site found",
			  NULL);
	if (fw.vfork_found)
		agent_sc_watch_vfork(AGENT_NR_VFORK, true);
	else
		agent_log_num(agent_session_dir(),
			      "uprobe hits in a vfork child name its parent: no vfork syscall site "
			      "found, errno ",
			      -s.vfork_err);
}

bool agent_forkwatch_undo(void)
{
	bool any = fw.nr;

	for (uint32_t i = 0; i < fw.nr; i++) {
		uint64_t page = fw.site[i] & ~4095ull;

		if (bpftime_rw_sc_begin(page, 8192))
			continue;
		bpftime_rw_sc_unpatch(fw.site[i], fw.orig[i], fw.stub[i]);
		bpftime_rw_sc_end(page, 8192, fw.prot[i]);
	}
	agent_sc_watch_vfork(AGENT_NR_VFORK, false);
	agent_sc_watch_vfork(AGENT_NR_CLONE, false);
	agent_sc_watch_vfork(AGENT_NR_CLONE3, false);
	fw.nr = 0;
	fw.done = fw.fork_found = fw.vfork_found = fw.clone_found = fw.clone3_found = false;
	return any;
}
