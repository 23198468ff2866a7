/*
 * sqlite: the one way exai tools open and drive an SQLite database (exai-mirror's store; later
 * exai-update's state and airgap-verifier's host mode), so each does not carry its own copy of
 * the open flags and the error wording.
 *
 * Every function returns an exai_status and, on failure, fills @e with
 * "<path>: <what>: <SQLite's message>", where <path> is the database file and <what> the
 * caller's name for the step ("create schema", "insert event"). Databases are always opened
 * with SQLITE_OPEN_NOFOLLOW (a symlink is refused) and a busy timeout.
 */
#ifndef EXAI_SQLITE_H
#define EXAI_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "exai/error.h"

/* How long a connection waits for another connection's lock before SQLITE_BUSY. */
#define EXAI_SQLITE_BUSY_MS 10000

/* What exai_sqlite_open() opens; the zero flags word is read-only, for any thread. */
enum {
	EXAI_SQLITE_RW = 1,	/* read-write (else read-only) */
	EXAI_SQLITE_CREATE = 2, /* with EXAI_SQLITE_RW: create a missing file */
	/* The connection and its statements are used by one thread at a time (the thread that
	 * uses it may change, never two at once): SQLITE_OPEN_NOMUTEX, so SQLite takes no lock on
	 * every call (sqlite3_db_mutex() is NULL). Without it the connection is serialized
	 * (SQLITE_OPEN_FULLMUTEX), safe to share between threads. */
	EXAI_SQLITE_ONE_THREAD = 4
};

/* Opens @path as @flags say: without EXAI_SQLITE_CREATE a missing file is EXAI_ENOENT and
 * nothing is created, a symlink is EXAI_EUNSAFE, anything else SQLite refuses EXAI_EIO. *out
 * is closed with exai_sqlite_close(); on failure *out is NULL. */
exai_status exai_sqlite_open(const char *path, unsigned flags, sqlite3 **out,
			     exai_error *e) EXAI_WUR;

/* Opens @path read-write. With @create a missing file is created; without it a missing file is
 * EXAI_ENOENT and nothing is created. A symlink is EXAI_EUNSAFE. *out is closed with
 * exai_sqlite_close(); on failure *out is NULL. */
exai_status exai_sqlite_open_rw(const char *path, bool create, sqlite3 **out,
				exai_error *e) EXAI_WUR;

/* Opens @path read-only: a missing file is EXAI_ENOENT (never created), a symlink
 * EXAI_EUNSAFE, anything else SQLite refuses EXAI_EIO. */
exai_status exai_sqlite_open_ro(const char *path, sqlite3 **out, exai_error *e) EXAI_WUR;

/* Closes @db (NULL-safe), finalizing nothing: the caller finalizes its statements first. */
void exai_sqlite_close(sqlite3 *db);

/* Runs @sql (one or more statements, no rows expected). */
exai_status exai_sqlite_exec(sqlite3 *db, const char *sql, const char *what,
			     exai_error *e) EXAI_WUR;

/* Prepares one statement; *out is finalized with sqlite3_finalize(), NULL on failure. */
exai_status exai_sqlite_prepare(sqlite3 *db, const char *sql, const char *what, sqlite3_stmt **out,
				exai_error *e) EXAI_WUR;

/* Steps once: *row is true with a row to read, false when the statement is done. */
exai_status exai_sqlite_step(sqlite3_stmt *st, const char *what, bool *row, exai_error *e) EXAI_WUR;

/* Steps until SQLITE_DONE (rows are skipped), then resets @st so it can run again (bindings
 * stay). On failure @st is reset too. */
exai_status exai_sqlite_step_done(sqlite3_stmt *st, const char *what, exai_error *e) EXAI_WUR;

/* Sets @e to "<path>: <what>: <SQLite's last message>" with @code; returns @code. */
exai_status exai_sqlite_error(sqlite3 *db, exai_status code, const char *what, exai_error *e);

#endif
