/*
 * outbox: audit events to the local exai-mirror over a unix socket.
 *
 * Every history row is also queued in the state database's outbox (same transaction) when a
 * mirror socket is configured. upd_mirror_flush() sends queued events oldest first, one JSON
 * object per line (see upd_event_json), in batches, and after each batch reads the mirror's
 * replies (docs/mirror.md "Ingest"): an event leaves the outbox only once an ack line covers
 * its line (the mirror writes it after the COMMIT that holds it). An event the mirror refused
 * (an error line naming its line) stays queued and the flush fails naming it; a nack, a
 * closed connection or no reply within the timeout leaves the batch queued. When the mirror
 * is down the events stay queued for the next run. Delivery is at least once: a batch whose
 * ack was lost is sent again. The socket is AF_UNIX, which the no-network filter allows.
 */
#ifndef UPD_OUTBOX_H
#define UPD_OUTBOX_H

#include <stddef.h>

#include "state.h"

/* Sends what the outbox holds to @socket_path; *sent gets the number acknowledged (and
 * removed). On failure the events not acknowledged stay queued; @e says why. */
exai_status upd_mirror_flush(upd_state *s, const char *socket_path, size_t *sent,
			     exai_error *e) EXAI_WUR;

#endif
