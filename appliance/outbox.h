/*
 * outbox: audit events to the local exai-mirror over a unix socket.
 *
 * Every history row is also queued in the state database's outbox (same transaction) when a
 * mirror socket is configured. upd_mirror_flush() sends queued events oldest first, one JSON
 * object per line (see upd_event_json), and deletes each once it is fully written; when the
 * mirror is down the events stay queued for the next run. Delivery is at least once: an
 * event cut by a failing write is sent again. The socket is AF_UNIX, which the no-network
 * filter allows.
 */
#ifndef UPD_OUTBOX_H
#define UPD_OUTBOX_H

#include <stddef.h>

#include "state.h"

/* Sends what the outbox holds to @socket_path; *sent gets the number delivered. */
exai_status upd_mirror_flush(upd_state *s, const char *socket_path, size_t *sent,
			     exai_error *e) EXAI_WUR;

#endif
