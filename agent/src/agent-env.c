// SPDX-License-Identifier: MIT
/*
 * The session directory from the environment. The agent cannot use
 * `environ`: it links no libc, and the ELF constructor's arguments differ by
 * loader (glibc's ld.so passes argc, argv and envp to DT_INIT_ARRAY
 * functions, musl's passes nothing, so reading them there would read
 * garbage). /proc/self/environ is the environment the process was exec'd
 * with, which is where LD_PRELOAD and our variable came from, and it reads
 * the same under every libc. It is streamed through a small buffer: the
 * environment can be megabytes (ARG_MAX), the agent's stack cannot.
 *
 * The auxiliary vector comes the same way, from /proc/self/auxv
 * (agent_auxv: AT_HWCAP2 for RDFSBASE, AT_EXECFN for the exec's name).
 */
#include "agent-internal.h"

struct env_scan {
	const char *key;
	size_t keylen;
	size_t at; /* bytes of the current entry seen so far */
	int state; /* 0: matching the key, 1: copying the value, 2: skipping */
	char *out;
	size_t len;
	size_t n; /* value bytes copied */
};

/* One byte of the environment; 1 when the value is complete. */
static int scan_byte(struct env_scan *s, char c)
{
	if (c == '\0') {
		int done = s->state == 1;

		s->at = 0;
		s->state = 0;
		return done;
	}
	if (s->state == 0) {
		if (s->at < s->keylen && c == s->key[s->at])
			s->at++;
		else if (s->at == s->keylen && c == '=')
			s->state = 1;
		else
			s->state = 2;
		return 0;
	}
	if (s->state == 1) {
		/* keep one byte for the NUL; overflow is reported by the caller */
		if (s->n + 1 < s->len)
			s->out[s->n] = c;
		s->n++;
	}
	return 0;
}

long agent_env_get(const char *key, char *out, size_t len)
{
	struct env_scan s = {.key = key, .keylen = agent_strlen(key), .out = out, .len = len};
	char buf[256];
	long n, ret = -ENOENT;
	int fd;

	if (len == 0)
		return -ENAMETOOLONG;
	fd = agent_openat("/proc/self/environ", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	while (ret == -ENOENT && (n = agent_read(fd, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < n; i++) {
			if (scan_byte(&s, buf[i])) {
				ret = (long)s.n;
				break;
			}
		}
	}
	agent_close(fd);
	if (ret < 0)
		return ret;
	if (s.n + 1 > len)
		return -ENAMETOOLONG;
	out[s.n] = '\0';
	return ret;
}

uint64_t agent_auxv(uint64_t type)
{
	uint64_t aux[2 * 64];
	long n;
	int fd = agent_openat("/proc/self/auxv", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	n = agent_read(fd, aux, sizeof(aux));
	agent_close(fd);
	for (long i = 0; i + 1 < n / 8; i += 2)
		if (aux[i] == type)
			return aux[i + 1];
	return 0;
}
