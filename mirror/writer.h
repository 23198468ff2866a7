/*
 * writer: the one ingest queue and the one writer thread. Every listener (today the unix
 * socket, later the network listener) hands batches to mir_writer_submit; the writer takes
 * every batch queued, appends their records in one transaction (group commit), COMMITs, and
 * only then hands each batch back, done, through mir_writer_take_done, so the listener can
 * send its ack. A batch that could not be stored comes back with its error instead.
 *
 * Checkpoints: the writer also signs them. While entries arrive, one is signed once
 * checkpoint_ms have passed since the last (so at least one per second); when no entry came
 * since the last, none. Before signing it checks that the stored tree still has the root of
 * the last checkpoint signed at that size (so two inconsistent checkpoints are never signed),
 * and a checkpoint is stored durably (its own COMMIT) before the next is signed. On stop, the
 * entries not yet covered get a last checkpoint.
 *
 * Ownership: a submitted batch belongs to the writer until it is taken back done; the
 * listener frees it with mir_batch_free. Thread-safe: submit and take_done from any thread.
 */
#ifndef MIR_WRITER_H
#define MIR_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "note.h"
#include "exai/error.h"
#include "record.h"
#include "store.h"

/* Refusal reasons counted in counters as refused:<name>. */
enum mir_refusal {
	MIR_REF_FORMAT,	       /* malformed record */
	MIR_REF_CLASS,	       /* unknown class */
	MIR_REF_TENANT_KEY,    /* a record that names a tenant */
	MIR_REF_TOO_LONG,      /* line over max_line */
	MIR_REF_UNMAPPED_PEER, /* a peer not in the tenant map */
	MIR_REF_BUSY,	       /* a connection over MIR_INGEST_CONNS */
	MIR_REF_SCRUB,	       /* a value the scrubber could not run on */
	MIR_REF_N
};
extern const char *const mir_refusal_names[MIR_REF_N];

typedef struct mir_batch {
	struct mir_batch *next;
	uint64_t conn_id;   /* the listener's connection, 0 for counters only */
	uint64_t last_line; /* lines up to this one (of the connection) are settled by this batch */
	const char *tenant; /* points into the config */
	mir_record *recs;   /* records to store */
	size_t nrecs, cap;
	size_t bytes; /* payload bytes, counted against queue_bytes */
	size_t lines; /* lines this batch settles */
	uint64_t refused[MIR_REF_N];
	uint64_t dropped[MIR_MAX_CLASSES];  /* by class index: retention 0 */
	uint64_t scrubbed[MIR_SCRUB_KINDS]; /* scrubber hits by kind */
	const mir_scrubber *scrub;	    /* names the kinds (NULL: none) */
	uint64_t disk_waits;		    /* times reading stopped for the free-disk watermark */
	/* Set by the writer: */
	exai_status rc;
	char err[EXAI_ERROR_MSG_MAX];
	uint64_t first_index; /* of recs[0] when stored */
} mir_batch;

typedef struct mir_writer mir_writer;

mir_batch *mir_batch_new(uint64_t conn_id, const char *tenant);
/* Moves @r into @b (r is cleared). */
exai_status mir_batch_add(mir_batch *b, mir_record *r, exai_error *e) EXAI_WUR;
void mir_batch_free(mir_batch *b);

/* Starts the writer thread on @store with the log key @key (the writer owns both from now on,
 * even on failure). @wake_fd (an eventfd) is written to each time batches are done. */
exai_status mir_writer_start(const mir_config *c, mir_store *store, mir_logkey *key, int wake_fd,
			     mir_writer **out, exai_error *e) EXAI_WUR;
void mir_writer_submit(mir_writer *w, mir_batch *b);
/* The batches done since the last call, oldest first (NULL: none). */
mir_batch *mir_writer_take_done(mir_writer *w);
/* Payload bytes queued and not yet committed. */
size_t mir_writer_queued_bytes(mir_writer *w);
/* Stores everything queued, then stops the thread and closes the store; the done list can
 * still be taken afterwards. Frees @w only with mir_writer_free. */
void mir_writer_stop(mir_writer *w);
void mir_writer_free(mir_writer *w);

#endif
