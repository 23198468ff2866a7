/*
 * spool: the durable queue of exai-egress serve's events (SQLite, DIR/spool.db), between the
 * ring buffer and the mirror. An event is appended, in a transaction committed with
 * synchronous=FULL (WAL: fsync of the log at every commit), before the ring buffer's consumer
 * position moves past it; it is removed only after the mirror's ack covers it, in another
 * such transaction. A crash between either pair of steps repeats the step: an event may be
 * spooled or delivered twice, never lost (at least once).
 *
 * The spool is bounded in events and bytes (of the bodies). An append beyond either bound is
 * refused: the event is not kept, and the refusal is counted in the same transaction
 * ('refused', persisted, shown by status); nothing already spooled is ever dropped to make
 * room. Counters (meta rows) are integers kept with the rows: events and bytes by triggers,
 * the rest by the daemon.
 *
 * Fail closed: a spool.db that is not this schema (or a newer version) is refused, never
 * rebuilt; a missing one is created only by serve (egress_spool_open with @create), which then
 * spools a "spool created" event, so a lost spool shows in the mirror.
 */
#ifndef EXAI_EGRESS_SPOOL_H
#define EXAI_EGRESS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

typedef struct egress_spool egress_spool;

typedef struct egress_spool_item {
	int64_t id;
	int64_t time; /* unix seconds */
	char *body;   /* one compact JSON object */
	char *text;   /* the same event as one line of text, for the journal */
} egress_spool_item;

/* The counters, as status shows them. */
typedef struct egress_spool_stats {
	uint64_t events, bytes;		     /* waiting */
	uint64_t refused;		     /* appends refused at the bound, ever */
	uint64_t refused_reported;	     /* of them, reported by a counter event */
	uint64_t delivered;		     /* acknowledged by the mirror and removed, ever */
	uint64_t journaled;		     /* the highest event id written to the journal */
	uint64_t journal_failed;	     /* journal writes that failed */
	uint64_t lost_seen, suppressed_seen; /* kernel counters already reported */
	int64_t created, last_delivery;	     /* unix seconds (0: never) */
	int64_t pid;			     /* the serve that has it open (0: none) */
	char mirror_error[256];		     /* why the last delivery failed ("": it did not) */
} egress_spool_stats;

/* Opens DIR/spool.db read-write. @dir must exist. With @create a missing database is created
 * (*@created tells); without it a missing one is EXAI_ENOENT. */
exai_status egress_spool_open(const char *dir, bool create, egress_spool **out, bool *created,
			      exai_error *e) EXAI_WUR;
/* Opens it read-only (status): EXAI_ENOENT when missing, never created. */
exai_status egress_spool_open_ro(const char *dir, egress_spool **out, exai_error *e) EXAI_WUR;
void egress_spool_close(egress_spool *s);

/* A write transaction (BEGIN IMMEDIATE) around appends and counter updates. */
exai_status egress_spool_begin(egress_spool *s, exai_error *e) EXAI_WUR;
exai_status egress_spool_commit(egress_spool *s, exai_error *e) EXAI_WUR;
void egress_spool_rollback(egress_spool *s);

/* Appends one event (@body JSON, @text its journal line) within a transaction, unless that
 * would pass @max_events or @max_bytes (of body and text): then *@stored is false and
 * 'refused' is incremented instead. */
exai_status egress_spool_add(egress_spool *s, int64_t time, const char *body, const char *text,
			     uint64_t max_events, uint64_t max_bytes, bool *stored,
			     exai_error *e) EXAI_WUR;

/* Whether one more event of @len bytes fits under both bounds (within a transaction). */
exai_status egress_spool_fits(egress_spool *s, size_t len, uint64_t max_events, uint64_t max_bytes,
			      bool *fits, exai_error *e) EXAI_WUR;

/* Adds @delta to the counter @key (within a transaction, or on its own). */
exai_status egress_spool_count(egress_spool *s, const char *key, int64_t delta,
			       exai_error *e) EXAI_WUR;
/* Sets counter @key to @value. */
exai_status egress_spool_set(egress_spool *s, const char *key, int64_t value,
			     exai_error *e) EXAI_WUR;
/* Sets the text of 'mirror_error' ("" clears it). */
exai_status egress_spool_set_error(egress_spool *s, const char *text, exai_error *e) EXAI_WUR;

/* The oldest @max events (at most) with an id above @after, oldest first; freed with
 * egress_spool_items_free (*@out is NULL when there are none). */
exai_status egress_spool_take(egress_spool *s, int64_t after, size_t max, egress_spool_item **out,
			      size_t *n, exai_error *e) EXAI_WUR;
void egress_spool_items_free(egress_spool_item *items, size_t n);

/* Removes the @n events @ids that the mirror acknowledged, counts them delivered and sets
 * last_delivery, in one transaction. */
exai_status egress_spool_remove(egress_spool *s, const int64_t *ids, size_t n,
				exai_error *e) EXAI_WUR;

exai_status egress_spool_stats_get(egress_spool *s, egress_spool_stats *st, exai_error *e) EXAI_WUR;

#endif
