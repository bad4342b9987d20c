// SPDX-License-Identifier: MIT
/* The library dlopen_target.c loads and unloads: dl_fn is what bpftrace
 * probes (dlopen_test.sh). Its first instruction is a 6-byte load, so its
 * entry can take the agent's jmp (a 4-byte lea; ret cannot). */
static volatile int calls;

__attribute__((noinline)) int dl_fn(int x)
{
	calls++;
	return x + calls;
}
