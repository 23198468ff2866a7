/*
 * report_json: --format json, and the jansson building blocks report_sarif.c shares.
 *
 * The frame (the members before the findings: summary, notes, rules) is a small jansson tree,
 * which makes its keys and values and does their escaping. The findings array, which can
 * hold hundreds of thousands of findings, is written directly (jw_* below) into a buffer:
 * building, dumping and releasing a tree per finding was most of a large report's writing
 * time. The direct writer escapes exactly as jansson does and writes the separators jansson
 * writes, so the bytes are those a single json_dumpf of the whole tree gave (one line, keys
 * in the documented order); test_vf_report_robust checks a document against jansson's dump
 * of it parsed back.
 *
 * A failed allocation anywhere fails the whole document (no member is ever dropped): the
 * caller sees EXAI_ENOMEM, or EXAI_EIO when the stream failed, and must not present what was
 * written as complete (vf_report_emit then keeps --output as it was).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "jansson integers are 64-bit");

/* ---- building blocks ---- */

bool vf_jset(json_t *obj, const char *key, json_t *v)
{
	if (!obj || !v) {
		json_decref(v);
		return false;
	}
	/* keys are the writers' ASCII constants; releases @v on failure */
	return json_object_set_new_nocheck(obj, key, v) == 0;
}

bool vf_jpush(json_t *arr, json_t *v)
{
	if (!arr || !v) {
		json_decref(v);
		return false;
	}
	return json_array_append_new(arr, v) == 0; /* releases @v on failure */
}

/* Report strings are sanitised (report.c rewrites invalid UTF-8 and control characters as
 * "\xNN" in every string it stores), and the writers' own strings are ASCII constants, hex or
 * percent-encoded URIs: all valid UTF-8, so jansson's check of every byte would only repeat
 * report.c's. Escaping is still all jansson's. */
json_t *vf_jtext(const char *s)
{
	return json_string_nocheck(s); /* NULL for NULL */
}

json_t *vf_jstr(const char *s)
{
	return s ? json_string_nocheck(s) : json_null();
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

/* ---- streaming: the only JSON punctuation written by hand ----
 *
 * Between the dumps of keys and values these write exactly what json_dumpf writes without
 * JSON_COMPACT or indentation: "[" "]" "{" "}", ", " between members and elements and ": "
 * after a key. Every key and value itself is a jansson dump. */

/* Empties @o's buffer into its stream (one locked stdio call per buffer). */
static bool jflush(vf_jout *o)
{
	size_t n = o->n;

	o->n = 0;
	return fwrite(o->buf, 1, n, o->f) == n;
}

/* json_dump_callback's write: jansson writes a document in many small pieces (each key, each
 * run of a string between escapes, each separator), and copying them into @o's buffer costs
 * a fraction of a stdio call each. A failed write fails the dump; ferror() then tells it from
 * a failed allocation. */
static int jput(const char *buf, size_t n, void *out)
{
	vf_jout *o = out;

	if (n > sizeof(o->buf) - o->n && !jflush(o))
		return -1;
	if (n > sizeof(o->buf))
		return fwrite(buf, 1, n, o->f) == n ? 0 : -1;
	memcpy(o->buf + o->n, buf, n);
	o->n += n;
	return 0;
}

static bool lit(vf_jout *o, const char *s)
{
	return jput(s, strlen(s), o) == 0;
}

/* @v (borrowed) as json_dumpf would write it inside a document: any value, keys in order. */
static bool jdump(const json_t *v, vf_jout *o)
{
	return json_dump_callback(v, jput, o, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) == 0;
}

/* "key": through jansson, so a key is escaped like any string. */
static bool jkey(vf_jout *o, const char *key)
{
	json_t *k = vf_jtext(key);
	bool ok = k && jdump(k, o) && lit(o, ": ");

	json_decref(k);
	return ok;
}

bool vf_jput(json_t *v, vf_jout *o)
{
	bool ok = v && jdump(v, o);

	json_decref(v);
	return ok;
}

bool vf_jstream_object(vf_jout *o, json_t *frame, const char *key, vf_jwrite_fn fill,
		       const void *ctx)
{
	const char *k;
	json_t *v;
	bool ok = frame && lit(o, "{");

	if (ok)
		json_object_foreach(frame, k, v)
		{
			if (!(ok = jkey(o, k) && jdump(v, o) && lit(o, ", ")))
				break;
		}
	ok = ok && jkey(o, key) && fill(ctx, 0, o) && lit(o, "}");
	json_decref(frame);
	return ok;
}

bool vf_jstream_array(vf_jout *o, size_t n, vf_jwrite_fn put, const void *ctx)
{
	bool ok = lit(o, "[");

	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 0 || lit(o, ", ")) && put(ctx, i, o);
	return ok && lit(o, "]");
}

exai_status vf_json_end(bool ok, vf_jout *o, const char *what, exai_error *e)
{
	if (ok && lit(o, "\n") && jflush(o))
		return EXAI_OK;
	if (ferror(o->f))
		return exai_error_sys(e, EXAI_EIO, "report: %s: write", what);
	return exai_error_set(e, EXAI_ENOMEM, "report: %s: out of memory writing the document",
			      what);
}

/* ---- the document ---- */

json_t *vf_json_procs(const vf_finding *f)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < f->nprocs; i++) {
		const vf_proc *p = &f->procs[i];
		json_t *j = json_object();

		ok = vf_jpush(
		    a, vf_jbuilt(j, vf_jset(j, "pid", p->pid ? vf_ju64(p->pid) : json_null()) &&
					vf_jset(j, "host_pid", vf_ju64(p->host_pid)) &&
					vf_jset(j, "comm", vf_jstr(p->comm))));
	}
	return vf_jbuilt(a, ok);
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
		ok = vf_jpush(a, vf_jtext(r->notes[i]));
	return vf_jbuilt(a, ok);
}

static json_t *json_rules(const rule_view *t, size_t nrules)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < nrules; i++) {
		json_t *j = json_object();
		ok = vf_jpush(
		    a,
		    vf_jbuilt(j, vf_jset(j, "id", vf_jtext(t[i].id)) &&
				     vf_jset(j, "severity", vf_jtext(vf_severity_name(t[i].sev))) &&
				     vf_jset(j, "description", vf_jstr(t[i].desc)) &&
				     vf_jset(j, "findings", vf_ju64(t[i].fails + t[i].others))));
	}
	return vf_jbuilt(a, ok);
}

/* ---- findings, written directly ----
 *
 * A finding is written straight into @o's buffer, without a jansson tree: building, dumping
 * and releasing one tree per finding was most of the report's time on a large scan. The bytes
 * are those json_dump_callback wrote for the tree of the finding the writer used to build
 * (same keys in the same order, the separators above), with jansson's escaping: '"' and '\\'
 * escaped, the control characters below 0x20 as \b \f \n \r \t or \u00XX (upper-case hex),
 * everything else (UTF-8 included) as it is. A string that is not valid UTF-8 (never one of a
 * report's: they are sanitised) fails the document as jansson's dump does. */

/* @s as a JSON string, escaped as jansson escapes it. */
static bool jw_text(vf_jout *o, const char *str)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str, *run = s;

	if (jput("\"", 1, o))
		return false;
	for (;;) {
		unsigned c = *s;
		char esc[6] = {'\\', 0};
		size_t k = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0x80) {
			unsigned cp;
			size_t n = vf_utf8_seq(s, &cp);
			if (!n)
				return false;
			s += n;
			continue;
		}
		if (s > run && jput((const char *)run, (size_t)(s - run), o))
			return false;
		if (c == 0)
			break;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		}
		if (jput(esc, k, o))
			return false;
		run = ++s;
	}
	return jput("\"", 1, o) == 0;
}

/* @s as a JSON string, or null for NULL. */
static bool jw_str(vf_jout *o, const char *s)
{
	return s ? jw_text(o, s) : lit(o, "null");
}

/* @v as a JSON integer; false when it does not fit jansson's (vf_ju64's refusal). */
static bool jw_u64(vf_jout *o, uint64_t v)
{
	char b[24];
	size_t n = sizeof(b);

	if (v > (uint64_t)INT64_MAX)
		return false;
	do
		b[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return jput(b + n, sizeof(b) - n, o) == 0;
}

/* ", \"key\": " (the first member without the comma), @key a string literal of the writer's
 * that needs no escaping: written as one constant. */
#define JW_KEY1(o, key) lit(o, "\"" key "\": ")
#define JW_KEY(o, key)	lit(o, ", \"" key "\": ")

static bool jw_loc(vf_jout *o, const char *path, uint64_t line, uint64_t column, uint64_t offset)
{
	return JW_KEY1(o, "path") && jw_str(o, path) && JW_KEY(o, "line") && jw_u64(o, line) &&
	       JW_KEY(o, "column") && jw_u64(o, column) && JW_KEY(o, "offset") && jw_u64(o, offset);
}

/* the "locations" array: its own location first, then the grouped ones; none without a path */
static bool jw_locations(vf_jout *o, const vf_finding *f)
{
	bool ok = lit(o, "[");

	if (ok && f->path)
		ok =
		    lit(o, "{") && jw_loc(o, f->path, f->line, f->column, f->offset) && lit(o, "}");
	for (size_t k = 0; ok && f->path && k < f->nlocs; k++)
		ok = lit(o, ", {") &&
		     jw_loc(o, f->locs[k].path, f->locs[k].line, f->locs[k].column,
			    f->locs[k].offset) &&
		     lit(o, "}");
	return ok && lit(o, "]");
}

/* vf_json_procs' array, written directly */
static bool jw_procs(vf_jout *o, const vf_finding *f)
{
	bool ok = lit(o, "[");

	for (size_t i = 0; ok && i < f->nprocs; i++) {
		const vf_proc *p = &f->procs[i];
		ok = (i == 0 || lit(o, ", ")) && lit(o, "{") && JW_KEY1(o, "pid") &&
		     (p->pid ? jw_u64(o, p->pid) : lit(o, "null")) && JW_KEY(o, "host_pid") &&
		     jw_u64(o, p->host_pid) && JW_KEY(o, "comm") && jw_str(o, p->comm) &&
		     lit(o, "}");
	}
	return ok && lit(o, "]");
}

/* one finding, keys in the documented order */
static bool jw_finding(vf_jout *o, const vf_finding *f)
{
	bool ok = lit(o, "{") && JW_KEY1(o, "rule_id") && jw_text(o, f->rule_id) &&
		  JW_KEY(o, "severity") && jw_text(o, vf_severity_name(f->severity)) &&
		  JW_KEY(o, "path") && jw_str(o, f->path) && JW_KEY(o, "line") &&
		  jw_u64(o, f->line) && JW_KEY(o, "column") && jw_u64(o, f->column) &&
		  JW_KEY(o, "offset") && jw_u64(o, f->offset) && JW_KEY(o, "message") &&
		  jw_str(o, f->message) && JW_KEY(o, "evidence") && jw_str(o, f->evidence) &&
		  JW_KEY(o, "hint") && jw_str(o, f->hint) && JW_KEY(o, "count") &&
		  jw_u64(o, vf_report_finding_count(f)) && JW_KEY(o, "locations") &&
		  jw_locations(o, f) && JW_KEY(o, "suppressed") &&
		  lit(o, f->suppressed ? "true" : "false");

	if (ok && f->suppressed)
		ok = JW_KEY(o, "suppress_reason") && jw_str(o, f->suppress_reason);
	if (ok && f->attributed)
		ok = JW_KEY(o, "processes") && jw_procs(o, f);
	if (ok && f->procs_more)
		ok = JW_KEY(o, "processes_not_listed") && jw_u64(o, f->procs_more);
	return ok && lit(o, "}");
}

/* vf_jwrite_fn: finding @i, written directly */
static bool json_put_finding(const void *ctx, size_t i, vf_jout *o)
{
	return jw_finding(o, &((const vf_report *)ctx)->f[i]);
}

/* vf_jwrite_fn: the findings array, streamed */
static bool json_put_findings(const void *ctx, size_t i, vf_jout *o)
{
	const vf_report *r = ctx;

	(void)i;
	return vf_jstream_array(o, r->nf, json_put_finding, r);
}

/* Every member but "findings" (the last one, streamed after these). */
static json_t *json_frame(const vf_report *r, const rule_view *t, size_t nrules)
{
	json_t *j = json_object();

	return vf_jbuilt(
	    j, vf_jset(j, "tool", vf_jtext("airgap-verifier")) &&
		   vf_jset(j, "version", vf_jtext(VF_VERSION)) &&
		   vf_jset(j, "mode", vf_jtext(r->mode)) &&
		   vf_jset(j, "fail_on", vf_jtext(vf_severity_name(r->fail_on))) &&
		   vf_jset(j, "passed", json_boolean(vf_report_count(r, r->fail_on) == 0)) &&
		   vf_jset(j, "summary", json_summary(r)) && vf_jset(j, "notes", json_notes(r)) &&
		   vf_jset(j, "rules", json_rules(t, nrules)));
}

exai_status vf_write_json(const vf_report *r, const rule_view *t, size_t nrules, FILE *o,
			  exai_error *e)
{
	vf_jout out = {.f = o};
	exai_status rc = vf_json_numbers_fit(r, e);

	if (rc)
		return rc;
	return vf_json_end(
	    vf_jstream_object(&out, json_frame(r, t, nrules), "findings", json_put_findings, r),
	    &out, "json", e);
}
