// SPDX-License-Identifier: MIT
/*
 * `bpftime status`: the session's objects, one line each, by type and id,
 * named as bpftool names them (map and program types in lower case).
 */
#include "emul-internal.h"

static const char *const map_types[] = {
    [BPF_MAP_TYPE_HASH] = "hash",
    [BPF_MAP_TYPE_ARRAY] = "array",
    [BPF_MAP_TYPE_PROG_ARRAY] = "prog_array",
    [BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "perf_event_array",
    [BPF_MAP_TYPE_PERCPU_HASH] = "percpu_hash",
    [BPF_MAP_TYPE_PERCPU_ARRAY] = "percpu_array",
    [BPF_MAP_TYPE_STACK_TRACE] = "stack_trace",
    [BPF_MAP_TYPE_CGROUP_ARRAY] = "cgroup_array",
    [BPF_MAP_TYPE_LRU_HASH] = "lru_hash",
    [BPF_MAP_TYPE_LRU_PERCPU_HASH] = "lru_percpu_hash",
    [BPF_MAP_TYPE_LPM_TRIE] = "lpm_trie",
    [BPF_MAP_TYPE_ARRAY_OF_MAPS] = "array_of_maps",
    [BPF_MAP_TYPE_HASH_OF_MAPS] = "hash_of_maps",
    [BPF_MAP_TYPE_QUEUE] = "queue",
    [BPF_MAP_TYPE_STACK] = "stack",
    [BPF_MAP_TYPE_RINGBUF] = "ringbuf",
    [BPF_MAP_TYPE_BLOOM_FILTER] = "bloom_filter",
};

static const char *const prog_types[] = {
    [BPF_PROG_TYPE_SOCKET_FILTER] = "socket_filter",
    [BPF_PROG_TYPE_KPROBE] = "kprobe",
    [BPF_PROG_TYPE_SCHED_CLS] = "sched_cls",
    [BPF_PROG_TYPE_SCHED_ACT] = "sched_act",
    [BPF_PROG_TYPE_TRACEPOINT] = "tracepoint",
    [BPF_PROG_TYPE_XDP] = "xdp",
    [BPF_PROG_TYPE_PERF_EVENT] = "perf_event",
    [BPF_PROG_TYPE_RAW_TRACEPOINT] = "raw_tracepoint",
    [BPF_PROG_TYPE_TRACING] = "tracing",
    [BPF_PROG_TYPE_SYSCALL] = "syscall",
};

#define NAME_OF(table, i)                                                                          \
	((i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : "unknown")

static void dump_map(FILE *out, const struct emul_obj *o)
{
	const struct bpftime_map_attr *a = bpftime_map__attr(o->map.m);

	fprintf(out, "map %u: %s  name %.16s  key %uB  value %uB  max_entries %u  flags 0x%x\n",
		o->id, NAME_OF(map_types, a->map_type), a->map_name, a->key_size, a->value_size,
		a->max_entries, a->map_flags);
}

static void dump_prog(FILE *out, const struct emul_obj *o)
{
	const struct emul_prog *p = &o->prog;

	fprintf(out, "prog %u: %s  name %.16s  insns %u  maps %u\n", o->id,
		NAME_OF(prog_types, p->type), p->name, p->insn_cnt, p->nr_maps);
}

static void dump_link(FILE *out, const struct emul_obj *o)
{
	fprintf(out, "link %u: perf_event  prog %u  perf event %u\n", o->id,
		o->link.prog ? o->link.prog->id : 0, o->link.target ? o->link.target->id : 0);
}

static void dump_perf(FILE *out, const struct emul_obj *o)
{
	const struct emul_perf *p = &o->perf;
	const char *state = p->enabled ? "enabled" : "disabled";
	uint32_t prog = p->prog ? p->prog->id : 0;

	switch (p->kind) {
	case EMUL_PERF_UPROBE:
		fprintf(out, "perf event %u: %s %s+0x%llx  pid %d  prog %u  %s\n", o->id,
			p->retprobe ? "uretprobe" : "uprobe", p->path ? p->path : "?",
			(unsigned long long)p->offset, p->pid, prog, state);
		break;
	case EMUL_PERF_KPROBE:
		fprintf(out, "perf event %u: %s %s  pid %d  prog %u  %s\n", o->id,
			p->retprobe ? "kretprobe" : "kprobe", p->path ? p->path : "?", p->pid, prog,
			state);
		break;
	case EMUL_PERF_TRACEPOINT:
		fprintf(out, "perf event %u: tracepoint id %llu  pid %d  prog %u  %s\n", o->id,
			(unsigned long long)p->tp_id, p->pid, prog, state);
		break;
	case EMUL_PERF_OUTPUT:
		fprintf(out, "perf event %u: bpf_output  cpu %d  %s\n", o->id, p->cpu, state);
		break;
	case EMUL_PERF_CPU_CLOCK:
		fprintf(out, "perf event %u: cpu_clock  period %llu  prog %u  %s\n", o->id,
			(unsigned long long)p->sample_period, prog, state);
		break;
	}
}

static void dump_btf(FILE *out, const struct emul_obj *o)
{
	fprintf(out, "btf %u: %s  size %uB\n", o->id, o->btf.kernel ? "vmlinux" : "object",
		o->btf.size);
}

void bpftime_emul__dump(struct bpftime_emul *e, FILE *out)
{
	static const enum emul_obj_type order[] = {EMUL_OBJ_MAP, EMUL_OBJ_PROG, EMUL_OBJ_LINK,
						   EMUL_OBJ_PERF, EMUL_OBJ_BTF};

	pthread_mutex_lock(&e->lock);
	for (size_t t = 0; t < sizeof(order) / sizeof(order[0]); t++) {
		for (struct emul_obj *o = emul_obj_next(e, order[t], 0); o;
		     o = emul_obj_next(e, order[t], o->id)) {
			switch (o->type) {
			case EMUL_OBJ_MAP:
				dump_map(out, o);
				break;
			case EMUL_OBJ_PROG:
				dump_prog(out, o);
				break;
			case EMUL_OBJ_LINK:
				dump_link(out, o);
				break;
			case EMUL_OBJ_PERF:
				dump_perf(out, o);
				break;
			case EMUL_OBJ_BTF:
				dump_btf(out, o);
				break;
			}
		}
	}
	pthread_mutex_unlock(&e->lock);
}
