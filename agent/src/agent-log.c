// SPDX-License-Identifier: MIT
/*
 * The agent's log: lines appended to <session>/agent.log. The agent never
 * writes to the target's stdout or stderr (they belong to the target, and
 * may be a pipe someone parses), and it keeps no fd open between lines: a
 * daemon that closes every fd above 2, or dup2()s over ours, must neither
 * lose its own files nor get our lines. So each line is open, one write,
 * close. O_APPEND makes each write land whole at the end even with many
 * agents writing (the kernel takes the file position under the inode lock).
 * Not for the hook path: three syscalls a line.
 */
#include "agent-internal.h"

void agent_buf_init(struct agent_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	if (cap)
		p[0] = '\0';
}

void agent_buf_str(struct agent_buf *b, const char *s)
{
	while (*s) {
		if (b->len + 1 >= b->cap) {
			b->overflow = 1;
			return;
		}
		b->p[b->len++] = *s++;
	}
	b->p[b->len] = '\0';
}

void agent_buf_num(struct agent_buf *b, long v)
{
	char tmp[24];
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	int i = (int)sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	agent_buf_str(b, tmp + i);
}

void agent_buf_hex(struct agent_buf *b, uint64_t v)
{
	char tmp[20];
	int i = (int)sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	agent_buf_str(b, tmp + i);
}

static void log_line(const char *session, const char *line, size_t len)
{
	char path[PATH_MAX];
	struct agent_buf b;
	int fd;

	agent_buf_init(&b, path, sizeof(path));
	agent_buf_str(&b, session);
	agent_buf_str(&b, "/agent.log");
	if (b.overflow)
		return;
	fd = agent_openat(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	agent_write(fd, line, len);
	agent_close(fd);
}

void agent_log(const char *session, const char *a, const char *b)
{
	char line[512];
	struct agent_buf l;

	if (!session)
		return;
	agent_buf_init(&l, line, sizeof(line) - 1);
	agent_buf_str(&l, "agent[");
	agent_buf_num(&l, agent_getpid());
	agent_buf_str(&l, "]: ");
	agent_buf_str(&l, a);
	agent_buf_str(&l, b ? b : "");
	/* room for the newline was kept out of the builder's capacity */
	line[l.len++] = '\n';
	log_line(session, line, l.len);
}

void agent_log_num(const char *session, const char *a, long v)
{
	char num[24];
	struct agent_buf b;

	agent_buf_init(&b, num, sizeof(num));
	agent_buf_num(&b, v);
	agent_log(session, a, num);
}
