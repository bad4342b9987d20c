// SPDX-License-Identifier: MIT
/*
 * The helpers bpftime-vm offers to programs, with the kernel's ids and
 * semantics where a host process can have them:
 *
 *     5 bpf_ktime_get_ns          CLOCK_MONOTONIC, as the kernel's ktime
 *     6 bpf_trace_printk          to stdout, one line per call
 *     7 bpf_get_prandom_u32       xorshift64*, seeded per invocation
 *     8 bpf_get_smp_processor_id  sched_getcpu()
 *   181 bpf_loop                  the vm's own (bpftime_vm_helper_loop)
 *
 * In the bounds-checked mode, helpers that read program memory check it
 * with bpftime_vm_call__access_ok first, as the verifier would have made
 * sure of for the kernel's.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

/* BPF_TRACE_PRINTK_SIZE in kernel/trace/bpf_trace.c */
#define TRACE_BUF_SIZE 1024
/* MAX_TRACE_PRINTK_VARARGS */
#define TRACE_MAX_ARGS 3
/* below this, an address is a NULL dereference, never program memory */
#define LOW_ADDR 4096

static uint64_t helper_ktime_get_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				    const struct bpftime_vm_call *call)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t helper_get_prandom_u32(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				       uint64_t r5, const struct bpftime_vm_call *call)
{
	struct cli_env *env = bpftime_vm_call__cookie(call);
	uint64_t x;

	if (!env)
		return 0;
	/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's
	 * xorshift generators", 2016): the state never becomes 0 */
	x = env->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	env->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint64_t helper_get_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
					    uint64_t r5, const struct bpftime_vm_call *call)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (uint64_t)cpu;
}

/* The formatted line, truncated at TRACE_BUF_SIZE - 1 bytes as the kernel's. */
struct trace_out {
	char buf[TRACE_BUF_SIZE];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct trace_out *o, const char *fmt,
							     ...)
{
	size_t room = sizeof(o->buf) - o->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < room ? (size_t)n : room - 1;
}

static bool readable(const struct bpftime_vm_call *call, const struct cli_env *env, uint64_t addr,
		     uint64_t size)
{
	if (addr < LOW_ADDR)
		return false;
	return !env || !env->checked || bpftime_vm_call__access_ok(call, addr, size, false);
}

/* %s: copy the string at @addr; an unreadable one prints as "", as the
 * kernel's bpf_bprintf_prepare() does when its nofault copy fails. */
static void copy_str(const struct bpftime_vm_call *call, const struct cli_env *env, uint64_t addr,
		     char *dst, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++) {
		if (!readable(call, env, addr + i, 1)) {
			dst[0] = '\0';
			return;
		}
		dst[i] = *(const char *)(uintptr_t)(addr + i);
		if (!dst[i])
			return;
	}
	dst[size - 1] = '\0';
}

/* One conversion: %[flags][width][l|ll]conv. */
struct spec {
	char flags[8]; /* from "0+- " */
	unsigned width;
	int longs; /* how many 'l' */
	char conv;
};

/* Parse the conversion after a '%'; -EINVAL for those the kernel refuses. */
static int parse_spec(const char **p, struct spec *s)
{
	const char *c = *p;
	size_t nf = 0;

	memset(s, 0, sizeof(*s));
	while (*c && strchr("0+- ", *c) && nf + 1 < sizeof(s->flags))
		s->flags[nf++] = *c++;
	for (; *c >= '0' && *c <= '9'; c++) {
		s->width = s->width * 10 + (unsigned)(*c - '0');
		if (s->width >= TRACE_BUF_SIZE)
			return -EINVAL;
	}
	while (*c == 'l' && s->longs < 2) {
		s->longs++;
		c++;
	}
	if (!*c || !strchr("diuxspc", *c))
		return -EINVAL;
	/* the length modifiers apply to integers only */
	if (s->longs && !strchr("diux", *c))
		return -EINVAL;
	s->conv = *c;
	*p = c + 1;
	return 0;
}

static void format_int(struct trace_out *o, const struct spec *s, uint64_t arg)
{
	bool sgn = s->conv == 'd' || s->conv == 'i';
	char f[24];

	if (s->width)
		snprintf(f, sizeof(f), "%%%s%ull%c", s->flags, s->width, s->conv);
	else
		snprintf(f, sizeof(f), "%%%sll%c", s->flags, s->conv);
	/* without 'l', the kernel prints the low 32 bits, as the C promotions */
	if (!s->longs)
		arg = sgn ? (uint64_t)(int64_t)(int32_t)arg : (uint32_t)arg;
	if (sgn)
		out_printf(o, f, (long long)arg);
	else
		out_printf(o, f, (unsigned long long)arg);
}

static void format_one(struct trace_out *o, const struct spec *s, uint64_t arg,
		       const struct bpftime_vm_call *call, const struct cli_env *env)
{
	char text[TRACE_BUF_SIZE];

	switch (s->conv) {
	case 's':
		copy_str(call, env, arg, text, sizeof(text));
		break;
	case 'p':
		/* the raw value, as %px: there is no kernel address to hide */
		snprintf(text, sizeof(text), "0x%llx", (unsigned long long)arg);
		break;
	case 'c':
		text[0] = (char)arg;
		text[1] = '\0';
		break;
	default:
		format_int(o, s, arg);
		return;
	}
	out_printf(o, strchr(s->flags, '-') ? "%-*s" : "%*s", (int)s->width, text);
}

static int format(struct trace_out *o, const char *fmt, const uint64_t *args,
		  const struct bpftime_vm_call *call, const struct cli_env *env)
{
	int nr_args = 0;
	struct spec s;

	for (const char *p = fmt; *p;) {
		if (p[0] != '%' || p[1] == '%') {
			if (o->len + 1 < sizeof(o->buf))
				o->buf[o->len++] = *p;
			p += p[0] == '%' ? 2 : 1;
			continue;
		}
		p++;
		if (parse_spec(&p, &s))
			return -EINVAL;
		/* as bpf_trace_printk(): three arguments at most */
		if (nr_args == TRACE_MAX_ARGS)
			return -EINVAL;
		format_one(o, &s, args[nr_args++], call, env);
	}
	return 0;
}

/* bpf_trace_printk(fmt, fmt_size, ...): the number of bytes written. */
static uint64_t helper_trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2,
				    uint64_t a3, const struct bpftime_vm_call *call)
{
	const struct cli_env *env = bpftime_vm_call__cookie(call);
	const uint64_t args[TRACE_MAX_ARGS] = {a1, a2, a3};
	struct trace_out o;
	int err;

	/* fmt_size is a u32 (ARG_CONST_SIZE); the format is program memory,
	 * NUL-terminated within it, as bpf_bprintf_prepare() requires */
	fmt_size = (uint32_t)fmt_size;
	if (!fmt_size || !readable(call, env, fmt, fmt_size) ||
	    !memchr((const void *)(uintptr_t)fmt, 0, fmt_size))
		return (uint64_t)-EINVAL;
	o.len = 0;
	err = format(&o, (const char *)(uintptr_t)fmt, args, call, env);
	if (err)
		return (uint64_t)(int64_t)err;
	fwrite(o.buf, 1, o.len, stdout);
	/* trace_pipe shows every call as a line of its own */
	if (!o.len || o.buf[o.len - 1] != '\n')
		fputc('\n', stdout);
	return o.len;
}

void cli_env_init(struct cli_env *env, bool checked)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	env->checked = checked;
	env->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	if (!env->rng)
		env->rng = 0x9E3779B97F4A7C15ull;
}

int cli_register_helpers(struct bpftime_vm *vm)
{
	static const struct {
		uint32_t id;
		const char *name;
		bpftime_vm_helper_fn fn;
	} helpers[] = {
	    {BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns", helper_ktime_get_ns},
	    {BPF_FUNC_trace_printk, "bpf_trace_printk", helper_trace_printk},
	    {BPF_FUNC_get_prandom_u32, "bpf_get_prandom_u32", helper_get_prandom_u32},
	    {BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id",
	     helper_get_smp_processor_id},
	    {BPF_FUNC_loop, "bpf_loop", bpftime_vm_helper_loop},
	};
	int err;

	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		err =
		    bpftime_vm__register_helper(vm, helpers[i].id, helpers[i].name, helpers[i].fn);
		if (err)
			return err;
	}
	return 0;
}
