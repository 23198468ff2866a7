/*
 * report: the findings store of one verifier run (adding, sanitising, sorting, grouping, the
 * rules list). The formats live one per file (report_text.c, report_json.c, report_sarif.c,
 * report_junit.c) and report_write.c picks one and writes it.
 *
 * A report owns sanitised copies of everything added to it: strings never contain control
 * characters or invalid UTF-8 (they are rewritten as "\xNN"), so JSON, XML and terminal output
 * are always well-formed whatever the scanned input was. Adding is thread-safe; writing is not
 * (call it once the producers are done). Findings keep insertion order unless vf_report_sort()
 * is called. Rules named by findings but never declared are still listed (with the severity of
 * their first finding) so JUnit and SARIF always cover every rule that fired.
 */
#include "report_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *vf_severity_name(vf_severity s)
{
	return (unsigned)s <= VF_SEV_CRITICAL ? sev_names[s] : "unknown";
}

bool vf_severity_parse(const char *s, vf_severity *out)
{
	for (unsigned i = 0; s && i <= VF_SEV_CRITICAL; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (vf_severity)i;
			return true;
		}
	return false;
}

bool vf_format_parse(const char *s, vf_format *out)
{
	static const char *const names[] = {"text", "json", "junit", "sarif"};

	for (unsigned i = 0; s && i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (vf_format)i;
			return true;
		}
	return false;
}

size_t vf_utf8_seq(const unsigned char *s, unsigned *cp_out)
{
	unsigned c = s[0], cp, n;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	cp = c & (0x7f >> n);
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_out = cp;
	return n;
}

/* Length of the valid, printable UTF-8 sequence at @s (1..4), or 0 if the byte must be
 * escaped (ASCII control, DEL, C1 control, overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_ok(const unsigned char *s)
{
	unsigned cp = 0;
	size_t n;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	n = vf_utf8_seq(s, &cp);
	return n && !(cp >= 0x80 && cp <= 0x9f) ? n : 0;
}

/* Length of the run of printable ASCII at @p (none of it changes): most of a report's
 * bytes, taken without utf8_ok's per-byte call. */
static size_t ascii_run(const unsigned char *p)
{
	const unsigned char *s = p;

	while (*s >= 0x20 && *s < 0x7f)
		s++;
	return (size_t)(s - p);
}

/* Size of @s once sanitised (without the NUL): invalid UTF-8 and control bytes become \xNN. */
static size_t sanitized_len(const unsigned char *p)
{
	size_t o = 0;

	for (;;) {
		size_t a = ascii_run(p), k;
		o += a;
		p += a;
		if (!*p)
			return o;
		k = utf8_ok(p);
		o += k ? k : 4;
		p += k ? k : 1;
	}
}

/* Writes @p sanitised (sanitized_len(p) + 1 bytes, the NUL included) to @out. */
static void sanitize_to(char *out, const unsigned char *p)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (;;) {
		size_t a = ascii_run(p), k;
		memcpy(out + o, p, a);
		o += a;
		p += a;
		if (!*p)
			break;
		k = utf8_ok(p);
		if (k) {
			memcpy(out + o, p, k);
			o += k;
			p += k;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
			p++;
		}
	}
	out[o] = '\0';
}

/* A sanitised malloc'ed copy of @s; NULL for NULL or on allocation failure (*oom set). */
static char *sanitize(const char *s, bool *oom)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out;

	if (!s)
		return NULL;
	/* Exactly sized: reports hold hundreds of thousands of these strings. */
	out = malloc(sanitized_len(p) + 1);
	if (!out) {
		*oom = true;
		return NULL;
	}
	sanitize_to(out, p);
	return out;
}

/* The rule id, evidence, message and hint of a finding, sanitised, in one allocation that
 * starts with the rule id (finding_free frees it through rule_id): the report holds tens of
 * thousands of findings, and four allocations and frees each showed. NULL on OOM. */
static char *sanitize_strings(const vf_finding *f, vf_finding *c)
{
	const char *in[4] = {f->rule_id, f->evidence, f->message ? f->message : "", f->hint};
	const char **out[4] = {&c->rule_id, &c->evidence, &c->message, &c->hint};
	size_t len[4], total = 0;
	char *blk, *at;

	for (int i = 0; i < 4; i++) {
		len[i] = in[i] ? sanitized_len((const unsigned char *)in[i]) + 1 : 0;
		total += len[i];
	}
	if (!(at = blk = malloc(total)))
		return NULL;
	for (int i = 0; i < 4; i++) {
		*out[i] = in[i] ? at : NULL;
		if (in[i])
			sanitize_to(at, (const unsigned char *)in[i]);
		at += len[i];
	}
	return blk;
}

vf_report *vf_report_new(const char *mode)
{
	vf_report *r = calloc(1, sizeof(*r));
	bool oom = false;

	if (!r)
		return NULL;
	r->mode = sanitize(mode ? mode : "scan", &oom);
	if (oom || pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->mode);
		free(r);
		return NULL;
	}
	r->fail_on = VF_SEV_INFO;
	r->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->mono0);
	return r;
}

static void finding_free(vf_finding *f)
{
	for (size_t i = 0; i < f->nlocs; i++)
		free((char *)f->locs[i].path);
	free((vf_loc *)f->locs);
	for (size_t i = 0; i < f->nprocs; i++)
		free((char *)f->procs[i].comm);
	free((vf_proc *)f->procs);
	free((char *)f->rule_id); /* and evidence, message, hint: one block (sanitize_strings) */
	free((char *)f->path);
	free((char *)f->suppress_reason);
}

void vf_report_free(vf_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nf; i++)
		finding_free(&r->f[i]);
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	for (size_t i = 0; i < r->nrules; i++) {
		free(r->rules[i].id);
		free(r->rules[i].desc);
	}
	free(r->f);
	free(r->notes);
	free(r->rules);
	free(r->mode);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Sanitised copies of @f's processes into @c; false on allocation failure (what was copied
 * is in @c, for finding_free). */
static bool copy_procs(vf_finding *c, const vf_finding *f)
{
	vf_proc *p = calloc(f->nprocs, sizeof(*p));
	bool oom = false;

	if (!p)
		return false;
	c->procs = p;
	for (size_t i = 0; i < f->nprocs && !oom; i++) {
		p[i] = f->procs[i];
		p[i].comm = sanitize(f->procs[i].comm ? f->procs[i].comm : "", &oom);
		c->nprocs = i + 1;
	}
	return !oom;
}

exai_status vf_report_add(vf_report *r, const vf_finding *f, exai_error *e)
{
	vf_finding c = *f;
	bool oom = false;
	exai_status rc = EXAI_OK;

	if (!f->rule_id || (unsigned)f->severity > VF_SEV_CRITICAL)
		return exai_error_set(e, EXAI_EINVAL, "report: finding without a rule or severity");
	c.path = sanitize(f->path, &oom);
	c.suppress_reason = sanitize(f->suppress_reason, &oom);
	if (!sanitize_strings(f, &c)) {
		c.rule_id = NULL; /* nothing of the block to free */
		oom = true;
	}
	c.count = 0;
	c.locs = NULL;
	c.nlocs = 0;
	c.procs = NULL;
	c.nprocs = 0;
	if (!oom && f->nprocs)
		oom = !copy_procs(&c, f);
	if (oom) {
		finding_free(&c);
		return exai_error_set(e, EXAI_ENOMEM, "report: out of memory");
	}
	pthread_mutex_lock(&r->lock);
	/* No cap of its own: the modes bound what they add (scan: findings per file, held
	 * findings); memory and size arithmetic are still checked. */
	if (!(rc = EXAI_GROW(&r->f, &r->capf, r->nf, 1, EXAI_GROW_NOCAP, NULL)))
		r->f[r->nf++] = c;
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		finding_free(&c);
		return exai_error_set(e, rc,
				      rc == EXAI_ENOMEM ? "report: out of memory"
							: "report: too many entries");
	}
	return EXAI_OK;
}

exai_status vf_report_note(vf_report *r, const char *note, exai_error *e)
{
	bool oom = false;
	char *c = sanitize(note ? note : "", &oom);
	exai_status rc = EXAI_OK;

	if (oom)
		return exai_error_set(e, EXAI_ENOMEM, "report: out of memory");
	pthread_mutex_lock(&r->lock);
	if (!(rc = EXAI_GROW(&r->notes, &r->capnotes, r->nnotes, 1, EXAI_GROW_NOCAP, NULL)))
		r->notes[r->nnotes++] = c;
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		free(c);
		return exai_error_set(e, rc,
				      rc == EXAI_ENOMEM ? "report: out of memory"
							: "report: too many entries");
	}
	return EXAI_OK;
}

exai_status vf_report_rule(vf_report *r, const char *rule_id, vf_severity sev,
			   const char *description, exai_error *e)
{
	bool oom = false;
	rule_decl d = {0};
	exai_status rc = EXAI_OK;

	if (!rule_id || (unsigned)sev > VF_SEV_CRITICAL)
		return exai_error_set(e, EXAI_EINVAL, "report: rule without an id or severity");
	d.id = sanitize(rule_id, &oom);
	d.desc = sanitize(description ? description : rule_id, &oom);
	d.sev = sev;
	if (oom) {
		free(d.id);
		free(d.desc);
		return exai_error_set(e, EXAI_ENOMEM, "report: out of memory");
	}
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].id, d.id) == 0) {
			/* A redeclaration updates the rule (a user rules file overriding). */
			free(r->rules[i].desc);
			r->rules[i].desc = d.desc;
			r->rules[i].sev = sev;
			free(d.id);
			pthread_mutex_unlock(&r->lock);
			return EXAI_OK;
		}
	if (!(rc = EXAI_GROW(&r->rules, &r->caprules, r->nrules, 1, EXAI_GROW_NOCAP, NULL)))
		r->rules[r->nrules++] = d;
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		free(d.id);
		free(d.desc);
		return exai_error_set(e, rc,
				      rc == EXAI_ENOMEM ? "report: out of memory"
							: "report: too many entries");
	}
	return EXAI_OK;
}

void vf_report_set_started(vf_report *r, time_t t)
{
	r->started = t;
}

void vf_report_procs_write(const vf_finding *f, FILE *out, void (*put)(const char *s, FILE *out))
{
	char num[80];

	if (!f->nprocs && !f->procs_more)
		put("none reported", out);
	for (size_t i = 0; i < f->nprocs; i++) {
		if (f->procs[i].pid)
			snprintf(num, sizeof(num), "%spid %u (host %u) ", i ? ", " : "",
				 f->procs[i].pid, f->procs[i].host_pid);
		else
			snprintf(num, sizeof(num), "%spid ? (host %u) ", i ? ", " : "",
				 f->procs[i].host_pid);
		put(num, out);
		put(f->procs[i].comm, out);
	}
	if (f->procs_more) {
		snprintf(num, sizeof(num), "%sand %llu more", f->nprocs ? ", " : "",
			 (unsigned long long)f->procs_more);
		put(num, out);
	}
}

uint64_t vf_report_finding_count(const vf_finding *f)
{
	return f->count > 1 ? f->count : 1;
}

void vf_report_set_fail_on(vf_report *r, vf_severity sev)
{
	r->fail_on = sev;
}

size_t vf_report_size(const vf_report *r)
{
	return r->nf;
}

const vf_finding *vf_report_get(const vf_report *r, size_t i)
{
	return i < r->nf ? &r->f[i] : NULL;
}

size_t vf_report_count(const vf_report *r, vf_severity at_least)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nf; i++)
		if (!r->f[i].suppressed && r->f[i].severity >= at_least)
			n++;
	return n;
}

exai_status vf_report_suppress(vf_report *r, size_t i, const char *reason, exai_error *e)
{
	bool oom = false;
	char *c;

	if (i >= r->nf)
		return exai_error_set(e, EXAI_EINVAL, "report: no finding %zu", i);
	c = sanitize(reason ? reason : "", &oom);
	if (oom)
		return exai_error_set(e, EXAI_ENOMEM, "report: out of memory");
	free((char *)r->f[i].suppress_reason);
	r->f[i].suppress_reason = c;
	r->f[i].suppressed = true;
	return EXAI_OK;
}

size_t vf_report_count_suppressed(const vf_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nf; i++)
		n += r->f[i].suppressed;
	return n;
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int finding_cmp(const void *pa, const void *pb)
{
	const vf_finding *a = pa, *b = pb;
	int c;

	if ((c = strcmp_null(a->path, b->path)) || (c = cmp_u64(a->line, b->line)) ||
	    (c = cmp_u64(a->column, b->column)) || (c = cmp_u64(a->offset, b->offset)) ||
	    (c = strcmp(a->rule_id, b->rule_id)) || (c = strcmp_null(a->evidence, b->evidence)))
		return c;
	return strcmp_null(a->message, b->message);
}

/* A scan sorts its report up to three times (for the baseline, before grouping, after it),
 * and the second finds it sorted: one pass of n - 1 comparisons then replaces qsort's
 * n log n. The order is the same either way (glibc's qsort merge-sorts, which keeps equal
 * findings in place, as skipping it does). */
static int note_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vf_report_sort(vf_report *r)
{
	size_t i = 1;

	/* Notes come from the workers in the order they finish: sorted, the same tree gives
	 * the same report byte for byte. */
	if (r->nnotes > 1)
		qsort(r->notes, r->nnotes, sizeof(*r->notes), note_cmp);

	while (i < r->nf && finding_cmp(&r->f[i - 1], &r->f[i]) <= 0)
		i++;
	if (i < r->nf)
		qsort(r->f, r->nf, sizeof(*r->f), finding_cmp);
}

/* ---- grouping identical evidence ---- */

typedef struct gitem {
	size_t i;
	const char *key;
	bool dup;
} gitem;

static int group_cmp3(const vf_report *r, const gitem *a, const gitem *b)
{
	const vf_finding *x = &r->f[a->i], *y = &r->f[b->i];
	int c;

	/* Not the severity: a copy ranked down by context (a source map, a doc) joins the
	 * group of the same evidence, which takes the highest severity of its members. */
	if ((c = strcmp_null(a->key, b->key)) || (c = strcmp(x->rule_id, y->rule_id)) ||
	    (c = strcmp_null(x->evidence, y->evidence)) ||
	    (c = strcmp_null(x->message, y->message)) ||
	    (c = (int)x->suppressed - (int)y->suppressed) ||
	    (c = strcmp_null(x->suppress_reason, y->suppress_reason)) ||
	    (c = (int)x->logical - (int)y->logical) || (c = (x->path == NULL) - (y->path == NULL)))
		return c;
	return 0;
}

static int group_cmp(const void *pa, const void *pb, void *ctx)
{
	const gitem *a = pa, *b = pb;
	const vf_report *r = ctx;
	int c = group_cmp3(ctx, a, b);

	/* Within a group: the most severe first (it represents the group), then sources
	 * before source maps and minified copies, then in the order found. */
	if (c || (c = (int)r->f[b->i].severity - (int)r->f[a->i].severity) ||
	    (c = (int)a->dup - (int)b->dup))
		return c;
	return (a->i > b->i) - (a->i < b->i);
}

exai_status vf_report_group(vf_report *r, size_t max_locs,
			    const char *(*key_of)(const char *path, void *ctx),
			    bool (*is_dup)(const char *path, void *ctx), void *ctx, exai_error *e)
{
	gitem *g = NULL;
	vf_finding *nf = NULL;
	vf_loc **locs = NULL;
	size_t n = 0, k;
	exai_status rc = EXAI_OK;

	if (r->nf < 2)
		return EXAI_OK;
	if (max_locs < 1)
		max_locs = 1;
	vf_report_sort(r);
	g = calloc(r->nf, sizeof(*g));
	nf = calloc(r->nf, sizeof(*nf));
	locs = calloc(r->nf, sizeof(*locs));
	if (!g || !nf || !locs)
		goto oom;
	for (size_t i = 0; i < r->nf; i++) {
		const char *p = r->f[i].path;
		g[i] =
		    (gitem){i, key_of && p ? key_of(p, ctx) : NULL, is_dup && p && is_dup(p, ctx)};
	}
	qsort_r(g, r->nf, sizeof(*g), group_cmp, r);
	/* First pass: allocate every run's location array, so a failure changes nothing. */
	for (size_t a = 0; a < r->nf; a = k) {
		size_t extra;
		for (k = a + 1; k < r->nf && group_cmp3(r, &g[a], &g[k]) == 0; k++)
			;
		extra = k - a - 1 < max_locs - 1 ? k - a - 1 : max_locs - 1;
		if (extra && !(locs[n] = calloc(extra, sizeof(**locs))))
			goto oom;
		n++;
	}
	n = 0;
	for (size_t a = 0; a < r->nf; a = k) {
		vf_finding *rep = &r->f[g[a].i];
		for (k = a + 1; k < r->nf && group_cmp3(r, &g[a], &g[k]) == 0; k++)
			;
		nf[n] = *rep;
		nf[n].count = k - a;
		nf[n].locs = locs[n];
		nf[n].nlocs = 0;
		for (size_t j = a + 1; j < k; j++) {
			vf_finding *o = &r->f[g[j].i];
			if (nf[n].nlocs < max_locs - 1) {
				locs[n][nf[n].nlocs++] =
				    (vf_loc){o->path, o->line, o->column, o->offset};
				o->path = NULL; /* moved */
			}
			finding_free(o);
		}
		if (nf[n].count == 1)
			nf[n].count = 0;
		n++;
	}
	free(r->f);
	r->f = nf;
	r->nf = n;
	r->capf = r->nf;
	nf = NULL;
	vf_report_sort(r);
	goto out;
oom:
	for (size_t i = 0; locs && i < r->nf; i++)
		free(locs[i]);
	rc = exai_error_set(e, EXAI_ENOMEM, "report: out of memory grouping findings");
out:
	free(g);
	free(nf);
	free(locs);
	return rc;
}

/* ---- the rule table every format shares ---- */

static int rule_view_cmp(const void *pa, const void *pb)
{
	return strcmp(((const rule_view *)pa)->id, ((const rule_view *)pb)->id);
}

bool vf_report_fails(const vf_report *r, const vf_finding *f)
{
	return !f->suppressed && f->severity >= r->fail_on;
}

/* Declared rules plus undeclared ones that findings name, sorted by id, deduplicated, with
 * counts. Returns NULL on OOM (or an empty table when there is nothing: *n = 0). */
rule_view *vf_report_rule_table(const vf_report *r, size_t *n_out)
{
	size_t cap = r->nrules + r->nf + 1, n = 0, m = 0;
	rule_view *t = calloc(cap, sizeof(*t));

	*n_out = 0;
	if (!t)
		return NULL;
	for (size_t i = 0; i < r->nrules; i++)
		t[n++] = (rule_view){r->rules[i].id, r->rules[i].sev, r->rules[i].desc, 0, 0};
	/* Declared rules first so a stable merge keeps their severity and description. */
	for (size_t i = 0; i < r->nf; i++)
		t[n++] = (rule_view){r->f[i].rule_id, r->f[i].severity, NULL, 0, 0};
	for (size_t i = 0; i < n; i++)
		t[i].fails = i; /* original position as a tie-break */
	qsort(t, n, sizeof(*t), rule_view_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && strcmp(t[m - 1].id, t[i].id) == 0) {
			if (t[i].fails < t[m - 1].fails) {
				t[m - 1].sev = t[i].sev;
				t[m - 1].fails = t[i].fails;
				if (t[i].desc)
					t[m - 1].desc = t[i].desc;
			} else if (!t[m - 1].desc && t[i].desc) {
				t[m - 1].desc = t[i].desc;
			}
			continue;
		}
		t[m++] = t[i];
	}
	for (size_t i = 0; i < m; i++) {
		t[i].fails = t[i].others = 0;
		if (!t[i].desc)
			t[i].desc = t[i].id;
	}
	for (size_t i = 0; i < r->nf; i++) {
		rule_view key = {.id = r->f[i].rule_id};
		rule_view *v = bsearch(&key, t, m, sizeof(*t), rule_view_cmp);
		if (v && vf_report_fails(r, &r->f[i]))
			v->fails++;
		else if (v)
			v->others++;
	}
	*n_out = m;
	return t;
}

size_t vf_report_rule_index(const rule_view *t, size_t n, const char *id)
{
	rule_view key = {.id = id};
	const rule_view *v = bsearch(&key, t, n, sizeof(*t), rule_view_cmp);

	return v ? (size_t)(v - t) : 0;
}
