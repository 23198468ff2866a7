/*
 * walck: the WAL checkpoint thread beside the writer. See walck.h.
 *
 * Invariants: the thread's connection is used by the thread only (opened before it starts,
 * closed after it is joined); `kick` and `stop` are read and written under the mutex;
 * last_kick is the writer thread's own (the hook runs there).
 */
#include "walck.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "exai/sqlite.h"

struct mir_walck {
	sqlite3 *db;  /* the thread's own connection */
	sqlite3 *wdb; /* the writer's */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kick, stop;
	int last_kick;	/* WAL pages at the last kick (writer thread) */
	int last_error; /* the last failure said on stderr (thread), 0: none */
};

/* A failure once on stderr (a repeat of the same code is not said again). */
static void say(mir_walck *w, sqlite3 *db, int rc, const char *who)
{
	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == w->last_error)
		return;
	w->last_error = rc;
	fprintf(stderr, "exai-mirror serve: WAL checkpoint (%s): %s\n", who, sqlite3_errmsg(db));
}

static void *run(void *arg)
{
	mir_walck *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		int rc;

		while (!w->kick && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		w->kick = false;
		pthread_mutex_unlock(&w->mu);
		rc =
		    sqlite3_wal_checkpoint_v2(w->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		say(w, w->db, rc, "thread");
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* After each commit of the writer, with the WAL's size in pages. */
static int hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	mir_walck *w = arg;

	if (pages < w->last_kick)
		w->last_kick = 0; /* the WAL started over */
	if (pages - w->last_kick >= MIR_WALCK_KICK_PAGES) {
		w->last_kick = pages;
		pthread_mutex_lock(&w->mu);
		w->kick = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	if (pages >= MIR_WALCK_LIMIT_PAGES) {
		/* SQLITE_BUSY: the thread is copying now; tried again after the next commit. */
		int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			fprintf(stderr, "exai-mirror serve: WAL checkpoint (writer): %s\n",
				sqlite3_errmsg(db));
	}
	return SQLITE_OK;
}

exai_status mir_walck_start(const char *path, sqlite3 *writer_db, mir_walck **out, exai_error *e)
{
	mir_walck *w = calloc(1, sizeof(*w));
	exai_status rc;

	*out = NULL;
	if (!w)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	w->wdb = writer_db;
	if ((rc = exai_sqlite_open(path, EXAI_SQLITE_RW | EXAI_SQLITE_ONE_THREAD, &w->db, e)) ||
	    (rc = exai_sqlite_exec(w->db, "PRAGMA synchronous=FULL", "WAL checkpoint connection",
				   e))) {
		exai_sqlite_close(w->db);
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		exai_sqlite_close(w->db);
		free(w);
		return exai_error_set(e, EXAI_EIO, "cannot start the WAL checkpoint thread");
	}
	/* Replaces SQLite's auto-checkpoint hook on the writer's connection. */
	sqlite3_wal_hook(writer_db, hook, w);
	*out = w;
	return EXAI_OK;
}

void mir_walck_stop(mir_walck *w)
{
	if (!w)
		return;
	sqlite3_wal_autocheckpoint(w->wdb, MIR_WALCK_LIMIT_PAGES);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	exai_sqlite_close(w->db);
	free(w);
}
