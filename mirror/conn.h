/*
 * conn: one ingest connection: its line reader (bounded by max_line), its batch being filled,
 * its reply buffer. The listener (ingest.c) owns the socket and decides when to read.
 */
#ifndef MIR_CONN_H
#define MIR_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "scrub.h"
#include "writer.h"

typedef struct mir_conn {
	int fd;
	uint64_t id;
	const char *tenant; /* points into the config */
	char *in;	    /* max_line + 1 bytes */
	size_t in_len;
	bool skipping; /* inside an over-long line, up to its newline */
	uint64_t line_no;
	mir_batch *batch; /* being filled */
	char *out;	  /* replies not yet written */
	size_t out_len, out_cap;
	unsigned inflight; /* batches submitted, not yet acked */
	bool eof;	   /* the peer finished sending */
	bool dead;	   /* the socket failed or was closed: replies are discarded */
} mir_conn;

mir_conn *mir_conn_new(const mir_config *c, int fd, uint64_t id, const char *tenant);
/* Closes the socket (if open) and frees. */
void mir_conn_free(mir_conn *k);

/* Reads what the socket has (non-blocking) and turns each complete line into a record of the
 * batch or an error reply; full batches and, at the end, the partial one go to @w. False when
 * nothing was read (nothing waiting, end of input or an error). */
bool mir_conn_read(mir_conn *k, const mir_config *c, mir_scrubber *s, mir_writer *w);
/* Queues the ack (or nack) of a batch this connection submitted. */
void mir_conn_settled(mir_conn *k, const mir_batch *b);
/* Appends one reply line (a JSON object; reference stolen). */
void mir_conn_reply(mir_conn *k, void *json_obj);
/* Writes what it can of the replies (non-blocking). */
void mir_conn_flush(mir_conn *k);

#endif
