/*
 * state_db: what state.c and state_rows.c share inside the appliance (not part of state.h's
 * interface): the handle and the statement helpers.
 */
#ifndef UPD_STATE_DB_H
#define UPD_STATE_DB_H

#include <sqlite3.h>
#include <stdbool.h>

#include "ratchets.h"
#include "state.h"

struct upd_state {
	sqlite3 *db;
	int lock_fd;
	char *rpath;	     /* state_dir/ratchets */
	upd_ratchets record; /* what that file holds now */
	bool sync;	     /* this transaction touched ratchets or the journal */
};

/* The error of the last SQLite call, as EXAI_ENOSPC when the disk is full, else EXAI_EIO. */
exai_status upd_db_err(upd_state *s, exai_error *e, const char *what);
/* Prepares @sql and binds arguments described by @types: 't' text (const char *, NULL binds
 * NULL), 'i' integer (uint64_t, stored as int64). On failure *st is NULL. */
exai_status upd_db_prep(upd_state *s, sqlite3_stmt **st, exai_error *e, const char *sql,
			const char *types, ...);
/* Steps and finalizes a statement that returns no rows. */
exai_status upd_db_run(upd_state *s, sqlite3_stmt *st, exai_error *e);
/* Runs @st, a write that moves ratchets or the journal, so the commit rewrites the ratchet
 * record first; in a transaction of its own unless one is open. Finalizes @st. */
exai_status upd_db_ratchet_write(upd_state *s, sqlite3_stmt *st, exai_error *e);
/* Runs SQL text without parameters. */
exai_status upd_db_exec(upd_state *s, const char *sql, exai_error *e);

#endif
