/* SPDX-License-Identifier: MIT */
/*
 * Kill a process while it holds a map lock: the deterministic way to reach
 * the takeover-and-repair path of a map type (the holder dies somewhere in
 * the middle of an operation, leaving whatever state that point leaves).
 *
 * The victim is a forked child that runs operations on the map in a loop
 * (it is single-threaded, so its TID is its pid). mt_kill_in_lock() stops
 * it at random moments until it is caught holding @lock, then kills it.
 * Used by test_maps_queue.c, test_maps_lpm.c, test_maps_stack_trace.c and
 * test_maps_of_maps.c.
 */
#ifndef BPFTIME_MAPS_TEST_KILL_H
#define BPFTIME_MAPS_TEST_KILL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "maps-test.h"

static inline void mt_sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/*
 * Stop @pid at random moments (up to @tries times) until it holds @lock,
 * then SIGKILL it and reap it. Returns true when it died holding the lock;
 * false when it never was caught (it is killed anyway).
 */
static inline bool mt_kill_in_lock(pid_t pid, const uint32_t *lock, unsigned tries, unsigned *seed)
{
	bool caught = false;
	int st;

	for (unsigned i = 0; i < tries && !caught; i++) {
		mt_sleep_us(50 + rand_r(seed) % 400);
		if (kill(pid, SIGSTOP) || waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
			break;
		caught = __atomic_load_n(lock, __ATOMIC_ACQUIRE) == (uint32_t)pid;
		if (!caught)
			kill(pid, SIGCONT);
	}
	kill(pid, SIGKILL);
	kill(pid, SIGCONT);
	mt_wait(pid);
	return caught;
}

#endif /* BPFTIME_MAPS_TEST_KILL_H */
