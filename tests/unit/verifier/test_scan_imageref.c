/* Check suite for the image-reference extractor (verifier/scan/scan_imageref.c): a plain
 * reference, values-style maps in each combination of registry / repository / tag / digest,
 * maps outside `image`, template values, the line fallback, and a walk that reaches its depth
 * or node bound being reported as incomplete (by the extractor, and by its two users as a
 * scan.incomplete finding), never as silently fewer references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "exai/yaml.h"
#include "scan.h"
#include "scan_imageref.h"
#include "rules_fixture.h"
#include "testutil.h"

#define MAXR 32

typedef struct got {
	char ref[MAXR][256];
	vf_iref_kind kind[MAXR];
	bool templated[MAXR], url[MAXR];
	uint64_t line[MAXR], col[MAXR];
	size_t n;
	vf_iref_walk w;
} got;

static void on_ref(void *arg, const vf_iref *r)
{
	got *g = arg;

	if (g->n == MAXR) {
		g->n++; /* more than the test expects: fails the count check */
		return;
	}
	if (g->n > MAXR)
		return;
	snprintf(g->ref[g->n], sizeof(g->ref[0]), "%s", r->ref);
	g->kind[g->n] = r->kind;
	g->templated[g->n] = r->templated;
	g->url[g->n] = r->url_repo;
	g->line[g->n] = r->line;
	g->col[g->n] = r->col;
	g->n++;
}

static exai_status on_doc(exai_yaml *y, void *arg, exai_error *e)
{
	got *g = arg;

	(void)e;
	vf_imageref_walk(&g->w, y, exai_yaml_root(y));
	return EXAI_OK;
}

static void init(got *g)
{
	memset(g, 0, sizeof(*g));
	vf_imageref_init(&g->w, on_ref, g);
}

static void walk_text(got *g, const char *text)
{
	exai_error e;

	ck_assert_msg(exai_yaml_each_doc("t.yaml", text, strlen(text), on_doc, g, &e) == EXAI_OK,
		      "%s", e.msg);
}

static got *extract(const char *text)
{
	static got g;

	init(&g);
	walk_text(&g, text);
	return &g;
}

START_TEST(plain_reference)
{
	got *g = extract("spec:\n  containers:\n    - name: a\n      image: reg.local/app:1.2\n");

	ck_assert_uint_eq(g->n, 1);
	ck_assert_str_eq(g->ref[0], "reg.local/app:1.2");
	ck_assert_int_eq(g->kind[0], VF_IREF_VALUE);
	ck_assert(!g->templated[0]);
	ck_assert_uint_eq(g->line[0], 4);
	ck_assert_uint_eq(g->col[0], 14);
	ck_assert(!g->w.incomplete);
	g = extract("image: \"\"\nimages: x\nname: image\n"); /* empty, other keys: nothing */
	ck_assert_uint_eq(g->n, 0);
}
END_TEST

START_TEST(values_map_every_combination)
{
	static const char *const d =
	    "sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const struct {
		const char *reg, *tag, *dig, *want;
	} cs[] = {
	    {NULL, NULL, NULL, "app"},
	    {"r.io", NULL, NULL, "r.io/app"},
	    {NULL, "1.0", NULL, "app:1.0"},
	    {NULL, NULL, "D", "app@D"},
	    {"r.io", "1.0", NULL, "r.io/app:1.0"},
	    {"r.io", NULL, "D", "r.io/app@D"},
	    {NULL, "1.0", "D", "app:1.0@D"},
	    {"r.io", "1.0", "D", "r.io/app:1.0@D"},
	};

	for (size_t i = 0; i < sizeof(cs) / sizeof(*cs); i++) {
		for (int under_image = 0; under_image < 2; under_image++) {
			char text[512], want[512];
			got *g;
			snprintf(text, sizeof(text), "%s:\n%s%s%s%s  repository: app\n%s%s%s%s%s%s",
				 under_image ? "image" : "proxy", cs[i].reg ? "  registry: " : "",
				 cs[i].reg ? cs[i].reg : "", cs[i].reg ? "\n" : "", "",
				 cs[i].tag ? "  tag: \"" : "", cs[i].tag ? cs[i].tag : "",
				 cs[i].tag ? "\"\n" : "", cs[i].dig ? "  digest: " : "",
				 cs[i].dig ? d : "", cs[i].dig ? "\n" : "");
			snprintf(want, sizeof(want), "%s", cs[i].want);
			if (cs[i].dig)
				snprintf(strchr(want, '@') + 1, sizeof(want) - 64, "%s", d);
			g = extract(text);
			if (!under_image && !cs[i].reg && !cs[i].tag && !cs[i].dig) {
				/* a lone repository outside `image` is not an image */
				ck_assert_msg(g->n == 0, "%s", text);
				continue;
			}
			ck_assert_msg(g->n == 1, "%zu refs from:\n%s", g->n, text);
			ck_assert_str_eq(g->ref[0], want);
			ck_assert_int_eq(g->kind[0],
					 under_image ? VF_IREF_IMAGE_MAP : VF_IREF_VALUES_MAP);
			ck_assert_uint_eq(g->line[0], cs[i].reg ? 3 : 2); /* at the repository */
			ck_assert_uint_eq(g->col[0], 15);
		}
	}
}
END_TEST

START_TEST(url_repository_is_flagged_or_skipped)
{
	got *g = extract("image:\n  repository: https://charts.example.com/x\n"
			 "dependencies:\n  - name: x\n    repository: https://charts.example.com\n"
			 "    version: 1.0\n    tag: t\n");

	ck_assert_uint_eq(g->n, 1); /* the dependency is not an image at all */
	ck_assert_int_eq(g->kind[0], VF_IREF_IMAGE_MAP);
	ck_assert(g->url[0]);
}
END_TEST

START_TEST(template_values)
{
	got *g = extract("a:\n  image: \"{{ .Values.image }}\"\nb:\n  image: $IMAGE\n"
			 "c:\n  image:\n    repository: app\n    tag: \"{{ .Chart.AppVersion }}\"\n"
			 "d:\n  image: app:1\n");

	ck_assert_uint_eq(g->n, 4);
	ck_assert(g->templated[0] && g->templated[1] && g->templated[2]);
	ck_assert(!g->templated[3]);
	ck_assert_str_eq(g->ref[2], "app:{{ .Chart.AppVersion }}");
}
END_TEST

START_TEST(line_fallback)
{
	static const char text[] = "{{- if .Values.x }}\n"
				   "spec:\n"
				   "  - image: \"reg.local/a:1\" # pinned below\n"
				   "    image: {{ .Values.img }}\n"
				   "    image: |\n"
				   "    image: {repository: x}\n"
				   "    image: &anchor b\n"
				   "    image: plain:2 # comment\n"
				   "    images: not-a-key\n";
	got g;

	init(&g);
	vf_imageref_lines(&g.w, (const uint8_t *)text, sizeof(text) - 1);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_str_eq(g.ref[0], "reg.local/a:1");
	ck_assert_int_eq(g.kind[0], VF_IREF_LINE);
	ck_assert_uint_eq(g.line[0], 3);
	ck_assert_uint_eq(g.col[0], 12); /* at the opening quote, as libyaml would say */
	ck_assert_str_eq(g.ref[1], "{{ .Values.img }}");
	ck_assert(g.templated[1]);
	ck_assert_str_eq(g.ref[2], "plain:2");
	ck_assert_uint_eq(g.line[2], 8);
}
END_TEST

/* A small document that expands to 10^8 nodes through aliases. */
static const char laughs[] = "a: &a {image: x/a:1, k: v}\n"
			     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			     "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			     "i: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

static void count_ref(void *arg, const vf_iref *r)
{
	(void)r;
	(*(size_t *)arg)++;
}

static exai_status count_doc(exai_yaml *y, void *arg, exai_error *e)
{
	(void)e;
	vf_imageref_walk(arg, y, exai_yaml_root(y));
	return EXAI_OK;
}

START_TEST(bounds_reached_are_incomplete)
{
	got g;
	size_t n = 0;
	vf_iref_walk w;
	exai_error e;

	/* node budget */
	init(&g);
	g.w.budget = 4;
	walk_text(&g, "a: {image: x:1}\nb: {image: y:1}\nc: {image: z:1}\nd: {image: w:1}\n");
	ck_assert(g.w.incomplete);
	ck_assert_uint_lt(g.n, 4);
	init(&g);
	g.w.budget = 9; /* exactly enough: the root, four maps and their scalars */
	walk_text(&g, "a: {image: x:1}\nb: {image: y:1}\nc: {image: z:1}\nd: {image: w:1}\n");
	ck_assert(!g.w.incomplete);
	ck_assert_uint_eq(g.n, 4);
	/* depth */
	init(&g);
	g.w.max_depth = 2;
	walk_text(&g, "a:\n  b:\n    c:\n      image: deep:1\nimage: top:1\n");
	ck_assert(g.w.incomplete); /* c's map, at depth 3, is not read */
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.ref[0], "top:1");
	init(&g);
	g.w.max_depth = 3;
	walk_text(&g, "a:\n  b:\n    c:\n      image: deep:1\nimage: top:1\n");
	ck_assert(!g.w.incomplete); /* its scalar is read from c's map */
	ck_assert_uint_eq(g.n, 2);
	/* an alias expansion, with the default bounds */
	vf_imageref_init(&w, count_ref, &n);
	ck_assert_msg(exai_yaml_each_doc("l.yaml", laughs, sizeof(laughs) - 1, count_doc, &w, &e) ==
			  EXAI_OK,
		      "%s", e.msg);
	ck_assert(w.incomplete);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, VF_IREF_BUDGET);
}
END_TEST

/* The scan.incomplete findings of @r at @path saying @has. */
static size_t incompletes(const vf_report *r, const char *path, const char *has)
{
	size_t k = 0;

	for (size_t i = 0; i < vf_report_size(r); i++) {
		const vf_finding *x = vf_report_get(r, i);
		k += !strcmp(x->rule_id, "scan.incomplete") && x->path && !strcmp(x->path, path) &&
		     x->evidence && strstr(x->evidence, has);
	}
	return k;
}

START_TEST(users_report_an_incomplete_walk)
{
	vf_buf b = {.path = "values.yaml",
		    .rel = "values.yaml",
		    .base = "values.yaml",
		    .p = (const uint8_t *)laughs,
		    .n = sizeof(laughs) - 1};
	vf_report *r = vf_report_new("scan");
	vf_closure *cl = NULL;
	exai_error e;
	vf_scan s;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(vf_scan_init(&s, load_default(), NULL, r, &e) == EXAI_OK, "%s", e.msg);
	vf_scan_k8s(&s, &b); /* scan mode's Kubernetes / values checks */
	ck_assert_uint_eq(incompletes(r, "values.yaml", "nests deeper"), 1);
	b.path = b.rel = "chart/values.yaml";
	ck_assert_msg(vf_closure_new(&cl, &e) == EXAI_OK, "%s", e.msg);
	vf_closure_yaml(cl, &s, &b); /* bundle mode's closure */
	ck_assert_uint_eq(incompletes(r, "chart/values.yaml", "image references not all read"), 1);
	vf_closure_free(cl);
	vf_scan_fini(&s);
	vf_report_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_imageref");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, plain_reference);
	tcase_add_test(tc, values_map_every_combination);
	tcase_add_test(tc, url_repository_is_flagged_or_skipped);
	tcase_add_test(tc, template_values);
	tcase_add_test(tc, line_fallback);
	tcase_add_test(tc, bounds_reached_are_incomplete);
	tcase_add_test(tc, users_report_an_incomplete_walk);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
