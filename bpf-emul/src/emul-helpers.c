// SPDX-License-Identifier: MIT
/*
 * Helpers for programs run in the supervisor (BPF_PROG_TEST_RUN: bpftrace's
 * BEGIN and END, tests of tools), and the prototypes the load checks use
 * (emul-prog-check.c). The set is also what BPF_PROG_LOAD accepts: a
 * program calling a helper that is not here fails to load with the
 * verifier's "invalid func", which is what feature probes look for.
 *
 * Run in the supervisor, "current" is the supervisor: user memory is our
 * own (read with process_vm_readv on ourselves, so a bad pointer gives
 * -EFAULT instead of a crash), kernel memory does not exist (-EFAULT, the
 * destination zeroed, as bpf_probe_read_kernel() on a bad address), the
 * pid, uid and comm are the caller's (the task that called bpf(2), as
 * the kernel's test run runs in the caller's context), and there is no
 * stack to walk. The agent has its own helpers for programs in targets.
 *
 * Programs run on a CPU clock tick (emul-timer.c) have no caller: they run
 * as the idle task of the event's CPU, as a tick on an idle CPU does on the
 * kernel (pid and tid 0, uid and gid 0: init_cred, comm "swapper/N"; the
 * idle task has no mm, so reads of user memory fail with -EFAULT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "emul-internal.h"
#include "emul-tracepipe.h"

/* every helper has the five registers; most use fewer */
#define U __attribute__((unused))
#define HELPER(name)                                                                               \
	static uint64_t name(U uint64_t r1, U uint64_t r2, U uint64_t r3, U uint64_t r4,           \
			     U uint64_t r5, U const struct bpftime_vm_call *call)
#define RUN(call) ((struct emul_run_ctx *)bpftime_vm_call__cookie(call))
#define MAP(r)    ((struct bpftime_map *)(uintptr_t)(r))
#define PTR(r)    ((void *)(uintptr_t)(r))

/* ---- maps ---- */

HELPER(map_lookup_elem)
{
	return (uint64_t)(uintptr_t)bpftime_map__prog_lookup(MAP(r1), PTR(r2), RUN(call)->cpu);
}

HELPER(map_update_elem)
{
	return bpftime_map__prog_update(MAP(r1), PTR(r2), PTR(r3), r4, RUN(call)->cpu);
}

HELPER(map_delete_elem)
{
	return bpftime_map__prog_delete(MAP(r1), PTR(r2), RUN(call)->cpu);
}

HELPER(map_push_elem)
{
	return bpftime_map__prog_push(MAP(r1), PTR(r2), r3);
}

HELPER(map_pop_elem)
{
	return bpftime_map__prog_pop(MAP(r1), PTR(r2));
}

HELPER(map_peek_elem)
{
	return bpftime_map__prog_peek(MAP(r1), PTR(r2));
}

/* ---- memory ---- */

static int read_self(void *dst, uint64_t src, size_t len)
{
	struct iovec l = {dst, len}, r = {PTR(src), len};

	if (!len)
		return 0;
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/* A run for the idle task (a timer tick): no user memory to read. */
static bool idle(const struct bpftime_vm_call *call)
{
	return call && !RUN(call)->c;
}

/* bpf_probe_read_user(): 0, or -EFAULT with @dst zeroed */
HELPER(probe_read_user)
{
	if (idle(call) || read_self(PTR(r1), r3, r2)) {
		memset(PTR(r1), 0, r2);
		return (uint64_t)-EFAULT;
	}
	return 0;
}

/* no kernel memory in user space: as a read of a bad kernel address */
HELPER(probe_read_kernel)
{
	memset(PTR(r1), 0, r2);
	return (uint64_t)-EFAULT;
}

/* strncpy_from_user_nofault(): the length with the NUL; a string longer
 * than @size is cut to size - 1 characters and returns @size */
HELPER(probe_read_user_str)
{
	char *dst = PTR(r1);
	uint64_t got = 0;

	if (!r2)
		return 0;
	if (idle(call)) {
		memset(dst, 0, r2);
		return (uint64_t)-EFAULT;
	}
	while (got < r2) {
		uint64_t a = r3 + got, chunk = 4096 - (a & 4095);

		if (chunk > r2 - got)
			chunk = r2 - got;
		if (read_self(dst + got, a, chunk)) {
			memset(dst, 0, r2);
			return (uint64_t)-EFAULT;
		}
		for (uint64_t i = 0; i < chunk; i++)
			if (!dst[got + i])
				return got + i + 1;
		got += chunk;
	}
	dst[r2 - 1] = 0;
	return r2;
}

HELPER(probe_read_kernel_str)
{
	memset(PTR(r1), 0, r2);
	return (uint64_t)-EFAULT;
}

/* ---- time, ids, randomness ---- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

HELPER(get_current_pid_tgid)
{
	struct bpftime_caller *c = RUN(call)->c;

	if (!c)
		return 0; /* the idle task */
	return (uint64_t)(uint32_t)c->pid << 32 | (uint32_t)c->tid;
}

HELPER(get_current_cgroup_id)
{
	struct bpftime_caller *c = RUN(call)->c;

	return emul_cgroup_id(c ? c->pid : 0);
}

/* the gid is not in struct bpftime_caller: /proc/<tid> belongs to the
 * task's effective ids, the closest we have without parsing status */
HELPER(get_current_uid_gid)
{
	struct bpftime_caller *c = RUN(call)->c;
	char path[32];
	struct stat st;
	uint32_t gid = 0;

	if (!c)
		return 0; /* the idle task: init_cred */
	snprintf(path, sizeof(path), "/proc/%d", (int)c->tid);
	if (!stat(path, &st))
		gid = st.st_gid;
	return (uint64_t)gid << 32 | (uint32_t)c->uid;
}

/* bpf_get_current_comm(): strscpy_pad() of the task's comm */
HELPER(get_current_comm)
{
	struct bpftime_caller *c = RUN(call)->c;
	char path[40], comm[16] = "";
	FILE *f = NULL;

	if (c) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)c->pid, (int)c->tid);
		f = fopen(path, "re");
	} else {
		/* init_idle(): the idle task of CPU N is "swapper/N" */
		snprintf(comm, sizeof(comm), "swapper/%u", RUN(call)->cpu);
	}
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	memset(PTR(r1), 0, r2);
	if (r2)
		memcpy(PTR(r1), comm, strlen(comm) < r2 - 1 ? strlen(comm) : r2 - 1);
	return 0;
}

HELPER(get_smp_processor_id)
{
	return RUN(call)->cpu;
}

HELPER(get_prandom_u32)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)clock_ns(CLOCK_MONOTONIC) * 2654435761u;
	return v;
}

HELPER(get_current_task)
{
	return 0; /* no task_struct in user space; reads of it fail */
}

HELPER(current_task_under_cgroup)
{
	return 0; /* "not under it": no cgroup is ever stored in user space */
}

/* ---- output ---- */

HELPER(perf_event_output)
{
	return bpftime_map__perf_event_output(MAP(r2), RUN(call)->cpu, r3, PTR(r4), r5, gettid());
}

HELPER(ringbuf_output)
{
	return bpftime_map__ringbuf_output(MAP(r1), PTR(r2), r3, r4, gettid());
}

HELPER(ringbuf_reserve)
{
	return (uint64_t)(uintptr_t)bpftime_map__ringbuf_reserve(MAP(r1), r2, r3, gettid());
}

/* the kernel finds the ring from the record; we ask the program's rings */
static struct bpftime_map *ring_of(const struct bpftime_vm_call *call, void *sample)
{
	struct emul_prog *p = &RUN(call)->prog->prog;

	for (uint32_t i = 0; i < p->nr_maps; i++) {
		struct bpftime_map *m = p->maps[i]->map.m;

		if (bpftime_map__attr(m)->map_type == BPF_MAP_TYPE_RINGBUF &&
		    bpftime_map__ringbuf_owns(m, sample))
			return m;
	}
	return NULL;
}

HELPER(ringbuf_submit)
{
	struct bpftime_map *m = ring_of(call, PTR(r1));

	return m ? bpftime_map__ringbuf_submit(m, PTR(r1), r2) : 0;
}

HELPER(ringbuf_discard)
{
	struct bpftime_map *m = ring_of(call, PTR(r1));

	return m ? bpftime_map__ringbuf_discard(m, PTR(r1), r2) : 0;
}

HELPER(ringbuf_query)
{
	return bpftime_map__ringbuf_query(MAP(r1), r2);
}

/* no stack in the supervisor: the kernel's answer for an empty one */
HELPER(get_stackid)
{
	return (uint64_t)-EFAULT;
}

HELPER(get_stack)
{
	memset(PTR(r2), 0, r3);
	return (uint64_t)-EFAULT;
}

/* ---- tracing: probe context and signals ---- */

/* bpf_override_return(): only kprobes may call it (emul_helper_check_type),
 * and no kprobe runs here (the kernel has no test run for them): nothing
 * to override. The kernel's helper always returns 0. */
HELPER(override_return)
{
	return 0;
}

/* bpf_get_func_ip_kprobe() with no kprobe running: 0 */
HELPER(get_func_ip)
{
	return 0;
}

/* a run here comes from no link (a test run, a tick): no cookie */
HELPER(get_attach_cookie)
{
	return 0;
}

/* bpf_send_signal_common(): to the current task. The idle task of a tick
 * is a kernel thread: -EPERM. Then group_send_sig_info(): -EINVAL for an
 * invalid signal, 0 sends nothing. The caller of a test run waits in its
 * trapped bpf(2); the listener's WAIT_KILLABLE_RECV keeps a caught signal
 * pending until our answer, so it arrives on the return from bpf(2), as
 * from the kernel (a fatal one kills, as it would there). */
static uint64_t send_signal_common(const struct bpftime_vm_call *call, uint32_t sig, bool thread)
{
	struct bpftime_caller *c = RUN(call)->c;
	long r;

	if (!c)
		return (uint64_t)-EPERM;
	if (sig > 64) /* valid_signal(): sig <= _NSIG */
		return (uint64_t)-EINVAL;
	if (thread)
		r = syscall(SYS_tgkill, c->pid, c->tid, (int)sig);
	else
		r = kill(c->pid, (int)sig);
	return r ? (uint64_t) - (int64_t)errno : 0;
}

HELPER(send_signal)
{
	return send_signal_common(call, (uint32_t)r1, false);
}

HELPER(send_signal_thread)
{
	return send_signal_common(call, (uint32_t)r1, true);
}

/* ---- bpf_trace_printk: to the session's trace_pipe (and the log) ---- */

/* one conversion of bpf_trace_printk's format, %[-+ 0#]*[0-9]*(l|ll)?[diuxXcps]:
 * without an l the argument is 32 bits, as the kernel's vsnprintf sees it */
static int printk_one(char *out, size_t room, const char *spec, size_t n, uint64_t arg)
{
	char f[40], conv = spec[n - 1], s[128];
	bool is_long = memchr(spec, 'l', n) != NULL;
	size_t k = 0;

	if (conv == 's') {
		if ((int64_t)probe_read_user_str((uintptr_t)s, sizeof(s), arg, 0, 0, NULL) < 0)
			strcpy(s, "(fault)");
		return snprintf(out, room, "%s", s);
	}
	if (conv == 'p')
		return snprintf(out, room, "0x%llx", (unsigned long long)arg);
	if (conv == 'c')
		return snprintf(out, room, "%c", (char)arg);
	/* flags and width as given, then "ll" and the conversion */
	for (size_t i = 0; i < n - 1 && k < sizeof(f) - 4; i++)
		if (spec[i] != 'l')
			f[k++] = spec[i];
	f[k++] = 'l';
	f[k++] = 'l';
	f[k++] = conv;
	f[k] = 0;
	if (conv == 'd' || conv == 'i')
		return snprintf(out, room, f, is_long ? (long long)arg : (long long)(int32_t)arg);
	return snprintf(out, room, f,
			is_long ? (unsigned long long)arg : (unsigned long long)(uint32_t)arg);
}

static int printk_format(char *out, size_t room, const char *fmt, const uint64_t args[3])
{
	size_t o = 0;
	int used = 0;

	for (const char *p = fmt; *p && o < room - 1; p++) {
		size_t n;
		int w;

		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		if (p[1] == '%') {
			out[o++] = '%';
			p++;
			continue;
		}
		n = 1 + strspn(p + 1, "-+ 0#0123456789l");
		if (!p[n] || !strchr("diuxXcps", p[n]) || used == 3)
			return -EINVAL; /* bpf_bprintf_prepare() refuses these */
		w = printk_one(out + o, room - o, p, n + 1, args[used++]);
		if (w < 0)
			return w;
		o += (size_t)w < room - o ? (size_t)w : room - o - 1;
		p += n;
	}
	out[o] = 0;
	return (int)o;
}

/* The line of the task the program runs for (the idle task: "<idle>-0",
 * as trace_print_context() shows pid 0) in <session>/trace_pipe. */
static void printk_emit(struct emul_run_ctx *run, const char *text, size_t n)
{
	struct bpftime_caller *c = run->c;
	char path[40], comm[16] = "";
	FILE *f = NULL;

	if (c) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)c->pid, (int)c->tid);
		f = fopen(path, "re");
	}
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	emul_tracepipe_printk(run->e, comm, c ? (int)c->tid : 0, run->cpu, text, n);
}

HELPER(trace_printk)
{
	const uint64_t args[3] = {r3, r4, r5};
	char fmt[512], out[1024];
	int n;

	/* the format must end with a NUL inside fmt_size */
	if (!r2 || r2 > sizeof(fmt) || read_self(fmt, r1, r2) || fmt[r2 - 1])
		return (uint64_t)-EINVAL;
	n = printk_format(out, sizeof(out), fmt, args);
	if (n < 0)
		return (uint64_t)(int64_t)n;
	emul_log(RUN(call)->e, BPFTIME_EMUL_LOG_INFO, "bpf_trace_printk: %.*s", n, out);
	printk_emit(RUN(call), out, (size_t)n);
	return n;
}

/* ---- the table ---- */

#define A_ANY EMUL_ARG_ANY
#define A_MEM EMUL_ARG_MEM
#define A_MAP EMUL_ARG_MAP
#define A_RB  EMUL_ARG_RINGBUF
#define A_CTX EMUL_ARG_CTX
#define H(id, fn, gpl, ...)                                                                        \
	{                                                                                          \
		id, #fn, fn, gpl,                                                                  \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

/* Arguments as the kernel's bpf_func_proto (ARG_CONST_SIZE and
 * ARG_ANYTHING are A_ANY; map keys and values are memory). */
static const struct emul_helper helpers[] = {
    H(BPF_FUNC_map_lookup_elem, map_lookup_elem, false, A_MAP, A_MEM),
    H(BPF_FUNC_map_update_elem, map_update_elem, false, A_MAP, A_MEM, A_MEM, A_ANY),
    H(BPF_FUNC_map_delete_elem, map_delete_elem, false, A_MAP, A_MEM),
    H(BPF_FUNC_probe_read, probe_read_user, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_ktime_get_ns, ktime_get_ns, false, 0),
    H(BPF_FUNC_trace_printk, trace_printk, true, A_MEM, A_ANY),
    H(BPF_FUNC_get_prandom_u32, get_prandom_u32, false, 0),
    H(BPF_FUNC_get_smp_processor_id, get_smp_processor_id, false, 0),
    {BPF_FUNC_tail_call, "tail_call", NULL, false, {A_CTX, A_MAP, A_ANY}},
    H(BPF_FUNC_get_current_pid_tgid, get_current_pid_tgid, false, 0),
    H(BPF_FUNC_get_current_uid_gid, get_current_uid_gid, false, 0),
    H(BPF_FUNC_get_current_comm, get_current_comm, false, A_MEM, A_ANY),
    H(BPF_FUNC_perf_event_output, perf_event_output, true, A_CTX, A_MAP, A_ANY, A_MEM, A_ANY),
    H(BPF_FUNC_get_stackid, get_stackid, true, A_CTX, A_MAP, A_ANY),
    H(BPF_FUNC_get_current_task, get_current_task, true, 0),
    H(BPF_FUNC_current_task_under_cgroup, current_task_under_cgroup, false, A_MAP, A_ANY),
    H(BPF_FUNC_get_current_cgroup_id, get_current_cgroup_id, false, 0),
    H(BPF_FUNC_probe_read_str, probe_read_user_str, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_override_return, override_return, true, A_CTX, A_ANY),
    H(BPF_FUNC_get_stack, get_stack, true, A_CTX, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_map_push_elem, map_push_elem, false, A_MAP, A_MEM, A_ANY),
    H(BPF_FUNC_map_pop_elem, map_pop_elem, false, A_MAP, A_MEM),
    H(BPF_FUNC_map_peek_elem, map_peek_elem, false, A_MAP, A_MEM),
    H(BPF_FUNC_send_signal, send_signal, false, A_ANY),
    H(BPF_FUNC_send_signal_thread, send_signal_thread, false, A_ANY),
    H(BPF_FUNC_probe_read_user, probe_read_user, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_probe_read_kernel, probe_read_kernel, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_probe_read_user_str, probe_read_user_str, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_probe_read_kernel_str, probe_read_kernel_str, true, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_ktime_get_boot_ns, ktime_get_boot_ns, false, 0),
    H(BPF_FUNC_ringbuf_output, ringbuf_output, false, A_MAP, A_MEM, A_ANY, A_ANY),
    H(BPF_FUNC_ringbuf_reserve, ringbuf_reserve, false, A_MAP, A_ANY, A_ANY),
    H(BPF_FUNC_ringbuf_submit, ringbuf_submit, false, A_RB, A_ANY),
    H(BPF_FUNC_ringbuf_discard, ringbuf_discard, false, A_RB, A_ANY),
    H(BPF_FUNC_ringbuf_query, ringbuf_query, false, A_MAP, A_ANY),
    H(BPF_FUNC_ktime_get_coarse_ns, ktime_get_coarse_ns, false, 0),
    H(BPF_FUNC_get_func_ip, get_func_ip, true, A_CTX),
    H(BPF_FUNC_get_attach_cookie, get_attach_cookie, false, A_CTX),
    {BPF_FUNC_loop, "loop", bpftime_vm_helper_loop, false, {A_ANY, A_ANY, A_ANY, A_ANY}},
};

const struct emul_helper *emul_helper_find(uint32_t id)
{
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (helpers[i].id == id)
			return &helpers[i];
	return NULL;
}

/* The program types that reach bpf_tracing_func_proto(): kprobe, tracepoint,
 * perf_event, raw tracepoints, tracing (fentry...), LSM and syscall
 * programs (the last two through tracing_prog_func_proto()). */
static bool tracing_type(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_SYSCALL:
		return true;
	}
	return false;
}

/* bpf_prog_has_trampoline() */
static bool has_trampoline(uint32_t type, uint32_t eat)
{
	return (type == BPF_PROG_TYPE_TRACING &&
		(eat == BPF_TRACE_FENTRY || eat == BPF_TRACE_FEXIT || eat == BPF_MODIFY_RETURN)) ||
	       (type == BPF_PROG_TYPE_LSM && eat == BPF_LSM_MAC);
}

/* Is the helper's proto there for the type (the types' get_func_proto())?
 * Only the helpers below depend on the type here; others are offered to
 * every type. */
static bool offered(uint32_t id, uint32_t type, uint32_t eat)
{
	switch (id) {
	case BPF_FUNC_override_return:
		return type == BPF_PROG_TYPE_KPROBE; /* kprobe_prog_func_proto() */
	case BPF_FUNC_send_signal:
	case BPF_FUNC_send_signal_thread:
	case BPF_FUNC_get_func_ip:
		return tracing_type(type); /* bpf_tracing_func_proto() */
	case BPF_FUNC_get_attach_cookie:
		/* kprobe, tp, pe and raw_tp (6.10) func_protos; tracing and LSM
		 * programs with a trampoline, or raw_tp BTF ones (6.10) */
		if (type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_LSM)
			return has_trampoline(type, eat) || eat == BPF_TRACE_RAW_TP;
		return type == BPF_PROG_TYPE_KPROBE || type == BPF_PROG_TYPE_TRACEPOINT ||
		       type == BPF_PROG_TYPE_PERF_EVENT || type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
		       type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE;
	}
	return true;
}

int emul_helper_check_type(const struct emul_helper *h, uint32_t type, uint32_t eat, bool late,
			   char *msg, size_t len)
{
	/* an extension takes its target's type, which the load does not know
	 * here: never refuse what the kernel may accept */
	if (type == BPF_PROG_TYPE_EXT)
		return 0;
	if (!late) {
		if (offered(h->id, type, eat))
			return 0;
		snprintf(msg, len, "program of this type cannot use helper bpf_%s#%u", h->name,
			 h->id);
		return -EINVAL;
	}
	/* check_get_func_ip(), after the arguments */
	if (h->id != BPF_FUNC_get_func_ip || type == BPF_PROG_TYPE_KPROBE ||
	    (type == BPF_PROG_TYPE_TRACING && has_trampoline(type, eat)))
		return 0;
	if (type == BPF_PROG_TYPE_TRACING)
		snprintf(msg, len,
			 "func bpf_%s#%u supported only for fentry/fexit/fmod_ret programs",
			 h->name, h->id);
	else
		snprintf(msg, len, "func bpf_%s#%u not supported for program type %u", h->name,
			 h->id, type);
	return -EMUL_ENOTSUPP;
}

int emul_helpers_register(struct bpftime_emul *e, struct bpftime_vm *vm)
{
	(void)e;
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		int err;

		if (!helpers[i].fn)
			continue; /* tail calls go through the vm's tail_call hook */
		err =
		    bpftime_vm__register_helper(vm, helpers[i].id, helpers[i].name, helpers[i].fn);
		if (err)
			return err;
	}
	return 0;
}
