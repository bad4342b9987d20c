/* SPDX-License-Identifier: MIT */
/*
 * Syscall tracepoints in this process: the hook path and its link tables
 * (agent-sc.c) and the rewritten syscall sites (agent-sc-sites.c). Driven
 * by agent_tp_apply() (agent-tp.c) on the follower thread.
 */
#ifndef BPFTIME_AGENT_SC_H
#define BPFTIME_AGENT_SC_H

#include <stdbool.h>
#include <stdint.h>
#include <bpftime/catalog.h>
#include "agent-run.h"

#define AGENT_SC_NR 512 /* x86-64 syscall numbers served (all of them today) */

/* ---- agent-sc.c (follower thread only, except the entries) ---- */

/* The stubs' entry points (assembly in agent-sc.c): save the thread's
 * registers as a struct bpftime_regs, run the sys_enter / sys_exit links,
 * restore. Enter: %eax the number; exit: %ecx the number, %rax the result. */
extern char agent_sc_enter_entry[];
extern char agent_sc_exit_entry[];

/* Their fast path's tables (agent-sc.c), by the number's low 16 bits:
 * non-zero where a link wants the number's enter / exit; the bits say
 * which lists have links (the handlers read only those). */
#define AGENT_SC_WANT        65536
#define AGENT_SC_WANT_EVENT  0x01 /* syscalls/sys_{enter,exit}_X */
#define AGENT_SC_WANT_RAW    0x02 /* raw_syscalls (set for every number) */
#define AGENT_SC_WANT_KPROBE 0x04 /* a kprobe / kretprobe on __x64_sys_X */
#define AGENT_SC_WANT_VFORK  0x08 /* vfork, clone, clone3: counted (agent_sc_watch_vfork) */
extern uint8_t agent_sc_want_enter[AGENT_SC_WANT];
extern uint8_t agent_sc_want_exit[AGENT_SC_WANT];

/* The syscalls whose child may run on its parent's TCB (a vfork child). */
#define AGENT_NR_CLONE  56
#define AGENT_NR_VFORK  58
#define AGENT_NR_CLONE3 435

/* Count vforks in flight (agent_tid_vfork) through the stubs of syscall
 * @nr's sites (vfork; clone and clone3 with CLONE_VFORK), from now on
 * (@on) or no longer. Follower thread (or before it starts). */
void agent_sc_watch_vfork(uint32_t nr, bool on);

/* Is attachment @attach_id linked? */
bool agent_sc_linked(uint32_t attach_id);

/* Link attachment @a (a syscalls/sys_{enter,exit}_X or raw_syscalls event,
 * or a kprobe / kretprobe on __x64_sys_X) to program @p. @return 0,
 * -EINVAL (not a syscall event we know), or -ENOSPC. */
int agent_sc_link(const struct bpftime_catalog_attach *a, struct agent_prog *p);

/* Unlink every link whose attachment is not among @ids[0..n). */
void agent_sc_unlink_others(const uint32_t *ids, uint32_t n);

/* Links in place. */
uint32_t agent_sc_nr_links(void);

/* Does a link want syscall @nr: one on its sys_enter_X or sys_exit_X
 * event or its wrapper's kprobe or kretprobe, or any raw_syscalls link
 * (those want every number)? */
bool agent_sc_nr_wanted(uint64_t nr);

/* ---- agent-sc-sites.c (follower thread only, except site_ip) ---- */

/* Find the syscall sites of every executable file mapping not scanned yet;
 * patch every WINDOW site not patched, and make each `mov $nr,%eax;
 * syscall` site patched exactly while agent_sc_nr_wanted(nr) (patching or
 * unpatching it). Call while any link exists. Logs each file's counts
 * once. */
void agent_sc_sites_sync(void);

/* Put every patched site back. */
void agent_sc_sites_disable(void);

/* Was any site ever patched (the agent's code must then stay mapped)? */
bool agent_sc_sites_ever(void);

/* The address after the syscall of the site whose stub called an entry
 * with return address @ret, or 0. Lock-free (hook path). */
uint64_t agent_sc_site_ip(uint64_t ret);

#endif /* BPFTIME_AGENT_SC_H */
