// SPDX-License-Identifier: MIT
/* The task layout (bpftime/task-layout.h): offsets found in a BTF as
 * libbpf's CO-RE finds them (through anonymous members, nested ns.inum),
 * fields past the image cut off, malformed blobs, the session file, and
 * the host's own vmlinux BTF when it is readable. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/btf.h>
#include <bpftime/task-layout.h>

#define INFO(kind, kflag, vlen) (((kflag) << 31) | ((kind) << 24) | ((vlen)&0xffff))
#define NO                      BPFTIME_TASK_NO_FIELD

/* A small BTF builder: type words and a string section. */
struct bb {
	uint32_t t[512];
	uint32_t nt;
	char s[1024];
	uint32_t ns;
	uint32_t next_id;
};

static void bb_init(struct bb *b)
{
	memset(b, 0, sizeof(*b));
	b->ns = 1; /* "" at 0 */
	b->next_id = 1;
}

static uint32_t str(struct bb *b, const char *s)
{
	uint32_t off = b->ns;

	strcpy(b->s + off, s);
	b->ns += strlen(s) + 1;
	return off;
}

static uint32_t ty(struct bb *b, const char *name, uint32_t info, uint32_t size_or_type)
{
	b->t[b->nt++] = name ? str(b, name) : 0;
	b->t[b->nt++] = info;
	b->t[b->nt++] = size_or_type;
	return b->next_id++;
}

static uint32_t int_t(struct bb *b, const char *name, uint32_t size)
{
	uint32_t id = ty(b, name, INFO(BTF_KIND_INT, 0, 0), size);

	b->t[b->nt++] = size * 8;
	return id;
}

static uint32_t ptr_t(struct bb *b, uint32_t to)
{
	return ty(b, NULL, INFO(BTF_KIND_PTR, 0, 0), to);
}

static uint32_t array_t(struct bb *b, uint32_t elem, uint32_t index, uint32_t n)
{
	uint32_t id = ty(b, NULL, INFO(BTF_KIND_ARRAY, 0, 0), 0);

	b->t[b->nt++] = elem;
	b->t[b->nt++] = index;
	b->t[b->nt++] = n;
	return id;
}

/* a struct (or union) header; its @vlen members follow with mem() */
static uint32_t struct_t(struct bb *b, const char *name, uint32_t kind, uint32_t vlen,
			 uint32_t size)
{
	return ty(b, name, INFO(kind, 0, vlen), size);
}

static void mem(struct bb *b, const char *name, uint32_t type, uint32_t byte_off)
{
	b->t[b->nt++] = name ? str(b, name) : 0;
	b->t[b->nt++] = type;
	b->t[b->nt++] = byte_off * 8;
}

/* the blob: header, types, strings; @size set */
static uint8_t *blob(struct bb *b, uint32_t *size)
{
	struct btf_header h = {.magic = BTF_MAGIC,
			       .version = BTF_VERSION,
			       .hdr_len = sizeof(h),
			       .type_len = b->nt * 4,
			       .str_off = b->nt * 4,
			       .str_len = b->ns};
	uint8_t *p;

	*size = sizeof(h) + h.type_len + h.str_len;
	p = malloc(*size);
	assert_non_null(p);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), b->t, h.type_len);
	memcpy(p + sizeof(h) + h.type_len, b->s, h.str_len);
	return p;
}

/*
 * struct task_struct {           size @task_size
 *	int x;                 0
 *	int pid;               8
 *	int tgid;              12
 *	struct task_struct *real_parent;  16
 *	union { struct { char comm[16]; }; long y; };  32 (anonymous)
 *	struct nsproxy *nsproxy;          @nsproxy_at
 * };
 * struct nsproxy { long a; struct mnt_namespace *mnt_ns; };   16
 * struct ns_common { long s; long o; unsigned int inum; };  24
 * struct mnt_namespace { long pad; struct ns_common ns; };  64: ns.inum at 24
 */
static uint8_t *sample(uint32_t task_size, uint32_t nsproxy_at, uint32_t *size)
{
	struct bb b;
	uint32_t i32, i64, chr, u32, comm_a, anon_s, anon_u, task, ptask, nsp, pnsp, nsc, mnt, pmnt;

	bb_init(&b);
	i32 = int_t(&b, "int", 4);
	i64 = int_t(&b, "long", 8);
	chr = int_t(&b, "char", 1);
	u32 = int_t(&b, "unsigned int", 4);
	comm_a = array_t(&b, chr, i32, 16);
	anon_s = struct_t(&b, NULL, BTF_KIND_STRUCT, 1, 16);
	mem(&b, "comm", comm_a, 0);
	anon_u = struct_t(&b, NULL, BTF_KIND_UNION, 2, 16);
	mem(&b, NULL, anon_s, 0);
	mem(&b, "y", i64, 0);
	/* ids: task_struct 8, its pointer 9, nsproxy 10, pointer 11,
	 * ns_common 12, mnt_namespace 13, pointer 14 */
	task = struct_t(&b, "task_struct", BTF_KIND_STRUCT, 6, task_size);
	mem(&b, "x", i32, 0);
	mem(&b, "pid", i32, 8);
	mem(&b, "tgid", i32, 12);
	mem(&b, "real_parent", task + 1, 16);
	mem(&b, NULL, anon_u, 32);
	mem(&b, "nsproxy", task + 3, nsproxy_at);
	ptask = ptr_t(&b, task);
	nsp = struct_t(&b, "nsproxy", BTF_KIND_STRUCT, 2, 16);
	mem(&b, "a", i64, 0);
	mem(&b, "mnt_ns", nsp + 4, 8);
	pnsp = ptr_t(&b, nsp);
	nsc = struct_t(&b, "ns_common", BTF_KIND_STRUCT, 3, 24);
	mem(&b, "s", i64, 0);
	mem(&b, "o", i64, 8);
	mem(&b, "inum", u32, 16);
	mnt = struct_t(&b, "mnt_namespace", BTF_KIND_STRUCT, 2, 64);
	mem(&b, "pad", i64, 0);
	mem(&b, "ns", nsc, 8);
	pmnt = ptr_t(&b, mnt);
	assert_int_equal(ptask, task + 1);
	assert_int_equal(pnsp, task + 3);
	assert_int_equal(pmnt, task + 6);
	return blob(&b, size);
}

static void test_offsets(void **state)
{
	struct bpftime_task_layout l;
	uint32_t size;
	uint8_t *p = sample(4096, 48, &size);

	(void)state;
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), 0);
	assert_int_equal(l.magic, BPFTIME_TASK_LAYOUT_MAGIC);
	assert_int_equal(l.version, BPFTIME_TASK_LAYOUT_VERSION);
	assert_int_equal(l.size, sizeof(l));
	assert_int_equal(l.task_size, 4096);
	assert_int_equal(l.task_pid, 8);
	assert_int_equal(l.task_tgid, 12);
	assert_int_equal(l.task_real_parent, 16);
	assert_int_equal(l.task_comm, 32); /* inside two anonymous members */
	assert_int_equal(l.task_nsproxy, 48);
	/* not in this BTF */
	assert_int_equal(l.task_parent, NO);
	assert_int_equal(l.task_group_leader, NO);
	assert_int_equal(l.nsproxy_size, 16);
	assert_int_equal(l.nsproxy_mnt_ns, 8);
	assert_int_equal(l.mnt_ns_size, 64);
	assert_int_equal(l.mnt_ns_inum, 24); /* ns at 8 + inum at 16 */
	free(p);
}

/* a task_struct larger than the image: cut there, its late fields out */
static void test_cut_off(void **state)
{
	struct bpftime_task_layout l;
	uint32_t size;
	uint8_t *p = sample(20000, 18000, &size);

	(void)state;
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), 0);
	assert_int_equal(l.task_size, BPFTIME_TASK_IMAGE_MAX);
	assert_int_equal(l.task_nsproxy, NO);
	assert_int_equal(l.task_pid, 8);
	free(p);
	/* a field whose last byte is past the image: out too */
	p = sample(20000, BPFTIME_TASK_IMAGE_MAX - 4, &size);
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), 0);
	assert_int_equal(l.task_nsproxy, NO);
	free(p);
	p = sample(20000, BPFTIME_TASK_IMAGE_MAX - 8, &size);
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), 0);
	assert_int_equal(l.task_nsproxy, BPFTIME_TASK_IMAGE_MAX - 8);
	free(p);
}

static void test_malformed(void **state)
{
	struct bpftime_task_layout l;
	struct bb b;
	uint32_t size;
	uint8_t *p = sample(4096, 48, &size);

	(void)state;
	/* cut in the middle of the types */
	memcpy(p + size - 8, "\0\0\0\0\0\0\0\0", 8);
	((struct btf_header *)p)->type_len -= 6;
	((struct btf_header *)p)->str_off -= 6;
	((struct btf_header *)p)->str_len = 1;
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), -EINVAL);
	((struct btf_header *)p)->magic = 0;
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), -EINVAL);
	assert_int_equal(bpftime_task_layout__from_btf(p, 8, &l), -EINVAL);
	free(p);
	/* well formed, no task_struct */
	bb_init(&b);
	int_t(&b, "int", 4);
	p = blob(&b, &size);
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &l), -ENOENT);
	free(p);
}

/* the session file: written whole, read back, unlinked */
static void test_file(void **state)
{
	char dir[] = "/tmp/bpftime-task-layout.XXXXXX", btf[64], path[128];
	struct bpftime_task_layout want, got[2];
	uint32_t size;
	uint8_t *p = sample(4096, 48, &size);
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(btf, sizeof(btf), "%s/btf", dir);
	fd = open(btf, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, size), size);
	close(fd);
	assert_int_equal(bpftime_task_layout__from_btf(p, size, &want), 0);
	assert_int_equal(bpftime_task_layout__write(dir, btf), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, BPFTIME_TASK_LAYOUT_FILE);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	/* exactly one struct */
	assert_int_equal(read(fd, got, sizeof(got)), sizeof(got[0]));
	close(fd);
	assert_memory_equal(&got[0], &want, sizeof(want));
	/* no BTF there: an error, no file */
	bpftime_task_layout__unlink(dir);
	assert_int_equal(access(path, F_OK), -1);
	unlink(btf);
	assert_int_equal(bpftime_task_layout__write(dir, btf), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rmdir(dir), 0);
	free(p);
}

/* The host's BTF: every field the images fill is there, where a kernel
 * puts them (pid_t pid; pid_t tgid; side by side). */
static void test_host(void **state)
{
	struct bpftime_task_layout l;
	char dir[] = "/tmp/bpftime-task-layout.XXXXXX", path[128];
	int fd;

	(void)state;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		print_message("skipped: no readable /sys/kernel/btf/vmlinux\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(bpftime_task_layout__write(dir, NULL), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, BPFTIME_TASK_LAYOUT_FILE);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, &l, sizeof(l)), sizeof(l));
	close(fd);
	bpftime_task_layout__unlink(dir);
	rmdir(dir);
	assert_true(l.task_size > 1024);
	assert_int_equal(l.task_tgid, l.task_pid + 4);
	assert_true(l.task_real_parent != NO && l.task_real_parent % 8 == 0);
	assert_int_equal(l.task_parent, l.task_real_parent + 8);
	assert_true(l.task_group_leader != NO && l.task_comm != NO && l.task_nsproxy != NO);
	assert_true(l.nsproxy_mnt_ns != NO && l.mnt_ns_inum != NO);
	print_message("host: pid %u tgid %u real_parent %u comm %u nsproxy %u mnt_ns %u inum %u\n",
		      l.task_pid, l.task_tgid, l.task_real_parent, l.task_comm, l.task_nsproxy,
		      l.nsproxy_mnt_ns, l.mnt_ns_inum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offsets),   cmocka_unit_test(test_cut_off),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_file),
	    cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
