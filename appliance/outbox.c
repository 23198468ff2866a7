/*
 * outbox: the sender of the audit outbox to the mirror socket, which waits for the mirror's
 * ack of each batch before it deletes the batch's events. See outbox.h; the protocol (lines
 * numbered per connection, ack, error and nack replies) is exai/mirror_send.h's.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>

#include "exai/mirror_send.h"

#define BATCH EXAI_MIRROR_BATCH_MAX

/* Deletes the events an ack covers and the mirror did not refuse, in one transaction. */
static exai_status remove_settled(upd_state *s, const upd_outbox_item *items,
				  const exai_mirror_batch *b, size_t *sent, exai_error *e)
{
	size_t done = b->settled;
	exai_status rc;

	if (done == 0 || (rc = upd_state_begin(s, e)))
		return done == 0 ? EXAI_OK : rc;
	if (b->n_refused == 0) {
		rc = upd_state_outbox_delete(s, items[done - 1].id, e);
	} else {
		rc = EXAI_OK;
		for (size_t i = 0; i < done && !rc; i++)
			if (!b->refused[i])
				rc = upd_state_outbox_delete_one(s, items[i].id, e);
	}
	if (rc || (rc = upd_state_commit(s, e))) {
		upd_state_rollback(s);
		return rc;
	}
	for (size_t i = 0; i < done; i++)
		*sent += !b->refused[i];
	return EXAI_OK;
}

exai_status upd_mirror_flush(upd_state *s, const char *socket_path, size_t *sent, exai_error *e)
{
	upd_outbox_item *items = NULL;
	const char *lines[BATCH];
	exai_mirror_conn *c = NULL;
	exai_mirror_batch *b = NULL;
	size_t n = 0;
	exai_status rc, drc;
	exai_error de;

	*sent = 0;
	if ((rc = upd_state_outbox(s, BATCH, &items, &n, e)) || n == 0)
		goto out;
	if ((rc = exai_mirror_connect(socket_path, &c, e)))
		goto out;
	if (!(b = calloc(1, sizeof(*b)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		for (size_t i = 0; i < n; i++)
			lines[i] = items[i].line;
		rc = exai_mirror_send(c, lines, n, b, e);
		/* What was acknowledged leaves the outbox even when the rest of the batch failed.
		 */
		if ((drc = remove_settled(s, items, b, sent, &de)) && !rc) {
			rc = drc;
			*e = de;
		}
		if (!rc && b->n_refused)
			rc = exai_error_set(e, EXAI_EREFUSED,
					    "the mirror refused %zu event(s), kept queued: outbox "
					    "event %lld: %s",
					    b->n_refused, (long long)items[b->first_refused].id,
					    b->why);
		upd_outbox_free(items, n);
		items = NULL;
		n = 0;
		if (rc || (rc = upd_state_outbox(s, BATCH, &items, &n, e)) || n == 0)
			break;
	}
out:
	exai_mirror_close(c);
	free(b);
	upd_outbox_free(items, n);
	return rc;
}
