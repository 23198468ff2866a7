/*
 * Check suite for bpf/ratchet.c: the ratchet record of signed egress policies. What store
 * writes loads back; every truncation, every changed byte, a non-canonical number, an
 * unknown version, trailing bytes and an oversized file are refused; a missing record names
 * 'exai-egress init'; init never replaces a record; admit takes the larger of the record and
 * the pinned sequence.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exai/hash.h"
#include "ratchet.h"
#include "testutil.h"

static char *record_text(const char *dir, size_t *len)
{
	char path[EGRESS_RATCHET_PATH_MAX];
	uint8_t *t;

	snprintf(path, sizeof(path), "%s/%s", dir, EGRESS_RATCHET_FILE);
	t = tu_read(path, len);
	ck_assert_ptr_nonnull(t);
	return (char *)t;
}

/* @body with its checksum line appended, into @out (@cap bytes); the length. */
static size_t with_sum(const char *body, char *out, size_t cap)
{
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];

	ck_assert_int_eq(exai_sha256_buf(body, strlen(body), md, NULL), EXAI_OK);
	exai_hex_encode(md, sizeof(md), hex);
	return (size_t)snprintf(out, cap, "%ssha256 %s\n", body, hex);
}

START_TEST(stores_and_loads_back)
{
	char *dir = tu_tempdir(), *text;
	egress_ratchet r = {.sequence = (uint64_t)INT64_MAX, .has_sha = true, .created = 7}, got;
	exai_error e = {0};
	size_t len;

	for (int i = 0; i < EXAI_SHA256_LEN; i++)
		r.policy_sha256[i] = (uint8_t)(i * 37);
	ck_assert_int_eq(egress_ratchet_store(dir, &r, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_load(dir, &got, &e), EXAI_OK);
	ck_assert(got.sequence == r.sequence && got.has_sha && got.created == 7);
	ck_assert_mem_eq(got.policy_sha256, r.policy_sha256, EXAI_SHA256_LEN);
	text = record_text(dir, &len);
	ck_assert_int_eq(egress_ratchet_parse(text, len, "r", &got, &e), EXAI_OK);
	free(text);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(refuses_every_truncation_and_changed_byte)
{
	char *dir = tu_tempdir(), *text;
	egress_ratchet r = {.sequence = 5, .has_sha = true, .created = 1}, got;
	exai_error e = {0};
	size_t len;

	ck_assert_int_eq(egress_ratchet_store(dir, &r, &e), EXAI_OK);
	text = record_text(dir, &len);
	for (size_t n = 0; n < len; n++)
		ck_assert_msg(egress_ratchet_parse(text, n, "r", &got, &e) == EXAI_EFORMAT,
			      "a record cut at %zu bytes was accepted", n);
	for (size_t i = 0; i < len; i++) {
		text[i] ^= 0x01;
		ck_assert_msg(egress_ratchet_parse(text, len, "r", &got, &e) == EXAI_EFORMAT,
			      "a record changed at byte %zu was accepted", i);
		ck_assert_uint_eq(got.sequence, 0);
		text[i] ^= 0x01;
	}
	free(text);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(refuses_what_store_never_writes)
{
	static const char *const bodies[] = {
	    "exai-egress-ratchet 1\nsequence 05\npolicy-sha256 none\ncreated 1\n",
	    "exai-egress-ratchet 2\nsequence 5\npolicy-sha256 none\ncreated 1\n",
	    "exai-egress-ratchet 1\nsequence 9223372036854775808\npolicy-sha256 none\ncreated 1\n",
	    "exai-egress-ratchet 1\nsequence  5\npolicy-sha256 none\ncreated 1\n",
	    "exai-egress-ratchet 1\npolicy-sha256 none\nsequence 5\ncreated 1\n",
	    "exai-egress-ratchet 1\nsequence 5\npolicy-sha256 ABCD\ncreated 1\n",
	    "exai-egress-ratchet 1\nsequence 5\npolicy-sha256 none\n",
	    "exai-egress-ratchet 1\nsequence 5\npolicy-sha256 none\ncreated 1\nsequence 6\n",
	    "exai-egress-ratchet 1\nsequence -5\npolicy-sha256 none\ncreated 1\n",
	};
	char buf[1024];
	egress_ratchet got;
	exai_error e = {0};
	size_t n;

	n = with_sum("exai-egress-ratchet 1\nsequence 5\npolicy-sha256 none\ncreated 1\n", buf,
		     sizeof(buf));
	ck_assert_int_eq(egress_ratchet_parse(buf, n, "r", &got, &e), EXAI_OK);
	ck_assert_uint_eq(got.sequence, 5);
	ck_assert(!got.has_sha);
	buf[n] = 'x';
	ck_assert_int_eq(egress_ratchet_parse(buf, n + 1, "r", &got, &e), EXAI_EFORMAT);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		n = with_sum(bodies[i], buf, sizeof(buf));
		ck_assert_msg(egress_ratchet_parse(buf, n, "r", &got, &e) == EXAI_EFORMAT,
			      "accepted: %s", bodies[i]);
	}
	memset(buf, '\n', sizeof(buf));
	ck_assert_int_eq(egress_ratchet_parse(buf, EGRESS_RATCHET_MAX_BYTES + 1, "r", &got, &e),
			 EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "over 512 bytes"));
}
END_TEST

START_TEST(missing_names_init_and_init_never_replaces)
{
	char *dir = tu_tempdir(), sub[4096], *a, *b;
	egress_ratchet got, r = {.sequence = 9};
	exai_error e = {0};
	struct stat st;
	size_t la, lb;

	snprintf(sub, sizeof(sub), "%s/state", dir);
	ck_assert_int_eq(egress_ratchet_load(sub, &got, &e), EXAI_ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/state/ratchet: missing"));
	ck_assert_ptr_nonnull(strstr(e.msg, "run 'exai-egress init' once"));
	ck_assert_int_eq(egress_ratchet_init(sub, 3, &e), EXAI_OK);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(egress_ratchet_load(sub, &got, &e), EXAI_OK);
	ck_assert_uint_eq(got.sequence, 3);
	a = record_text(sub, &la);
	ck_assert_int_eq(egress_ratchet_init(sub, 0, &e), EXAI_EEXIST);
	ck_assert_ptr_nonnull(strstr(e.msg, "init never replaces one"));
	b = record_text(sub, &lb);
	ck_assert(la == lb && memcmp(a, b, la) == 0);
	ck_assert_int_eq(egress_ratchet_store(sub, &r, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_init(sub, 0, &e), EXAI_EEXIST);
	ck_assert_int_eq(egress_ratchet_load(sub, &got, &e), EXAI_OK);
	ck_assert_uint_eq(got.sequence, 9);
	ck_assert_int_eq(tu_count_entries(sub), 1); /* no temp file left */
	free(a);
	free(b);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static const uint8_t sha_a[EXAI_SHA256_LEN] = {0xa1}, sha_b[EXAI_SHA256_LEN] = {0xb2};

START_TEST(admits_against_the_larger)
{
	exai_error e = {0};

	ck_assert_int_eq(egress_ratchet_admit("R", 0, NULL, 0, NULL, 0, sha_a, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_admit("R", 0, NULL, 0, NULL, 1, sha_a, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 0, NULL, 5, sha_a, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_b, 7, sha_a, 7, sha_a, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 0, NULL, 6, sha_b, &e), EXAI_OK);
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 0, NULL, 4, sha_a, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "sequence 4 is older than sequence 5 in force (the "
					    "ratchet record R)"));
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 7, sha_a, 6, sha_a, &e),
			 EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "than sequence 7 in force (the pinned state)"));
	ck_assert_int_eq(egress_ratchet_admit("R", 0, NULL, 2, sha_a, 1, sha_a, &e), EXAI_EREFUSED);
	ck_assert_int_eq(egress_ratchet_admit("R", 3, sha_a, 0, NULL, 0, sha_a, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "the policy has no sequence"));
}
END_TEST

/* An equal sequence is a re-apply of the same bytes, never a second policy with the number. */
START_TEST(equal_sequence_needs_the_same_content)
{
	exai_error e = {0};

	/* the record names another policy at 5 */
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 0, NULL, 5, sha_b, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "sequence 5 is in force with different content (the "
					    "ratchet record R"));
	/* the pinned state names another policy at 5 (a record re-made by init has none) */
	ck_assert_int_eq(egress_ratchet_admit("R", 5, NULL, 5, sha_a, 5, sha_b, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "the pinned state names another policy"));
	ck_assert_int_eq(egress_ratchet_admit("R", 5, NULL, 5, sha_a, 5, sha_a, &e), EXAI_OK);
	/* both known: both must agree with it */
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 5, sha_b, 5, sha_a, &e),
			 EXAI_EREFUSED);
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 5, sha_a, 5, sha_a, &e), EXAI_OK);
	/* neither known: cannot be told apart, refused */
	ck_assert_int_eq(egress_ratchet_admit("R", 5, NULL, 3, sha_a, 5, sha_a, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "not recorded"));
	/* the record is higher than the pinned state: the pinned digest is of another sequence */
	ck_assert_int_eq(egress_ratchet_admit("R", 5, sha_a, 4, sha_b, 5, sha_a, &e), EXAI_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("egress_ratchet");
	TCase *tc = tcase_create("ratchet");

	tcase_add_test(tc, stores_and_loads_back);
	tcase_add_test(tc, refuses_every_truncation_and_changed_byte);
	tcase_add_test(tc, refuses_what_store_never_writes);
	tcase_add_test(tc, missing_names_init_and_init_never_replaces);
	tcase_add_test(tc, admits_against_the_larger);
	tcase_add_test(tc, equal_sequence_needs_the_same_content);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
