/* Check suite for lib/bundle/minisign.c, sign.c and sitekey.c. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exai/file.h"
#include "exai/minisign.h"
#include "exai/sign.h"
#include "exai/sitekey.h"
#include "testutil.h"

static exai_seckey *fresh_key(void)
{
	exai_seckey *sk = NULL;
	exai_error e;

	ck_assert_int_eq(exai_seckey_generate(&sk, &e), EXAI_OK);
	return sk;
}

START_TEST(keyid_display_is_little_endian_upper_hex)
{
	const uint8_t id[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	char s[EXAI_KEYID_STR];
	uint8_t back[8];
	exai_error e;

	exai_keyid_str(id, s);
	ck_assert_str_eq(s, "EFCDAB8967452301");
	ck_assert_int_eq(exai_keyid_parse("efcdab8967452301", back, &e), EXAI_OK);
	ck_assert_mem_eq(back, id, 8);
	ck_assert_int_eq(exai_keyid_parse("EFCD", back, &e), EXAI_EFORMAT);
}
END_TEST

START_TEST(sign_verify_round_trip_and_tamper)
{
	exai_seckey *sk = fresh_key();
	exai_pubkey pk;
	exai_minisig sig;
	char *text = NULL;
	exai_error e;
	const uint8_t msg[] = "exai-bundle-index 1\n";

	exai_seckey_public(sk, &pk);
	ck_assert_int_eq(exai_minisig_sign(sk, msg, sizeof(msg) - 1, "file:index", &text, &e),
			 EXAI_OK);
	ck_assert_int_eq(exai_minisig_parse((uint8_t *)text, strlen(text), &sig, &e), EXAI_OK);
	ck_assert_str_eq(sig.alg, "ED");
	ck_assert_str_eq(sig.trusted_comment, "file:index");
	ck_assert_int_eq(exai_minisig_verify(&sig, &pk, msg, sizeof(msg) - 1, &e), EXAI_OK);
	/* A different message. */
	ck_assert_int_eq(exai_minisig_verify(&sig, &pk, msg, sizeof(msg) - 2, &e), EXAI_EVERIFY);
	ck_assert_ptr_nonnull(strstr(e.msg, "signature does not match"));
	/* A changed trusted comment. */
	sig.trusted_comment[0] = 'F';
	ck_assert_int_eq(exai_minisig_verify(&sig, &pk, msg, sizeof(msg) - 1, &e), EXAI_EVERIFY);
	ck_assert_ptr_nonnull(strstr(e.msg, "trusted comment"));
	/* Another key. */
	exai_seckey *other = fresh_key();
	exai_pubkey opk;
	exai_seckey_public(other, &opk);
	ck_assert_int_eq(exai_minisig_parse((uint8_t *)text, strlen(text), &sig, &e), EXAI_OK);
	ck_assert_int_eq(exai_minisig_verify(&sig, &opk, msg, sizeof(msg) - 1, &e), EXAI_EVERIFY);
	ck_assert_ptr_nonnull(strstr(e.msg, "not by the given key"));
	free(text);
	exai_seckey_free(sk);
	exai_seckey_free(other);
}
END_TEST

START_TEST(signature_parser_is_strict)
{
	exai_seckey *sk = fresh_key();
	char *text = NULL, *bad;
	exai_minisig sig;
	exai_error e;
	size_t n;

	ck_assert_int_eq(exai_minisig_sign(sk, (uint8_t *)"x", 1, NULL, &text, &e), EXAI_OK);
	n = strlen(text);
	/* Every truncation is refused (never a crash). */
	for (size_t cut = 0; cut + 1 < n; cut++)
		ck_assert_int_ne(exai_minisig_parse((uint8_t *)text, cut, &sig, &e), EXAI_OK);
	/* Extra line. */
	bad = malloc(n + 8);
	memcpy(bad, text, n);
	memcpy(bad + n, "extra\n", 6);
	ck_assert_int_eq(exai_minisig_parse((uint8_t *)bad, n + 6, &sig, &e), EXAI_EFORMAT);
	/* CRLF. */
	memcpy(bad, text, n);
	char *nl = strchr(bad, '\n');
	*nl = '\r';
	ck_assert_int_eq(exai_minisig_parse((uint8_t *)bad, n, &sig, &e), EXAI_EFORMAT);
	free(bad);
	free(text);
	exai_seckey_free(sk);
}
END_TEST

START_TEST(seckey_file_plain_and_password)
{
	char *d = tu_tempdir();
	char *p1 = exai_path_join(d, "k1.key"), *p2 = exai_path_join(d, "k2.key");
	exai_seckey *sk = fresh_key(), *back = NULL;
	struct stat st;
	exai_error e;

	ck_assert_int_eq(exai_seckey_write(p1, sk, NULL, EXAI_KDF_INTERACTIVE, &e), EXAI_OK);
	ck_assert_int_eq(stat(p1, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* O_EXCL: never overwrites. */
	ck_assert_int_eq(exai_seckey_write(p1, sk, NULL, EXAI_KDF_INTERACTIVE, &e), EXAI_EEXIST);
	ck_assert_int_eq(exai_seckey_load(p1, NULL, &back, &e), EXAI_OK);
	ck_assert_mem_eq(back->sk, sk->sk, 64);
	ck_assert_mem_eq(back->id, sk->id, 8);
	exai_seckey_free(back);

	ck_assert_int_eq(exai_seckey_write(p2, sk, "hunter2", EXAI_KDF_INTERACTIVE, &e), EXAI_OK);
	ck_assert_int_eq(exai_seckey_load(p2, NULL, &back, &e), EXAI_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "password-protected"));
	ck_assert_int_eq(exai_seckey_load(p2, "wrong", &back, &e), EXAI_EVERIFY);
	ck_assert_ptr_nonnull(strstr(e.msg, "wrong password for "));
	ck_assert_ptr_nonnull(strstr(e.msg, p2));
	/* What sign asks before prompting: is the file password-protected? */
	bool enc = true;
	ck_assert_int_eq(exai_seckey_file_encrypted(p1, &enc, &e), EXAI_OK);
	ck_assert(!enc);
	ck_assert_int_eq(exai_seckey_file_encrypted(p2, &enc, &e), EXAI_OK);
	ck_assert(enc);
	ck_assert_int_eq(exai_seckey_file_encrypted(d, &enc, &e) == EXAI_OK, 0);
	ck_assert_int_eq(exai_seckey_load(p2, "hunter2", &back, &e), EXAI_OK);
	ck_assert_mem_eq(back->sk, sk->sk, 64);
	exai_seckey_free(back);
	free(p1);
	free(p2);
	exai_seckey_free(sk);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(seckey_role_in_comment)
{
	char *d = tu_tempdir();
	char *p1 = exai_path_join(d, "root.key"), *p2 = exai_path_join(d, "plain.key");
	char *p3 = exai_path_join(d, "site");
	exai_seckey *sk = fresh_key(), *back = NULL;
	exai_key_role role;
	exai_site_pub sp;
	exai_error e;

	ck_assert_int_eq(sk->role, EXAI_KEY_ROLE_UNKNOWN);
	sk->role = EXAI_KEY_ROLE_ROOT;
	ck_assert_int_eq(exai_seckey_write(p1, sk, NULL, EXAI_KDF_INTERACTIVE, &e), EXAI_OK);
	ck_assert_int_eq(exai_seckey_load(p1, NULL, &back, &e), EXAI_OK);
	ck_assert_int_eq(back->role, EXAI_KEY_ROLE_ROOT);
	exai_seckey_free(back);
	ck_assert_int_eq(exai_keyfile_role(p1, &role, &e), EXAI_OK);
	ck_assert_int_eq(role, EXAI_KEY_ROLE_ROOT);
	ck_assert_str_eq(exai_key_role_name(role), "root");
	/* No role: minisign's own comment. */
	sk->role = EXAI_KEY_ROLE_UNKNOWN;
	ck_assert_int_eq(exai_seckey_write(p2, sk, NULL, EXAI_KDF_INTERACTIVE, &e), EXAI_OK);
	ck_assert_int_eq(exai_keyfile_role(p2, &role, &e), EXAI_OK);
	ck_assert_int_eq(role, EXAI_KEY_ROLE_UNKNOWN);
	/* A site key is recognised. */
	char *pub = NULL, *key = NULL;
	ck_assert_int_ge(asprintf(&pub, "%s.pub", p3), 0);
	ck_assert_int_ge(asprintf(&key, "%s.key", p3), 0);
	ck_assert_int_eq(exai_site_keygen(pub, key, &sp, &e), EXAI_OK);
	ck_assert_int_eq(exai_keyfile_role(key, &role, &e), EXAI_OK);
	ck_assert_int_eq(role, EXAI_KEY_ROLE_SITE);
	free(pub);
	free(key);
	free(p1);
	free(p2);
	free(p3);
	exai_seckey_free(sk);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(pubkey_file_round_trip)
{
	exai_seckey *sk = fresh_key();
	exai_pubkey pk, back;
	char *text;
	exai_error e;

	exai_seckey_public(sk, &pk);
	text = exai_pubkey_file_text(&pk);
	ck_assert_int_eq(exai_pubkey_parse((uint8_t *)text, strlen(text), &back, &e), EXAI_OK);
	ck_assert_mem_eq(&pk, &back, sizeof(pk));
	ck_assert_int_eq(exai_pubkey_parse((uint8_t *)"junk\n", 5, &back, &e), EXAI_EFORMAT);
	free(text);
	exai_seckey_free(sk);
}
END_TEST

START_TEST(site_keys_round_trip)
{
	char *d = tu_tempdir();
	char *pub = exai_path_join(d, "site.pub"), *key = exai_path_join(d, "site.key");
	exai_site_pub p1, p2;
	exai_site_key *k = NULL;
	struct stat st;
	exai_error e;

	ck_assert_int_eq(exai_site_keygen(pub, key, &p1, &e), EXAI_OK);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(exai_site_pub_load(pub, &p2, &e), EXAI_OK);
	ck_assert_mem_eq(&p1, &p2, sizeof(p1));
	ck_assert_int_eq(exai_site_key_load(key, &k, &e), EXAI_OK);
	ck_assert_mem_eq(k->pk, p1.pk, 32);
	exai_site_key_free(k);
	/* The public file is not a secret key and vice versa. */
	ck_assert_int_eq(exai_site_key_load(pub, &k, &e), EXAI_EFORMAT);
	ck_assert_int_eq(exai_site_pub_load(key, &p2, &e), EXAI_EFORMAT);
	ck_assert_int_eq(exai_site_keygen(pub, key, &p1, &e), EXAI_EEXIST);
	free(pub);
	free(key);
	tu_rmtree(d);
	free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("minisign");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keyid_display_is_little_endian_upper_hex);
	tcase_add_test(tc, sign_verify_round_trip_and_tamper);
	tcase_add_test(tc, signature_parser_is_strict);
	tcase_add_test(tc, seckey_file_plain_and_password);
	tcase_add_test(tc, seckey_role_in_comment);
	tcase_add_test(tc, pubkey_file_round_trip);
	tcase_add_test(tc, site_keys_round_trip);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
