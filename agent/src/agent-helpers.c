// SPDX-License-Identifier: MIT
/*
 * Helpers for programs run inside a target, on a uprobe hit: "current" is
 * the hooked thread, the cookie of the run is its struct agent_run. The set
 * of ids is bpf-emul's (emul-helpers.c: what BPF_PROG_LOAD accepted), with
 * the kernel's semantics for a program in a uprobe.
 *
 * Freestanding: no libc, no TLS, no allocation; raw system calls only.
 * Nothing here may fault the target: every address a program hands over
 * for reading (bpf_probe_read_user() and the like, %s of
 * bpf_trace_printk(), frame pointers of a stack walk) is read with
 * process_vm_readv() on ourselves, which answers -EFAULT instead of a
 * SIGSEGV. Destination buffers are the program's own verified memory
 * (stack, map values) and are written directly.
 *
 * Kernel memory does not exist here: bpf_probe_read_kernel() fails as on a
 * bad kernel address, but for the range a run registers as kernel memory
 * (agent_run.kmem: a syscall kprobe's image of the user pt_regs,
 * agent-sc.c) and the images of "current" (agent-task.c):
 * bpf_get_current_task() gives the address of this thread's task_struct
 * image, laid out at the host's BTF offsets. bpf_get_current_task_btf()
 * is not provided (bpf-emul refuses it at load).
 */
#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "agent-internal.h"
#include "agent-run.h"
#include "agent-runtime.h"
#include "agent-sys.h"
#include "agent-cgroup.h"
#include "agent-task.h"

/* every helper has the five registers; most use fewer */
#define U __attribute__((unused))
#define HELPER(name)                                                                               \
	static uint64_t name(U uint64_t r1, U uint64_t r2, U uint64_t r3, U uint64_t r4,           \
			     U uint64_t r5, U const struct bpftime_vm_call *call)
#define RUN(call) ((struct agent_run *)bpftime_vm_call__cookie(call))
#define MAP(r)    ((struct bpftime_map *)(uintptr_t)(r))
#define PTR(r)    ((void *)(uintptr_t)(r))
#define ERR(e)    ((uint64_t)(int64_t)(e))

#define PAGE_SZ        4096u
#define MAX_STACK      127                   /* kernel.perf_event_max_stack's default */
#define TASK_SIZE_MAX  0x00007ffffffff000ull /* x86-64's TASK_SIZE: user addresses below */
#define PRINTK_BUF     512                   /* MAX_BPRINTF_BUF */
#define PRINTK_MAXARGS 3                     /* MAX_TRACE_PRINTK_VARARGS */

/* ---- "current" ---- */

static uint32_t run_pid(struct agent_run *r)
{
	if (!r->pid)
		r->pid = r->flags & AGENT_RUN_PID_CACHED ? agent_pid() : (uint32_t)agent_getpid();
	return r->pid;
}

static uint32_t run_tid(struct agent_run *r)
{
	if (!r->tid)
		r->tid = (uint32_t)agent_sys_gettid();
	return r->tid;
}

/* 0, or -EFAULT when any byte of [src, src + len) cannot be read */
static int read_self(struct agent_run *r, void *dst, uint64_t src, uint64_t len)
{
	struct agent_iovec l = {dst, len}, rem = {PTR(src), len};

	if (!len)
		return 0;
	return agent_process_vm_readv((int)run_pid(r), &l, 1, &rem, 1) == (long)len ? 0 : -EFAULT;
}

/* ---- maps ---- */

HELPER(map_lookup_elem)
{
	return (uint64_t)(uintptr_t)bpftime_map__prog_lookup(MAP(r1), PTR(r2), RUN(call)->cpu);
}

HELPER(map_update_elem)
{
	return ERR(bpftime_map__prog_update(MAP(r1), PTR(r2), PTR(r3), r4, RUN(call)->cpu));
}

HELPER(map_delete_elem)
{
	return ERR(bpftime_map__prog_delete(MAP(r1), PTR(r2), RUN(call)->cpu));
}

HELPER(map_push_elem)
{
	return ERR(bpftime_map__prog_push(MAP(r1), PTR(r2), r3));
}

HELPER(map_pop_elem)
{
	return ERR(bpftime_map__prog_pop(MAP(r1), PTR(r2)));
}

HELPER(map_peek_elem)
{
	return ERR(bpftime_map__prog_peek(MAP(r1), PTR(r2)));
}

/* ---- memory ---- */

/* bpf_probe_read_user(): 0, or -EFAULT with @dst zeroed (a kernel
 * address too: process_vm_readv refuses it) */
HELPER(probe_read_user)
{
	if (read_self(RUN(call), PTR(r1), r3, (uint32_t)r2)) {
		memset(PTR(r1), 0, (uint32_t)r2);
		return ERR(-EFAULT);
	}
	return 0;
}

/* Is [src, src + len) inside the run's fake kernel memory? */
static bool in_kmem(const struct agent_run *r, uint64_t src, uint64_t len)
{
	uint64_t lo = (uint64_t)(uintptr_t)r->kmem;

	return r->kmem && src >= lo && len <= r->kmem_len && src - lo <= r->kmem_len - len;
}

/* Our memory behind fake kernel address @src, readable for *@avail bytes
 * from there (at most up to the end of one range): the run's kmem, else
 * an image of "current" (filled first where [src, src + len) reaches
 * fields read lazily). NULL: not kernel memory we have. */
static const void *kmem_span(struct agent_run *r, uint64_t src, uint32_t len, uint32_t *avail)
{
	uint64_t lo = (uint64_t)(uintptr_t)r->kmem;

	if (in_kmem(r, src, 1)) {
		*avail = (uint32_t)(r->kmem_len - (src - lo));
		return PTR(src);
	}
	return agent_task_span(src, len, run_tid(r), avail);
}

/* the run's fake kernel memory; anything else as a bad kernel address:
 * -EFAULT with @dst zeroed */
HELPER(probe_read_kernel)
{
	uint32_t len = (uint32_t)r2, avail;
	const void *src = kmem_span(RUN(call), r3, len, &avail);

	if (src && avail >= len) {
		memcpy(PTR(r1), src, len);
		return 0;
	}
	memset(PTR(r1), 0, len);
	return ERR(-EFAULT);
}

/* bpf_probe_read() (the compat helper): on x86 a user address is read as
 * user memory, anything above TASK_SIZE as kernel memory */
HELPER(probe_read_compat)
{
	if (r3 < TASK_SIZE_MAX)
		return probe_read_user(r1, r2, r3, r4, r5, call);
	return probe_read_kernel(r1, r2, r3, r4, r5, call);
}

/*
 * strncpy_from_user_nofault(): the length with the NUL; a string longer
 * than @size is cut to size - 1 characters and returns @size; -EFAULT
 * with @dst zeroed. Read page by page (a string may end just before an
 * unmapped page), through a bounce buffer: as the kernel, nothing past the
 * NUL is written to @dst (programs key maps with such buffers).
 */
static long read_user_str(struct agent_run *r, char *dst, uint32_t size, uint64_t src)
{
	char tmp[256];
	uint32_t got = 0;

	if (!size)
		return 0;
	while (got < size) {
		uint64_t a = src + got, chunk = PAGE_SZ - (a & (PAGE_SZ - 1));

		if (chunk > sizeof(tmp))
			chunk = sizeof(tmp);
		if (chunk > size - got)
			chunk = size - got;
		if (read_self(r, tmp, a, chunk)) {
			memset(dst, 0, size);
			return -EFAULT;
		}
		for (uint64_t i = 0; i < chunk; i++) {
			dst[got + i] = tmp[i];
			if (!tmp[i])
				return (long)(got + i + 1);
		}
		got += (uint32_t)chunk;
	}
	dst[size - 1] = 0;
	return size;
}

HELPER(probe_read_user_str)
{
	return ERR(read_user_str(RUN(call), PTR(r1), (uint32_t)r2, r3));
}

/* strncpy_from_kernel_nofault() on the run's fake kernel memory (see
 * read_user_str for the result); elsewhere -EFAULT with @dst zeroed */
HELPER(probe_read_kernel_str)
{
	char *dst = PTR(r1);
	uint32_t size = (uint32_t)r2, avail = 0;
	const char *src = size ? kmem_span(RUN(call), r3, size, &avail) : NULL;

	for (uint32_t i = 0; i < size && i < avail; i++) {
		dst[i] = src[i];
		if (!dst[i])
			return i + 1;
		if (i + 1 == size) {
			dst[i] = 0;
			return size;
		}
	}
	memset(dst, 0, size);
	return ERR(size ? -EFAULT : 0);
}

/* bpf_probe_read_str(): as bpf_probe_read() */
HELPER(probe_read_str_compat)
{
	if (r3 < TASK_SIZE_MAX)
		return probe_read_user_str(r1, r2, r3, r4, r5, call);
	return probe_read_kernel_str(r1, r2, r3, r4, r5, call);
}

/* ---- time, ids, randomness ---- */

/* A system call per read for now; the vDSO's clock_gettime (found through
 * AT_SYSINFO_EHDR) is the later optimisation. */
static uint64_t clock_ns(int clk)
{
	struct agent_timespec ts = {0, 0};

	agent_sys6(__NR_clock_gettime, clk, (long)&ts, 0, 0, 0, 0);
	return (uint64_t)ts.sec * 1000000000ull + (uint64_t)ts.nsec;
}

HELPER(ktime_get_ns)
{
	return clock_ns(CLOCK_MONOTONIC);
}

HELPER(ktime_get_boot_ns)
{
	return clock_ns(CLOCK_BOOTTIME);
}

HELPER(ktime_get_coarse_ns)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* ids as the target's pid namespace sees them (the kernel gives the
 * initial namespace's) */
HELPER(get_current_pid_tgid)
{
	struct agent_run *r = RUN(call);

	return (uint64_t)run_pid(r) << 32 | run_tid(r);
}

HELPER(get_current_uid_gid)
{
	return (uint64_t)agent_getgid() << 32 | agent_getuid();
}

/* bpf_get_current_comm(): strscpy_pad() of the thread's comm, which
 * prctl(PR_GET_NAME) gives in one call and without /proc */
HELPER(get_current_comm)
{
	char comm[16];
	char *dst = PTR(r1);
	uint32_t size = (uint32_t)r2, n = 0;

	memset(dst, 0, size);
	if (agent_get_comm(comm))
		return ERR(-EINVAL); /* the kernel's answer without a task */
	comm[15] = 0;
	while (size && n < size - 1 && comm[n]) {
		dst[n] = comm[n];
		n++;
	}
	return 0;
}

HELPER(get_smp_processor_id)
{
	return RUN(call)->cpu;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* getrandom() never blocks with GRND_NONBLOCK; before the pool is ready
 * (early boot) or where a seccomp filter refuses it, xorshift64 over the
 * TSC. The state is shared and updated without a lock: a lost update only
 * repeats a value, which nothing relies on. */
HELPER(get_prandom_u32)
{
	static uint64_t state;
	uint32_t v;
	uint64_t x;

	if (agent_getrandom(&v, sizeof(v), AGENT_GRND_NONBLOCK) == (long)sizeof(v))
		return v;
	x = __atomic_load_n(&state, __ATOMIC_RELAXED) ^ rdtsc();
	if (!x)
		x = 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	__atomic_store_n(&state, x, __ATOMIC_RELAXED);
	return (uint32_t)(x >> 32);
}

/* the address of this thread's task_struct image (agent-task.c): only
 * bpf_probe_read_kernel() and the compat reads see what is there */
HELPER(get_current_task)
{
	struct agent_run *r = RUN(call);

	return agent_task_current(run_tid(r), run_pid(r));
}

HELPER(get_current_cgroup_id)
{
	return agent_cgroup_id();
}

HELPER(current_task_under_cgroup)
{
	return 0; /* "not under it", as bpf-emul answers */
}

HELPER(get_func_ip)
{
	return RUN(call)->link->func_ip;
}

HELPER(get_attach_cookie)
{
	return RUN(call)->link->cookie;
}

/* bpf_override_return(): the hook returns @rc from the probed function */
HELPER(override_return)
{
	struct agent_run *r = RUN(call);

	r->override_rc = r2;
	r->override = true;
	return 0;
}

/*
 * bpf_send_signal() / bpf_send_signal_thread(): to the process or to the
 * hooked thread. valid_signal() allows 0 .. _NSIG (64); pid 1 is refused
 * as is_global_init() has it. The kernel delivers the signal on the way
 * back to user space, before the probed instruction; here the thread gets
 * it when kill/tgkill return, inside the hook.
 */
static uint64_t signal_current(struct agent_run *r, uint64_t sig, bool thread)
{
	if (sig > 64)
		return ERR(-EINVAL);
	if (run_pid(r) == 1)
		return ERR(-EPERM);
	if (thread)
		return ERR(agent_tgkill((int)run_pid(r), (int)run_tid(r), (int)sig));
	return ERR(agent_sys_kill((int)run_pid(r), (int)sig));
}

HELPER(send_signal)
{
	return signal_current(RUN(call), (uint32_t)r1, false);
}

HELPER(send_signal_thread)
{
	return signal_current(RUN(call), (uint32_t)r1, true);
}

/* ---- output ---- */

HELPER(perf_event_output)
{
	struct agent_run *r = RUN(call);

	return ERR(bpftime_map__perf_event_output(MAP(r2), r->cpu, r3, PTR(r4), r5, run_tid(r)));
}

HELPER(ringbuf_output)
{
	return ERR(bpftime_map__ringbuf_output(MAP(r1), PTR(r2), r3, r4, run_tid(RUN(call))));
}

HELPER(ringbuf_reserve)
{
	return (uint64_t)(uintptr_t)bpftime_map__ringbuf_reserve(MAP(r1), r2, r3,
								 run_tid(RUN(call)));
}

/* the kernel finds the ring from the record; we ask the program's rings
 * (a ring reached through a map of maps is not among them) */
static struct bpftime_map *ring_of(const struct bpftime_vm_call *call, void *sample)
{
	const struct agent_prog *p = RUN(call)->link->prog;

	for (uint32_t i = 0; i < p->nr_maps && i < AGENT_PROG_MAX_MAPS; i++) {
		struct bpftime_map *m = p->maps[i];

		if (m && bpftime_map__attr(m)->map_type == BPF_MAP_TYPE_RINGBUF &&
		    bpftime_map__ringbuf_owns(m, sample))
			return m;
	}
	return NULL;
}

HELPER(ringbuf_submit)
{
	struct bpftime_map *m = ring_of(call, PTR(r1));

	if (m)
		bpftime_map__ringbuf_submit(m, PTR(r1), r2);
	return 0;
}

HELPER(ringbuf_discard)
{
	struct bpftime_map *m = ring_of(call, PTR(r1));

	if (m)
		bpftime_map__ringbuf_discard(m, PTR(r1), r2);
	return 0;
}

HELPER(ringbuf_query)
{
	return bpftime_map__ringbuf_query(MAP(r1), r2);
}

/* ---- stacks ---- */

/*
 * perf_callchain_user() on x86-64: the ip, then (at a function's entry,
 * where %rbp is still the caller's: the kernel's is_uprobe_at_func_entry())
 * the return address at *%rsp, then the return address of each frame of
 * the %rbp chain. Stops at a frame that cannot be read, and at a frame
 * pointer that is zero, misaligned or not above the previous one (the
 * kernel walks on until the depth; those frames are garbage anyway).
 * @return the number of ips, at most @max.
 */
static uint32_t user_stack(struct agent_run *r, uint64_t *ips, uint32_t max)
{
	const struct bpftime_regs *regs = r->regs;
	uint64_t fp, frame[2], ret;
	uint32_t n = 0;

	if (!max || !regs)
		return 0;
	ips[n++] = regs->ip;
	if (n < max && r->link->func_entry && !read_self(r, &ret, regs->sp, sizeof(ret)))
		ips[n++] = ret;
	fp = regs->bp;
	while (n < max) {
		if (!fp || (fp & 7) || read_self(r, frame, fp, sizeof(frame)))
			break;
		ips[n++] = frame[1];
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
	return n;
}

/*
 * bpf_get_stack(ctx, buf, size, flags), as __bpf_get_stack(): the kernel
 * stack of a uprobe hit is empty (its regs are user regs), so without
 * BPF_F_USER_STACK it gives 0 (-EFAULT with a skip). BPF_F_USER_BUILD_ID
 * fills struct bpf_stack_build_id entries as BPF_STACK_BUILD_ID_IP (what
 * the kernel stores when it cannot read a build id). @return the bytes
 * written, the rest of @buf zeroed; -EINVAL or -EFAULT with @buf zeroed.
 */
HELPER(get_stack)
{
	const uint64_t known = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID;
	uint8_t *buf = PTR(r2);
	uint32_t size = (uint32_t)r3, skip = (uint32_t)(r4 & BPF_F_SKIP_FIELD_MASK);
	bool user = r4 & BPF_F_USER_STACK, build_id = r4 & BPF_F_USER_BUILD_ID;
	uint32_t elem = build_id ? sizeof(struct bpf_stack_build_id) : sizeof(uint64_t);
	uint64_t ips[MAX_STACK];
	uint32_t num, depth, nr, copy;
	long err = -EINVAL;

	if ((r4 & ~known) || (build_id && !user) || size % elem)
		goto clear;
	num = size / elem;
	depth = num + skip < MAX_STACK ? num + skip : MAX_STACK;
	nr = user ? user_stack(RUN(call), ips, depth) : 0;
	if (nr < skip) {
		err = -EFAULT;
		goto clear;
	}
	nr -= skip;
	if (nr > num)
		nr = num;
	copy = nr * elem;
	if (build_id) {
		struct bpf_stack_build_id *id = (struct bpf_stack_build_id *)buf;

		memset(buf, 0, copy);
		for (uint32_t i = 0; i < nr; i++) {
			id[i].status = BPF_STACK_BUILD_ID_IP;
			id[i].ip = ips[skip + i];
		}
	} else {
		memcpy(buf, ips + skip, copy);
	}
	memset(buf + copy, 0, size - copy);
	return copy;
clear:
	memset(buf, 0, size);
	return ERR(err);
}

/* bpf_get_stackid(ctx, map, flags): the map checks the flags, caps the
 * depth and skips; an empty (kernel) stack is -EFAULT there */
HELPER(get_stackid)
{
	struct bpftime_map *m = MAP(r2);
	const struct bpftime_map_attr *a = bpftime_map__attr(m);
	uint64_t ips[MAX_STACK];
	uint32_t unit = (a->map_flags & BPF_F_STACK_BUILD_ID) ? sizeof(struct bpf_stack_build_id)
							      : sizeof(uint64_t);
	uint32_t depth = a->value_size / unit + (uint32_t)(r3 & BPF_F_SKIP_FIELD_MASK);
	uint32_t nr = 0;

	if (depth > MAX_STACK)
		depth = MAX_STACK;
	if (r3 & BPF_F_USER_STACK)
		nr = user_stack(RUN(call), ips, depth);
	return ERR(bpftime_map__stackid(m, ips, nr, r3));
}

/* ---- bpf_trace_printk: to <session>/trace_pipe ---- */

/* a bounded output: what does not fit is dropped, the NUL always fits */
struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->p[o->len++] = c;
}

static void put_n(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
}

static void put_pad(struct out *o, char c, long n)
{
	while (n-- > 0)
		put(o, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

/* a string in a field of @width (flags: only '-') */
static void put_field(struct out *o, const char *s, size_t n, unsigned flags, int width)
{
	if (!(flags & F_LEFT))
		put_pad(o, ' ', (long)width - (long)n);
	put_n(o, s, n);
	if (flags & F_LEFT)
		put_pad(o, ' ', (long)width - (long)n);
}

/* the kernel's number(): sign, 0x prefix ('#'), zero or space padding */
static void put_num(struct out *o, uint64_t v, bool is_signed, unsigned base, bool upper,
		    unsigned flags, int width)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char d[24], sign = 0;
	int n = 0, len;

	if (is_signed) {
		if ((int64_t)v < 0) {
			sign = '-';
			v = -v;
		} else if (flags & F_PLUS) {
			sign = '+';
		} else if (flags & F_SPACE) {
			sign = ' ';
		}
	}
	do {
		d[n++] = dig[v % base];
		v /= base;
	} while (v);
	len = n + (sign != 0) + ((flags & F_ALT) && base == 16 ? 2 : 0);
	if (!(flags & (F_LEFT | F_ZERO)))
		put_pad(o, ' ', width - len);
	if (sign)
		put(o, sign);
	if ((flags & F_ALT) && base == 16) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if ((flags & (F_LEFT | F_ZERO)) == F_ZERO)
		put_pad(o, '0', width - len);
	while (n)
		put(o, d[--n]);
	if (flags & F_LEFT)
		put_pad(o, ' ', width - len);
}

static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ispunct(): printable, neither a letter, a digit nor a space */
static bool is_punct(char c)
{
	return c > ' ' && c < 0x7f && !is_alnum(c);
}

/* what may follow %s and a bare %p: the end, a space or a punctuation mark */
static bool ends_conv(char c)
{
	return !c || is_space(c) || is_punct(c);
}

/* %pI4 %pi4 %pI6 %pi6 of the 4 or 16 bytes at @addr (zeros if unreadable) */
static void put_ip(struct agent_run *r, struct out *o, uint64_t addr, bool v6, bool dotted)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t ip[16];
	uint32_t n = v6 ? 16 : 4;

	if (read_self(r, ip, addr, n))
		memset(ip, 0, n);
	for (uint32_t i = 0; i < n; i++) {
		if (!v6) {
			if (i)
				put(o, '.');
			put_num(o, ip[i], false, 10, false, dotted ? 0 : F_ZERO, dotted ? 0 : 3);
			continue;
		}
		if (dotted && i && !(i & 1))
			put(o, ':'); /* %pI6: eight groups of 4 digits */
		put(o, hex[ip[i] >> 4]);
		put(o, hex[ip[i] & 15]);
	}
}

/*
 * bpf_bprintf_prepare()'s format: %[-+ 0#]*[1-9][0-9]*, then c, s, d i u x
 * X with l or ll (without, the argument is 32 bits), or p with K x s S B,
 * ks us (strings), i4 I4 i6 I6 (addresses); %% ; at most 3 arguments; only
 * printable ASCII and spaces. '#' is ours (the kernel refuses it).
 * %p prints 0x<hex> (the kernel hashes it), %px 16 hex digits, %s and %pus
 * read as bpf_probe_read_user_str() (empty when unreadable, as there),
 * %pks is always empty (no kernel memory). @return the length, or -EINVAL.
 */
static long printk_format(struct agent_run *r, struct out *o, const char *fmt, size_t len,
			  const uint64_t args[PRINTK_MAXARGS])
{
	unsigned used = 0;

	for (size_t i = 0; i < len; i++) {
		char tmp[PRINTK_BUF], c = fmt[i];
		struct out t = {tmp, 0, sizeof(tmp)};
		unsigned flags = 0, base = 10;
		bool is_long = false, is_signed = false;
		int width = 0;
		uint64_t arg;

		if ((unsigned char)c >= 0x7f || (c < ' ' && !is_space(c)))
			return -EINVAL;
		if (c != '%') {
			put(o, c);
			continue;
		}
		if (fmt[i + 1] == '%') {
			put(o, '%');
			i++;
			continue;
		}
		if (used == PRINTK_MAXARGS)
			return -EINVAL;
		arg = args[used++];
		for (i++;; i++) {
			if (fmt[i] == '-')
				flags |= F_LEFT;
			else if (fmt[i] == '0')
				flags |= F_ZERO;
			else if (fmt[i] == '+')
				flags |= F_PLUS;
			else if (fmt[i] == ' ')
				flags |= F_SPACE;
			else if (fmt[i] == '#')
				flags |= F_ALT;
			else
				break;
		}
		while (fmt[i] >= '0' && fmt[i] <= '9') {
			if (width < PRINTK_BUF)
				width = width * 10 + (fmt[i] - '0');
			i++;
		}
		switch (fmt[i]) {
		case 'c':
			c = (char)arg;
			put_field(o, &c, 1, flags, width);
			continue;
		case 's':
			if (!ends_conv(fmt[i + 1]))
				return -EINVAL;
			goto user_str;
		case 'p':
			if ((fmt[i + 1] == 'k' || fmt[i + 1] == 'u') && fmt[i + 2] == 's') {
				i += 2;
				if (!ends_conv(fmt[i + 1]))
					return -EINVAL;
				if (fmt[i - 1] == 'u')
					goto user_str;
				/* no kernel strings: as a failed read */
				put_field(o, "", 0, flags, width);
				continue;
			}
			if (fmt[i + 1] == 'x') {
				i++;
				put_num(&t, arg, false, 16, false, F_ZERO, 16);
			} else if (ends_conv(fmt[i + 1]) || fmt[i + 1] == 'K' ||
				   fmt[i + 1] == 's' || fmt[i + 1] == 'S' || fmt[i + 1] == 'B') {
				if (!ends_conv(fmt[i + 1]))
					i++;
				put_num(&t, arg, false, 16, false, F_ALT, 0);
			} else if ((fmt[i + 1] == 'i' || fmt[i + 1] == 'I') &&
				   (fmt[i + 2] == '4' || fmt[i + 2] == '6')) {
				put_ip(r, &t, arg, fmt[i + 2] == '6', fmt[i + 1] == 'I');
				i += 2;
			} else {
				return -EINVAL;
			}
			put_field(o, tmp, t.len, flags, width);
			continue;
		default:
			break;
		}
		if (fmt[i] == 'l') {
			is_long = true;
			i++;
		}
		if (fmt[i] == 'l')
			i++;
		switch (fmt[i]) {
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'x':
		case 'X':
			base = 16;
			break;
		default:
			return -EINVAL;
		}
		if (!is_long)
			arg = is_signed ? (uint64_t)(int64_t)(int32_t)arg : (uint32_t)arg;
		put_num(o, arg, is_signed, base, fmt[i] == 'X', flags, width);
		continue;
	user_str:
		if (read_user_str(r, tmp, sizeof(tmp), arg) < 0)
			tmp[0] = 0;
		put_field(o, tmp, agent_strlen(tmp), flags, width);
	}
	o->p[o->len] = 0;
	return (long)o->len;
}

/*
 * A line as the kernel's trace_pipe has it (trace_print_context(), then
 * the event):
 *   "            bash-1234    [001] .....  1234.567890: bpf_trace_printk: hi"
 * comm right-aligned in 16, tid left-aligned in 7, the CPU slot, the
 * irq/preempt flags (none known: dots), seconds.microseconds of
 * CLOCK_MONOTONIC (the trace clock's base). One newline at the end: the
 * text's own, or ours when it has none (tools read the pipe by lines).
 */
static void printk_emit(struct agent_run *r, const char *text, size_t n)
{
	const char *dir = agent_session_dir();
	char comm[16], path[1024], line[PRINTK_BUF + 128];
	struct out l = {line, 0, sizeof(line)};
	uint64_t ns = clock_ns(CLOCK_MONOTONIC);
	struct agent_buf p;
	int fd;

	if (!dir)
		return;
	agent_buf_init(&p, path, sizeof(path));
	agent_buf_str(&p, dir);
	agent_buf_str(&p, "/trace_pipe");
	if (p.overflow)
		return;
	if (agent_get_comm(comm))
		comm[0] = 0;
	comm[15] = 0;
	if (!comm[0])
		memcpy(comm, "<...>", 6);
	put_field(&l, comm, agent_strlen(comm), 0, 16);
	put(&l, '-');
	put_num(&l, run_tid(r), false, 10, false, F_LEFT, 7);
	put_n(&l, " [", 2);
	put_num(&l, r->cpu, false, 10, false, F_ZERO, 3);
	put_n(&l, "] ..... ", 8);
	put_num(&l, ns / 1000000000u, false, 10, false, 0, 5);
	put(&l, '.');
	put_num(&l, ns % 1000000000u / 1000u, false, 10, false, F_ZERO, 6);
	put_n(&l, ": bpf_trace_printk: ", 20);
	put_n(&l, text, n);
	/* room for the newline is kept: cap leaves one byte (the NUL's) */
	if (!l.len || line[l.len - 1] != '\n')
		line[l.len++] = '\n';
	/* O_NONBLOCK: never wait on a FIFO without a reader */
	fd = agent_openat(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			  0600);
	if (fd < 0)
		return;
	agent_write(fd, line, l.len);
	agent_close(fd);
}

/* bpf_trace_printk(fmt, fmt_size, a1, a2, a3): the format must hold a NUL
 * within fmt_size. @return the length of the text, or -EINVAL */
HELPER(trace_printk)
{
	struct agent_run *r = RUN(call);
	const uint64_t args[PRINTK_MAXARGS] = {r3, r4, r5};
	char fmt[PRINTK_BUF], text[PRINTK_BUF];
	struct out o = {text, 0, sizeof(text)};
	uint32_t size = (uint32_t)r2 < PRINTK_BUF ? (uint32_t)r2 : PRINTK_BUF;
	size_t len = 0;
	long n;

	/* the format's NUL must be in its first 512 bytes (ours; the kernel
	 * has no limit, its output has this one) */
	if (!size || read_self(r, fmt, r1, size))
		return ERR(-EINVAL);
	while (len < size && fmt[len])
		len++;
	if (len == size)
		return ERR(-EINVAL);
	n = printk_format(r, &o, fmt, len, args);
	if (n < 0)
		return ERR(n);
	printk_emit(r, text, (size_t)n);
	return (uint64_t)n;
}

/* ---- the table ---- */

struct helper {
	uint32_t id;
	const char *name;
	bpftime_vm_helper_fn fn;
};

#define H(id, fn)                                                                                  \
	{                                                                                          \
		id, #fn, fn                                                                        \
	}

/* bpf-emul's set (emul-helpers.c: what loads), and the uprobe extras */
static const struct helper helpers[] = {
    H(BPF_FUNC_map_lookup_elem, map_lookup_elem),
    H(BPF_FUNC_map_update_elem, map_update_elem),
    H(BPF_FUNC_map_delete_elem, map_delete_elem),
    H(BPF_FUNC_probe_read, probe_read_compat),
    H(BPF_FUNC_ktime_get_ns, ktime_get_ns),
    H(BPF_FUNC_trace_printk, trace_printk),
    H(BPF_FUNC_get_prandom_u32, get_prandom_u32),
    H(BPF_FUNC_get_smp_processor_id, get_smp_processor_id),
    H(BPF_FUNC_get_current_pid_tgid, get_current_pid_tgid),
    H(BPF_FUNC_get_current_uid_gid, get_current_uid_gid),
    H(BPF_FUNC_get_current_comm, get_current_comm),
    H(BPF_FUNC_perf_event_output, perf_event_output),
    H(BPF_FUNC_get_stackid, get_stackid),
    H(BPF_FUNC_get_current_task, get_current_task),
    H(BPF_FUNC_current_task_under_cgroup, current_task_under_cgroup),
    H(BPF_FUNC_get_current_cgroup_id, get_current_cgroup_id),
    H(BPF_FUNC_probe_read_str, probe_read_str_compat),
    H(BPF_FUNC_override_return, override_return),
    H(BPF_FUNC_get_stack, get_stack),
    H(BPF_FUNC_map_push_elem, map_push_elem),
    H(BPF_FUNC_map_pop_elem, map_pop_elem),
    H(BPF_FUNC_map_peek_elem, map_peek_elem),
    H(BPF_FUNC_send_signal, send_signal),
    H(BPF_FUNC_probe_read_user, probe_read_user),
    H(BPF_FUNC_probe_read_kernel, probe_read_kernel),
    H(BPF_FUNC_probe_read_user_str, probe_read_user_str),
    H(BPF_FUNC_probe_read_kernel_str, probe_read_kernel_str),
    H(BPF_FUNC_send_signal_thread, send_signal_thread),
    H(BPF_FUNC_ktime_get_boot_ns, ktime_get_boot_ns),
    H(BPF_FUNC_ringbuf_output, ringbuf_output),
    H(BPF_FUNC_ringbuf_reserve, ringbuf_reserve),
    H(BPF_FUNC_ringbuf_submit, ringbuf_submit),
    H(BPF_FUNC_ringbuf_discard, ringbuf_discard),
    H(BPF_FUNC_ringbuf_query, ringbuf_query),
    H(BPF_FUNC_get_func_ip, get_func_ip),
    H(BPF_FUNC_get_attach_cookie, get_attach_cookie),
    H(BPF_FUNC_ktime_get_coarse_ns, ktime_get_coarse_ns),
    {BPF_FUNC_loop, "loop", bpftime_vm_helper_loop},
};

int agent_helpers_register(struct bpftime_vm *vm)
{
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		int err =
		    bpftime_vm__register_helper(vm, helpers[i].id, helpers[i].name, helpers[i].fn);

		if (err)
			return err;
	}
	return 0;
}

/* bpf_tail_call(ctx, map, index): the program in slot @index (a u32, as
 * the kernel reads r3) of PROG_ARRAY @map, if this process loaded it;
 * NULL falls through, as an empty slot does */
const struct bpftime_vm *agent_helpers_tail_call(void *host, uint64_t map, uint64_t index)
{
	const struct agent_prog *p;
	uint32_t id;

	(void)host;
	if (!map)
		return NULL;
	id = bpftime_map__prog_array_get(MAP(map), (uint32_t)index);
	if (!id)
		return NULL;
	p = agent_prog_find(id);
	return p ? p->vm : NULL;
}
