/* Check suite for the prefilter plans made at build time (scan_lit_gen, vf_lits_use_plans):
 * the shipped rules' tables built from their plans are byte for byte the tables planning
 * makes, and find the same occurrences; a plan for other literals, or one that does not cover
 * every literal's window, is not taken. Also: a rule's regex compiled at load is compiled
 * again when an override changes its case flag. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_k8s.h"
#include "scan_lit_impl.h"
#include "scan_rules.h"
#include "testutil.h"

/* Every field of a table that the scanner reads, compared. */
static void tables_equal(const vf_lits *a, const vf_lits *b)
{
	ck_assert_uint_eq(a->n, b->n);
	ck_assert_uint_eq(a->nsets, b->nsets);
	ck_assert_uint_eq(a->max_anchor, b->max_anchor);
	ck_assert_int_eq(a->all_ascii, b->all_ascii);
	ck_assert(!memcmp(a->bits, b->bits, sizeof(a->bits)));
	ck_assert(!memcmp(a->nib, b->nib, sizeof(a->nib)));
	ck_assert(!memcmp(a->ascii, b->ascii, sizeof(a->ascii)));
	ck_assert(!memcmp(a->any2, b->any2, sizeof(a->any2)));
	ck_assert(!memcmp(a->start, b->start, sizeof(a->start)));
	for (uint32_t i = 0; i < a->start[VF_LIT_NBIGRAMS]; i++) {
		const vf_lit_ent *x = &a->ent[i], *y = &b->ent[i];
		ck_assert(x->head == y->head && x->fold == y->fold && x->mask == y->mask);
		ck_assert(x->lit == y->lit && x->anchor == y->anchor && x->len == y->len);
	}
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->lit[i].anchor, b->lit[i].anchor);
		ck_assert_uint_eq(a->lit[i].len, b->lit[i].len);
		ck_assert(!memcmp(a->lit[i].s, b->lit[i].s, a->lit[i].len));
	}
}

typedef struct hits {
	size_t n;
	uint64_t sum;	/* of (literal index + 1) * (position + 1): order-independent enough */
	uint64_t order; /* a hash of the sequence */
} hits;

static void on_hit(void *arg, const vf_lit *l, size_t pos)
{
	hits *h = arg;
	uint64_t v = (uint64_t)(l->rule + 1) * 1000003u + pos;

	h->n++;
	h->sum += v;
	h->order = (h->order ^ v) * 1099511628211ull;
}

/* The occurrences in a text that holds many of the shipped rules' literals. */
static hits scan_sample(const vf_lits *l)
{
	static const char text[] =
	    "curl https://ingest.sentry.io/api 10.0.0.1 ::1 example.com wget http://x.io\n"
	    "import newrelic; @sentry/node applicationinsights.azure.com AKIA0123 password=\n"
	    "image: docker.io/library/nginx:latest hostNetwork: true type: LoadBalancer\n";
	hits h = {0};

	ck_assert(vf_lits_scan(l, (const uint8_t *)text, sizeof(text) - 1, on_hit, &h));
	return h;
}

static vf_rules *load_rules(vf_rules *rs)
{
	exai_error e;
	char path[4096];

	memset(rs, 0, sizeof(*rs));
	snprintf(path, sizeof(path), "%s/verifier/rules/default.yaml", getenv("EXAI_SRC"));
	ck_assert_msg(vf_rules_load(rs, path, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_msg(vf_rules_finish(rs, &e) == EXAI_OK, "%s", e.msg);
	return rs;
}

static vf_lits *hard_words(void)
{
	vf_lits *l = NULL;
	size_t n = 0;
	exai_error e;

	while (vf_k8s_hard_words[n])
		n++;
	ck_assert_msg(vf_lits_build_raw((const char *const *)vf_k8s_hard_words, NULL, n, &l, &e) ==
			  EXAI_OK,
		      "%s", e.msg);
	return l;
}

/* Fails when the generated plans are stale (not taken) or give another table. */
START_TEST(shipped_plans_give_the_planned_tables)
{
	vf_rules eager, planned;
	vf_lits *he, *hp;
	hits a, b;

	vf_lits_use_plans(NULL, 0);
	load_rules(&eager);
	he = hard_words();
	vf_lits_use_plans(vf_lits_shipped_plans, vf_lits_shipped_nplans);
	load_rules(&planned);
	hp = hard_words();
	ck_assert_uint_eq(vf_lits_shipped_nplans, 3);
	ck_assert(!eager.lits->from_plan && !eager.lits_plain->from_plan && !he->from_plan);
	ck_assert(planned.lits->from_plan && planned.lits_plain->from_plan && hp->from_plan);
	tables_equal(eager.lits, planned.lits);
	tables_equal(eager.lits_plain, planned.lits_plain);
	tables_equal(he, hp);
	a = scan_sample(eager.lits);
	b = scan_sample(planned.lits);
	ck_assert_uint_gt(a.n, 10);
	ck_assert(a.n == b.n && a.sum == b.sum && a.order == b.order);
	vf_lits_free(he);
	vf_lits_free(hp);
	vf_rules_free(&eager);
	vf_rules_free(&planned);
	vf_lits_use_plans(NULL, 0);
}
END_TEST

/* Other literals than a plan's (one changed, one more): planned, not taken from it. */
START_TEST(plan_for_other_literals_is_not_taken)
{
	const char *lits[] = {"hostNetwork", "LoadBalancer", "ExternalName"};
	vf_lit_plan_lit pl[3];
	vf_lit_plan p;
	const vf_lit_plan *pp = &p;
	vf_lits *ref = NULL, *l = NULL;
	exai_error e;

	vf_lits_use_plans(NULL, 0);
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &ref, &e) == EXAI_OK);
	for (size_t i = 0; i < 3; i++)
		pl[i] = (vf_lit_plan_lit){.s = lits[i], .anchor = (uint8_t)ref->lit[i].anchor};
	p = (vf_lit_plan){pl, 3, ref->grp, ref->ngrp, ref->nsets};
	vf_lits_use_plans(&pp, 1);
	/* the plan's own literals: taken */
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(l->from_plan);
	tables_equal(ref, l);
	vf_lits_free(l);
	/* one byte different */
	pl[1].s = "LoadBalanceR";
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	tables_equal(ref, l);
	vf_lits_free(l);
	/* the same bytes, another case rule */
	pl[1].s = lits[1];
	pl[1].icase = 1;
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	vf_lits_free(l);
	/* fewer literals in the table */
	pl[1].icase = 0;
	ck_assert(vf_lits_build_raw(lits, NULL, 2, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	vf_lits_free(l);
	vf_lits_free(ref);
	vf_lits_use_plans(NULL, 0);
}
END_TEST

/* A plan for the right literals that would lose occurrences: refused, the table planned. */
START_TEST(unsound_plan_is_refused)
{
	const char *lits[] = {"hostNetwork", "LoadBalancer", "ExternalName"};
	vf_lit_plan_lit pl[3];
	vf_lit_group grp[8 * VF_LIT_SETS_MAX];
	vf_lit_plan p;
	const vf_lit_plan *pp = &p;
	vf_lits *ref = NULL, *l = NULL;
	exai_error e;

	vf_lits_use_plans(NULL, 0);
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &ref, &e) == EXAI_OK);
	ck_assert_uint_ge(ref->ngrp, 1);
	for (size_t i = 0; i < 3; i++)
		pl[i] = (vf_lit_plan_lit){.s = lits[i], .anchor = (uint8_t)ref->lit[i].anchor};
	memcpy(grp, ref->grp, ref->ngrp * sizeof(*grp));
	p = (vf_lit_plan){pl, 3, grp, ref->ngrp, ref->nsets};
	vf_lits_use_plans(&pp, 1);
	/* a bucket lacking one byte of a window */
	for (size_t k = 0; k < ref->ngrp; k++)
		grp[k].ascii[0][1] = 0, grp[k].lo[0] = 0;
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	tables_equal(ref, l);
	vf_lits_free(l);
	/* a window past its literal's end */
	memcpy(grp, ref->grp, ref->ngrp * sizeof(*grp));
	pl[0].anchor = 10; /* "hostNetwork" is 11 bytes, its window 3 */
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	tables_equal(ref, l);
	vf_lits_free(l);
	/* more buckets than its sets hold, and no bucket at all */
	pl[0].anchor = (uint8_t)ref->lit[0].anchor;
	p.nsets = 0;
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	vf_lits_free(l);
	p.nsets = ref->nsets;
	p.ngrp = 0;
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(!l->from_plan);
	vf_lits_free(l);
	/* the intact plan again: taken */
	p.ngrp = ref->ngrp;
	ck_assert(vf_lits_build_raw(lits, NULL, 3, &l, &e) == EXAI_OK);
	ck_assert(l->from_plan);
	tables_equal(ref, l);
	vf_lits_free(l);
	vf_lits_free(ref);
	vf_lits_use_plans(NULL, 0);
}
END_TEST

/* The regex compiled at load is kept unless an override changes the case flag. */
START_TEST(regex_recompiled_when_case_changes)
{
	static const char base[] = "version: 1\n"
				   "rules:\n"
				   "  - id: t.re\n"
				   "    severity: low\n"
				   "    triggers: [token]\n"
				   "    regex: 'token=[a-z]+'\n";
	static const char over[] = "version: 1\n"
				   "rules:\n"
				   "  - id: t.re\n"
				   "    ignore_case: true\n";
	vf_rules rs;
	const vf_rule *r = NULL;
	exai_error e;

	for (int pass = 0; pass < 2; pass++) {
		memset(&rs, 0, sizeof(rs));
		ck_assert(vf_rules_load_buf(&rs, "base", base, sizeof(base) - 1, &e) == EXAI_OK);
		if (pass)
			ck_assert(vf_rules_load_buf(&rs, "over", over, sizeof(over) - 1, &e) ==
				  EXAI_OK);
		ck_assert_msg(vf_rules_finish(&rs, &e) == EXAI_OK, "%s", e.msg);
		for (size_t i = 0; i < rs.n; i++)
			if (!strcmp(rs.r[i].id, "t.re"))
				r = &rs.r[i];
		ck_assert_ptr_nonnull(r);
		ck_assert(r->has_re && r->re);
		ck_assert_int_eq(regexec(r->re, "token=abc", 0, NULL, 0), 0);
		ck_assert_int_eq(regexec(r->re, "TOKEN=ABC", 0, NULL, 0) == 0, pass == 1);
		vf_rules_free(&rs);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_lit_plan");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, shipped_plans_give_the_planned_tables);
	tcase_add_test(tc, plan_for_other_literals_is_not_taken);
	tcase_add_test(tc, unsound_plan_is_refused);
	tcase_add_test(tc, regex_recompiled_when_case_changes);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
