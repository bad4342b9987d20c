// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written; every entry answers -EINVAL for now. */
#include "emul-internal.h"

long emul_cmd_prog_test_run(struct bpftime_emul *e, struct bpftime_caller *c, union bpf_attr *attr,
			    uint64_t uattr, uint32_t size)
{
	return -EINVAL;
}
