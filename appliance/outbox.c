/*
 * outbox: the sender of the audit outbox to the mirror socket, which waits for the mirror's
 * ack of each batch before it deletes the batch's events. See outbox.h.
 *
 * Lines are numbered per connection from 1, as the mirror numbers them; its replies (one JSON
 * object a line, at most REPLY_MAX bytes) are "error" (that line was refused), "ack" (every
 * line through "through_line" is settled: committed, dropped or refused) and "nack" (the
 * batch through "through_line" was not committed).
 */
#include "outbox.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH	      256
#define REPLY_MAX     65536
#define ACK_TIMEOUT_S 10

/* Replies read from the mirror, not yet taken as lines. */
typedef struct replies {
	char buf[REPLY_MAX];
	size_t len;
} replies;

/* One batch in flight: its events are lines first .. first + n - 1 of the connection. */
typedef struct batch {
	upd_outbox_item *items;
	size_t n;
	uint64_t first;
	uint64_t settled; /* the highest line an ack covers */
	bool refused[BATCH];
	size_t n_refused;
	char why[256]; /* the first refusal's message */
} batch;

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

static exai_status connect_mirror(const char *path, int *fd_out, exai_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 2}, rtv = {.tv_sec = ACK_TIMEOUT_S};
	int fd;

	*fd_out = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return exai_error_set(e, EXAI_ECONFIG, "mirror: socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "mirror: socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "mirror: connect %s", path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return EXAI_OK;
}

/* The next reply line (NUL-terminated, in a malloc'ed copy at *line); waits for it. */
static exai_status next_reply(int fd, replies *r, uint64_t want, char **line, exai_error *e)
{
	char *nl;

	while (!(nl = memchr(r->buf, '\n', r->len))) {
		ssize_t n;
		if (r->len == sizeof(r->buf))
			return exai_error_set(e, EXAI_ETOOBIG, "mirror: a reply line over %d bytes",
					      REPLY_MAX);
		n = recv(fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return exai_error_set(e, EXAI_EIO,
					      "mirror: no ack for line %llu within %d s",
					      (unsigned long long)want, ACK_TIMEOUT_S);
		if (n < 0)
			return exai_error_sys(e, EXAI_EIO, "mirror: recv");
		if (n == 0)
			return exai_error_set(
			    e, EXAI_EIO, "mirror: connection closed before the ack of line %llu",
			    (unsigned long long)want);
		r->len += (size_t)n;
	}
	if (!(*line = strndup(r->buf, (size_t)(nl - r->buf))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	r->len -= (size_t)(nl + 1 - r->buf);
	memmove(r->buf, nl + 1, r->len);
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

/* Takes one reply into @b. */
static exai_status take_reply(batch *b, const char *line, exai_error *e)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *v;
	const char *msg;
	exai_status rc = EXAI_OK;

	if (!json_is_object(o)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "mirror: a reply that is not a JSON object");
	} else if ((v = json_object_get(o, "ack")) && json_is_object(v)) {
		uint64_t t = line_of(v);
		if (t > b->settled)
			b->settled = t;
	} else if ((v = json_object_get(o, "nack")) && json_is_object(v)) {
		msg = json_string_value(json_object_get(v, "message"));
		rc = exai_error_set(e, EXAI_EIO, "mirror: lines through %llu not committed: %s",
				    (unsigned long long)line_of(v), msg ? msg : "?");
	} else if ((v = json_object_get(o, "error")) && json_is_object(v)) {
		uint64_t l = line_of(v);
		msg = json_string_value(json_object_get(v, "message"));
		if (l < b->first || l >= b->first + b->n) /* line 0: the connection was refused */
			rc = exai_error_set(e, EXAI_EREFUSED, "mirror refused the connection: %s",
					    msg ? msg : "?");
		else if (!b->refused[l - b->first] && b->n_refused++ == 0)
			snprintf(b->why, sizeof(b->why), "outbox event %lld: %s",
				 (long long)b->items[l - b->first].id, msg ? msg : "?");
		if (!rc)
			b->refused[l - b->first] = true;
	} else {
		rc = exai_error_set(e, EXAI_EFORMAT, "mirror: an unknown reply");
	}
	json_decref(o);
	return rc;
}

/* Deletes the events an ack covers and the mirror did not refuse, in one transaction. */
static exai_status remove_settled(upd_state *s, const batch *b, size_t *sent, exai_error *e)
{
	size_t done = 0;
	exai_status rc;

	while (done < b->n && b->first + done <= b->settled)
		done++;
	if (done == 0 || (rc = upd_state_begin(s, e)))
		return done == 0 ? EXAI_OK : rc;
	if (b->n_refused == 0) {
		rc = upd_state_outbox_delete(s, b->items[done - 1].id, e);
	} else {
		rc = EXAI_OK;
		for (size_t i = 0; i < done && !rc; i++)
			if (!b->refused[i])
				rc = upd_state_outbox_delete_one(s, b->items[i].id, e);
	}
	if (rc || (rc = upd_state_commit(s, e))) {
		upd_state_rollback(s);
		return rc;
	}
	for (size_t i = 0; i < done; i++)
		*sent += !b->refused[i];
	return EXAI_OK;
}

/* Sends @b's lines and reads replies until an ack covers the last one. */
static exai_status send_batch(int fd, replies *r, batch *b, exai_error *e)
{
	uint64_t last = b->first + b->n - 1;
	exai_status rc = EXAI_OK;
	char *line = NULL;

	for (size_t i = 0; i < b->n && !rc; i++)
		if (!(rc = send_all(fd, b->items[i].line, strlen(b->items[i].line), e)))
			rc = send_all(fd, "\n", 1, e);
	while (!rc && b->settled < last) {
		if (!(rc = next_reply(fd, r, last, &line, e)))
			rc = take_reply(b, line, e);
		free(line);
		line = NULL;
	}
	return rc;
}

exai_status upd_mirror_flush(upd_state *s, const char *socket_path, size_t *sent, exai_error *e)
{
	batch b = {.first = 1};
	replies *r = NULL;
	int fd = -1;
	exai_status rc, drc;
	exai_error de;

	*sent = 0;
	if ((rc = upd_state_outbox(s, BATCH, &b.items, &b.n, e)) || b.n == 0)
		goto out;
	if ((rc = connect_mirror(socket_path, &fd, e)))
		goto out;
	if (!(r = calloc(1, sizeof(*r)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		rc = send_batch(fd, r, &b, e);
		/* What was acknowledged leaves the outbox even when the rest of the batch failed.
		 */
		if ((drc = remove_settled(s, &b, sent, &de)) && !rc) {
			rc = drc;
			*e = de;
		}
		if (!rc && b.n_refused)
			rc = exai_error_set(e, EXAI_EREFUSED,
					    "the mirror refused %zu event(s), kept queued: %s",
					    b.n_refused, b.why);
		b.first += b.n;
		upd_outbox_free(b.items, b.n);
		b.items = NULL;
		b.n = 0;
		b.settled = 0;
		if (rc || (rc = upd_state_outbox(s, BATCH, &b.items, &b.n, e)) || b.n == 0)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(r);
	upd_outbox_free(b.items, b.n);
	return rc;
}
