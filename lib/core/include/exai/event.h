/*
 * event: the audit event line, version 1. exai-update queues one per history row in its
 * outbox and sends it to the mirror socket; exai-mirror will parse it. One compact JSON
 * object on one line, keys in exactly this order, nothing else:
 *
 *   {"v":1,"source":"exai-update","time":1764460800,"op":"apply","bundle_id":"3f2a...",
 *    "channel":"stable","sequence":6,"signers":"1C51780E3E465257","outcome":"ok","reason":""}
 *
 *   v          the integer 1
 *   source     the tool: 1..32 of [a-z0-9-], starting with a letter
 *   time       unix seconds, 0..2^63-1
 *   op         1..32 of [a-z0-9-], starting with a letter (verify, apply, rollback, ...)
 *   bundle_id  "" or 64 lower-case hex digits
 *   channel    "" or a name (exai_name_valid)
 *   sequence   0..2^63-1
 *   signers    "" or 1..64 KEYIDs (16 upper-case hex digits) joined by ","
 *   outcome    as op (ok, refused, failed, reverted, ...)
 *   reason     valid UTF-8, at most EXAI_EVENT_REASON_MAX bytes
 *
 * The encoding is canonical (jansson's compact form, "/" not escaped, non-ASCII as UTF-8):
 * a parser requires the line to be byte for byte what exai_event_line makes of what it
 * parsed, so one event has one line. Vectors: tests/vectors/events/.
 */
#ifndef EXAI_EVENT_H
#define EXAI_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define EXAI_EVENT_WORD_MAX   32
#define EXAI_EVENT_SIGNERS    64
#define EXAI_EVENT_REASON_MAX 4096
/* Longest line exai_event_line can make (every byte of the reason escaped as \uXXXX, six
 * bytes each) and so the longest a parser reads. */
#define EXAI_EVENT_LINE_MAX (2048 + 6 * EXAI_EVENT_REASON_MAX)

typedef struct exai_event {
	char source[EXAI_EVENT_WORD_MAX + 1];
	uint64_t time;
	char op[EXAI_EVENT_WORD_MAX + 1];
	char bundle_id[65];
	char channel[128 + 1];
	uint64_t sequence;
	char signers[EXAI_EVENT_SIGNERS * 17];
	char outcome[EXAI_EVENT_WORD_MAX + 1];
	char reason[EXAI_EVENT_REASON_MAX + 1];
} exai_event;

/* Copies @text into @out (size @cap) as valid UTF-8: every byte that is not part of a valid
 * sequence becomes U+FFFD, and the copy stops at a character boundary when full (a cut is
 * marked with "..."). For reasons built from error messages, which may quote hostile file
 * names; never fails. */
void exai_event_text(char *out, size_t cap, const char *text);

/* The canonical line for @ev (malloc'ed, no newline), or NULL with @e set (EXAI_EINVAL naming
 * the field that breaks the rules above, EXAI_ENOMEM). */
char *exai_event_line(const exai_event *ev, exai_error *e);

/* Parses one line (@len bytes, no newline) strictly: EXAI_EFORMAT naming what is wrong. */
exai_status exai_event_parse(const char *line, size_t len, exai_event *out, exai_error *e);

#endif
