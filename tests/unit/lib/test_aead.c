/* Check suite for lib/bundle/aead.c: the AD binds bundle, position and count; a tampered chunk
 * leaves no plaintext; manifest and chunk seals do not open each other. */
#include <stdlib.h>
#include <string.h>

#include "exai/aead.h"
#include "testutil.h"

static uint8_t key[32], id[32], other_id[32];

static void setup(void)
{
	memset(key, 0x11, sizeof(key));
	memset(id, 0x22, sizeof(id));
	memset(other_id, 0x23, sizeof(other_id));
}

START_TEST(open_refuses_any_other_place)
{
	enum { N = 70000 };
	uint8_t *pt = malloc(N), *ct = malloc(N + 16), *back = malloc(N);
	exai_error e;

	for (int i = 0; i < N; i++)
		pt[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(exai_chunk_seal(key, id, 3, 9, pt, N, ct, &e), EXAI_OK);
	ck_assert_int_eq(exai_chunk_open(key, id, 3, 9, ct, N + 16, back, &e), EXAI_OK);
	ck_assert_mem_eq(back, pt, N);
	/* another chunk number, another count (truncation), another bundle: all refused */
	ck_assert_int_eq(exai_chunk_open(key, id, 4, 9, ct, N + 16, back, &e), EXAI_EVERIFY);
	ck_assert_int_eq(exai_chunk_open(key, id, 3, 8, ct, N + 16, back, &e), EXAI_EVERIFY);
	ck_assert_int_eq(exai_chunk_open(key, other_id, 3, 9, ct, N + 16, back, &e), EXAI_EVERIFY);
	/* a flipped byte: refused, and the output buffer holds no plaintext */
	ct[N / 2] ^= 1;
	memset(back, 0xaa, N);
	ck_assert_int_eq(exai_chunk_open(key, id, 3, 9, ct, N + 16, back, &e), EXAI_EVERIFY);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(back[i], 0);
	ck_assert_int_eq(exai_chunk_open(key, id, 3, 9, ct, 10, back, &e), EXAI_EFORMAT);
	free(pt);
	free(ct);
	free(back);
}
END_TEST

START_TEST(manifest_seal_is_bound_to_the_bundle)
{
	const uint8_t text[] = "exai-bundle-manifest 1\n";
	uint8_t ct[sizeof(text) + 16], back[sizeof(text)];
	exai_error e;

	ck_assert_int_eq(exai_manifest_seal(key, id, text, sizeof(text), ct, &e), EXAI_OK);
	ck_assert_int_eq(exai_manifest_open(key, id, ct, sizeof(ct), back, &e), EXAI_OK);
	ck_assert_mem_eq(back, text, sizeof(text));
	ck_assert_int_eq(exai_manifest_open(key, other_id, ct, sizeof(ct), back, &e), EXAI_EVERIFY);
	/* a chunk seal of the same bytes is not a manifest seal (separate nonce domain and AD) */
	ck_assert_int_eq(exai_chunk_seal(key, id, 0, 1, text, sizeof(text), ct, &e), EXAI_OK);
	ck_assert_int_eq(exai_manifest_open(key, id, ct, sizeof(ct), back, &e), EXAI_EVERIFY);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, open_refuses_any_other_place);
	tcase_add_test(tc, manifest_seal_is_bound_to_the_bundle);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
