/*
 * scan_text: the content rules over one buffer, in a single pass.
 *
 * The prefilter (scan_lit) reports literal occurrences left to right; only there does this
 * module look closer: a pattern rule runs its regex over a bounded window of the line around
 * the trigger (never the whole line: minified files have multi-megabyte lines), the network
 * checks parse the URL / IP / host name at that spot. A text buffer's "lines" end at '\n';
 * in a binary, a "line" is a run of printable bytes and locations are byte offsets.
 *
 * Findings are collected per buffer and settled at its end: a generic network finding that
 * overlaps a specific rule's match (a Sentry DSN is also a URL) is dropped, and rules with
 * `unless` markers are dropped (file scope) or held for the end of the scan (scan scope: the
 * marker must be set in the same package root). A marker counts only where it sets the switch.
 *
 * Context ranks a finding down (scan_ctx): one inside a comment or docstring is info (except
 * secrets: a key in a comment is still shipped), a network reference in documentation is at
 * most low. Dotted quads that are versions or netmasks are not addresses at all.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exai/grow.h"
#include "scan_elf.h"
#include "scan_net.h"
#include "scan_text.h"
#include "scan_ctx.h"
#include "scan_dup.h"
#include "scan_lit.h"

#define WINDOW	     1024 /* bytes either side of a trigger that a regex looks at */
#define EVIDENCE_MAX 200

/* A finding not yet settled. Its strings are only made if it is reported: a buffer can hold
 * many more candidates than max_findings_per_file, or claims that are never reported. */
typedef struct pend {
	const vf_rule *rule;
	size_t start, end;     /* span in the buffer */
	size_t ev_a, ev_b;     /* evidence: p[ev_a..ev_b), clipped (or start..end redacted) */
	size_t host_a, host_n; /* net: the host the message names */
	bool net;
	bool redacted;
	bool claim_only; /* another trigger of a rule already reported on this line */
} pend;

typedef struct tctx {
	vf_scan *s;
	const vf_buf *b;
	const vf_rules *rs;
	bool binary;
	vf_ftype ft;	     /* the kind of file, its comment syntax */
	vf_lexer lx;	     /* comments, advanced while settling */
	uint8_t *applies;    /* per rule */
	uint8_t *unless_hit; /* per rule, in this buffer */
	size_t *done_upto;   /* per rule: triggers before this offset are already handled */
	size_t net_covered;  /* a URL already covers bytes before this offset */
	size_t ip_done, ip6_done, host_done;
	pend *p;
	size_t np, cap;
	bool oom;
} tctx;

/* ---- small helpers ---- */

/* Byte classes (the C locale's, which is the one this program runs in), one table lookup
 * instead of a ctype call or a strchr per byte in the loops that walk URLs and addresses. */
enum {
	CL_ALNUM = 1,
	CL_DIGIT = 2,
	CL_XDIGIT = 4,
	CL_URL = 8,	   /* may be part of a URL */
	CL_AUTH_END = 16,  /* ends a URL's authority: / ? # */
	CL_HOST_STOP = 32, /* before a bare host name, makes it something else: @ / _ \ $ % { NUL */
	CL_SPACE = 64,
	CL_PRINT = 128 /* part of a printable run in a binary */
};
#define CL_IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define CL_IS_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define CL_IS_XALPHA(c) (((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define CL_NOT_URL(c)                                                                          \
	((c) == '"' || (c) == '\'' || (c) == '<' || (c) == '>' || (c) == '`' || (c) == '\\' || \
	 (c) == '^' || (c) == '{' || (c) == '}' || (c) == '|')
#define CL_STOP(c)                                                                            \
	((c) == '@' || (c) == '/' || (c) == '_' || (c) == '\\' || (c) == '$' || (c) == '%' || \
	 (c) == '{' || (c) == 0)
#define CL_OF(c)                                                                               \
	((CL_IS_DIGIT(c) || CL_IS_ALPHA(c) ? CL_ALNUM : 0) | (CL_IS_DIGIT(c) ? CL_DIGIT : 0) | \
	 (CL_IS_DIGIT(c) || CL_IS_XALPHA(c) ? CL_XDIGIT : 0) |                                 \
	 ((c) > 0x20 && (c) < 0x7f && !CL_NOT_URL(c) ? CL_URL : 0) |                           \
	 ((c) == '/' || (c) == '?' || (c) == '#' ? CL_AUTH_END : 0) |                          \
	 (CL_STOP(c) ? CL_HOST_STOP : 0) |                                                     \
	 ((c) == ' ' || ((c) >= '\t' && (c) <= '\r') ? CL_SPACE : 0) |                         \
	 (((c) >= 0x20 && (c) < 0x7f) || (c) == '\t' ? CL_PRINT : 0))
#define CL4(i)	CL_OF(i), CL_OF((i) + 1), CL_OF((i) + 2), CL_OF((i) + 3)
#define CL16(i) CL4(i), CL4((i) + 4), CL4((i) + 8), CL4((i) + 12)
#define CL64(i) CL16(i), CL16((i) + 16), CL16((i) + 32), CL16((i) + 48)
static const uint8_t cls[256] = {CL64(0), CL64(64), CL64(128), CL64(192)};

static inline bool is_alnum(uint8_t c)
{
	return cls[c] & CL_ALNUM;
}

static inline bool is_digit(uint8_t c)
{
	return cls[c] & CL_DIGIT;
}

static inline bool is_word(uint8_t c)
{
	return (cls[c] & CL_ALNUM) || c == '_';
}

static inline bool is_printable(uint8_t c)
{
	return cls[c] & CL_PRINT;
}

/* The "line" around @pos: [*ls, *le). */
static void line_bounds(const tctx *t, size_t pos, size_t *ls, size_t *le)
{
	const uint8_t *p = t->b->p;
	size_t n = t->b->n, a = pos, z = pos;

	if (t->binary) {
		while (a > 0 && pos - a < WINDOW && is_printable(p[a - 1]))
			a--;
		while (z < n && z - pos < WINDOW && is_printable(p[z]))
			z++;
	} else {
		const uint8_t *lo = pos > WINDOW ? p + pos - WINDOW : p;
		const uint8_t *nl = pos ? memrchr(lo, '\n', (size_t)(p + pos - lo)) : NULL;
		const uint8_t *hi = memchr(p + pos, '\n', n - pos < WINDOW ? n - pos : WINDOW);
		a = nl ? (size_t)(nl - p) + 1 : (size_t)(lo - p);
		z = hi ? (size_t)(hi - p) : (n - pos < WINDOW ? n : pos + WINDOW);
	}
	*ls = a;
	*le = z;
}

static bool contains(const uint8_t *p, size_t n, const char *s, bool icase)
{
	size_t k = strlen(s);

	if (!icase)
		return memmem(p, n, s, k) != NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp((const char *)p + i, s, k) == 0)
			return true;
	return false;
}

/* Evidence: at most EVIDENCE_MAX bytes of the buffer, "..." where cut, or a redaction. */
#define EV_CAP (EVIDENCE_MAX + 4)

/* p[a..z) into @out (EV_CAP bytes), capped, with "..." where cut. */
static void clip(char out[EV_CAP], const uint8_t *p, size_t a, size_t z)
{
	size_t len = z - a, keep = len > EVIDENCE_MAX ? EVIDENCE_MAX : len;

	memcpy(out, p + a, keep);
	strcpy(out + keep, len > keep ? "..." : "");
}

static void redact(char out[EV_CAP], const uint8_t *p, size_t a, size_t z)
{
	size_t show = z - a > 8 ? 4 : 0;

	snprintf(out, EV_CAP, "%.*s****[REDACTED %zu bytes]", (int)show, (const char *)p + a,
		 z - a);
}

/* Adds a pending finding (a copy of @q). */
static void add_pend(tctx *t, const pend *q)
{
	if (EXAI_GROW(&t->p, &t->cap, t->np, 1, EXAI_GROW_NOCAP, NULL)) {
		t->oom = true;
		return;
	}
	t->p[t->np++] = *q;
}

/* ---- pattern rules ---- */

static bool word_ok(const tctx *t, size_t a, size_t z)
{
	const uint8_t *p = t->b->p;

	if (a > 0 && (is_word(p[a - 1]) || p[a - 1] == '.' || p[a - 1] == '-'))
		return false;
	if (z < t->b->n && (is_word(p[z]) || p[z] == '-'))
		return false;
	if (z + 1 < t->b->n && p[z] == '.' && is_alnum(p[z + 1]))
		return false;
	return true;
}

static void rule_match(tctx *t, const vf_rule *r, size_t a, size_t z, size_t ls, size_t le)
{
	const uint8_t *p = t->b->p;
	pend q = {.rule = r, .start = a, .end = z, .ev_a = a, .ev_b = z, .redacted = r->redact};

	if (r->word && !word_ok(t, a, z))
		return;
	if (r->key_body && !vf_pem_has_body(p, t->b->n, z))
		return; /* a BEGIN line alone (documentation, a comment) is no key */
	if (r->commands && t->ft.program && !vf_line_spawns(p, ls, le))
		return; /* "Install it with: pip install x" in a message is not run */
	for (size_t i = 0; i < r->except.n; i++)
		if (contains(p + ls, le - ls, r->except.v[i], r->icase))
			return;
	if (!r->redact && !r->has_re) {
		/* The trimmed line around the trigger. */
		size_t x = a > ls + 80 ? a - 80 : ls, y = z + 80 < le ? z + 80 : le;
		while (x < a && (cls[p[x]] & CL_SPACE))
			x++;
		while (y > z && (cls[p[y - 1]] & CL_SPACE))
			y--;
		q.ev_a = x;
		q.ev_b = y;
	}
	add_pend(t, &q);
}

static void on_rule(tctx *t, const vf_lit *l, size_t pos)
{
	const vf_rule *r = &t->rs->r[l->rule];
	size_t ls, le;

	if (!t->applies[l->rule])
		return;
	if (pos < t->done_upto[l->rule]) {
		/* Still claims its span, so a URL around it is not reported twice. */
		if (!r->has_re)
			add_pend(t, &(pend){.rule = r,
					    .start = pos,
					    .end = pos + l->len,
					    .claim_only = true});
		return;
	}
	line_bounds(t, pos, &ls, &le);
	if (!r->has_re) {
		t->done_upto[l->rule] = le; /* one finding per line and rule */
		rule_match(t, r, pos, pos + l->len, ls, le);
		return;
	}
	/* The window is copied and NUL-terminated: the input is not, and regexec must never be
	 * able to read past it (sanitizer interceptors ignore REG_STARTEND). */
	{
		size_t from0 = ls > t->done_upto[l->rule] ? ls : t->done_upto[l->rule];
		char win[2 * WINDOW + 2];
		size_t wl = le > from0 ? le - from0 : 0;
		memcpy(win, t->b->p + from0, wl);
		win[wl] = '\0';
		for (size_t from = 0; from < wl;) {
			regmatch_t m[10] = {{.rm_so = (regoff_t)from, .rm_eo = (regoff_t)wl}};
			const regmatch_t *span = &m[0];
			if (regexec(r->re, win, 10, m, REG_STARTEND) != 0)
				break;
			if (m[0].rm_eo <= m[0].rm_so) {
				from = (size_t)m[0].rm_so + 1;
				continue;
			}
			/* vendor rules: the host or package, without its boundary characters */
			for (int g = 0; g < 2 && r->span_group[g]; g++)
				if (m[r->span_group[g]].rm_so >= 0) {
					span = &m[r->span_group[g]];
					break;
				}
			rule_match(t, r, from0 + (size_t)span->rm_so, from0 + (size_t)span->rm_eo,
				   ls, le);
			from = (size_t)m[0].rm_eo;
		}
	}
	t->done_upto[l->rule] = le;
}

/* Whether the line holding @pos starts (after blanks) with a line comment. */
static bool line_commented(const tctx *t, size_t pos)
{
	const uint8_t *p = t->b->p;
	size_t a = pos;

	while (a > 0 && pos - a < WINDOW && p[a - 1] != '\n')
		a--;
	while (a < pos && (p[a] == ' ' || p[a] == '\t'))
		a++;
	return a < pos && (p[a] == '#' || p[a] == ';' || (p[a] == '/' && p[a + 1] == '/'));
}

static void on_unless(tctx *t, const vf_lit *l, size_t pos)
{
	const vf_rule *r = &t->rs->r[l->rule];

	if (t->unless_hit[l->rule] || !vf_switch_is_set(t->b->p, t->b->n, pos, pos + l->len) ||
	    line_commented(t, pos))
		return; /* read, compared, commented out: the switch is not set here */
	t->unless_hit[l->rule] = 1;
	if (r->unless_scope == VF_SCOPE_SCAN)
		vf_scan_marker_set(t->s, l->rule, t->b->root);
}

/* ---- network checks ---- */

static bool list_has_ci(const vf_strv *sv, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strlen(sv->v[i]) == len && strncasecmp(sv->v[i], (const char *)s, len) == 0)
			return true;
	return false;
}

static void net_finding(tctx *t, vf_check c, size_t a, size_t z, const uint8_t *host, size_t hlen)
{
	const vf_rule *r = vf_rules_for(t->rs, c);

	if (!r || !t->applies[r - t->rs->r])
		return;
	add_pend(t, &(pend){.rule = r,
			    .start = a,
			    .end = z,
			    .ev_a = a,
			    .ev_b = z,
			    .host_a = (size_t)(host - t->b->p),
			    .host_n = hlen,
			    .net = true});
}

static void on_url(tctx *t, size_t pos)
{
	const uint8_t *p = t->b->p;
	size_t n = t->b->n, a = pos, h, he, z, at;
	const vf_settings *set = &t->rs->set;

	while (a > 0 && pos - a < 32 && (is_alnum(p[a - 1]) || p[a - 1] == '+' || p[a - 1] == '-'))
		a--;
	if (a == pos)
		return;
	/* http and https are most URLs: skip the scheme list for them. */
	if (!((pos - a == 4 && strncasecmp((const char *)p + a, "http", 4) == 0) ||
	      (pos - a == 5 && strncasecmp((const char *)p + a, "https", 5) == 0)) &&
	    !list_has_ci(&set->url_schemes, p + a, pos - a))
		return;
	h = pos + 3;
	z = h;
	while (z < n && z - a < 2048 && (cls[p[z]] & CL_URL))
		z++;
	/* Prose around a URL: "(https://x.io)", "see https://x.io." - a closing parenthesis
	 * without an opening one in the URL, and sentence punctuation, are not part of it. */
	while (z > h && (p[z - 1] == '.' || p[z - 1] == ',' || p[z - 1] == ';' ||
			 (p[z - 1] == ')' && !memchr(p + h, '(', z - h))))
		z--;
	/* Authority: up to the first / ? #; userinfo ends at the last '@' in it. */
	he = h;
	while (he < z && !(cls[p[he]] & CL_AUTH_END))
		he++;
	at = h;
	for (size_t i = h; i < he; i++)
		if (p[i] == '@')
			at = i + 1;
	h = at;
	if (h < he && p[h] == '[') {
		const uint8_t *rb = memchr(p + h, ']', he - h);
		if (!rb)
			return;
		he = (size_t)(rb - p) + 1;
		h++;
		if (!vf_net_host_is_local(set, (const char *)p + h, he - h - 1)) {
			t->net_covered = z;
			net_finding(t, VF_CHK_NET_URL, a, z, p + h, he - h - 1);
		}
		return;
	}
	for (size_t i = h; i < he; i++)
		if (p[i] == ':') {
			he = i;
			break;
		}
	/* Templated or otherwise unresolvable hosts cannot be judged statically. */
	if (he == h || he - h > 253)
		return;
	for (size_t i = h; i < he; i++)
		if (!is_alnum(p[i]) && p[i] != '.' && p[i] != '-' && p[i] != '_')
			return;
	t->net_covered = z;
	if (vf_net_host_is_local(set, (const char *)p + h, he - h))
		return;
	for (size_t i = 0; i < set->ignore_url_prefixes.n; i++) {
		const char *pre = set->ignore_url_prefixes.v[i];
		size_t pl = strlen(pre);
		if (z - a >= pl && strncasecmp((const char *)p + a, pre, pl) == 0)
			return;
	}
	net_finding(t, VF_CHK_NET_URL, a, z, p + h, he - h);
}

static void on_ipv4(tctx *t, size_t pos)
{
	const uint8_t *p = t->b->p;
	size_t n = t->b->n, a = pos, z, groups = 1, digits = 0;
	uint8_t addr[16];
	bool ok = true;

	if (pos < t->net_covered)
		return;
	while (a > 0 && pos - a < 16 && (is_digit(p[a - 1]) || p[a - 1] == '.'))
		a--;
	if (a < t->ip_done)
		return;
	z = a;
	while (z < n && z - a < 40 && (is_digit(p[z]) || p[z] == '.'))
		z++;
	t->ip_done = z;
	if (z > a && p[z - 1] == '.')
		z--; /* end of a sentence */
	if (a > 0 && (is_alnum(p[a - 1]) || p[a - 1] == '_' || p[a - 1] == '-' || p[a - 1] == '.'))
		return; /* v1.2.3.4, x1.2.3.4 */
	if (z < n && (is_alnum(p[z]) || p[z] == '_'))
		return;
	for (size_t i = a; i < z; i++) {
		if (p[i] == '.') {
			ok &= digits > 0 && digits <= 3;
			groups++;
			digits = 0;
		} else {
			digits++;
		}
	}
	ok &= digits > 0 && digits <= 3 && groups == 4;
	if (!ok || !vf_net_ip_parse((const char *)p + a, z - a, addr))
		return;
	if (vf_ipv4_not_destination(addr) || vf_ipv4_is_version(p, n, a, z, t->ft.changelog))
		return; /* 255.255.255.0, version 1.2.3.4, a changelog's 1.2.7.3 */
	if (!vf_net_host_is_local(&t->rs->set, (const char *)p + a, z - a))
		net_finding(t, VF_CHK_NET_IP, a, z, p + a, z - a);
}

static bool hex_or_colon(uint8_t c)
{
	return (cls[c] & CL_XDIGIT) || c == ':';
}

static void on_ipv6(tctx *t, size_t pos)
{
	const uint8_t *p = t->b->p;
	size_t n = t->b->n, a = pos, z = pos, colons = 0;
	bool digit = false;
	uint8_t addr[16];

	if (pos < t->net_covered || pos < t->ip6_done)
		return;
	while (a > 0 && pos - a < 40 && hex_or_colon(p[a - 1]))
		a--;
	while (z < n && z - a < 45 && (hex_or_colon(p[z]) || p[z] == '.'))
		z++;
	t->ip6_done = z;
	if (a > 0 && (is_word(p[a - 1]) || p[a - 1] == ':'))
		return;
	if (z < n && (is_word(p[z]) || p[z] == ':'))
		return;
	for (size_t i = a; i < z; i++) {
		colons += p[i] == ':';
		digit |= is_digit(p[i]);
	}
	if (colons < 2 || !digit || z - a < 3 || !vf_net_ip_parse((const char *)p + a, z - a, addr))
		return;
	if (!vf_net_host_is_local(&t->rs->set, (const char *)p + a, z - a))
		net_finding(t, VF_CHK_NET_IP, a, z, p + a, z - a);
}

static void on_host(tctx *t, const vf_lit *l, size_t pos)
{
	const uint8_t *p = t->b->p;
	size_t n = t->b->n, z = pos + l->len, a = pos, label = 0;

	if (pos < t->net_covered || pos < t->host_done)
		return;
	if (z < n && (is_word(p[z]) || p[z] == '-' || p[z] == '/' || p[z] == '(' || p[z] == '@'))
		return;
	if (z + 1 < n && p[z] == '.' && is_alnum(p[z + 1]))
		return;
	while (a > 0 && pos - a < 253 && (is_alnum(p[a - 1]) || p[a - 1] == '-' || p[a - 1] == '.'))
		a--;
	while (a < pos && (p[a] == '.' || p[a] == '-'))
		a++;
	t->host_done = z;
	if (a == pos || (a > 0 && (cls[p[a - 1]] & CL_HOST_STOP)))
		return;
	for (size_t i = a; i < pos; i++) { /* labels: 1..63 bytes, no leading/trailing '-' */
		if (p[i] == '.') {
			if (label == 0 || p[i - 1] == '-')
				return;
			label = 0;
		} else if (++label > 63 || (label == 1 && p[i] == '-')) {
			return;
		}
	}
	if (label == 0 || p[pos - 1] == '-')
		return;
	if (!vf_net_host_is_local(&t->rs->set, (const char *)p + a, z - a))
		net_finding(t, VF_CHK_NET_HOST, a, z, p + a, z - a);
}

static void on_lit(void *arg, const vf_lit *l, size_t pos)
{
	tctx *t = arg;

	switch (l->kind) {
	case VF_LIT_RULE:
		on_rule(t, l, pos);
		break;
	case VF_LIT_UNLESS:
		on_unless(t, l, pos);
		break;
	case VF_LIT_URL:
		on_url(t, pos);
		break;
	case VF_LIT_IPV4:
		on_ipv4(t, pos);
		break;
	case VF_LIT_IPV6:
		on_ipv6(t, pos);
		break;
	case VF_LIT_HOST:
		on_host(t, l, pos);
		break;
	}
}

/* ---- settling ---- */

/* Where settling has got to: findings are located in increasing offset order, so newlines
 * are only ever counted once. */
typedef struct linepos {
	size_t pos;
	uint64_t line;	/* the line @pos is on */
	size_t line_at; /* where that line starts */
} linepos;

static void locate(const tctx *t, linepos *lp, size_t off, uint64_t *line, uint64_t *col)
{
	const uint8_t *p = t->b->p;

	if (t->binary) {
		*line = *col = 0;
		return;
	}
	if (off < lp->pos)
		*lp = (linepos){0, 1, 0};
	if (off > lp->pos) {
		size_t nls = vf_count_byte(p + lp->pos, off - lp->pos, '\n');
		if (nls) {
			const uint8_t *nl = memrchr(p + lp->pos, '\n', off - lp->pos);
			lp->line += nls;
			lp->line_at = (size_t)(nl - p) + 1;
		}
		lp->pos = off;
	}
	*line = lp->line;
	*col = off - lp->line_at + 1;
}

/* Whether net finding t->p[i] overlaps a claim (a non-network pending finding). Pendings are
 * sorted by start: claims before i overlap iff the furthest end among them (@claim_end) is
 * past q's start; after i, only those starting before q's end can. */
static bool overlaps_claim(const tctx *t, size_t i, size_t claim_end)
{
	const pend *q = &t->p[i];

	if (q->end <= q->start) { /* empty span (not made by the checks): the plain way */
		for (size_t j = 0; j < t->np; j++) {
			const pend *c = &t->p[j];
			if (!c->net && c->start < q->end && q->start < c->end)
				return true;
		}
		return false;
	}
	if (claim_end > q->start)
		return true;
	for (size_t j = i + 1; j < t->np && t->p[j].start < q->end; j++)
		if (!t->p[j].net && q->start < t->p[j].end)
			return true;
	return false;
}

static int pend_cmp(const void *a, const void *b)
{
	const pend *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* The severity @q is reported at: info in a comment, at most low in documentation and for a
 * manifest's metadata URLs (secrets excepted: a key ships wherever it is), else the rule's. */
static vf_severity rank(tctx *t, const pend *q)
{
	vf_severity sev = q->rule->sev;

	if (q->rule->redact || q->rule->key_body)
		return sev;
	if (!t->binary && vf_lexer_in_comment(&t->lx, t->b->p, t->b->n, q->start))
		return VF_SEV_INFO;
	if (sev > VF_SEV_LOW &&
	    (t->ft.doc || (q->net && vf_url_is_metadata(&t->ft, t->b->p, t->b->n, q->start))))
		return VF_SEV_LOW;
	return sev;
}

/* Reports (or holds) one pending finding, making its strings (on the stack unless a network
 * finding's message is long); false when out of memory. */
static bool settle_one(tctx *t, const pend *q, vf_severity sev, uint64_t line, uint64_t col)
{
	const uint8_t *p = t->b->p;
	char ev[EV_CAP], mbuf[512], *msg = NULL, *heap = NULL;

	if (q->redacted)
		redact(ev, p, q->start, q->end);
	else
		clip(ev, p, q->ev_a, q->ev_b);
	if (q->net) {
		size_t ml = strlen(q->rule->message) + q->host_n + 8;
		if (!(msg = ml <= sizeof(mbuf) ? mbuf : (heap = malloc(ml)))) {
			t->oom = true;
			return false;
		}
		snprintf(msg, ml, "%s: %.*s", q->rule->message, (int)q->host_n,
			 (const char *)p + q->host_a);
	}
	if (q->rule->unless.n && q->rule->unless_scope == VF_SCOPE_SCAN)
		vf_scan_hold(t->s, q->rule, sev, t->b, line, col, q->start, ev, msg);
	else
		vf_scan_emit_sev(t->s, q->rule, sev, t->b, line, col, q->start, ev, msg);
	free(heap);
	return true;
}

/* What the per-file cap left out: every finding was judged (ranked), at most
 * max_findings_per_file of each severity are listed. Past the cap at medium or above the
 * report is short of findings that fail the default gate: a scan.incomplete finding. Below
 * it (documentation full of links, commented-out examples) a note: the listed ones already
 * fail any gate that the unlisted ones would. */
static void settle_overflow(tctx *t, const uint64_t over[5], uint64_t max)
{
	char what[512];

	if (over[VF_SEV_MEDIUM] + over[VF_SEV_HIGH] + over[VF_SEV_CRITICAL]) {
		snprintf(what, sizeof(what),
			 "more than %llu findings in this file at one severity (medium or above): "
			 "the rest are not listed (raise settings.max_findings_per_file to see "
			 "them all)",
			 (unsigned long long)max);
		vf_scan_incomplete(t->s, t->b, 0, what);
	}
	for (int sev = VF_SEV_INFO; sev <= VF_SEV_LOW; sev++)
		if (over[sev]) {
			snprintf(what, sizeof(what),
				 "%llu more %s findings not listed (max_findings_per_file %llu)",
				 (unsigned long long)over[sev], vf_severity_name((vf_severity)sev),
				 (unsigned long long)max);
			vf_scan_note_at(t->s, t->b->path, what);
		}
}

static void settle(tctx *t)
{
	linepos lp = {0, 1, 0};
	uint64_t emitted[5] = {0}, over[5] = {0}, max = t->rs->set.max_findings_per_file;
	size_t claim_end = 0; /* furthest end of the claims before i */

	if (t->np > 1)
		qsort(t->p, t->np, sizeof(*t->p), pend_cmp);
	for (size_t i = 0; i < t->np; i++) {
		pend *q = &t->p[i];
		size_t ri = (size_t)(q->rule - t->rs->r);
		uint64_t line, col;
		vf_severity sev;
		bool covered = q->net && overlaps_claim(t, i, claim_end);
		if (!q->net && q->end > claim_end)
			claim_end = q->end;
		if (q->claim_only || covered)
			continue;
		if (q->rule->unless.n && t->unless_hit[ri])
			continue;
		sev = rank(t, q);
		if (emitted[sev] >= max) {
			over[sev]++;
			continue;
		}
		emitted[sev]++;
		locate(t, &lp, q->start, &line, &col);
		if (!settle_one(t, q, sev, line, col))
			return;
	}
	settle_overflow(t, over, max);
}

void vf_scan_text(vf_scan *s, const vf_buf *b, bool binary)
{
	const vf_rules *rs = s->rules;
	tctx t = {.s = s, .b = b, .rs = rs, .binary = binary};
	bool filtered = false;
	exai_error e;

	vf_ftype_of(b->base, b->path, b->p, b->n, &t.ft);
	vf_dup_rec_kind(b->path, b->base, &t.ft);
	vf_lexer_init(&t.lx, binary ? VF_LANG_NONE : t.ft.lang);
	t.applies = calloc(rs->n + 1, 1);
	t.unless_hit = calloc(rs->n + 1, 1);
	t.done_upto = calloc(rs->n + 1, sizeof(*t.done_upto));
	if (!t.applies || !t.unless_hit || !t.done_upto)
		goto oom;
	for (size_t i = 0; i < rs->n; i++) {
		const vf_rule *r = &rs->r[i];
		t.applies[i] = r->enabled && (!binary || r->binary) &&
			       (r->files.n == 0 || vf_files_match(&r->files, b->base, b->p, b->n));
		filtered |= t.applies[i] && r->files.n > 0;
	}
	vf_lits_scan(filtered ? rs->lits : rs->lits_plain, b->p, b->n, on_lit, &t);
	if (t.oom)
		goto oom;
	settle(&t);
	if (t.oom)
		goto oom;
	goto out;
oom:
	exai_error_set(&e, EXAI_ENOMEM, "%s: out of memory", b->path);
	vf_scan_fail(s, &e);
out:
	free(t.p);
	free(t.applies);
	free(t.unless_hit);
	free(t.done_upto);
}
