/*
 * ctl.c: the control protocol's lines, the daemon's listening socket and the client's call
 * (ctl.h).
 */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "exai/file.h"

void egress_ctl_req_free(egress_ctl_req *r)
{
	if (!r)
		return;
	free(r->policy_dir);
	free(r->policy);
	for (size_t i = 0; i < r->nsigs; i++)
		free(r->sigs[i]);
	memset(r, 0, sizeof(*r));
}

/* An absolute path value of @key into *@out. */
static exai_status get_path(json_t *v, const char *key, char **out, exai_error *e)
{
	const char *s = json_string_value(v);

	if (!s || !exai_abspath_valid(s) || strlen(s) >= EGRESS_CTL_PATH_MAX)
		return exai_error_set(e, EXAI_EFORMAT,
				      "request: '%s' must be an absolute path without '..'", key);
	if (!(*out = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

static exai_status get_sigs(json_t *v, egress_ctl_req *r, exai_error *e)
{
	size_t i;
	json_t *s;
	exai_status rc;

	if (!json_is_array(v) || json_array_size(v) > EGRESS_MAX_SIGS)
		return exai_error_set(e, EXAI_EFORMAT,
				      "request: 'sigs' must be a list of at most %d paths",
				      EGRESS_MAX_SIGS);
	json_array_foreach(v, i, s)
	{
		if ((rc = get_path(s, "sigs", &r->sigs[i], e)))
			return rc;
		r->nsigs = i + 1;
	}
	return EXAI_OK;
}

static exai_status take(json_t *o, egress_ctl_req *r, exai_error *e)
{
	const char *key;
	json_t *v;
	exai_status rc = EXAI_OK;

	json_object_foreach(o, key, v)
	{
		if (!strcmp(key, "op")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "reload"))
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "request: 'op' must be \"reload\"");
		} else if (!strcmp(key, "policy_dir")) {
			rc = get_path(v, key, &r->policy_dir, e);
		} else if (!strcmp(key, "policy")) {
			rc = get_path(v, key, &r->policy, e);
		} else if (!strcmp(key, "sigs")) {
			rc = get_sigs(v, r, e);
		} else if (!strcmp(key, "unsigned")) {
			if (!json_is_boolean(v))
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "request: 'unsigned' must be true or false");
			r->unsigned_ok = json_is_true(v);
		} else {
			rc = exai_error_set(e, EXAI_EFORMAT, "request: unknown key '%.64s'", key);
		}
		if (rc)
			return rc;
	}
	if (!json_object_get(o, "op"))
		return exai_error_set(e, EXAI_EFORMAT, "request: no 'op'");
	if (!r->policy_dir == !r->policy)
		return exai_error_set(e, EXAI_EFORMAT,
				      "request: exactly one of 'policy_dir' and 'policy'");
	if (r->policy_dir && r->nsigs)
		return exai_error_set(e, EXAI_EFORMAT,
				      "request: 'sigs' goes with 'policy' (a policy_dir's "
				      "signatures are its *.minisig files)");
	return EXAI_OK;
}

exai_status egress_ctl_req_parse(const char *line, size_t len, egress_ctl_req *r, exai_error *e)
{
	json_error_t je;
	json_t *o;
	exai_status rc;

	memset(r, 0, sizeof(*r));
	if (len > EGRESS_CTL_MAX)
		return exai_error_set(e, EXAI_ETOOBIG, "request: over %d bytes", EGRESS_CTL_MAX);
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return exai_error_set(e, EXAI_EFORMAT, "request: not a JSON object%s%s",
				      o ? "" : ": ", o ? "" : je.text);
	}
	rc = take(o, r, e);
	json_decref(o);
	return rc;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

char *egress_ctl_req_line(const egress_ctl_req *r)
{
	json_t *o = json_object(), *a;

	if (!o)
		return NULL;
	json_object_set_new(o, "op", json_string("reload"));
	if (r->policy_dir)
		json_object_set_new(o, "policy_dir", json_string(r->policy_dir));
	if (r->policy)
		json_object_set_new(o, "policy", json_string(r->policy));
	if (r->nsigs) {
		a = json_array();
		for (size_t i = 0; a && i < r->nsigs; i++)
			json_array_append_new(a, json_string(r->sigs[i]));
		json_object_set_new(o, "sigs", a);
	}
	if (r->unsigned_ok)
		json_object_set_new(o, "unsigned", json_true());
	return dump(o);
}

char *egress_ctl_reply_ok(unsigned generation, const char *message)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "generation", json_integer(generation));
	json_object_set_new(o, "message", json_string(message));
	return dump(o);
}

char *egress_ctl_reply_fail(int exit_code, const exai_error *err)
{
	json_t *o = json_object(), *er = json_object();

	if (!o || !er) {
		json_decref(o);
		json_decref(er);
		return NULL;
	}
	json_object_set_new(er, "code", json_string(exai_status_name(err->code)));
	json_object_set_new(er, "message", json_string(err->msg));
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "exit", json_integer(exit_code));
	json_object_set_new(o, "error", er);
	return dump(o);
}

static int socket_to(const char *path, struct sockaddr_un *sa, exai_error *e)
{
	int fd;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		exai_error_set(e, EXAI_ECONFIG, "%s: longer than a unix socket path allows", path);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		exai_error_sys(e, EXAI_EIO, "socket");
	return fd;
}

exai_status egress_ctl_listen(const char *path, mode_t mode, int *fd_out, exai_error *e)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, probe;

	*fd_out = -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return exai_error_set(e, EXAI_EUNSAFE,
					      "%s: exists and is not a socket (refused; remove it)",
					      path);
		if ((probe = socket_to(path, &sa, e)) < 0)
			return e->code;
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return exai_error_set(e, EXAI_EEXIST,
					      "%s: another exai-egress serve answers there", path);
		}
		close(probe);
		if (unlink(path) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: remove the stale socket", path);
	}
	if ((fd = socket_to(path, &sa, e)) < 0)
		return e->code;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, mode) != 0 ||
	    listen(fd, 16) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: bind/listen", path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return EXAI_OK;
}

static exai_status send_line(int fd, const char *line, exai_error *e)
{
	size_t len = strlen(line);

	while (len > 0) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return exai_error_sys(e, EXAI_EIO, "send the request");
		line += n;
		len -= (size_t)n;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return exai_error_sys(e, EXAI_EIO, "send the request");
	return EXAI_OK;
}

exai_status egress_ctl_call(const char *path, const char *line, int timeout_s, char **reply,
			    exai_error *e)
{
	struct timeval tv = {.tv_sec = timeout_s};
	struct sockaddr_un sa;
	char *buf = malloc(EGRESS_CTL_MAX + 1), *nl = NULL;
	size_t len = 0;
	exai_status rc = EXAI_OK, send_rc = EXAI_OK;
	exai_error se = {0};
	int fd = -1;

	*reply = NULL;
	if (!buf)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((fd = socket_to(path, &sa, e)) < 0) {
		free(buf);
		return e->code;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "connect to exai-egress serve at %s", path);
	else if ((send_rc = send_line(fd, line, &se)))
		shutdown(fd, SHUT_WR); /* refused at once: its reply may be waiting */
	while (!rc && !nl) {
		ssize_t n;

		if (len == EGRESS_CTL_MAX) {
			rc = exai_error_set(e, EXAI_ETOOBIG,
					    "exai-egress serve at %s: a reply over %d bytes", path,
					    EGRESS_CTL_MAX);
			break;
		}
		n = recv(fd, buf + len, EGRESS_CTL_MAX - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 && send_rc) {
			*e = se; /* no reply: the send's error says more */
			rc = send_rc;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			rc = exai_error_set(e, EXAI_EIO,
					    "exai-egress serve at %s: no reply within %d s", path,
					    timeout_s);
		else if (n < 0)
			rc = exai_error_sys(e, EXAI_EIO, "exai-egress serve at %s: recv", path);
		else if (n == 0)
			rc = exai_error_set(e, EXAI_EIO,
					    "exai-egress serve at %s closed the connection without "
					    "a reply",
					    path);
		else
			nl = memchr(buf + len, '\n', (size_t)n);
		len += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*nl = '\0';
	*reply = buf;
	return EXAI_OK;
}
