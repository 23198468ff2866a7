/*
 * sqlite: opening SQLite databases safely and driving statements with exai_error messages.
 * See exai/sqlite.h.
 *
 * Why the lstat before opening: SQLite reports a refused symlink (SQLITE_OPEN_NOFOLLOW) and a
 * missing file alike as SQLITE_CANTOPEN; the caller needs to tell "not provisioned" from
 * "someone put a link here", so the kind is read first and the open still carries NOFOLLOW,
 * which is what actually enforces the rule (a swap between the two is refused by SQLite).
 */
#include "exai/sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *db_path(sqlite3 *db)
{
	const char *p = db ? sqlite3_db_filename(db, "main") : NULL;

	return p && *p ? p : "(database)";
}

exai_status exai_sqlite_error(sqlite3 *db, exai_status code, const char *what, exai_error *e)
{
	return exai_error_set(e, code, "%s: %s: %s", db_path(db), what,
			      db ? sqlite3_errmsg(db) : "no connection");
}

/* What is at @path: EXAI_OK (a regular file), EXAI_ENOENT, or EXAI_EUNSAFE. */
static exai_status check_kind(const char *path, bool missing_ok, exai_error *e)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && missing_ok)
			return EXAI_OK;
		return exai_error_sys(e, EXAI_EIO, "%s: open database", path);
	}
	if (S_ISLNK(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE, "%s: open database: is a symlink (refused)",
				      path);
	if (!S_ISREG(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE, "%s: open database: not a regular file",
				      path);
	return EXAI_OK;
}

exai_status exai_sqlite_open(const char *path, unsigned flags, sqlite3 **out, exai_error *e)
{
	bool rw = flags & EXAI_SQLITE_RW, create = rw && (flags & EXAI_SQLITE_CREATE);
	int of = (rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
		 (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOFOLLOW |
		 (flags & EXAI_SQLITE_ONE_THREAD ? SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_FULLMUTEX);
	sqlite3 *db = NULL;
	exai_status rc;
	int src;

	*out = NULL;
	if ((rc = check_kind(path, create, e)))
		return rc;
	if ((src = sqlite3_open_v2(path, &db, of, NULL)) != SQLITE_OK) {
		rc = exai_error_set(e, EXAI_EIO, "%s: open database: %s", path,
				    db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, EXAI_SQLITE_BUSY_MS);
	sqlite3_extended_result_codes(db, 1);
	*out = db;
	return EXAI_OK;
}

exai_status exai_sqlite_open_rw(const char *path, bool create, sqlite3 **out, exai_error *e)
{
	return exai_sqlite_open(path, EXAI_SQLITE_RW | (create ? EXAI_SQLITE_CREATE : 0), out, e);
}

exai_status exai_sqlite_open_ro(const char *path, sqlite3 **out, exai_error *e)
{
	return exai_sqlite_open(path, 0, out, e);
}

void exai_sqlite_close(sqlite3 *db)
{
	if (db)
		sqlite3_close_v2(db);
}

exai_status exai_sqlite_exec(sqlite3 *db, const char *sql, const char *what, exai_error *e)
{
	char *msg = NULL;
	exai_status rc = EXAI_OK;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		rc = exai_error_set(e, EXAI_EIO, "%s: %s: %s", db_path(db), what,
				    msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return rc;
}

exai_status exai_sqlite_prepare(sqlite3 *db, const char *sql, const char *what, sqlite3_stmt **out,
				exai_error *e)
{
	*out = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return exai_sqlite_error(db, EXAI_EIO, what, e);
	}
	return EXAI_OK;
}

exai_status exai_sqlite_step(sqlite3_stmt *st, const char *what, bool *row, exai_error *e)
{
	int src = sqlite3_step(st);

	*row = src == SQLITE_ROW;
	if (src == SQLITE_ROW || src == SQLITE_DONE)
		return EXAI_OK;
	return exai_sqlite_error(sqlite3_db_handle(st), src == SQLITE_FULL ? EXAI_ENOSPC : EXAI_EIO,
				 what, e);
}

exai_status exai_sqlite_step_done(sqlite3_stmt *st, const char *what, exai_error *e)
{
	exai_status rc;
	bool row;

	do
		rc = exai_sqlite_step(st, what, &row, e);
	while (!rc && row);
	sqlite3_reset(st);
	return rc;
}
