/*
 * cdigest: format 2's component digest (lib/bundle/cdigest.c) against known answers computed
 * independently (tests/vectors/bundle/check_bundle.py --digest, Python's hashlib) at the leaf
 * edges (0, 1, 16383, 16384, 16385 bytes, several leaves); the same digest whatever the pieces
 * update is fed in, and from leaf hashes made elsewhere (exai_cdigest_span, as the payload
 * workers do) mixed with bytes; and the refusals: more bytes than declared, a leaf hash out of
 * place, a final before every byte.
 */
#include <stdlib.h>
#include <string.h>

#include "exai/cdigest.h"
#include "exai/manifest.h"
#include "testutil.h"

#define N 200000

static uint8_t *src;

static void setup(void)
{
	exai_error e;

	ck_assert_int_eq(exai_sha256_backend_init(&e), EXAI_OK);
	src = malloc(N);
	ck_assert_ptr_nonnull(src);
	for (size_t i = 0; i < N; i++)
		src[i] = (uint8_t)((i * 2654435761u) >> 13);
}

static void teardown(void)
{
	free(src);
}

static void hex_of(const uint8_t md[EXAI_SHA256_LEN], char out[EXAI_SHA256_HEX])
{
	exai_hex_encode(md, EXAI_SHA256_LEN, out);
}

static const struct {
	size_t n;
	const char *hex;
} kat[] = {
    {0, "29b2d66607038a7116092b9a0f993aa2c1f5121b05dcd9b7438cd2156268cd8f"},
    {1, "17907ee53257e1d05703dbf16de78363d1f54952c6229c7097d6b1fb9bd1c9d7"},
    {16383, "d4614fc9e0426a9025f33c308ba49706d7bbef3b0ffc1c0f935121ff792af89e"},
    {16384, "ccc32e9ebcc27d516904db0fddde8868f1c62ae3235242f7e99df981a59aee6d"},
    {16385, "5098ce1a140e3e5e21653715e99bb82a3e0f2fd780c751ec65cd39875463c808"},
    {65536, "7cab0a0aa94b4e76e9fc4098fe22836a91587619801a1dcc261fe1f96dd28d56"},
    {200000, "e9b8c29fb2822baed60209af56ff2799b57e2436639d983709f2ad9506bfc259"},
};

START_TEST(known_answers)
{
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		uint8_t md[EXAI_SHA256_LEN];
		char hex[EXAI_SHA256_HEX];
		exai_error e;

		ck_assert_int_eq(exai_cdigest_buf(src, kat[i].n, md, &e), EXAI_OK);
		hex_of(md, hex);
		ck_assert_msg(!strcmp(hex, kat[i].hex), "%zu bytes: %s", kat[i].n, hex);
		/* and format 1 is plain SHA-256, which differs */
		uint8_t plain[EXAI_SHA256_LEN];
		ck_assert_int_eq(exai_component_digest(1, src, kat[i].n, plain, &e), EXAI_OK);
		ck_assert(memcmp(plain, md, sizeof(md)) != 0);
	}
}
END_TEST

/* Fed in pieces of every awkward size: the same digest as in one go. */
START_TEST(pieces_do_not_matter)
{
	static const size_t step[] = {1, 7, 4096, 16383, 16384, 16385, 65537, 100000};
	uint8_t want[EXAI_SHA256_LEN];
	exai_error e;

	ck_assert_int_eq(exai_cdigest_buf(src, N, want, &e), EXAI_OK);
	for (size_t s = 0; s < sizeof(step) / sizeof(step[0]); s++) {
		uint8_t md[EXAI_SHA256_LEN];
		exai_cdigest d;
		ck_assert_int_eq(exai_cdigest_init(&d, N, &e), EXAI_OK);
		for (size_t at = 0; at < N; at += step[s]) {
			size_t n = N - at < step[s] ? N - at : step[s];
			ck_assert_int_eq(exai_cdigest_update(&d, src + at, n, &e), EXAI_OK);
		}
		ck_assert_int_eq(exai_cdigest_final(&d, md, &e), EXAI_OK);
		ck_assert_mem_eq(md, want, sizeof(md));
	}
}
END_TEST

/* As the pipeline does it: a component at offset @off of a stream cut into chunks of @chunk;
 * the leaves wholly inside a chunk hashed by exai_cdigest_span, the straddling ones fed. */
static void as_the_pipeline(uint64_t off, uint64_t size, uint64_t chunk, uint8_t out[32])
{
	uint8_t(*leaves)[EXAI_SHA256_LEN] = calloc(exai_cdigest_span_max(chunk), 32);
	exai_cdigest d;
	exai_error e;

	ck_assert_ptr_nonnull(leaves);
	ck_assert_int_eq(exai_cdigest_init(&d, size, &e), EXAI_OK);
	for (uint64_t cs = off / chunk * chunk; cs < off + size; cs += chunk) {
		uint64_t a = (cs > off ? cs : off) - off;
		uint64_t b = (cs + chunk < off + size ? cs + chunk : off + size) - off;
		size_t k, used = 0;
		ck_assert_int_eq(exai_cdigest_span(size, a, b, src + a, leaves, &k, &e), EXAI_OK);
		for (uint64_t at = a; at < b;) {
			uint64_t j = at / EXAI_CDIGEST_LEAF;
			uint64_t lend = j * EXAI_CDIGEST_LEAF + exai_cdigest_leaf_len(size, j);
			if (exai_cdigest_leaf_inside(size, j, a, b)) {
				ck_assert_uint_lt(used, k);
				ck_assert_int_eq(exai_cdigest_add_leaf(&d, leaves[used++], &e),
						 EXAI_OK);
				at = lend;
			} else {
				uint64_t n = (lend < b ? lend : b) - at;
				ck_assert_int_eq(exai_cdigest_update(&d, src + at, n, &e), EXAI_OK);
				at += n;
			}
		}
		ck_assert_uint_eq(used, k);
	}
	ck_assert_int_eq(exai_cdigest_final(&d, out, &e), EXAI_OK);
	free(leaves);
}

START_TEST(leaf_hashes_from_elsewhere)
{
	static const uint64_t offs[] = {0, 1, 2060, 16384, 65535};
	static const uint64_t sizes[] = {1, 16384, 70000, 131072, N};
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 5; j++) {
			uint8_t want[32], got[32];
			exai_error e;
			ck_assert_int_eq(exai_cdigest_buf(src, sizes[j], want, &e), EXAI_OK);
			as_the_pipeline(offs[i], sizes[j], 65536, got);
			ck_assert_mem_eq(got, want, 32);
			as_the_pipeline(offs[i], sizes[j], 16384, got);
			ck_assert_mem_eq(got, want, 32);
		}
}
END_TEST

START_TEST(misuse_is_refused)
{
	uint8_t md[EXAI_SHA256_LEN] = {0};
	exai_cdigest d;
	exai_error e;

	ck_assert_int_eq(exai_cdigest_init(&d, 100, &e), EXAI_OK);
	ck_assert_int_eq(exai_cdigest_update(&d, src, 101, &e), EXAI_EINTERNAL);
	ck_assert_int_eq(exai_cdigest_update(&d, src, 10, &e), EXAI_OK);
	/* a leaf hash in the middle of a leaf */
	ck_assert_int_eq(exai_cdigest_add_leaf(&d, md, &e), EXAI_EINTERNAL);
	/* final before every byte: refused, and the digest is freed */
	ck_assert_int_eq(exai_cdigest_final(&d, md, &e), EXAI_EINTERNAL);
	ck_assert_str_eq(e.msg, "component digest: 10 of 100 bytes taken");
	exai_cdigest_free(&d); /* again: harmless */
	/* a leaf hash past the last leaf */
	ck_assert_int_eq(exai_cdigest_init(&d, 0, &e), EXAI_OK);
	ck_assert_int_eq(exai_cdigest_add_leaf(&d, md, &e), EXAI_EINTERNAL);
	exai_cdigest_free(&d);
	ck_assert_int_eq(exai_component_digest(3, src, 1, md, &e), EXAI_EINTERNAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cdigest");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, known_answers);
	tcase_add_test(tc, pieces_do_not_matter);
	tcase_add_test(tc, leaf_hashes_from_elsewhere);
	tcase_add_test(tc, misuse_is_refused);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
