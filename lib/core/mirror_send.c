/*
 * mirror_send: batches of lines to exai-mirror's ingest socket, each waiting for the ack that
 * covers it (mirror_send.h). Invariant: b->settled only grows, and only from an ack line; a
 * line is counted refused once however many error lines name it.
 */
#include "exai/mirror_send.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX 65536

struct exai_mirror_conn {
	int fd;
	uint64_t next_line; /* the number the next line sent will have */
	char buf[REPLY_MAX];
	size_t len; /* replies read, not yet taken as lines */
};

exai_status exai_mirror_connect(const char *path, exai_mirror_conn **out, exai_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 2}, rtv = {.tv_sec = EXAI_MIRROR_ACK_S};
	exai_mirror_conn *c;
	exai_status rc;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return exai_error_set(e, EXAI_ECONFIG, "mirror: socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (!(c = calloc(1, sizeof(*c))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	c->next_line = 1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "mirror: socket");
		free(c);
		return rc;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "mirror: connect %s", path);
		exai_mirror_close(c);
		return rc;
	}
	*out = c;
	return EXAI_OK;
}

void exai_mirror_close(exai_mirror_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static exai_status send_all(int fd, const char *buf, size_t len, exai_error *e)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return exai_error_sys(e, EXAI_EIO, "mirror: send");
		buf += n;
		len -= (size_t)n;
	}
	return EXAI_OK;
}

/* The next reply line (NUL-terminated, in a malloc'ed copy at *line); waits for it. */
static exai_status next_reply(exai_mirror_conn *c, uint64_t want, char **line, exai_error *e)
{
	char *nl;

	while (!(nl = memchr(c->buf, '\n', c->len))) {
		ssize_t n;
		if (c->len == sizeof(c->buf))
			return exai_error_set(e, EXAI_ETOOBIG, "mirror: a reply line over %d bytes",
					      REPLY_MAX);
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return exai_error_set(e, EXAI_EIO,
					      "mirror: no ack for line %llu within %d s",
					      (unsigned long long)want, EXAI_MIRROR_ACK_S);
		if (n < 0)
			return exai_error_sys(e, EXAI_EIO, "mirror: recv");
		if (n == 0)
			return exai_error_set(
			    e, EXAI_EIO, "mirror: connection closed before the ack of line %llu",
			    (unsigned long long)want);
		c->len += (size_t)n;
	}
	if (!(*line = strndup(c->buf, (size_t)(nl - c->buf))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return EXAI_OK;
}

static uint64_t line_of(json_t *o)
{
	json_t *v = json_object_get(o, "line");

	if (!v)
		v = json_object_get(o, "through_line");
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
								: 0;
}

/* Takes one reply about the batch of lines @first .. @first + @n - 1 into @b. */
static exai_status take_reply(exai_mirror_batch *b, uint64_t first, size_t n, const char *line,
			      exai_error *e)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *v;
	const char *msg;
	exai_status rc = EXAI_OK;

	if (!json_is_object(o)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "mirror: a reply that is not a JSON object");
	} else if ((v = json_object_get(o, "ack")) && json_is_object(v)) {
		uint64_t t = line_of(v);
		if (t >= first && t - first + 1 > b->settled)
			b->settled = t - first + 1 > n ? n : (size_t)(t - first + 1);
	} else if ((v = json_object_get(o, "nack")) && json_is_object(v)) {
		msg = json_string_value(json_object_get(v, "message"));
		rc = exai_error_set(e, EXAI_EIO, "mirror: lines through %llu not committed: %s",
				    (unsigned long long)line_of(v), msg ? msg : "?");
	} else if ((v = json_object_get(o, "error")) && json_is_object(v)) {
		uint64_t l = line_of(v);
		msg = json_string_value(json_object_get(v, "message"));
		if (l < first || l >= first + n) { /* line 0: the connection was refused */
			rc = exai_error_set(e, EXAI_EREFUSED, "mirror refused the connection: %s",
					    msg ? msg : "?");
		} else if (!b->refused[l - first]) {
			if (b->n_refused++ == 0) {
				b->first_refused = (size_t)(l - first);
				snprintf(b->why, sizeof(b->why), "%s", msg ? msg : "?");
			}
			b->refused[l - first] = true;
		}
	} else {
		rc = exai_error_set(e, EXAI_EFORMAT, "mirror: an unknown reply");
	}
	json_decref(o);
	return rc;
}

exai_status exai_mirror_send(exai_mirror_conn *c, const char *const *lines, size_t n,
			     exai_mirror_batch *b, exai_error *e)
{
	uint64_t first = c->next_line, last = first + n - 1;
	exai_status rc = EXAI_OK;
	char *line = NULL;

	memset(b, 0, sizeof(*b));
	if (n == 0 || n > EXAI_MIRROR_BATCH_MAX)
		return exai_error_set(e, EXAI_EINVAL, "mirror: a batch of %zu lines (1 to %d)", n,
				      EXAI_MIRROR_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		if (strchr(lines[i], '\n'))
			return exai_error_set(e, EXAI_EINVAL,
					      "mirror: line %zu of a batch holds a newline", i + 1);
	c->next_line += n; /* numbered as sent, whatever comes of them */
	for (size_t i = 0; i < n && !rc; i++)
		if (!(rc = send_all(c->fd, lines[i], strlen(lines[i]), e)))
			rc = send_all(c->fd, "\n", 1, e);
	while (!rc && b->settled < n) {
		if (!(rc = next_reply(c, last, &line, e)))
			rc = take_reply(b, first, n, line, e);
		free(line);
		line = NULL;
	}
	return rc;
}
