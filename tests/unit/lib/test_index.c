/* Check suite for lib/bundle/index.c and manifest.c: round trips and every validation rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/index.h"
#include "exai/manifest.h"
#include "testutil.h"

static exai_index *sample(void)
{
	exai_index *ix = calloc(1, sizeof(*ix));

	memset(ix->bundle_id, 0xab, sizeof(ix->bundle_id));
	strcpy(ix->channel, "stable");
	ix->sequence = 5;
	ix->created = 100;
	ix->expires = 200;
	ix->min_root_version = 1;
	strcpy(ix->classes[ix->n_classes++], "gpu");
	strcpy(ix->sites[ix->n_sites++], "site-b");
	strcpy(ix->sites[ix->n_sites++], "site-a");
	ix->encryption = EXAI_ENC_AES256GCM;
	ix->chunk_size = 65536;
	ix->payload_size = 65537;
	ix->chunk_count = 2;
	memset(ix->recipients[ix->n_recipients++], 0xab, 8); /* shown as ABAB...: has letters */
	const char *names[] = {"payload", "manifest", "keys", "chunks"};
	uint64_t sizes[] = {65537 + 32, 300, 88, 64};
	for (int i = 0; i < 4; i++) {
		strcpy(ix->files[ix->n_files].name, names[i]);
		ix->files[ix->n_files++].size = sizes[i];
	}
	exai_index_sort(ix);
	return ix;
}

static exai_status reparse(const exai_index *ix, exai_index **out, exai_error *e)
{
	char *t = exai_index_text(ix);
	exai_status rc = exai_index_parse((uint8_t *)t, strlen(t), out, e);

	free(t);
	return rc;
}

START_TEST(index_round_trip_sorted)
{
	exai_index *ix = sample(), *back = NULL;
	exai_error e;

	ck_assert_msg(reparse(ix, &back, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_str_eq(back->sites[0], "site-a");
	ck_assert_str_eq(back->files[0].name, "chunks");
	ck_assert_uint_eq(exai_index_chunk_plain_len(back, 0), 65536);
	ck_assert_uint_eq(exai_index_chunk_plain_len(back, 1), 1);
	ck_assert_uint_eq(exai_index_chunk_plain_len(back, 2), 0);
	free(back);
	free(ix);
}
END_TEST

START_TEST(index_validation_rules)
{
	exai_index *ix;
	exai_index *back = NULL;
	exai_error e;

#define EXPECT_BAD(mutation, text)                               \
	ix = sample();                                           \
	mutation;                                                \
	ck_assert_int_eq(reparse(ix, &back, &e), EXAI_EFORMAT);  \
	ck_assert_msg(strstr(e.msg, text) != NULL, "%s", e.msg); \
	free(ix);

	EXPECT_BAD(ix->expires = 100, "expires is not after created");
	EXPECT_BAD(ix->chunk_size = 65535, "power of two");
	EXPECT_BAD(ix->chunk_size = 1u << 27, "power of two");
	EXPECT_BAD(ix->chunk_count = 3, "chunk-count 3 does not match");
	EXPECT_BAD(ix->n_recipients = 0, "need recipients");
	EXPECT_BAD(ix->encryption = EXAI_ENC_NONE, "need recipients");
	EXPECT_BAD(ix->files[3].size = 65537, "payload missing or wrong size");
	EXPECT_BAD(ix->files[0].size = 63, "chunks missing or wrong size");
	EXPECT_BAD((ix->n_classes = 0, ix->n_sites = 0), "no target");
	EXPECT_BAD(ix->min_root_version = 0, "min-root-version");
	EXPECT_BAD(ix->files[3].sha256[0] = 1, "payload hash must equal");
	EXPECT_BAD(strcpy(ix->files[1].name, "keyz"), "file name");
	/* Ratchet values stop at 2^63-1, where the state database's integers do. */
	EXPECT_BAD(ix->sequence = 1ull << 63, "'sequence' 9223372036854775808 is over");
	EXPECT_BAD(ix->sequence = UINT64_MAX, "largest allowed value, 2^63-1");
	EXPECT_BAD((ix->created = 1ull << 63, ix->expires = UINT64_MAX), "'created'");
	EXPECT_BAD(ix->expires = 1ull << 63, "'expires'");
	EXPECT_BAD(ix->min_root_version = 1ull << 63, "'min-root-version'");
#undef EXPECT_BAD
	ix = sample();
	ix->sequence = INT64_MAX;
	ix->expires = INT64_MAX;
	ck_assert_msg(reparse(ix, &back, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_uint_eq(back->sequence, (uint64_t)INT64_MAX);
	free(back);
	free(ix);
}
END_TEST

START_TEST(index_refuses_non_canonical_text)
{
	exai_index *ix = sample(), *back = NULL;
	char *t = exai_index_text(ix), *m;
	exai_error e;
	size_t n = strlen(t);

	m = malloc(n + 8);
	/* lower-case key id */
	memcpy(m, t, n + 1);
	char *r = strstr(m, "recipient ") + 10;
	for (int i = 0; i < 16; i++)
		if (r[i] >= 'A' && r[i] <= 'F')
			r[i] = (char)(r[i] - 'A' + 'a');
	ck_assert_str_ne(m, t);
	ck_assert_int_eq(exai_index_parse((uint8_t *)m, n, &back, &e), EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "not in canonical form") != NULL, "%s", e.msg);
	/* leading zero */
	memcpy(m, t, n + 1);
	char *s = strstr(m, "sequence 5");
	memmove(s + 10, s + 9, strlen(s + 9) + 1);
	s[9] = '0';
	ck_assert_int_eq(exai_index_parse((uint8_t *)m, n + 1, &back, &e), EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "line 4") != NULL, "%s", e.msg);
	/* double space */
	memcpy(m, t, n + 1);
	s = strstr(m, "channel stable");
	memmove(s + 8, s + 7, strlen(s + 7) + 1);
	ck_assert_int_eq(exai_index_parse((uint8_t *)m, n + 1, &back, &e), EXAI_EFORMAT);
	/* missing final newline, CR */
	ck_assert_int_eq(exai_index_parse((uint8_t *)t, n - 1, &back, &e), EXAI_EFORMAT);
	memcpy(m, t, n + 1);
	m[5] = '\r';
	ck_assert_int_eq(exai_index_parse((uint8_t *)m, n, &back, &e), EXAI_EFORMAT);
	/* too big */
	ck_assert_int_eq(exai_index_parse((uint8_t *)t, EXAI_INDEX_MAX_BYTES + 1, &back, &e),
			 EXAI_ETOOBIG);
	free(m);
	free(t);
	free(ix);
}
END_TEST

static exai_manifest *man2(void)
{
	exai_manifest *m = calloc(1, sizeof(*m));

	m->n = 2;
	m->c = calloc(2, sizeof(*m->c));
	m->c[0] = (exai_component){.type = EXAI_C_SOFTWARE,
				   .encoding = EXAI_CENC_TAR,
				   .offset = 0,
				   .size = 1024,
				   .entries = 3,
				   .unpacked = 10};
	strcpy(m->c[0].name, "app");
	strcpy(m->c[0].version, "1.0");
	strcpy(m->c[0].target, "app");
	m->c[1] = (exai_component){.type = EXAI_C_MODEL,
				   .encoding = EXAI_CENC_RAW,
				   .offset = 1024,
				   .size = 5,
				   .entries = 1,
				   .unpacked = 5};
	strcpy(m->c[1].name, "llama");
	strcpy(m->c[1].version, "7");
	strcpy(m->c[1].target, "weights/model.bin");
	return m;
}

START_TEST(manifest_round_trip_and_rules)
{
	exai_manifest *m = man2(), *back = NULL;
	char *t = exai_manifest_text(m);
	exai_error e;

	ck_assert_int_eq(exai_manifest_parse((uint8_t *)t, strlen(t), 1029, &back, &e), EXAI_OK);
	ck_assert_str_eq(back->c[1].target, "weights/model.bin");
	exai_manifest_free(back);
	ck_assert_int_eq(exai_manifest_parse((uint8_t *)t, strlen(t), 1030, &back, &e),
			 EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "cover 1029 of 1030"));
	free(t);
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_OK);
	m->c[1].offset = 1000;
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	m->c[1].offset = 1024;
	strcpy(m->c[1].target, "../etc/passwd");
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	strcpy(m->c[1].target, "/abs");
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	strcpy(m->c[1].target, "ok");
	m->c[1].unpacked = 6;
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	m->c[1].unpacked = 5;
	m->c[1].type = EXAI_C_SOFTWARE;
	strcpy(m->c[1].name, "app");
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "listed twice"));
	m->c[0].type = EXAI_C_ROOTFS;
	strcpy(m->c[1].name, "b");
	ck_assert_int_eq(exai_manifest_validate(m, 1029, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "must be raw"));
	exai_manifest_free(m);
}
END_TEST

/* Format versions: 1 and 2 read back as themselves (a zeroed index writes 1), any other is
 * refused by name, in the index and in the manifest. */
START_TEST(format_versions)
{
	exai_index *ix = sample(), *back = NULL;
	exai_manifest *m = man2(), *mback = NULL;
	exai_error e;

	ck_assert_uint_eq(exai_index_version(ix), 1);
	for (unsigned v = 1; v <= 2; v++) {
		ix->version = v;
		ck_assert_msg(reparse(ix, &back, &e) == EXAI_OK, "%s", e.msg);
		ck_assert_uint_eq(back->version, v);
		free(back);
		m->version = v;
		char *t = exai_manifest_text(m);
		ck_assert_int_eq(t[21], (char)('0' + v)); /* "exai-bundle-manifest N" */
		ck_assert_int_eq(exai_manifest_parse((uint8_t *)t, strlen(t), 1029, &mback, &e),
				 EXAI_OK);
		ck_assert_uint_eq(mback->version, v);
		exai_manifest_free(mback);
		t[21] = '3';
		ck_assert_int_eq(exai_manifest_parse((uint8_t *)t, strlen(t), 1029, &mback, &e),
				 EXAI_EFORMAT);
		ck_assert_str_eq(e.msg, "manifest: not an exai-bundle-manifest of version 1 or 2");
		free(t);
	}
	char *t = exai_index_text(ix);
	ck_assert_int_eq(t[18], '2'); /* "exai-bundle-index 2" */
	t[18] = '3';
	ck_assert_int_eq(exai_index_parse((uint8_t *)t, strlen(t), &back, &e), EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "line 1: unknown format version '3' (this reader knows "
				    "versions 1 and 2)") != NULL,
		      "%s", e.msg);
	t[18] = '0';
	ck_assert_int_eq(exai_index_parse((uint8_t *)t, strlen(t), &back, &e), EXAI_EFORMAT);
	free(t);
	ix->version = 3;
	ck_assert_int_eq(exai_index_validate(ix, &e), EXAI_EFORMAT);
	free(ix);
	exai_manifest_free(m);
}
END_TEST

START_TEST(relpath_rules)
{
	ck_assert(exai_relpath_valid("a/b.c/d@1"));
	ck_assert(!exai_relpath_valid(""));
	ck_assert(!exai_relpath_valid("/a"));
	ck_assert(!exai_relpath_valid("a/"));
	ck_assert(!exai_relpath_valid("a//b"));
	ck_assert(!exai_relpath_valid("a/../b"));
	ck_assert(!exai_relpath_valid(".."));
	ck_assert(!exai_relpath_valid("./a"));
	ck_assert(!exai_relpath_valid("a b"));
	ck_assert(exai_relpath_valid("..a/.b"));
	ck_assert(exai_name_valid("v1.0+build-2_x"));
	ck_assert(!exai_name_valid("-x"));
	ck_assert(!exai_name_valid("a/b"));
	/* names the appliance's install layout uses itself */
	ck_assert(exai_name_reserved("current") && exai_name_reserved("Current"));
	ck_assert(exai_name_reserved("a") && exai_name_reserved("B"));
	ck_assert(exai_name_reserved(".stage-1") && exai_name_reserved(NULL));
	ck_assert(!exai_name_reserved("currently") && !exai_name_reserved("ab"));
	ck_assert(!exai_name_reserved("1.0"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, index_round_trip_sorted);
	tcase_add_test(tc, index_validation_rules);
	tcase_add_test(tc, index_refuses_non_canonical_text);
	tcase_add_test(tc, manifest_round_trip_and_rules);
	tcase_add_test(tc, relpath_rules);
	tcase_add_test(tc, format_versions);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
