/*
 * mirror scrub: the built-in pattern pack (mirror/scrub_patterns.txt) through the PCRE2
 * scrubber: one positive and one near-miss negative per kind, the marker's exact form, IBANs
 * with the mod-97 check, several matches in one value, the JSON walk, and a broken pack.
 */
#include <stdlib.h>
#include <string.h>

#include "exai/secmem.h"
#include "scrub.h"
#include "testutil.h"

static mir_scrubber *s;
static uint64_t hits[MIR_SCRUB_KINDS];

static void setup(void)
{
	exai_error e;

	ck_assert_int_eq(exai_init(&e), EXAI_OK);
	ck_assert_int_eq(mir_scrubber_new(NULL, &s, &e), EXAI_OK);
	memset(hits, 0, sizeof(hits));
}

static void teardown(void)
{
	mir_scrubber_free(s);
}

static size_t kind_index(const char *kind)
{
	for (size_t i = 0; i < mir_scrubber_kinds(s); i++)
		if (!strcmp(mir_scrubber_kind(s, i), kind))
			return i;
	ck_abort_msg("no kind %s", kind);
	return 0;
}

/* @in scrubbed must be @want (NULL: unchanged), with @n hits of @kind. */
static void expect(const char *in, const char *want, const char *kind, uint64_t n)
{
	char *out = NULL;
	size_t len = 0;
	exai_error e;

	memset(hits, 0, sizeof(hits));
	ck_assert_int_eq(mir_scrub_text(s, in, strlen(in), &out, &len, hits, &e), EXAI_OK);
	if (!want) {
		ck_assert_msg(out == NULL, "'%s' was scrubbed to '%s'", in, out);
	} else {
		ck_assert_msg(out != NULL, "'%s' was not scrubbed", in);
		ck_assert_str_eq(out, want);
		ck_assert_uint_eq(len, strlen(want));
	}
	if (kind)
		ck_assert_uint_eq(hits[kind_index(kind)], n);
	free(out);
}

START_TEST(aws)
{
	expect("id=AKIAIOSFODNN7EXAMPLE;", "id=‹aws_access_key_id:AKIA****REDACTED›;",
	       "aws_access_key_id", 1);
	expect("ASIAY34FZKBOKMUTVV7A", "‹aws_access_key_id:ASIA****REDACTED›", "aws_access_key_id",
	       1);
	expect("id=AKIAIOSFODNN7EXAMPL", NULL, "aws_access_key_id", 0);	  /* 15 after AKIA */
	expect("id=AKIAIOSFODNN7EXAMPLEX", NULL, "aws_access_key_id", 0); /* 17: no boundary */
	expect("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	       "aws_secret_access_key = ‹aws_secret_access_key:****REDACTED›",
	       "aws_secret_access_key", 1);
	expect("\"AWS_SECRET_ACCESS_KEY\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
	       "\"AWS_SECRET_ACCESS_KEY\": \"‹aws_secret_access_key:****REDACTED›\"",
	       "aws_secret_access_key", 1);
	/* 40 base64 characters without the name, or 41 after it: not a secret key. */
	expect("checksum wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, "aws_secret_access_key",
	       0);
	expect("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYZ", NULL,
	       "aws_secret_access_key", 0);
}
END_TEST

START_TEST(gcp_and_pem)
{
	expect("{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE "
	       "KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n\", \"client_email\": 1}",
	       "{\"type\": \"service_account\", ‹gcp_service_account_key:****REDACTED›, "
	       "\"client_email\": 1}",
	       "gcp_service_account_key", 1);
	expect("\"private_key\": \"not a key\"", NULL, "gcp_service_account_key", 0);
	expect("a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb",
	       "a\n‹pem_private_key:****REDACTED›\nb", "pem_private_key", 1);
	expect("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----",
	       "‹pem_private_key:****REDACTED›", "pem_private_key", 1);
	/* A public key or a certificate is no secret; a BEGIN without END is not a block. */
	expect("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----", NULL,
	       "pem_private_key", 0);
	expect("-----BEGIN PRIVATE KEY-----\nMIIEvQ (cut)", NULL, "pem_private_key", 0);
}
END_TEST

START_TEST(github)
{
	expect("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used",
	       "token ‹github_token:ghp_****REDACTED› used", "github_token", 1);
	expect("ghs_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "‹github_token:ghs_****REDACTED›",
	       "github_token", 1);
	expect("ghp_abcdefghijklmnopqrstuvwxyz012345678", NULL, "github_token", 0); /* 35 */
	expect("ghx_abcdefghijklmnopqrstuvwxyz0123456789", NULL, "github_token", 0);
	expect("github_pat_11ABCDEFG0123456789abc_"
	       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
	       "‹github_fine_grained_token:github_p****REDACTED›", "github_fine_grained_token", 1);
	expect("github_pat_11ABCDEFG0123456789abcd_abcdefghijklmnop", NULL,
	       "github_fine_grained_token", 0);
}
END_TEST

START_TEST(jwt)
{
	expect("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
	       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	       "Bearer ‹jwt:eyJ****REDACTED›", "jwt", 1);
	/* Two parts only, or a first part that is not JSON: not a JWT. */
	expect("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0", NULL, "jwt", 0);
	expect("abJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", NULL,
	       "jwt", 0);
}
END_TEST

START_TEST(email)
{
	expect("from bob.smith+tag@mail.example.co.uk today", "from ‹email:****REDACTED› today",
	       "email", 1);
	expect("a@b.io, c.d@e.org", "‹email:****REDACTED›, ‹email:****REDACTED›", "email", 2);
	expect("user@localhost", NULL, "email", 0); /* no dot in the domain */
	expect("bob.smith@", NULL, "email", 0);
	expect("@example.com", NULL, "email", 0);
	expect("a..b@example.com (dots)", "a..‹email:****REDACTED› (dots)", "email", 1);
}
END_TEST

START_TEST(iban)
{
	expect("IBAN GB82 WEST 1234 5698 7654 32.", "IBAN ‹iban:GB82****REDACTED›.", "iban", 1);
	expect("DE89370400440532013000", "‹iban:DE89****REDACTED›", "iban", 1);
	expect("FR1420041010050500013M02606", "‹iban:FR14****REDACTED›", "iban", 1);
	/* One digit off: the mod-97 check fails, nothing is redacted. */
	expect("IBAN GB82 WEST 1234 5698 7654 33.", NULL, "iban", 0);
	expect("DE89370400440532013001", NULL, "iban", 0);
	/* Digit strings with letters in front that fail the check are not IBANs. */
	expect("GB00123456789012345678", NULL, "iban", 0);
	expect("XX00123456789012345679", NULL, "iban", 0);
}
END_TEST

START_TEST(json_walk)
{
	json_error_t je;
	json_t *v = json_loads("{\"a\":[\"x AKIAIOSFODNN7EXAMPLE\",{\"m\":\"a@b.io\"}],\"n\":5,"
			       "\"AKIAIOSFODNN7EXAMPLE\":true}",
			       0, &je);
	char *out;
	exai_error e;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(mir_scrub_json(s, v, hits, &e), EXAI_OK);
	out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(out,
			 "{\"AKIAIOSFODNN7EXAMPLE\":true,\"a\":[\"x "
			 "‹aws_access_key_id:AKIA****REDACTED›\",{\"m\":\"‹email:****REDACTED›\"}],"
			 "\"n\":5}");
	ck_assert_uint_eq(hits[kind_index("aws_access_key_id")], 1);
	ck_assert_uint_eq(hits[kind_index("email")], 1);
	free(out);
	json_decref(v);
}
END_TEST

START_TEST(bad_packs)
{
	mir_scrubber *t = NULL;
	exai_error e;

	ck_assert_int_eq(mir_scrubber_new("k\t0\t-\t(unclosed\n", &t, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "line 1 (k)"));
	ck_assert_int_eq(mir_scrubber_new("# c\nK\t0\t-\tx\n", &t, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "line 2"));
	ck_assert_int_eq(mir_scrubber_new("k\t9\t-\tx\n", &t, &e), EXAI_EFORMAT);
	ck_assert_int_eq(mir_scrubber_new("k\t0\tluhn\tx\n", &t, &e), EXAI_EFORMAT);
	ck_assert_int_eq(mir_scrubber_new("k 0 - x\n", &t, &e), EXAI_EFORMAT);
	ck_assert_int_eq(mir_scrubber_new("# only comments\n", &t, &e), EXAI_EFORMAT);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(mir_scrubber_new("k\t2\t-\tsecret[0-9]+\n", &t, &e), EXAI_OK);
	mir_scrubber_free(s);
	s = t;
	expect("a secret42 b", "a ‹k:se****REDACTED› b", "k", 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("mirror_scrub");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, aws);
	tcase_add_test(tc, gcp_and_pem);
	tcase_add_test(tc, github);
	tcase_add_test(tc, jwt);
	tcase_add_test(tc, email);
	tcase_add_test(tc, iban);
	tcase_add_test(tc, json_walk);
	tcase_add_test(tc, bad_packs);
	suite_add_tcase(su, tc);
	return tu_run(su);
}
