// SPDX-License-Identifier: MIT
/* PLACEHOLDER: being written. */
#include "emul-internal.h"

void bpftime_emul__dump(struct bpftime_emul *e, FILE *out)
{
}
