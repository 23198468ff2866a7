/*
 * walck: SQLite's WAL checkpoints (copying committed pages from mirror.db-wal back into
 * mirror.db; not the log's signed checkpoints) taken out of the writer's commits.
 *
 * Without it, SQLite's auto-checkpoint runs inside the COMMIT that crosses its threshold:
 * that commit, and every batch waiting behind it for an ack, waits while up to 32 MiB are
 * copied and the database file is synced (the tail of the ack latency). With it:
 *   - the writer's connection has no auto-checkpoint; after each commit the WAL hook looks at
 *     the WAL's size: every MIR_WALCK_KICK_PAGES pages more, a thread with its own connection
 *     runs a PASSIVE checkpoint (it copies what is committed while the writer goes on
 *     committing; it never blocks the writer);
 *   - at MIR_WALCK_LIMIT_PAGES the writer runs a PASSIVE checkpoint itself, after its commit,
 *     as the auto-checkpoint did: by then the thread has copied nearly everything, so it is
 *     short, and it leaves the WAL fully copied, so the writer's next transaction starts the
 *     WAL file over (a WAL only ever copied by another connection while commits go on would
 *     not restart, and grow).
 * Durability does not change: a COMMIT is durable when it returns (WAL, synchronous=FULL);
 * checkpoints only move committed pages. A checkpoint that fails is said on stderr once and
 * tried again at the next kick; the disk watermark (min_free_bytes) bounds a WAL that cannot
 * be copied.
 *
 * Threads: mir_walck_start and mir_walck_stop are called by the thread that owns the writer's
 * connection while it is not committing (the writer before its loop and after it); the hook
 * runs on the writer thread inside its commits.
 */
#ifndef MIR_WALCK_H
#define MIR_WALCK_H

#include <sqlite3.h>

#include "exai/error.h"

#define MIR_WALCK_KICK_PAGES  1024 /* 4 MiB of 4 KiB pages */
#define MIR_WALCK_LIMIT_PAGES 8192 /* 32 MiB: the auto-checkpoint threshold it replaces */

typedef struct mir_walck mir_walck;

/* Opens a second connection to @path (which must exist), starts the thread and hooks
 * @writer_db's commits. On failure nothing is changed (the writer keeps SQLite's
 * auto-checkpoint at MIR_WALCK_LIMIT_PAGES) and *out is NULL. */
exai_status mir_walck_start(const char *path, sqlite3 *writer_db, mir_walck **out,
			    exai_error *e) EXAI_WUR;
/* Stops the thread, closes its connection and gives @writer_db its auto-checkpoint back.
 * NULL-safe. */
void mir_walck_stop(mir_walck *w);

#endif
