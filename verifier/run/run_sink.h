/*
 * run_sink: the run mode's listeners inside the command's network namespace.
 *
 * - A DNS sink on UDP and TCP (RFC 1035 §4.2.2 two-byte length framing) that records every
 *   question and answers NXDOMAIN (NOTIMP for other opcodes, FORMERR for what does not parse).
 * - The reader of the TUN device: every packet is parsed, recorded and dropped; UDP packets to
 *   port 53 or 5353 sent straight to an outside resolver are parsed as DNS too, so the names are
 *   reported even when a program ignores resolv.conf.
 *
 * Everything is non-blocking and bounded: at most VF_SINK_MAX_CONNS TCP clients (more are
 * closed at once), a TCP query of at most VF_SINK_TCP_MAX bytes, and a cap on how many datagrams
 * or packets one service call handles, so a flood cannot starve the event loop.
 */
#ifndef VF_RUN_SINK_H
#define VF_RUN_SINK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "run_log.h"

#define VF_SINK_MAX_CONNS 16
#define VF_SINK_TCP_MAX	  4096
#define VF_SINK_BATCH	  1024

typedef struct vf_sink_conn {
	int fd; /* -1 when free */
	size_t n;
	uint8_t buf[2 + VF_SINK_TCP_MAX];
} vf_sink_conn;

typedef struct vf_run_sink {
	int udp_fd, tcp_fd;
	vf_sink_conn conns[VF_SINK_MAX_CONNS];
	vf_run_log *log; /* borrowed */
	uint64_t answered, refused_conns;
	uint8_t buf[65536];
} vf_run_sink;

/* Allocates a sink recording into @log and binds UDP and TCP on @addr:@port (IPv4 text). */
exai_status vf_run_sink_open(const char *addr, uint16_t port, vf_run_log *log, vf_run_sink **out,
			     exai_error *e) EXAI_WUR;
/* Closes every socket and frees; NULL-safe. */
void vf_run_sink_free(vf_run_sink *s);

/* Fills up to @cap pollfds (POLLIN) with the sink's sockets; returns how many. */
size_t vf_run_sink_pollfds(const vf_run_sink *s, struct pollfd *p, size_t cap);

/* Handles whatever is ready on the sink's sockets without blocking. Fails only on allocation
 * failure in the log. */
exai_status vf_run_sink_service(vf_run_sink *s, exai_error *e) EXAI_WUR;

/* Reads, records and drops the packets queued on @tun_fd (non-blocking), at most
 * VF_SINK_BATCH per call; *more is set when the batch limit was reached. Uses s->buf. */
exai_status vf_run_sink_tun(vf_run_sink *s, int tun_fd, int *more, exai_error *e) EXAI_WUR;

/* Records the questions of the DNS message @msg asked via @via and, if @answer is not NULL,
 * builds the sink's reply into @answer (@cap bytes), setting *answer_len (0: no reply: the
 * message was a response or had no header). Exposed for the unit tests. */
exai_status vf_run_sink_query(vf_run_log *log, const uint8_t *msg, size_t len, const char *via,
			      uint8_t *answer, size_t cap, size_t *answer_len,
			      exai_error *e) EXAI_WUR;

/* Receives one framed reply (its two-byte length prefix included); false closes the
 * connection. */
typedef bool (*vf_sink_reply_fn)(void *arg, const uint8_t *frame, size_t len);

/* The DNS-over-TCP framing (RFC 1035 §4.2.2) of a client's buffer: answers every complete
 * query in @c->buf (a two-byte big-endian length, then the message), handing each reply to
 * @reply, and moves what is left (a partial frame) to the front, so c->n never grows past
 * 2 + VF_SINK_TCP_MAX. Returns false when the connection must close: a length over
 * VF_SINK_TCP_MAX (counted in log->malformed_dns), a reply @reply refused, or an error
 * (*st, @e: allocation failure in the log). Does no I/O itself; exposed for fuzz_dnstcp. */
bool vf_run_sink_tcp_frames(vf_run_log *log, vf_sink_conn *c, vf_sink_reply_fn reply, void *arg,
			    exai_status *st, exai_error *e);

#endif
