// SPDX-License-Identifier: MIT
/*
 * Target of syscall_pun_test.sh: syscalls with fewer than 5 bytes before
 * them, which the agent rewrites with punned jmps (rewrite/src/rw-syscall-
 * pun.c), and a thread asleep in one of them while the jmp is written.
 *
 *   pun_read(fd, buf, n)  xor %eax,%eax; syscall; cmp $-4096,%rax; ...
 *                         (the shape of glibc's __read_nocancel: 2 bytes)
 *   pun_getppid()         xor %eax,%eax; mov $110,%al; syscall; ret
 *                         (4 bytes)
 *
 * At start a reader thread blocks in pun_read() on a pipe; "ready PID" is
 * printed. On SIGUSR1 the main thread prints the first 5 bytes of both
 * functions ("bytes ..."), sends the reader a SIGUSR2 whose handler has
 * SA_RESTART (the kernel restarts its read on the syscall instruction,
 * which lies under a jmp's last bytes when punned), calls pun_getppid()
 * CALLS times and checks each result against getppid()'s at start, writes one byte
 * into the pipe and waits for the reader to print "read <byte>"; the
 * reader then calls pun_read() once more (after "reading again") and
 * blocks. Then "done calls <CALLS> bad <N>".
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long pun_read(int fd, void *buf, unsigned long n);
long pun_getppid(void);

/* int3 padding: the window must not grow back into other code */
__asm__(".text\n"
	".p2align 4, 0xcc\n"
	".globl pun_read\n"
	".type pun_read, @function\n"
	"pun_read:\n"
	"\txor %eax, %eax\n"
	"\tsyscall\n"
	"\tcmp $-4096, %rax\n"
	"\tja 1f\n"
	"\tret\n"
	"1:\tmov $-1, %rax\n"
	"\tret\n"
	".size pun_read, .-pun_read\n"
	".p2align 4, 0xcc\n"
	".globl pun_getppid\n"
	".type pun_getppid, @function\n"
	"pun_getppid:\n"
	"\txor %eax, %eax\n"
	"\tmov $110, %al\n"
	"\tsyscall\n"
	"\tret\n"
	".size pun_getppid, .-pun_getppid\n"
	".p2align 4, 0xcc\n");

#define CALLS 100

static int pipefd[2];
static volatile sig_atomic_t restarted;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int got_byte;

static void on_usr2(int sig)
{
	(void)sig;
	restarted++;
}

static void *reader(void *arg)
{
	char c;

	(void)arg;
	if (pun_read(pipefd[0], &c, 1) != 1) {
		printf("read failed\n");
		exit(1);
	}
	printf("read %c (signals %d)\n", c, (int)restarted);
	pthread_mutex_lock(&lock);
	got_byte = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	printf("reading again\n");
	pun_read(pipefd[0], &c, 1);
	return NULL;
}

static void print_bytes(void)
{
	const unsigned char *r = (const unsigned char *)(void *)pun_read;
	const unsigned char *g = (const unsigned char *)(void *)pun_getppid;

	printf("bytes pun_read %02x %02x %02x %02x %02x pun_getppid %02x %02x %02x %02x %02x\n",
	       r[0], r[1], r[2], r[3], r[4], g[0], g[1], g[2], g[3], g[4]);
}

int main(void)
{
	struct sigaction sa;
	pthread_t t;
	sigset_t set;
	int sig, bad = 0;
	long parent = getppid(); /* before the tool counts getppid calls */

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	if (pipe(pipefd) || sigaction(SIGUSR2, &sa, NULL))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the reader inherits it */
	if (pthread_create(&t, NULL, reader, NULL))
		return 1;
	printf("ready %d\n", (int)getpid());
	sigwait(&set, &sig);
	print_bytes();
	pthread_kill(t, SIGUSR2);
	usleep(100000); /* the reader is back in its (restarted) read */
	for (int i = 0; i < CALLS; i++)
		bad += pun_getppid() != parent;
	if (write(pipefd[1], "a", 1) != 1)
		return 1;
	pthread_mutex_lock(&lock);
	while (!got_byte)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	usleep(100000);
	printf("done calls %d bad %d\n", CALLS, bad);
	pause();
	return 0;
}
