// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written. */
#include "emul-internal.h"

int emul_helpers_register(struct bpftime_emul *e, struct bpftime_vm *vm)
{
	return 0;
}
