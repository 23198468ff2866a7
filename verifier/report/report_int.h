/*
 * report_int: what the findings store (report.c) and the format writers (report_text.c,
 * report_json.c, report_sarif.c, report_junit.c, dispatched by report_write.c) share.
 * Internal to vf_report; nothing outside those files includes it.
 *
 * Every string a writer reads from the report is sanitised (valid UTF-8, no control
 * characters), so a writer escapes only what its format reserves.
 */
#ifndef VF_REPORT_INT_H
#define VF_REPORT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "report.h"

/* Length of the valid UTF-8 sequence at @s (2..4; @s[0] >= 0x80) with its code point in
 * *@cp, 0 if not valid: jansson's rules (no overlong form, no surrogate, nothing over
 * U+10FFFF). The sanitiser (report.c) also escapes C1 controls; the JSON writer does not. */
size_t vf_utf8_seq(const unsigned char *s, unsigned *cp);

#ifndef VF_VERSION
#define VF_VERSION "0.0.0"
#endif

typedef struct rule_decl {
	char *id;
	vf_severity sev;
	char *desc;
} rule_decl;

struct vf_report {
	char *mode;
	vf_finding *f;
	size_t nf, capf;
	char **notes;
	size_t nnotes, capnotes;
	rule_decl *rules;
	size_t nrules, caprules;
	vf_severity fail_on;
	time_t started;	       /* wall clock, for JUnit's timestamp */
	struct timespec mono0; /* monotonic start, for JUnit's time */
	pthread_mutex_t lock;
};

/* The rule table every structured format shares: declared rules plus the ones findings name,
 * sorted by id, with counts. */
typedef struct rule_view {
	const char *id;
	vf_severity sev;
	const char *desc;
	size_t fails, others; /* unsuppressed at/above fail_on; the rest */
} rule_view;

/* ---- report.c: the store ---- */

bool vf_report_fails(const vf_report *r, const vf_finding *f);
/* Declared rules plus undeclared ones that findings name, sorted by id, deduplicated, with
 * counts; the strings are the report's. Returns a malloc'ed table (*n set, possibly 0), or
 * NULL on allocation failure. */
rule_view *vf_report_rule_table(const vf_report *r, size_t *n);
size_t vf_report_rule_index(const rule_view *t, size_t n, const char *id);
/* @f's processes as text, "pid 3 (host 4711) curl, pid ? (host 4712) sh, and 2 more" ("?":
 * not known; "none reported" for an attributed finding without any), each string through
 * @put (the format's escaper). */
void vf_report_procs_write(const vf_finding *f, FILE *out, void (*put)(const char *s, FILE *out));
/* How many locations @f stands for (1 unless grouped). */
uint64_t vf_report_finding_count(const vf_finding *f);

/* ---- the writers: each writes one whole document to @o ---- */

/* Text and JUnit write straight to @o (the caller checks the stream for write errors). */
void vf_write_text(const vf_report *r, FILE *o);
void vf_write_junit(const vf_report *r, const rule_view *t, size_t nrules, FILE *o);
/* JSON and SARIF build the document's frame as a small jansson tree and stream its findings
 * (JSON: written directly; SARIF: one jansson tree at a time; report_json.c). EXAI_ENOMEM when an
 * allocation fails, EXAI_EIO when the stream does: part of the document may have been written, and
 * the caller must not present it as complete. */
exai_status vf_write_json(const vf_report *r, const rule_view *t, size_t nrules, FILE *o,
			  exai_error *e) EXAI_WUR;
exai_status vf_write_sarif(const vf_report *r, const rule_view *t, size_t nrules, FILE *o,
			   exai_error *e) EXAI_WUR;

/* ---- report_json.c: jansson building blocks shared with report_sarif.c ----
 *
 * A failed allocation anywhere makes the document fail, never lose a member silently: every
 * setter releases the value it was given and returns false when the value or the container
 * is NULL or jansson refuses, so a chain of `&&` stops at the first failure without leaking. */

/* Sets @key (an ASCII constant) of @obj to @v (reference stolen, released on failure). */
bool vf_jset(json_t *obj, const char *key, json_t *v);
/* Appends @v (reference stolen, released on failure) to @arr. */
bool vf_jpush(json_t *arr, json_t *v);
/* Returns @j, or releases it and returns NULL when building it failed (@ok false). */
json_t *vf_jbuilt(json_t *j, bool ok);
/* A JSON string of @s, which must be valid UTF-8: a report string (sanitised by report.c) or
 * the writer's own ASCII. NULL for NULL or on allocation failure. */
json_t *vf_jtext(const char *s);
/* The same, or null for NULL. NULL on allocation failure. */
json_t *vf_jstr(const char *s);
/* A JSON integer; NULL on allocation failure or when @v does not fit jansson's signed 64-bit
 * integer (refused rather than wrapped to a negative number). */
json_t *vf_ju64(uint64_t v);
/* EXAI_EINVAL (naming the finding) when a line, column, offset or count of the report does
 * not fit a JSON integer: checked before building, so vf_ju64 failing later means memory. */
exai_status vf_json_numbers_fit(const vf_report *r, exai_error *e) EXAI_WUR;
/* @f's processes: [{"pid": N or null, "host_pid": N, "comm": "..."}]; NULL on allocation
 * failure. JSON's "processes" and SARIF's properties.processes. */
json_t *vf_json_procs(const vf_finding *f);

/* ---- report_json.c: streaming a document ----
 *
 * Each returns false when an allocation or a write failed; vf_json_end turns that into the
 * status. What was written before a failure is a truncated document. */

/* Where a document is streamed: @f, through a buffer that takes jansson's small pieces (one
 * writer per stream). vf_json_end empties it. */
typedef struct vf_jout {
	FILE *f;
	size_t n;
	char buf[32768];
} vf_jout;

/* Writes part @i of a streamed value to @o (@i is 0 for a single value). */
typedef bool (*vf_jwrite_fn)(const void *ctx, size_t i, vf_jout *o);
/* Dumps @v (reference stolen; NULL means building it failed) to @o. */
bool vf_jput(json_t *v, vf_jout *o);
/* The object @frame (reference stolen; NULL means building it failed) with one more member
 * after its own: @key (not one of @frame's), whose value @fill(ctx, 0, o) writes. */
bool vf_jstream_object(vf_jout *o, json_t *frame, const char *key, vf_jwrite_fn fill,
		       const void *ctx);
/* An array of @n elements, element i written by @put(ctx, i, o). */
bool vf_jstream_array(vf_jout *o, size_t n, vf_jwrite_fn put, const void *ctx);
/* Ends the document written with @ok (the outcome of the streaming calls) with a newline:
 * EXAI_OK, EXAI_EIO when @o's stream failed, else EXAI_ENOMEM; @what names the format in
 * the error. */
exai_status vf_json_end(bool ok, vf_jout *o, const char *what, exai_error *e) EXAI_WUR;

#endif
