/* Check suite for verifier/report/report*.c, the model: names, counting, sanitising, sorting,
 * grouping and the empty report. The formats are in test_report_formats.c, hostile strings,
 * allocation and write failures in test_report_robust.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_sample.h"
#include "testutil.h"

START_TEST(parse_names)
{
	vf_severity s;
	vf_format f;

	ck_assert(vf_severity_parse("critical", &s) && s == VF_SEV_CRITICAL);
	ck_assert(vf_severity_parse("info", &s) && s == VF_SEV_INFO);
	ck_assert(!vf_severity_parse("severe", &s));
	ck_assert(!vf_severity_parse(NULL, &s));
	ck_assert(vf_format_parse("sarif", &f) && f == VF_FMT_SARIF);
	ck_assert(vf_format_parse("junit", &f) && f == VF_FMT_JUNIT);
	ck_assert(!vf_format_parse("xml", &f));
	ck_assert_str_eq(vf_severity_name(VF_SEV_MEDIUM), "medium");
}
END_TEST

START_TEST(counts_ignore_suppressed)
{
	vf_report *r = sample();

	ck_assert_uint_eq(vf_report_size(r), 3);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_INFO), 2);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_MEDIUM), 1);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_HIGH), 0); /* the critical one is suppressed */
	ck_assert_uint_eq(vf_report_count_suppressed(r), 1);
	vf_report_free(r);
}
END_TEST

START_TEST(strings_are_sanitised)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	vf_finding f = {.rule_id = "x",
			.severity = VF_SEV_LOW,
			.evidence = "a\x1b[31mb\xff\xc3\xa9\xed\xa0\x80\n",
			.message = "m"};
	char *out;

	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	ck_assert_str_eq(vf_report_get(r, 0)->evidence,
			 "a\\x1b[31mb\\xff\xc3\xa9\\xed\\xa0\\x80\\x0a");
	ck_assert_ptr_null(vf_report_get(r, 1));
	out = render(r, VF_FMT_JSON); /* jansson refuses invalid UTF-8: this must not fail */
	ck_assert_ptr_nonnull(strstr(out, "\\\\x1b[31m"));
	free(out);
	f.rule_id = NULL;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_EINVAL);
	vf_report_free(r);
}
END_TEST

START_TEST(sort_orders_by_location)
{
	vf_report *r = sample();

	vf_report_sort(r);
	ck_assert_str_eq(vf_report_get(r, 0)->path, "img.tar!blobs/sha256/ab!usr/bin/x y");
	ck_assert_str_eq(vf_report_get(r, 1)->path, "tree/app.py");
	ck_assert_str_eq(vf_report_get(r, 2)->path, "tree/env");
	vf_report_free(r);
}
END_TEST

/* Notes arrive in the order the workers finish; sorted, the report is the same every run. */
START_TEST(sort_orders_notes)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	char *out, *a, *b, *c;

	ck_assert_int_eq(vf_report_note(r, "zip: b.zip: skipped", &e), EXAI_OK);
	ck_assert_int_eq(vf_report_note(r, "helm template: not run", &e), EXAI_OK);
	ck_assert_int_eq(vf_report_note(r, "tar: a.tar: skipped", &e), EXAI_OK);
	vf_report_sort(r);
	out = render(r, VF_FMT_JSON);
	a = strstr(out, "helm template: not run");
	b = strstr(out, "tar: a.tar: skipped");
	c = strstr(out, "zip: b.zip: skipped");
	ck_assert(a && b && c && a < b && b < c);
	free(out);
	vf_report_free(r);
}
END_TEST

static const char *key_by_dir(const char *path, void *ctx)
{
	(void)ctx;
	return strncmp(path, "a/", 2) == 0 ? "a" : "b";
}

static bool dup_map(const char *path, void *ctx)
{
	(void)ctx;
	return strstr(path, ".map") != NULL;
}

/* Identical evidence within one key is one finding with a count and its first locations;
 * a different key, rule or evidence stays apart; duplicates are listed last. */
START_TEST(group_identical_evidence)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	char path[32], *out;
	const vf_finding *g;
	vf_finding f = {.rule_id = "net.url.public",
			.severity = VF_SEV_MEDIUM,
			.line = 1,
			.column = 1,
			.evidence = "https://api.example.net/v1",
			.message = "URL"};

	for (int i = 0; i < 9; i++) { /* a/0.js.map, a/1.js .. a/8.js */
		snprintf(path, sizeof(path), i ? "a/%d.js" : "a/%d.js.map", i);
		f.path = path;
		ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	}
	f.path = "b/x.js"; /* another package */
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "a/other.js";
	f.evidence = "https://api.example.net/v2"; /* other evidence */
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_group(r, 5, key_by_dir, dup_map, NULL, &e), EXAI_OK);
	ck_assert_uint_eq(vf_report_size(r), 3);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_INFO), 3);
	g = vf_report_get(r, 0);
	ck_assert_str_eq(g->path, "a/1.js"); /* the source map is not the one shown */
	ck_assert_uint_eq(g->count, 9);
	ck_assert_uint_eq(g->nlocs, 4);
	ck_assert_str_eq(g->locs[0].path, "a/2.js");
	ck_assert_str_eq(g->locs[3].path, "a/5.js");
	ck_assert_str_eq(vf_report_get(r, 1)->path, "a/other.js");
	ck_assert_uint_eq(vf_report_get(r, 1)->count, 0);
	ck_assert_str_eq(vf_report_get(r, 2)->path, "b/x.js");
	out = render(r, VF_FMT_TEXT);
	ck_assert_ptr_nonnull(
	    strstr(out, "a/1.js:1:1: medium [net.url.public] URL\n"
			"    evidence: https://api.example.net/v1\n"
			"    seen 9 times; also at: a/2.js:1:1, a/3.js:1:1, a/4.js:1:1, "
			"a/5.js:1:1 (and 4 more)\n"));
	free(out);
	out = render(r, VF_FMT_SARIF);
	ck_assert_ptr_nonnull(strstr(out, "\"occurrenceCount\": 9"));
	ck_assert_uint_eq(count_str(out, "\"physicalLocation\""), 7);
	free(out);
	out = render(r, VF_FMT_JUNIT);
	ck_assert_uint_eq(count_str(out, "<failure "), 3);
	ck_assert_ptr_nonnull(strstr(out, "seen 9 times; also at: a/2.js:1:1"));
	free(out);
	vf_report_free(r);
}
END_TEST

/* SARIF file locations are relative references against SCANROOT (the working directory) or
 * FSROOT; run mode's addresses are logical locations. */

START_TEST(empty_report_is_clean)
{
	vf_report *r = vf_report_new("run");
	char *out = render(r, VF_FMT_SARIF);

	ck_assert_ptr_nonnull(strstr(out, "\"results\": []"));
	free(out);
	out = render(r, VF_FMT_JUNIT);
	ck_assert_ptr_nonnull(strstr(out, "tests=\"0\" failures=\"0\""));
	free(out);
	vf_report_free(r);
	vf_report_free(NULL);
}
END_TEST

/* Two findings of one rule at one place get distinct JUnit names (their evidence); SARIF's
 * partialFingerprints hash rule, path and evidence, not the line. */

int main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_names);
	tcase_add_test(tc, counts_ignore_suppressed);
	tcase_add_test(tc, strings_are_sanitised);
	tcase_add_test(tc, sort_orders_by_location);
	tcase_add_test(tc, sort_orders_notes);
	tcase_add_test(tc, group_identical_evidence);
	tcase_add_test(tc, empty_report_is_clean);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
