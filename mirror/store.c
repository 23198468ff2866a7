/*
 * store: the writer's connection to mirror.db. See store.h.
 *
 * Invariant: entries.idx is dense from 0 to size-1, and every row's leaf is
 * SHA-256(nonce || payload) of the payload written with it. Rows are only ever appended; the
 * writer is the only connection that writes.
 */
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/hash.h"
#include "exai/sqlite.h"
#include "tree.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS entries("
    " idx INTEGER PRIMARY KEY,"
    " class TEXT NOT NULL,"
    " tenant TEXT NOT NULL,"
    " time INTEGER NOT NULL,"
    " ingest_ms INTEGER NOT NULL,"
    " nonce BLOB NOT NULL,"
    " payload BLOB,"
    " leaf BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_class_time ON entries(class, time);"
    "CREATE INDEX IF NOT EXISTS entries_tenant_time ON entries(tenant, time);"
    "CREATE INDEX IF NOT EXISTS entries_time ON entries(time);"
    "CREATE INDEX IF NOT EXISTS entries_class_ingest ON entries(class, ingest_ms);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) "
    "WITHOUT ROWID;" MIR_TREE_SCHEMA;

exai_status mir_leaf_data(const uint8_t nonce[MIR_NONCE_LEN], const void *payload, size_t len,
			  uint8_t out[MIR_HASH_LEN], exai_error *e)
{
	uint8_t buf[4096];
	exai_sha256 h;
	exai_status rc;

	/* The common size in one contiguous buffer through the SHA extensions (no EVP context
	 * made and freed per entry: a measurable part of the writer's time). */
	if (len <= sizeof(buf) - MIR_NONCE_LEN) {
		const uint8_t *d[1] = {buf};
		size_t n[1] = {MIR_NONCE_LEN + len};

		memcpy(buf, nonce, MIR_NONCE_LEN);
		if (len)
			memcpy(buf + MIR_NONCE_LEN, payload, len);
		return exai_sha256_multi(1, d, n, (uint8_t(*)[EXAI_SHA256_LEN])out, e);
	}
	if ((rc = exai_sha256_init(&h, e)))
		return rc;
	exai_sha256_update(&h, nonce, MIR_NONCE_LEN);
	exai_sha256_update(&h, payload, len);
	exai_sha256_final(&h, out);
	return EXAI_OK;
}

/* One text value of a single-row query, or "" when there is no row. */
static exai_status query_text(sqlite3 *db, const char *sql, char *out, size_t cap, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row = false;

	out[0] = '\0';
	if ((rc = exai_sqlite_prepare(db, sql, "read", &st, e)) ||
	    (rc = exai_sqlite_step(st, "read", &row, e)))
		goto out;
	if (row && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
out:
	sqlite3_finalize(st);
	return rc;
}

/* The schema and the meta rows of a new, empty database, in one transaction. */
static exai_status create_schema(mir_store *s, const char *origin, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;

	if ((rc = exai_sqlite_exec(s->db, "BEGIN IMMEDIATE", "create schema", e)))
		return rc;
	if (!(rc = exai_sqlite_exec(s->db, schema_sql, "create schema", e)) &&
	    !(rc = exai_sqlite_prepare(s->db,
				       "INSERT INTO meta VALUES('schema', '" MIR_SCHEMA_VERSION
				       "'), ('origin', ?1), ('size', '0')",
				       "create schema", &st, e))) {
		sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
		rc = exai_sqlite_step_done(st, "create schema", e);
		sqlite3_finalize(st);
	}
	if (!rc)
		return exai_sqlite_exec(s->db, "COMMIT", "create schema", e);
	mir_store_rollback(s);
	return rc;
}

/* A fresh database gets the schema and its meta rows; an existing one is checked. *v1 is set
 * for a schema 1 database (to migrate). */
static exai_status init_or_check(mir_store *s, const char *origin, bool *v1, exai_error *e)
{
	char v[300], o[300];
	exai_status rc;

	if ((rc = query_text(s->db, "PRAGMA quick_check(1)", v, sizeof(v), e)))
		return rc;
	if (strcmp(v, "ok"))
		return exai_error_set(e, EXAI_EREFUSED,
				      "%s: the database is damaged (quick_check: %s); refusing to "
				      "run on it (restore it from a backup; it was not changed)",
				      s->path, v);
	if ((rc = query_text(s->db, "SELECT count(*) FROM sqlite_master", v, sizeof(v), e)))
		return rc;
	if (!strcmp(v, "0") && (rc = create_schema(s, origin, e)))
		return rc;
	if ((rc =
		 query_text(s->db, "SELECT value FROM meta WHERE key='schema'", v, sizeof(v), e)) ||
	    (rc = query_text(s->db, "SELECT value FROM meta WHERE key='origin'", o, sizeof(o), e)))
		return rc;
	*v1 = !strcmp(v, "1");
	if (strcmp(v, MIR_SCHEMA_VERSION) && !*v1)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "%s: schema version '%s', this exai-mirror knows '1' (migrated "
		    "at start) and '%s'; refusing to run on it",
		    s->path, v, MIR_SCHEMA_VERSION);
	if (strcmp(o, origin))
		return exai_error_set(e, EXAI_EREFUSED,
				      "%s: the log's origin is '%s', the config says '%s'; "
				      "refusing to run on it",
				      s->path, o, origin);
	return EXAI_OK;
}

static exai_status read_size(mir_store *s, exai_error *e)
{
	char v[32];
	exai_status rc =
	    query_text(s->db, "SELECT value FROM meta WHERE key='size'", v, sizeof(v), e);

	s->size = s->meta_size = rc ? 0 : strtoull(v, NULL, 10);
	return rc;
}

/* The tree's size (meta) must be the entries' count, and the node rows as many as the kept
 * levels of that size have: a row inserted or removed behind the writer's back is refused
 * here (verify names it). */
static exai_status check_size(mir_store *s, exai_error *e)
{
	char v[32], m[32];
	exai_status rc;

	if ((rc = query_text(s->db, "SELECT count(*) FROM entries", v, sizeof(v), e)) ||
	    (rc = query_text(s->db, "SELECT value FROM meta WHERE key='size'", m, sizeof(m), e)))
		return rc;
	if (!m[0] || strcmp(v, m))
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "%s: %s entries stored, the tree has %s; refusing to run on it "
		    "(run exai-mirror verify)",
		    s->path, v, m[0] ? m : "no size");
	/* Every node row the kept levels need, and no other: a row missing anywhere (not only
	 * on the paths a start reads) refuses too. One count over about n/15 rows. */
	{
		uint64_t n = strtoull(m, NULL, 10), want = 0;

		for (unsigned l = MIR_TREE_STRIDE; l < 64; l += MIR_TREE_STRIDE)
			want += n >> l;
		if ((rc = query_text(s->db, "SELECT count(*) FROM nodes", v, sizeof(v), e)))
			return rc;
		if (strtoull(v, NULL, 10) != want)
			return exai_error_set(e, EXAI_EREFUSED,
					      "%s: %s tree node rows, %llu entries need %llu; "
					      "refusing to run on it (run exai-mirror verify)",
					      s->path, v, (unsigned long long)n,
					      (unsigned long long)want);
	}
	return EXAI_OK;
}

/* Schema 1 to 2, inside the caller's transaction: every entry's level-0 node must be its leaf
 * hash (else the rows that would be deleted are the only witness of a change: refused), then
 * the node rows schema 2 does not keep go and meta gets the size. */
static exai_status migrate_v1(mir_store *s, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0, nodes0 = 0;
	exai_status rc;
	bool row;
	char v[32];

	if ((rc = exai_sqlite_prepare(
		 s->db,
		 "SELECT e.idx, e.leaf, n.hash FROM entries e LEFT JOIN nodes n "
		 "ON n.level = 0 AND n.idx = e.idx ORDER BY e.idx",
		 "migrate schema 1", &st, e)))
		return rc;
	while (!(rc = exai_sqlite_step(st, "migrate schema 1", &row, e)) && row) {
		int64_t idx = sqlite3_column_int64(st, 0);
		mir_hash lh;

		if (idx != (int64_t)n || sqlite3_column_bytes(st, 2) != 32) {
			rc = exai_error_set(e, EXAI_EREFUSED,
					    "%s: schema 1 database: entry %lld %s; not migrated "
					    "(it was not changed; run the schema 1 exai-mirror "
					    "verify on it)",
					    s->path,
					    (long long)(idx != (int64_t)n ? (int64_t)n : idx),
					    idx != (int64_t)n ? "is missing" : "has no leaf node");
			break;
		}
		if ((rc = mir_hash_leaf(sqlite3_column_blob(st, 1),
					(size_t)sqlite3_column_bytes(st, 1), lh, e)))
			break;
		if (memcmp(lh, sqlite3_column_blob(st, 2), 32)) {
			rc =
			    exai_error_set(e, EXAI_EREFUSED,
					   "%s: schema 1 database: entry %lld: its leaf is not the "
					   "one in the tree; not migrated (it was not changed)",
					   s->path, (long long)idx);
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = query_text(s->db, "SELECT count(*) FROM nodes WHERE level = 0", v, sizeof(v), e)))
		return rc;
	nodes0 = strtoull(v, NULL, 10);
	if (nodes0 != n)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "%s: schema 1 database: %llu leaf nodes for %llu entries; not "
		    "migrated (it was not changed)",
		    s->path, (unsigned long long)nodes0, (unsigned long long)n);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)n);
	if ((rc = exai_sqlite_exec(s->db,
				   "DELETE FROM nodes WHERE level = 0 OR level % 4 != 0;"
				   "UPDATE meta SET value = '" MIR_SCHEMA_VERSION
				   "' WHERE key = 'schema';",
				   "migrate schema 1", e)) ||
	    (rc = exai_sqlite_prepare(s->db, "INSERT INTO meta VALUES('size', ?1)",
				      "migrate schema 1", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, v, -1, SQLITE_TRANSIENT);
	rc = exai_sqlite_step_done(st, "migrate schema 1", e);
	sqlite3_finalize(st);
	if (!rc)
		fprintf(stderr, "exai-mirror: %s: migrating schema 1 (%llu entries) to %s\n",
			s->path, (unsigned long long)n, MIR_SCHEMA_VERSION);
	return rc;
}

/* A failure SQLite reports as a damaged file becomes a refusal that says so. */
static exai_status damaged(mir_store *s, exai_status rc, exai_error *e)
{
	int code = sqlite3_errcode(s->db) & 0xff;

	if (rc && (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)) {
		exai_error_prefix(
		    e,
		    "%s is damaged; refusing to run on it (it was not changed; restore "
		    "it from a backup)",
		    s->path);
		rc = e->code = EXAI_EREFUSED;
	}
	return rc;
}

/* The last signed checkpoint must still be the root of the stored tree at its size: the
 * next checkpoint is signed only over a tree that extends it. */
static exai_status check_checkpoint(mir_store *s, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	mir_hash now;
	exai_status rc;
	bool row = false;

	if ((rc = exai_sqlite_prepare(
		 s->db, "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1",
		 "read the last checkpoint", &st, e)) ||
	    (rc = exai_sqlite_step(st, "read the last checkpoint", &row, e)) || !row)
		goto out;
	s->cp_size = (uint64_t)sqlite3_column_int64(st, 0);
	if (sqlite3_column_bytes(st, 1) != 32 || s->cp_size == 0 || s->cp_size > s->size) {
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "%s: the last checkpoint (size %llu) does not fit the %llu "
				    "entries stored; refusing to run on it",
				    s->path, (unsigned long long)s->cp_size,
				    (unsigned long long)s->size);
		goto out;
	}
	memcpy(s->cp_root, sqlite3_column_blob(st, 1), 32);
	if ((rc = mir_tree_root(&s->tree, s->cp_size, now, e)))
		goto out;
	if (memcmp(now, s->cp_root, 32))
		rc =
		    exai_error_set(e, EXAI_EREFUSED,
				   "%s: the stored tree no longer has the root of the last signed "
				   "checkpoint (size %llu); refusing to run on it (run exai-mirror "
				   "verify)",
				   s->path, (unsigned long long)s->cp_size);
out:
	sqlite3_finalize(st);
	return rc;
}

exai_status mir_store_put_checkpoint(mir_store *s, uint64_t size, const mir_hash root,
				     int64_t time_ms, const char *note, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;

	if ((rc = mir_store_begin(s, e)))
		return rc;
	if (!(rc = exai_sqlite_prepare(s->db,
				       "INSERT INTO checkpoints(size, root, time_ms, note) "
				       "VALUES(?1, ?2, ?3, ?4)",
				       "store checkpoint", &st, e))) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
		sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, time_ms);
		sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
		rc = exai_sqlite_step_done(st, "store checkpoint", e);
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = mir_store_commit(s, e))) {
		s->cp_size = size;
		memcpy(s->cp_root, root, 32);
		return EXAI_OK;
	}
	mir_store_rollback(s);
	return rc;
}

exai_status mir_store_open(const char *path, const char *origin, mir_store **out, exai_error *e)
{
	mir_store *s = calloc(1, sizeof(*s));
	exai_status rc;
	bool v1 = false;

	*out = NULL;
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	/* No memory statistics: Debian's SQLite keeps them by default, a global mutex taken on
	 * every allocation (about 2% of the writer). Set before SQLite's first use in the
	 * process (serve opens the store before any other connection or thread); where SQLite
	 * is already in use (a test process) it says SQLITE_MISUSE and nothing changes. */
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
		/* statistics stay on: slower, the same results */
	}
	/* Only the writer thread uses the connection once it is started (no mutex per call). */
	if ((rc = exai_sqlite_open(
		 path, EXAI_SQLITE_RW | EXAI_SQLITE_CREATE | EXAI_SQLITE_ONE_THREAD, &s->db, e)) ||
	    (rc = damaged(s,
			  exai_sqlite_exec(s->db,
					   /* auto_vacuum takes on a new file only (no
					    * tables yet): pruned pages can be given back */
					   "PRAGMA auto_vacuum=INCREMENTAL; "
					   "PRAGMA journal_mode=WAL; "
					   "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; "
					   /* the writer's page cache (16 MiB, default 2 MiB)
					    * and a WAL checkpointed every 8192 pages (32 MiB,
					    * default 1000): index and tree pages that many
					    * commits touch are read and copied back less
					    * often (docs/benchmarks.md, mirror) */
					   "PRAGMA cache_size=-16384; "
					   "PRAGMA wal_autocheckpoint=8192;",
					   "set WAL and synchronous=FULL", e),
			  e)) ||
	    (rc = damaged(s, init_or_check(s, origin, &v1, e), e)) ||
	    (v1 && (rc = exai_sqlite_exec(s->db, "BEGIN IMMEDIATE", "migrate schema 1", e))) ||
	    (v1 && (rc = damaged(s, migrate_v1(s, e), e))) || (rc = read_size(s, e)) ||
	    (rc = damaged(s, check_size(s, e), e)) || (rc = mir_tree_open(s->db, &s->tree, e)) ||
	    (rc = damaged(s, mir_tree_load(&s->tree, s->size, e), e)) ||
	    (rc = check_checkpoint(s, e)) ||
	    (v1 && (rc = exai_sqlite_exec(s->db, "COMMIT", "migrate schema 1", e))) ||
	    (rc = exai_sqlite_prepare(s->db, "UPDATE meta SET value = ?1 WHERE key = 'size'",
				      "prepare size", &s->set_size, e)) ||
	    (rc =
		 exai_sqlite_prepare(s->db,
				     "INSERT INTO entries(idx, class, tenant, time, ingest_ms, "
				     "nonce, payload, leaf) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				     "prepare insert", &s->ins_entry, e)) ||
	    (rc = exai_sqlite_prepare(s->db,
				      "INSERT INTO counters VALUES(?1, ?2) ON CONFLICT(name) DO "
				      "UPDATE SET value = value + excluded.value",
				      "prepare counter", &s->add_counter, e)) ||
	    (rc = exai_sqlite_prepare(s->db,
				      "INSERT INTO counters VALUES(?1, ?2) ON CONFLICT(name) DO "
				      "UPDATE SET value = excluded.value",
				      "prepare gauge", &s->set_gauge, e))) {
		if (v1 && !sqlite3_get_autocommit(s->db)) {
			exai_error ignored;
			if (exai_sqlite_exec(s->db, "ROLLBACK", "rollback", &ignored)) {
				/* closing the connection rolls back too */
			}
		}
		mir_store_close(s);
		return rc;
	}
	*out = s;
	return EXAI_OK;
}

void mir_store_close(mir_store *s)
{
	if (!s)
		return;
	sodium_memzero(s->nonce_pool, sizeof(s->nonce_pool));
	sqlite3_finalize(s->ins_entry);
	sqlite3_finalize(s->add_counter);
	sqlite3_finalize(s->set_gauge);
	sqlite3_finalize(s->set_size);
	mir_tree_close(&s->tree);
	exai_sqlite_close(s->db);
	free(s->path);
	free(s);
}

exai_status mir_store_begin(mir_store *s, exai_error *e)
{
	return exai_sqlite_exec(s->db, "BEGIN IMMEDIATE", "begin", e);
}

exai_status mir_store_commit(mir_store *s, exai_error *e)
{
	exai_status rc;

	/* The tree's size with the rows it counts: one row updated per commit, not per entry. */
	if (s->size != s->meta_size) {
		char v[32];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)s->size);
		sqlite3_bind_text(s->set_size, 1, v, -1, SQLITE_TRANSIENT);
		rc = exai_sqlite_step_done(s->set_size, "store the tree size", e);
		sqlite3_clear_bindings(s->set_size);
		if (rc)
			return rc;
	}
	if ((rc = exai_sqlite_exec(s->db, "COMMIT", "commit", e)))
		return rc;
	s->meta_size = s->size;
	return EXAI_OK;
}

void mir_store_rollback(mir_store *s)
{
	exai_error ignored;

	if (!sqlite3_get_autocommit(s->db))
		if (exai_sqlite_exec(s->db, "ROLLBACK", "rollback", &ignored)) {
			/* SQLite rolls back on its own when ROLLBACK itself fails. */
		}
	if (read_size(s, &ignored)) {
		/* size stays 0 and the next append fails on the duplicate index */
	}
}

/* The next entry's nonce from the kernel CSPRNG, MIR_NONCE_POOL at a time (a getrandom call
 * per entry was a measurable part of the writer's time). */
static void next_nonce(mir_store *s, uint8_t out[MIR_NONCE_LEN])
{
	uint8_t *p;

	if (s->nonce_left == 0) {
		randombytes_buf(s->nonce_pool, sizeof(s->nonce_pool));
		s->nonce_left = MIR_NONCE_POOL;
	}
	p = s->nonce_pool + (size_t)--s->nonce_left * MIR_NONCE_LEN;
	memcpy(out, p, MIR_NONCE_LEN);
	sodium_memzero(p, MIR_NONCE_LEN);
}

exai_status mir_store_append(mir_store *s, const mir_record *r, const char *tenant, uint64_t *idx,
			     exai_error *e)
{
	uint8_t nonce[MIR_NONCE_LEN], leaf[MIR_HASH_LEN];
	mir_hash lh;
	sqlite3_stmt *st = s->ins_entry;
	exai_status rc;

	next_nonce(s, nonce);
	if ((rc = mir_leaf_data(nonce, r->payload, r->payload_len, leaf, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)s->size);
	sqlite3_bind_text(st, 2, r->cls->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->time);
	sqlite3_bind_int64(st, 5, r->ingest_ms);
	sqlite3_bind_blob(st, 6, nonce, sizeof(nonce), SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, r->payload, (int)r->payload_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, leaf, sizeof(leaf), SQLITE_STATIC);
	rc = exai_sqlite_step_done(st, "insert entry", e);
	sqlite3_clear_bindings(st);
	if (rc || (rc = mir_hash_leaf(leaf, sizeof(leaf), lh, e)) ||
	    (rc = mir_tree_append(&s->tree, s->size, lh, e)))
		return rc;
	*idx = s->size++;
	return EXAI_OK;
}

exai_status mir_store_count(mir_store *s, const char *name, int64_t delta, exai_error *e)
{
	exai_status rc;

	sqlite3_bind_text(s->add_counter, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->add_counter, 2, delta);
	rc = exai_sqlite_step_done(s->add_counter, "count", e);
	sqlite3_clear_bindings(s->add_counter);
	return rc;
}

exai_status mir_store_gauge(mir_store *s, const char *name, int64_t value, exai_error *e)
{
	exai_status rc;

	sqlite3_bind_text(s->set_gauge, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->set_gauge, 2, value);
	rc = exai_sqlite_step_done(s->set_gauge, "gauge", e);
	sqlite3_clear_bindings(s->set_gauge);
	return rc;
}

exai_status mir_store_open_ro(const char *path, sqlite3 **out, exai_error *e)
{
	char v[64];
	exai_status rc;

	if ((rc = exai_sqlite_open(path, EXAI_SQLITE_ONE_THREAD, out, e)))
		return rc;
	if ((rc = query_text(*out, "SELECT value FROM meta WHERE key='schema'", v, sizeof(v), e)))
		goto fail;
	if (!strcmp(v, "1")) {
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "%s: schema version 1; start exai-mirror serve once on it to "
				    "migrate it to %s",
				    path, MIR_SCHEMA_VERSION);
		goto fail;
	}
	if (strcmp(v, MIR_SCHEMA_VERSION)) {
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "%s: not an exai-mirror database (schema '%s')", path, v);
		goto fail;
	}
	return EXAI_OK;
fail:
	exai_sqlite_close(*out);
	*out = NULL;
	return rc;
}
