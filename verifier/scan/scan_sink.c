/*
 * scan_sink: the findings sink of a scan (see scan_sink.h): findings with suppressions and
 * inline allow comments applied, findings held until the end of the scan for rules with
 * scan-scoped `unless` markers, the markers, package root ids, notes, scan.incomplete and the
 * first internal failure.
 *
 * Invariants: the report locks itself; the held list and the markers change only under the
 * scan lock; a failure to record anything (out of memory, or over VF_SCAN_HELD_MAX held
 * findings or VF_SCAN_MARKERS_MAX markers) is vf_scan_fail, never a finding silently dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "scan_allow.h"
#include "scan_baseline.h"
#include "scan_dup.h"
#include "scan_sink.h"

typedef struct vf_held {
	const vf_rule *rule;
	vf_severity sev;
	unsigned root;
	char *path, *rel, *evidence, *message;
	char *inline_why; /* an inline allow comment's reason, or NULL */
	uint64_t line, col, off;
} vf_held;

typedef struct vf_seen {
	size_t rule;
	unsigned root;
} vf_seen;

void vf_scan_fail(vf_scan *s, const exai_error *e)
{
	vf_dup_rec_taint();
	pthread_mutex_lock(&s->lock);
	if (!s->fatal) {
		s->fatal = e->code ? e->code : EXAI_EINTERNAL;
		s->fatal_err = *e;
	}
	pthread_mutex_unlock(&s->lock);
}

void vf_scan_note(vf_scan *s, const char *note)
{
	exai_error e;

	vf_dup_rec_taint(); /* it may name the file: a copy must not repeat it */
	if (vf_report_note(s->report, note, &e))
		vf_scan_fail(s, &e);
}

void vf_scan_note_at(vf_scan *s, const char *path, const char *what)
{
	char note[1024];
	exai_error e;

	vf_dup_rec_note_at(path, what);
	snprintf(note, sizeof(note), "%.300s: %s", path, what);
	if (vf_report_note(s->report, note, &e))
		vf_scan_fail(s, &e);
}

void vf_scan_count(vf_scan *s, uint64_t files, uint64_t bytes)
{
	vf_dup_rec_count(files, bytes, 0, 0);
	__atomic_add_fetch(&s->files, files, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->bytes, bytes, __ATOMIC_RELAXED);
}

void vf_scan_emit_at(vf_scan *s, const vf_rule *rule, vf_severity sev, const char *path,
		     const char *rel, uint64_t line, uint64_t col, uint64_t off,
		     const char *evidence, const char *message, const char *inline_why)
{
	vf_finding f = {.rule_id = rule->id,
			.severity = sev,
			.path = path,
			.line = line,
			.column = col,
			.offset = off,
			.evidence = evidence,
			.message = message ? message : rule->message,
			.hint = rule->hint};
	vf_suppression *sup = s->allow ? vf_scan_allow_match(s->allow, &f, rel) : NULL;
	exai_error e;
	char why[512];

	vf_dup_rec_emit(rule, sev, path, rel, line, col, off, evidence, message, inline_why);
	if (sup) {
		f.suppressed = true;
		f.suppress_reason = sup->justification;
	} else if (inline_why) {
		snprintf(why, sizeof(why), "inline: %s", inline_why);
		f.suppressed = true;
		f.suppress_reason = why;
	}
	if (vf_report_add(s->report, &f, &e))
		vf_scan_fail(s, &e);
}

void vf_scan_emit(vf_scan *s, const vf_rule *rule, const vf_buf *b, uint64_t line, uint64_t col,
		  uint64_t off, const char *evidence, const char *message)
{
	vf_scan_emit_sev(s, rule, rule->sev, b, line, col, off, evidence, message);
}

void vf_scan_emit_sev(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b,
		      uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		      const char *message)
{
	char why[448];
	bool inl = vf_inline_allow(b, line, off, rule->id, why, sizeof(why));

	vf_scan_emit_at(s, rule, sev, b->path, b->rel, line, col, off, evidence, message,
			inl ? why : NULL);
}

unsigned vf_scan_new_root(vf_scan *s)
{
	unsigned root = __atomic_add_fetch(&s->next_root, 1, __ATOMIC_RELAXED);

	vf_dup_rec_root(root);
	return root;
}

void vf_scan_marker_set(vf_scan *s, size_t rule, unsigned root)
{
	exai_error e;
	bool ok = true;

	vf_dup_rec_marker(rule, root);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i].rule == rule && s->seen[i].root == root)
			goto out;
	if (EXAI_GROW(&s->seen, &s->capseen, s->nseen, 1, VF_SCAN_MARKERS_MAX, &e)) {
		ok = false;
		goto out;
	}
	s->seen[s->nseen++] = (vf_seen){rule, root};
out:
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		exai_error_prefix(&e, "unless markers (rule, package root)");
		vf_scan_fail(s, &e);
	}
}

static bool marker_was_set(const vf_scan *s, size_t rule, unsigned root)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i].rule == rule && s->seen[i].root == root)
			return true;
	return false;
}

void vf_scan_hold(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b, uint64_t line,
		  uint64_t col, uint64_t off, const char *evidence, const char *message)
{
	char why[448];
	bool inl = vf_inline_allow(b, line, off, rule->id, why, sizeof(why));

	vf_scan_hold_at(s, rule, sev, b->path, b->rel, b->root, line, col, off, evidence, message,
			inl ? why : NULL);
}

void vf_scan_hold_at(vf_scan *s, const vf_rule *rule, vf_severity sev, const char *path,
		     const char *rel, unsigned root, uint64_t line, uint64_t col, uint64_t off,
		     const char *evidence, const char *message, const char *inline_why)
{
	vf_held h = {.rule = rule, .sev = sev, .root = root, .line = line, .col = col, .off = off};
	exai_error e;
	bool ok, grow_failed = false; /* else a copy failed */

	vf_dup_rec_hold(rule, sev, path, rel, root, line, col, off, evidence, message, inline_why);
	h.path = strdup(path);
	h.rel = strdup(rel);
	h.evidence = evidence ? strdup(evidence) : NULL;
	h.message = message ? strdup(message) : NULL;
	h.inline_why = inline_why ? strdup(inline_why) : NULL;
	ok = h.path && h.rel && (!evidence || h.evidence) && (!message || h.message) &&
	     (!inline_why || h.inline_why);
	pthread_mutex_lock(&s->lock);
	if (ok && EXAI_GROW(&s->held, &s->capheld, s->nheld, 1, VF_SCAN_HELD_MAX, &e)) {
		ok = false;
		grow_failed = true;
	}
	if (ok)
		s->held[s->nheld++] = h;
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		free(h.path);
		free(h.rel);
		free(h.evidence);
		free(h.message);
		free(h.inline_why);
		if (!grow_failed)
			exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		exai_error_prefix(&e, "findings held for scan-wide unless markers");
		vf_scan_fail(s, &e);
	}
}

void vf_scan_incomplete(vf_scan *s, const vf_buf *b, uint64_t off, const char *what)
{
	const vf_rule *r = vf_rules_for(s->rules, VF_CHK_INCOMPLETE);

	vf_dup_rec_count(0, 0, 1, 0);
	__atomic_add_fetch(&s->skipped, 1, __ATOMIC_RELAXED);
	if (r)
		vf_scan_emit(s, r, b, 0, 0, off, what, NULL);
}

void vf_scan_release_held(vf_scan *s)
{
	for (size_t i = 0; i < s->nheld; i++) {
		const vf_held *h = &s->held[i];
		if (!marker_was_set(s, (size_t)(h->rule - s->rules->r), h->root))
			vf_scan_emit_at(s, h->rule, h->sev, h->path, h->rel, h->line, h->col,
					h->off, h->evidence, h->message, h->inline_why);
	}
}

void vf_scan_sink_free(vf_scan *s)
{
	for (size_t i = 0; i < s->nheld; i++) {
		free(s->held[i].path);
		free(s->held[i].rel);
		free(s->held[i].evidence);
		free(s->held[i].message);
		free(s->held[i].inline_why);
	}
	free(s->held);
	free(s->seen);
}
