/*
 * state_rows: the rows of the state database that operations read and write: installed
 * components and model versions, history and the audit outbox, the journal, and per-file
 * records. Opening, transactions and ratchets are in state.c; both share state_db.h.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#include "exai/event.h"
#include "exai/grow.h"
#include "state_db.h"

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

#define INSTALLED_COLS                                                                             \
	"type, name, time, version, sha256, loc, bundle_id, sequence, prev_version, prev_sha256, " \
	"prev_loc, prev_bundle_id, prev_sequence"

static void read_installed(sqlite3_stmt *st, upd_installed *o)
{
	memset(o, 0, sizeof(*o));
	col_text(st, 0, o->type, sizeof(o->type));
	col_text(st, 1, o->name, sizeof(o->name));
	o->time = (uint64_t)sqlite3_column_int64(st, 2);
	col_text(st, 3, o->cur.version, sizeof(o->cur.version));
	col_text(st, 4, o->cur.sha256, sizeof(o->cur.sha256));
	col_text(st, 5, o->cur.loc, sizeof(o->cur.loc));
	col_text(st, 6, o->cur.bundle_id, sizeof(o->cur.bundle_id));
	o->cur.sequence = (uint64_t)sqlite3_column_int64(st, 7);
	o->has_prev = sqlite3_column_type(st, 8) != SQLITE_NULL;
	if (o->has_prev) {
		col_text(st, 8, o->prev.version, sizeof(o->prev.version));
		col_text(st, 9, o->prev.sha256, sizeof(o->prev.sha256));
		col_text(st, 10, o->prev.loc, sizeof(o->prev.loc));
		col_text(st, 11, o->prev.bundle_id, sizeof(o->prev.bundle_id));
		o->prev.sequence = (uint64_t)sqlite3_column_int64(st, 12);
	}
}

exai_status upd_state_get_installed(upd_state *s, const char *type, const char *name,
				    upd_installed *out, bool *found, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "SELECT " INSTALLED_COLS " FROM installed WHERE type = ? AND name = ?", "tt",
	    type, name);
	int r;

	if (rc)
		return rc;
	*found = false;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		read_installed(st, out);
		*found = true;
	} else if (r != SQLITE_DONE) {
		rc = upd_db_err(s, e, "read installed");
	}
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_put_installed(upd_state *s, const upd_installed *in, exai_error *e)
{
	sqlite3_stmt *st;
	const upd_comp_ver *p = in->has_prev ? &in->prev : NULL;
	exai_status rc = upd_db_prep(s, &st, e,
				     "INSERT OR REPLACE INTO installed(" INSTALLED_COLS
				     ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				     "ttittttittttt", in->type, in->name, in->time, in->cur.version,
				     in->cur.sha256, in->cur.loc, in->cur.bundle_id,
				     in->cur.sequence, p ? p->version : NULL, p ? p->sha256 : NULL,
				     p ? p->loc : NULL, p ? p->bundle_id : NULL, NULL);

	if (rc)
		return rc;
	if (p && sqlite3_bind_int64(st, 13, (sqlite3_int64)p->sequence) != SQLITE_OK) {
		sqlite3_finalize(st);
		return upd_db_err(s, e, "bind");
	}
	return upd_db_run(s, st, e);
}

exai_status upd_state_list_installed(upd_state *s, upd_installed **out, size_t *n, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "SELECT " INSTALLED_COLS " FROM installed ORDER BY type, name", "");
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = EXAI_GROW(out, &cap, *n, 1, EXAI_GROW_NOCAP, e)))
			break;
		read_installed(st, &(*out)[(*n)++]);
	}
	if (!rc && r != SQLITE_DONE)
		rc = upd_db_err(s, e, "list installed");
	sqlite3_finalize(st);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

exai_status upd_state_add_model_version(upd_state *s, const char *name, const char *version,
					exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(s, &st, e,
				     "INSERT OR IGNORE INTO model_version(name, version) "
				     "VALUES(?, ?)",
				     "tt", name, version);

	return rc ? rc : upd_db_run(s, st, e);
}

exai_status upd_state_del_model_version(upd_state *s, const char *name, const char *version,
					exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "DELETE FROM model_version WHERE name = ? AND version = ?", "tt",
			name, version);

	return rc ? rc : upd_db_run(s, st, e);
}

void upd_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

exai_status upd_state_model_versions(upd_state *s, const char *name, char ***out, size_t *n,
				     exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "SELECT version FROM model_version WHERE name = ? ORDER BY seq DESC", "t",
	    name);
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = EXAI_GROW(out, &cap, *n, 1, EXAI_GROW_NOCAP, e)))
			break;
		if (!((*out)[*n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (!rc && r != SQLITE_DONE)
		rc = upd_db_err(s, e, "list model versions");
	sqlite3_finalize(st);
	if (rc) {
		upd_strv_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Bounded copy of an internal string into an event field ("" for NULL). */
static void event_field(char *out, size_t cap, const char *v)
{
	snprintf(out, cap, "%s", v ? v : "");
}

char *upd_event_json(uint64_t time_s, const upd_event *ev, exai_error *e)
{
	exai_event *x = calloc(1, sizeof(*x));
	char *line;

	if (!x) {
		exai_error_set(e, EXAI_ENOMEM, "out of memory");
		return NULL;
	}
	event_field(x->source, sizeof(x->source), "exai-update");
	x->time = time_s;
	event_field(x->op, sizeof(x->op), ev->op);
	event_field(x->bundle_id, sizeof(x->bundle_id), ev->bundle_id);
	event_field(x->channel, sizeof(x->channel), ev->channel);
	x->sequence = ev->sequence;
	event_field(x->signers, sizeof(x->signers), ev->signers);
	event_field(x->outcome, sizeof(x->outcome), ev->outcome);
	/* Reasons quote error messages, which may quote hostile names: valid UTF-8 always, so
	 * the event is recorded whatever the bundle held (jansson refuses anything else). */
	exai_event_text(x->reason, sizeof(x->reason), ev->reason);
	line = exai_event_line(x, e);
	free(x);
	return line;
}

exai_status upd_state_add_history(upd_state *s, const upd_event *ev, bool outbox, exai_error *e)
{
	uint64_t now = upd_now();
	sqlite3_stmt *st;
	/* The reason as valid UTF-8 (exai_event_text) in the history row too, so status, history
	 * and their --json show what the outbox sends. */
	char reason[EXAI_EVENT_REASON_MAX + 1];
	exai_event_text(reason, sizeof(reason), ev->reason);
	/* The outbox line first: an event it cannot hold is refused before either row is written.
	 */
	char *line = outbox ? upd_event_json(now, ev, e) : NULL;
	if (outbox && !line)
		return e->code;
	exai_status rc = upd_db_prep(
	    s, &st, e,
	    "INSERT INTO history(time, op, bundle_id, channel, sequence, signers, outcome, reason) "
	    "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
	    "itttittt", now, ev->op, ev->bundle_id ? ev->bundle_id : "",
	    ev->channel ? ev->channel : "", ev->sequence, ev->signers ? ev->signers : "",
	    ev->outcome, reason);

	if (rc || (rc = upd_db_run(s, st, e)) || !outbox) {
		free(line);
		return rc;
	}
	rc = upd_db_prep(s, &st, e, "INSERT INTO outbox(line) VALUES(?)", "t", line);
	free(line);
	return rc ? rc : upd_db_run(s, st, e);
}

exai_status upd_state_history(upd_state *s, size_t limit, upd_history_fn fn, void *arg,
			      exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e,
			"SELECT * FROM (SELECT id, time, op, bundle_id, channel, sequence, "
			"signers, outcome, reason FROM history ORDER BY id DESC LIMIT ?) "
			"ORDER BY id",
			"i", (uint64_t)limit);
	int r;

	if (rc)
		return rc;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		upd_event ev = {
		    .op = (const char *)sqlite3_column_text(st, 2),
		    .bundle_id = (const char *)sqlite3_column_text(st, 3),
		    .channel = (const char *)sqlite3_column_text(st, 4),
		    .sequence = (uint64_t)sqlite3_column_int64(st, 5),
		    .signers = (const char *)sqlite3_column_text(st, 6),
		    .outcome = (const char *)sqlite3_column_text(st, 7),
		    .reason = (const char *)sqlite3_column_text(st, 8),
		};
		fn(arg, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1), &ev);
	}
	if (r != SQLITE_DONE)
		rc = upd_db_err(s, e, "read history");
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_last_apply(upd_state *s, char bundle_id[65], bool *found, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e,
			"SELECT op, outcome, bundle_id FROM history WHERE (op = 'apply' AND "
			"outcome = 'ok') OR (op = 'rollback' AND outcome = 'ok') OR "
			"(op = 'recover' AND outcome = 'completed') "
			"ORDER BY id DESC LIMIT 1",
			"");
	int r;

	if (rc)
		return rc;
	*found = false;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		/* After a rollback there is nothing newer to roll back from. */
		*found = strcmp((const char *)sqlite3_column_text(st, 0), "rollback") != 0;
		col_text(st, 2, bundle_id, 65);
	} else if (r != SQLITE_DONE) {
		rc = upd_db_err(s, e, "read history");
	}
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_bundle_seen(upd_state *s, const char *bundle_id, char channel[],
				  size_t channel_cap, char signers[], size_t signers_cap,
				  bool *found, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(s, &st, e,
				     "SELECT channel, signers FROM history WHERE bundle_id = ? AND "
				     "((op = 'apply' AND outcome = 'ok') OR (op = 'recover' AND "
				     "outcome = 'completed')) ORDER BY id DESC LIMIT 1",
				     "t", bundle_id);
	int r;

	if (rc)
		return rc;
	*found = false;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*found = true;
		col_text(st, 0, channel, channel_cap);
		col_text(st, 1, signers, signers_cap);
	} else if (r != SQLITE_DONE) {
		rc = upd_db_err(s, e, "read history");
	}
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_journal_set(upd_state *s, const char *op, const char *phase,
				  const char *bundle_id, const char *plan, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "INSERT OR REPLACE INTO journal VALUES(1, ?, ?, ?, ?, ?)",
			"tttti", op, phase, bundle_id, plan, upd_now());

	return rc ? rc : upd_db_run(s, st, e);
}

exai_status upd_state_journal_phase(upd_state *s, const char *phase, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "UPDATE journal SET phase = ? WHERE id = 1", "t", phase);

	return rc ? rc : upd_db_run(s, st, e);
}

exai_status upd_state_journal_get(upd_state *s, upd_journal *out, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "SELECT op, phase, bundle_id, plan, started FROM journal", "");
	int r;

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		out->present = true;
		col_text(st, 0, out->op, sizeof(out->op));
		col_text(st, 1, out->phase, sizeof(out->phase));
		col_text(st, 2, out->bundle_id, sizeof(out->bundle_id));
		out->plan = strdup((const char *)sqlite3_column_text(st, 3));
		out->started = (uint64_t)sqlite3_column_int64(st, 4);
		if (!out->plan)
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	} else if (r != SQLITE_DONE) {
		rc = upd_db_err(s, e, "read journal");
	}
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_journal_clear(upd_state *s, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(s, &st, e, "DELETE FROM journal", "");

	return rc ? rc : upd_db_ratchet_write(s, st, e);
}

void upd_journal_free(upd_journal *j)
{
	if (j) {
		free(j->plan);
		j->plan = NULL;
	}
}

exai_status upd_state_outbox(upd_state *s, size_t max, upd_outbox_item **out, size_t *n,
			     exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(s, &st, e, "SELECT id, line FROM outbox ORDER BY id LIMIT ?",
				     "i", (uint64_t)max);
	int r;

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (!(*out = calloc(max ? max : 1, sizeof(**out)))) {
		sqlite3_finalize(st);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		(*out)[*n].id = sqlite3_column_int64(st, 0);
		if (!((*out)[*n].line = strdup((const char *)sqlite3_column_text(st, 1)))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = upd_db_err(s, e, "read outbox");
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_outbox_delete(upd_state *s, int64_t upto_id, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "DELETE FROM outbox WHERE id <= ?", "i", (uint64_t)upto_id);

	return rc ? rc : upd_db_run(s, st, e);
}

exai_status upd_state_outbox_delete_one(upd_state *s, int64_t id, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "DELETE FROM outbox WHERE id = ?", "i", (uint64_t)id);

	return rc ? rc : upd_db_run(s, st, e);
}

void upd_outbox_free(upd_outbox_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i].line);
	free(items);
}

/* ---- per-file records (schema 2) ---- */

exai_status upd_state_del_files(upd_state *s, const char *type, const char *name, const char *loc,
				exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "DELETE FROM installed_file WHERE type = ? AND name = ? AND loc = ?", "ttt",
	    type, name, loc);

	return rc ? rc : upd_db_run(s, st, e);
}

static exai_status bind_file(upd_state *s, sqlite3_stmt *st, const upd_file *f, exai_error *e)
{
	char hex[EXAI_SHA256_HEX];
	bool hashed = f->kind == UPD_F_FILE || f->kind == UPD_F_RAW;
	int r;

	exai_hex_encode(f->sha256, EXAI_SHA256_LEN, hex);
	sqlite3_reset(st);
	r = sqlite3_bind_text(st, 4, f->path, -1, SQLITE_STATIC);
	if (r == SQLITE_OK)
		r = sqlite3_bind_text(st, 5, upd_fkind_name(f->kind), -1, SQLITE_STATIC);
	if (r == SQLITE_OK)
		r = sqlite3_bind_int64(st, 6, (sqlite3_int64)f->mode);
	if (r == SQLITE_OK)
		r = sqlite3_bind_int64(st, 7, (sqlite3_int64)f->size);
	if (r == SQLITE_OK)
		r = hashed ? sqlite3_bind_text(st, 8, hex, -1, SQLITE_TRANSIENT)
			   : sqlite3_bind_null(st, 8);
	if (r == SQLITE_OK)
		r = f->target ? sqlite3_bind_text(st, 9, f->target, -1, SQLITE_STATIC)
			      : sqlite3_bind_null(st, 9);
	if (r != SQLITE_OK)
		return upd_db_err(s, e, "bind");
	if (sqlite3_step(st) != SQLITE_DONE)
		return upd_db_err(s, e, "write file record");
	return EXAI_OK;
}

exai_status upd_state_put_files(upd_state *s, const char *type, const char *name, const char *loc,
				const upd_filelist *l, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;

	if (!l->finished)
		return exai_error_set(e, EXAI_EINTERNAL, "%s/%s: file records not finished", type,
				      name);
	if ((rc = upd_state_del_files(s, type, name, loc, e)) ||
	    (rc = upd_db_prep(
		 s, &st, e,
		 "INSERT INTO installed_file(type, name, loc, path, kind, mode, size, sha256,"
		 " target) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 "ttt", type, name, loc)))
		return rc;
	for (size_t i = 0; !rc && i < l->n; i++)
		rc = bind_file(s, st, &l->v[i], e);
	sqlite3_finalize(st);
	return rc ? exai_error_prefix(e, "%s/%s", type, name) : rc;
}

exai_status upd_state_files(upd_state *s, const char *type, const char *name, const char *loc,
			    upd_filelist *out, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e,
			"SELECT path, kind, mode, size, sha256, target FROM installed_file "
			"WHERE type = ? AND name = ? AND loc = ? ORDER BY path",
			"ttt", type, name, loc);
	int r;

	if (rc)
		return rc;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sha = (const char *)sqlite3_column_text(st, 4);
		uint8_t md[EXAI_SHA256_LEN] = {0};
		char kind;
		if (!upd_fkind_parse((const char *)sqlite3_column_text(st, 1), &kind) ||
		    (sha && exai_hex_decode(sha, md, sizeof(md), e))) {
			rc = exai_error_set(e, EXAI_EFORMAT, "state db: bad file record for %s/%s",
					    type, name);
			break;
		}
		rc = upd_filelist_add(out, (const char *)sqlite3_column_text(st, 0), kind,
				      (uint32_t)sqlite3_column_int64(st, 2),
				      (uint64_t)sqlite3_column_int64(st, 3), md,
				      (const char *)sqlite3_column_text(st, 5), e);
	}
	if (!rc && r != SQLITE_DONE)
		rc = upd_db_err(s, e, "read file records");
	sqlite3_finalize(st);
	return rc ? rc : upd_filelist_finish(out, e);
}
