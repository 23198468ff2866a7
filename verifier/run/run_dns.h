/*
 * run_dns: a strict, bounded parser for DNS query messages (RFC 1035 §4) and the NXDOMAIN
 * answers of the run mode's DNS sink.
 *
 * Everything here reads hostile bytes: every read is checked against the message length, labels
 * are at most 63 octets, a name at most 255 octets on the wire, label types 01/10 are refused,
 * and a compression pointer must point strictly backwards, before the label that holds it, and
 * into the message body (never the header), so a name can never loop. Record counts are capped,
 * every record is walked and trailing bytes are refused. No allocation: results go into fixed
 * buffers owned by the caller.
 */
#ifndef VF_RUN_DNS_H
#define VF_RUN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define VF_DNS_HEADER_LEN   12
#define VF_DNS_WIRE_NAME    255	 /* RFC 1035 §2.3.4: a name, length octets included */
#define VF_DNS_TEXT_NAME    1024 /* presentation form, "\DDD" escapes included, plus NUL */
#define VF_DNS_MAX_QUESTION 4	 /* real queries carry one; more is refused */
#define VF_DNS_MAX_RECORDS  16	 /* answer + authority + additional records walked */
#define VF_DNS_MAX_MSG	    65535

#define VF_DNS_RCODE_FORMERR  1
#define VF_DNS_RCODE_NXDOMAIN 3
#define VF_DNS_RCODE_NOTIMP   4

typedef struct vf_dns_question {
	char name[VF_DNS_TEXT_NAME]; /* "example.com", "." for the root; lower case kept as sent */
	uint8_t wire[VF_DNS_WIRE_NAME]; /* the same name, uncompressed wire form */
	size_t wire_len;
	uint16_t qtype;
	uint16_t qclass;
} vf_dns_question;

typedef struct vf_dns_query {
	uint16_t id;
	uint16_t flags; /* as sent */
	uint8_t opcode;
	bool is_response; /* QR set: not a query */
	size_t qdcount;
	vf_dns_question q[VF_DNS_MAX_QUESTION];
} vf_dns_query;

/* Parses a whole DNS message of @len bytes. On success *out holds the header and every question.
 * Fails with EXAI_ESHORT (truncated), EXAI_ETOOBIG (counts over the caps) or EXAI_EFORMAT (bad
 * label, pointer, trailing bytes), with the byte offset in the message. A message whose header
 * could be read leaves out->id/flags/opcode set even when parsing fails, so the caller can send
 * FORMERR. */
exai_status vf_dns_parse(const uint8_t *msg, size_t len, vf_dns_query *out, exai_error *e) EXAI_WUR;

/* Reads one (possibly compressed) name at *off in @msg, writing its presentation form into
 * @text (VF_DNS_TEXT_NAME bytes) and, if @wire is not NULL, its wire form (VF_DNS_WIRE_NAME bytes,
 * length to *wire_len). Advances *off past the name as it appears at that place. */
exai_status vf_dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *text, uint8_t *wire,
			     size_t *wire_len, exai_error *e) EXAI_WUR;

/* Builds the sink's answer to @q into @buf (@cap bytes): the same id, opcode and RD, QR and RA
 * set, the first question echoed uncompressed, and @rcode (NXDOMAIN for a query, NOTIMP for
 * another opcode, FORMERR with no question). Returns the length, or 0 if it does not fit. */
size_t vf_dns_build_answer(const vf_dns_query *q, uint8_t rcode, uint8_t *buf, size_t cap);

/* "A", "AAAA", "HTTPS"..., or "TYPE<n>" (RFC 3597) written into @buf of @cap bytes. */
const char *vf_dns_type_name(uint16_t qtype, char *buf, size_t cap);

#endif
