/*
 * retention: deleting expired payloads while keeping their leaves, and logging each run.
 * See retention.h.
 *
 * Invariant: a payload is only ever set to NULL, never changed; nonce and leaf stay. The
 * deletion and the entry that records it commit together or not at all.
 */
#include "retention.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/sqlite.h"

#define DAY_MS ((int64_t)86400000)

/* The log entry for one class's pruning (payload canonical as record.c makes them). */
static exai_status log_run(mir_store *s, const mir_config *c, const char *cls, int64_t now_ms,
			   int64_t before, uint64_t n, int64_t first, int64_t last, exai_error *e)
{
	mir_record r = {
	    .cls = mir_config_class(c, "audit"), .time = now_ms / 1000, .ingest_ms = now_ms};
	json_t *p =
	    json_pack("{s:{s:{s:s,s:I,s:I,s:I,s:I}},s:s,s:I,s:s,s:I}", "body", "retention", "class",
		      cls, "pruned", (json_int_t)n, "first_index", (json_int_t)first, "last_index",
		      (json_int_t)last, "ingested_before_ms", (json_int_t)before, "class", "audit",
		      "ingest_ms", (json_int_t)now_ms, "tenant", MIR_RETENTION_TENANT, "time",
		      (json_int_t)(now_ms / 1000));
	uint64_t idx;
	exai_status rc;

	if (!p || !(r.payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS))) {
		json_decref(p);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	json_decref(p);
	r.payload_len = strlen(r.payload);
	rc = mir_store_append(s, &r, MIR_RETENTION_TENANT, &idx, e);
	mir_record_clear(&r);
	return rc;
}

static exai_status prune_class(mir_store *s, const mir_config *c, const mir_class *k,
			       int64_t now_ms, uint64_t *pruned, exai_error *e)
{
	int64_t before = now_ms - (int64_t)k->retention_days * DAY_MS, first, last;
	sqlite3_stmt *st = NULL;
	char name[MIR_NAME_MAX + 16];
	uint64_t n;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(s->db,
				      "SELECT count(*), min(idx), max(idx) FROM entries WHERE "
				      "class = ?1 AND ingest_ms < ?2 AND payload IS NOT NULL",
				      "retention: find", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	if ((rc = exai_sqlite_step(st, "retention: find", &row, e)))
		goto out;
	n = (uint64_t)sqlite3_column_int64(st, 0);
	first = sqlite3_column_int64(st, 1);
	last = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	st = NULL;
	if (n == 0)
		goto out;
	if ((rc = exai_sqlite_prepare(s->db,
				      "UPDATE entries SET payload = NULL WHERE class = ?1 AND "
				      "ingest_ms < ?2 AND payload IS NOT NULL",
				      "retention: delete", &st, e)))
		goto out;
	sqlite3_bind_text(st, 1, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before);
	snprintf(name, sizeof(name), "pruned:%s", k->name);
	if ((rc = exai_sqlite_step_done(st, "retention: delete", e)) ||
	    (rc = mir_store_count(s, name, (int64_t)n, e)) ||
	    (rc = log_run(s, c, k->name, now_ms, before, n, first, last, e)))
		goto out;
	*pruned += n;
out:
	sqlite3_finalize(st);
	return rc;
}

exai_status mir_retention_run(mir_store *s, const mir_config *c, int64_t now_ms, uint64_t *pruned,
			      exai_error *e)
{
	exai_status rc;
	exai_error ignored;

	*pruned = 0;
	if ((rc = mir_store_begin(s, e)))
		return rc;
	for (size_t i = 0; !rc && i < c->nclasses; i++)
		if (c->classes[i].retention_days > 0)
			rc = prune_class(s, c, &c->classes[i], now_ms, pruned, e);
	if (rc || (rc = mir_store_commit(s, e))) {
		mir_store_rollback(s);
		*pruned = 0;
		return rc;
	}
	/* Reclaim the space; the deleted bytes were overwritten (secure_delete). */
	if (*pruned &&
	    exai_sqlite_exec(s->db, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);",
			     "retention: reclaim", &ignored)) {
		/* Not fatal: the next run or SQLite's own checkpoint reclaims it. */
	}
	return EXAI_OK;
}
