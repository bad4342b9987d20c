/* SPDX-License-Identifier: MIT */
/* Shared by malloc_counter.bpf.c and its loader. */
#ifndef BPFTIME_EXAMPLE_MALLOC_COUNTER_H
#define BPFTIME_EXAMPLE_MALLOC_COUNTER_H

/* Entries of the pid -> count map; processes beyond it are not counted. */
#define MALLOC_COUNTER_MAX_PIDS 10240

#endif
