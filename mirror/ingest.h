/*
 * ingest: the unix stream socket listener. Newline-delimited JSON records in (record.h), one
 * reply line per bad line and one ack line per batch out:
 *
 *   {"error":{"line":N,"code":"EFORMAT","message":"..."}}
 *       line N of this connection (1-based) was refused; nothing of it is stored. Sent as soon
 *       as the line is read. Line 0 is the connection itself (an unmapped peer; then closed).
 *   {"ack":{"through_line":N,"lines":L,"stored":S,"dropped":D,"refused":R,"first_index":I}}
 *       every line up to N is settled: the S stored ones are committed to disk (the ack is
 *       written only after the COMMIT that holds them returned), D were of a class never
 *       stored (retention 0), R got an error line. first_index: the leaf index of the first
 *       stored line of the batch (the others follow in line order); absent when S is 0.
 *   {"nack":{"through_line":N,"lines":L,"code":"EIO","message":"..."}}
 *       the batch ending at line N could not be committed; none of its lines is stored.
 *
 * A batch is the lines of one read, at most max_batch of them. The tenant is the peer's
 * (SO_PEERCRED) through the config's tenant map; an unmapped peer gets one error line and is
 * disconnected. A line longer than max_line bytes gets an error line; the rest of it is skipped
 * up to its newline, and the connection stays usable.
 *
 * Backpressure: a connection is not read while it has MIR_INGEST_INFLIGHT batches unacked or
 * MIR_INGEST_OUT_MAX bytes of replies unread, nor any connection while the writer's queue
 * holds queue_bytes; the peer then waits in its send (nothing is dropped).
 */
#ifndef MIR_INGEST_H
#define MIR_INGEST_H

#include "config.h"
#include "exai/error.h"
#include "writer.h"

#define MIR_INGEST_INFLIGHT 8
#define MIR_INGEST_OUT_MAX  (1u << 20)
#define MIR_INGEST_CONNS    1024

/* Binds c->socket_path (a stale socket there is replaced; any other file is refused) with
 * c->socket_mode; *fd_out is the listening socket. */
exai_status mir_ingest_listen(const mir_config *c, int *fd_out, exai_error *e) EXAI_WUR;

/* Serves @listen_fd until a signal arrives on @sig_fd (a signalfd for SIGTERM/SIGINT), then
 * drains: reads what the peers had already sent (up to 1 MiB each), stops reading, waits for
 * every batch read to be acked, sends the acks. @wake_fd is
 * the writer's eventfd; @s scrubs every record before it is queued. Returns EXAI_OK after a drain.
 */
exai_status mir_ingest_run(mir_config *c, mir_scrubber *s, mir_writer *w, int listen_fd,
			   int wake_fd, int sig_fd, exai_error *e) EXAI_WUR;

#endif
