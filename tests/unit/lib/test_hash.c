/* Check suite for lib/core/hash.c: SHA-256 known answers, hex and base64 codecs. */
#include <stdlib.h>
#include <string.h>

#include "exai/hash.h"
#include "testutil.h"

static void hex_of(const uint8_t *d, char *out)
{
	exai_hex_encode(d, EXAI_SHA256_LEN, out);
}

START_TEST(sha256_known_answers)
{
	/* FIPS 180-2 examples. */
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];
	exai_error e;

	ck_assert_int_eq(exai_sha256_buf("abc", 3, md, &e), EXAI_OK);
	hex_of(md, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(exai_sha256_buf("", 0, md, &e), EXAI_OK);
	hex_of(md, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(sha256_streaming_million_a)
{
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];
	char chunk[1000];
	exai_sha256 h;
	exai_error e;

	memset(chunk, 'a', sizeof(chunk));
	ck_assert_int_eq(exai_sha256_init(&h, &e), EXAI_OK);
	for (int i = 0; i < 1000; i++)
		exai_sha256_update(&h, chunk, sizeof(chunk));
	exai_sha256_final(&h, md);
	hex_of(md, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* exai_sha256_multi against OpenSSL one buffer at a time: every length around the block and
 * padding boundaries, groups of 1-4 buffers of different lengths, unaligned starts. */
START_TEST(sha256_multi_matches_single)
{
	enum { MAXLEN = 300 };
	uint8_t *buf = malloc(4 * (MAXLEN + 8));
	uint8_t want[EXAI_SHA256_LEN], got[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];
	exai_error e;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < 4 * (MAXLEN + 8); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t n = 1; n <= EXAI_SHA256_MULTI_MAX; n++) {
		for (size_t len = 0; len <= MAXLEN; len++) {
			const uint8_t *data[EXAI_SHA256_MULTI_MAX];
			size_t lens[EXAI_SHA256_MULTI_MAX];
			for (size_t j = 0; j < n; j++) {
				data[j] = buf + j * (MAXLEN + 8) + j; /* unaligned */
				lens[j] = (len + j * 37) % (MAXLEN + 1);
			}
			ck_assert_int_eq(exai_sha256_multi(n, data, lens, got, &e), EXAI_OK);
			for (size_t j = 0; j < n; j++) {
				ck_assert_int_eq(exai_sha256_buf(data[j], lens[j], want, &e),
						 EXAI_OK);
				ck_assert_msg(memcmp(want, got[j], EXAI_SHA256_LEN) == 0,
					      "n=%zu stream %zu len %zu differs", n, j, lens[j]);
			}
		}
	}
	free(buf);
}
END_TEST

/* Four chunk-sized buffers (4 MiB + a GCM tag), as the pipelines hash them; and a group whose
 * lengths differ by many blocks. */
START_TEST(sha256_multi_large)
{
	size_t big = (4u << 20) + 16;
	uint8_t *buf = malloc(4 * big);
	uint8_t want[EXAI_SHA256_LEN], got[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];
	exai_error e;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < 4 * big; i++)
		buf[i] = (uint8_t)((i * 2654435761u) >> 13);
	const uint8_t *data[4] = {buf, buf + big, buf + 2 * big, buf + 3 * big};
	size_t lens[4] = {big, big, big, big};
	ck_assert_int_eq(exai_sha256_multi(4, data, lens, got, &e), EXAI_OK);
	for (size_t j = 0; j < 4; j++) {
		ck_assert_int_eq(exai_sha256_buf(data[j], lens[j], want, &e), EXAI_OK);
		ck_assert(memcmp(want, got[j], EXAI_SHA256_LEN) == 0);
	}
	size_t odd[4] = {big, 1000, 64 * 1000 + 55, 3};
	ck_assert_int_eq(exai_sha256_multi(4, data, odd, got, &e), EXAI_OK);
	for (size_t j = 0; j < 4; j++) {
		ck_assert_int_eq(exai_sha256_buf(data[j], odd[j], want, &e), EXAI_OK);
		ck_assert(memcmp(want, got[j], EXAI_SHA256_LEN) == 0);
	}
	ck_assert_int_eq(exai_sha256_multi(0, data, lens, got, &e), EXAI_OK);
	ck_assert_int_eq(exai_sha256_multi(5, data, lens, got, &e), EXAI_EINTERNAL);
	/* test_hash_generic runs this suite with EXAI_SHA_GENERIC=1: the OpenSSL path. */
	const char *generic = getenv("EXAI_SHA_GENERIC");
	if (generic && *generic == '1')
		ck_assert_uint_eq(exai_sha256_multi_width(), 1);
	else
		ck_assert_uint_ge(exai_sha256_multi_width(), 1);
	ck_assert_uint_le(exai_sha256_multi_width(), EXAI_SHA256_MULTI_MAX);
	free(buf);
}
END_TEST

START_TEST(sha256_file_matches_and_enforces_cap)
{
	char *d = tu_tempdir();
	char *p = tu_write(d, "f", "abc", 3);
	uint8_t md[EXAI_SHA256_LEN], want[EXAI_SHA256_LEN];
	uint64_t size = 0;
	exai_error e;

	ck_assert_int_eq(exai_sha256_file(p, 3, md, &size, NULL, &e), EXAI_OK);
	ck_assert_uint_eq(size, 3);
	ck_assert_int_eq(exai_sha256_buf("abc", 3, want, &e), EXAI_OK);
	ck_assert_mem_eq(md, want, sizeof(md));
	ck_assert_int_eq(exai_sha256_file(p, 2, md, &size, NULL, &e), EXAI_ETOOBIG);
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(hex_round_trip_and_strictness)
{
	uint8_t in[4] = {0x00, 0xab, 0xCD, 0xff}, out[4];
	char hex[9];
	exai_error e;

	exai_hex_encode(in, 4, hex);
	ck_assert_str_eq(hex, "00abcdff");
	ck_assert_int_eq(exai_hex_decode("00ABcdff", out, 4, &e), EXAI_OK);
	ck_assert_mem_eq(in, out, 4);
	ck_assert_int_eq(exai_hex_decode("00abcdf", out, 4, &e), EXAI_EFORMAT);
	ck_assert_int_eq(exai_hex_decode("00abcdfg", out, 4, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "hex: bad digit at position 7");
	ck_assert_int_eq(exai_hex_decode("00abcdff00", out, 4, &e), EXAI_EFORMAT);
}
END_TEST

START_TEST(base64_rfc4648_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",	      "Zg==",	  "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	uint8_t out[16];
	size_t n;
	exai_error e;

	for (int i = 0; i < 7; i++) {
		char *b = exai_base64_encode((const uint8_t *)plain[i], strlen(plain[i]));
		ck_assert_str_eq(b, enc[i]);
		free(b);
		ck_assert_int_eq(
		    exai_base64_decode(enc[i], strlen(enc[i]), out, sizeof(out), &n, &e), EXAI_OK);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert_mem_eq(out, plain[i], n);
	}
	ck_assert_int_eq(exai_base64_decode("Zm9v!", 5, out, sizeof(out), &n, &e), EXAI_EFORMAT);
	ck_assert_int_eq(exai_base64_decode("Zg", 2, out, sizeof(out), &n, &e), EXAI_EFORMAT);
	/* Bytes >= 0x80 are not base64 (libsodium 1.0.18 alone would decode these). */
	ck_assert_int_eq(exai_base64_decode("Zm\xff\xff", 4, out, sizeof(out), &n, &e),
			 EXAI_EFORMAT);
	ck_assert_int_eq(exai_base64_decode("Zm9vYmFy", 8, out, 5, &n, &e), EXAI_EFORMAT);
}
END_TEST

START_TEST(memeq_compares)
{
	ck_assert(exai_memeq("abcd", "abcd", 4));
	ck_assert(!exai_memeq("abcd", "abce", 4));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sha256_known_answers);
	tcase_add_test(tc, sha256_streaming_million_a);
	tcase_add_test(tc, sha256_multi_matches_single);
	tcase_add_test(tc, sha256_multi_large);
	tcase_add_test(tc, sha256_file_matches_and_enforces_cap);
	tcase_add_test(tc, hex_round_trip_and_strictness);
	tcase_add_test(tc, base64_rfc4648_vectors);
	tcase_add_test(tc, memeq_compares);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
