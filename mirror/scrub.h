/*
 * scrub: the scrubber every record passes before it is queued for the writer. Every string
 * value of a record's body and attributes is matched against the pattern pack
 * (mirror/scrub_patterns.txt, compiled into the binary) with PCRE2 (JIT); each match is
 * replaced by the marker "‹<kind>:<prefix>****REDACTED›" and counted by kind. Object keys and
 * numbers are not scrubbed.
 *
 * Not thread-safe: one scrubber per thread (the ingest loop owns one).
 */
#ifndef MIR_SCRUB_H
#define MIR_SCRUB_H

#include <jansson.h>
#include <stdint.h>

#include "exai/error.h"

#define MIR_SCRUB_KINDS 16

typedef struct mir_scrubber mir_scrubber;

/* Compiles the built-in pattern pack (or @pack, for tests; NUL-terminated). */
exai_status mir_scrubber_new(const char *pack, mir_scrubber **out, exai_error *e) EXAI_WUR;
void mir_scrubber_free(mir_scrubber *s);
size_t mir_scrubber_kinds(const mir_scrubber *s);
const char *mir_scrubber_kind(const mir_scrubber *s, size_t i);

/* Scrubs every string inside @v in place, adding the hits to hits[kind]. */
exai_status mir_scrub_json(mir_scrubber *s, json_t *v, uint64_t hits[MIR_SCRUB_KINDS],
			   exai_error *e) EXAI_WUR;
/* Scrubs one string: *out is NULL when nothing matched, else the scrubbed copy (malloc'ed). */
exai_status mir_scrub_text(mir_scrubber *s, const char *in, size_t len, char **out, size_t *out_len,
			   uint64_t hits[MIR_SCRUB_KINDS], exai_error *e) EXAI_WUR;

/* The built-in pack (scrub_pack.c, generated from scrub_patterns.txt). */
extern const char mir_scrub_pack[];

#endif
