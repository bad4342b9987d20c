// SPDX-License-Identifier: MIT
/*
 * bpftime_obj: objects that clang -target bpf built from test/obj/progs/
 * are opened, their programs linked and run on the vm, and r0 compared
 * with a value computed here. Malformed objects are made by mutating a
 * valid one in memory; each must fail with NULL, errno and a message
 * naming the problem, never crash.
 *
 * The ELF helpers below read the object independently of the module under
 * test (plain <elf.h> structs), to find what to mutate and what to expect.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpftime/obj.h>

#define ERR_SIZE 512

/* ---- files and the ELF view of the test ---- */

struct file {
	uint8_t *buf;
	size_t size;
};

static struct file read_obj(const char *name)
{
	char path[1024];
	struct file f = {0};
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TEST_OBJ_DIR, name);
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	assert_true(n > 0);
	f.size = (size_t)n;
	f.buf = malloc(f.size);
	assert_non_null(f.buf);
	assert_int_equal(fread(f.buf, 1, f.size, fp), f.size);
	fclose(fp);
	return f;
}

static Elf64_Ehdr *ehdr(const struct file *f)
{
	return (Elf64_Ehdr *)f->buf;
}

static Elf64_Shdr *shdr(const struct file *f, size_t i)
{
	return (Elf64_Shdr *)(f->buf + ehdr(f)->e_shoff) + i;
}

static const char *sec_name(const struct file *f, size_t i)
{
	return (const char *)f->buf + shdr(f, ehdr(f)->e_shstrndx)->sh_offset + shdr(f, i)->sh_name;
}

static size_t find_sec(const struct file *f, const char *name)
{
	for (size_t i = 1; i < ehdr(f)->e_shnum; i++)
		if (!strcmp(sec_name(f, i), name))
			return i;
	fail_msg("no section %s", name);
	return 0;
}

/* The value (offset in its section) of symbol @name. */
static uint64_t sym_value(const struct file *f, const char *name)
{
	for (size_t i = 1; i < ehdr(f)->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(f, i);
		const Elf64_Sym *syms = (const Elf64_Sym *)(f->buf + s->sh_offset);
		const char *strs = (const char *)f->buf + shdr(f, s->sh_link)->sh_offset;

		if (s->sh_type != SHT_SYMTAB)
			continue;
		for (size_t j = 0; j < s->sh_size / sizeof(Elf64_Sym); j++)
			if (!strcmp(strs + syms[j].st_name, name))
				return syms[j].st_value;
	}
	fail_msg("no symbol %s", name);
	return 0;
}

/* ---- running programs ---- */

/* Stand-ins for maps that the obj module does not run (BTF-defined ones). */
struct fake_map {
	uint8_t value[64];
	bool present;
};

struct host {
	struct bpftime_obj *obj;
	struct fake_map maps[8];
};

static int resolve(void *h, const struct bpftime_vm_ldimm64 *req, uint64_t *value)
{
	struct host *host = h;

	if (req->src == BPF_PSEUDO_MAP_IDX && req->imm >= 0 && req->imm < 8) {
		*value = (uint64_t)(uintptr_t)&host->maps[req->imm];
		return 0;
	}
	return bpftime_obj__resolve_ldimm64(host->obj, req, value);
}

static uint64_t fake_lookup(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5,
			    const struct bpftime_vm_call *call)
{
	struct fake_map *m = (struct fake_map *)(uintptr_t)map;

	return m->present ? (uint64_t)(uintptr_t)m->value : 0;
}

static struct bpftime_vm *load(struct host *h, const char *prog, bool checked)
{
	BPFTIME_VM_OPTS(opts, .bounds_check = checked, .host = h, .resolve_ldimm64 = resolve);
	struct bpftime_vm *vm = bpftime_vm__new(&opts);
	const struct bpf_insn *insns;
	size_t cnt;
	int idx;

	assert_non_null(vm);
	idx = bpftime_obj__prog_find(h->obj, prog);
	assert_true(idx >= 0);
	insns = bpftime_obj__prog_insns(h->obj, (size_t)idx, &cnt);
	assert_non_null(insns);
	assert_int_equal(
	    bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop), 0);
	assert_int_equal(bpftime_vm__register_helper(vm, BPF_FUNC_map_lookup_elem,
						     "bpf_map_lookup_elem", fake_lookup),
			 0);
	if (bpftime_vm__load(vm, insns, cnt))
		fail_msg("load %s: %s", prog, bpftime_vm__last_error(vm));
	if (checked)
		assert_int_equal(bpftime_obj__add_regions(h->obj, vm), 0);
	return vm;
}

/* Run @prog once on @in; returns r0, failing the test on a fault. */
static uint64_t run(struct host *h, const char *prog, void *in, size_t len, bool checked)
{
	struct bpftime_vm *vm = load(h, prog, checked);
	struct bpftime_vm_run r = {.ctx = in, .ctx_len = len};
	char buf[256];

	if (bpftime_vm__run(vm, &r)) {
		bpftime_vm_fault__format(&r.fault, buf, sizeof(buf));
		fail_msg("run %s: %s", prog, buf);
	}
	bpftime_vm__free(vm);
	return r.r0;
}

static struct bpftime_obj *open_file(const char *name)
{
	char path[1024], err[ERR_SIZE];
	struct bpftime_obj *obj;

	snprintf(path, sizeof(path), "%s/%s", TEST_OBJ_DIR, name);
	obj = bpftime_obj__open(path, err, sizeof(err));
	if (!obj)
		fail_msg("%s", err);
	return obj;
}

static int map_index(const struct bpftime_obj *obj, const char *name)
{
	for (size_t i = 0; i < bpftime_obj__map_cnt(obj); i++)
		if (!strcmp(bpftime_obj__map(obj, i)->name, name))
			return (int)i;
	fail_msg("no map %s", name);
	return -1;
}

/* ---- programs, sections and calls ---- */

static void test_programs_are_listed_in_section_order(void **state)
{
	struct bpftime_obj *obj = open_file("calls.bpf.o");
	static const char *const want[][2] = {
	    {"add_inputs", "uprobe/calls"},
	    {"sum_of_squares", "uprobe/calls"},
	    {"nested_calls", "xdp"},
	};

	assert_int_equal(bpftime_obj__prog_cnt(obj), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(bpftime_obj__prog_name(obj, i), want[i][0]);
		assert_string_equal(bpftime_obj__prog_section(obj, i), want[i][1]);
	}
	assert_int_equal(bpftime_obj__prog_find(obj, "uprobe/calls"), 0);
	assert_int_equal(bpftime_obj__prog_find(obj, "sum_of_squares"), 1);
	assert_int_equal(bpftime_obj__prog_find(obj, "xdp"), 2);
	assert_int_equal(bpftime_obj__prog_find(obj, "square"), -ENOENT);
	assert_null(bpftime_obj__prog_name(obj, 3));
	assert_null(bpftime_obj__prog_insns(obj, 3, NULL));
	bpftime_obj__free(obj);
}

static void test_program_without_calls_is_not_linked_with_text(void **state)
{
	struct file f = read_obj("calls.bpf.o");
	struct host h = {.obj = open_file("calls.bpf.o")};
	uint64_t in[2] = {40, 2};
	size_t cnt;

	bpftime_obj__prog_insns(h.obj, 0, &cnt);
	/* the symbol's size, in instructions: nothing appended */
	assert_int_equal(cnt, sym_value(&f, "sum_of_squares") / 8);
	assert_int_equal(run(&h, "add_inputs", in, sizeof(in), false), 42);
	assert_int_equal(run(&h, "add_inputs", in, sizeof(in), true), 42);
	free(f.buf);
	bpftime_obj__free(h.obj);
}

static void test_calls_into_text_are_linked(void **state)
{
	struct file f = read_obj("calls.bpf.o");
	struct host h = {.obj = open_file("calls.bpf.o")};
	uint64_t text_cnt = shdr(&f, find_sec(&f, ".text"))->sh_size / 8;
	uint64_t in[4] = {3, 4, 5, 6};
	size_t cnt;

	/* sum_of_squares: 4 own instructions, then all of .text */
	bpftime_obj__prog_insns(h.obj, 1, &cnt);
	assert_int_equal(cnt, 4 + text_cnt);
	for (int checked = 0; checked < 2; checked++) {
		assert_int_equal(run(&h, "sum_of_squares", in, sizeof(in), checked), 9 + 16);
		/* global -> global (relocated) -> static (not relocated), and a
		 * relocated call to a static function from the program */
		assert_int_equal(run(&h, "nested_calls", in, sizeof(in), checked),
				 2 * (9 + 16) + 25 - 6);
	}
	free(f.buf);
	bpftime_obj__free(h.obj);
}

static void test_text_only_object_runs_its_first_function(void **state)
{
	struct host h = {.obj = open_file("text_only.bpf.o")};
	uint64_t in[1] = {7};
	size_t cnt;

	assert_int_equal(bpftime_obj__prog_cnt(h.obj), 1);
	assert_string_equal(bpftime_obj__prog_name(h.obj, 0), "entry");
	assert_string_equal(bpftime_obj__prog_section(h.obj, 0), ".text");
	/* entry (4 insns), then .text (7) for its call */
	bpftime_obj__prog_insns(h.obj, 0, &cnt);
	assert_int_equal(cnt, 4 + 7);
	assert_int_equal(run(&h, "entry", in, sizeof(in), false), 22);
	assert_int_equal(run(&h, ".text", in, sizeof(in), true), 22);
	bpftime_obj__free(h.obj);
}

/* ---- global data ---- */

static uint64_t read_u64(const void *base, uint64_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)base + off, sizeof(v));
	return v;
}

static void test_global_data_maps_mirror_sections(void **state)
{
	struct file f = read_obj("globals.bpf.o");
	struct bpftime_obj *obj = open_file("globals.bpf.o");
	static const char *const names[] = {".data", ".rodata", ".bss", ".rodata.str1.1"};

	assert_int_equal(bpftime_obj__map_cnt(obj), 4);
	for (size_t i = 0; i < 4; i++) {
		const struct bpftime_obj_map *m =
		    bpftime_obj__map(obj, (size_t)map_index(obj, names[i]));
		const Elf64_Shdr *s = shdr(&f, find_sec(&f, names[i]));

		assert_true(m->global_data);
		assert_int_equal(m->type, BPF_MAP_TYPE_ARRAY);
		assert_int_equal(m->key_size, 4);
		assert_int_equal(m->max_entries, 1);
		assert_int_equal(m->value_size, s->sh_size);
		assert_int_equal(m->map_flags, names[i][1] == 'r' ? BPF_F_RDONLY_PROG : 0);
		if (s->sh_type == SHT_NOBITS) {
			assert_null(m->init);
		} else {
			assert_int_equal(m->init_size, s->sh_size);
			assert_memory_equal(m->init, f.buf + s->sh_offset, s->sh_size);
		}
		/* copies are made by the first load that needs them */
		assert_null(bpftime_obj__global_data(obj, i));
	}
	free(f.buf);
	bpftime_obj__free(obj);
}

static void test_global_data_is_read_and_written(void **state)
{
	struct file f = read_obj("globals.bpf.o");
	struct host h = {.obj = open_file("globals.bpf.o")};
	uint64_t in[1] = {5};
	void *data, *rodata, *bss;

	/* counter = 100 + 5 * 3, runs = 1 */
	assert_int_equal(run(&h, "update_globals", in, sizeof(in), false), 115 + 1);
	in[0] = 7;
	/* counter = 115 + 7 * 3, runs = 2; the checked mode sees the regions */
	assert_int_equal(run(&h, "update_globals", in, sizeof(in), true), 136 + 2);
	data = bpftime_obj__global_data(h.obj, (size_t)map_index(h.obj, ".data"));
	rodata = bpftime_obj__global_data(h.obj, (size_t)map_index(h.obj, ".rodata"));
	bss = bpftime_obj__global_data(h.obj, (size_t)map_index(h.obj, ".bss"));
	assert_non_null(data);
	assert_non_null(rodata);
	assert_non_null(bss);
	assert_int_equal(read_u64(data, sym_value(&f, "counter")), 136);
	assert_int_equal(read_u64(rodata, sym_value(&f, "scale")), 3);
	assert_string_equal((const char *)rodata + sym_value(&f, "greeting"), "hello");
	assert_int_equal(read_u64(bss, sym_value(&f, "last_input")), 7);
	assert_int_equal(*(const uint32_t *)((const uint8_t *)bss + sym_value(&f, "runs")), 2);
	free(f.buf);
	bpftime_obj__free(h.obj);
}

static uint64_t byte_sum(const char *s)
{
	uint64_t sum = 0;

	while (*s)
		sum += (unsigned char)*s++;
	return sum;
}

static void test_string_literals_and_rodata_arrays(void **state)
{
	struct host h = {.obj = open_file("globals.bpf.o")};
	uint64_t want = byte_sum("abc") * 1000000 + byte_sum("xyz!") * 1000 + byte_sum("hello");

	assert_int_equal(run(&h, "string_sums", NULL, 0, false), want);
	assert_int_equal(run(&h, "string_sums", NULL, 0, true), want);
	bpftime_obj__free(h.obj);
}

static void test_rodata_is_read_only_when_checked(void **state)
{
	struct host h = {.obj = open_file("globals.bpf.o")};
	struct bpftime_vm *vm = load(&h, "rodata_write", true);
	struct bpftime_vm_run r = {0};

	assert_int_equal(bpftime_vm__run(vm, &r), -EFAULT);
	assert_true(r.fault.write);
	assert_int_equal(r.fault.addr, (uint64_t)(uintptr_t)bpftime_obj__global_data(
					   h.obj, (size_t)map_index(h.obj, ".rodata")));
	bpftime_vm__free(vm);
	bpftime_obj__free(h.obj);
}

/* ---- bpf_loop callbacks ---- */

static void test_bpf_loop_callbacks_are_linked(void **state)
{
	struct host h = {.obj = open_file("loop.bpf.o")};
	uint64_t in[2] = {10, 4};
	const struct bpf_insn *insns;
	size_t cnt, own = 0;
	bool found = false;

	insns = bpftime_obj__prog_insns(h.obj, 0, &cnt);
	/* the callback's ld_imm64 points into the appended .text */
	for (size_t i = 0; i + 1 < cnt; i++) {
		if (insns[i].code == (BPF_JMP | BPF_EXIT) && !own)
			own = i + 1;
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    insns[i].src_reg == BPF_PSEUDO_FUNC) {
			found = true;
			assert_true((int64_t)i + insns[i].imm + 1 >= 0);
			assert_true((size_t)((int64_t)i + insns[i].imm + 1) < cnt);
		}
	}
	assert_true(found);
	assert_true(own < cnt);
	for (int checked = 0; checked < 2; checked++) {
		/* sum of i^2, i < 10 = 285; bpf_loop returns 10 */
		assert_int_equal(run(&h, "loop_squares", in, sizeof(in), checked), 285 * 1000 + 10);
		/* 0 + 1 + 2 + 3; the callback stops at i = 4: 5 iterations */
		assert_int_equal(run(&h, "loop_stop", in, sizeof(in), checked), 6 * 1000 + 5);
	}
	bpftime_obj__free(h.obj);
}

/* ---- BTF-defined maps ---- */

/* The value type of maps.bpf.c, for an independent sizeof. */
struct value {
	uint64_t count;
	uint32_t flags;
	uint32_t pad[3];
};

static void test_btf_maps_are_parsed(void **state)
{
	struct bpftime_obj *obj = open_file("maps.bpf.o");
	const struct bpftime_obj_map *m;

	assert_int_equal(bpftime_obj__map_cnt(obj), 4);
	m = bpftime_obj__map(obj, 0);
	assert_string_equal(m->name, "counts");
	assert_int_equal(m->type, BPF_MAP_TYPE_HASH);
	assert_int_equal(m->key_size, sizeof(uint32_t));
	assert_int_equal(m->value_size, sizeof(struct value));
	assert_int_equal(m->max_entries, 1024);
	assert_false(m->global_data);
	m = bpftime_obj__map(obj, 1);
	assert_string_equal(m->name, "table");
	assert_int_equal(m->type, BPF_MAP_TYPE_ARRAY);
	assert_int_equal(m->key_size, 4);
	assert_int_equal(m->value_size, 40);
	assert_int_equal(m->max_entries, 8);
	assert_int_equal(m->map_flags, BPF_F_RDONLY_PROG);
	m = bpftime_obj__map(obj, 2);
	assert_string_equal(m->name, "events");
	assert_int_equal(m->type, BPF_MAP_TYPE_RINGBUF);
	assert_int_equal(m->max_entries, 4096);
	assert_int_equal(m->key_size, 0);
	assert_int_equal(m->value_size, 0);
	m = bpftime_obj__map(obj, 3);
	assert_string_equal(m->name, ".data");
	assert_true(m->global_data);
	assert_null(bpftime_obj__map(obj, 4));
	bpftime_obj__free(obj);
}

static void test_btf_map_references_run(void **state)
{
	struct host h = {.obj = open_file("maps.bpf.o")};
	const struct bpf_insn *insns;
	uint32_t in[1] = {3};
	uint64_t count = 1000, first = 20000;
	unsigned seen = 0;
	size_t cnt;

	insns = bpftime_obj__prog_insns(h.obj, 0, &cnt);
	for (size_t i = 0; i < cnt; i++) {
		if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (insns[i].src_reg == BPF_PSEUDO_MAP_IDX)
			seen |= 1u << insns[i].imm; /* counts (0) and table (1) */
		if (insns[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE)
			seen |= 1u << insns[i].imm; /* .data (3) */
		i++;
	}
	assert_int_equal(seen, 0xb);
	memcpy(h.maps[0].value, &count, sizeof(count));
	h.maps[0].present = true;
	memcpy(h.maps[1].value, &first, sizeof(first));
	h.maps[1].present = true;
	/* ++lookups (7 -> 8) + counts value + table value */
	assert_int_equal(run(&h, "use_maps", in, sizeof(in), false), 8 + 1000 + 20000);
	h.maps[0].present = false;
	assert_int_equal(run(&h, "use_maps", in, sizeof(in), false), 9 + 20000);
	bpftime_obj__free(h.obj);
}

static void test_resolver_refuses_what_it_cannot_back(void **state)
{
	struct bpftime_obj *obj = open_file("maps.bpf.o");
	struct bpftime_vm_ldimm64 req = {.src = BPF_PSEUDO_MAP_IDX, .imm = 0};
	uint64_t v;

	/* a BTF-defined map needs a map runtime */
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), -EOPNOTSUPP);
	req.src = BPF_PSEUDO_MAP_IDX_VALUE;
	req.imm = 3;
	req.next_imm = 8; /* .data is 8 bytes */
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), -EINVAL);
	req.next_imm = -1;
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), -EINVAL);
	req.imm = 4;
	req.next_imm = 0;
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), -EINVAL);
	req.imm = 3;
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), 0);
	assert_int_equal(v, (uint64_t)(uintptr_t)bpftime_obj__global_data(obj, 3));
	req.src = BPF_PSEUDO_MAP_FD;
	assert_int_equal(bpftime_obj__resolve_ldimm64(obj, &req, &v), -EOPNOTSUPP);
	bpftime_obj__free(obj);
}

/* ---- malformed input ---- */

/* Open @f (its first @size bytes); must fail with @err and a message
 * that names the input and contains @what. */
static void expect_fail(const struct file *f, size_t size, int err, const char *what)
{
	char msg[ERR_SIZE] = "";
	struct bpftime_obj *obj;

	errno = 0;
	obj = bpftime_obj__open_mem(f->buf, size, msg, sizeof(msg));
	if (obj)
		fail_msg("opened, expected '%s'", what);
	assert_int_equal(errno, err);
	if (strncmp(msg, "(memory): ", 10) || !strstr(msg, what))
		fail_msg("message '%s' lacks '%s'", msg, what);
}

static void test_not_an_elf_file(void **state)
{
	struct file f = {.buf = (uint8_t *)"just some text, not an object", .size = 29};

	expect_fail(&f, f.size, ENOEXEC, "not an ELF file");
	expect_fail(&f, 0, ENOEXEC, "not an ELF file");
}

static void test_wrong_machine_class_and_type(void **state)
{
	struct file f = read_obj("calls.bpf.o");

	ehdr(&f)->e_machine = EM_X86_64;
	expect_fail(&f, f.size, ENOEXEC, "e_machine 62 is not EM_BPF");
	ehdr(&f)->e_machine = EM_BPF;
	ehdr(&f)->e_type = ET_EXEC;
	expect_fail(&f, f.size, ENOEXEC, "not a relocatable object");
	ehdr(&f)->e_type = ET_REL;
	f.buf[EI_CLASS] = ELFCLASS32;
	expect_fail(&f, f.size, ENOEXEC, "not a 64-bit ELF");
	f.buf[EI_CLASS] = ELFCLASS64;
	f.buf[EI_DATA] = ELFDATA2MSB;
	expect_fail(&f, f.size, ENOEXEC, "byte order");
	free(f.buf);
}

static void test_truncated_files(void **state)
{
	struct file f = read_obj("calls.bpf.o");

	expect_fail(&f, 20, ENOEXEC, "truncated ELF header");
	/* clang puts the section header table last: any cut loses it */
	expect_fail(&f, f.size / 2, EINVAL, "beyond the end of the file");
	expect_fail(&f, f.size - 1, EINVAL, "beyond the end of the file");
	for (size_t size = 0; size < f.size; size += 7)
		assert_null(bpftime_obj__open_mem(f.buf, size, NULL, 0));
	free(f.buf);
}

static void test_section_beyond_the_file(void **state)
{
	struct file f = read_obj("calls.bpf.o");
	Elf64_Shdr *text = shdr(&f, find_sec(&f, ".text"));
	uint64_t off = text->sh_offset, size = text->sh_size;

	text->sh_offset = f.size + 8;
	expect_fail(&f, f.size, EINVAL, "section '.text' (2): offset");
	text->sh_offset = off;
	text->sh_size = UINT64_MAX - 4;
	expect_fail(&f, f.size, EINVAL, "beyond the end of the file");
	text->sh_size = size + 4;
	expect_fail(&f, f.size, EINVAL, "not a multiple of the instruction size");
	text->sh_size = size;
	ehdr(&f)->e_shstrndx = ehdr(&f)->e_shnum;
	expect_fail(&f, f.size, EINVAL, "section name table index");
	free(f.buf);
}

/* The first relocation of section @rel_name in @f. */
static Elf64_Rel *first_rel(struct file *f, const char *rel_name)
{
	return (Elf64_Rel *)(f->buf + shdr(f, find_sec(f, rel_name))->sh_offset);
}

static void test_bad_relocations(void **state)
{
	struct file f = read_obj("globals.bpf.o");
	Elf64_Rel *rel = first_rel(&f, ".reluprobe/globals");
	Elf64_Rel saved = *rel;
	struct bpftime_obj *obj;

	rel->r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(saved.r_info));
	expect_fail(&f, f.size, EINVAL, "symbol index 100000 out of range");
	*rel = saved;
	rel->r_offset += 3;
	expect_fail(&f, f.size, EINVAL, "is not an instruction of 'uprobe/globals'");
	rel->r_offset = 1 << 20;
	expect_fail(&f, f.size, EINVAL, "is not an instruction of 'uprobe/globals'");
	*rel = saved;
	rel->r_info = ELF64_R_INFO(ELF64_R_SYM(saved.r_info), 99);
	expect_fail(&f, f.size, EINVAL, "type 99");
	*rel = saved;
	/* onto the ldxdw before the ld_imm64 */
	rel->r_offset -= 8;
	expect_fail(&f, f.size, EINVAL, "not ld_imm64");
	*rel = saved;
	/* onto the second half of the ld_imm64 */
	rel->r_offset += 8;
	expect_fail(&f, f.size, EINVAL, "second half of an ld_imm64");
	*rel = saved;
	rel->r_info = ELF64_R_INFO(ELF64_R_SYM(saved.r_info), R_BPF_64_32);
	expect_fail(&f, f.size, EINVAL, "not call");
	*rel = saved;
	/* the restored object opens again: the failures were the mutations' */
	obj = bpftime_obj__open_mem(f.buf, f.size, NULL, 0);
	assert_non_null(obj);
	bpftime_obj__free(obj);
	free(f.buf);
}

static void test_bad_call_relocation(void **state)
{
	struct file f = read_obj("calls.bpf.o");
	Elf64_Rel *rel = first_rel(&f, ".relxdp");
	struct bpf_insn *call;

	/* call twice_sum_squares: move the target past the end of .text */
	call =
	    (struct bpf_insn *)(f.buf + shdr(&f, find_sec(&f, "xdp"))->sh_offset + rel->r_offset);
	assert_int_equal(call->code, BPF_JMP | BPF_CALL);
	call->imm = 1000;
	expect_fail(&f, f.size, EINVAL, "is outside '.text'");
	call->imm = -1;
	call->src_reg = 0;
	expect_fail(&f, f.size, EOPNOTSUPP, "kfunc");
	free(f.buf);
}

static void test_legacy_maps_section_is_refused(void **state)
{
	struct file f = read_obj("maps.bpf.o");

	/* ".maps" + 1 is "maps", the legacy struct bpf_map_def section */
	shdr(&f, find_sec(&f, ".maps"))->sh_name += 1;
	expect_fail(&f, f.size, EOPNOTSUPP, "legacy 'maps' section");
	free(f.buf);
}

static void test_bad_btf(void **state)
{
	struct file f = read_obj("maps.bpf.o");
	Elf64_Shdr *btf = shdr(&f, find_sec(&f, ".BTF"));
	uint8_t *hdr = f.buf + btf->sh_offset;
	uint32_t type_len;

	hdr[0] ^= 0xff;
	expect_fail(&f, f.size, EINVAL, "BTF: bad magic");
	hdr[0] ^= 0xff;
	/* struct btf_header: magic, version, flags, hdr_len, type_off, type_len */
	memcpy(&type_len, hdr + 12, 4);
	type_len += 1000000;
	memcpy(hdr + 12, &type_len, 4);
	expect_fail(&f, f.size, EINVAL, "BTF: type or string section outside the data");
	free(f.buf);
}

static void test_missing_file(void **state)
{
	char err[ERR_SIZE];

	errno = 0;
	assert_null(bpftime_obj__open("/nonexistent/dir/prog.bpf.o", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/prog.bpf.o: cannot open"));
	/* NULL err buffers are fine */
	assert_null(bpftime_obj__open("/nonexistent/dir/prog.bpf.o", NULL, 0));
	bpftime_obj__free(NULL);
}

/* Flip bytes of valid objects: open, link, load and run whatever survives,
 * checked and with an instruction limit. Nothing may crash. */
static void mutate_and_open(const char *name, unsigned rounds, uint64_t *seed)
{
	struct file f = read_obj(name);
	uint8_t *copy = malloc(f.size);

	assert_non_null(copy);
	for (unsigned r = 0; r < rounds; r++) {
		struct host h = {0};

		memcpy(copy, f.buf, f.size);
		for (int k = 0; k < 1 + (int)(r % 4); k++) {
			*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
			copy[(*seed >> 33) % f.size] ^= (uint8_t)(1u << ((*seed >> 20) & 7));
		}
		h.obj = bpftime_obj__open_mem(copy, f.size, NULL, 0);
		for (size_t i = 0; h.obj && i < bpftime_obj__prog_cnt(h.obj); i++) {
			BPFTIME_VM_OPTS(opts, .bounds_check = true, .insn_limit = 100000,
					.host = &h, .resolve_ldimm64 = resolve);
			struct bpftime_vm *vm = bpftime_vm__new(&opts);
			const struct bpf_insn *insns;
			uint64_t in[4] = {1, 2, 3, 4};
			size_t cnt;

			insns = bpftime_obj__prog_insns(h.obj, i, &cnt);
			bpftime_vm__register_helper(vm, BPF_FUNC_loop, "bpf_loop",
						    bpftime_vm_helper_loop);
			if (!bpftime_vm__load(vm, insns, cnt) &&
			    !bpftime_obj__add_regions(h.obj, vm))
				bpftime_vm__exec(vm, in, sizeof(in), NULL);
			bpftime_vm__free(vm);
		}
		bpftime_obj__free(h.obj);
	}
	free(copy);
	free(f.buf);
}

static void test_mutated_objects_never_crash(void **state)
{
	uint64_t seed = 42;

	mutate_and_open("calls.bpf.o", 1500, &seed);
	mutate_and_open("globals.bpf.o", 1500, &seed);
	mutate_and_open("loop.bpf.o", 1500, &seed);
	mutate_and_open("maps.bpf.o", 1500, &seed);
	mutate_and_open("text_only.bpf.o", 500, &seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_programs_are_listed_in_section_order),
	    cmocka_unit_test(test_program_without_calls_is_not_linked_with_text),
	    cmocka_unit_test(test_calls_into_text_are_linked),
	    cmocka_unit_test(test_text_only_object_runs_its_first_function),
	    cmocka_unit_test(test_global_data_maps_mirror_sections),
	    cmocka_unit_test(test_global_data_is_read_and_written),
	    cmocka_unit_test(test_string_literals_and_rodata_arrays),
	    cmocka_unit_test(test_rodata_is_read_only_when_checked),
	    cmocka_unit_test(test_bpf_loop_callbacks_are_linked),
	    cmocka_unit_test(test_btf_maps_are_parsed),
	    cmocka_unit_test(test_btf_map_references_run),
	    cmocka_unit_test(test_resolver_refuses_what_it_cannot_back),
	    cmocka_unit_test(test_not_an_elf_file),
	    cmocka_unit_test(test_wrong_machine_class_and_type),
	    cmocka_unit_test(test_truncated_files),
	    cmocka_unit_test(test_section_beyond_the_file),
	    cmocka_unit_test(test_bad_relocations),
	    cmocka_unit_test(test_bad_call_relocation),
	    cmocka_unit_test(test_legacy_maps_section_is_refused),
	    cmocka_unit_test(test_bad_btf),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_mutated_objects_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
