/* Check suite for verifier/report: the four formats (text, JSON, SARIF, JUnit), processes in
 * each, SARIF's URI bases, and the names and fingerprints CI dashboards key on. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/hash.h"
#include "report.h"
#include "report_sample.h"
#include "testutil.h"

START_TEST(text_format)
{
	vf_report *r = sample();
	char *out = render(r, VF_FMT_TEXT);

	ck_assert_ptr_nonnull(strstr(out, "airgap-verifier scan: 2 findings (0 critical, 0 high, "
					  "1 medium, 0 low, 1 info), 1 suppressed\n"));
	ck_assert_ptr_nonnull(strstr(out, "note: helm template: not run (helm not on PATH)\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "tree/app.py:3:9: medium [net.url.public] public URL\n"
			"    evidence: https://example.com/x\n    fix: use a local mirror\n"));
	ck_assert_ptr_nonnull(strstr(out, "usr/bin/x y (offset 4096): info [elf.net.imports]"));
	ck_assert_ptr_nonnull(strstr(out, "    suppressed: test key <documented>\n"));
	free(out);
	vf_report_free(r);
}
END_TEST

START_TEST(json_format)
{
	vf_report *r = sample();
	char *out;
	json_error_t je;
	json_t *j, *f0, *sum;

	vf_report_set_fail_on(r, VF_SEV_HIGH);
	out = render(r, VF_FMT_JSON);
	j = json_loads(out, 0, &je);
	ck_assert_msg(j != NULL, "%s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "mode")), "scan");
	ck_assert(json_is_true(json_object_get(j, "passed")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "fail_on")), "high");
	sum = json_object_get(j, "summary");
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "findings")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "suppressed")), 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(sum, "by_severity"), "medium")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "findings")), 3);
	/* declared (2) + undeclared rules named by findings (2) */
	ck_assert_uint_eq(json_array_size(json_object_get(j, "rules")), 4);
	f0 = json_array_get(json_object_get(j, "findings"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f0, "rule_id")), "net.url.public");
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "line")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(f0, "column")), 9);
	ck_assert_str_eq(json_string_value(json_object_get(f0, "hint")), "use a local mirror");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(j, "findings"), 2), "suppress_reason")),
			 "test key <documented>");
	json_decref(j);
	free(out);
	vf_report_set_fail_on(r, VF_SEV_MEDIUM);
	out = render(r, VF_FMT_JSON);
	ck_assert_ptr_nonnull(strstr(out, "\"passed\": false"));
	free(out);
	vf_report_free(r);
}
END_TEST

/* Run mode's processes: copied (and sanitised) by the report, shown by every format; an
 * attributed finding without any says so; one that is not attributed has no member. */
START_TEST(processes_in_every_format)
{
	vf_report *r = vf_report_new("run");
	char comm[] = "cu\x1brl";
	vf_proc procs[] = {{.pid = 3, .host_pid = 4711, .comm = comm},
			   {.pid = 0, .host_pid = 4712, .comm = "sh"}};
	vf_finding a = {.rule_id = "run.egress.attempt",
			.severity = VF_SEV_HIGH,
			.path = "192.0.2.1:443",
			.logical = true,
			.evidence = "proto=tcp dst=192.0.2.1 port=443 packets=1",
			.message = "m",
			.attributed = true,
			.procs = procs,
			.nprocs = 2,
			.procs_more = 5};
	vf_finding b = {.rule_id = "run.egress.attempt",
			.severity = VF_SEV_HIGH,
			.path = "192.0.2.2:443",
			.logical = true,
			.message = "m",
			.attributed = true};
	vf_finding c = {.rule_id = "run.egress.attempt",
			.severity = VF_SEV_HIGH,
			.path = "192.0.2.3:443",
			.logical = true,
			.message = "m"};
	json_t *j, *p;
	exai_error e;
	char *out;

	ck_assert_int_eq(vf_report_add(r, &a, &e), EXAI_OK);
	comm[0] = 'X'; /* the report holds its own copy */
	ck_assert_int_eq(vf_report_add(r, &b, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_add(r, &c, &e), EXAI_OK);
	out = render(r, VF_FMT_JSON);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	p = json_object_get(json_array_get(json_object_get(j, "findings"), 0), "processes");
	ck_assert_uint_eq(json_array_size(p), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(p, 0), "pid")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(p, 0), "host_pid")),
			 4711);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 0), "comm")),
			 "cu\\x1brl");
	ck_assert(json_is_null(json_object_get(json_array_get(p, 1), "pid")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_array_get(json_object_get(j, "findings"), 0),
					       "processes_not_listed")),
	    5);
	ck_assert_uint_eq(json_array_size(json_object_get(
			      json_array_get(json_object_get(j, "findings"), 1), "processes")),
			  0);
	ck_assert(json_is_array(
	    json_object_get(json_array_get(json_object_get(j, "findings"), 1), "processes")));
	ck_assert_ptr_null(
	    json_object_get(json_array_get(json_object_get(j, "findings"), 2), "processes"));
	json_decref(j);
	free(out);
	out = render(r, VF_FMT_SARIF);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	p = json_object_get(
	    json_object_get(
		json_array_get(
		    json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results"), 0),
		"properties"),
	    "processes");
	ck_assert_uint_eq(json_array_size(p), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(p, 1), "host_pid")),
			 4712);
	json_decref(j);
	free(out);
	out = render(r, VF_FMT_TEXT);
	ck_assert_ptr_nonnull(strstr(out, "    processes: pid 3 (host 4711) cu\\x1brl, pid ? (host "
					  "4712) sh, and 5 more\n"));
	ck_assert_ptr_nonnull(strstr(out, "    processes: none reported\n"));
	ck_assert_uint_eq(count_str(out, "processes:"), 2);
	free(out);
	out = render(r, VF_FMT_JUNIT);
	ck_assert_ptr_nonnull(strstr(out, "&#10;  processes: pid 3 (host 4711) cu\\x1brl, pid ? "
					  "(host 4712) sh, and 5 more&#10;"));
	free(out);
	vf_report_free(r);
}
END_TEST

START_TEST(sarif_format)
{
	vf_report *r = sample();
	char *out = render(r, VF_FMT_SARIF);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je), *run, *rules, *results, *loc;

	ck_assert_msg(j != NULL, "%s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "version")), "2.1.0");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "$schema")), "2.1.0"));
	run = json_array_get(json_object_get(j, "runs"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(json_object_get(run, "tool"), "driver"), "name")),
			 "airgap-verifier");
	rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	ck_assert_uint_eq(json_array_size(rules), 4);
	results = json_object_get(run, "results");
	ck_assert_uint_eq(json_array_size(results), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *res = json_array_get(results, i);
		size_t idx = (size_t)json_integer_value(json_object_get(res, "ruleIndex"));
		ck_assert_str_eq(
		    json_string_value(json_object_get(json_array_get(rules, idx), "id")),
		    json_string_value(json_object_get(res, "ruleId")));
		ck_assert_ptr_nonnull(json_string_value(json_object_get(res, "level")));
		ck_assert_ptr_nonnull(
		    json_string_value(json_object_get(json_object_get(res, "message"), "text")));
	}
	loc = json_object_get(
	    json_array_get(json_object_get(json_array_get(results, 0), "locations"), 0),
	    "physicalLocation");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(loc, "artifactLocation"), "uri")),
	    "tree/app.py");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(loc, "artifactLocation"),
							   "uriBaseId")),
			 "SCANROOT");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(loc, "region"), "startLine")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(results, 0), "level")),
			 "warning");
	loc = json_object_get(
	    json_array_get(json_object_get(json_array_get(results, 1), "locations"), 0),
	    "physicalLocation");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(loc, "artifactLocation"), "uri")),
	    "img.tar!blobs/sha256/ab!usr/bin/x%20y");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(loc, "region"), "byteOffset")),
	    4096);
	ck_assert_ptr_nonnull(json_object_get(json_array_get(results, 2), "suppressions"));
	json_decref(j);
	free(out);
	vf_report_free(r);
}
END_TEST

START_TEST(junit_format)
{
	vf_report *r = sample();
	char *out;

	vf_report_set_started(r, 1764633600); /* 2025-12-02T00:00:00Z */
	vf_report_set_fail_on(r, VF_SEV_MEDIUM);
	out = render(r, VF_FMT_JUNIT);
	/* one testcase per finding (3) plus one per rule that found nothing (k8s.image.latest) */
	ck_assert_uint_eq(count_str(out, "<testcase "), 4);
	ck_assert_uint_eq(count_str(out, "<failure "), 1); /* info below fail-on, crit suppressed */
	ck_assert_uint_eq(count_str(out, "<skipped "), 1);
	ck_assert_ptr_nonnull(
	    strstr(out, "tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\""));
	ck_assert_ptr_nonnull(strstr(out, "timestamp=\"2025-12-02T00:00:00\">\n  <testsuite "));
	ck_assert_ptr_nonnull(
	    strstr(out, "<testcase classname=\"airgap-verifier.scan\" "
			"name=\"net.url.public at tree/app.py:3:9\" "
			"file=\"tree/app.py\" line=\"3\" time=\"0\">\n      <failure "));
	ck_assert_ptr_nonnull(strstr(out, "name=\"k8s.image.latest\" time=\"0\"/>"));
	ck_assert_ptr_nonnull(
	    strstr(out, "<skipped message=\"suppressed: test key &lt;documented&gt;\"/>"));
	ck_assert_ptr_nonnull(strstr(out, "value=\"helm template: not run (helm not on PATH)\""));
	free(out);
	vf_report_set_fail_on(r, VF_SEV_INFO);
	out = render(r, VF_FMT_JUNIT);
	ck_assert_uint_eq(count_str(out, "<failure "), 2);
	free(out);
	vf_report_free(r);
}
END_TEST

START_TEST(sarif_uri_bases)
{
	exai_error e;
	vf_report *r = vf_report_new("run");
	char *out, *cwd = getcwd(NULL, 0), abs[4200];
	vf_finding f = {.rule_id = "x", .severity = VF_SEV_HIGH, .message = "m", .line = 1};

	ck_assert_ptr_nonnull(cwd);
	f.path = "./d/../sub/a b:c.txt";
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	snprintf(abs, sizeof(abs), "%s/in/x", cwd);
	f.path = abs;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "/nowhere-else/../etc/y!a/../z";
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "192.0.2.1:443";
	f.logical = true;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	out = render(r, VF_FMT_SARIF);
	ck_assert_ptr_nonnull(
	    strstr(out, "{\"uri\": \"sub/a%20b%3Ac.txt\", \"uriBaseId\": \"SCANROOT\"}"));
	ck_assert_ptr_nonnull(strstr(out, "{\"uri\": \"in/x\", \"uriBaseId\": \"SCANROOT\"}"));
	ck_assert_ptr_nonnull(
	    strstr(out, "{\"uri\": \"etc/y!a/%2E%2E/z\", \"uriBaseId\": \"FSROOT\"}"));
	ck_assert_ptr_nonnull(strstr(
	    out, "\"logicalLocations\": [{\"name\": \"192.0.2.1:443\", \"kind\": \"resource\"}]"));
	ck_assert_ptr_null(strstr(out, "\"uri\": \"192.0.2.1"));
	ck_assert_ptr_nonnull(strstr(out, "\"FSROOT\": {\"uri\": \"file:///\""));
	free(out);
	free(cwd);
	vf_report_free(r);
}
END_TEST

START_TEST(ci_names_and_fingerprints)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	char *out, want[200], hex[EXAI_SHA256_HEX];
	uint8_t d[EXAI_SHA256_LEN];
	static const char msg[] = "net.url.public\0a.py\0https://x.zz/\0";
	vf_finding f = {.rule_id = "net.url.public",
			.severity = VF_SEV_MEDIUM,
			.path = "a.py",
			.line = 4,
			.column = 2,
			.message = "m",
			.evidence = "https://x.zz/"};

	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.evidence = "https://y.zz/";
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "b.py";
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	vf_report_sort(r);
	out = render(r, VF_FMT_JUNIT);
	ck_assert_ptr_nonnull(strstr(out, "name=\"net.url.public at a.py:4:2: https://x.zz/\""));
	ck_assert_ptr_nonnull(strstr(out, "name=\"net.url.public at a.py:4:2: https://y.zz/\""));
	ck_assert_ptr_nonnull(strstr(out, "name=\"net.url.public at b.py:4:2\""));
	free(out);
	out = render(r, VF_FMT_SARIF);
	ck_assert_int_eq(exai_sha256_buf(msg, sizeof(msg) - 1, d, &e), EXAI_OK);
	exai_hex_encode(d, sizeof(d), hex);
	snprintf(want, sizeof(want), "\"partialFingerprints\": {\"airgapVerifier/v1\": \"%s\"}",
		 hex);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_uint_eq(count_str(out, "\"partialFingerprints\""), 3);
	free(out);
	vf_report_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report_formats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_format);
	tcase_add_test(tc, json_format);
	tcase_add_test(tc, processes_in_every_format);
	tcase_add_test(tc, sarif_format);
	tcase_add_test(tc, junit_format);
	tcase_add_test(tc, sarif_uri_bases);
	tcase_add_test(tc, ci_names_and_fingerprints);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
