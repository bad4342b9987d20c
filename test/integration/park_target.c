// SPDX-License-Identifier: MIT
/*
 * Target of park_test.sh: a thread that park_stop (the test's ptrace
 * helper) stops at an instruction boundary inside the bytes a uprobe's jmp
 * replaces, as a thread blocked in a page fault or stopped by a debugger
 * would be. The agent must not write the jmp while it is there.
 *
 *   probed:     xor %eax,%eax; add $1,%eax; add $2,%eax; ret
 *               (the jmp replaces 8 bytes; boundaries at +2 and +5)
 *   spin_loop:  call probed, forever
 *
 * Prints "ready PID TID PROBED STACK": the spinning thread's id, the
 * address of probed and a stack slot holding spin_loop's address (where
 * park_stop points the thread's %rsp, so that probed's ret goes on
 * spinning). On SIGUSR1: "bytes b0 b1 b2 b3 b4" (probed's first bytes) and
 * "calls N".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

void probed(void);
void spin_loop(void);
extern unsigned long long spin_calls;

__asm__(".text\n"
	".p2align 4\n"
	".globl probed\n"
	".type probed, @function\n"
	"probed:\n"
	"\txor %eax, %eax\n"
	"\tadd $1, %eax\n"
	"\tadd $2, %eax\n"
	"\tret\n"
	".size probed, .-probed\n"
	".p2align 4\n"
	".globl spin_loop\n"
	".type spin_loop, @function\n"
	"spin_loop:\n"
	"1:\tcall probed\n"
	"\tlock incq spin_calls(%rip)\n"
	"\tjmp 1b\n"
	".size spin_loop, .-spin_loop\n");

unsigned long long spin_calls;
/* park_stop's stack for the thread: room for signal frames below the slot */
static uint64_t stack[8192] __attribute__((aligned(16)));
static volatile int spinner_tid;

static void *spinner(void *arg)
{
	(void)arg;
	spinner_tid = (int)syscall(SYS_gettid);
	spin_loop();
	return NULL;
}

int main(void)
{
	const volatile unsigned char *p = (const volatile unsigned char *)(void *)probed;
	uint64_t *slot = &stack[8192 - 9]; /* 8 mod 16, as after a call */
	pthread_t t;
	sigset_t set;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	*slot = (uint64_t)(uintptr_t)spin_loop;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, spinner, NULL))
		return 1;
	while (!spinner_tid)
		usleep(1000);
	printf("ready %d %d %p %p\n", (int)getpid(), spinner_tid, (void *)probed, (void *)slot);
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		printf("bytes %02x %02x %02x %02x %02x\n", p[0], p[1], p[2], p[3], p[4]);
		printf("calls %llu\n", __atomic_load_n(&spin_calls, __ATOMIC_RELAXED));
	}
	return 0;
}
