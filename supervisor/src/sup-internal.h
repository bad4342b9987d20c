/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: the `bpftime` command and its `bpftime-run` alias. One
 * concern per file:
 *
 *   main.c           argv[0] and sub-command dispatch, usage
 *   sup-log.c        the log level and the "bpftime: " lines
 *   sup-opts.c       command-line options of `run` and `status`
 *   sup-session.c    the per-user base directory and session directories
 *   sup-probe.c      is seccomp user notification there? what to tell the user
 *   sup-run.c        `bpftime run`: session, emulator, spawn, serve, exit
 *   sup-run-agent.c  `bpftime run --agent`: TOOL gets the agent (env or ptrace)
 *   sup-loop.c       the one poll loop: listener, signals, TOOL, control socket
 *   sup-signal.c     which signals we forward, and the exit status
 *   sup-handler.c    the seccomp handler: fake root, then the emulator
 *   sup-fakeroot.c   getuid() & co. and capget() answered as root would
 *   sup-control.c    the session's control socket (what `status` asks)
 *   sup-status.c     `bpftime status`: list, ask, clean
 *   sup-start.c      `bpftime start`: CMD with the agent (LD_PRELOAD or ptrace)
 *   sup-attach.c     `bpftime attach/detach PID`, and why ptrace was refused
 *   sup-elf.c        static or dynamic CMD; the agent's segments, relocations
 *   sup-inject.c     mapping the agent into a stopped process, calling it
 *   sup-ptrace.c     syscalls and calls run by a stopped thread, then undone
 *   sup-proc.c       /proc/PID/maps and /proc/PID/status
 *
 * The supervisor's own work is one thread: one poll loop answers the
 * tools' trapped calls, signals, TOOL's exit and control requests in turn,
 * so we never enter the emulator from two threads (its buffer waiters are
 * its own threads, created with our signal mask: the forwarded signals
 * stay blocked everywhere and only the signalfd sees them).
 */
#ifndef BPFTIME_SUP_INTERNAL_H
#define BPFTIME_SUP_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <bpftime/bpf-emul.h>

/* Our own failures, as env(1) and timeout(1) report theirs. */
#define SUP_EXIT_FAILURE  125
#define SUP_EXIT_NOEXEC   126 /* TOOL found but cannot be run */
#define SUP_EXIT_NOTFOUND 127 /* TOOL not found */

/* ---- cleanup (STYLE.md 3) ---- */

static inline void sup_free_ptr(void *p)
{
	free(*(void **)p);
}
static inline void sup_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define cleanup_free  __attribute__((cleanup(sup_free_ptr)))
#define cleanup_close __attribute__((cleanup(sup_close_fd)))

/* Hands a value out of a cleanup-managed local. */
static inline int sup_steal_fd(int *fd)
{
	int v = *fd;

	*fd = -1;
	return v;
}

/* Closes @fd if open and sets it back to -1. */
static inline void sup_close_and_reset(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- log (sup-log.c) ---- */

enum sup_log_level {
	SUP_LOG_ERROR,
	SUP_LOG_WARN,
	SUP_LOG_INFO,
	SUP_LOG_DEBUG,
};

void sup_log(enum sup_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum sup_log_level sup_log_level(void);
void sup_log_set_level(enum sup_log_level level);
/* "error", "warn", "info", "debug" -> level; -EINVAL otherwise. */
int sup_log_parse_level(const char *name);
/* Routes the seccomp module's messages through ours. */
void sup_log_route_seccomp(void);

/* ---- options (sup-opts.c) ---- */

#define SUP_ATTACH_MAX 16

struct sup_opts {
	const char *session;  /* --session NAME; NULL: generated (run), all (status) */
	const char *base_dir; /* --session-dir DIR; NULL: $BPFTIME_SESSION_DIR or the default */
	bool fake_root;       /* run: --fake-root */
	bool agent;           /* run: --agent (TOOL gets the agent too) */
	bool inject;          /* run: --inject (the agent into the pids TOOL's events name) */
	bool interp_only;     /* run: --engine interp (no JIT, no native images) */
	pid_t attach[SUP_ATTACH_MAX]; /* run: --attach PID, each */
	unsigned int nr_attach;
	bool clean; /* status: --clean */
	bool help;
	char **argv; /* run: TOOL and its arguments; start: CMD and its */
	pid_t pid;   /* attach, detach: the target */
};

/* Parses the arguments after `run` (@run) or `status`. -EINVAL with a
 * message when they are wrong. */
int sup_opts_parse(struct sup_opts *o, int argc, char **argv, bool run);
/* The same for `start` (@cmd: -- CMD ARGS) and `attach`/`detach` (PID). */
int sup_opts_parse_agent(struct sup_opts *o, int argc, char **argv, bool cmd);

/* ---- sessions (sup-session.c) ---- */

#define SUP_NAME_MAX 64
/* sockaddr_un.sun_path is 108 bytes: the whole socket path must fit */
#define SUP_SOCK_NAME "control"
/* The session of the first `bpftime run` without --session, and the one
 * `bpftime start` and `attach` join without --session. */
#define SUP_SESSION_DEFAULT "default"

struct sup_session {
	char base[PATH_MAX];
	char name[SUP_NAME_MAX + 1];
	char dir[PATH_MAX];
	char sock[108];
	int lock_fd; /* the directory, flock()ed while its supervisor lives; -1 */
};

/* The per-user directory: @override, $BPFTIME_SESSION_DIR, or
 * /dev/shm/bpftime-<uid>. */
int sup_base_dir(const char *override, char *out, size_t len);
/* Creates @base (0700) or checks that it is ours and private. */
int sup_base_prepare(const char *base);
/* Session names: [A-Za-z0-9._-], 1..SUP_NAME_MAX, not starting with '.'. */
bool sup_name_valid(const char *name);
/* "<tool basename>-<pid>", reduced to valid characters. */
void sup_name_generate(const char *tool, pid_t pid, char *out, size_t len);
/* Fills the paths of session @name under @base (no file is touched). */
int sup_session_init(struct sup_session *s, const char *base, const char *name);
/* Creates the session's directory and takes its lock. -EBUSY: a live
 * supervisor holds it. */
int sup_session_claim(struct sup_session *s);
/* Takes the lock of an existing session without creating anything:
 * -EBUSY when its supervisor lives, -ENOENT when it is gone. */
int sup_session_try_lock(struct sup_session *s);
/* Removes what is left in a stale session (held lock) and the directory. */
int sup_session_remove(struct sup_session *s);
void sup_session_release(struct sup_session *s);
/* The session an agent joins (start, attach): --session NAME or
 * SUP_SESSION_DEFAULT under the base; its directory made when missing, not
 * locked. 0 or -errno with a message. */
int sup_agent_session(const struct sup_opts *o, struct sup_session *s);

/* ---- seccomp availability (sup-probe.c) ---- */

/* 0 when user notification can be used here; else -errno and a message
 * that says what to do. */
int sup_seccomp_probe(void);
/* A message for a failed bpftime_seccomp__spawn (@err < 0). */
void sup_spawn_explain(int err, const char *tool);

/* ---- signals (sup-signal.c) ---- */

/* SIGINT, SIGTERM, SIGHUP and SIGQUIT, blocked and read from a signalfd
 * (TOOL keeps our dispositions, ignored ones included, and gets an empty
 * mask from the spawn). @return the signalfd or -errno. */
int sup_signals_open(void);
struct bpftime_seccomp;
struct sup_session;
/* Reads one signal from @sigfd and forwards it to @tool (0: none any
 * more) unless the terminal already sent it to TOOL's process group, so
 * that a call of TOOL's waiting for its supervisor does not fail with
 * EINTR (bpftime_seccomp__kill): through @sec, TOOL's server, when we
 * serve TOOL; through @owner's supervisor when we joined that session
 * (sup_control_signal); else (both NULL, or that fails) a plain kill.
 * @return the signal, 0 when there was none. */
int sup_signals_forward(int sigfd, pid_t tool, struct bpftime_seccomp *sec,
			const struct sup_session *owner);
/* A wait status as a shell reports it: the exit code, or 128 + signal. */
int sup_exit_status(int wstatus);

/* ---- the handler (sup-handler.c, sup-fakeroot.c) ---- */

struct sup_ctx {
	struct bpftime_emul *emul;
	bool fake_root;
	unsigned int cap_last; /* /proc/sys/kernel/cap_last_cap */
	const char *agent;     /* run --agent: its calls are the kernel's; NULL */
};

long sup_handle(void *ctx, struct bpftime_caller *caller, long nr, const uint64_t args[6]);
/* The syscalls to trap: the emulator's, plus the fake-root ones. Malloc'ed,
 * terminated by -1; NULL on ENOMEM. */
int *sup_trapped_syscalls(bool fake_root);
/* The fake-root answer to @nr, or BPFTIME_EMUL_CONTINUE. */
long sup_fakeroot(const struct sup_ctx *ctx, struct bpftime_caller *caller, long nr,
		  const uint64_t args[6]);
extern const int sup_fakeroot_syscalls[];
unsigned int sup_cap_last(void);

/* ---- servers and the loop (sup-loop.c) ---- */

#define SUP_JOIN_MAX 16
#define SUP_CMD_MAX  256

/* One listener we answer: TOOL's, or that of a tool which joined the
 * session from another `bpftime run --session NAME`. */
struct sup_server {
	struct bpftime_seccomp *sec; /* owned; NULL: free slot */
	struct sup_ctx ctx;          /* each tool has its own --fake-root */
	pid_t pid;                   /* the tool whose filter it is */
	char cmd[SUP_CMD_MAX];       /* its command line, for status */
};

struct sup_loop {
	int sigfd; /* not owned */
	int ctlfd; /* not owned; -1 in a supervisor that joined another */
	const struct sup_session *session;
	pid_t tool;                /* our child: reaped here, then 0 */
	struct bpftime_emul *emul; /* NULL in a supervisor that joined another */
	bool joined;               /* we joined another's session */
	/* [0]: TOOL's listener (none when we joined); [1..]: joined tools */
	struct sup_server srv[1 + SUP_JOIN_MAX];
};

/* Serves until TOOL exits and, in the session's owner, until every joined
 * tool is gone. @return 0 with TOOL's @wstatus, or -errno. */
int sup_loop_run(struct sup_loop *l, int *wstatus);
/* Frees every server (their tools' pending calls fail with ENOSYS). */
void sup_loop_release(struct sup_loop *l);
/* "argv[0] argv[1] ..." cut to fit. */
void sup_cmdline(char *const argv[], char *out, size_t len);

/* ---- control socket (sup-control.c) ---- */

/* A listener handed over by a joining supervisor. */
struct sup_join {
	int client;   /* the connection, to answer; -1 */
	int listener; /* owned until taken; -1 */
	pid_t pid;
	bool fake_root;
	char cmd[SUP_CMD_MAX];
};

/* Binds and listens on @s->sock. @return the socket or -errno. */
int sup_control_open(const struct sup_session *s);
/* Accepts one client on @ctl and answers a status request; 1 when the
 * client hands over a listener instead (@join filled: answer it with
 * sup_control_join_reply), 0 otherwise. */
int sup_control_answer(int ctl, struct sup_loop *l, struct sup_join *join);
/* Tells the joining supervisor how it went (@err 0 or -errno) and closes
 * what @join still holds. */
void sup_control_join_reply(struct sup_join *join, int err);
/* Connects to a session's socket and copies the answer to @out.
 * -ECONNREFUSED or -ENOENT when no supervisor listens. */
int sup_control_ask(const struct sup_session *s, FILE *out);
/* Asks the session's supervisor, which serves our TOOL @pid since we
 * joined it, to send @sig to it ("signal" request). 0, or -errno. */
int sup_control_signal(const struct sup_session *s, pid_t pid, int sig);
/* Hands @listener (of TOOL @pid) to the session's supervisor. 0 once it
 * serves it, or -errno with a message. */
int sup_control_join(const struct sup_session *s, int listener, pid_t pid, bool fake_root,
		     char *const argv[]);

/* ---- ELF files: CMD and the agent (sup-elf.c) ---- */

enum {
	SUP_ELF_DYNAMIC = 1, /* PT_INTERP: the dynamic loader honours LD_PRELOAD */
	SUP_ELF_STATIC,      /* x86-64 without PT_INTERP: ptrace */
	SUP_ELF_OTHER,       /* not ELF (a script: its interpreter decides) */
	SUP_ELF_FOREIGN,     /* ELF, but not x86-64 */
};

/* One of the SUP_ELF_* kinds of the file at @path, or -errno. */
int sup_elf_kind(const char *path);

#define SUP_AGENT_MAX_LOADS 8

struct sup_agent_load {
	uint64_t vaddr, memsz, filesz, offset;
	int prot; /* PROT_* */
};

struct sup_agent_rel {
	uint64_t offset, addend; /* R_X86_64_RELATIVE: *(base + offset) = base + addend */
};

/* What the injector needs of libbpftime-agent.so. */
struct sup_agent_image {
	char path[PATH_MAX]; /* absolute */
	dev_t dev;           /* the file, to find it in a target's maps */
	ino_t ino;
	struct sup_agent_load load[SUP_AGENT_MAX_LOADS];
	int nload;
	uint64_t span;             /* bytes from the first segment to the end of the last */
	struct sup_agent_rel *rel; /* owned */
	size_t nrel;
	uint64_t sym_main, sym_detach, sym_trap; /* offsets from the base */
};

/* The agent: $BPFTIME_AGENT, or next to the bpftime binary (../lib,
 * ../<libdir>). @out gets the real path (PATH_MAX bytes). */
int sup_agent_path(char *out, size_t len);
/* Reads @path; -ENOEXEC (with a message) when the injector cannot load
 * it. Free with sup_agent_image_free(). */
int sup_agent_image_load(struct sup_agent_image *img, const char *path);
void sup_agent_image_free(struct sup_agent_image *img);

/* ---- /proc (sup-proc.c) ---- */

/* The first mapping whose name is @name ("[vdso]"). -ENOENT. */
int sup_proc_find_mapping(pid_t pid, const char *name, uint64_t *start, uint64_t *end);
/* Where @img's file is mapped in @pid: 1 with @base, 0 when it is not,
 * -ESTALE (with a message) when another file of that name is. */
int sup_proc_find_agent(pid_t pid, const struct sup_agent_image *img, uint64_t *base);
/* The value of "Key:" in /proc/PID/status. */
int sup_proc_status(pid_t pid, const char *key, char *out, size_t len);

/* ---- a stopped thread that runs our calls (sup-ptrace.c) ---- */

struct sup_tracee {
	pid_t pid;
	int memfd; /* /proc/PID/mem, owned; -1 */
	bool attached, gone, regs_saved, fxsave_only, fault, sc_patched;
	struct user_regs_struct saved; /* restored on release */
	uint8_t *xstate;               /* XSAVE area (or FXSAVE), owned */
	struct iovec xiov;
	uint64_t sc_addr;   /* a `syscall` instruction in the target */
	uint8_t sc_orig[2]; /* what was at sc_addr when we had to write one */
	uint64_t trap;      /* the return address of calls: an int3 */
	int pending[8];     /* signals that arrived while we held it */
	int npending;
};

/* PTRACE_SEIZE + PTRACE_INTERRUPT; -EPERM when ptrace is refused. */
int sup_tracee_seize(struct sup_tracee *t, pid_t pid);
/* A child that did PTRACE_TRACEME and is in its post-exec stop. */
int sup_tracee_adopt(struct sup_tracee *t, pid_t pid);
/* Saves registers and FPU state, finds a syscall instruction. */
int sup_tracee_prepare(struct sup_tracee *t);
int sup_tracee_read(struct sup_tracee *t, uint64_t addr, void *buf, size_t len);
int sup_tracee_write(struct sup_tracee *t, uint64_t addr, const void *buf, size_t len);
/* The target makes syscall @nr: 0 with its result in @ret (maybe -errno),
 * or -errno of ptrace. */
int sup_tracee_syscall(struct sup_tracee *t, long *ret, long nr, long a, long b, long c, long d,
		       long e, long f);
/* Calls @fn(@arg) with RSP below @stack_top, returning into t->trap.
 * -EFAULT when the code faulted (logged). */
int sup_tracee_call(struct sup_tracee *t, uint64_t fn, uint64_t arg, uint64_t stack_top, long *ret);
/* Restores what prepare saved, detaches, re-sends the signals it held. */
void sup_tracee_release(struct sup_tracee *t);

/* ---- injection (sup-inject.c) ---- */

/* Maps @img into the stopped @t and calls bpftime_agent_main(@session). */
int sup_inject_agent(struct sup_tracee *t, const struct sup_agent_image *img, const char *session,
		     uint64_t *base);
/* Calls the entry at @base + @sym with @session (or NULL) as argument;
 * *@ret: its int result. */
int sup_inject_call(struct sup_tracee *t, const struct sup_agent_image *img, uint64_t base,
		    uint64_t sym, const char *session, long *ret);

/* ---- commands ---- */

int sup_cmd_run(const struct sup_opts *o);
int sup_cmd_status(const struct sup_opts *o);
/* sup-trace.c: `bpftime trace`, the session's trace_pipe lines on stdout */
int sup_cmd_trace(const struct sup_opts *o);
int sup_cmd_start(const struct sup_opts *o);
/* sup-start.c, for `run --agent` too: execvp's PATH search for @cmd (0,
 * -ENOENT, -EACCES); LD_PRELOAD = the old value + @agent in our
 * environment (what a child we exec inherits). */
int sup_find_cmd(const char *cmd, char *out, size_t len);
int sup_set_preload(const char *agent);

/* `run --agent` (sup-run-agent.c). prepare: before the spawn, sets our
 * environment for a dynamic TOOL (LD_PRELOAD, the session); started: after
 * it, puts our environment back and, for a static TOOL, injects the agent
 * from a thread while the loop serves; finish: after the loop. */
struct sup_run_agent {
	char agent[PATH_MAX];
	char session[PATH_MAX];
	bool env_set, inject, started;
	pthread_t thread;
};
int sup_run_agent_prepare(const struct sup_opts *o, const char *session_dir,
			  struct sup_run_agent *ra);
int sup_run_agent_started(struct sup_run_agent *ra, pid_t pid);
void sup_run_agent_finish(struct sup_run_agent *ra);
/* The agent's own calls in @srv's processes go to the kernel, when
 * @srv->ctx.agent is set. */
void sup_run_agent_exempt(struct sup_server *srv);
int sup_cmd_attach(const struct sup_opts *o);
int sup_cmd_detach(const struct sup_opts *o);
/* The agent into process @pid, in the session of directory @dir, as
 * `bpftime attach` does: 0, or -errno with a line saying why. */
int sup_attach_into(pid_t pid, const char *dir);

#endif /* BPFTIME_SUP_INTERNAL_H */
