/*
 * scan_baseline: the two suppressions besides the allow file.
 *
 * Inline: a comment `airgap-verifier:allow RULE reason...` on the finding's line, or alone
 * on the line before (a comment line: only comment leaders before it), suppresses findings of
 * RULE (an id or a glob: "telemetry.*") there. The reason
 * is required: a marker without one suppresses nothing (and the allow.inline.no-reason rule
 * reports it). Only text findings (with a line) are looked at, and only within
 * INLINE_WINDOW bytes of the finding, so a megabyte-long minified line costs no more than a
 * short one.
 *
 * Baseline: a text file, "airgap-verifier-baseline 1" then one line per finding
 * "RULE<TAB>PATH<TAB>SHA256(evidence)". No line numbers, so edits elsewhere in a file keep
 * its entries valid. Applying it marks each finding that matches an unused entry as
 * suppressed (an entry is used once: a second copy of a baselined finding is new). Reading is
 * strict and bounded (size, line length, entry count, field syntax); a bad file is an error
 * naming the line, never a partial baseline.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/hash.h"
#include "scan_baseline.h"

#define INLINE_WINDOW	 4096
#define INLINE_MARK	 "airgap-verifier:allow"
#define BASELINE_MAGIC	 "airgap-verifier-baseline 1"
#define BASELINE_MAX	 (256u << 20) /* bytes */
#define BASELINE_MAX_LN	 8192
#define BASELINE_MAX_ENT 4000000u

/* ---- inline comments ---- */

/* Parses one marker at [m, e) (just after INLINE_MARK): true when it names @rule_id and has
 * a reason, copied (trimmed, comment closers dropped) into @reason. */
static bool marker_allows(const char *m, const char *e, const char *rule_id, char *reason,
			  size_t cap)
{
	char rule[128];
	size_t rl = 0, n;
	const char *r;

	if (m >= e || (*m != ' ' && *m != '\t'))
		return false;
	while (m < e && (*m == ' ' || *m == '\t'))
		m++;
	while (m < e && rl + 1 < sizeof(rule) &&
	       (isalnum((unsigned char)*m) || strchr("._-*?", *m)))
		rule[rl++] = *m++;
	rule[rl] = '\0';
	if (!rl || (m < e && *m != ' ' && *m != '\t') || fnmatch(rule, rule_id, 0) != 0)
		return false;
	while (m < e && (*m == ' ' || *m == '\t'))
		m++;
	r = m;
	n = (size_t)(e - r);
	/* trailing comment closers and space: "*\/", "-->", "#}", "%>" */
	for (bool again = true; again;) {
		again = false;
		while (n && (r[n - 1] == ' ' || r[n - 1] == '\t' || r[n - 1] == '\r'))
			n--, again = true;
		if (n >= 2 && (!memcmp(r + n - 2, "*/", 2) || !memcmp(r + n - 2, "#}", 2) ||
			       !memcmp(r + n - 2, "%>", 2)))
			n -= 2, again = true;
		else if (n >= 3 && !memcmp(r + n - 3, "-->", 3))
			n -= 3, again = true;
	}
	for (size_t i = 0; i < n; i++)
		if (isalnum((unsigned char)r[i])) {
			snprintf(reason, cap, "%.*s", (int)(n < 400 ? n : 400), r);
			return true;
		}
	return false;
}

/* Only comment leaders and space before @m on its line [ls, m): "# ", "// ", "<!-- ". */
static bool comment_only_before(const uint8_t *ls, const uint8_t *m)
{
	for (; ls < m; ls++)
		if (!*ls || !strchr(" \t#/*;!<-%", *ls))
			return false;
	return true;
}

/* Looks for a marker allowing @rule_id in the line [a, z); with @own_line, only a marker
 * that is the whole line (a comment line above the finding) counts. */
static bool span_allows(const uint8_t *a, const uint8_t *z, bool own_line, const char *rule_id,
			char *reason, size_t cap)
{
	size_t ml = sizeof(INLINE_MARK) - 1;
	const uint8_t *ls = a;

	while (a < z) {
		const uint8_t *m = memmem(a, (size_t)(z - a), INLINE_MARK, ml);
		if (!m || (own_line && !comment_only_before(ls, m)))
			return false;
		if (marker_allows((const char *)m + ml, (const char *)z, rule_id, reason, cap))
			return true;
		a = m + ml;
	}
	return false;
}

bool vf_inline_allow(const vf_buf *b, uint64_t line, uint64_t off, const char *rule_id,
		     char *reason, size_t cap)
{
	const uint8_t *p = b->p, *lo, *ls, *le, *hi, *pls;
	size_t at;

	if (!p || !b->n || !line)
		return false;
	if (off > 0 && off < b->n) {
		at = (size_t)off;
	} else { /* no offset (YAML checks): count lines */
		const uint8_t *q = p, *end = p + b->n;
		for (uint64_t l = 1; l < line && q; l++)
			if ((q = memchr(q, '\n', (size_t)(end - q))))
				q++;
		if (!q)
			return false;
		at = (size_t)(q - p);
	}
	lo = at > INLINE_WINDOW ? p + at - INLINE_WINDOW : p;
	ls = at ? memrchr(lo, '\n', (size_t)(p + at - lo)) : NULL;
	ls = ls ? ls + 1 : lo;
	hi = b->n - at > INLINE_WINDOW ? p + at + INLINE_WINDOW : p + b->n;
	le = memchr(p + at, '\n', (size_t)(hi - (p + at)));
	le = le ? le : hi;
	if (span_allows(ls, le, false, rule_id, reason, cap))
		return true;
	if (ls == p || ls[-1] != '\n')
		return false; /* no previous line in reach */
	lo = ls - 1 > p + INLINE_WINDOW ? ls - 1 - INLINE_WINDOW : p;
	pls = memrchr(lo, '\n', (size_t)(ls - 1 - lo));
	pls = pls ? pls + 1 : lo;
	return span_allows(pls, ls - 1, true, rule_id, reason, cap);
}

/* ---- baseline ---- */

typedef struct bl_ent {
	char *rule, *path;
	char hash[EXAI_SHA256_HEX];
	bool used;
} bl_ent;

struct vf_baseline {
	char *file;
	bl_ent *v;
	size_t n;
};

static exai_status evidence_hash(const char *ev, char out[EXAI_SHA256_HEX], exai_error *e)
{
	uint8_t d[EXAI_SHA256_LEN];
	exai_status rc = exai_sha256_buf(ev ? ev : "", ev ? strlen(ev) : 0, d, e);

	if (!rc)
		exai_hex_encode(d, sizeof(d), out);
	return rc;
}

/* A path or rule field is printable, tab-free text (report strings are sanitised). */
static bool field_ok(const char *s, size_t n, bool rule)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (rule && !isalnum(c) && !strchr("._-", c)))
			return false;
	}
	return true;
}

exai_status vf_baseline_write(const vf_report *r, const char *path, exai_error *e)
{
	exai_afile af = {.fd = -1};
	char line[BASELINE_MAX_LN + 2], h[EXAI_SHA256_HEX];
	exai_status rc;
	size_t written = 0;

	if ((rc = exai_afile_open(&af, path, 0644, e)))
		return rc;
	if ((rc = exai_afile_write(&af, BASELINE_MAGIC "\n", sizeof(BASELINE_MAGIC), e)))
		goto fail;
	for (size_t i = 0; i < vf_report_size(r); i++) {
		const vf_finding *f = vf_report_get(r, i);
		int n;
		if (f->suppressed || !f->path)
			continue;
		if ((rc = evidence_hash(f->evidence, h, e)))
			goto fail;
		n = snprintf(line, sizeof(line), "%s\t%s\t%s\n", f->rule_id, f->path, h);
		if (n < 0 || (size_t)n > BASELINE_MAX_LN ||
		    !field_ok(f->path, strlen(f->path), false)) {
			rc = exai_error_set(e, EXAI_ETOOBIG,
					    "%s: path too long for a baseline entry: %.200s", path,
					    f->path);
			goto fail;
		}
		if (++written > BASELINE_MAX_ENT) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s: more than %u findings", path,
					    BASELINE_MAX_ENT);
			goto fail;
		}
		if ((rc = exai_afile_write(&af, line, (size_t)n, e)))
			goto fail;
	}
	return exai_afile_commit(&af, e);
fail:
	exai_afile_abort(&af);
	return rc;
}

void vf_baseline_free(vf_baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].rule);
		free(b->v[i].path);
	}
	free(b->v);
	free(b->file);
	free(b);
}

/* Parses one entry line [s, s+n) (line number @ln) into @out. */
static exai_status parse_entry(const char *file, size_t ln, const char *s, size_t n, bl_ent *out,
			       exai_error *e)
{
	const char *t1 = memchr(s, '\t', n),
		   *t2 = t1 ? memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - s)) : NULL;
	const char *h;
	size_t hl;

	if (!t2)
		return exai_error_set(e, EXAI_EFORMAT, "%s:%zu: want RULE<TAB>PATH<TAB>SHA256",
				      file, ln);
	h = t2 + 1;
	hl = n - (size_t)(h - s);
	if (!field_ok(s, (size_t)(t1 - s), true) || (size_t)(t1 - s) > 128)
		return exai_error_set(e, EXAI_EFORMAT, "%s:%zu: bad rule id", file, ln);
	if (!field_ok(t1 + 1, (size_t)(t2 - t1 - 1), false))
		return exai_error_set(e, EXAI_EFORMAT, "%s:%zu: bad path", file, ln);
	if (hl != 64)
		return exai_error_set(e, EXAI_EFORMAT, "%s:%zu: the hash is not 64 hex digits",
				      file, ln);
	for (size_t i = 0; i < hl; i++)
		if (!strchr("0123456789abcdef", h[i]) || !h[i])
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s:%zu: the hash is not lower-case hex", file, ln);
	out->rule = strndup(s, (size_t)(t1 - s));
	out->path = strndup(t1 + 1, (size_t)(t2 - t1 - 1));
	memcpy(out->hash, h, 64);
	out->hash[64] = '\0';
	if (!out->rule || !out->path) {
		free(out->rule);
		free(out->path);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	return EXAI_OK;
}

exai_status vf_baseline_parse(const char *file, const uint8_t *buf, size_t len, vf_baseline **out,
			      exai_error *e)
{
	size_t cap = 0, ln = 1;
	vf_baseline *b = calloc(1, sizeof(*b));
	exai_status rc;
	const char *p = (const char *)buf, *end = p + len;

	*out = NULL;
	if (!b || !(b->file = strdup(file))) {
		vf_baseline_free(b);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	if (len > BASELINE_MAX) {
		rc =
		    exai_error_set(e, EXAI_ETOOBIG, "%s: larger than %u bytes", file, BASELINE_MAX);
		goto fail;
	}
	if (len < sizeof(BASELINE_MAGIC) ||
	    memcmp(p, BASELINE_MAGIC "\n", sizeof(BASELINE_MAGIC))) {
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "%s:1: not an airgap-verifier baseline (want '%s')", file,
				    BASELINE_MAGIC);
		goto fail;
	}
	p += sizeof(BASELINE_MAGIC);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		ln++;
		if (!nl) {
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s:%zu: last line has no newline (truncated?)", file,
					    ln);
			goto fail;
		}
		if ((size_t)(nl - p) > BASELINE_MAX_LN) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s:%zu: line longer than %u bytes",
					    file, ln, BASELINE_MAX_LN);
			goto fail;
		}
		if (b->n == BASELINE_MAX_ENT) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s:%zu: more than %u entries", file,
					    ln, BASELINE_MAX_ENT);
			goto fail;
		}
		if ((rc = EXAI_GROW(&b->v, &cap, b->n, 1, BASELINE_MAX_ENT, e)))
			goto fail;
		memset(&b->v[b->n], 0, sizeof(b->v[b->n]));
		if ((rc = parse_entry(file, ln, p, (size_t)(nl - p), &b->v[b->n], e)))
			goto fail;
		b->n++;
		p = nl + 1;
	}
	*out = b;
	return EXAI_OK;
fail:
	vf_baseline_free(b);
	return rc;
}

exai_status vf_baseline_load(const char *file, vf_baseline **out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc;

	*out = NULL;
	if ((rc = exai_file_read_bounded(file, BASELINE_MAX, &buf, &len, e)))
		return rc;
	rc = vf_baseline_parse(file, buf, len, out, e);
	free(buf);
	return rc;
}

static int ent_cmp3(const char *h, const char *rule, const char *path, const bl_ent *x)
{
	int c;

	if ((c = strcmp(h, x->hash)) || (c = strcmp(rule, x->rule)))
		return c;
	return strcmp(path, x->path);
}

static int ent_cmp(const void *pa, const void *pb)
{
	const bl_ent *a = pa;

	return ent_cmp3(a->hash, a->rule, a->path, pb);
}

exai_status vf_baseline_apply(vf_baseline *b, vf_report *r, size_t *matched, size_t *stale,
			      exai_error *e)
{
	char h[EXAI_SHA256_HEX], reason[512];
	exai_status rc;

	*matched = *stale = 0;
	snprintf(reason, sizeof(reason), "baseline %s", b->file);
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(*b->v), ent_cmp);
	for (size_t i = 0; i < vf_report_size(r); i++) {
		const vf_finding *f = vf_report_get(r, i);
		size_t lo = 0, hi = b->n;
		if (f->suppressed || !f->path)
			continue;
		if ((rc = evidence_hash(f->evidence, h, e)))
			return rc;
		while (lo < hi) { /* the first entry not below the finding */
			size_t mid = lo + (hi - lo) / 2;
			if (ent_cmp3(h, f->rule_id, f->path, &b->v[mid]) > 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < b->n && !ent_cmp3(h, f->rule_id, f->path, &b->v[lo]); lo++) {
			if (b->v[lo].used)
				continue;
			if ((rc = vf_report_suppress(r, i, reason, e)))
				return rc;
			b->v[lo].used = true;
			(*matched)++;
			break;
		}
	}
	for (size_t k = 0; k < b->n; k++)
		*stale += !b->v[k].used;
	return EXAI_OK;
}
