// SPDX-License-Identifier: MIT
/*
 * Programs of the catalog, loaded on this process's vm.
 *
 * The supervisor accepted and prepared each program once (PROG_LOAD); the
 * catalog holds its instructions with map ids where the tool had map fds.
 * Here they are loaded as they are: ld_imm64 map ids become this process's
 * map handles (the region is shared, the handles are ours), and the vm gets
 * the agent's helpers.
 *
 * Programs run bounds-checked: a program the supervisor accepted was not
 * verified as the kernel would (there is no verifier yet), and a wild
 * pointer must fail the run with -EFAULT, not crash the target or corrupt
 * the maps (the stack
 * is not cleared per run: it is the target thread's, which programs can
 * read anyway with probe_read_user). Memory a
 * program may touch besides its stack and ctx: the data of maps in the
 * region and the maps' own files (ring buffers, mmapable arrays), which is
 * where helpers hand it pointers to (access_ok).
 *
 * A loaded program is never freed while the process runs: a hook may be
 * running it on another thread at any moment, and the hook path takes no
 * reference (a counter shared by every thread would cost more than the
 * program). Programs are few and ids are never reused within a session,
 * so the table only grows by what the tool loads.
 */
#include <bpftime/catalog.h>
#include "agent-internal.h"
#include "agent-runtime.h"
#include "agent-sys.h"

#define PAGE 4096ul

/* The vm's allocator: whole pages from mmap, for the few objects a vm
 * keeps (itself, the helper table, the program). */
static void *mem_alloc(void *host, size_t size)
{
	(void)host;
	return agent_sys_mmap(NULL, (size + PAGE - 1) & ~(PAGE - 1), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void mem_free(void *host, void *p, size_t size)
{
	(void)host;
	if (p)
		agent_sys_munmap(p, (size + PAGE - 1) & ~(PAGE - 1));
}

static int remember_map(struct agent_prog *p, struct bpftime_map *m)
{
	for (uint32_t i = 0; i < p->nr_maps; i++)
		if (p->maps[i] == m)
			return 0;
	if (p->nr_maps == AGENT_PROG_MAX_MAPS)
		return -E2BIG;
	p->maps[p->nr_maps++] = m;
	return 0;
}

/* the vm's ld_imm64 callback: catalog map ids -> this process's handles */
static int resolve(void *host, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct agent_prog *p = host;
	struct bpftime_map *m;
	uint32_t zero = 0;
	char *v;
	int err;

	if (req->src != BPFTIME_CATALOG_PSEUDO_MAP_ID &&
	    req->src != BPFTIME_CATALOG_PSEUDO_MAP_ID_VALUE)
		return -EINVAL;
	err = bpftime_map__handle(agent_rt_region(), (uint32_t)req->imm, &m);
	if (err)
		return err;
	err = remember_map(p, m);
	if (err)
		return err;
	if (req->src == BPFTIME_CATALOG_PSEUDO_MAP_ID) {
		*value = (uint64_t)(uintptr_t)m;
		return 0;
	}
	v = bpftime_map__prog_lookup(m, &zero, 0);
	if (!v)
		return -EINVAL;
	*value = (uint64_t)(uintptr_t)(v + (uint32_t)req->next_imm);
	return 0;
}

/* Memory besides stack and ctx: the data of the program's own maps first
 * (values it looked up, global data, ring buffer records), then of any
 * map of the session (inner maps of map-in-map). Never the region as a
 * whole: a store that strays from a value must not reach the allocator's
 * headers or other maps. */
static bool access_ok(void *host, uint64_t addr, uint64_t size, bool write)
{
	const struct agent_prog *p = host;

	(void)write;
	for (uint32_t i = 0; i < p->nr_maps; i++)
		if (bpftime_map__data_contains(p->maps[i], addr, size))
			return true;
	return bpftime_map_region__data_contains(agent_rt_region(), addr, size);
}

/* One line about program @p: what happened, with the errno @err (none
 * when 0) and the vm's @detail when there is one. */
static void log_prog(const struct agent_prog *p, const char *what, int err, const char *detail)
{
	char line[400];
	struct agent_buf b;

	agent_buf_init(&b, line, sizeof(line));
	agent_buf_str(&b, "prog '");
	agent_buf_str(&b, p->name);
	agent_buf_str(&b, "' (id ");
	agent_buf_num(&b, p->id);
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
	agent_log(agent_session_dir(), line, NULL);
}

/* Copy entry @idx's instructions into fresh pages; @return them or NULL. */
static uint64_t *copy_insns(const struct bpftime_catalog_view *cat, uint32_t idx,
			    const struct bpftime_catalog_prog *cp, int *err)
{
	size_t bytes = (size_t)cp->insn_cnt * 8;
	uint64_t *insns = mem_alloc(NULL, bytes ? bytes : 8);

	if (!insns) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = bpftime_catalog__prog_insns(cat, idx, cp, insns, cp->insn_cnt);
	if (*err < 0) {
		mem_free(NULL, insns, bytes ? bytes : 8);
		return NULL;
	}
	*err = 0;
	return insns;
}

static void *native_map(size_t len)
{
	return agent_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0);
}

static int native_protect(void *mem, size_t len, bool exec)
{
	return agent_sys_mprotect(mem, len, exec ? PROT_READ | PROT_EXEC : PROT_READ);
}

static void native_unmap(void *mem, size_t len)
{
	agent_sys_munmap(mem, len);
}

/* Pages for the supervisor's images, by raw syscalls (bpftime_vm__native_map
 * makes them never writable and executable at once; a W^X policy such as
 * SELinux's execmem leaves the program interpreted). */
static const struct bpftime_vm_native_mem native_mem = {native_map, native_protect, native_unmap};

/*
 * The supervisor's native image of the program, when the catalog has one
 * (emul-jit.c): runs then take compiled code instead of the interpreter.
 * Anything wrong (no image, a stale one, no executable memory allowed
 * here) leaves the program interpreted, with a line in the log.
 */
static void load_native(struct agent_prog *p, const struct bpftime_catalog_view *cat, uint32_t idx,
			const struct bpftime_catalog_prog *cp)
{
	size_t bytes = ((size_t)cp->image_len + 7) & ~(size_t)7;
	uint64_t *image;
	int n;

	if (!cp->image_len)
		return;
	image = mem_alloc(NULL, bytes);
	if (!image)
		return;
	n = bpftime_catalog__prog_image(cat, idx, cp, image, (uint32_t)bytes);
	if (n < 0)
		log_prog(p, "its native image is unreadable, it runs interpreted", n, NULL);
	else if ((n = bpftime_vm__native_map(p->vm, image, (size_t)n, &native_mem)))
		log_prog(p, "its native image cannot be used, it runs interpreted", n,
			 bpftime_vm__last_error(p->vm));
	else
		log_prog(p, "runs the supervisor's native code", 0, NULL);
	mem_free(NULL, image, bytes);
}

/* Whether @insns call anything but their own functions: any call of the
 * JMP or JMP32 class but `call` with src_reg BPF_PSEUDO_CALL, and any
 * ld_imm64 of a function's address (passed to a helper). Every slot is
 * looked at, ld_imm64's second halves too: a false positive costs only the
 * CPU slot and TID that every run took before. */
static bool calls_out(const struct bpf_insn *insns, uint32_t cnt)
{
	for (uint32_t i = 0; i < cnt; i++) {
		uint8_t code = insns[i].code, cls = code & 0x07;

		if ((cls == BPF_JMP || cls == BPF_JMP32) && (code & 0xf0) == BPF_CALL &&
		    !(code == (BPF_JMP | BPF_CALL | BPF_K) && insns[i].src_reg == BPF_PSEUDO_CALL))
			return true;
		if (code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg == BPF_PSEUDO_FUNC)
			return true;
	}
	return false;
}

int agent_prog_load(struct agent_prog *p, const struct bpftime_catalog_view *cat, uint32_t idx,
		    const struct bpftime_catalog_prog *cp)
{
	BPFTIME_VM_OPTS(o, .host = p, .bounds_check = true, .resolve_ldimm64 = resolve,
			.tail_call = agent_helpers_tail_call, .access = access_ok,
			.alloc = mem_alloc, .dealloc = mem_free, .keep_stack = true);
	uint64_t *insns;
	int err;

	p->id = cp->id;
	p->type = cp->type;
	memcpy(p->name, cp->name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = '\0';
	p->nr_maps = 0;
	insns = copy_insns(cat, idx, cp, &err);
	if (!insns)
		return err;
	p->calls_out = calls_out((const struct bpf_insn *)insns, cp->insn_cnt);
	p->vm = bpftime_vm__create(&o, &err);
	if (!p->vm) {
		log_prog(p, "cannot create its vm", err, NULL);
	} else if ((err = agent_helpers_register(p->vm))) {
		log_prog(p, "cannot register the helpers", err, NULL);
	} else if ((err = bpftime_vm__load(p->vm, (const struct bpf_insn *)insns, cp->insn_cnt))) {
		log_prog(p, "cannot load it", err, bpftime_vm__last_error(p->vm));
	}
	mem_free(NULL, insns, cp->insn_cnt ? (size_t)cp->insn_cnt * 8 : 8);
	if (!err)
		load_native(p, cat, idx, cp);
	if (err) {
		bpftime_vm__free(p->vm);
		p->vm = NULL;
	}
	return err;
}
