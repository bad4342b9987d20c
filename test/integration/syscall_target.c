// SPDX-License-Identifier: MIT
/*
 * syscall_target: a workload for syscall tracepoints that knows how many
 * times it opened a file (syscall_test.sh).
 *
 *   syscall_target -f FILE [-t THREADS] [-n CALLS] [-w] [-F] [-V] [-x]
 *
 * Prints "target <pid> ready" and, with -w, waits for SIGUSR1 so that a
 * tracer can attach first. Then:
 *   - THREADS new threads (created after the signal) each open FILE CALLS
 *     times with openat(2) (musl's open() is SYS_open), closing it;
 *   - -F: a fork child opens it CALLS times and exits;
 *   - -V: the main thread opens it once, then a vfork child opens it once
 *     and _exits (the parent waits);
 *   - -x: a vfork child execs this program with -c, which (under bpftime)
 *     waits for the agent to hook the new image and opens it CALLS times;
 * and prints "target <pid> opens <N>", N the total of all of these.
 * Each open is followed by a 20 us sleep: opensnoop's 256 KiB ring buffer
 * holds ~860 events, and the kernel drops what does not fit. Output goes
 * through write(2) only.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long calls = 1000;
static const char *file;
/* not on main's stack: vfork children share it */
static unsigned long threads = 4, total;
static int wait_sig, do_fork, do_vfork, do_exec, child;

static void say(const char *what, unsigned long v)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "target %d %s %lu\n", (int)getpid(), what, v);

	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(3);
}

/* openat(2) through an inline `mov $257,%eax; syscall` site (rewritten
 * by the agent as libc's are) with CF, OF, SF, AF and DF set before it: a
 * syscall keeps the flags, and so must the hook path around it (its
 * entries put them back without popfq). Exits 6 when they change. */
static int open_keeping_flags(void)
{
	register long r10 __asm__("r10") = 0;
	unsigned long before, after;
	long ret;

	/* lea steps over the red zone for pushfq (and changes no flag) */
	__asm__ volatile("movb $0x7f, %%cl\n\t"
			 "addb $1, %%cl\n\t"
			 "stc\n\t"
			 "std\n\t"
			 "leaq -128(%%rsp), %%rsp\n\t"
			 "pushfq\n\t"
			 "popq %[before]\n\t"
			 "leaq 128(%%rsp), %%rsp\n\t"
			 "movl $257, %%eax\n\t"
			 "syscall\n\t"
			 "leaq -128(%%rsp), %%rsp\n\t"
			 "pushfq\n\t"
			 "popq %[after]\n\t"
			 "leaq 128(%%rsp), %%rsp\n\t"
			 "cld"
			 : "=&a"(ret), [before] "=&r"(before), [after] "=&r"(after)
			 : "D"((long)AT_FDCWD), "S"(file), "d"((long)O_RDONLY), "r"(r10)
			 : "rcx", "r11", "memory", "cc");
	if (!(before & 0x400) || ((before ^ after) & 0xcd5)) {
		say("flags changed by the syscall", after);
		_exit(6);
	}
	return (int)ret;
}

static void opens(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		int fd = i % 2 ? open_keeping_flags() : openat(AT_FDCWD, file, O_RDONLY);
		struct timespec pace = {0, 20000};

		if (fd < 0)
			_exit(4);
		close(fd);
		/* paced, so that a tracer's ring buffer keeps up */
		nanosleep(&pace, NULL);
	}
}

/* The exec'd child under bpftime: the agent came back with LD_PRELOAD
 * and hooks this new image on its first pass; wait for it to say so in
 * the session's agent.log (the kernel hooks from the first instruction:
 * what a new image does before that pass is not seen). */
static void wait_agent(void)
{
	const char *dir = getenv("BPFTIME_AGENT_SESSION_DIR");
	char path[4096], want[64], line[1024];

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/agent.log", dir);
	snprintf(want, sizeof(want), "agent[%d]: ", (int)getpid());
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		int hooked = 0;

		while (f && !hooked && fgets(line, sizeof(line), f))
			hooked = strstr(line, want) && strstr(line, "syscall sites rewritten");
		if (f)
			fclose(f);
		if (hooked)
			return;
		usleep(10000);
	}
	/* not hooked within 10 s (no session?): the opens go unseen */
}

static void *work(void *arg)
{
	(void)arg;
	opens(calls);
	return NULL;
}

static void wait_child(pid_t pid, const char *what)
{
	int st = 0;

	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		say(what, (unsigned long)st); /* "target <pid> <what> <wait status>" */
		_exit(5);
	}
}

int main(int argc, char **argv)
{
	int c;
	pthread_t tids[64];
	sigset_t set;
	int sig;

	while ((c = getopt(argc, argv, "f:t:n:wFVxc")) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 't':
			threads = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			calls = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			wait_sig = 1;
			break;
		case 'F':
			do_fork = 1;
			break;
		case 'V':
			do_vfork = 1;
			break;
		case 'x':
			do_exec = 1;
			break;
		case 'c':
			child = 1;
			break;
		default:
			return 2;
		}
	}
	if (!file || threads > 64)
		return 2;
	if (child) {
		wait_agent();
		opens(calls);
		return 0;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	say("ready", 0);
	if (wait_sig && sigwait(&set, &sig))
		return 1;
	for (unsigned long i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, work, NULL))
			return 1;
	for (unsigned long i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	total += threads * calls;
	if (do_fork) {
		pid_t pid = fork();

		if (pid == 0) {
			opens(calls);
			_exit(0);
		}
		wait_child(pid, "fork-child-failed");
		total += calls;
	}
	if (do_vfork) {
		pid_t pid;

		/* the main thread's own open first: the agent then knows this
		 * thread's ids, which its vfork child borrows with its TCB */
		opens(1);
		total += 1;
		pid = vfork();
		if (pid == 0) {
			int fd = openat(AT_FDCWD, file, O_RDONLY);

			_exit(fd < 0 ? 4 : 0);
		}
		wait_child(pid, "vfork-child-failed");
		total += 1;
	}
	if (do_exec) {
		char n[32];
		char *args[] = {argv[0], "-c", "-n", n, "-f", (char *)file, NULL};
		pid_t pid;

		snprintf(n, sizeof(n), "%lu", calls);
		pid = vfork();
		if (pid == 0) {
			execv("/proc/self/exe", args);
			_exit(6);
		}
		wait_child(pid, "exec-child-failed");
		total += calls;
	}
	say("opens", total);
	return 0;
}
