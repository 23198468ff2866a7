/*
 * report_json: --format json, and the jansson building blocks report_sarif.c shares.
 *
 * The document is built as one jansson tree and dumped once with json_dumpf (keys in the
 * documented order, one line): jansson does all the escaping, so a string from scanned content
 * cannot break out of its JSON string. Report strings are sanitised (valid UTF-8), so jansson
 * never refuses one; a failed allocation while building fails the whole document (no member
 * is ever dropped), and the caller sees EXAI_ENOMEM. The tree is the only copy of the
 * document in memory: json_dumpf streams it into the caller's stdio buffer.
 */
#include <stdint.h>
#include <stdio.h>

#include "report_int.h"

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "jansson integers are 64-bit");

/* ---- building blocks ---- */

bool vf_jset(json_t *obj, const char *key, json_t *v)
{
	if (!obj || !v) {
		json_decref(v);
		return false;
	}
	return json_object_set_new(obj, key, v) == 0; /* releases @v on failure */
}

bool vf_jpush(json_t *arr, json_t *v)
{
	if (!arr || !v) {
		json_decref(v);
		return false;
	}
	return json_array_append_new(arr, v) == 0; /* releases @v on failure */
}

json_t *vf_jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *vf_jbuilt(json_t *j, bool ok)
{
	if (ok)
		return j;
	json_decref(j);
	return NULL;
}

json_t *vf_ju64(uint64_t v)
{
	return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : NULL;
}

exai_status vf_json_dump(json_t *doc, FILE *o, const char *what, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (!doc)
		return exai_error_set(e, EXAI_ENOMEM,
				      "report: %s: out of memory building the document", what);
	if (json_dumpf(doc, o, JSON_PRESERVE_ORDER) != 0 || fputc('\n', o) == EOF)
		rc = ferror(o)
			 ? exai_error_sys(e, EXAI_EIO, "report: %s: write", what)
			 : exai_error_set(e, EXAI_ENOMEM,
					  "report: %s: out of memory writing the document", what);
	json_decref(doc);
	return rc;
}

exai_status vf_json_numbers_fit(const vf_report *r, exai_error *e)
{
	for (size_t i = 0; i < r->nf; i++) {
		const vf_finding *f = &r->f[i];
		uint64_t big = f->line | f->column | f->offset | f->count;
		for (size_t k = 0; k < f->nlocs; k++)
			big |= f->locs[k].line | f->locs[k].column | f->locs[k].offset;
		if (big > (uint64_t)INT64_MAX)
			return exai_error_set(
			    e, EXAI_EINVAL,
			    "report: finding %zu (%s at %s): a line, column, offset "
			    "or count over 2^63-1 does not fit a JSON integer",
			    i, f->rule_id, f->path ? f->path : "-");
	}
	return EXAI_OK;
}

/* ---- the document ---- */

static json_t *json_loc(const char *path, uint64_t line, uint64_t column, uint64_t offset)
{
	json_t *j = json_object();

	return vf_jbuilt(
	    j, vf_jset(j, "path", vf_jstr(path)) && vf_jset(j, "line", vf_ju64(line)) &&
		   vf_jset(j, "column", vf_ju64(column)) && vf_jset(j, "offset", vf_ju64(offset)));
}

/* Its own location first, then the grouped ones; none for a finding without a path. */
static json_t *json_locations(const vf_finding *f)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	ok = ok && (!f->path || vf_jpush(a, json_loc(f->path, f->line, f->column, f->offset)));
	for (size_t k = 0; ok && f->path && k < f->nlocs; k++)
		ok = vf_jpush(a, json_loc(f->locs[k].path, f->locs[k].line, f->locs[k].column,
					  f->locs[k].offset));
	return vf_jbuilt(a, ok);
}

static json_t *json_finding(const vf_finding *f)
{
	json_t *j = json_object();
	bool ok =
	    vf_jset(j, "rule_id", json_string(f->rule_id)) &&
	    vf_jset(j, "severity", json_string(vf_severity_name(f->severity))) &&
	    vf_jset(j, "path", vf_jstr(f->path)) && vf_jset(j, "line", vf_ju64(f->line)) &&
	    vf_jset(j, "column", vf_ju64(f->column)) && vf_jset(j, "offset", vf_ju64(f->offset)) &&
	    vf_jset(j, "message", vf_jstr(f->message)) &&
	    vf_jset(j, "evidence", vf_jstr(f->evidence)) && vf_jset(j, "hint", vf_jstr(f->hint)) &&
	    vf_jset(j, "count", vf_ju64(vf_report_finding_count(f))) &&
	    vf_jset(j, "locations", json_locations(f)) &&
	    vf_jset(j, "suppressed", json_boolean(f->suppressed));

	if (ok && f->suppressed)
		ok = vf_jset(j, "suppress_reason", vf_jstr(f->suppress_reason));
	return vf_jbuilt(j, ok);
}

/* {"findings", "occurrences", "suppressed", "by_severity": {"info": n, ...}} */
static json_t *json_summary(const vf_report *r)
{
	json_t *j = json_object(), *by = json_object();
	size_t n[VF_SEV_CRITICAL + 1] = {0};
	uint64_t occ = 0;
	bool ok;

	for (size_t i = 0; i < r->nf; i++) {
		if (r->f[i].suppressed)
			continue;
		occ += vf_report_finding_count(&r->f[i]);
		n[r->f[i].severity]++;
	}
	ok = vf_jset(j, "findings", vf_ju64(vf_report_count(r, VF_SEV_INFO))) &&
	     vf_jset(j, "occurrences", vf_ju64(occ)) &&
	     vf_jset(j, "suppressed", vf_ju64(vf_report_count_suppressed(r)));
	for (unsigned sv = 0; ok && sv <= VF_SEV_CRITICAL; sv++)
		ok = vf_jset(by, vf_severity_name((vf_severity)sv), vf_ju64(n[sv]));
	if (ok)
		return vf_jbuilt(j, vf_jset(j, "by_severity", by));
	json_decref(by);
	json_decref(j);
	return NULL;
}

static json_t *json_notes(const vf_report *r)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < r->nnotes; i++)
		ok = vf_jpush(a, json_string(r->notes[i]));
	return vf_jbuilt(a, ok);
}

static json_t *json_rules(const rule_view *t, size_t nrules)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < nrules; i++) {
		json_t *j = json_object();
		ok = vf_jpush(
		    a, vf_jbuilt(
			   j, vf_jset(j, "id", json_string(t[i].id)) &&
				  vf_jset(j, "severity", json_string(vf_severity_name(t[i].sev))) &&
				  vf_jset(j, "description", vf_jstr(t[i].desc)) &&
				  vf_jset(j, "findings", vf_ju64(t[i].fails + t[i].others))));
	}
	return vf_jbuilt(a, ok);
}

static json_t *json_findings(const vf_report *r)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < r->nf; i++)
		ok = vf_jpush(a, json_finding(&r->f[i]));
	return vf_jbuilt(a, ok);
}

static json_t *json_report(const vf_report *r, const rule_view *t, size_t nrules)
{
	json_t *j = json_object();

	return vf_jbuilt(
	    j, vf_jset(j, "tool", json_string("airgap-verifier")) &&
		   vf_jset(j, "version", json_string(VF_VERSION)) &&
		   vf_jset(j, "mode", json_string(r->mode)) &&
		   vf_jset(j, "fail_on", json_string(vf_severity_name(r->fail_on))) &&
		   vf_jset(j, "passed", json_boolean(vf_report_count(r, r->fail_on) == 0)) &&
		   vf_jset(j, "summary", json_summary(r)) && vf_jset(j, "notes", json_notes(r)) &&
		   vf_jset(j, "rules", json_rules(t, nrules)) &&
		   vf_jset(j, "findings", json_findings(r)));
}

exai_status vf_write_json(const vf_report *r, const rule_view *t, size_t nrules, FILE *o,
			  exai_error *e)
{
	exai_status rc = vf_json_numbers_fit(r, e);

	return rc ? rc : vf_json_dump(json_report(r, t, nrules), o, "json", e);
}
