/*
 * deliver: where exai-egress serve's spooled events go, on a thread of its own so that a slow
 * or hung mirror never stalls the ring buffer or a reload request.
 *
 * With mirror_socket configured, each round sends the spool oldest first, as audit-class
 * records, in batches on one connection (exai/mirror_send.h), and removes an event only once
 * the mirror's ack covers it:
 *
 *   {"class":"audit","time":T,"body":{...the event...},
 *    "attributes":{"source":"exai-egress","spool_seq":ID}}
 *
 * When no mirror is configured, or a round fails (no socket, no ack, a nack, a refused line),
 * every spooled event not yet written to the journal is written there (once: the highest id
 * written is kept in the spool), and stays in the spool for the mirror. Rounds run when the
 * daemon spools something, and every second; after a failure they back off (0.5 s doubling to
 * 10 s). The journal is the syslog socket (journal_socket, default /dev/log, which journald
 * and rsyslog both read): RFC 3164 datagrams "<PRI>Mmm dd hh:mm:ss exai-egress[PID]: TEXT",
 * facility daemon; a write that fails is counted (journal_failed), not retried.
 */
#ifndef EXAI_EGRESS_DELIVER_H
#define EXAI_EGRESS_DELIVER_H

#include <stdbool.h>

#include "exai/error.h"
#include "spool.h"

typedef struct egress_deliver egress_deliver;

/* Starts the thread, with its own connection to the spool in @spool_dir. @mirror_socket NULL:
 * journal only. */
exai_status egress_deliver_start(const char *spool_dir, const char *mirror_socket,
				 const char *journal_socket, egress_deliver **out,
				 exai_error *e) EXAI_WUR;

/* Something was spooled: run a round now (unless backing off). */
void egress_deliver_wake(egress_deliver *d);

/* One last round, then the thread ends and @d is freed. NULL-safe. */
void egress_deliver_stop(egress_deliver *d);

/* One syslog datagram (RFC 3164, facility daemon; deny lines warning, others notice) of
 * @text to @path over the datagram socket @fd: 0, or -1 with errno. */
int egress_journal_send(int fd, const char *path, const char *text);

/* The record line of spooled event @it (malloc'ed), or NULL when out of memory. */
char *egress_record_line(const egress_spool_item *it);

#endif
