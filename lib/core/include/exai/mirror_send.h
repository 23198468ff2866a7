/*
 * mirror_send: the client side of exai-mirror's ingest socket (docs/mirror.md "Ingest"), for
 * every tool that delivers lines to the mirror and must know which of them are committed:
 * exai-update's outbox and exai-egress serve's spool.
 *
 * One connection carries batches of lines (one JSON object each, no newline). Lines are
 * numbered per connection from 1, as the mirror numbers them. After a batch is sent, the
 * mirror's replies (one JSON object a line, at most 64 KiB) are read until an "ack" covers the
 * batch's last line: "ack" says every line through "through_line" is settled (committed,
 * dropped or refused), "error" names one line the mirror refused (line 0: the connection
 * itself was refused), "nack" says the batch was not committed. A caller removes a line from
 * its queue only when the ack covers it and it was not refused; everything else stays queued
 * and is sent again later (delivery is at least once).
 */
#ifndef EXAI_MIRROR_SEND_H
#define EXAI_MIRROR_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define EXAI_MIRROR_BATCH_MAX 256 /* lines per batch */
#define EXAI_MIRROR_ACK_S     10  /* how long a batch waits for its ack */

typedef struct exai_mirror_conn exai_mirror_conn;

/* What one batch came to. */
typedef struct exai_mirror_batch {
	size_t settled;			     /* the first @settled lines are covered by an ack */
	bool refused[EXAI_MIRROR_BATCH_MAX]; /* line i got an error line (it is not stored) */
	size_t n_refused;
	size_t first_refused; /* index of the first refused line (when n_refused > 0) */
	char why[256];	      /* the mirror's message for it */
} exai_mirror_batch;

/* Connects to the mirror's socket @path (send timeout 2 s, reply timeout EXAI_MIRROR_ACK_S).
 * *out is closed with exai_mirror_close; NULL on failure (EXAI_EIO "mirror: connect PATH: ..."
 * when nothing listens). */
exai_status exai_mirror_connect(const char *path, exai_mirror_conn **out, exai_error *e) EXAI_WUR;

/* Sends @n lines (1..EXAI_MIRROR_BATCH_MAX, each NUL-terminated without a newline) as the next
 * lines of @c and reads replies until an ack covers the last one. @b is filled either way:
 * on failure (the connection closed or timed out before the ack, a nack, the connection
 * refused, a reply that is not the protocol) b->settled still says how many lines an ack
 * covered, and those are settled. Refused lines are not a failure here: the caller decides. */
exai_status exai_mirror_send(exai_mirror_conn *c, const char *const *lines, size_t n,
			     exai_mirror_batch *b, exai_error *e) EXAI_WUR;

/* Closes @c. NULL-safe. */
void exai_mirror_close(exai_mirror_conn *c);

#endif
