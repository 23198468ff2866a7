/*
 * record: the record reader. One ingest line (newline removed) becomes one record, or an
 * error naming what is wrong with it. Two line forms are accepted:
 *
 *   {"class":"telemetry","time":1764460800,"body":...,"attributes":{"k":"v",...}}
 *       class required (a class of the config), time optional (unix seconds), body required
 *       (any JSON value, nested at most MIR_RECORD_MAX_DEPTH deep), attributes optional (an
 *       object of at most MIR_RECORD_MAX_ATTRS string, number or boolean values); no other
 *       key (a "tenant" key is refused: the tenant comes from the peer's credentials).
 *   {"v":1,"source":"exai-update",...}
 *       exai-update's audit event line (exai/event.h), parsed strictly; class "audit", its
 *       time, the event object as body.
 *
 * JSON is parsed by jansson with duplicate keys refused; invalid UTF-8, NUL bytes (raw or
 * \u0000), integers beyond 64 bits and reals that overflow are refused by it too. Each line
 * is bounded by the caller (mir_config.max_line) before it gets here.
 *
 * Before anything is kept, every string of the body and the attributes (of an event, of the
 * event) passes the scrubber (scrub.h); the payload holds the scrubbed text.
 *
 * The stored payload is the record re-encoded canonically (compact, keys sorted, UTF-8 as
 * is) with the tenant and the ingest time added, so the leaf commits to who sent what when:
 *   {"attributes":{...},"body":...,"class":"...","ingest_ms":N,"tenant":"...","time":N}
 * ("attributes" only when given).
 */
#ifndef MIR_RECORD_H
#define MIR_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "exai/error.h"
#include "scrub.h"

#define MIR_RECORD_MAX_DEPTH 16
#define MIR_RECORD_MAX_ATTRS 64
#define MIR_RECORD_ATTR_KEY  128

/* Why a line was refused (set in mir_record.why when parsing fails). */
enum mir_record_why { MIR_WHY_FORMAT, MIR_WHY_CLASS, MIR_WHY_TENANT, MIR_WHY_SCRUB };

typedef struct mir_record {
	const mir_class *cls; /* points into the config */
	bool dropped;	      /* the class has retention 0: counted, never stored */
	int64_t time;	      /* the record's time, or the ingest second when it has none */
	int64_t ingest_ms;
	char *payload; /* canonical JSON (malloc'ed; NULL when dropped) */
	size_t payload_len;
	uint64_t scrubbed[MIR_SCRUB_KINDS]; /* scrubber hits by kind */
	enum mir_record_why why;	    /* on failure: the reason, for the counters */
} mir_record;

/* Parses @len bytes at @line for a peer of @tenant at @ingest_ms, scrubbing with @scrub.
 * EXAI_EFORMAT (malformed), EXAI_EREFUSED (unknown class, a tenant key) or EXAI_ENOMEM, with a
 * message that names the problem (and the column for a JSON syntax error). On success the caller
 * frees with mir_record_clear(). */
exai_status mir_record_parse(const mir_config *c, mir_scrubber *scrub, const char *tenant,
			     int64_t ingest_ms, const char *line, size_t len, mir_record *out,
			     exai_error *e) EXAI_WUR;
void mir_record_clear(mir_record *r);

#endif
