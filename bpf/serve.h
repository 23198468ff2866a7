/*
 * serve: what the parts of 'exai-egress serve' share (cmd_serve.c: setup, the loop, the ring
 * buffer and the counters; serve_ctl.c: the control connections). One thread runs all of it;
 * delivery has its own (deliver.h).
 */
#ifndef EXAI_EGRESS_SERVE_H
#define EXAI_EGRESS_SERVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "deliver.h"
#include "pins.h"
#include "ring.h"
#include "serve_config.h"
#include "spool.h"

#define SERVE_CTL_CONNS	  8    /* control connections at once; one more is refused */
#define SERVE_CTL_WAIT_MS 5000 /* for the request line after connecting */
#define SERVE_RING_BATCH  256  /* events spooled per transaction */

typedef struct serve_conn {
	int fd; /* -1: free slot */
	uid_t uid;
	pid_t pid;
	int64_t deadline_ms;
	size_t len;
	char *buf; /* EGRESS_CTL_MAX + 1 */
} serve_conn;

typedef struct serve {
	egress_serve_config *cfg;
	const char *pin_dir;
	egress_spool *spool;
	egress_deliver *deliver;
	int ep, sig_fd, ctl_fd;
	int journal_fd; /* for the events the spool refused */
	bool ctl_bound, stop;
	/* the adopted pins (none while nothing is applied, or another reader holds them) */
	bool adopted;
	egress_pins pins;
	egress_ring ring;
	int lock_fd;
	uint32_t events_map_id;
	char said[1536];	/* the last waiting message, said once */
	int64_t refused_ms;	/* when the last refused-peer event was made */
	uint64_t refused_quiet; /* refused peers since, without an event */
	serve_conn conns[SERVE_CTL_CONNS];
} serve;

/* epoll tags */
enum { SERVE_EV_SIGNAL = 1, SERVE_EV_CTL = 2, SERVE_EV_RING = 3, SERVE_EV_CONN = 100 };

int64_t serve_now_ms(void);

/* Spools one event the daemon made itself (a reload, a counter; @body is taken, "kind" first,
 * "time" is added), in its own transaction; false when the spool is full (nothing kept,
 * nothing counted: the caller reports it later) or cannot be written (said on stderr). */
bool serve_spool_own(serve *S, json_t *body, const char *text);

/* serve_ctl.c: a new connection on the listening socket; a readable connection; the
 * deadlines; closing every connection. */
void serve_ctl_accept(serve *S);
void serve_ctl_read(serve *S, serve_conn *c);
void serve_ctl_expire(serve *S);
void serve_ctl_close_all(serve *S);

#endif
