/*
 * spool.c: the SQLite spool of exai-egress serve (spool.h).
 */
#include "spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/sqlite.h"

#define SPOOL_VERSION 1

struct egress_spool {
	sqlite3 *db;
	sqlite3_stmt *add, *count, *set, *get;
};

static const char schema[] =
    "CREATE TABLE spool(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " body TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0, text TEXT);"
    "INSERT INTO meta(key, value) VALUES ('version', 1), ('events', 0), ('bytes', 0),"
    " ('refused', 0), ('refused_reported', 0), ('delivered', 0), ('journaled', 0),"
    " ('journal_failed', 0),"
    " ('lost_seen', 0), ('suppressed_seen', 0), ('created', strftime('%s', 'now')),"
    " ('last_delivery', 0), ('pid', 0), ('mirror_error', 0);"
    "CREATE TRIGGER spool_add AFTER INSERT ON spool BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'events';"
    " UPDATE meta SET value = value + length(CAST(NEW.body AS BLOB))"
    " + length(CAST(NEW.text AS BLOB)) WHERE key = 'bytes'; END;"
    "CREATE TRIGGER spool_del AFTER DELETE ON spool BEGIN"
    " UPDATE meta SET value = value - 1 WHERE key = 'events';"
    " UPDATE meta SET value = value - length(CAST(OLD.body AS BLOB))"
    " - length(CAST(OLD.text AS BLOB)) WHERE key = 'bytes'; END;";

void egress_spool_close(egress_spool *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->add);
	sqlite3_finalize(s->count);
	sqlite3_finalize(s->set);
	sqlite3_finalize(s->get);
	exai_sqlite_close(s->db);
	free(s);
}

static exai_status get_value(egress_spool *s, const char *key, int64_t *out, exai_error *e)
{
	bool row = false;
	exai_status rc;

	sqlite3_bind_text(s->get, 1, key, -1, SQLITE_STATIC);
	if ((rc = exai_sqlite_step(s->get, "read the spool's counters", &row, e)))
		return rc;
	*out = row ? sqlite3_column_int64(s->get, 0) : 0;
	sqlite3_reset(s->get);
	if (!row)
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: no counter '%s': not an exai-egress "
				      "spool",
				      sqlite3_db_filename(s->db, "main"), key);
	return EXAI_OK;
}

static exai_status prepare(egress_spool *s, bool rw, exai_error *e)
{
	exai_status rc = exai_sqlite_prepare(s->db, "SELECT value FROM meta WHERE key = ?",
					     "read the spool's counters", &s->get, e);

	if (rc || !rw)
		return rc;
	if ((rc = exai_sqlite_prepare(s->db, "INSERT INTO spool(time, body, text) VALUES (?, ?, ?)",
				      "append to the spool", &s->add, e)) ||
	    (rc = exai_sqlite_prepare(s->db, "UPDATE meta SET value = value + ? WHERE key = ?",
				      "count", &s->count, e)))
		return rc;
	return exai_sqlite_prepare(s->db, "UPDATE meta SET value = ? WHERE key = ?", "count",
				   &s->set, e);
}

/* The schema version must be ours: an older or newer file is refused, never rebuilt. */
static exai_status check_version(egress_spool *s, exai_error *e)
{
	int64_t v = 0;
	exai_status rc = get_value(s, "version", &v, e);

	if (rc)
		return rc;
	if (v != SPOOL_VERSION)
		return exai_error_set(
		    e, EXAI_EFORMAT, "%s: spool version %lld, this exai-egress reads %d (refused)",
		    sqlite3_db_filename(s->db, "main"), (long long)v, SPOOL_VERSION);
	return EXAI_OK;
}

static exai_status open_at(const char *dir, bool rw, bool create, egress_spool **out, bool *created,
			   exai_error *e)
{
	egress_spool *s = calloc(1, sizeof(*s));
	char *path = exai_path_join(dir, "spool.db");
	struct stat st;
	bool fresh = false;
	exai_status rc;

	*out = NULL;
	if (created)
		*created = false;
	if (!s || !path) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(dir, &st) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "spool.dir %s (serve does not create it)", dir);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = exai_error_set(e, EXAI_ECONFIG, "spool.dir %s: not a directory", dir);
		goto out;
	}
	fresh = create && lstat(path, &st) != 0 && errno == ENOENT;
	rc = rw ? exai_sqlite_open_rw(path, create, &s->db, e)
		: exai_sqlite_open_ro(path, &s->db, e);
	if (rc)
		goto out;
	if (rw &&
	    (rc = exai_sqlite_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
				   "set the journal mode", e)))
		goto out;
	if (fresh && (rc = exai_sqlite_exec(s->db, schema, "create the spool", e)))
		goto out;
	if ((rc = prepare(s, rw, e)) || (rc = check_version(s, e)))
		goto out;
	if (created)
		*created = fresh;
	*out = s;
	s = NULL;
out:
	if (rc && fresh)
		unlink(path); /* a half-made spool is not a spool */
	egress_spool_close(s);
	free(path);
	return rc;
}

exai_status egress_spool_open(const char *dir, bool create, egress_spool **out, bool *created,
			      exai_error *e)
{
	return open_at(dir, true, create, out, created, e);
}

exai_status egress_spool_open_ro(const char *dir, egress_spool **out, exai_error *e)
{
	return open_at(dir, false, false, out, NULL, e);
}

exai_status egress_spool_begin(egress_spool *s, exai_error *e)
{
	return exai_sqlite_exec(s->db, "BEGIN IMMEDIATE", "begin", e);
}

exai_status egress_spool_commit(egress_spool *s, exai_error *e)
{
	return exai_sqlite_exec(s->db, "COMMIT", "commit", e);
}

void egress_spool_rollback(egress_spool *s)
{
	exai_error ignored;

	if (exai_sqlite_exec(s->db, "ROLLBACK", "rollback", &ignored) != EXAI_OK) {
		/* nothing was begun, or the connection is gone: nothing to undo */
	}
}

exai_status egress_spool_count(egress_spool *s, const char *key, int64_t delta, exai_error *e)
{
	sqlite3_bind_int64(s->count, 1, delta);
	sqlite3_bind_text(s->count, 2, key, -1, SQLITE_STATIC);
	return exai_sqlite_step_done(s->count, "count", e);
}

exai_status egress_spool_set(egress_spool *s, const char *key, int64_t value, exai_error *e)
{
	sqlite3_bind_int64(s->set, 1, value);
	sqlite3_bind_text(s->set, 2, key, -1, SQLITE_STATIC);
	return exai_sqlite_step_done(s->set, "count", e);
}

exai_status egress_spool_set_error(egress_spool *s, const char *text, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc =
	    exai_sqlite_prepare(s->db, "UPDATE meta SET text = ? WHERE key = 'mirror_error'",
				"record the error", &st, e);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = exai_sqlite_step_done(st, "record the error", e);
	sqlite3_finalize(st);
	return rc;
}

exai_status egress_spool_fits(egress_spool *s, size_t len, uint64_t max_events, uint64_t max_bytes,
			      bool *fits, exai_error *e)
{
	int64_t events = 0, bytes = 0;
	exai_status rc;

	*fits = false;
	if ((rc = get_value(s, "events", &events, e)) || (rc = get_value(s, "bytes", &bytes, e)))
		return rc;
	*fits =
	    (uint64_t)events < max_events && len <= max_bytes && (uint64_t)bytes <= max_bytes - len;
	return EXAI_OK;
}

exai_status egress_spool_add(egress_spool *s, int64_t time, const char *body, const char *text,
			     uint64_t max_events, uint64_t max_bytes, bool *stored, exai_error *e)
{
	bool fits = false;
	exai_status rc;

	*stored = false;
	if ((rc = egress_spool_fits(s, strlen(body) + strlen(text), max_events, max_bytes, &fits,
				    e)))
		return rc;
	if (!fits)
		return egress_spool_count(s, "refused", 1, e);
	sqlite3_bind_int64(s->add, 1, time);
	sqlite3_bind_text(s->add, 2, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->add, 3, text, -1, SQLITE_STATIC);
	if ((rc = exai_sqlite_step_done(s->add, "append to the spool", e)))
		return rc;
	*stored = true;
	return EXAI_OK;
}

void egress_spool_items_free(egress_spool_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].body);
		free(items[i].text);
	}
	free(items);
}

exai_status egress_spool_take(egress_spool *s, int64_t after, size_t max, egress_spool_item **out,
			      size_t *n, exai_error *e)
{
	egress_spool_item *v = calloc(max ? max : 1, sizeof(*v));
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row = true;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = exai_sqlite_prepare(
	    s->db, "SELECT id, time, body, text FROM spool WHERE id > ? ORDER BY id LIMIT ?",
	    "read the spool", &st, e);
	if (!rc) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	}
	while (!rc && k < max && !(rc = exai_sqlite_step(st, "read the spool", &row, e)) && row) {
		v[k].id = sqlite3_column_int64(st, 0);
		v[k].time = sqlite3_column_int64(st, 1);
		v[k].body = strdup((const char *)sqlite3_column_text(st, 2));
		v[k].text = strdup((const char *)sqlite3_column_text(st, 3));
		k++;
		if (!v[k - 1].body || !v[k - 1].text)
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	if (rc || k == 0) {
		egress_spool_items_free(v, k);
		return rc;
	}
	*out = v;
	*n = k;
	return EXAI_OK;
}

exai_status egress_spool_remove(egress_spool *s, const int64_t *ids, size_t n, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;

	if (n == 0)
		return EXAI_OK;
	if ((rc = egress_spool_begin(s, e)))
		return rc;
	rc = exai_sqlite_prepare(s->db, "DELETE FROM spool WHERE id = ?", "remove delivered", &st,
				 e);
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		rc = exai_sqlite_step_done(st, "remove delivered", e);
	}
	sqlite3_finalize(st);
	if (!rc && !(rc = egress_spool_count(s, "delivered", (int64_t)n, e)))
		rc = egress_spool_set(s, "last_delivery", (int64_t)time(NULL), e);
	if (!rc)
		rc = egress_spool_commit(s, e);
	if (rc)
		egress_spool_rollback(s);
	return rc;
}

exai_status egress_spool_stats_get(egress_spool *s, egress_spool_stats *st, exai_error *e)
{
	struct {
		const char *key;
		int64_t *v;
	} f[] = {{"events", (int64_t *)&st->events},
		 {"bytes", (int64_t *)&st->bytes},
		 {"refused", (int64_t *)&st->refused},
		 {"refused_reported", (int64_t *)&st->refused_reported},
		 {"delivered", (int64_t *)&st->delivered},
		 {"journaled", (int64_t *)&st->journaled},
		 {"journal_failed", (int64_t *)&st->journal_failed},
		 {"lost_seen", (int64_t *)&st->lost_seen},
		 {"suppressed_seen", (int64_t *)&st->suppressed_seen},
		 {"created", &st->created},
		 {"last_delivery", &st->last_delivery},
		 {"pid", &st->pid}};
	sqlite3_stmt *q = NULL;
	bool row = false;
	exai_status rc;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if ((rc = get_value(s, f[i].key, f[i].v, e)))
			return rc;
	if ((rc = exai_sqlite_prepare(s->db, "SELECT text FROM meta WHERE key = 'mirror_error'",
				      "read the spool's counters", &q, e)))
		return rc;
	if (!(rc = exai_sqlite_step(q, "read the spool's counters", &row, e)) && row &&
	    sqlite3_column_text(q, 0))
		snprintf(st->mirror_error, sizeof(st->mirror_error), "%s",
			 (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return rc;
}
