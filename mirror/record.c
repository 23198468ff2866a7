/*
 * record: the bounded, strict reader of one ingest line. See record.h.
 *
 * Invariant: a record that parses has a class of the config and, unless dropped, a payload
 * that is valid canonical JSON naming that class and the peer's tenant.
 */
#include "record.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/event.h"
#include "exai/grow.h"

void mir_record_clear(mir_record *r)
{
	if (!r)
		return;
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

/* Whether @v nests deeper than @max levels (a scalar is 0 deep). Bounded by jansson's own
 * parse depth limit, so the recursion is too. */
static bool depth_over(json_t *v, int max)
{
	const char *k;
	json_t *x;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return false;
	if (max == 0)
		return true;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) if (depth_over(x, max - 1)) return true;
	} else {
		json_array_foreach(v, i, x) if (depth_over(x, max - 1)) return true;
	}
	return false;
}

static exai_status check_attrs(json_t *a, exai_error *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(a))
		return exai_error_set(e, EXAI_EFORMAT, "'attributes' must be an object");
	if (json_object_size(a) > MIR_RECORD_MAX_ATTRS)
		return exai_error_set(e, EXAI_EFORMAT, "'attributes' has more than %d keys",
				      MIR_RECORD_MAX_ATTRS);
	json_object_foreach(a, k, v)
	{
		if (strlen(k) == 0 || strlen(k) > MIR_RECORD_ATTR_KEY)
			return exai_error_set(e, EXAI_EFORMAT,
					      "an attribute name must be 1 to %d bytes",
					      MIR_RECORD_ATTR_KEY);
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			return exai_error_set(e, EXAI_EFORMAT,
					      "attribute '%.64s': a value is a string, a number or "
					      "a boolean",
					      k);
	}
	return EXAI_OK;
}

/* Checks a {class, time?, body, attributes?} object; sets *cls and *time (-1: none). */
static exai_status check_plain(const mir_config *c, json_t *o, enum mir_record_why *why,
			       const mir_class **cls, int64_t *time, exai_error *e)
{
	const char *k, *name;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (!strcmp(k, "tenant")) {
			*why = MIR_WHY_TENANT;
			return exai_error_set(e, EXAI_EREFUSED,
					      "key 'tenant' refused: the tenant comes from the "
					      "peer's credentials");
		}
		if (strcmp(k, "class") && strcmp(k, "time") && strcmp(k, "body") &&
		    strcmp(k, "attributes"))
			return exai_error_set(
			    e, EXAI_EFORMAT,
			    "unknown key '%.64s' (a record has class, time, body, "
			    "attributes)",
			    k);
	}
	if (!(name = json_string_value(json_object_get(o, "class"))))
		return exai_error_set(e, EXAI_EFORMAT, "'class' (a string) is required");
	if (!(*cls = mir_config_class(c, name))) {
		*why = MIR_WHY_CLASS;
		return exai_error_set(e, EXAI_EREFUSED, "unknown class '%.64s'", name);
	}
	if (!json_object_get(o, "body"))
		return exai_error_set(e, EXAI_EFORMAT, "'body' is required");
	if (depth_over(json_object_get(o, "body"), MIR_RECORD_MAX_DEPTH))
		return exai_error_set(e, EXAI_EFORMAT, "'body' nests deeper than %d levels",
				      MIR_RECORD_MAX_DEPTH);
	if ((v = json_object_get(o, "attributes")) && check_attrs(v, e))
		return e->code;
	*time = -1;
	if ((v = json_object_get(o, "time"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return exai_error_set(e, EXAI_EFORMAT,
					      "'time' must be unix seconds (an integer >= 0)");
		*time = (int64_t)json_integer_value(v);
	}
	return EXAI_OK;
}

static exai_status load_json(const char *line, size_t len, json_t **out, exai_error *e)
{
	json_error_t je;

	if (memchr(line, '\0', len))
		return exai_error_set(e, EXAI_EFORMAT, "a NUL byte at column %zu",
				      (size_t)((const char *)memchr(line, '\0', len) - line) + 1);
	*out = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return exai_error_set(e, EXAI_EFORMAT, "invalid JSON at column %d: %s", je.column,
				      je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return exai_error_set(e, EXAI_EFORMAT, "a record is a JSON object");
	}
	return EXAI_OK;
}

/* An exai-update event line: parsed by the library, strictly (canonical form). */
static exai_status parse_event(const mir_config *c, const char *line, size_t len,
			       const mir_class **cls, int64_t *time, exai_error *e)
{
	exai_event ev;

	if (exai_event_parse(line, len, &ev, e))
		return e->code; /* "audit event: ..." */
	*cls = mir_config_class(c, "audit");
	*time = (int64_t)ev.time;
	return EXAI_OK;
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

typedef struct pbuf {
	char *p;
	size_t len, cap;
} pbuf;

static exai_status put_bytes(pbuf *b, const char *s, size_t n, exai_error *e)
{
	if (exai_grow(&b->p, &b->cap, b->len, n, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "payload");
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return EXAI_OK;
}

/* Appends @v as jansson writes it inside the payload object (compact, keys sorted). */
static exai_status put_json(pbuf *b, const json_t *v, exai_error *e)
{
	size_t need = json_dumpb(v, b->p + b->len, b->cap - b->len, DUMP_FLAGS);

	if (need > b->cap - b->len) {
		if (exai_grow(&b->p, &b->cap, b->len, need, 1, EXAI_GROW_NOCAP, e))
			return exai_error_prefix(e, "payload");
		need = json_dumpb(v, b->p + b->len, b->cap - b->len, DUMP_FLAGS);
	}
	if (need == 0 || need > b->cap - b->len)
		return exai_error_set(e, EXAI_ENOMEM, "payload: cannot encode the record");
	b->len += need;
	return EXAI_OK;
}

static exai_status put_i64(pbuf *b, int64_t v, exai_error *e)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	return put_bytes(b, num, (size_t)n, e);
}

/* The canonical payload, written directly: the object jansson would dump for
 *   {attributes?, body, class, ingest_ms, tenant, time}
 * with its keys sorted, which is this order; only the members' values go through jansson
 * (class and tenant are config names, which need no escaping). No second object is built. */
static exai_status build_payload(json_t *o, bool event, const mir_class *cls, const char *tenant,
				 int64_t time, int64_t ingest_ms, mir_record *out, exai_error *e)
{
	json_t *attrs = event ? NULL : json_object_get(o, "attributes");
	pbuf b = {0};
	exai_status rc;

	if ((rc = exai_grow(&b.p, &b.cap, 0, 512, 1, EXAI_GROW_NOCAP, e)))
		return exai_error_prefix(e, "payload");
	if (attrs && ((rc = put_bytes(&b, "{\"attributes\":", 14, e)) ||
		      (rc = put_json(&b, attrs, e)) || (rc = put_bytes(&b, ",", 1, e))))
		goto fail;
	if ((rc = put_bytes(&b, attrs ? "\"body\":" : "{\"body\":", attrs ? 7 : 8, e)) ||
	    (rc = put_json(&b, event ? o : json_object_get(o, "body"), e)) ||
	    (rc = put_bytes(&b, ",\"class\":\"", 10, e)) ||
	    (rc = put_bytes(&b, cls->name, strlen(cls->name), e)) ||
	    (rc = put_bytes(&b, "\",\"ingest_ms\":", 14, e)) || (rc = put_i64(&b, ingest_ms, e)) ||
	    (rc = put_bytes(&b, ",\"tenant\":\"", 11, e)) ||
	    (rc = put_bytes(&b, tenant, strlen(tenant), e)) ||
	    (rc = put_bytes(&b, "\",\"time\":", 9, e)) || (rc = put_i64(&b, time, e)) ||
	    (rc = put_bytes(&b, "}", 2, e))) /* and a NUL after it, not counted */
		goto fail;
	out->payload = b.p;
	out->payload_len = b.len - 1;
	return EXAI_OK;
fail:
	free(b.p);
	return rc;
}

/* Scrubs what will be stored: the body and attributes (an event: all of it). */
static exai_status scrub(mir_scrubber *s, json_t *o, bool event, mir_record *out, exai_error *e)
{
	exai_status rc;

	if (event)
		return mir_scrub_json(s, o, out->scrubbed, e);
	if ((rc = mir_scrub_json(s, json_object_get(o, "body"), out->scrubbed, e)))
		return rc;
	return mir_scrub_json(s, json_object_get(o, "attributes"), out->scrubbed, e);
}

exai_status mir_record_parse(const mir_config *c, mir_scrubber *scrubber, const char *tenant,
			     int64_t ingest_ms, const char *line, size_t len, mir_record *out,
			     exai_error *e)
{
	json_t *o = NULL;
	const mir_class *cls = NULL;
	int64_t time = -1;
	bool event = len >= 5 && !memcmp(line, "{\"v\":", 5);
	exai_status rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_json(line, len, &o, e)))
		return rc;
	if (event)
		rc = parse_event(c, line, len, &cls, &time, e);
	else
		rc = check_plain(c, o, &out->why, &cls, &time, e);
	if (rc)
		goto out;
	out->cls = cls;
	out->ingest_ms = ingest_ms;
	out->time = time >= 0 ? time : ingest_ms / 1000;
	if (cls->retention_days == 0)
		out->dropped = true;
	else if ((rc = scrub(scrubber, o, event, out, e)))
		out->why = MIR_WHY_SCRUB;
	else
		rc = build_payload(o, event, cls, tenant, out->time, ingest_ms, out, e);
out:
	json_decref(o);
	return rc;
}
