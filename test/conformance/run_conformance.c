// SPDX-License-Identifier: MIT
/*
 * bpftime-conformance: runs bpf_conformance test files (format in
 * README.md) through the vm.
 *
 *   bpftime-conformance [--checked] [--jit] [--verbose] FILE...
 *
 * Each file: assemble `-- asm` (or take `-- raw`), load it into a fresh vm
 * with helper 5 registered, run it with r1 = the `-- mem` bytes and r2 =
 * their length, and compare r0 with `-- result`; with `-- error`, the load
 * or the run must fail with a message containing that text. One line per
 * failure, then "conformance: N/M passed"; exit 0 only when all passed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpftime/asm.h>
#include <bpftime/vm.h>
#ifdef BPFTIME_HAVE_JIT
#include <bpftime/jit.h>
#endif

static void free_ptr(void *p)
{
	free(*(void **)p);
}

static void free_vm(struct bpftime_vm **vm)
{
	bpftime_vm__free(*vm);
}

#define cleanup_free __attribute__((cleanup(free_ptr)))
#define cleanup_vm   __attribute__((cleanup(free_vm)))

/* A section of the file: [start, end) of its body, NULL start when absent. */
struct span {
	const char *start, *end;
};

struct test_file {
	struct span asm_text, mem, result, raw, error;
};

struct options {
	bool checked;
	bool jit;
	bool verbose;
};

/* Contents of @path, NUL-terminated, or NULL with errno set. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *n;
	size_t len = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			n = realloc(buf, cap);
			if (!n) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = n;
		}
		/* keep one byte for the terminator */
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The section a "-- name" line opens; NULL for the ones we ignore. */
static struct span *section_of(struct test_file *t, const char *name, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
	    {"asm", offsetof(struct test_file, asm_text)},
	    {"mem", offsetof(struct test_file, mem)},
	    {"result", offsetof(struct test_file, result)},
	    {"raw", offsetof(struct test_file, raw)},
	    {"error", offsetof(struct test_file, error)},
	};

	/* trailing spaces are not part of the name */
	while (len && (name[len - 1] == ' ' || name[len - 1] == '\t' || name[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len && !memcmp(known[i].name, name, len))
			return (struct span *)((char *)t + known[i].off);
	return NULL; /* "-- c", "-- no register offset": informational */
}

/* Split @text into sections at lines that start with "--". */
static void split_sections(const char *text, struct test_file *t)
{
	struct span *cur = NULL;
	const char *p = text, *eol, *name;

	memset(t, 0, sizeof(*t));
	for (; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (p[0] != '-' || p[1] != '-')
			continue;
		if (cur)
			cur->end = p;
		for (name = p + 2; *name == ' ' || *name == '\t'; name++)
			;
		cur = section_of(t, name, (size_t)(eol - name));
		if (cur)
			cur->start = cur->end = *eol ? eol + 1 : eol;
	}
	if (cur)
		cur->end = p;
}

/*
 * Next whitespace-separated token of @s, skipping `#` comments; false at
 * the end. Tokens are copied into @tok (truncated to @size - 1 bytes).
 */
static bool next_token(struct span *s, char *tok, size_t size)
{
	const char *q;
	size_t n;

	for (;;) {
		while (s->start < s->end && strchr(" \t\r\n", *s->start))
			s->start++;
		if (s->start == s->end)
			return false;
		if (*s->start != '#')
			break;
		while (s->start < s->end && *s->start != '\n')
			s->start++;
	}
	for (q = s->start; q < s->end && !strchr(" \t\r\n#", *q); q++)
		;
	n = (size_t)(q - s->start) < size - 1 ? (size_t)(q - s->start) : size - 1;
	memcpy(tok, s->start, n);
	tok[n] = '\0';
	s->start = q;
	return true;
}

/* A number as the corpus writes them: 0x-hex or decimal, optionally negative. */
static int parse_u64(const char *tok, unsigned base, uint64_t *out)
{
	bool neg = tok[0] == '-';
	const char *digits = tok + neg;
	char *endp;

	if (!base)
		base = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') ? 16 : 10;
	if (!*digits || *digits == '-' || *digits == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoull(digits, &endp, (int)base);
	if (errno || *endp)
		return -EINVAL;
	if (neg)
		*out = 0 - *out;
	return 0;
}

static int parse_mem(struct span s, uint8_t **mem, size_t *len)
{
	size_t cap = (size_t)(s.end - s.start) / 2 + 1;
	uint64_t v;
	char tok[32];

	*len = 0;
	*mem = NULL;
	if (!s.start)
		return 0;
	*mem = malloc(cap);
	if (!*mem)
		return -ENOMEM;
	/* n tokens need n - 1 separators: n <= (len + 1) / 2 <= cap */
	while (next_token(&s, tok, sizeof(tok))) {
		if (parse_u64(tok, 16, &v) || v > 0xff)
			return -EINVAL;
		(*mem)[(*len)++] = (uint8_t)v;
	}
	return 0;
}

/* `-- raw`: 64-bit words, little-endian encodings of struct bpf_insn. */
static int parse_raw(struct span s, struct bpf_insn **insns, size_t *cnt)
{
	size_t cap = (size_t)(s.end - s.start) / 2 + 1;
	uint64_t w;
	char tok[64];

	*cnt = 0;
	*insns = calloc(cap, sizeof(**insns));
	if (!*insns)
		return -ENOMEM;
	/* as in parse_mem: n tokens fit in cap */
	while (next_token(&s, tok, sizeof(tok))) {
		struct bpf_insn *insn = &(*insns)[(*cnt)++];

		if (parse_u64(tok, 0, &w))
			return -EINVAL;
		/* RFC 9669 3: opcode, regs (dst low nibble), off, imm from the low byte up */
		insn->code = (uint8_t)w;
		insn->dst_reg = (w >> 8) & 0xf;
		insn->src_reg = (w >> 12) & 0xf;
		insn->off = (int16_t)(uint16_t)(w >> 16);
		insn->imm = (int32_t)(uint32_t)(w >> 32);
	}
	return 0;
}

/* Helper 5, as the upstream plugins register it: returns its first argument. */
static uint64_t helper_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			      const struct bpftime_vm_call *call)
{
	return r1;
}

/* Expected error text, trimmed, into @buf; "" when the test expects none. */
static void expected_error(const struct span *s, char *buf, size_t size)
{
	const char *a = s->start, *b = s->end;

	buf[0] = '\0';
	if (!a)
		return;
	while (a < b && strchr(" \t\r\n", *a))
		a++;
	while (b > a && strchr(" \t\r\n", b[-1]))
		b--;
	snprintf(buf, size, "%.*s", (int)(b - a), a);
}

/* The program of @t: `-- raw` when present, else the assembled `-- asm`. */
static int get_program(const struct test_file *t, struct bpf_insn **insns, size_t *cnt, char *msg,
		       size_t size)
{
	cleanup_free char *text = NULL;

	if (t->raw.start) {
		if (parse_raw(t->raw, insns, cnt)) {
			snprintf(msg, size, "bad -- raw section");
			return -EINVAL;
		}
		return 0;
	}
	if (!t->asm_text.start) {
		snprintf(msg, size, "no -- asm section");
		return -EINVAL;
	}
	text = strndup(t->asm_text.start, (size_t)(t->asm_text.end - t->asm_text.start));
	if (!text)
		return -ENOMEM;
	return bpftime_asm__assemble(text, insns, cnt, msg, size);
}

/* Native code for @vm; a test that loads must then run natively, so a
 * compile failure fails it. */
static int load_jit(struct bpftime_vm *vm)
{
#ifdef BPFTIME_HAVE_JIT
	int err = bpftime_jit__load(vm, NULL);

	if (!err && !bpftime_vm__is_native(vm))
		err = -ENOEXEC;
	return err;
#else
	(void)vm;
	return -EOPNOTSUPP;
#endif
}

/*
 * Load and run @insns. Returns 0 with *r0 set, or the load/run error with
 * the vm's message in @msg.
 */
static int run_program(const struct bpf_insn *insns, size_t cnt, uint8_t *mem, size_t len,
		       const struct options *opt, uint64_t *r0, char *msg, size_t size)
{
	BPFTIME_VM_OPTS(vopts, .bounds_check = opt->checked);
	cleanup_vm struct bpftime_vm *vm = bpftime_vm__new(&vopts);
	struct bpftime_vm_run run = {.ctx = mem, .ctx_len = len};
	int err;

	if (!vm) {
		err = -errno;
		snprintf(msg, size, "vm: %s", strerror(errno));
		return err;
	}
	err = bpftime_vm__register_helper(vm, 5, "unwind", helper_unwind);
	if (err) {
		snprintf(msg, size, "register helper 5: %s", bpftime_vm__last_error(vm));
		return err;
	}
	err = bpftime_vm__load(vm, insns, cnt);
	if (err) {
		snprintf(msg, size, "load: %s", bpftime_vm__last_error(vm));
		return err;
	}
	err = opt->jit ? load_jit(vm) : 0;
	if (err) {
		snprintf(msg, size, "jit: %s", bpftime_vm__last_error(vm));
		return err;
	}
	err = bpftime_vm__run(vm, &run);
	if (err) {
		int n = snprintf(msg, size, "run: ");

		bpftime_vm_fault__format(&run.fault, msg + n, size - (size_t)n);
		return err;
	}
	*r0 = run.r0;
	return 0;
}

/* Print the program, one instruction per line, for --verbose failures. */
static void dump_program(const struct bpf_insn *insns, size_t cnt)
{
	char line[128];
	int n;

	for (size_t i = 0; i < cnt; i += (size_t)n) {
		n = bpftime_asm__disasm(&insns[i], cnt - i, line, sizeof(line));
		if (n < 0) {
			printf("  %4zu: (cannot disassemble)\n", i);
			n = 1;
			continue;
		}
		printf("  %4zu: %s\n", i, line);
	}
}

/* Judge the outcome of one test; true when it passed. */
static bool judge(const char *path, const struct test_file *t, int err, uint64_t r0,
		  const char *msg)
{
	char want_err[256];
	uint64_t want;
	char tok[64];
	struct span s = t->result;

	expected_error(&t->error, want_err, sizeof(want_err));
	if (want_err[0]) {
		if (err && strstr(msg, want_err))
			return true;
		if (err)
			printf("FAIL %s: expected error '%s', got '%s'\n", path, want_err, msg);
		else
			printf("FAIL %s: expected error '%s', got r0 = 0x%llx\n", path, want_err,
			       (unsigned long long)r0);
		return false;
	}
	if (err) {
		printf("FAIL %s: %s\n", path, msg);
		return false;
	}
	if (!s.start || !next_token(&s, tok, sizeof(tok)) || parse_u64(tok, 0, &want)) {
		printf("FAIL %s: missing or bad -- result section\n", path);
		return false;
	}
	if (r0 != want) {
		printf("FAIL %s: expected 0x%llx, got 0x%llx\n", path, (unsigned long long)want,
		       (unsigned long long)r0);
		return false;
	}
	return true;
}

static bool run_file(const char *path, const struct options *opt)
{
	cleanup_free char *text = read_file(path);
	cleanup_free struct bpf_insn *insns = NULL;
	cleanup_free uint8_t *mem = NULL;
	struct test_file t;
	size_t cnt = 0, len = 0;
	char msg[512] = "";
	uint64_t r0 = 0;
	bool ok;
	int err;

	if (!text) {
		printf("FAIL %s: cannot read: %s\n", path, strerror(errno));
		return false;
	}
	split_sections(text, &t);
	if (parse_mem(t.mem, &mem, &len)) {
		printf("FAIL %s: bad -- mem section\n", path);
		return false;
	}
	err = get_program(&t, &insns, &cnt, msg, sizeof(msg));
	if (err) {
		printf("FAIL %s: program: %s\n", path, msg);
		return false;
	}
	err = run_program(insns, cnt, len ? mem : NULL, len, opt, &r0, msg, sizeof(msg));
	ok = judge(path, &t, err, r0, msg);
	if (opt->verbose && ok)
		printf("PASS %s\n", path);
	else if (opt->verbose)
		dump_program(insns, cnt);
	return ok;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bpftime-conformance [--checked] [--jit] [--verbose] FILE...\n"
		   "  --checked  run with bounds checking (bpftime_vm_opts.bounds_check)\n"
		   "  --jit      run the LLVM JIT's native code (bpftime/jit.h)\n"
		   "  --verbose  print passing tests too, and the program of failing ones\n");
}

int main(int argc, char **argv)
{
	struct options opt = {0};
	size_t total = 0, passed = 0;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--checked")) {
			opt.checked = true;
		} else if (!strcmp(argv[i], "--jit")) {
			opt.jit = true;
		} else if (!strcmp(argv[i], "--verbose")) {
			opt.verbose = true;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (; i < argc; i++, total++)
		passed += run_file(argv[i], &opt);
	printf("conformance: %zu/%zu passed\n", passed, total);
	return passed == total ? 0 : 1;
}
