// SPDX-License-Identifier: MIT
/*
 * "current" as kernel memory, for programs that walk the task struct
 * (libbpf-tools' execsnoop: BPF_CORE_READ(task, real_parent, tgid);
 * mountsnoop: task->nsproxy->mnt_ns->ns.inum; bpftrace's curtask).
 *
 * Each thread that asks gets a slot: five images at the host's offsets
 * (bpftime/task-layout.h, written by the supervisor from the host's BTF,
 * which is what the tools' CO-RE relocations were made against):
 *
 *   +0x0000  task_struct    pid (the thread), tgid, real_parent and parent
 *                           (-> the parent image), group_leader (itself
 *                           for the leader, else -> the leader image),
 *                           comm, nsproxy (-> the nsproxy image)
 *   +0x4000  the parent     pid = tgid = getppid(), comm from /proc/PPID;
 *                           its own pointers NULL (ancestors stop here)
 *   +0x8000  the leader     pid = tgid, comm from /proc/self/comm
 *   +0xc000  nsproxy        mnt_ns (-> the mnt_namespace image)
 *   +0xd000  mnt_namespace  ns.inum from /proc/self/ns/mnt
 *
 * Every other byte reads as 0. Ids are the target's pid namespace's, as
 * bpf_get_current_pid_tgid() gives them here. pid, tgid and the pointers
 * are written by bpf_get_current_task(); the fields that cost a system
 * call are marked stale there and filled when a read reaches them (a
 * comm read is one prctl, the parent's a getppid and its comm file), so
 * a prctl(PR_SET_NAME), a reparenting or a setns() shows on the next
 * call, and a fork child, whose threads have new ids, gets slots of its
 * own. Only the owning thread fills its slot; others read it as it is.
 *
 * Addresses are made up, in the kernel's direct map (AGENT_TASK_BASE +
 * slot * 64 KiB + image): the checked VM refuses a direct load of one
 * (no region covers it), bpf_probe_read_user() and probe_write_user()
 * fail on it as on a kernel address, and only agent_task_span() turns one
 * into our memory, for reading: a program never holds a pointer to the
 * images it could write through.
 */
#include <stdbool.h>
#include "agent-internal.h"
#include "agent-run.h"
#include "agent-sys.h"
#include "agent-task.h"
#include <bpftime/task-layout.h>

#define SLOT_SHIFT  16
#define NR_SLOTS    512
#define IMAGES_SIZE ((uint64_t)NR_SLOTS << SLOT_SHIFT)
#define NO_TASK     (AGENT_TASK_BASE + IMAGES_SIZE) /* past every slot */
#define NO          BPFTIME_TASK_NO_FIELD
#define COMM_LEN    16

enum image { IMG_TASK, IMG_PARENT, IMG_LEADER, IMG_NSPROXY, IMG_MNT_NS, NR_IMAGES };
static const uint32_t image_off[NR_IMAGES] = {0x0000, 0x4000, 0x8000, 0xc000, 0xd000};

/* what a read fills (slot.stale bits) */
#define STALE_COMM   (1u << 0)
#define STALE_PARENT (1u << 1)
#define STALE_PCOMM  (1u << 2)
#define STALE_LCOMM  (1u << 3)
#define STALE_MNT    (1u << 4)
#define STALE_ALL    0x1fu

enum { LAYOUT_UNREAD, LAYOUT_READING, LAYOUT_OK, LAYOUT_ABSENT };

static struct bpftime_task_layout lay;
static uint32_t lay_state;
static uint8_t *images;
static struct {
	uint32_t tid; /* the owner (0: free); never goes back to 0 */
	uint32_t stale;
	uint32_t ppid; /* the parent image's, for its comm */
} slots[NR_SLOTS];

/* ---- the layout ---- */

static bool fits(uint32_t off, uint32_t len, uint32_t size)
{
	return off == NO || (off <= size && size - off >= len);
}

/* Trust nothing in the file that would write past an image. */
static bool layout_valid(const struct bpftime_task_layout *l)
{
	return l->magic == BPFTIME_TASK_LAYOUT_MAGIC && l->version == BPFTIME_TASK_LAYOUT_VERSION &&
	       l->size == sizeof(*l) && l->task_size <= BPFTIME_TASK_IMAGE_MAX &&
	       l->nsproxy_size <= BPFTIME_TASK_SMALL_MAX &&
	       l->mnt_ns_size <= BPFTIME_TASK_SMALL_MAX && fits(l->task_pid, 4, l->task_size) &&
	       fits(l->task_tgid, 4, l->task_size) && fits(l->task_real_parent, 8, l->task_size) &&
	       fits(l->task_parent, 8, l->task_size) &&
	       fits(l->task_group_leader, 8, l->task_size) &&
	       fits(l->task_comm, COMM_LEN, l->task_size) &&
	       fits(l->task_nsproxy, 8, l->task_size) &&
	       fits(l->nsproxy_mnt_ns, 8, l->nsproxy_size) &&
	       fits(l->mnt_ns_inum, 4, l->mnt_ns_size);
}

static int layout_read(void)
{
	char path[PATH_MAX];
	struct agent_buf b;
	const char *dir = agent_session_dir();
	long n;
	int fd;

	if (!dir)
		return -ENOENT;
	agent_buf_init(&b, path, sizeof(path));
	agent_buf_str(&b, dir);
	agent_buf_str(&b, "/" BPFTIME_TASK_LAYOUT_FILE);
	if (b.overflow)
		return -ENAMETOOLONG;
	fd = agent_openat(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	n = agent_read(fd, &lay, sizeof(lay));
	agent_close(fd);
	if (n != (long)sizeof(lay) || !layout_valid(&lay))
		return -EINVAL;
	images = agent_sys_mmap(NULL, IMAGES_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return images ? 0 : -ENOMEM;
}

/* Once per process image; a thread that finds another reading it goes on
 * without (its reads fail this once). */
static bool layout_ready(void)
{
	uint32_t s = __atomic_load_n(&lay_state, __ATOMIC_ACQUIRE);

	if (s == LAYOUT_OK)
		return true;
	if (s != LAYOUT_UNREAD || !__atomic_compare_exchange_n(&lay_state, &s, LAYOUT_READING, 0,
							       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	s = layout_read() ? LAYOUT_ABSENT : LAYOUT_OK;
	if (s == LAYOUT_ABSENT)
		agent_log(agent_session_dir(),
			  "no task layout in the session: task struct reads fail with -EFAULT",
			  NULL);
	__atomic_store_n(&lay_state, s, __ATOMIC_RELEASE);
	return s == LAYOUT_OK;
}

/* ---- slots and images ---- */

static uint64_t addr_of(uint32_t slot, enum image i)
{
	return AGENT_TASK_BASE + ((uint64_t)slot << SLOT_SHIFT) + image_off[i];
}

static uint8_t *image(uint32_t slot, enum image i)
{
	return images + ((uint64_t)slot << SLOT_SHIFT) + image_off[i];
}

static void put32(uint8_t *img, uint32_t off, uint32_t v)
{
	if (off != NO)
		memcpy(img + off, &v, sizeof(v));
}

static void put64(uint8_t *img, uint32_t off, uint64_t v)
{
	if (off != NO)
		memcpy(img + off, &v, sizeof(v));
}

static bool claim(uint32_t j, uint32_t old, uint32_t tid)
{
	return __atomic_compare_exchange_n(&slots[j].tid, &old, tid, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

/* The slot of @tid: its own, a free one, or (the table full) one whose
 * thread is gone from process @pid; -1 when none. */
static int slot_of(uint32_t tid, uint32_t pid)
{
	for (uint32_t i = 0; i < NR_SLOTS; i++) {
		uint32_t j = (tid + i) % NR_SLOTS;
		uint32_t t = __atomic_load_n(&slots[j].tid, __ATOMIC_ACQUIRE);

		if (t == tid || (!t && claim(j, 0, tid)))
			return (int)j;
	}
	for (uint32_t j = 0; j < NR_SLOTS; j++) {
		uint32_t t = __atomic_load_n(&slots[j].tid, __ATOMIC_ACQUIRE);

		if (agent_tgkill((int)pid, (int)t, 0) == -ESRCH && claim(j, t, tid))
			return (int)j;
	}
	return -1;
}

/* What bpf_get_current_task() writes at once: ids and pointers. */
static void fill_now(uint32_t s, uint32_t tid, uint32_t pid)
{
	uint8_t *t = image(s, IMG_TASK), *l = image(s, IMG_LEADER);
	uint64_t parent = addr_of(s, IMG_PARENT), nsproxy = addr_of(s, IMG_NSPROXY);
	uint64_t leader = tid == pid ? addr_of(s, IMG_TASK) : addr_of(s, IMG_LEADER);

	put32(t, lay.task_pid, tid);
	put32(t, lay.task_tgid, pid);
	put64(t, lay.task_real_parent, parent);
	put64(t, lay.task_parent, parent);
	put64(t, lay.task_group_leader, leader);
	put64(t, lay.task_nsproxy, nsproxy);
	/* the leader: the same process, parent and namespaces */
	put32(l, lay.task_pid, pid);
	put32(l, lay.task_tgid, pid);
	put64(l, lay.task_real_parent, parent);
	put64(l, lay.task_parent, parent);
	put64(l, lay.task_group_leader, leader);
	put64(l, lay.task_nsproxy, nsproxy);
	put64(image(s, IMG_NSPROXY), lay.nsproxy_mnt_ns, addr_of(s, IMG_MNT_NS));
}

uint64_t agent_task_current(uint32_t tid, uint32_t pid)
{
	int s;

	if (!layout_ready())
		return NO_TASK;
	s = slot_of(tid, pid);
	if (s < 0)
		return NO_TASK;
	fill_now((uint32_t)s, tid, pid);
	__atomic_store_n(&slots[s].stale, STALE_ALL, __ATOMIC_RELAXED);
	return addr_of((uint32_t)s, IMG_TASK);
}

/* ---- what a read fills ---- */

/* A comm file's first line, NUL-padded to 16 bytes as task->comm is. */
static void read_comm(const char *path, uint8_t *dst)
{
	char buf[COMM_LEN + 1];
	long n;
	int fd = agent_openat(path, O_RDONLY | O_CLOEXEC, 0);

	memset(dst, 0, COMM_LEN);
	if (fd < 0)
		return;
	n = agent_read(fd, buf, sizeof(buf));
	agent_close(fd);
	for (long i = 0; i < n && i < COMM_LEN - 1 && buf[i] != '\n'; i++)
		dst[i] = (uint8_t)buf[i];
}

static void fill_parent_comm(uint8_t *dst, uint32_t ppid)
{
	char path[32];
	struct agent_buf b;

	if (!ppid) { /* in another pid namespace: unknown here */
		memset(dst, 0, COMM_LEN);
		return;
	}
	agent_buf_init(&b, path, sizeof(path));
	agent_buf_str(&b, "/proc/");
	agent_buf_num(&b, ppid);
	agent_buf_str(&b, "/comm");
	read_comm(path, dst);
}

/* ns.inum: the number in readlink("/proc/self/ns/mnt"), "mnt:[N]" */
static uint32_t mnt_ns_inum(void)
{
	char buf[64];
	long n = agent_readlink("/proc/self/ns/mnt", buf, sizeof(buf));
	uint64_t v = 0;
	long i = 0;

	while (i < n && buf[i] != '[')
		i++;
	for (i++; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');
	return (uint32_t)v;
}

/* Does [rel, rel + len) meet the field at @off of @flen bytes? */
static bool meets(uint32_t rel, uint32_t len, uint32_t off, uint32_t flen)
{
	return off != NO && rel < off + flen && off < rel + (uint64_t)len;
}

/* Take @bit from the slot's stale set: true when it was there. */
static bool take(uint32_t s, uint32_t bit)
{
	uint32_t v = __atomic_load_n(&slots[s].stale, __ATOMIC_RELAXED);

	if (!(v & bit))
		return false;
	__atomic_store_n(&slots[s].stale, v & ~bit, __ATOMIC_RELAXED);
	return true;
}

static void fill_lazy(uint32_t s, enum image i, uint32_t rel, uint32_t len)
{
	uint8_t *img = image(s, i);
	char comm[COMM_LEN];

	switch (i) {
	case IMG_TASK:
		if (meets(rel, len, lay.task_comm, COMM_LEN) && take(s, STALE_COMM)) {
			memset(comm, 0, sizeof(comm));
			agent_get_comm(comm);
			comm[COMM_LEN - 1] = 0;
			memcpy(img + lay.task_comm, comm, COMM_LEN);
		}
		break;
	case IMG_PARENT:
		if (take(s, STALE_PARENT)) {
			slots[s].ppid = (uint32_t)agent_syscall3(__NR_getppid, 0, 0, 0);
			put32(img, lay.task_pid, slots[s].ppid);
			put32(img, lay.task_tgid, slots[s].ppid);
		}
		if (meets(rel, len, lay.task_comm, COMM_LEN) && take(s, STALE_PCOMM))
			fill_parent_comm(img + lay.task_comm, slots[s].ppid);
		break;
	case IMG_LEADER:
		if (meets(rel, len, lay.task_comm, COMM_LEN) && take(s, STALE_LCOMM))
			read_comm("/proc/self/comm", img + lay.task_comm);
		break;
	case IMG_MNT_NS:
		if (meets(rel, len, lay.mnt_ns_inum, 4) && take(s, STALE_MNT))
			put32(img, lay.mnt_ns_inum, mnt_ns_inum());
		break;
	default:
		break;
	}
}

const void *agent_task_span(uint64_t addr, uint32_t len, uint32_t tid, uint32_t *avail)
{
	uint32_t size[NR_IMAGES], s, off;

	*avail = 0;
	if (__atomic_load_n(&lay_state, __ATOMIC_ACQUIRE) != LAYOUT_OK || addr < AGENT_TASK_BASE ||
	    addr - AGENT_TASK_BASE >= IMAGES_SIZE)
		return NULL;
	s = (uint32_t)((addr - AGENT_TASK_BASE) >> SLOT_SHIFT);
	off = (uint32_t)(addr & ((1u << SLOT_SHIFT) - 1));
	size[IMG_TASK] = size[IMG_PARENT] = size[IMG_LEADER] = lay.task_size;
	size[IMG_NSPROXY] = lay.nsproxy_size;
	size[IMG_MNT_NS] = lay.mnt_ns_size;
	for (int i = 0; i < NR_IMAGES; i++) {
		uint32_t rel = off - image_off[i];

		if (off < image_off[i] || rel >= size[i])
			continue;
		/* a slot never handed out has no image */
		if (!__atomic_load_n(&slots[s].tid, __ATOMIC_ACQUIRE))
			return NULL;
		if (__atomic_load_n(&slots[s].tid, __ATOMIC_RELAXED) == tid)
			fill_lazy(s, (enum image)i, rel, len);
		*avail = size[i] - rel;
		return image(s, (enum image)i) + rel;
	}
	return NULL;
}
