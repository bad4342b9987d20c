/* SPDX-License-Identifier: MIT */
/* A tail-call table for the vm tests: bpftime_vm_opts.tail_call looks a
 * program up in @slots for map 0xabc (the tests' prog array), counting the
 * lookups; any other map or index finds nothing. */
#ifndef BPFTIME_TEST_TAIL_ENV_H
#define BPFTIME_TEST_TAIL_ENV_H

#include <stdint.h>
#include <bpftime/vm.h>

struct tail_env {
	const struct bpftime_vm *slots[4];
	int lookups;
};

static inline const struct bpftime_vm *tail_lookup(void *host, uint64_t map, uint64_t index)
{
	struct tail_env *env = host;

	env->lookups++;
	if (map != 0xabc || index >= 4)
		return NULL;
	return env->slots[index];
}

#endif /* BPFTIME_TEST_TAIL_ENV_H */
