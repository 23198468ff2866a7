/* Check suite for lib/core/event.c: the audit event line (exai/event.h), against the vectors in
 * tests/vectors/events/ (which check_events.py, an independent implementation, also reads),
 * a property test of encode/parse, and the UTF-8 sanitiser for reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exai/event.h"
#include "testutil.h"

static char *vector_path(const char *name)
{
	const char *dir = getenv("EXAI_TEST_VECTORS");
	char *p = NULL;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_gt(asprintf(&p, "%s/events/%s", dir, name), 0);
	return p;
}

static int same_event(const exai_event *a, const exai_event *b)
{
	return !strcmp(a->source, b->source) && a->time == b->time && !strcmp(a->op, b->op) &&
	       !strcmp(a->bundle_id, b->bundle_id) && !strcmp(a->channel, b->channel) &&
	       a->sequence == b->sequence && !strcmp(a->signers, b->signers) &&
	       !strcmp(a->outcome, b->outcome) && !strcmp(a->reason, b->reason);
}

static exai_event sample(void)
{
	exai_event ev;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.source, "exai-update");
	ev.time = 1764460800;
	strcpy(ev.op, "apply");
	memset(ev.bundle_id, 'a', 64);
	strcpy(ev.channel, "stable");
	ev.sequence = 6;
	strcpy(ev.signers, "1C51780E3E465257");
	strcpy(ev.outcome, "ok");
	return ev;
}

START_TEST(encodes_the_documented_line)
{
	exai_event ev = sample(), back;
	exai_error e;
	char *line = exai_event_line(&ev, &e);
	char want[512];

	snprintf(want, sizeof(want),
		 "{\"v\":1,\"source\":\"exai-update\",\"time\":1764460800,\"op\":\"apply\","
		 "\"bundle_id\":\"%s\",\"channel\":\"stable\",\"sequence\":6,"
		 "\"signers\":\"1C51780E3E465257\",\"outcome\":\"ok\",\"reason\":\"\"}",
		 ev.bundle_id);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(exai_event_parse(line, strlen(line), &back, &e), EXAI_OK);
	ck_assert(same_event(&back, &ev));
	free(line);
}
END_TEST

START_TEST(vectors_agree)
{
	char *vp = vector_path("valid.jsonl"), *ip = vector_path("invalid.txt");
	size_t len = 0;
	char *text = (char *)tu_read(vp, &len), *save = NULL;
	int n_valid = 0, n_invalid = 0;
	exai_error e;

	ck_assert_ptr_nonnull(text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		exai_event ev;
		ck_assert_msg(exai_event_parse(l, strlen(l), &ev, &e) == EXAI_OK,
			      "valid vector %d refused: %s", n_valid + 1, e.msg);
		char *again = exai_event_line(&ev, &e);
		ck_assert_ptr_nonnull(again);
		ck_assert_str_eq(again, l); /* canonical: the same bytes back */
		free(again);
		n_valid++;
	}
	free(text);
	text = (char *)tu_read(ip, &len);
	ck_assert_ptr_nonnull(text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(l, '\t');
		exai_event ev;
		ck_assert_ptr_nonnull(tab);
		*tab = '\0';
		exai_status rc = exai_event_parse(tab + 1, strlen(tab + 1), &ev, &e);
		ck_assert_msg(rc == EXAI_EFORMAT, "invalid vector %d (%s) accepted", n_invalid + 1,
			      l);
		ck_assert_msg(strstr(e.msg, l) != NULL,
			      "invalid vector %d: message '%s' lacks '%s'", n_invalid + 1, e.msg,
			      l);
		n_invalid++;
	}
	free(text);
	ck_assert_int_ge(n_valid, 5);
	ck_assert_int_ge(n_invalid, 30);
	free(vp);
	free(ip);
}
END_TEST

/* The encoder refuses what the parser would refuse, naming the field. */
START_TEST(encoder_refuses_bad_fields)
{
	exai_event ev = sample();
	exai_error e;

	strcpy(ev.channel, "no spaces");
	ck_assert_ptr_null(exai_event_line(&ev, &e));
	ck_assert_int_eq(e.code, EXAI_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'channel'"));
	ev = sample();
	ev.sequence = 1ull << 63;
	ck_assert_ptr_null(exai_event_line(&ev, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "'sequence'"));
	ev = sample();
	strcpy(ev.reason, "\xff not UTF-8");
	ck_assert_ptr_null(exai_event_line(&ev, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "'reason'"));
	ev = sample();
	strcpy(ev.signers, "1C51780E3E465257,1C51780E3E465257");
	ck_assert_ptr_null(exai_event_line(&ev, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "'signers'"));
}
END_TEST

/* Whatever bytes an error message holds, the sanitised reason is valid UTF-8 within its
 * buffer, keeps valid text as it was, and marks a cut; and the event then always encodes and
 * parses back to itself. Random events, seed printed. */
START_TEST(random_events_round_trip)
{
	unsigned seed = (unsigned)time(NULL);
	exai_error e;

	fprintf(stderr, "test_event: seed %u\n", seed);
	srand(seed);
	for (int round = 0; round < 2000; round++) {
		exai_event ev = sample(), back;
		char raw[6000];
		size_t n = (size_t)(rand() % 5000);
		for (size_t i = 0; i < n; i++) {
			int k = rand() % 8;
			raw[i] = k == 0	  ? (char)(1 + rand() % 255) /* any byte */
				 : k == 1 ? (char)(1 + rand() % 31)  /* control */
				 : k == 2 ? "\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80"[rand() % 9]
					  : (char)(' ' + rand() % 95);
		}
		raw[n] = '\0';
		exai_event_text(ev.reason, sizeof(ev.reason), raw);
		ck_assert_uint_le(strlen(ev.reason), EXAI_EVENT_REASON_MAX);
		ev.time = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) & ((1ull << 63) - 1);
		ev.sequence = (uint64_t)rand();
		if (rand() % 3 == 0)
			ev.signers[0] = ev.channel[0] = ev.bundle_id[0] = '\0';
		char *line = exai_event_line(&ev, &e);
		ck_assert_msg(line != NULL, "round %d: %s", round, e.msg);
		ck_assert_uint_le(strlen(line), EXAI_EVENT_LINE_MAX);
		ck_assert_msg(exai_event_parse(line, strlen(line), &back, &e) == EXAI_OK,
			      "round %d: %s", round, e.msg);
		ck_assert(same_event(&back, &ev));
		free(line);
	}
}
END_TEST

START_TEST(text_sanitiser)
{
	char out[16];

	exai_event_text(out, sizeof(out), "plain");
	ck_assert_str_eq(out, "plain");
	exai_event_text(out, sizeof(out),
			"a\xff"
			"b");
	ck_assert_str_eq(out, "a\xef\xbf\xbd"
			      "b");			   /* U+FFFD for the stray byte */
	exai_event_text(out, sizeof(out), "\xed\xa0\x80"); /* a surrogate: 3 stray bytes */
	ck_assert_str_eq(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	exai_event_text(out, sizeof(out), "0123456789abcdefghij");
	ck_assert_str_eq(out, "0123456789ab..."); /* 15 bytes and the NUL: the cut is marked */
	exai_event_text(out, sizeof(out), "0123456789abc\xc3\xa9");
	ck_assert_str_eq(out, "0123456789abc\xc3\xa9"); /* 15 bytes: it all fits, no cut */
	exai_event_text(out, sizeof(out), "0123456789a\xc3\xa9xyz");
	ck_assert_str_eq(out, "0123456789a..."); /* never half a character */
	exai_event_text(out, sizeof(out), NULL);
	ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, encodes_the_documented_line);
	tcase_add_test(tc, vectors_agree);
	tcase_add_test(tc, encoder_refuses_bad_fields);
	tcase_add_test(tc, random_events_round_trip);
	tcase_add_test(tc, text_sanitiser);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
