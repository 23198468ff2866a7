/*
 * verify_rows: the row pass of verify, reading on the calling thread and hashing in a worker.
 * See verify_rows.h.
 *
 * Invariants: a chunk belongs to one thread at a time, handed over under the pipe's mutex;
 * the reader writes an index's flags byte only before the chunk holding that index is handed
 * over, the worker only after (indexes are unique: idx is the table's primary key), so the
 * byte is never written by both at once. Every chunk handed over comes back before the
 * worker is joined.
 */
#include "verify_rows.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/grow.h"
#include "exai/hash.h"
#include "exai/sqlite.h"
#include "exai/text.h"
#include "store.h"

#define CHUNK_ROWS  2048
#define CHUNK_BYTES (1u << 20) /* a chunk is handed over once its buffer holds this much */
#define NCHUNKS	    4

typedef struct vrow {
	uint64_t idx;
	size_t off, len; /* nonce || payload at buf + off; len 0: pruned (no leaf data check) */
	uint8_t leaf[MIR_HASH_LEN];
} vrow;

typedef struct vchunk {
	struct vchunk *next;
	vrow rows[CHUNK_ROWS];
	size_t n;
	uint8_t *buf;
	size_t len, cap;
} vchunk;

typedef struct vpipe {
	mir_vrows *v;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	vchunk *full, *free; /* handed to the worker; back from it */
	bool done;	     /* no more chunks will come */
	bool threaded;
	pthread_t thread;
	exai_status rc; /* the first hashing error (worker side) */
	exai_error err;
} vpipe;

static char *put_i64(char *p, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static bool name_ok(const char *s, size_t n)
{
	return s && n <= MIR_NAME_MAX && strlen(s) == n && exai_name_valid(s);
}

bool mir_payload_matches(const uint8_t *payload, size_t len, const char *cls, size_t cls_len,
			 const char *tenant, size_t ten_len, int64_t time, int64_t ingest_ms)
{
	char want[2 * MIR_NAME_MAX + 2 * 24 + 64], *p = want;

	if (!name_ok(cls, cls_len) || !name_ok(tenant, ten_len))
		return false;
	p = put_str(p, ",\"class\":\"", 10);
	p = put_str(p, cls, cls_len);
	p = put_str(p, "\",\"ingest_ms\":", 14);
	p = put_i64(p, ingest_ms);
	p = put_str(p, ",\"tenant\":\"", 11);
	p = put_str(p, tenant, ten_len);
	p = put_str(p, "\",\"time\":", 9);
	p = put_i64(p, time);
	*p++ = '}';
	return len > (size_t)(p - want) && payload[0] == '{' &&
	       !memcmp(payload + len - (size_t)(p - want), want, (size_t)(p - want));
}

/* SHA-256 of up to EXAI_SHA256_MULTI_MAX rows' leaf data, then of 0x00 || each stored leaf. */
static exai_status hash_chunk(mir_vrows *v, vchunk *c, exai_error *e)
{
	const size_t w = EXAI_SHA256_MULTI_MAX;
	exai_status rc;

	for (size_t i = 0; i < c->n;) {
		const uint8_t *data[EXAI_SHA256_MULTI_MAX];
		size_t len[EXAI_SHA256_MULTI_MAX], which[EXAI_SHA256_MULTI_MAX], k = 0;
		uint8_t d[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];

		for (; i < c->n && k < w; i++)
			if (c->rows[i].len) {
				data[k] = c->buf + c->rows[i].off;
				len[k] = c->rows[i].len;
				which[k++] = i;
			}
		if ((rc = exai_sha256_multi(k, data, len, d, e)))
			return rc;
		for (size_t j = 0; j < k; j++)
			if (memcmp(d[j], c->rows[which[j]].leaf, MIR_HASH_LEN))
				v->flags[c->rows[which[j]].idx] |= MIR_VR_PAYLOAD;
	}
	for (size_t i = 0; i < c->n; i += w) {
		uint8_t in[EXAI_SHA256_MULTI_MAX][1 + MIR_HASH_LEN];
		const uint8_t *data[EXAI_SHA256_MULTI_MAX];
		size_t len[EXAI_SHA256_MULTI_MAX], k = c->n - i < w ? c->n - i : w;
		uint8_t d[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];

		for (size_t j = 0; j < k; j++) {
			in[j][0] = 0x00;
			memcpy(in[j] + 1, c->rows[i + j].leaf, MIR_HASH_LEN);
			data[j] = in[j];
			len[j] = sizeof(in[j]);
		}
		if ((rc = exai_sha256_multi(k, data, len, d, e)))
			return rc;
		for (size_t j = 0; j < k; j++)
			memcpy(v->leaves[c->rows[i + j].idx], d[j], MIR_HASH_LEN);
	}
	return EXAI_OK;
}

static void *worker(void *arg)
{
	vpipe *p = arg;
	exai_error e;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		vchunk *c;
		exai_status rc = EXAI_OK;

		while (!p->full && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!(c = p->full))
			break;
		p->full = c->next;
		pthread_mutex_unlock(&p->mu);
		if (!p->rc)
			rc = hash_chunk(p->v, c, &e);
		pthread_mutex_lock(&p->mu);
		if (rc && !p->rc) {
			p->rc = rc;
			p->err = e;
		}
		c->n = c->len = 0;
		c->next = p->free;
		p->free = c;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* A chunk to fill: one back from the worker (waits for it), or NULL when all are out. */
static vchunk *take_free(vpipe *p)
{
	vchunk *c;

	pthread_mutex_lock(&p->mu);
	while (!p->free && p->threaded)
		pthread_cond_wait(&p->cv, &p->mu);
	if ((c = p->free))
		p->free = c->next;
	pthread_mutex_unlock(&p->mu);
	return c;
}

/* Hands @c over to the worker, or, without one, hashes it here. */
static exai_status hand_over(vpipe *p, vchunk *c, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (!p->threaded) {
		rc = hash_chunk(p->v, c, e);
		c->n = c->len = 0;
	}
	pthread_mutex_lock(&p->mu);
	if (p->threaded) {
		c->next = p->full;
		p->full = c;
	} else {
		c->next = p->free;
		p->free = c;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* The worker gets no more chunks; it is joined once it has hashed those it has. */
static void finish(vpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->threaded)
		pthread_join(p->thread, NULL);
	p->threaded = false;
	for (vchunk *c = p->free, *n; c; c = n) {
		n = c->next;
		free(c->buf);
		free(c);
	}
	p->free = NULL;
}

static exai_status pipe_start(vpipe *p, mir_vrows *v, exai_error *e)
{
	memset(p, 0, sizeof(*p));
	p->v = v;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (int i = 0; i < NCHUNKS; i++) {
		vchunk *c = calloc(1, sizeof(*c));
		if (!c)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory for the row chunks");
		c->next = p->free;
		p->free = c;
	}
	/* Without a thread the rows are hashed on this one: slower, the same findings. */
	p->threaded = pthread_create(&p->thread, NULL, worker, p) == 0;
	return EXAI_OK;
}

/* The row's checks that need its columns, and its place in @c for the hashing. */
static exai_status add_row(mir_vrows *v, sqlite3_stmt *st, uint64_t idx, vchunk *c, exai_error *e)
{
	const uint8_t *payload = sqlite3_column_blob(st, 6);
	size_t plen = (size_t)sqlite3_column_bytes(st, 6);
	vrow *r = &c->rows[c->n];

	v->flags[idx] |= MIR_VR_PRESENT;
	if (sqlite3_column_bytes(st, 5) != MIR_NONCE_LEN ||
	    sqlite3_column_bytes(st, 7) != MIR_HASH_LEN) {
		v->flags[idx] |= MIR_VR_BADSIZE; /* leaf hash stays zero */
		return EXAI_OK;
	}
	r->idx = idx;
	r->len = 0;
	memcpy(r->leaf, sqlite3_column_blob(st, 7), MIR_HASH_LEN);
	c->n++;
	if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
		v->flags[idx] |= MIR_VR_PRUNED;
		v->pruned++;
		return EXAI_OK;
	}
	if (sqlite3_column_type(st, 1) != SQLITE_TEXT ||
	    sqlite3_column_type(st, 2) != SQLITE_TEXT ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 4) != SQLITE_INTEGER ||
	    !mir_payload_matches(payload, plen, (const char *)sqlite3_column_text(st, 1),
				 (size_t)sqlite3_column_bytes(st, 1),
				 (const char *)sqlite3_column_text(st, 2),
				 (size_t)sqlite3_column_bytes(st, 2), sqlite3_column_int64(st, 3),
				 sqlite3_column_int64(st, 4)))
		v->flags[idx] |= MIR_VR_COLUMNS;
	if (exai_grow(&c->buf, &c->cap, c->len, MIR_NONCE_LEN + plen, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "entry %llu: payload of %zu bytes",
					 (unsigned long long)idx, plen);
	r->off = c->len;
	r->len = MIR_NONCE_LEN + plen;
	memcpy(c->buf + c->len, sqlite3_column_blob(st, 5), MIR_NONCE_LEN);
	if (plen)
		memcpy(c->buf + c->len + MIR_NONCE_LEN, payload, plen);
	c->len += r->len;
	return EXAI_OK;
}

static exai_status count_rows(sqlite3 *db, mir_vrows *v, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(db, "SELECT max(idx) + 1 FROM entries", "count", &st, e)) ||
	    (rc = exai_sqlite_step(st, "count", &row, e)))
		goto out;
	v->n = sqlite3_column_int64(st, 0) > 0 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	if (v->n > SIZE_MAX / sizeof(mir_hash) || !(v->flags = calloc(v->n ? v->n : 1, 1)) ||
	    !(v->leaves = calloc(v->n ? v->n : 1, sizeof(mir_hash))))
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory for %llu leaves",
				    (unsigned long long)v->n);
out:
	sqlite3_finalize(st);
	return rc;
}

static exai_status read_rows(sqlite3 *db, mir_vrows *v, vpipe *p, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	vchunk *c = NULL;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(db,
				      "SELECT idx, class, tenant, time, ingest_ms, nonce, payload, "
				      "leaf FROM entries ORDER BY idx",
				      "read entries", &st, e)))
		return rc;
	while (!(rc = exai_sqlite_step(st, "read entries", &row, e)) && row) {
		int64_t idx = sqlite3_column_int64(st, 0);

		if (idx < 0) {
			if (!v->negative++)
				v->first_negative = idx;
			continue;
		}
		if ((uint64_t)idx >= v->n) { /* the count and the rows are one snapshot */
			rc = exai_error_set(e, EXAI_EIO,
					    "entry %lld: beyond the %llu counted a moment before "
					    "(not read in one transaction?)",
					    (long long)idx, (unsigned long long)v->n);
			break;
		}
		if (!c && !(c = take_free(p))) {
			rc = exai_error_set(e, EXAI_EINTERNAL, "verify: no row chunk free");
			break;
		}
		if ((rc = add_row(v, st, (uint64_t)idx, c, e)))
			break;
		if (c->n == CHUNK_ROWS || c->len >= CHUNK_BYTES) {
			rc = hand_over(p, c, e);
			c = NULL;
			if (rc)
				break;
		}
	}
	if (c) {
		exai_status hrc = hand_over(p, c, e);
		if (!rc)
			rc = hrc;
	}
	sqlite3_finalize(st);
	return rc;
}

exai_status mir_vrows_read(sqlite3 *db, mir_vrows *out, exai_error *e)
{
	vpipe p;
	exai_status rc;

	memset(out, 0, sizeof(*out));
	if ((rc = count_rows(db, out, e))) {
		mir_vrows_free(out);
		return rc;
	}
	if (!(rc = pipe_start(&p, out, e)))
		rc = read_rows(db, out, &p, e);
	finish(&p);
	if (!rc && p.rc) {
		*e = p.err;
		rc = p.rc;
	}
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (rc)
		mir_vrows_free(out);
	return rc;
}

void mir_vrows_free(mir_vrows *v)
{
	if (!v)
		return;
	free(v->flags);
	free(v->leaves);
	memset(v, 0, sizeof(*v));
}
