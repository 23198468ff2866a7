/* Check suite for verifier/report under hostile input and failure: strings that must parse back
 * sanitised through JSON and SARIF (also by Python's parser), jansson allocation failures, a
 * number over int64, the streamed document and a failing write. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report.h"
#include "report_sample.h"
#include "testutil.h"

/* ---- hostile strings: JSON and SARIF parse back to the sanitised strings ---- */

/* Quotes, backslashes, control characters (C0, DEL, C1, ESC sequences), invalid UTF-8
 * (a stray continuation byte, an overlong '/', a surrogate, a truncated sequence), U+2028 and
 * U+2029 (line terminators to JavaScript), a 4-byte character and a JSON look-alike. */
#define HOSTILE                                                                           \
	"q\"uo\"te \\back\\slash\\ \x01\x1f\x7f \xc2\x85 \x1b[2J \xff\xfe \x80 \xc0\xaf " \
	"\xed\xa0\x80 \xe2\x80\xa8 \xe2\x80\xa9 \xf0\x9f\x98\x80 \"}, {\"x\": \"\\u0000 \xe2\x82"

static vf_report *hostile(void)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	vf_finding f = {.rule_id = "net.url.public",
			.severity = VF_SEV_HIGH,
			.path = "tree/" HOSTILE ".py",
			.line = 2,
			.column = 5,
			.evidence = "ev " HOSTILE,
			.message = "msg " HOSTILE,
			.hint = "hint " HOSTILE,
			.suppressed = true,
			.suppress_reason = "why " HOSTILE};

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "198.51.100.7 " HOSTILE;
	f.logical = true;
	f.suppressed = false;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_note(r, "note " HOSTILE, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_rule(r, "net.url.public", VF_SEV_HIGH, "desc " HOSTILE, &e),
			 EXAI_OK);
	return r;
}

static const char *jget(json_t *j, const char *where)
{
	const char *path = where;
	char key[64];

	/* "a.b.0.c": object keys and array indexes */
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		j = (key[0] >= '0' && key[0] <= '9') ? json_array_get(j, strtoul(key, NULL, 10))
						     : json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	ck_assert_msg(json_is_string(j), "no string at %s", where);
	return json_string_value(j);
}

/* The report's sanitised strings, in the order json_paths and sarif_paths name them. The note
 * is "note " and the rule's description "desc " before the same sanitised text as the
 * evidence's after "ev ". */
static void hostile_want(const vf_report *r, const char **w, char *fix, char *note, size_t sz)
{
	const vf_finding *f = vf_report_get(r, 0);

	snprintf(fix, sz, "%s Fix: %s", f->message, f->hint);
	snprintf(note, sz, "note %s", f->evidence + 3);
	w[0] = f->rule_id;
	w[1] = f->path;
	w[2] = f->evidence;
	w[3] = f->message;
	w[4] = f->hint;
	w[5] = f->suppress_reason;
	w[6] = vf_report_get(r, 1)->path;
	w[7] = note;
	w[8] = fix;
}

/* w[0..7] in JSON; SARIF also has w[8] (message and fix in one text), not w[1] and w[3] (the
 * path is a URI, checked apart; the message is only part of w[8]). */
static const char *const json_paths[8] = {"findings.0.rule_id",	 "findings.0.path",
					  "findings.0.evidence", "findings.0.message",
					  "findings.0.hint",	 "findings.0.suppress_reason",
					  "findings.1.path",	 "notes.0"};
static const char *const sarif_paths[] = {"runs.0.results.0.ruleId",
					  NULL, /* a URI: percent-encoded, checked apart */
					  "runs.0.results.0.properties.evidence",
					  NULL,
					  "runs.0.results.0.properties.hint",
					  "runs.0.results.0.suppressions.0.justification",
					  "runs.0.results.1.properties.endpoint",
					  "runs.0.invocations.0.toolExecutionNotifications.0."
					  "message.text",
					  "runs.0.results.0.message.text"};

START_TEST(hostile_strings_round_trip)
{
	vf_report *r = hostile();
	const char *w[9];
	char fix[2048], note[2048], desc[2048];
	char *json = render(r, VF_FMT_JSON), *sarif = render(r, VF_FMT_SARIF);
	json_error_t je;
	json_t *j, *s;

	hostile_want(r, w, fix, note, sizeof(fix));
	snprintf(desc, sizeof(desc), "desc %s", w[2] + 3);
	/* sanitised as documented: escapes are text, the printable characters stay */
	ck_assert_ptr_nonnull(strstr(w[2], "\\x01\\x1f\\x7f \\xc2\\x85 \\x1b[2J \\xff\\xfe"));
	ck_assert_ptr_nonnull(strstr(w[2], "\xe2\x80\xa8 \xe2\x80\xa9 \xf0\x9f\x98\x80"));
	j = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "json: %s at %d", je.text, je.position);
	s = json_loads(sarif, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(s != NULL, "sarif: %s at %d", je.text, je.position);
	for (size_t i = 0; i < 8; i++)
		ck_assert_str_eq(jget(j, json_paths[i]), w[i]);
	ck_assert_str_eq(jget(j, "rules.0.description"), desc);
	ck_assert_str_eq(jget(s, "runs.0.tool.driver.rules.0.shortDescription.text"), desc);
	for (size_t i = 0; i < 9; i++)
		if (sarif_paths[i])
			ck_assert_str_eq(jget(s, sarif_paths[i]), w[i]);
	ck_assert_str_eq(jget(s, "runs.0.results.1.locations.0.logicalLocations.0.name"), w[6]);
	/* the file URI is a relative reference of unreserved characters and %XX only */
	{
		const char *uri = jget(s, "runs.0.results.0.locations.0.physicalLocation."
					  "artifactLocation.uri");
		ck_assert_uint_eq(strspn(uri, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					      "0123456789-._~!$&'()*+,;=@/%"),
				  strlen(uri));
		ck_assert_ptr_nonnull(strstr(uri, "tree/q%22uo%22te%20%5Cback%5Cslash%5C%20"));
		ck_assert_ptr_nonnull(strstr(uri, "%E2%80%A8"));
	}
	json_decref(j);
	json_decref(s);
	free(json);
	free(sarif);
	vf_report_free(r);
}
END_TEST

/* The same documents through python3's json module (what CI scripts and the CLI tests read
 * reports with): every string comes back as the report holds it. */
START_TEST(hostile_strings_python)
{
	vf_report *r = hostile();
	const char *w[9];
	char fix[2048], note[2048], cmd[8192], *dir = tu_tempdir(), *jp, *sp, *got = NULL;
	char *json = render(r, VF_FMT_JSON), *sarif = render(r, VF_FMT_SARIF);
	size_t len = 0, n;
	json_error_t je;
	json_t *g;
	FILE *p, *m;

	hostile_want(r, w, fix, note, sizeof(fix));
	jp = tu_write(dir, "r.json", json, strlen(json));
	sp = tu_write(dir, "r.sarif", sarif, strlen(sarif));
	/* prints, ASCII-only, a JSON array: json_paths' strings from r.json, then sarif_paths'
	 * (null where there is none) from r.sarif */
	n = (size_t)snprintf(
	    cmd, sizeof(cmd),
	    "python3 -c 'import json, sys\n"
	    "def get(d, p):\n"
	    "    for k in p.split(\".\"):\n"
	    "        d = d[int(k)] if k.isdigit() else d[k]\n"
	    "    return d\n"
	    "j = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
	    "s = json.load(open(sys.argv[2], encoding=\"utf-8\"))\n"
	    "n = int(sys.argv[3])\n"
	    "out = [get(j, p) for p in sys.argv[4:4 + n]]\n"
	    "out += [get(s, p) if p != \"-\" else None for p in sys.argv[4 + n:]]\n"
	    "print(json.dumps(out, ensure_ascii=True))' %s %s 8",
	    jp, sp);
	for (size_t i = 0; i < 8; i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", json_paths[i]);
	for (size_t i = 0; i < 9; i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s",
				      sarif_paths[i] ? sarif_paths[i] : "-");
	ck_assert_uint_lt(n, sizeof(cmd));
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	m = open_memstream(&got, &len);
	for (int c; (c = fgetc(p)) != EOF;)
		fputc(c, m);
	fclose(m);
	ck_assert_int_eq(pclose(p), 0);
	g = json_loads(got, 0, &je);
	ck_assert_msg(g && json_array_size(g) == 17, "python3 printed: %s", got);
	for (size_t i = 0; i < 8; i++)
		ck_assert_str_eq(json_string_value(json_array_get(g, i)), w[i]);
	for (size_t i = 0; i < 9; i++)
		if (sarif_paths[i])
			ck_assert_str_eq(json_string_value(json_array_get(g, 8 + i)), w[i]);
	json_decref(g);
	free(got);
	free(jp);
	free(sp);
	tu_rmtree(dir);
	free(dir);
	free(json);
	free(sarif);
	vf_report_free(r);
}
END_TEST

/* ---- jansson allocation failures ---- */

/* jansson's allocator hook: the call numbered fail_at fails (once), the others go to malloc;
 * live counts what jansson holds, so a failure that leaks shows. */
static long fail_at = -1, calls, live;

static void *counting_malloc(size_t n)
{
	void *p;

	if (calls++ == fail_at)
		return NULL;
	if ((p = malloc(n)))
		live++;
	return p;
}

static void counting_free(void *p)
{
	live -= p != NULL;
	free(p);
}

static exai_status render_rc(const vf_report *r, vf_format fmt, char **out, exai_error *e)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	exai_status rc;

	ck_assert_ptr_nonnull(f);
	rc = vf_report_write(r, fmt, f, e);
	fclose(f);
	return rc;
}

/* One failed allocation anywhere while JSON or SARIF is built or dumped fails the write with
 * EXAI_ENOMEM (never a document that silently lacks a member), and leaks nothing. */
static void each_failure(const vf_report *r, vf_format fmt)
{
	char *ref = NULL, *out = NULL;
	long total;
	exai_error e;

	json_set_alloc_funcs(counting_malloc, counting_free);
	fail_at = -1;
	calls = live = 0;
	ck_assert_int_eq(render_rc(r, fmt, &ref, &e), EXAI_OK);
	ck_assert_int_eq(live, 0);
	total = calls;
	ck_assert_int_gt(total, 50); /* every string, object and array of the document */
	for (fail_at = 0; fail_at < total; fail_at++) {
		calls = live = 0;
		ck_assert_msg(render_rc(r, fmt, &out, &e) == EXAI_ENOMEM,
			      "allocation %ld of %ld failed but the write succeeded", fail_at,
			      total);
		ck_assert_ptr_nonnull(strstr(e.msg, "out of memory"));
		ck_assert_msg(live == 0, "allocation %ld failed: %ld blocks leaked", fail_at, live);
		free(out);
	}
	/* past the last allocation nothing fails: the same document */
	calls = live = 0;
	ck_assert_int_eq(render_rc(r, fmt, &out, &e), EXAI_OK);
	ck_assert_str_eq(out, ref);
	free(out);
	free(ref);
	json_set_alloc_funcs(malloc, free);
}

START_TEST(jansson_alloc_failure_fails_the_document)
{
	exai_error e;
	vf_report *r = hostile();
	vf_finding f = {.rule_id = "r", .severity = VF_SEV_LOW, .path = "a.js", .message = "m"};

	for (int i = 0; i < 4; i++) { /* a group, for locations and occurrenceCount */
		f.line = (uint64_t)i + 1;
		ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	}
	ck_assert_int_eq(vf_report_group(r, 3, NULL, NULL, NULL, &e), EXAI_OK);
	each_failure(r, VF_FMT_JSON);
	each_failure(r, VF_FMT_SARIF);
	vf_report_free(r);
}
END_TEST

/* --output under a failed allocation: the error is returned and the file keeps what it held
 * (no temp file left behind, no truncated report in its place). */
START_TEST(jansson_alloc_failure_keeps_output)
{
	vf_report *r = sample();
	char *dir = tu_tempdir(), *path = tu_write(dir, "report.json", "old\n", 4);
	uint8_t *held;
	size_t len;
	exai_error e;

	json_set_alloc_funcs(counting_malloc, counting_free);
	for (int i = 0; i < 2; i++) {
		vf_format fmt = i ? VF_FMT_SARIF : VF_FMT_JSON;
		fail_at = -1;
		calls = 0;
		ck_assert_int_eq(vf_report_emit(r, fmt, path, &e), EXAI_OK);
		for (long k = 0, total = calls; k < total; k += total / 7 + 1) {
			free(tu_write(dir, "report.json", "old\n", 4));
			fail_at = k;
			calls = 0;
			ck_assert_int_eq(vf_report_emit(r, fmt, path, &e), EXAI_ENOMEM);
			held = tu_read(path, &len);
			ck_assert_msg(held && len == 4 && memcmp(held, "old\n", 4) == 0,
				      "allocation %ld failed: --output was replaced", k);
			free(held);
			ck_assert_int_eq(tu_count_entries(dir), 1);
		}
	}
	json_set_alloc_funcs(malloc, free);
	free(path);
	tu_rmtree(dir);
	free(dir);
	vf_report_free(r);
}
END_TEST

/* ---- streaming ---- */

/* Many findings and one string longer than the writer's 32 KiB buffer: the findings stream
 * through many buffer flushes (and the long string past the buffer), and the document is still
 * one valid JSON value on one line with every finding in order. */
START_TEST(streamed_document_is_one_value)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	char path[64], *big = malloc(70001), *json, *sarif;
	json_error_t je;
	json_t *j, *s;

	ck_assert_ptr_nonnull(big);
	memset(big, 'q', 70000);
	big[70000] = '\0';
	big[35000] = '"'; /* escaped by jansson mid-string */
	for (unsigned i = 0; i < 600; i++) {
		vf_finding f = {.rule_id = i % 2 ? "net.url.public" : "secret.aws.key",
				.severity = VF_SEV_MEDIUM,
				.path = path,
				.line = i + 1,
				.column = 2,
				.evidence = i == 300 ? big : "https://example.com/",
				.message = "m"};
		snprintf(path, sizeof(path), "tree/f%u.py", i);
		ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	}
	json = render(r, VF_FMT_JSON);
	sarif = render(r, VF_FMT_SARIF);
	ck_assert_uint_gt(strlen(json), 3 * 32768);
	ck_assert_ptr_eq(strchr(json, '\n'), json + strlen(json) - 1);
	ck_assert_ptr_eq(strchr(sarif, '\n'), sarif + strlen(sarif) - 1);
	j = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "json: %s at %d", je.text, je.position);
	s = json_loads(sarif, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(s != NULL, "sarif: %s at %d", je.text, je.position);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "findings")), 600);
	ck_assert_str_eq(jget(j, "findings.599.path"), "tree/f599.py");
	ck_assert_str_eq(jget(j, "findings.300.evidence"), big);
	ck_assert_str_eq(jget(j, "rules.1.id"), "secret.aws.key");
	ck_assert_uint_eq(json_array_size(json_object_get(
			      json_array_get(json_object_get(s, "runs"), 0), "results")),
			  600);
	ck_assert_str_eq(jget(s, "runs.0.results.599.ruleId"), "net.url.public");
	ck_assert_str_eq(jget(s, "runs.0.results.300.properties.evidence"), big);
	json_decref(j);
	json_decref(s);
	free(json);
	free(sarif);
	free(big);
	vf_report_free(r);
}
END_TEST

/* fopencookie write that fails (returns 0, as fopencookie(3) asks) once @ok bytes have gone
 * through. */
static ssize_t failing_write(void *cookie, const char *buf, size_t len)
{
	size_t *ok = cookie;

	(void)buf;
	if (len > *ok)
		return 0;
	*ok -= len;
	return (ssize_t)len;
}

/* A stream that fails part-way through the findings fails the document with EXAI_EIO (not
 * out of memory, not success). */
START_TEST(stream_write_failure_is_eio)
{
	static const cookie_io_functions_t io = {.write = failing_write};
	exai_error e;
	vf_report *r = vf_report_new("scan");
	vf_finding f = {.rule_id = "r", .severity = VF_SEV_LOW, .path = "a.js", .message = "m"};

	for (unsigned i = 0; i < 2000; i++) {
		f.line = i + 1;
		ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	}
	for (int k = 0; k < 2; k++) {
		size_t ok = 50000; /* well into the findings */
		FILE *o = fopencookie(&ok, "w", io);
		vf_format fmt = k ? VF_FMT_SARIF : VF_FMT_JSON;

		ck_assert_ptr_nonnull(o);
		setvbuf(o, NULL, _IOFBF, 4096);
		ck_assert_int_eq(vf_report_write(r, fmt, o, &e), EXAI_EIO);
		ck_assert_ptr_nonnull(strstr(e.msg, "write"));
		fclose(o);
	}
	vf_report_free(r);
}
END_TEST

/* A number jansson cannot hold (over 2^63-1) is refused, naming the finding, not wrapped to a
 * negative number. */
START_TEST(json_number_over_int64_is_refused)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	vf_finding f = {
	    .rule_id = "elf.x", .severity = VF_SEV_LOW, .path = "bin/x", .offset = UINT64_MAX};
	char *out = NULL;

	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	ck_assert_int_eq(render_rc(r, VF_FMT_JSON, &out, &e), EXAI_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "elf.x at bin/x"));
	ck_assert_ptr_nonnull(strstr(e.msg, "2^63-1"));
	ck_assert_uint_eq(strlen(out), 0);
	free(out);
	ck_assert_int_eq(render_rc(r, VF_FMT_SARIF, &out, &e), EXAI_EINVAL);
	ck_assert_uint_eq(strlen(out), 0);
	free(out);
	out = render(r, VF_FMT_TEXT); /* text has no such limit */
	ck_assert_ptr_nonnull(strstr(out, "bin/x (offset 18446744073709551615)"));
	free(out);
	vf_report_free(r);
}
END_TEST

/* The JSON writer writes findings itself (no jansson tree): the document must be byte for
 * byte what jansson dumps for the same values. Parsing it back and dumping it with jansson
 * (keys in order) must give the same bytes, for hostile strings, grouped locations, processes
 * (pid known and not), a suppressed finding and a path-less one. */
START_TEST(json_bytes_are_janssons)
{
	exai_error e;
	vf_report *r = hostile();
	static const vf_proc procs[] = {{.pid = 3, .host_pid = 4711, .comm = "cu\"rl\\"},
					{.pid = 0, .host_pid = 4712, .comm = "sh " HOSTILE}};
	vf_finding f = {.rule_id = "net.url.public",
			.severity = VF_SEV_CRITICAL,
			.path = "a/" HOSTILE,
			.line = 9,
			.column = 1,
			.offset = (uint64_t)INT64_MAX,
			.evidence = "ev " HOSTILE,
			.attributed = true,
			.procs = procs,
			.nprocs = 2,
			.procs_more = 7};
	json_error_t je;
	json_t *j;
	char *json, *again;

	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = "b/" HOSTILE; /* the same evidence elsewhere: grouped into f's locations */
	f.attributed = false;
	f.procs_more = 0;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.path = NULL;
	f.message = "no path";
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	f.attributed = true;
	f.nprocs = 0;
	f.evidence = NULL;
	ck_assert_int_eq(vf_report_add(r, &f, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_group(r, 8, NULL, NULL, NULL, &e), EXAI_OK);
	json = render(r, VF_FMT_JSON);
	ck_assert_ptr_nonnull(strstr(json, "\"locations\": [{\"path\": \"a/"));
	ck_assert_ptr_nonnull(strstr(json, "}, {\"path\": \"b/"));
	ck_assert_ptr_nonnull(strstr(json, "\"processes\": [{\"pid\": 3, \"host_pid\": 4711, "
					   "\"comm\": \"cu\\\"rl\\\\\"}, {\"pid\": null"));
	ck_assert_ptr_nonnull(strstr(json, "\"processes\": []"));
	ck_assert_ptr_nonnull(strstr(json, "\"processes_not_listed\": 7"));
	ck_assert_ptr_nonnull(strstr(json, "\"offset\": 9223372036854775807"));
	j = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "json: %s at %d", je.text, je.position);
	again = json_dumps(j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(strlen(json), strlen(again) + 1);
	ck_assert_int_eq(json[strlen(again)], '\n');
	ck_assert_int_eq(memcmp(json, again, strlen(again)), 0);
	free(again);
	json_decref(j);
	free(json);
	vf_report_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report_robust");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hostile_strings_round_trip);
	tcase_add_test(tc, hostile_strings_python);
	tcase_add_test(tc, jansson_alloc_failure_fails_the_document);
	tcase_add_test(tc, jansson_alloc_failure_keeps_output);
	tcase_add_test(tc, streamed_document_is_one_value);
	tcase_add_test(tc, stream_write_failure_is_eio);
	tcase_add_test(tc, json_number_over_int64_is_refused);
	tcase_add_test(tc, json_bytes_are_janssons);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
