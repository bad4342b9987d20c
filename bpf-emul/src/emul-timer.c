// SPDX-License-Identifier: MIT
/*
 * CPU clock events (PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK: bpftrace's
 * interval and profile probes) run their BPF_PROG_TYPE_PERF_EVENT program
 * here, in the supervisor, on a timer, as the kernel's cpu-clock PMU does
 * with one hrtimer per event (kernel/events/core.c):
 *
 *   perf_swevent_init_hrtimer()   with attr.freq, the period is
 *                                 NSEC_PER_SEC / sample_freq, fixed at
 *                                 open, and attr.freq is cleared
 *   perf_swevent_start_hrtimer()  enabling starts the timer: the first tick
 *                                 one period (at least 10 us) later, or what
 *                                 a disable left of the period
 *   perf_swevent_hrtimer()        a tick runs the program, then
 *                                 hrtimer_forward_now(): ticks missed while
 *                                 the program or the lock held us up are
 *                                 skipped, not queued
 *   perf_swevent_cancel_hrtimer() disabling keeps the remaining time
 *                                 (hwc->period_left; expired: 10 us)
 *   __perf_event_period()         PERF_EVENT_IOC_PERIOD restarts the timer
 *                                 with the new period
 *
 * The program's context is the uapi struct bpf_perf_event_data: regs all
 * zero (no task was interrupted), sample_period the period in ns (the
 * sample's period, hw.last_period), addr 0. Its return value would decide
 * whether the tick becomes a sample in the event's own ring buffer
 * (bpf_overflow_handler()); CPU clock events have no ring buffer here, so
 * it is ignored.
 *
 * Which task does a tick interrupt? On the kernel, whatever ran on that CPU:
 * on an idle CPU the idle task (pid 0, tid 0, comm "swapper/0", uid 0; seen
 * with bpftrace's interval probe on 6.18), else some task. Here no task
 * runs on the event's CPU, so a tick is the idle task's: the helpers answer
 * pid 0, uid 0, "swapper/N", and reads of user memory fail as for a task
 * without mm (emul-helpers.c). Events that exclude the idle task
 * (exclude_idle) or the kernel (exclude_kernel: the idle task is in kernel
 * mode, perf_exclude_event()) therefore never run their program, as on an
 * idle CPU. The event's CPU (bpftrace: pid -1, cpu 0) is the program's
 * smp_processor_id and the CPU slot of its per-CPU maps and
 * BPF_F_CURRENT_CPU outputs.
 *
 * Limits: an event bound to a task (pid != -1) only ticks while that task
 * runs on the kernel; here it ticks on the wall clock while enabled, on any
 * CPU slot, and still as the idle task. No throttling
 * (perf_event_max_sample_rate only bounds sample_freq at open).
 *
 * The thread: one per session, started when the first event with a program
 * needs it. It sleeps in ppoll() on an eventfd until the earliest deadline
 * among enabled events that have a program; the perf code (emul-perf.c,
 * emul-perf-ioctl.c) calls the functions below under e->lock whenever what
 * drives a timer changes, and they write the eventfd so that the thread
 * looks again. The thread reads events and runs programs only with e->lock
 * held, like every command: once DISABLE, a detach or the event's release
 * returns, its program does not run again. Events without a program keep
 * their phase lazily: their deadline is forwarded when a program arrives.
 */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/bpf_perf_event.h>
#include <linux/perf_event.h>
#include "emul-internal.h"

#define NSEC_PER_SEC  1000000000ull
#define MIN_PERIOD_NS 10000ull /* perf_swevent_start_hrtimer(): max(10000, period) */
/* how often a tick retries to take its CPU slot from a thread that holds
 * it (an agent running a program) before it is skipped as missed */
#define CPU_SLOT_TRIES 1000

struct emul_timer {
	pthread_t thread;
	bool started;
	bool stop;    /* under e->lock: written by emul_timer_free, read by the thread */
	int wake_fd;  /* eventfd: written under e->lock, drained by the thread */
	uint32_t tid; /* the thread's, for CPU slots */
};

#ifdef __x86_64__
/* the uapi layout programs are checked against: struct pt_regs, then two u64 */
_Static_assert(sizeof(struct bpf_perf_event_data) == 184, "bpf_perf_event_data");
_Static_assert(offsetof(struct bpf_perf_event_data, sample_period) == 168, "sample_period");
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static const struct perf_event_attr *attr_of(const struct emul_obj *o)
{
	return (const struct perf_event_attr *)o->perf.attr.bytes;
}

static bool is_timer(const struct emul_obj *o)
{
	/* is_sampling_event(): a counting-only event has no hrtimer */
	return o->type == EMUL_OBJ_PERF && o->perf.kind == EMUL_PERF_CPU_CLOCK &&
	       o->perf.sample_period;
}

/* the interval of hrtimer_forward_now() */
static uint64_t interval(const struct emul_obj *o)
{
	return o->perf.sample_period > MIN_PERIOD_NS ? o->perf.sample_period : MIN_PERIOD_NS;
}

/* hrtimer_forward(): the first deadline after @now, in whole intervals. */
static void forward(struct emul_obj *o, uint64_t now)
{
	uint64_t iv = interval(o);

	if (o->perf.deadline > now)
		return;
	o->perf.deadline += ((now - o->perf.deadline) / iv + 1) * iv;
}

/* ---- the thread ---- */

/* Our CPU slot @cpu (its per-CPU values are the event CPU's); another
 * thread holds it only while it runs a program. -EBUSY: the tick is
 * skipped, as a tick the kernel could not deliver in time. */
static int take_cpu(struct bpftime_emul *e, struct emul_timer *t, int cpu, uint32_t *slot)
{
	if (cpu < 0) {
		/* a task-bound event: any slot (see the top) */
		*slot = bpftime_map_region__cpu_get(e->region, 0, t->tid);
		return 0;
	}
	for (int i = 0; i < CPU_SLOT_TRIES; i++) {
		*slot = bpftime_map_region__cpu_get(e->region, (uint32_t)cpu, t->tid);
		if (*slot == (uint32_t)cpu)
			return 0;
		bpftime_map_region__cpu_put(e->region, *slot);
		sched_yield();
	}
	return -EBUSY;
}

static void log_fault(struct bpftime_emul *e, struct emul_obj *o, struct bpftime_vm_run *vr)
{
	struct emul_obj *p = o->perf.prog;
	char msg[256];

	bpftime_vm_fault__format(&vr->fault, msg, sizeof(msg));
	/* once per event: a faulting program faults on every tick */
	emul_log(e, o->perf.tick_faulted ? BPFTIME_EMUL_LOG_DEBUG : BPFTIME_EMUL_LOG_WARN,
		 "perf event %u: prog '%s' (id %u) stopped on a tick: %s", o->id, p->prog.name,
		 p->id, msg);
	o->perf.tick_faulted = true;
}

/* perf_swevent_hrtimer() → bpf_overflow_handler(): one run of the
 * program on the event's CPU, as the idle task. */
static void tick(struct bpftime_emul *e, struct emul_timer *t, struct emul_obj *o)
{
	struct bpf_perf_event_data ctx;
	struct emul_run_ctx rc = {.e = e, .c = NULL, .prog = o->perf.prog};
	struct bpftime_vm_run vr;
	struct bpftime_vm *vm;
	int err;

	vm = emul_prog_vm(e, o->perf.prog, &err);
	if (!vm || take_cpu(e, t, o->perf.cpu, &rc.cpu))
		return;
	memset(&ctx, 0, sizeof(ctx));
	ctx.sample_period = o->perf.sample_period;
	memset(&vr, 0, sizeof(vr));
	vr.ctx = &ctx;
	vr.ctx_len = sizeof(ctx);
	vr.cookie = &rc;
	err = bpftime_vm__run(vm, &vr);
	bpftime_map_region__cpu_put(e->region, rc.cpu);
	if (err)
		log_fault(e, o, &vr);
}

/* perf_exclude_event() and exclude_idle for a tick of the idle task */
static bool excluded(const struct emul_obj *o)
{
	return attr_of(o)->exclude_idle || attr_of(o)->exclude_kernel;
}

static bool armed(const struct emul_obj *o)
{
	return is_timer(o) && o->perf.enabled && o->perf.deadline && o->perf.prog;
}

/* Run the ticks due at @now; the earliest deadline left, 0 for none. */
static uint64_t run_due(struct bpftime_emul *e, struct emul_timer *t, uint64_t now)
{
	uint64_t next = 0;

	for (uint32_t i = 0; i < e->nr_objs; i++) {
		struct emul_obj *o = e->objs[i];

		if (!armed(o))
			continue;
		if (o->perf.deadline <= now) {
			if (!excluded(o))
				tick(e, t, o);
			forward(o, now);
		}
		if (!next || o->perf.deadline < next)
			next = o->perf.deadline;
	}
	return next;
}

/* Until @deadline (0: until woken) or a wake-up; without e->lock. */
static void sleep_until(struct emul_timer *t, uint64_t deadline)
{
	struct pollfd p = {.fd = t->wake_fd, .events = POLLIN};
	struct timespec ts, *tsp = NULL;
	uint64_t now = now_ns(), left, v;

	if (deadline) {
		left = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(left / NSEC_PER_SEC);
		ts.tv_nsec = (long)(left % NSEC_PER_SEC);
		tsp = &ts;
	}
	if (ppoll(&p, 1, tsp, NULL) > 0 && read(t->wake_fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: another read drained it */
}

static void *ticker(void *arg)
{
	struct bpftime_emul *e = arg;
	struct emul_timer *t;
	uint64_t next;

	pthread_mutex_lock(&e->lock);
	t = e->timer;
	t->tid = (uint32_t)gettid();
	while (!t->stop) {
		next = run_due(e, t, now_ns());
		pthread_mutex_unlock(&e->lock);
		sleep_until(t, next);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- under e->lock: the perf code's calls ---- */

static struct emul_timer *timer_get(struct bpftime_emul *e)
{
	struct emul_timer *t = e->timer;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0) {
		free(t);
		return NULL;
	}
	e->timer = t;
	return t;
}

/* The ticker, with every signal blocked: signals for the process (the
 * supervisor reads SIGINT & co. from a signalfd) must not land on it. It
 * waits for e->lock, which our caller holds. */
static int start_thread(struct bpftime_emul *e, struct emul_timer *t)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t->thread, NULL, ticker, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* The thread looks at the events again; started on first need. */
static void kick(struct bpftime_emul *e)
{
	struct emul_timer *t = timer_get(e);
	uint64_t one = 1;
	int err;

	if (!t) {
		emul_log(e, BPFTIME_EMUL_LOG_ERROR, "CPU clock events: no timer: %s",
			 strerror(errno));
		return;
	}
	if (!t->started) {
		err = start_thread(e, t);
		if (err) {
			emul_log(e, BPFTIME_EMUL_LOG_ERROR,
				 "CPU clock events: cannot start the timer thread: %s",
				 strerror(err));
			return;
		}
		t->started = true;
	}
	if (write(t->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is full: the thread is woken anyway */
}

void emul_timer_init(struct emul_obj *o)
{
	struct perf_event_attr *a = (struct perf_event_attr *)o->perf.attr.bytes;

	if (o->perf.kind != EMUL_PERF_CPU_CLOCK || !a->sample_period)
		return;
	/* perf_swevent_init_hrtimer(): a fixed-rate timer, so the
	 * frequency becomes a period once (sample_freq <= the max sample
	 * rate, checked at open) */
	if (a->freq) {
		a->sample_period = NSEC_PER_SEC / a->sample_freq;
		a->freq = 0;
	}
	o->perf.sample_period = a->sample_period;
}

/* perf_swevent_start_hrtimer() */
static void start(struct bpftime_emul *e, struct emul_obj *o)
{
	int64_t left = o->perf.period_left;
	uint64_t first = interval(o);

	if (left) {
		first = left < 0 ? MIN_PERIOD_NS : (uint64_t)left;
		o->perf.period_left = 0;
	}
	o->perf.deadline = now_ns() + first;
	if (o->perf.prog)
		kick(e);
}

/* perf_swevent_cancel_hrtimer() */
static void stop(struct emul_obj *o)
{
	uint64_t now = now_ns();

	forward(o, now); /* lazily kept (see the top): where the timer is */
	o->perf.period_left = (int64_t)(o->perf.deadline - now);
	if (!o->perf.period_left)
		o->perf.period_left = -1; /* expired: the next start waits 10 us */
	o->perf.deadline = 0;
}

void emul_timer_set_enabled(struct bpftime_emul *e, struct emul_obj *o, bool enabled)
{
	if (!is_timer(o) || enabled == !!o->perf.deadline)
		return; /* enabling an enabled event does not restart its timer */
	if (enabled)
		start(e, o);
	else
		stop(o); /* the thread sees no deadline under the lock */
}

void emul_timer_period_changed(struct bpftime_emul *e, struct emul_obj *o)
{
	/* __perf_event_period(): stop, period_left = 0, start */
	o->perf.period_left = 0;
	if (!is_timer(o) || !o->perf.deadline)
		return;
	o->perf.deadline = 0;
	start(e, o);
}

void emul_timer_prog_attached(struct bpftime_emul *e, struct emul_obj *o)
{
	int err;

	if (!is_timer(o))
		return;
	/* the program's vm (and its native code: LLVM takes milliseconds)
	 * now, in the attaching call, not at the first tick, which it would
	 * delay */
	if (o->perf.prog)
		emul_prog_vm(e, o->perf.prog, &err);
	if (!o->perf.deadline)
		return;
	/* the timer ran without waking us: the next tick is where it would be */
	forward(o, now_ns());
	kick(e);
}

void emul_timer_free(struct bpftime_emul *e)
{
	struct emul_timer *t = e->timer;
	uint64_t one = 1;

	if (!t)
		return;
	if (t->started) {
		pthread_mutex_lock(&e->lock);
		t->stop = true;
		pthread_mutex_unlock(&e->lock);
		if (write(t->wake_fd, &one, sizeof(one)) < 0)
			emul_log(e, BPFTIME_EMUL_LOG_DEBUG, "timer: wake-up: %s", strerror(errno));
		pthread_join(t->thread, NULL);
	}
	close(t->wake_fd);
	free(t);
	e->timer = NULL;
}
