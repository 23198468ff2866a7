/* Check suite for lib/src/root.c: canonical form, thresholds, chain rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/root.h"
#include "exai/sign.h"
#include "testutil.h"

static exai_seckey *keys[6];

static void setup(void)
{
	exai_error e;

	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(exai_seckey_generate(&keys[i], &e), EXAI_OK);
}

static void teardown(void)
{
	for (int i = 0; i < 6; i++)
		exai_seckey_free(keys[i]);
}

/* A root with root keys [r0, r0+nr) and release keys [4, 6). */
static exai_root *make_root(uint64_t version, int r0, int nr, unsigned thr)
{
	exai_root *r = calloc(1, sizeof(*r));

	r->version = version;
	r->created = 1000 + version;
	r->root_threshold = thr;
	r->release_threshold = 2;
	for (int i = 0; i < nr; i++)
		exai_seckey_public(keys[r0 + i], &r->root_keys[r->n_root_keys++]);
	exai_seckey_public(keys[4], &r->release_keys[r->n_release_keys++]);
	exai_seckey_public(keys[5], &r->release_keys[r->n_release_keys++]);
	return r;
}

static void sign_with(exai_root *r, int k)
{
	size_t len = 0;
	uint8_t *msg = exai_root_signed_message(r, &len);
	exai_root_sig *s = &r->sigs[r->n_sigs++];

	memcpy(s->id, keys[k]->id, 8);
	exai_ed25519_sign(keys[k], msg, len, s->sig);
	free(msg);
}

static exai_root *reparse(const exai_root *r)
{
	char *text = exai_root_file_text(r);
	exai_root *out = NULL;
	exai_error e;

	ck_assert_msg(exai_root_parse((uint8_t *)text, strlen(text), "root", &out, &e) == EXAI_OK,
		      "%s", e.msg);
	free(text);
	return out;
}

START_TEST(round_trip_and_self_threshold)
{
	exai_root *r = make_root(1, 0, 3, 2), *p;
	exai_error e;

	sign_with(r, 0);
	p = reparse(r);
	ck_assert_int_eq(exai_root_check_self(p, &e), EXAI_EVERIFY);
	ck_assert_str_eq(
	    e.msg, "root version 1: 1 valid signature(s) of its own root keys, threshold is 2");
	free(p);
	/* The same key twice counts once. */
	sign_with(r, 0);
	p = reparse(r);
	ck_assert_int_eq(exai_root_check_self(p, &e), EXAI_EVERIFY);
	free(p);
	sign_with(r, 2);
	p = reparse(r);
	ck_assert_int_eq(exai_root_check_self(p, &e), EXAI_OK);
	ck_assert_uint_eq(p->n_release_keys, 2);
	ck_assert_ptr_nonnull(exai_root_release_key(p, keys[4]->id));
	ck_assert_ptr_null(exai_root_release_key(p, keys[0]->id));
	free(p);
	free(r);
}
END_TEST

START_TEST(chain_needs_old_and_new_thresholds)
{
	exai_root *r1 = make_root(1, 0, 2, 2);
	exai_root *r2 = make_root(2, 2, 2, 2); /* rotates to keys 2,3 */
	exai_error e;

	sign_with(r2, 2);
	sign_with(r2, 3);
	ck_assert_int_eq(exai_root_check_successor(r1, r2, &e), EXAI_EVERIFY);
	ck_assert_ptr_nonnull(strstr(e.msg, "by root keys of version 1"));
	sign_with(r2, 0);
	ck_assert_int_eq(exai_root_check_successor(r1, r2, &e), EXAI_EVERIFY);
	sign_with(r2, 1);
	ck_assert_int_eq(exai_root_check_successor(r1, r2, &e), EXAI_OK);
	/* Version must be exactly N+1. */
	r2->version = 3;
	ck_assert_int_eq(exai_root_check_successor(r1, r2, &e), EXAI_EVERIFY);
	ck_assert_str_eq(e.msg, "root version 3 cannot follow version 1");
	free(r1);
	free(r2);
}
END_TEST

START_TEST(parser_refuses_non_canonical_and_bad_fields)
{
	exai_root *r = make_root(1, 0, 1, 1), *p = NULL;
	char *text, *mut;
	exai_error e;
	size_t n;

	sign_with(r, 0);
	text = exai_root_file_text(r);
	n = strlen(text);
	mut = malloc(n + 64);
	/* Threshold above the key count. */
	memcpy(mut, text, n + 1);
	*strstr(mut, "root-threshold 1") = '\0';
	char *rest = strstr(text, "root-threshold 1") + strlen("root-threshold 1");
	snprintf(mut + strlen(mut), n + 64 - strlen(mut), "root-threshold 2%s", rest);
	ck_assert_int_eq(exai_root_parse((uint8_t *)mut, strlen(mut), "r", &p, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "root-threshold 2 is not between"));
	/* Leading zero (non-canonical number). */
	memcpy(mut, text, n + 1);
	char *v = strstr(mut, "version 1");
	memmove(v + 9, v + 8, strlen(v + 8) + 1);
	v[8] = '0';
	ck_assert_int_eq(exai_root_parse((uint8_t *)mut, strlen(mut), "r", &p, &e), EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "line 2") != NULL, "%s", e.msg);
	/* Every single-byte truncation is refused or parses to a valid root. */
	for (size_t cut = 0; cut < n; cut++) {
		if (exai_root_parse((uint8_t *)text, cut, "r", &p, &e) == EXAI_OK) {
			ck_assert(p->n_sigs == 0);
			free(p);
			p = NULL;
		}
	}
	free(mut);
	free(text);
	free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("root");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip_and_self_threshold);
	tcase_add_test(tc, chain_needs_old_and_new_thresholds);
	tcase_add_test(tc, parser_refuses_non_canonical_and_bad_fields);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
