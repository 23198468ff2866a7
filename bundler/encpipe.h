/*
 * encpipe: the create-side payload pipeline. The producer (the caller) appends plaintext;
 * full chunks go to worker threads (exai_worker_count) that encrypt them (unless the bundle
 * is plain) and hash the result into the chunk table, four at a time; a writer thread hands
 * the chunks, in order, to the output. Memory is bounded by a ring of 2 * 4 * workers + 2
 * chunk buffers (at most 192 MiB).
 */
#ifndef EXB_ENCPIPE_H
#define EXB_ENCPIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/progress.h"
#include "bundle_write.h"

typedef struct exb_encpipe exb_encpipe;

/* @key NULL = plain bundle. @table receives chunk_count * 32 bytes. */
exai_status exb_encpipe_start(exb_output *out, const uint8_t *key, const uint8_t bundle_id[32],
			      uint64_t chunk_size, uint64_t chunk_count, uint8_t *table,
			      exai_progress *progress, exb_encpipe **pp, exai_error *e) EXAI_WUR;
/* The free space of the current chunk (taking a slot if needed): a producer may read straight
 * into *buf (up to *room bytes) and then pass that same pointer to exb_encpipe_write, which
 * then copies nothing. */
exai_status exb_encpipe_reserve(exb_encpipe *p, uint8_t **buf, size_t *room,
				exai_error *e) EXAI_WUR;
/* Appends plaintext (producer thread only). */
exai_status exb_encpipe_write(exb_encpipe *p, const void *buf, size_t len, exai_error *e) EXAI_WUR;
/* Flushes the last chunk, waits for everything to be written, stops the threads, frees @p. */
exai_status exb_encpipe_finish(exb_encpipe *p, exai_error *e) EXAI_WUR;
/* Stops the threads and frees @p after a failure. NULL-safe. */
void exb_encpipe_abort(exb_encpipe *p);

#endif
