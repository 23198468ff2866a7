/*
 * verifier_regex: the pattern rules' regex engine and the literal prefilter, measured apart
 * (bench/verifier_regex.sh).
 *
 * For every file given, the scan's literal prefilter runs with the shipped rules, and at each
 * trigger of a rule with a regex the window scan_text.c would hand regexec (the line around the
 * trigger, at most 1 KiB either side, once per rule and line) is matched, all matches in
 * turn, by POSIX regexec (what the scan uses) and by PCRE2 with its JIT on the same pattern.
 * Prints the windows and bytes matched, each engine's total time, and the windows where the
 * two engines found different match spans (POSIX takes the leftmost-longest match, PCRE2 the
 * leftmost-first: a rule whose alternatives can match at one start may differ).
 *
 * Built with -DVF_HYPERSCAN (and -lhs), it also times the prefilter alone on the same files:
 * vf_lits_scan (the hand-written vector prefilter) against Hyperscan's literal matcher
 * (hs_compile_lit_multi, every literal, caseless where the rule is) finding every occurrence,
 * and prints how many occurrences each reported.
 *
 *   verifier_regex [-n ROUNDS] RULES.yaml FILE...   (FILE "-": paths from stdin, one a line)
 *
 * With -n, every file is matched ROUNDS times over (the times and counts are the sums), so
 * that the totals are long enough to time.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan_lit_impl.h"
#include "scan_rules.h"
#ifdef VF_HYPERSCAN
#include <hs/hs.h>
#endif

#define WINDOW 1024
#define SPANS  64

typedef struct run {
	const vf_rules *rs;
	pcre2_code **pc;
	pcre2_match_data *md;
	size_t *done_upto;
	const uint8_t *p;
	size_t n;
	double t_posix, t_pcre;
	unsigned long windows, bytes, differ, matched;
	double t_lits, t_hs;
	unsigned long n_lits, n_hs, scanned;
	unsigned rounds;
} run;

static void count_lit(void *arg, const vf_lit *l, size_t pos)
{
	(void)l;
	(void)pos;
	++*(unsigned long *)arg;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Every match in win[0..wl), as scan_text.c's loop walks them: spans into @sp. */
static size_t posix_all(const regex_t *re, const char *win, size_t wl, size_t sp[][2])
{
	size_t ns = 0;

	for (size_t from = 0; from < wl;) {
		regmatch_t m[10] = {{.rm_so = (regoff_t)from, .rm_eo = (regoff_t)wl}};
		if (regexec(re, win, 10, m, REG_STARTEND) != 0)
			break;
		if (m[0].rm_eo <= m[0].rm_so) {
			from = (size_t)m[0].rm_so + 1;
			continue;
		}
		if (ns < SPANS) {
			sp[ns][0] = (size_t)m[0].rm_so;
			sp[ns][1] = (size_t)m[0].rm_eo;
		}
		ns++;
		from = (size_t)m[0].rm_eo;
	}
	return ns;
}

static size_t pcre_all(pcre2_code *pc, pcre2_match_data *md, const char *win, size_t wl,
		       size_t sp[][2])
{
	size_t ns = 0;

	for (size_t from = 0; from < wl;) {
		PCRE2_SIZE *ov;
		if (pcre2_jit_match(pc, (PCRE2_SPTR)win, wl, from, 0, md, NULL) < 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		if (ov[1] <= ov[0]) {
			from = ov[0] + 1;
			continue;
		}
		if (ns < SPANS) {
			sp[ns][0] = ov[0];
			sp[ns][1] = ov[1];
		}
		ns++;
		from = ov[1];
	}
	return ns;
}

static void on_lit(void *arg, const vf_lit *l, size_t pos)
{
	run *r = arg;
	const vf_rule *rule = &r->rs->r[l->rule];
	const uint8_t *lo, *nl, *hi;
	size_t ls, le, from0, wl, a[SPANS][2], b[SPANS][2], na, nb;
	char win[2 * WINDOW + 2];
	double t0, t1, t2;

	if (l->kind != VF_LIT_RULE || !rule->has_re || !r->pc[l->rule] ||
	    pos < r->done_upto[l->rule])
		return;
	lo = pos > WINDOW ? r->p + pos - WINDOW : r->p;
	nl = pos ? memrchr(lo, '\n', (size_t)(r->p + pos - lo)) : NULL;
	hi = memchr(r->p + pos, '\n', r->n - pos < WINDOW ? r->n - pos : WINDOW);
	ls = nl ? (size_t)(nl - r->p) + 1 : (size_t)(lo - r->p);
	le = hi ? (size_t)(hi - r->p) : (r->n - pos < WINDOW ? r->n : pos + WINDOW);
	from0 = ls > r->done_upto[l->rule] ? ls : r->done_upto[l->rule];
	wl = le > from0 ? le - from0 : 0;
	memcpy(win, r->p + from0, wl);
	win[wl] = '\0';
	t0 = now();
	na = posix_all(&rule->re, win, wl, a);
	t1 = now();
	nb = pcre_all(r->pc[l->rule], r->md, win, wl, b);
	t2 = now();
	r->t_posix += t1 - t0;
	r->t_pcre += t2 - t1;
	r->windows++;
	r->matched += na > 0;
	r->bytes += wl;
	if (na != nb || memcmp(a, b, (na < SPANS ? na : SPANS) * sizeof(a[0])) != 0)
		r->differ++;
	r->done_upto[l->rule] = le;
}

#ifdef VF_HYPERSCAN
static hs_database_t *hs_db;
static hs_scratch_t *hs_scr;

static int on_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		 void *arg)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	++*(unsigned long *)arg;
	return 0;
}

/* Every literal of the plain prefilter as one Hyperscan literal database. */
static void hs_build(const vf_lits *l)
{
	const char **ex = calloc(l->n, sizeof(*ex));
	unsigned *fl = calloc(l->n, sizeof(*fl)), *ids = calloc(l->n, sizeof(*ids));
	size_t *len = calloc(l->n, sizeof(*len));
	hs_compile_error_t *err = NULL;

	for (size_t i = 0; i < l->n; i++) {
		ex[i] = l->lit[i].s;
		len[i] = l->lit[i].len;
		fl[i] = l->lit[i].icase ? HS_FLAG_CASELESS : 0;
		ids[i] = (unsigned)i;
	}
	if (hs_compile_lit_multi(ex, fl, ids, len, (unsigned)l->n, HS_MODE_BLOCK, NULL, &hs_db,
				 &err) != HS_SUCCESS ||
	    hs_alloc_scratch(hs_db, &hs_scr) != HS_SUCCESS) {
		fprintf(stderr, "verifier_regex: hyperscan: %s\n", err ? err->message : "?");
		exit(2);
	}
	free(ex);
	free(fl);
	free(ids);
	free(len);
}
#endif

/* The prefilter alone over p[0..n), timed: the hand-written one, and Hyperscan's. */
static void prefilter(run *r, const vf_rules *rs, const uint8_t *p, size_t n)
{
	double t0 = now(), t1;

	vf_lits_scan(rs->lits_plain, p, n, count_lit, &r->n_lits);
	t1 = now();
	r->t_lits += t1 - t0;
	r->scanned += n;
#ifdef VF_HYPERSCAN
	if (!hs_db)
		hs_build(rs->lits_plain);
	t0 = now();
	hs_scan(hs_db, (const char *)p, (unsigned)n, 0, hs_scr, on_hs, &r->n_hs);
	r->t_hs += now() - t0;
#endif
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
		*n = (size_t)len;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void scan_file(run *r, const vf_rules *rs, const char *path)
{
	size_t n = 0;
	uint8_t *p = slurp(path, &n);

	if (!p)
		return;
	r->p = p;
	r->n = n;
	for (unsigned k = 0; k < r->rounds; k++) {
		memset(r->done_upto, 0, (rs->n + 1) * sizeof(*r->done_upto));
		vf_lits_scan(rs->lits_plain, p, n, on_lit, r);
		prefilter(r, rs, p, n);
	}
	free(p);
}

int main(int argc, char **argv)
{
	vf_rules rs = {0};
	run r = {.rs = &rs, .rounds = 1};
	exai_error e;
	size_t nre = 0, bad = 0;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		r.rounds = (unsigned)strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc < 3 || r.rounds == 0) {
		fprintf(stderr, "usage: verifier_regex [-n ROUNDS] RULES.yaml FILE...\n");
		return 2;
	}
	if (vf_rules_load(&rs, argv[1], &e) || vf_rules_finish(&rs, &e)) {
		fprintf(stderr, "verifier_regex: %s\n", e.msg);
		return 2;
	}
	r.pc = calloc(rs.n + 1, sizeof(*r.pc));
	r.done_upto = calloc(rs.n + 1, sizeof(*r.done_upto));
	r.md = pcre2_match_data_create(10, NULL);
	for (size_t i = 0; i < rs.n; i++) {
		int err;
		PCRE2_SIZE off;
		if (!rs.r[i].has_re)
			continue;
		r.pc[i] = pcre2_compile((PCRE2_SPTR)rs.r[i].regex_src, PCRE2_ZERO_TERMINATED,
					rs.r[i].icase ? PCRE2_CASELESS : 0, &err, &off, NULL);
		if (!r.pc[i] || pcre2_jit_compile(r.pc[i], PCRE2_JIT_COMPLETE) != 0) {
			fprintf(stderr, "verifier_regex: rule %s: PCRE2 refuses /%s/\n", rs.r[i].id,
				rs.r[i].regex_src);
			bad++;
			continue;
		}
		nre++;
	}
	for (int i = 2; i < argc; i++) {
		char line[8192];
		bool from_stdin = !strcmp(argv[i], "-");
		while (!from_stdin || fgets(line, sizeof(line), stdin)) {
			if (from_stdin)
				line[strcspn(line, "\n")] = '\0';
			scan_file(&r, &rs, from_stdin ? line : argv[i]);
			if (!from_stdin)
				break;
		}
	}
	printf("rules with a regex: %zu (PCRE2 refused %zu); windows %lu, %lu bytes, %lu with a "
	       "match\n",
	       nre, bad, r.windows, r.bytes, r.matched);
	printf("POSIX regexec: %.4f s; PCRE2 JIT: %.4f s; windows with other spans: %lu\n",
	       r.t_posix, r.t_pcre, r.differ);
	printf("prefilter over %lu bytes: vf_lits_scan %.4f s (%lu occurrences)", r.scanned,
	       r.t_lits, r.n_lits);
#ifdef VF_HYPERSCAN
	printf("; Hyperscan %.4f s (%lu occurrences)", r.t_hs, r.n_hs);
#endif
	printf("\n");
	return 0;
}
