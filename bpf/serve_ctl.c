/*
 * serve_ctl.c: the control connections of exai-egress serve (serve.h, ctl.h). A connection
 * is accepted, its peer's credentials taken (SO_PEERCRED: the kernel's word, not the
 * client's) and checked against control.allow_uids at once; then one request line is read
 * (non-blocking, at most EGRESS_CTL_MAX bytes within SERVE_CTL_WAIT_MS), handled, answered
 * with one reply line, and the connection closed. Every reload, done or refused, and every
 * refused peer is also an event (kind "reload"), so the mirror shows who changed the policy.
 *
 * Only files under the config's policy_dirs are read (after resolving symlinks), with the
 * daemon's trust_root; the request cannot choose a root, a mode or a pin directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctl.h"
#include "egress_cli.h"
#include "serve.h"

static void conn_close(serve *S, serve_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(S->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Writes @line (taken) and a newline; the connection is made blocking with a 2 s bound, so
 * a client that never reads cannot hold the daemon. */
static void send_reply(int fd, char *line)
{
	struct timeval tv = {.tv_sec = 2};
	int fl = fcntl(fd, F_GETFL);

	if (!line)
		return;
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) >= 0)
		(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
	free(line);
}

static void note(serve *S, uid_t uid, pid_t pid, int rc, const char *policy, unsigned gen,
		 const char *msg)
{
	json_t *o = json_object();
	char text[1400];

	snprintf(text, sizeof(text), "reload %s by uid=%u pid=%d: %s", rc ? "refused" : "ok",
		 (unsigned)uid, (int)pid, msg);
	fprintf(stderr, "exai-egress serve: %s\n", text);
	if (!o)
		return;
	json_object_set_new(o, "kind", json_string("reload"));
	json_object_set_new(o, "outcome", json_string(rc ? "refused" : "ok"));
	json_object_set_new(o, "peer_uid", json_integer(uid));
	json_object_set_new(o, "peer_pid", json_integer(pid));
	if (policy)
		json_object_set_new(o, "policy", json_string(policy));
	if (!rc)
		json_object_set_new(o, "generation", json_integer(gen));
	json_object_set_new(o, "exit", json_integer(rc));
	json_object_set_new(o, "message", json_string(msg));
	(void)serve_spool_own(S, o, text);
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* @path resolved into @out (PATH_MAX), which must be under one of the policy_dirs. */
static int resolve_under(serve *S, const char *path, char *out, exai_error *e)
{
	char dir[PATH_MAX];

	if (!realpath(path, out)) {
		exai_error_sys(e, EXAI_EIO, "%s", path);
		return EXAI_EXIT_USAGE;
	}
	for (size_t i = 0; i < S->cfg->npolicy_dirs; i++)
		if (realpath(S->cfg->policy_dirs[i], dir) && under(out, dir))
			return EXAI_EXIT_OK;
	exai_error_set(e, EXAI_EREFUSED, "%s is under none of the policy_dirs of %s (refused)",
		       path, S->cfg->path);
	return EXAI_EXIT_FAIL;
}

/* Puts the files the request names into @a; the exit code. */
static int request_files(serve *S, const egress_ctl_req *q, egress_apply_args *a,
			 egress_reload_paths *paths, char (*res)[PATH_MAX], exai_error *e)
{
	int rc = resolve_under(S, q->policy_dir ? q->policy_dir : q->policy, res[0], e);

	if (rc)
		return rc;
	if (q->policy_dir)
		return egress_reload_find(res[0], !q->unsigned_ok, a, paths, e) ? EXAI_EXIT_USAGE
										: EXAI_EXIT_OK;
	a->policy = res[0];
	for (size_t i = 0; i < q->nsigs; i++) {
		if ((rc = resolve_under(S, q->sigs[i], res[1 + i], e)))
			return rc;
		a->sigs[a->nsigs++] = res[1 + i];
	}
	return EXAI_EXIT_OK;
}

static void handle(serve *S, serve_conn *c, const char *line, size_t len)
{
	static char res[1 + EGRESS_MAX_SIGS][PATH_MAX];
	egress_reload_paths *paths = calloc(1, sizeof(*paths));
	egress_apply_args a = {
	    .mode = -1, .adopt_only = true, .pin_dir = S->pin_dir, .state_dir = S->cfg->state_dir};
	egress_apply_result r = {0};
	egress_ctl_req q;
	exai_error e = {0};
	char msg[1024];
	int rc = EXAI_EXIT_FAIL;

	memset(&q, 0, sizeof(q));
	if (!paths)
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
	else if (egress_ctl_req_parse(line, len, &q, &e))
		rc = EXAI_EXIT_USAGE;
	else if (q.unsigned_ok && !S->cfg->allow_unsigned)
		exai_error_set(&e, EXAI_EREFUSED,
			       "an unsigned policy is refused: allow_unsigned is off in %s",
			       S->cfg->path);
	else if (!q.unsigned_ok && !S->cfg->trust_root)
		exai_error_set(&e, EXAI_EREFUSED,
			       "%s has no trust_root: only unsigned policies (allow_unsigned) "
			       "can be reloaded",
			       S->cfg->path);
	else if (!(rc = request_files(S, &q, &a, paths, res, &e))) {
		a.unsigned_ok = q.unsigned_ok;
		a.root = q.unsigned_ok ? NULL : S->cfg->trust_root;
		if (q.unsigned_ok)
			a.nsigs = 0;
		rc = egress_apply_do(&a, &r, &e);
	}
	if (rc == EXAI_EXIT_OK) {
		egress_apply_summary(&a, &r, msg, sizeof(msg));
		send_reply(c->fd, egress_ctl_reply_ok(r.generation, msg));
		note(S, c->uid, c->pid, rc, a.policy, r.generation, msg);
	} else {
		send_reply(c->fd, egress_ctl_reply_fail(rc, &e));
		note(S, c->uid, c->pid, rc, a.policy, 0, e.msg);
	}
	egress_ctl_req_free(&q);
	free(paths);
}

/* Refuses a connection at once, with a reply line. The event is made at most once a second
 * (a peer that may connect but not ask could otherwise fill the spool); the next one says
 * how many were refused without one. */
static void refuse(serve *S, int fd, uid_t uid, pid_t pid, const char *why)
{
	exai_error e = {0};
	int64_t now = serve_now_ms();

	exai_error_set(&e, EXAI_EREFUSED, "%s", why);
	send_reply(fd, egress_ctl_reply_fail(EXAI_EXIT_FAIL, &e));
	close(fd);
	if (now - S->refused_ms < 1000) {
		S->refused_quiet++;
		return;
	}
	if (S->refused_quiet)
		snprintf(e.msg + strlen(e.msg), sizeof(e.msg) - strlen(e.msg),
			 " (and %llu connection(s) refused in the second before, without an event)",
			 (unsigned long long)S->refused_quiet);
	S->refused_ms = now;
	S->refused_quiet = 0;
	note(S, uid, pid, EXAI_EXIT_FAIL, NULL, 0, e.msg);
}

void serve_ctl_accept(serve *S)
{
	struct ucred cr = {0};
	socklen_t len = sizeof(cr);
	serve_conn *c = NULL;
	int fd = accept4(S->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		close(fd);
		return;
	}
	if (!egress_serve_uid_allowed(S->cfg, cr.uid)) {
		char why[128];

		snprintf(why, sizeof(why),
			 "uid %u may not send requests (not in control.allow_uids)",
			 (unsigned)cr.uid);
		refuse(S, fd, cr.uid, cr.pid, why);
		return;
	}
	for (size_t i = 0; i < SERVE_CTL_CONNS && !c; i++)
		if (S->conns[i].fd < 0)
			c = &S->conns[i];
	if (!c) {
		char why[128];

		snprintf(why, sizeof(why), "busy: %d requests are in progress; try again",
			 SERVE_CTL_CONNS);
		refuse(S, fd, cr.uid, cr.pid, why);
		return;
	}
	if (!c->buf && !(c->buf = malloc(EGRESS_CTL_MAX + 1))) {
		close(fd);
		return;
	}
	{
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.u64 = SERVE_EV_CONN + (uint64_t)(c - S->conns)};

		if (epoll_ctl(S->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			return;
		}
	}
	c->fd = fd;
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->len = 0;
	c->deadline_ms = serve_now_ms() + SERVE_CTL_WAIT_MS;
}

void serve_ctl_read(serve *S, serve_conn *c)
{
	char *nl;
	ssize_t n;

	if (c->fd < 0)
		return;
	n = c->len < EGRESS_CTL_MAX ? recv(c->fd, c->buf + c->len, EGRESS_CTL_MAX - c->len, 0) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->len += (size_t)n;
	nl = memchr(c->buf, '\n', c->len);
	if (nl) {
		handle(S, c, c->buf, (size_t)(nl - c->buf));
	} else if (c->len == EGRESS_CTL_MAX) {
		exai_error e = {0};

		exai_error_set(&e, EXAI_ETOOBIG, "request: over %d bytes without a newline",
			       EGRESS_CTL_MAX);
		send_reply(c->fd, egress_ctl_reply_fail(EXAI_EXIT_USAGE, &e));
	} else if (n > 0) {
		return; /* more to come */
	}
	conn_close(S, c); /* answered, or the client went away (a probe: nothing to say) */
}

void serve_ctl_expire(serve *S)
{
	int64_t now = serve_now_ms();

	for (size_t i = 0; i < SERVE_CTL_CONNS; i++) {
		serve_conn *c = &S->conns[i];
		exai_error e = {0};

		if (c->fd < 0 || now < c->deadline_ms)
			continue;
		exai_error_set(&e, EXAI_EIO, "no request line within %d ms", SERVE_CTL_WAIT_MS);
		send_reply(c->fd, egress_ctl_reply_fail(EXAI_EXIT_USAGE, &e));
		conn_close(S, c);
	}
}

void serve_ctl_close_all(serve *S)
{
	for (size_t i = 0; i < SERVE_CTL_CONNS; i++) {
		conn_close(S, &S->conns[i]);
		free(S->conns[i].buf);
		S->conns[i].buf = NULL;
	}
}
