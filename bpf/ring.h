/*
 * ring: a reader of the pinned event ring buffer that moves the consumer position only when
 * told to, so that exai-egress serve advances it past a batch of events only after the batch
 * is committed to the spool. A reader killed in between leaves those events in the ring (the
 * ring and its consumer position live in the pinned map), and the next reader reads them
 * again: at least once, never lost. libbpf's ring_buffer__consume moves the position after
 * each event, before the caller could have stored it; this reader maps the ring itself, as
 * libbpf does (consumer page read-write at offset 0, producer page and twice the data pages
 * read-only after it).
 *
 * The consumer position is moved with a compare-and-swap from the position the batch was
 * read at: it never goes backwards, and a second reader (which serve's lock on the pin
 * directory keeps away) would be noticed rather than have its events read twice.
 */
#ifndef EXAI_EGRESS_RING_H
#define EXAI_EGRESS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

typedef struct egress_ring {
	int fd; /* the map (not owned): pollable, readable when events wait */
	void *cons;
	void *prod;
	size_t prod_len;
	uint64_t mask;
	uint64_t read_from; /* consumer position the last peek started at */
	uint64_t read_to;   /* the position after the last event it returned */
} egress_ring;

/* Maps the ring buffer map @fd. egress_ring_close unmaps it. */
exai_status egress_ring_open(int fd, egress_ring *r, exai_error *e) EXAI_WUR;

/* Calls @fn(@ctx, data, size) for each event committed after the consumer position, at most
 * @max of them, and stops early when @fn returns nonzero. Does not move the consumer position.
 * Returns how many events @fn was given. */
size_t egress_ring_peek(egress_ring *r, size_t max, int (*fn)(void *, const void *, size_t),
			void *ctx);

/* Moves the consumer position past what the last peek returned. False when the position had
 * moved meanwhile (another reader): it is then left where that reader put it. */
bool egress_ring_commit(egress_ring *r);

/* Unmaps. NULL-safe; the map descriptor is the caller's. */
void egress_ring_close(egress_ring *r);

#endif
