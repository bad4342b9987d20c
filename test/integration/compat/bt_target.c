// SPDX-License-Identifier: MIT
/*
 * The workload of compat_bpftrace_test.sh: prints "ready PID", then on
 * SIGUSR1 calls compat_fn(i) for i = 0..19 (it returns 2 * i) from
 * compat_outer() (for stacks), then compat_str(s, i) for each string of
 * compat_strs (i its index), compat_signed(i) for i = 0..7 (negative
 * returns), compat_ids(its uid, its gid) (read before "ready"),
 * compat_args8(i, ..., i + 7) for i = 1 and 100 (two arguments on the
 * stack), then in two threads, one after the other, named "btworker0" and
 * "btworker1", compat_thread(k) for k = 0..4; then it opens FILE 3 times
 * and reads 5 bytes from it each time (the only openat and read calls
 * between SIGUSR1 and "done": the syscalls case counts them), and prints
 * "done". Built with frame pointers: bpftrace's ustack and the kernel's
 * unwinder follow them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

__attribute__((noinline)) long compat_fn(long i)
{
	__asm__ volatile("" : "+r"(i));
	return 2 * i;
}

__attribute__((noinline)) long compat_outer(long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += compat_fn(i);
	__asm__ volatile("" : "+r"(sum));
	return sum;
}

/* a repeated key, an empty string and one longer than bpftrace's 64 bytes */
#define COMPAT_LONG "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_0123456789"
static const char *const compat_strs[] = {"alpha", "beta", "gamma", "alpha", "", COMPAT_LONG};

__attribute__((noinline)) long compat_str(const char *s, long n)
{
	__asm__ volatile("" : "+r"(s));
	return (long)strlen(s) + n;
}

/* -3, -1000, -1, -3000, 1, -5000, 3, -7000 for i = 0..7 */
__attribute__((noinline)) long compat_signed(long i)
{
	__asm__ volatile("" : "+r"(i));
	return i % 2 ? -i * 1000 : i - 3;
}

__attribute__((noinline)) int compat_ids(unsigned int uid, unsigned int gid)
{
	__asm__ volatile("" : "+r"(uid), "+r"(gid));
	return uid == gid;
}

__attribute__((noinline)) long compat_args8(long a, long b, long c, long d, long e, long f, long g,
					    long h)
{
	__asm__ volatile("" : "+r"(a), "+r"(h));
	return a + b + c + d + e + f + g + h;
}

__attribute__((noinline)) long compat_thread(long k)
{
	__asm__ volatile("" : "+r"(k));
	return k + 1;
}

static void *compat_worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "btworker%d", (int)(long)arg);
	prctl(PR_SET_NAME, name); /* the thread's comm */
	for (long k = 0; k < 5; k++)
		compat_thread(k);
	return NULL;
}

static void compat_more(unsigned int uid, unsigned int gid)
{
	for (long i = 0; i < (long)(sizeof(compat_strs) / sizeof(compat_strs[0])); i++)
		compat_str(compat_strs[i], i);
	for (long i = 0; i < 8; i++)
		compat_signed(i);
	compat_ids(uid, gid);
	for (long i = 1; i <= 100; i += 99) {
		long v = i; /* not a constant: no clone of compat_args8 */

		__asm__ volatile("" : "+r"(v));
		compat_args8(v, v + 1, v + 2, v + 3, v + 4, v + 5, v + 6, v + 7);
	}
	for (long t = 0; t < 2; t++) {
		pthread_t th;

		if (pthread_create(&th, NULL, compat_worker, (void *)t) == 0)
			pthread_join(th, NULL);
	}
}

int main(int argc, char **argv)
{
	sigset_t set;
	unsigned int uid = getuid(), gid = getgid();
	char buf[8];
	int sig;

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d\n", (int)getpid());
	sigwait(&set, &sig);
	compat_outer(20);
	compat_more(uid, gid);
	for (int i = 0; i < 3; i++) {
		int fd = open(argv[1], O_RDONLY);

		if (fd < 0 || read(fd, buf, 5) != 5)
			return 1;
		close(fd);
	}
	printf("done\n");
	sigwait(&set, &sig); /* the tool reads its maps meanwhile */
	return 0;
}
