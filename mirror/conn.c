/*
 * conn: the per-connection line reader and reply buffer. See conn.h and ingest.h for the
 * reply lines.
 *
 * Invariants: in_len <= max_line + 1; a line is counted once (line_no) whether it is stored,
 * dropped or refused; every submitted batch is acked exactly once, in submission order.
 */
#include "conn.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exai/json.h"

mir_conn *mir_conn_new(const mir_config *c, int fd, uint64_t id, const char *tenant)
{
	mir_conn *k = calloc(1, sizeof(*k));

	if (!k || !(k->in = malloc(c->max_line + 1))) {
		free(k);
		return NULL;
	}
	k->fd = fd;
	k->id = id;
	k->tenant = tenant;
	return k;
}

void mir_conn_free(mir_conn *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	mir_batch_free(k->batch);
	free(k->in);
	free(k->out);
	free(k);
}

void mir_conn_reply(mir_conn *k, void *json_obj)
{
	json_t *o = json_obj;
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;

	json_decref(o);
	if (!s || k->dead)
		goto out;
	if (k->out_len + n + 1 > k->out_cap) {
		size_t cap = (k->out_len + n + 1) * 2;
		char *p = realloc(k->out, cap);
		if (!p) {
			/* No memory for the reply: the peer would wait forever for it. */
			k->dead = true;
			goto out;
		}
		k->out = p;
		k->out_cap = cap;
	}
	memcpy(k->out + k->out_len, s, n);
	k->out[k->out_len + n] = '\n';
	k->out_len += n + 1;
out:
	free(s);
}

static void reply_error(mir_conn *k, uint64_t line, const exai_error *e)
{
	mir_conn_reply(k, json_pack("{s:{s:I,s:s,s:s}}", "error", "line", (json_int_t)line, "code",
				    exai_status_name(e->code), "message", e->msg));
}

void mir_conn_settled(mir_conn *k, const mir_batch *b)
{
	size_t dropped = 0, refused = 0;
	json_t *o;

	k->inflight--;
	for (size_t i = 0; i < MIR_MAX_CLASSES; i++)
		dropped += b->dropped[i];
	for (int i = 0; i < MIR_REF_N; i++)
		refused += b->refused[i];
	if (b->rc) {
		mir_conn_reply(k, json_pack("{s:{s:I,s:I,s:s,s:s}}", "nack", "through_line",
					    (json_int_t)b->last_line, "lines", (json_int_t)b->lines,
					    "code", exai_status_name(b->rc), "message", b->err));
		return;
	}
	o = json_pack("{s:I,s:I,s:I,s:I,s:I}", "through_line", (json_int_t)b->last_line, "lines",
		      (json_int_t)b->lines, "stored", (json_int_t)b->nrecs, "dropped",
		      (json_int_t)dropped, "refused", (json_int_t)refused);
	if (o && b->nrecs)
		json_object_set_new(o, "first_index", json_integer((json_int_t)b->first_index));
	mir_conn_reply(k, o ? json_pack("{s:o}", "ack", o) : NULL);
}

void mir_conn_flush(mir_conn *k)
{
	while (k->out_len > 0 && !k->dead) {
		ssize_t n = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			k->dead = true;
			k->out_len = 0;
			return;
		}
		memmove(k->out, k->out + n, k->out_len - (size_t)n);
		k->out_len -= (size_t)n;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum mir_refusal reason_of(enum mir_record_why why)
{
	switch (why) {
	case MIR_WHY_CLASS:
		return MIR_REF_CLASS;
	case MIR_WHY_TENANT:
		return MIR_REF_TENANT_KEY;
	case MIR_WHY_SCRUB:
		return MIR_REF_SCRUB;
	default:
		return MIR_REF_FORMAT;
	}
}

static void submit(mir_conn *k, mir_writer *w)
{
	if (!k->batch)
		return;
	k->inflight++;
	mir_writer_submit(w, k->batch);
	k->batch = NULL;
}

/* Makes sure there is a batch to count into; false (connection dead) without memory. */
static bool have_batch(mir_conn *k, const mir_scrubber *s)
{
	if (!k->batch && !(k->batch = mir_batch_new(k->id, k->tenant)))
		k->dead = true;
	if (k->batch && s)
		k->batch->scrub = s;
	return k->batch != NULL;
}

static void one_line(mir_conn *k, const mir_config *c, mir_scrubber *s, mir_writer *w,
		     const char *line, size_t len, int64_t ms)
{
	mir_record r;
	exai_error e;

	if (!have_batch(k, s))
		return;
	k->line_no++;
	k->batch->lines++;
	k->batch->last_line = k->line_no;
	if (mir_record_parse(c, s, k->tenant, ms, line, len, &r, &e)) {
		exai_error_prefix(&e, "line %llu", (unsigned long long)k->line_no);
		k->batch->refused[reason_of(r.why)]++;
		reply_error(k, k->line_no, &e);
	} else if (r.dropped) {
		k->batch->dropped[r.cls - c->classes]++;
		mir_record_clear(&r);
	} else if (mir_batch_add(k->batch, &r, &e)) {
		mir_record_clear(&r);
		k->dead = true;
		return;
	}
	if (k->batch->nrecs >= c->max_batch)
		submit(k, w);
}

/* The start of a line over max_line: refused now; its rest is skipped up to its newline. */
static void too_long(mir_conn *k, const mir_config *c)
{
	exai_error e;

	if (!have_batch(k, NULL))
		return;
	k->line_no++;
	k->batch->lines++;
	k->batch->last_line = k->line_no;
	k->batch->refused[MIR_REF_TOO_LONG]++;
	exai_error_set(
	    &e, EXAI_ETOOBIG,
	    "line %llu: longer than %llu bytes (max_line_bytes): refused, skipped to its "
	    "newline",
	    (unsigned long long)k->line_no, (unsigned long long)c->max_line);
	reply_error(k, k->line_no, &e);
	k->skipping = true;
	k->in_len = 0;
}

/* Splits the buffer into lines; keeps an incomplete tail. */
static void split_lines(mir_conn *k, const mir_config *c, mir_scrubber *s, mir_writer *w,
			int64_t ms)
{
	size_t start = 0;
	char *nl;

	while (!k->dead && (nl = memchr(k->in + start, '\n', k->in_len - start))) {
		size_t len = (size_t)(nl - (k->in + start));
		if (k->skipping)
			k->skipping = false;
		else
			one_line(k, c, s, w, k->in + start, len, ms);
		start += len + 1;
	}
	memmove(k->in, k->in + start, k->in_len - start);
	k->in_len -= start;
	if (k->skipping)
		k->in_len = 0;
	else if (k->in_len > c->max_line)
		too_long(k, c);
}

bool mir_conn_read(mir_conn *k, const mir_config *c, mir_scrubber *s, mir_writer *w)
{
	ssize_t n;

	do
		n = recv(k->fd, k->in + k->in_len, c->max_line + 1 - k->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	if (n <= 0) {
		/* End of input (or a reset): a last line without its newline is not a line. */
		k->eof = true;
		if (n < 0)
			k->dead = true;
		return false;
	}
	k->in_len += (size_t)n;
	split_lines(k, c, s, w, now_ms());
	submit(k, w);
	return true;
}
