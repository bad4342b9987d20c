// SPDX-License-Identifier: MIT
/*
 * The target of cxx_exception_test.sh: C++ exceptions thrown through probed
 * functions. middle() calls thrower(), which throws; main() catches, three
 * times, and prints "caught 3". Waits for SIGUSR1 after "ready <pid>".
 */
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <unistd.h>

extern "C" __attribute__((noinline)) int thrower(int x)
{
	if (x > 0)
		throw std::runtime_error("boom");
	return x;
}

extern "C" __attribute__((noinline)) int middle(int x)
{
	int r = thrower(x);

	return r + 1;
}

int main()
{
	sigset_t set;
	int sig, caught = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, nullptr);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	sigwait(&set, &sig);
	for (int i = 0; i < 3; i++) {
		try {
			middle(1);
		} catch (const std::exception &) {
			caught++;
		}
	}
	printf("caught %d\n", caught);
	return 0;
}
