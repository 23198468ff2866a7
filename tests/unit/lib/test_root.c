/* Check suite for lib/bundle/root.c: canonical form, thresholds, chain rules. */
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

/* One public key is one key, whatever id it is listed under: a root listing a key twice
 * (under two ids, or as both root and release key) is refused, and counting goes by public
 * key, so a copy under another id never adds a signature. */
START_TEST(one_public_key_counts_once)
{
	exai_root *r = make_root(1, 0, 3, 2);
	exai_pubkey copies[3];
	char *text;
	exai_root *p = NULL;
	exai_error e;

	/* Release key 5 listed again under a rewritten id. */
	r->release_keys[r->n_release_keys] = r->release_keys[1];
	r->release_keys[r->n_release_keys].id[0] ^= 0x5a;
	r->n_release_keys++;
	ck_assert_int_eq(exai_root_validate(r, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "same public key is listed twice"));
	text = exai_root_file_text(r);
	ck_assert_int_ne(exai_root_parse((uint8_t *)text, strlen(text), "root", &p, &e), EXAI_OK);
	ck_assert_ptr_nonnull(strstr(e.msg, "same public key is listed twice"));
	free(text);
	r->n_release_keys--;
	/* The same for root keys. */
	r->root_keys[r->n_root_keys] = r->root_keys[0];
	r->root_keys[r->n_root_keys].id[7] ^= 1;
	r->n_root_keys++;
	ck_assert_int_eq(exai_root_validate(r, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "root key"));
	r->n_root_keys--;
	/* A release key that is also a root key. */
	exai_seckey_public(keys[0], &r->release_keys[r->n_release_keys++]);
	ck_assert_int_eq(exai_root_validate(r, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "also a root key"));
	r->n_release_keys--;
	ck_assert_int_eq(exai_root_validate(r, &e), EXAI_OK);

	/* Counting: a key list with one public key under three ids (as a caller could pass)
	 * and three signatures, each under one of the ids, count as one. */
	for (int i = 0; i < 3; i++) {
		exai_seckey_public(keys[0], &copies[i]);
		/* XOR, not assignment: no copy may carry key 0's real id by chance, or its
		 * signatures would rightly count for key 0 when the real list is used below. */
		copies[i].id[0] ^= (uint8_t)(0x10 + i);
	}
	for (int i = 0; i < 3; i++) {
		size_t len = 0;
		uint8_t *msg = exai_root_signed_message(r, &len);
		exai_root_sig *s = &r->sigs[r->n_sigs++];
		memcpy(s->id, copies[i].id, 8);
		exai_ed25519_sign(keys[0], msg, len, s->sig);
		free(msg);
	}
	ck_assert_uint_eq(exai_root_count_valid(r, copies, 3), 1);
	/* Distinct keys do add up. */
	sign_with(r, 1);
	sign_with(r, 2);
	ck_assert_uint_eq(exai_root_count_valid(r, r->root_keys, r->n_root_keys), 2);
	free(r);
}
END_TEST

/* Version and times are ratchets in signed 64-bit columns: 2^63 and above are refused. */
START_TEST(numbers_stop_at_int64_max)
{
	exai_root *r = make_root(1, 0, 1, 1), *p = NULL;
	char *text, *big;
	exai_error e;

	sign_with(r, 0);
	text = exai_root_file_text(r);
	big = malloc(strlen(text) + 64);
	/* created 1001 -> 9223372036854775808 (2^63); then 2^63-1 parses (but the signature no
	 * longer verifies, which is not what this checks). */
	char *at = strstr(text, "created 1001\n");
	ck_assert_ptr_nonnull(at);
	sprintf(big, "%.*screated 9223372036854775808\n%s", (int)(at - text), text,
		at + strlen("created 1001\n"));
	ck_assert_int_ne(exai_root_parse((uint8_t *)big, strlen(big), "root", &p, &e), EXAI_OK);
	ck_assert_ptr_nonnull(strstr(e.msg, "9223372036854775807"));
	free(big);
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
	tcase_add_test(tc, one_public_key_counts_once);
	tcase_add_test(tc, numbers_stop_at_int64_max);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
