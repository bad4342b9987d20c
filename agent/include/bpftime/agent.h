/* SPDX-License-Identifier: MIT */
/*
 * The bpftime agent: libbpftime-agent.so, the library that lives inside
 * traced processes. It is freestanding (no libc, no TLS, no DT_NEEDED, only
 * R_X86_64_RELATIVE relocations) so that one file serves every target:
 *
 *   - dynamic processes load it with LD_PRELOAD (`bpftime start`); its ELF
 *     constructor finds the session in the environment;
 *   - static processes and running ones get it from the supervisor over
 *     ptrace (`bpftime start` of a static program, `bpftime attach`): the
 *     injector maps the PT_LOAD segments, applies the relative relocations
 *     and calls bpftime_agent_main() on one of the target's threads.
 *
 * Today the agent announces itself (a file agent-<pid> in the session
 * directory holding "pid exe") and logs to <session>/agent.log; mapping the
 * session's catalog and patching code come next (issue 5).
 */
#ifndef BPFTIME_AGENT_H
#define BPFTIME_AGENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable that `bpftime start` sets for the target: the
 * full path of the session directory the agent joins. Not
 * BPFTIME_SESSION_DIR, which `bpftime run` reads as the directory where
 * sessions live (their parent): a target that runs `bpftime run` itself
 * must not inherit a session as its base. */
#define BPFTIME_AGENT_SESSION_ENV "BPFTIME_AGENT_SESSION_DIR"

/* The file name of the agent, as installed next to libbpftime's libraries. */
#define BPFTIME_AGENT_SONAME "libbpftime-agent.so"

/* The agent's proof of life in the session directory: "agent-<pid>",
 * holding one line "<pid> <exe>\n"; written atomically (rename). */
#define BPFTIME_AGENT_FILE_PREFIX "agent-"

/**
 * @brief Joins the session in @session_dir: the entry point for injectors,
 * also called by the agent's ELF constructor when LD_PRELOAD loaded it.
 *
 * Runs once per process image: a second call returns -EALREADY until
 * bpftime_agent_detach() has run. Runs on whatever thread the injector
 * stopped, without TLS, on a stack of at least 16 KiB (the injector's own,
 * since the thread's may be a small one, such as a goroutine's), and calls
 * no function of the target.
 *
 * @param session_dir absolute path of the session directory (copied)
 * @return 0, -EINVAL for a NULL, empty or relative path, -ENAMETOOLONG,
 * -EALREADY, or the -errno of creating the proof-of-life file.
 */
int bpftime_agent_main(const char *session_dir);

/**
 * @brief Leaves the session: removes the proof-of-life file (later: undoes
 * every patch). Called by `bpftime detach` through ptrace.
 *
 * @return 1 when the agent was injected (the caller may unmap it once this
 * returned), 0 when the dynamic loader loaded it (it must stay mapped: the
 * loader's link map points into it), -ENOENT when it was not attached.
 */
int bpftime_agent_detach(void);

/**
 * @brief One int3 instruction: the return address an injector pushes
 * before calling bpftime_agent_main() or bpftime_agent_detach(), so that
 * the return stops the thread with SIGTRAP at bpftime_agent_trap + 1.
 * Never call it.
 */
void bpftime_agent_trap(void);

#ifdef __cplusplus
}
#endif

#endif /* BPFTIME_AGENT_H */
