/*
 * mirror record: the payload the record reader writes (mirror/record.c) is byte for byte the
 * object jansson dumps for it (compact, keys sorted): the form docs/mirror.md documents and
 * every stored leaf commits to. Checked against that reference built the way the reader built
 * it before (a second jansson object, json_dumps), for plain records with and without
 * attributes and time, bodies of every JSON type (nested keys out of order, escapes, non-ASCII,
 * reals, 64-bit integers) and an exai-update event; a scrubbed value still is scrubbed.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/event.h"
#include "exai/secmem.h"
#include "record.h"
#include "scrub.h"
#include "mirror_fixture.h"
#include "testutil.h"

static mir_config cfg;
static mir_scrubber *scrubber;

static void setup(void)
{
	mir_test_setup(&cfg, &scrubber);
}

static void teardown(void)
{
	mir_scrubber_free(scrubber);
}

/* The payload as the reader made it before: a new object, json_dumps. */
static char *reference(const char *line, bool event, const char *cls, const char *tenant,
		       int64_t time, int64_t ms)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *p = json_object();
	char *s;

	ck_assert_ptr_nonnull(o);
	if (!event && json_object_get(o, "attributes"))
		json_object_set(p, "attributes", json_object_get(o, "attributes"));
	json_object_set(p, "body", event ? o : json_object_get(o, "body"));
	json_object_set_new(p, "class", json_string(cls));
	json_object_set_new(p, "ingest_ms", json_integer(ms));
	json_object_set_new(p, "tenant", json_string(tenant));
	json_object_set_new(p, "time", json_integer(time));
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(p);
	json_decref(o);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void same_as_reference(const char *line, bool event)
{
	mir_record r;
	exai_error e;
	char *want;

	ck_assert_msg(mir_record_parse(&cfg, scrubber, "tenant-a", 1796000000123, line,
				       strlen(line), &r, &e) == EXAI_OK,
		      "%s: %s", line, e.msg);
	want = reference(line, event, r.cls->name, "tenant-a", r.time, r.ingest_ms);
	ck_assert_uint_eq(r.payload_len, strlen(want));
	ck_assert_msg(!memcmp(r.payload, want, r.payload_len), "%s\n got %.*s\nwant %s", line,
		      (int)r.payload_len, r.payload, want);
	ck_assert_int_eq(r.payload[r.payload_len], '\0');
	free(want);
	mir_record_clear(&r);
}

START_TEST(payload_is_the_canonical_dump)
{
	static const char *const lines[] = {
	    "{\"class\":\"telemetry\",\"time\":1796000000,\"body\":{\"cpu\":0.5},"
	    "\"attributes\":{\"host\":\"n1\",\"a\":true,\"z\":-3}}",
	    "{\"body\":\"only a body\",\"class\":\"telemetry\"}",
	    "{\"class\":\"audit\",\"body\":{\"z\":{\"y\":[3,2,1],\"b\":null},\"a\":"
	    "\"\\u00e9\\n\\t\\\"\\\\/\"},"
	    "\"time\":0}",
	    "{\"class\":\"telemetry\",\"body\":[1.5e300,-0.0,9223372036854775807,-"
	    "9223372036854775808,"
	    "{},[],\"\",false]}",
	    "{\"class\":\"telemetry\",\"body\":123456789}",
	    "{\"class\":\"telemetry\",\"body\":null,\"attributes\":{}}",
	    "{\"class\":\"telemetry\",\"body\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	};
	exai_event ev = {.time = 1796000123, .sequence = 6};
	char *ev_line;
	exai_error e;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		same_as_reference(lines[i], false);
	strcpy(ev.source, "exai-update");
	strcpy(ev.op, "apply");
	strcpy(ev.outcome, "refused");
	strcpy(ev.reason, "signature by 1C51780E3E465257 does not verify: \"x\"");
	ck_assert_ptr_nonnull(ev_line = exai_event_line(&ev, &e));
	same_as_reference(ev_line, true);
	free(ev_line);
}
END_TEST

START_TEST(scrubbed_values_stay_scrubbed)
{
	const char *line = "{\"class\":\"telemetry\",\"body\":\"mail ops-team@example.com now\","
			   "\"attributes\":{\"key\":\"AKIAIOSFODNN7EXAMPLE\"}}";
	const char *tail =
	    ",\"class\":\"telemetry\",\"ingest_ms\":5000,\"tenant\":\"t\",\"time\":5}";
	mir_record r;
	exai_error e;

	ck_assert_int_eq(mir_record_parse(&cfg, scrubber, "t", 5000, line, strlen(line), &r, &e),
			 EXAI_OK);
	ck_assert_ptr_null(strstr(r.payload, "ops-team@"));
	ck_assert_ptr_null(strstr(r.payload, "IOSFODNN7"));
	ck_assert_ptr_nonnull(strstr(r.payload, "REDACTED"));
	ck_assert_uint_gt(r.payload_len, strlen(tail));
	ck_assert_str_eq(r.payload + r.payload_len - strlen(tail), tail);
	mir_record_clear(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mirror_record");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, payload_is_the_canonical_dump);
	tcase_add_test(tc, scrubbed_values_stay_scrubbed);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
