/*
 * scrub: the pattern-pack scrubber on PCRE2 with JIT. See scrub.h and scrub_patterns.txt.
 *
 * Invariants: a match is always replaced (never partly); a pattern that fails to run on an
 * input (a PCRE2 resource limit) is an error, so the record is refused rather than stored
 * unscrubbed; the IBAN check is ISO 7064 mod-97 over the match with spaces removed.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "scrub.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND_MAX 32
#define MARK_L	 "\xe2\x80\xb9" /* U+2039 */
#define MARK_R	 "\xe2\x80\xba" /* U+203A */

typedef struct rule {
	char kind[KIND_MAX + 1];
	unsigned keep;
	bool iban;
	pcre2_code *re;
} rule;

struct mir_scrubber {
	rule rules[MIR_SCRUB_KINDS];
	size_t n;
	pcre2_match_data *md;
};

/* A growing output buffer. */
typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static bool put(buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

/* ISO 7064 mod 97-10 over an IBAN (spaces skipped): 1 means valid. */
static bool iban_ok(const char *s, size_t n)
{
	char c[40];
	size_t m = 0;
	unsigned rem = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ') {
			if (m == sizeof(c))
				return false;
			c[m++] = s[i];
		}
	if (m < 15 || m > 34)
		return false;
	for (size_t i = 0; i < m; i++) {
		char ch = c[(i + 4) % m]; /* the first four characters go to the end */
		if (isdigit((unsigned char)ch))
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (isupper((unsigned char)ch))
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

static exai_status add_rule(mir_scrubber *s, const char *line, size_t len, unsigned lineno,
			    exai_error *e)
{
	const char *f[4], *end = line + len;
	size_t fl[3];
	rule *r = &s->rules[s->n];
	int err;
	PCRE2_SIZE off;

	f[0] = line;
	for (int i = 0; i < 3; i++) {
		const char *t = memchr(f[i], '\t', (size_t)(end - f[i]));
		if (!t)
			return exai_error_set(e, EXAI_EFORMAT, "scrub pack line %u: not 4 fields",
					      lineno);
		fl[i] = (size_t)(t - f[i]);
		f[i + 1] = t + 1;
	}
	if (s->n == MIR_SCRUB_KINDS)
		return exai_error_set(e, EXAI_ETOOBIG, "scrub pack: more than %d rules",
				      MIR_SCRUB_KINDS);
	if (fl[0] == 0 || fl[0] > KIND_MAX ||
	    strspn(f[0], "abcdefghijklmnopqrstuvwxyz0123456789_") < fl[0] || fl[1] != 1 ||
	    f[1][0] < '0' || f[1][0] > '8' ||
	    !((fl[2] == 1 && f[2][0] == '-') || (fl[2] == 4 && !memcmp(f[2], "iban", 4))))
		return exai_error_set(e, EXAI_EFORMAT,
				      "scrub pack line %u: bad kind, prefix or check", lineno);
	memcpy(r->kind, f[0], fl[0]);
	r->kind[fl[0]] = '\0';
	r->keep = (unsigned)(f[1][0] - '0');
	r->iban = fl[2] == 4;
	r->re =
	    pcre2_compile((PCRE2_SPTR)f[3], (PCRE2_SIZE)(end - f[3]), PCRE2_UTF, &err, &off, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return exai_error_set(e, EXAI_EFORMAT, "scrub pack line %u (%s): at %zu: %s",
				      lineno, r->kind, (size_t)off, (const char *)msg);
	}
	/* JIT is an optimisation: without it (no JIT support) the interpreter runs. */
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	s->n++;
	return EXAI_OK;
}

exai_status mir_scrubber_new(const char *pack, mir_scrubber **out, exai_error *e)
{
	mir_scrubber *s = calloc(1, sizeof(*s));
	const char *p = pack ? pack : mir_scrub_pack;
	unsigned lineno = 0;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (!s)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	while (*p && !rc) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len > 0 && p[0] != '#' && p[0] != '@') /* '@': for the verifier */
			rc = add_rule(s, p, len, lineno, e);
		p += len + (nl ? 1 : 0);
	}
	if (!rc && !(s->md = pcre2_match_data_create(4, NULL)))
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (!rc && s->n == 0)
		rc = exai_error_set(e, EXAI_EFORMAT, "scrub pack: no rules");
	if (rc) {
		mir_scrubber_free(s);
		return rc;
	}
	*out = s;
	return EXAI_OK;
}

void mir_scrubber_free(mir_scrubber *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		pcre2_code_free(s->rules[i].re);
	pcre2_match_data_free(s->md);
	free(s);
}

size_t mir_scrubber_kinds(const mir_scrubber *s)
{
	return s->n;
}

const char *mir_scrubber_kind(const mir_scrubber *s, size_t i)
{
	return i < s->n ? s->rules[i].kind : NULL;
}

static bool marker(buf *b, const rule *r, const char *m, size_t n)
{
	size_t keep = r->keep < n ? r->keep : 0;

	return put(b, MARK_L, 3) && put(b, r->kind, strlen(r->kind)) && put(b, ":", 1) &&
	       put(b, m, keep) && put(b, "****REDACTED", 12) && put(b, MARK_R, 3);
}

/* One rule over @in: the scrubbed text into @b; *hits gets the matches replaced. */
static exai_status apply(mir_scrubber *s, const rule *r, const char *in, size_t len, buf *b,
			 uint64_t *hits, exai_error *e)
{
	PCRE2_SIZE pos = 0;

	b->len = 0;
	while (pos <= len) {
		int m = pcre2_match(r->re, (PCRE2_SPTR)in, len, pos, 0, s->md, NULL);
		PCRE2_SIZE *ov, a, z;

		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0)
			return exai_error_set(
			    e, EXAI_EREFUSED,
			    "scrubber: rule %s could not run on this value "
			    "(PCRE2 error %d): refused rather than stored unscrubbed",
			    r->kind, m);
		ov = pcre2_get_ovector_pointer(s->md);
		a = ov[0];
		z = ov[1];
		if (z <= a || a < pos) { /* an empty match (or \K before the start): step on */
			if (pos >= len)
				break;
			if (!put(b, in + pos, 1))
				goto oom;
			pos++;
			continue;
		}
		if (!put(b, in + pos, a - pos))
			goto oom;
		if (r->iban && !iban_ok(in + a, z - a)) {
			if (!put(b, in + a, z - a))
				goto oom;
		} else {
			if (!marker(b, r, in + a, z - a))
				goto oom;
			(*hits)++;
		}
		pos = z;
	}
	if (pos < len && !put(b, in + pos, len - pos))
		goto oom;
	return EXAI_OK;
oom:
	return exai_error_set(e, EXAI_ENOMEM, "out of memory");
}

exai_status mir_scrub_text(mir_scrubber *s, const char *in, size_t len, char **out, size_t *out_len,
			   uint64_t hits[MIR_SCRUB_KINDS], exai_error *e)
{
	buf a = {0}, b = {0};
	const char *cur = in;
	size_t cur_len = len;
	bool changed = false;
	exai_status rc = EXAI_OK;

	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < s->n && !rc; i++) {
		uint64_t n = 0;
		buf *dst = cur == a.p ? &b : &a;
		if ((rc = apply(s, &s->rules[i], cur, cur_len, dst, &n, e)) || n == 0)
			continue;
		hits[i] += n;
		changed = true;
		cur = dst->p;
		cur_len = dst->len;
	}
	if (!rc && changed) {
		if (!(*out = malloc(cur_len + 1)))
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		else {
			memcpy(*out, cur, cur_len);
			(*out)[cur_len] = '\0';
			*out_len = cur_len;
		}
	}
	free(a.p);
	free(b.p);
	return rc;
}

exai_status mir_scrub_json(mir_scrubber *s, json_t *v, uint64_t hits[MIR_SCRUB_KINDS],
			   exai_error *e)
{
	const char *k;
	json_t *x;
	size_t i;
	exai_status rc = EXAI_OK;

	if (json_is_string(v)) {
		char *out = NULL;
		size_t n = 0;
		if ((rc = mir_scrub_text(s, json_string_value(v), json_string_length(v), &out, &n,
					 hits, e)) ||
		    !out)
			return rc;
		if (json_string_setn(v, out, n) != 0)
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		free(out);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x) if ((rc = mir_scrub_json(s, x, hits, e))) break;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) if ((rc = mir_scrub_json(s, x, hits, e))) break;
	}
	return rc;
}
