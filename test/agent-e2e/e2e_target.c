// SPDX-License-Identifier: MIT
/*
 * e2e-target: the traced side of the agent end-to-end tests. Each mode
 * has its own probed function (noinline, noipa: called, never cloned),
 * prints "target PID ready ADDR" (ADDR: the probed function's address,
 * hex) on stdout when set up, and uses no stdio in its loops.
 *
 *   e2e-target hot -o FILE [-t THREADS] [-S SIGFILE]
 *       THREADS (4) threads call hot(i) in a tight loop forever; every
 *       100 ms the main thread rewrites FILE with "progress N\n", N the
 *       calls made so far. -S: the target takes SIGURG and SIGWINCH (the
 *       agent's parking signals; it must borrow one and pass the target's
 *       own deliveries on) and a thread sends SIGURG to the process, one
 *       at a time, each waited for (2 s, else counted lost: a busy machine
 *       may take a while to schedule the handler); SIGFILE
 *       gets "signals sent N lost M\n" every 100 ms.
 *   e2e-target busy [-l MS] [-n CALLS]
 *       one thread calls busy(MS) (2000: it runs inside busy() for 2 s)
 *       over and over; at SIGUSR1 the main thread calls busy(0) CALLS
 *       (1000) times, then waits until two more long calls returned,
 *       prints "target PID done SHORT LONG" and exits 0.
 *   e2e-target churn [-s SECONDS] [-n CALLS]
 *       at SIGUSR1, for SECONDS (3): threads created and joined one
 *       after the other, each calling churn(i) CALLS (100) times; every
 *       ~50 ms a child that calls churn() CALLS times and _exits 0; once a
 *       child that execs /bin/true, once one made by a raw fork syscall. The main thread calls
 * churn() too. Prints "target PID child CPID" for each child (before it exits). Checks every
 * child's exit status; prints "target PID done THREADS FORKS CALLS" and exits 0, or 1 when a child
 * failed. e2e-target read [-n CALLS] [-i IDX] at SIGUSR1 calls probe_me(E2E_STRING, &good, a
 * PROT_NONE page, the last 4 bytes of a page followed by a PROT_NONE one, IDX (4096)) CALLS (100)
 * times; exits 0 after "target PID done CALLS" when good still holds E2E_GOOD_VALUE, else 5.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#ifdef __clang__
#define PROBED __attribute__((noinline, used)) /* clang makes no IPA clones */
#else
#define PROBED __attribute__((noinline, noipa, used))
#endif

unsigned long hot(unsigned long i);
void busy(unsigned int ms);
unsigned long churn(unsigned long i);
long probe_me(const char *s, const volatile uint64_t *good, void *bad, void *edge, long idx);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "target %d ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(3);
}

static unsigned long parse(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end) {
		fprintf(stderr, "e2e-target: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* SIGUSR1 blocked in every thread made after this; sigwait() for it */
static void block_usr1(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void wait_usr1(sigset_t *set)
{
	int sig;

	sigwait(set, &sig);
}

/* ---- hot ---- */

PROBED unsigned long hot(unsigned long i)
{
	__asm__ volatile("" ::: "memory");
	return i ^ (i >> 3);
}

struct padded {
	volatile unsigned long n;
	char pad[56];
};

static struct padded hot_calls[64];

static void *hot_thread(void *arg)
{
	struct padded *me = arg;
	unsigned long acc = 0;

	for (unsigned long i = 0;; i++) {
		acc += hot(i);
		/* a relaxed store per call: the main thread sums them */
		__atomic_store_n(&me->n, i + 1 + (acc & 0), __ATOMIC_RELAXED);
	}
	return NULL;
}

static volatile unsigned long urg_got, urg_sent, urg_lost;
static int sig_fd = -1;

static void on_urg(int sig)
{
	(void)sig;
	__atomic_add_fetch(&urg_got, 1, __ATOMIC_SEQ_CST);
}

/* SIGURG to the process, one at a time: each must reach on_urg */
static void *urg_thread(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned long want = __atomic_load_n(&urg_got, __ATOMIC_SEQ_CST) + 1;
		uint64_t until = now_ms() + 2000;
		char line[80];
		int n;

		kill(getpid(), SIGURG);
		urg_sent++;
		while (__atomic_load_n(&urg_got, __ATOMIC_SEQ_CST) < want && now_ms() < until)
			sleep_ms(1);
		if (__atomic_load_n(&urg_got, __ATOMIC_SEQ_CST) < want)
			urg_lost++;
		n = snprintf(line, sizeof(line), "signals sent %20lu lost %20lu\n", urg_sent,
			     urg_lost);
		if (pwrite(sig_fd, line, (size_t)n, 0) != n)
			exit(1);
		sleep_ms(1);
	}
	return NULL;
}

static int take_signals(const char *path)
{
	struct sigaction sa;
	pthread_t tid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_urg;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGURG, &sa, NULL) || sigaction(SIGWINCH, &sa, NULL))
		return 1;
	sig_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sig_fd < 0 || pthread_create(&tid, NULL, urg_thread, NULL))
		return 1;
	return 0;
}

static int mode_hot(int argc, char **argv)
{
	const char *out = NULL, *sigs = NULL;
	unsigned long nthreads = 4;
	pthread_t tid;
	int opt, fd;

	while ((opt = getopt(argc, argv, "o:t:S:")) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 't')
			nthreads = parse(optarg);
		else if (opt == 'S')
			sigs = optarg;
		else
			return 2;
	}
	if (!out || nthreads < 1 || nthreads > 64)
		return 2;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	if (sigs && take_signals(sigs))
		return 1;
	for (unsigned long i = 0; i < nthreads; i++)
		if (pthread_create(&tid, NULL, hot_thread, &hot_calls[i]))
			return 1;
	say("ready %#lx\n", (unsigned long)(uintptr_t)hot);
	for (;;) {
		char line[64];
		unsigned long sum = 0;
		int n;

		sleep_ms(100);
		for (unsigned long i = 0; i < nthreads; i++)
			sum += __atomic_load_n(&hot_calls[i].n, __ATOMIC_RELAXED);
		/* fixed width: a reader never sees a shorter line's leftovers */
		n = snprintf(line, sizeof(line), "progress %20lu\n", sum);
		if (pwrite(fd, line, (size_t)n, 0) != n)
			return 1;
	}
}

/* ---- busy ---- */

PROBED void busy(unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (ms && now_ms() < end)
		for (int i = 0; i < 10000; i++)
			__asm__ volatile("pause" ::: "memory");
}

static volatile unsigned long long_done;
static unsigned int long_ms = 2000;

static void *busy_thread(void *arg)
{
	(void)arg;
	for (;;) {
		busy(long_ms);
		__atomic_add_fetch(&long_done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int mode_busy(int argc, char **argv)
{
	unsigned long calls = 1000, before;
	pthread_t tid;
	sigset_t set;
	int opt;

	while ((opt = getopt(argc, argv, "l:n:")) != -1) {
		if (opt == 'l')
			long_ms = (unsigned int)parse(optarg);
		else if (opt == 'n')
			calls = parse(optarg);
		else
			return 2;
	}
	block_usr1(&set);
	if (pthread_create(&tid, NULL, busy_thread, NULL))
		return 1;
	say("ready %#lx\n", (unsigned long)(uintptr_t)busy);
	wait_usr1(&set);
	before = __atomic_load_n(&long_done, __ATOMIC_RELAXED);
	for (unsigned long i = 0; i < calls; i++)
		busy(0);
	while (__atomic_load_n(&long_done, __ATOMIC_RELAXED) < before + 2)
		sleep_ms(10);
	say("done %lu %lu\n", calls, __atomic_load_n(&long_done, __ATOMIC_RELAXED));
	return 0;
}

/* ---- churn ---- */

PROBED unsigned long churn(unsigned long i)
{
	__asm__ volatile("" ::: "memory");
	return i * 7;
}

static unsigned long churn_calls = 100;

static void *churn_thread(void *arg)
{
	unsigned long acc = 0;

	(void)arg;
	for (unsigned long i = 0; i < churn_calls; i++)
		acc += churn(i);
	return (void *)acc;
}

static int reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		say("waitpid %s: %s\n", what, strerror(errno));
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFSIGNALED(status))
			say("%s child %d killed by signal %d\n", what, (int)pid, WTERMSIG(status));
		else
			say("%s child %d exited %d\n", what, (int)pid, WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

static volatile unsigned long sink;

static int mode_churn(int argc, char **argv)
{
	unsigned long seconds = 3, threads = 0, forks = 0, calls = 0;
	uint64_t end, next_fork = 0;
	int opt, failed = 0;
	sigset_t set;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			seconds = parse(optarg);
		else if (opt == 'n')
			churn_calls = parse(optarg);
		else
			return 2;
	}
	block_usr1(&set);
	say("ready %#lx\n", (unsigned long)(uintptr_t)churn);
	wait_usr1(&set);
	end = now_ms() + seconds * 1000;
	while (now_ms() < end) {
		pthread_t tid[4];
		int n = 0;

		for (int i = 0; i < 4; i++)
			if (pthread_create(&tid[n], NULL, churn_thread, NULL) == 0)
				n++;
		for (unsigned long i = 0; i < churn_calls; i++, calls++)
			sink += churn(i);
		for (int i = 0; i < n; i++)
			pthread_join(tid[i], NULL);
		threads += (unsigned long)n;
		if (now_ms() >= next_fork) {
			/* the third child by a raw fork: libc does not update
			 * the child's TCB (its TID word stays the parent's),
			 * where the agent keeps its cached ids */
			pid_t pid = forks == 2 ? (pid_t)syscall(SYS_fork) : fork();

			next_fork = now_ms() + 50;
			if (pid < 0) {
				say("fork: %s\n", strerror(errno));
				return 1;
			}
			if (pid == 0) {
				unsigned long acc = 0;

				for (unsigned long i = 0; i < churn_calls; i++)
					acc += churn(i);
				if (forks == 1) {
					/* the second child execs */
					execl("/bin/true", "true", (char *)NULL);
					_exit(126);
				}
				_exit(acc == churn_calls * (churn_calls - 1) / 2 * 7 ? 0 : 9);
			}
			/* the test matches the tool's per-pid counts to these: with
			 * tens of thousands of threads, pids wrap and a later child
			 * may get an earlier one's pid (one key, 2 x CALLS) */
			say("child %d\n", (int)pid);
			failed |= reap(pid, forks == 1 ? "exec" : "fork");
			forks++;
		}
	}
	say("done %lu %lu %lu\n", threads, forks, calls);
	return failed;
}

/* ---- read ---- */

PROBED long probe_me(const char *s, const volatile uint64_t *good, void *bad, void *edge, long idx)
{
	__asm__ volatile("" ::: "memory");
	return (long)(s[0] + (char)*good) + (long)((uintptr_t)bad ^ (uintptr_t)edge) + idx;
}

static int mode_read(int argc, char **argv)
{
	static volatile uint64_t good = E2E_GOOD_VALUE;
	unsigned long calls = 100;
	long page = sysconf(_SC_PAGESIZE), idx = 4096;
	char *three, *bad;
	sigset_t set;
	int opt;

	while ((opt = getopt(argc, argv, "n:i:")) != -1) {
		if (opt == 'n')
			calls = parse(optarg);
		else if (opt == 'i')
			idx = strtol(optarg, NULL, 0);
		else
			return 2;
	}
	/*
	 * A readable page, then two inaccessible ones: the edge read straddles
	 * the first boundary. PROT_NONE, not unmapped: the agent's own mmaps
	 * would fill an unmapped hole.
	 */
	three = mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (three == MAP_FAILED)
		return 1;
	memset(three, 0x5a, (size_t)page);
	bad = three + 2 * page;
	if (mprotect(three + page, (size_t)page * 2, PROT_NONE))
		return 1;
	block_usr1(&set);
	say("ready %#lx\n", (unsigned long)(uintptr_t)probe_me);
	wait_usr1(&set);
	for (unsigned long i = 0; i < calls; i++)
		probe_me(E2E_STRING, &good, bad, three + page - 4, idx);
	say("done %lu\n", calls);
	if (good != E2E_GOOD_VALUE) {
		say("good was overwritten: %#llx\n", (unsigned long long)good);
		return 5;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	/* the mode's options follow the mode */
	if (!strcmp(mode, "hot"))
		return mode_hot(argc - 1, argv + 1);
	if (!strcmp(mode, "busy"))
		return mode_busy(argc - 1, argv + 1);
	if (!strcmp(mode, "churn"))
		return mode_churn(argc - 1, argv + 1);
	if (!strcmp(mode, "read"))
		return mode_read(argc - 1, argv + 1);
	fprintf(stderr, "usage: e2e-target hot|busy|churn|read [OPTIONS]\n");
	return 2;
}
