// SPDX-License-Identifier: MIT
/*
 * The session's control socket, <session>/control: how other bpftime
 * processes talk to a running supervisor, which alone knows the session's
 * objects (they live in its memory). One request per connection, one line:
 *
 *   "status\n"
 *       answer: "session NAME  supervisor PID\n", a line per tool
 *       ("  tool PID: CMD" / "  joined PID: CMD") and bpftime_emul__dump()'s
 *       lines indented by two spaces; then the server closes.
 *   "join PID FAKE_ROOT CMD\n" with a seccomp listener fd (SCM_RIGHTS)
 *       a second `bpftime run --session NAME` hands over the listener of
 *       its TOOL (PID), so that one emulator answers both tools and they
 *       share maps, programs and ids; answer "ok\n" or "error TEXT\n".
 *   "signal PID SIG\n"
 *       that supervisor forwards a signal to its TOOL (PID), whose calls
 *       we serve: we send it (bpftime_seccomp__kill), so that a call it
 *       has queued with us does not fail with EINTR; answer "ok\n" or
 *       "error TEXT\n". Only for a tool that joined us.
 *
 * The server runs inside the supervisor's poll loop, between two trapped
 * calls, so a client is served with timeouts: one that stops reading
 * cannot stall the tools for more than a second. Only our own uid (or
 * root) is answered; the directory is 0700 anyway.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <bpftime/seccomp.h>
#include "sup-internal.h"

#define REQ_MAX (SUP_CMD_MAX + 64)

static int set_timeouts(int fd, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

static void fill_addr(struct sockaddr_un *sa, const struct sup_session *s)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sup_session_init() checked that the path fits */
	memcpy(sa->sun_path, s->sock, strlen(s->sock) + 1);
}

int sup_control_open(const struct sup_session *s)
{
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa;

	if (fd < 0)
		return -errno;
	fill_addr(&sa, s);
	/* we hold the session's lock: a socket already there is a dead one's */
	unlink(s->sock);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8))
		return -errno;
	return sup_steal_fd(&fd);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == getuid() || cred.uid == 0;
}

/* The fd that came with the message, if any (MSG_CMSG_CLOEXEC: ours only). */
static int take_fd(struct msghdr *msg)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		/* one fd is sent; close any others a client added */
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

/* One request line into @line (NUL-terminated, no '\n'); @fd gets a
 * passed fd or -1. false on EOF, timeout or an over-long line. */
static bool read_request(int client, char *line, size_t len, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = line, .iov_len = len - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t got = 0;
	ssize_t n;

	*fd = -1;
	while (got < len - 1) {
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		iov.iov_base = line + got;
		iov.iov_len = len - 1 - got;
		n = recvmsg(client, &msg, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		if (*fd < 0)
			*fd = take_fd(&msg);
		got += (size_t)n;
		line[got] = '\0';
		if (strchr(line, '\n')) {
			*strchr(line, '\n') = '\0';
			return true;
		}
	}
	sup_close_and_reset(fd);
	return false;
}

static void send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return; /* the client left or timed out: nothing to do */
		buf += n;
		len -= (size_t)n;
	}
}

/* The emulator's lines, indented under the session's line. */
static void write_objects(FILE *f, struct bpftime_emul *emul)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	if (emul)
		bpftime_emul__dump(emul, m);
	if (fclose(m))
		return;
	if (!len) {
		fputs("  no objects\n", f);
		return;
	}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(f, "  %s\n", line);
}

static void answer_status(int client, const struct sup_loop *l)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	fprintf(f, "session %s  supervisor %d\n", l->session->name, (int)getpid());
	for (size_t i = 0; i < sizeof(l->srv) / sizeof(l->srv[0]); i++) {
		const struct sup_server *srv = &l->srv[i];

		if (srv->pid <= 0)
			continue;
		/* TOOL's server goes when TOOL exits; the session may stay for
		 * the tools that joined it */
		fprintf(f, "  %s %d: %s%s\n", i ? "joined" : "tool", (int)srv->pid, srv->cmd,
			srv->sec ? "" : " (exited)");
	}
	write_objects(f, l->emul);
	if (fclose(f) == 0)
		send_all(client, buf, len);
}

/* "join PID FAKE_ROOT CMD" */
static bool parse_join(const char *line, struct sup_join *join)
{
	int pid, fake, off = 0;

	if (sscanf(line, "join %d %d %n", &pid, &fake, &off) != 2 || off == 0 || pid <= 0)
		return false;
	join->pid = pid;
	join->fake_root = fake != 0;
	snprintf(join->cmd, sizeof(join->cmd), "%s", line + off);
	return true;
}

static void reply(int client, int err)
{
	char msg[128];

	if (err)
		snprintf(msg, sizeof(msg), "error %s\n", strerror(-err));
	else
		snprintf(msg, sizeof(msg), "ok\n");
	send_all(client, msg, strlen(msg));
}

/* "signal PID SIG" for a joined tool */
static void answer_signal(int client, struct sup_loop *l, const char *line)
{
	int pid, sig, err = -ESRCH;

	if (sscanf(line, "signal %d %d", &pid, &sig) != 2 || pid <= 0 || sig <= 0 || sig >= NSIG) {
		reply(client, -EINVAL);
		return;
	}
	for (size_t i = 1; i < sizeof(l->srv) / sizeof(l->srv[0]); i++)
		if (l->srv[i].sec && l->srv[i].pid == pid)
			err = bpftime_seccomp__kill(l->srv[i].sec, pid, sig);
	reply(client, err);
}

int sup_control_answer(int ctl, struct sup_loop *l, struct sup_join *join)
{
	cleanup_close int client = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
	cleanup_close int fd = -1;
	char line[REQ_MAX];

	if (client < 0 || !peer_allowed(client) || set_timeouts(client, 1) ||
	    !read_request(client, line, sizeof(line), &fd))
		return 0;
	if (!strcmp(line, "status")) {
		answer_status(client, l);
		return 0;
	}
	if (!strncmp(line, "signal ", 7)) {
		answer_signal(client, l, line);
		return 0;
	}
	memset(join, 0, sizeof(*join));
	if (fd < 0 || !parse_join(line, join)) {
		send_all(client, "error bad request\n", 18);
		return 0;
	}
	join->client = sup_steal_fd(&client);
	join->listener = sup_steal_fd(&fd);
	return 1;
}

void sup_control_join_reply(struct sup_join *join, int err)
{
	reply(join->client, err);
	sup_close_and_reset(&join->client);
	sup_close_and_reset(&join->listener);
}

static int connect_session(const struct sup_session *s)
{
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;

	if (fd < 0)
		return -errno;
	fill_addr(&sa, s);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || set_timeouts(fd, 5))
		return -errno;
	return sup_steal_fd(&fd);
}

/* Sends @req (with @pass as SCM_RIGHTS when >= 0) in one message. */
static int send_request(int fd, const char *req, int pass)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = (void *)req, .iov_len = strlen(req)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (pass >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass, sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return -errno;
	shutdown(fd, SHUT_WR);
	return 0;
}

int sup_control_ask(const struct sup_session *s, FILE *out)
{
	cleanup_close int fd = connect_session(s);
	char buf[4096];
	ssize_t n;
	int err;

	if (fd < 0)
		return fd;
	err = send_request(fd, "status\n", -1);
	if (err)
		return err;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	return n < 0 ? -errno : 0;
}

int sup_control_join(const struct sup_session *s, int listener, pid_t pid, bool fake_root,
		     char *const argv[])
{
	cleanup_close int fd = connect_session(s);
	char req[REQ_MAX], cmd[SUP_CMD_MAX], answer[128] = {0};
	ssize_t n;
	int err;

	if (fd < 0) {
		sup_log(SUP_LOG_ERROR, "cannot reach the supervisor of session %s: %s", s->name,
			strerror(-fd));
		return fd;
	}
	sup_cmdline(argv, cmd, sizeof(cmd));
	snprintf(req, sizeof(req), "join %d %d %s\n", (int)pid, fake_root ? 1 : 0, cmd);
	err = send_request(fd, req, listener);
	if (err)
		return err;
	n = read(fd, answer, sizeof(answer) - 1);
	if (n > 0 && !strncmp(answer, "ok\n", 3))
		return 0;
	answer[strcspn(answer, "\n")] = '\0';
	sup_log(SUP_LOG_ERROR, "the supervisor of session %s refused %s: %s", s->name, argv[0],
		n > 0 ? answer : "no answer");
	return -ECONNREFUSED;
}

int sup_control_signal(const struct sup_session *s, pid_t pid, int sig)
{
	cleanup_close int fd = connect_session(s);
	char req[64], answer[128] = {0};
	ssize_t n;
	int err;

	if (fd < 0)
		return fd;
	snprintf(req, sizeof(req), "signal %d %d\n", (int)pid, sig);
	err = send_request(fd, req, -1);
	if (err)
		return err;
	n = read(fd, answer, sizeof(answer) - 1);
	if (n > 0 && !strncmp(answer, "ok\n", 3))
		return 0;
	answer[strcspn(answer, "\n")] = '\0';
	sup_log(SUP_LOG_DEBUG, "the supervisor of session %s did not signal pid %d: %s", s->name,
		(int)pid, n > 0 ? answer : "no answer");
	return -ECONNREFUSED;
}
