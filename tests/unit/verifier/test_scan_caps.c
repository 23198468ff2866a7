/* Check suite for the caps on the scan's growing arrays (exai_grow): each one reached refuses
 * with what the scan reports (a scan.incomplete finding, a failed scan, a rules or allow file
 * error naming the place), never drops quietly; the hard-word positions of a YAML buffer over
 * their cap fall back to libyaml for every document and lose no finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan.h"
#include "rules_fixture.h"
#include "testutil.h"

typedef struct fx {
	vf_report *r;
	vf_scan s;
} fx;

static void fx_init(fx *f)
{
	exai_error e;

	f->r = vf_report_new("scan");
	ck_assert_ptr_nonnull(f->r);
	ck_assert_msg(vf_scan_init(&f->s, load_default(), NULL, f->r, &e) == EXAI_OK, "%s", e.msg);
}

static void fx_fini(fx *f)
{
	vf_scan_fini(&f->s);
	vf_report_free(f->r);
}

/* How many findings of rule @id the report holds; the evidence of the last in @ev. */
static size_t count(const vf_report *r, const char *id, const char **ev)
{
	size_t n = 0;

	for (size_t i = 0; i < vf_report_size(r); i++) {
		const vf_finding *x = vf_report_get(r, i);
		if (strcmp(x->rule_id, id) == 0) {
			n++;
			if (ev)
				*ev = x->evidence;
		}
	}
	return n;
}

static vf_buf buf_named(const char *path, const char *text)
{
	return (vf_buf){.path = path,
			.rel = path,
			.base = path,
			.p = (const uint8_t *)text,
			.n = text ? strlen(text) : 0,
			.root = 1};
}

START_TEST(namespaces_over_the_cap_are_one_incomplete_finding)
{
	fx f;
	vf_buf b = buf_named("ns.yaml", "");
	char name[32];
	const char *ev = NULL;

	fx_init(&f);
	for (unsigned i = 0; i < VF_K8S_NS_MAX + 50; i++) {
		snprintf(name, sizeof(name), "ns-%u", i);
		vf_k8s_ns_mark(&f.s, &b, name, i + 1, 1, false);
	}
	vf_k8s_ns_mark(&f.s, &b, "ns-0", 1, 1, false); /* known ones are still tracked */
	ck_assert_int_eq(f.s.fatal, EXAI_OK);
	ck_assert_uint_eq(count(f.r, "scan.incomplete", &ev), 1);
	ck_assert_msg(strstr(ev, "namespace 'ns-10000' (line 10001) and any later new one not "
				 "tracked: over 10000 namespaces"),
		      "%s", ev);
	vf_k8s_finish(&f.s);
	ck_assert_uint_eq(count(f.r, "k8s.netpol.no-default-deny-egress", NULL), VF_K8S_NS_MAX);
	fx_fini(&f);
}
END_TEST

START_TEST(hard_words_over_the_cap_still_reach_libyaml)
{
	fx f;
	size_t reps = VF_K8S_HARD_MAX / 2 + 16, used;
	const char *tail = "\n---\nkind: Pod\nspec:\n  hostNetwork: true\n";
	char *text = malloc(2 * reps + 64);
	vf_buf b;

	/* A comment of "<<" (a hard word at every byte: over the cap), then a document only
	 * libyaml judges (hostNetwork is a hard word: the textual path does not look at it). */
	ck_assert_ptr_nonnull(text);
	used = (size_t)sprintf(text, "# ");
	for (size_t i = 0; i < reps; i++, used += 2)
		memcpy(text + used, "<<", 2);
	strcpy(text + used, tail);
	b = buf_named("pods.yaml", text);
	fx_init(&f);
	vf_scan_k8s(&f.s, &b);
	ck_assert_int_eq(f.s.fatal, EXAI_OK);
	ck_assert_uint_eq(count(f.r, "k8s.host-network", NULL), 1);
	fx_fini(&f);
	free(text);
}
END_TEST

START_TEST(held_findings_over_the_cap_fail_the_scan)
{
	fx f;
	vf_buf b = buf_named("a.py", "x");
	const vf_rule *rule = &load_default()->r[0];

	fx_init(&f);
	for (unsigned i = 0; i < VF_SCAN_HELD_MAX; i++)
		vf_scan_hold(&f.s, rule, rule->sev, &b, 1, 1, 0, "ev", NULL);
	ck_assert_int_eq(f.s.fatal, EXAI_OK);
	vf_scan_hold(&f.s, rule, rule->sev, &b, 1, 1, 0, "ev", NULL);
	ck_assert_int_eq(f.s.fatal, EXAI_ETOOBIG);
	ck_assert_uint_eq(f.s.nheld, VF_SCAN_HELD_MAX);
	ck_assert_msg(strstr(f.s.fatal_err.msg, "findings held for scan-wide unless markers: more "
						"than 1048576 elements"),
		      "%s", f.s.fatal_err.msg);
	fx_fini(&f);
}
END_TEST

START_TEST(markers_over_the_cap_fail_the_scan)
{
	fx f;

	fx_init(&f);
	for (unsigned i = 0; i < VF_SCAN_MARKERS_MAX; i++)
		vf_scan_marker_set(&f.s, i % 3, i / 3 + 1);
	vf_scan_marker_set(&f.s, 0, 1); /* already set: no new marker */
	ck_assert_int_eq(f.s.fatal, EXAI_OK);
	vf_scan_marker_set(&f.s, 2, VF_SCAN_MARKERS_MAX);
	ck_assert_int_eq(f.s.fatal, EXAI_ETOOBIG);
	ck_assert_uint_eq(f.s.nseen, VF_SCAN_MARKERS_MAX);
	ck_assert_msg(strstr(f.s.fatal_err.msg, "unless markers (rule, package root): more than "
						"65536 elements"),
		      "%s", f.s.fatal_err.msg);
	fx_fini(&f);
}
END_TEST

START_TEST(helm_charts_over_the_cap_refuse_the_walk)
{
	fx f;
	char *dir = tu_tempdir(), path[4200], *paths[1] = {dir};
	exai_error e;

	for (unsigned i = 0; i <= VF_SCAN_CHARTS_MAX; i++) {
		snprintf(path, sizeof(path), "%s/c%u", dir, i);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		free(tu_write(path, "Chart.yaml", "name: c\n", 8));
	}
	fx_init(&f);
	ck_assert_int_eq(vf_scan_paths(&f.s, paths, 1, &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, ": Helm charts to render: more than 4096 elements"), "%s",
		      e.msg);
	ck_assert_uint_eq(vf_report_size(f.r), 0); /* refused before anything was scanned */
	fx_fini(&f);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* "<head>[<prefix>A.B<suffix>, ...]\n": @n entries, A.B the entry's number in base 256. */
static char *list_yaml(const char *head, const char *prefix, const char *suffix, unsigned n)
{
	size_t cap = 64 + (size_t)n * 32, used;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	used = (size_t)snprintf(s, cap, "%s[", head);
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, cap - used, "%s%s%u.%u%s", i ? ", " : "", prefix,
					 i / 256 % 256, i % 256, suffix);
	snprintf(s + used, cap - used, "]\n");
	return s;
}

static exai_status load_allow(const char *text, exai_error *e)
{
	char *dir = tu_tempdir(), *path = tu_write(dir, "allow.yaml", text, strlen(text));
	vf_settings set = {0};
	vf_scan_allow a = {0};
	exai_status rc = vf_scan_allow_load(&a, path, &set, "2026-01-01", e);

	vf_scan_allow_free(&a);
	vf_strv_free(&set.allow_hosts);
	vf_strv_free(&set.local_registries);
	free(set.local_cidrs.v);
	tu_rmtree(dir);
	free(path);
	free(dir);
	return rc;
}

START_TEST(settings_lists_over_the_cap_are_file_errors)
{
	vf_rules rs = {0};
	exai_error e;
	char *hosts = list_yaml("version: 1\nhosts: ", "h", ".site.example", VF_STRV_MAX + 1);
	char *cidrs = list_yaml("version: 1\ncidrs: ", "10.", ".0/24", VF_CIDRS_MAX + 1);
	char *lc =
	    list_yaml("version: 1\nsettings:\n  local_cidrs: ", "10.", ".0/24", VF_CIDRS_MAX + 1);
	char *sk = list_yaml("version: 1\nsettings:\n  skip_dirs: ", "d", "", VF_STRV_MAX + 1);
	char *ok = list_yaml("version: 1\nhosts: ", "h", ".site.example", VF_STRV_MAX);

	ck_assert_int_eq(load_allow(ok, &e), EXAI_OK);
	ck_assert_int_eq(load_allow(hosts, &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "allow.yaml:2:") && strstr(e.msg, ": 'hosts': more than 65536"),
		      "%s", e.msg);
	ck_assert_int_eq(load_allow(cidrs, &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "allow.yaml:2:") && strstr(e.msg, ": 'cidrs': more than 65536"),
		      "%s", e.msg);
	ck_assert_int_eq(vf_rules_load_buf(&rs, "lc.yaml", lc, strlen(lc), &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "lc.yaml:3:") && strstr(e.msg, ": 'local_cidrs': more than "),
		      "%s", e.msg);
	vf_rules_free(&rs);
	ck_assert_int_eq(vf_rules_load_buf(&rs, "sk.yaml", sk, strlen(sk), &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "sk.yaml:3:") && strstr(e.msg, ": 'skip_dirs': more than "),
		      "%s", e.msg);
	vf_rules_free(&rs);
	free(hosts);
	free(cidrs);
	free(lc);
	free(sk);
	free(ok);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_caps");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, namespaces_over_the_cap_are_one_incomplete_finding);
	tcase_add_test(tc, hard_words_over_the_cap_still_reach_libyaml);
	tcase_add_test(tc, held_findings_over_the_cap_fail_the_scan);
	tcase_add_test(tc, markers_over_the_cap_fail_the_scan);
	tcase_add_test(tc, helm_charts_over_the_cap_refuse_the_walk);
	tcase_add_test(tc, settings_lists_over_the_cap_are_file_errors);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
