/*
 * run_log: what the run mode saw, aggregated: egress attempts read from the TUN device and DNS
 * lookups asked of the sink (or sent straight to an outside resolver).
 *
 * Identical events are merged and counted (a TCP connect retrying its SYN is one attempt with
 * a packet count), so the tables stay small. Each table has a hard cap; events past it are
 * counted in `lost_*` and the report says so, rather than growing without bound when a program
 * floods. Ownership: the log owns its arrays; vf_run_log_free() releases them.
 */
#ifndef VF_RUN_LOG_H
#define VF_RUN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "run_dns.h"
#include "run_pkt.h"

#define VF_RUN_MAX_ATTEMPTS 4096
#define VF_RUN_MAX_LOOKUPS  4096
#define VF_RUN_VIA_TEXT	    64

typedef struct vf_run_attempt {
	int family;
	uint8_t proto;
	uint8_t dst[16];
	bool has_port; /* TCP/UDP: port is the destination port */
	uint16_t port;
	bool has_icmp; /* ICMP/ICMPv6: the type (8/128 = echo request) */
	uint8_t icmp_type;
	uint64_t packets;
} vf_run_attempt;

typedef struct vf_run_lookup {
	char name[VF_DNS_TEXT_NAME];
	uint16_t qtype;
	char via[VF_RUN_VIA_TEXT]; /* "sink/udp", "sink/tcp", or "198.51.100.1/udp" when direct */
	uint64_t count;
} vf_run_lookup;

typedef struct vf_run_log {
	vf_run_attempt *attempts;
	size_t nattempts, capattempts;
	vf_run_lookup *lookups;
	size_t nlookups, caplookups;
	uint64_t lost_attempts, lost_lookups;
	uint64_t malformed_dns; /* queries to the sink that could not be parsed */
	uint64_t bad_packets;	/* TUN packets that could not be parsed (still dropped) */
	uint64_t link_chatter;	/* the kernel's own IPv6 RS/NS/MLD packets, ignored */
} vf_run_log;

void vf_run_log_init(vf_run_log *log);
void vf_run_log_free(vf_run_log *log);

/* Records the packet @p (merging with an equal attempt). EXAI_ENOMEM only on allocation
 * failure; a full table counts the event in lost_attempts and succeeds. */
exai_status vf_run_log_packet(vf_run_log *log, const vf_pkt *p, exai_error *e) EXAI_WUR;

/* Records one question, asked via @via. Same merging and cap rules. */
exai_status vf_run_log_lookup(vf_run_log *log, const char *name, uint16_t qtype, const char *via,
			      exai_error *e) EXAI_WUR;

#endif
