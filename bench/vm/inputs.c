// SPDX-License-Identifier: MIT
/*
 * The input bytes of every workload, and the clock of the native and
 * interpreter columns. They are made at run time from a fixed
 * seed: the native build cannot fold them at compile time, and all three
 * engines see the same bytes.
 */
#include <string.h>
#include <time.h>
#include "bench-vm.h"

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators, scrambled", 2016): cheap and good enough for test inputs. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Values of every magnitude, so that each branch of the log2 search is taken. */
static void fill_log2(struct bench_vm_data *d, uint64_t *s)
{
	for (unsigned i = 0; i < BENCH_LOG2_N; i++) {
		/* two statements: the order of two calls in one expression is
		 * unspecified, and the inputs must not depend on the compiler */
		uint64_t v = next_rand(s);

		d->log2_in[i] = v >> (next_rand(s) & 63);
	}
}

/* Equal up to BENCH_STR_DIFF_AT, where b is one letter past a. */
static void fill_strings(struct bench_vm_data *d, uint64_t *s)
{
	for (unsigned i = 0; i < BENCH_STR_LEN - 1; i++)
		d->str_a[i] = (char)('a' + next_rand(s) % 26);
	d->str_a[BENCH_STR_LEN - 1] = '\0';
	memcpy(d->str_b, d->str_a, sizeof(d->str_b));
	d->str_b[BENCH_STR_DIFF_AT] =
	    d->str_a[BENCH_STR_DIFF_AT] == 'z' ? 'a' : d->str_a[BENCH_STR_DIFF_AT] + 1;
}

void bpftime_bench_inputs__fill(struct bench_vm_data *d)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	memset(d, 0, sizeof(*d));
	fill_log2(d, &s);
	d->prime_n = BENCH_PRIME_N;
	d->simple_in = 41;
	for (unsigned i = 0; i < BENCH_SWITCH_N; i++)
		d->switch_in[i] = (uint8_t)next_rand(&s);
	fill_strings(d, &s);
	for (unsigned i = 0; i < BENCH_MEMCPY_WORDS; i++)
		d->memcpy_src[i] = next_rand(&s);
}

/*
 * The CPU time of this thread: the machine is shared, and time that other
 * tasks run on our CPU is not ours. The kernel's BPF_PROG_TEST_RUN timer
 * leaves out the same time (bpf_test_timer_continue() stops the clock
 * around cond_resched()). Costs a syscall: read it around batches only.
 */
uint64_t bpftime_bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
