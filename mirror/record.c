/*
 * record: the bounded, strict reader of one ingest line. See record.h.
 *
 * Invariant: a record that parses has a class of the config and, unless dropped, a payload
 * that is valid canonical JSON naming that class and the peer's tenant.
 */
#include "record.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "exai/event.h"

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

static exai_status build_payload(json_t *o, bool event, const mir_class *cls, const char *tenant,
				 int64_t time, int64_t ingest_ms, mir_record *out, exai_error *e)
{
	json_t *p = json_object();
	exai_status rc = EXAI_OK;

	if (!p)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (!event && json_object_get(o, "attributes"))
		json_object_set(p, "attributes", json_object_get(o, "attributes"));
	json_object_set(p, "body", event ? o : json_object_get(o, "body"));
	json_object_set_new(p, "class", json_string(cls->name));
	json_object_set_new(p, "ingest_ms", json_integer(ingest_ms));
	json_object_set_new(p, "tenant", json_string(tenant));
	json_object_set_new(p, "time", json_integer(time));
	out->payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	if (!out->payload)
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	else
		out->payload_len = strlen(out->payload);
	json_decref(p);
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
