/*
 * Property test of the release signature count (lib/bundle/bundle_verify.c, bundle_open.c).
 *
 * Each case builds a real .exb (pax tar, written with libarchive) holding a valid index and a
 * random set of sig/ entries: valid signatures by listed keys, valid signatures by keys the
 * root does not list, signatures over other bytes, junk, a listed key's signature copied
 * under another key id (a minisign signature does not cover the id), repeated entries, and
 * sets over the format's limit, in random order. The test computes the expected outcome
 * from what it generated, independently of the verifier:
 *   - a repeated entry name, or more than EXAI_BUNDLE_MAX_SIGS signature entries: open
 *     refuses the bundle;
 *   - otherwise: the count is the number of distinct listed public keys that have a
 *     genuine signature under their own id.
 * The seed is printed, and EXAI_SIGCOUNT_SEED replays one run.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exai/bundle.h"
#include "exai/hash.h"
#include "exai/sign.h"
#include "testutil.h"

#define NKEYS  8
#define NCASES 400

static exai_seckey *keys[NKEYS];
static exai_seckey *other; /* a key no root lists */
static char *index_text;
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void setup(void)
{
	exai_index ix;
	exai_error e;
	uint8_t table[32] = {0};

	for (int i = 0; i < NKEYS; i++)
		ck_assert_int_eq(exai_seckey_generate(&keys[i], &e), EXAI_OK);
	ck_assert_int_eq(exai_seckey_generate(&other, &e), EXAI_OK);
	memset(&ix, 0, sizeof(ix));
	randombytes_buf(ix.bundle_id, sizeof(ix.bundle_id));
	strcpy(ix.channel, "stable");
	ix.sequence = 1;
	ix.created = 1000;
	ix.expires = 2000;
	ix.min_root_version = 1;
	strcpy(ix.classes[ix.n_classes++], "gpu");
	ix.encryption = EXAI_ENC_NONE;
	ix.chunk_size = EXAI_CHUNK_MIN;
	ix.payload_size = 1;
	ix.chunk_count = 1;
	const char *names[] = {"chunks", "manifest", "payload"};
	const uint64_t sizes[] = {32, 40, 1};
	for (int i = 0; i < 3; i++) {
		strcpy(ix.files[ix.n_files].name, names[i]);
		ix.files[ix.n_files].size = sizes[i];
		ck_assert_int_eq(exai_sha256_buf(table, 32, ix.files[ix.n_files].sha256, &e),
				 EXAI_OK);
		ix.n_files++;
	}
	ck_assert_int_eq(exai_index_validate(&ix, &e), EXAI_OK);
	index_text = exai_index_text(&ix);
	ck_assert_ptr_nonnull(index_text);
}

static void teardown(void)
{
	for (int i = 0; i < NKEYS; i++)
		exai_seckey_free(keys[i]);
	exai_seckey_free(other);
	free(index_text);
}

typedef struct sig_entry {
	char name[48];
	char *text;
} sig_entry;

static char *sign_text(const exai_seckey *sk, const char *msg)
{
	char *out = NULL;
	exai_error e;

	ck_assert_int_eq(exai_minisig_sign(sk, (const uint8_t *)msg, strlen(msg), NULL, &out, &e),
			 EXAI_OK);
	return out;
}

/* @text with the key id bytes of its signature line replaced by @id (malloc'ed). */
static char *with_id(const char *text, const uint8_t id[EXAI_KEYID_LEN])
{
	const char *l2 = strchr(text, '\n') + 1, *end = strchr(l2, '\n');
	uint8_t raw[128];
	size_t n = 0;
	exai_error e;
	char *b64, *out;

	ck_assert_int_eq(exai_base64_decode(l2, (size_t)(end - l2), raw, sizeof(raw), &n, &e),
			 EXAI_OK);
	ck_assert_uint_eq(n, 74);
	memcpy(raw + 2, id, EXAI_KEYID_LEN);
	b64 = exai_base64_encode(raw, n);
	out = malloc(strlen(text) + 64);
	sprintf(out, "%.*s%s%s", (int)(l2 - text), text, b64, end);
	free(b64);
	return out;
}

static void set_name(sig_entry *s, const uint8_t id[EXAI_KEYID_LEN])
{
	char hex[EXAI_KEYID_STR];

	exai_keyid_str(id, hex);
	snprintf(s->name, sizeof(s->name), "sig/%s.minisig", hex);
}

static char *write_exb(const char *dir, int c, const sig_entry *sigs, size_t n)
{
	char path[512];
	struct archive *a = archive_write_new();

	snprintf(path, sizeof(path), "%s/case%d.exb", dir, c);
	archive_write_set_format_pax_restricted(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i <= n; i++) {
		const char *name = i ? sigs[i - 1].name : "index";
		const char *data = i ? sigs[i - 1].text : index_text;
		struct archive_entry *ent = archive_entry_new();

		archive_entry_set_pathname(ent, name);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_size(ent, (la_int64_t)strlen(data));
		ck_assert_int_eq(archive_write_header(a, ent), ARCHIVE_OK);
		ck_assert_int_eq(archive_write_data(a, data, strlen(data)),
				 (la_ssize_t)strlen(data));
		archive_entry_free(ent);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return strdup(path);
}

/* One random case; returns 1 if the case had to be refused at open, 0 if it was counted. */
static int run_case(const char *dir, int c, int *met)
{
	exai_root root;
	bool listed[NKEYS] = {false}, genuine[NKEYS] = {false};
	sig_entry sigs[EXAI_BUNDLE_MAX_SIGS + 8];
	size_t n = 0, want_n;
	unsigned expect = 0;
	bool repeated = false, allow_repeat = rnd(4) == 0;
	exai_bundle *b = NULL;
	exai_error e;
	char *path;
	int refused;

	memset(&root, 0, sizeof(root));
	root.version = 1;
	root.created = 900;
	exai_seckey_public(other, &root.root_keys[root.n_root_keys++]);
	root.root_threshold = 1;
	for (int k = 0; k < NKEYS; k++)
		if (rnd(3)) {
			listed[k] = true;
			exai_seckey_public(keys[k], &root.release_keys[root.n_release_keys++]);
		}
	if (!root.n_release_keys) {
		listed[0] = true;
		exai_seckey_public(keys[0], &root.release_keys[root.n_release_keys++]);
	}
	root.release_threshold = 1 + rnd((uint32_t)(root.n_release_keys + 1) / 2);

	/* Mostly small sets; sometimes padded up to and over the limit. */
	want_n = rnd(4) == 0 ? EXAI_BUNDLE_MAX_SIGS - 2 + rnd(5) : 1 + rnd(12);
	while (n < want_n) {
		sig_entry *s = &sigs[n];
		int k = (int)rnd(NKEYS), kind = (int)rnd(7);
		bool genuine_copy = false;
		uint8_t id[EXAI_KEYID_LEN];

		switch (kind) {
		case 0: /* genuine, by key k under its own id */
		case 1:
			s->text = sign_text(keys[k], index_text);
			set_name(s, keys[k]->id);
			break;
		case 2: /* a key no root lists */
			s->text = sign_text(other, index_text);
			set_name(s, other->id);
			break;
		case 3: /* signature over other bytes */
			s->text = sign_text(keys[k], "not the index\n");
			set_name(s, keys[k]->id);
			break;
		case 4: /* junk under a random id */
			randombytes_buf(id, sizeof(id));
			s->text = strdup("untrusted comment: junk\nAAAA\n");
			set_name(s, id);
			break;
		case 5: { /* key k's genuine signature copied under another key's (or a random) id
			   */
			int j = (int)rnd(NKEYS + 1);
			char *t = sign_text(keys[k], index_text);
			if (j < NKEYS)
				memcpy(id, keys[j]->id, EXAI_KEYID_LEN);
			else
				randombytes_buf(id, sizeof(id));
			s->text = with_id(t, id);
			free(t);
			set_name(s, id);
			/* Copied under its own id it is just genuine again. */
			genuine_copy = j == k;
			break;
		}
		default: /* an exact copy of an earlier entry: a repeated name */
			if (!n) {
				s->text = sign_text(keys[k], index_text);
				set_name(s, keys[k]->id);
				kind = 0;
				break;
			}
			*s = sigs[rnd((uint32_t)n)];
			s->text = strdup(s->text);
			break;
		}
		if (!allow_repeat) {
			bool dup = false;
			for (size_t j = 0; j < n && !dup; j++)
				dup = !strcmp(sigs[j].name, s->name);
			if (dup) {
				free(s->text);
				continue;
			}
		}
		if (kind <= 1 || (kind == 5 && genuine_copy))
			genuine[k] = true;
		n++;
	}
	/* Shuffle, then judge the set as the format does, from what was generated. */
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd((uint32_t)i);
		sig_entry t = sigs[i - 1];
		sigs[i - 1] = sigs[j];
		sigs[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			repeated |= !strcmp(sigs[i].name, sigs[j].name);
	/* A repeated name may hide a genuine entry (two entries named after key k); the
	 * verifier never gets that far, so the expectation is only the refusal. */
	for (int k = 0; k < NKEYS; k++)
		expect += listed[k] && genuine[k];

	path = write_exb(dir, c, sigs, n);
	refused = repeated || n > EXAI_BUNDLE_MAX_SIGS;
	if (refused) {
		ck_assert_msg(exai_bundle_open(path, &b, &e) != EXAI_OK,
			      "case %d: %zu entries%s opened", c, n, repeated ? " (repeated)" : "");
		ck_assert_msg(strstr(e.msg, repeated && n <= EXAI_BUNDLE_MAX_SIGS
						? "appears twice"
						: (repeated ? "" : "signature entries")),
			      "case %d: %s", c, e.msg);
	} else {
		exai_status rc;
		ck_assert_msg(exai_bundle_open(path, &b, &e) == EXAI_OK, "case %d: %s", c, e.msg);
		rc = exai_bundle_verify(b, &root, NULL, &e);
		ck_assert_msg(b->valid_signatures == expect,
			      "case %d: verifier counted %u, distinct listed keys with a valid "
			      "signature: %u",
			      c, b->valid_signatures, expect);
		if (expect < root.release_threshold) {
			ck_assert_int_ne(rc, EXAI_OK);
			ck_assert_msg(strstr(e.msg, "signatures:"), "case %d: %s", c, e.msg);
		} else {
			/* Past the threshold the next check (entries) fails: no manifest. */
			ck_assert_msg(!strstr(e.msg, "signatures:"), "case %d: %s", c, e.msg);
			(*met)++;
		}
		ck_assert_uint_eq(b->n_signers, n);
		exai_bundle_free(b);
	}
	for (size_t i = 0; i < n; i++)
		free(sigs[i].text);
	free(path);
	return refused;
}

START_TEST(count_equals_distinct_listed_keys)
{
	const char *env = getenv("EXAI_SIGCOUNT_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
	char *dir = tu_tempdir();
	int refused = 0, met = 0;

	if (!seed)
		seed = 1;
	rng_state = seed;
	printf("test_sigcount: seed %llu (EXAI_SIGCOUNT_SEED to replay)\n",
	       (unsigned long long)seed);
	for (int c = 0; c < NCASES; c++)
		refused += run_case(dir, c, &met);
	printf("test_sigcount: %d cases, %d refused at open, %d met the threshold\n", NCASES,
	       refused, met);
	/* The generator must exercise all three outcomes, or the property says little. */
	ck_assert_int_gt(refused, 0);
	ck_assert_int_gt(met, 0);
	ck_assert_int_gt(NCASES - refused - met, 0);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* The attack of the review, exactly: 64 junk entries, then three copies of one genuine
 * signature, against a 3-of-3 root. */
START_TEST(padding_plus_copies_is_refused)
{
	exai_root root;
	sig_entry sigs[EXAI_BUNDLE_MAX_SIGS + 3];
	exai_bundle *b = NULL;
	exai_error e;
	char *dir = tu_tempdir(), *path;

	memset(&root, 0, sizeof(root));
	root.version = 1;
	exai_seckey_public(other, &root.root_keys[root.n_root_keys++]);
	root.root_threshold = 1;
	for (int k = 0; k < 3; k++)
		exai_seckey_public(keys[k], &root.release_keys[root.n_release_keys++]);
	root.release_threshold = 3;
	for (int i = 0; i < EXAI_BUNDLE_MAX_SIGS; i++) {
		uint8_t id[EXAI_KEYID_LEN];
		randombytes_buf(id, sizeof(id));
		set_name(&sigs[i], id);
		sigs[i].text = strdup("junk\n");
	}
	for (int i = 0; i < 3; i++) {
		set_name(&sigs[EXAI_BUNDLE_MAX_SIGS + i], keys[0]->id);
		sigs[EXAI_BUNDLE_MAX_SIGS + i].text = sign_text(keys[0], index_text);
	}
	path = write_exb(dir, 0, sigs, EXAI_BUNDLE_MAX_SIGS + 3);
	ck_assert_int_ne(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 64 signature entries"));
	free(path);
	/* Without the padding: the copies alone are refused as repeated names. */
	path = write_exb(dir, 1, sigs + EXAI_BUNDLE_MAX_SIGS - 1, 4);
	ck_assert_int_ne(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_ptr_nonnull(strstr(e.msg, "appears twice"));
	free(path);
	/* The same key under three ids: one counts, the others are bad signatures. */
	{
		sig_entry cp[3];
		for (int i = 0; i < 3; i++) {
			char *t = sign_text(keys[0], index_text);
			cp[i].text = with_id(t, keys[i]->id);
			free(t);
			set_name(&cp[i], keys[i]->id);
		}
		path = write_exb(dir, 2, cp, 3);
		ck_assert_int_eq(exai_bundle_open(path, &b, &e), EXAI_OK);
		ck_assert_int_ne(exai_bundle_verify(b, &root, NULL, &e), EXAI_OK);
		ck_assert_uint_eq(b->valid_signatures, 1);
		ck_assert_ptr_nonnull(strstr(e.msg, "1 valid of the 3 required"));
		exai_bundle_free(b);
		free(path);
		for (int i = 0; i < 3; i++)
			free(cp[i].text);
	}
	for (int i = 0; i < EXAI_BUNDLE_MAX_SIGS + 3; i++)
		free(sigs[i].text);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Root expiry is judged against the newest trusted time even when the caller knows none:
 * a bundle signed (created 1000) after its root expired (950) is refused with no clock; a
 * root past the end of the chain is a gap, refused with its name. */
START_TEST(expiry_without_a_clock_and_chain_gaps)
{
	exai_root root;
	sig_entry ents[2];
	exai_bundle *b = NULL;
	exai_error e;
	char *dir = tu_tempdir(), *path;

	memset(&root, 0, sizeof(root));
	root.version = 1;
	root.created = 900;
	root.expires = 950;
	exai_seckey_public(other, &root.root_keys[root.n_root_keys++]);
	root.root_threshold = 1;
	exai_seckey_public(keys[0], &root.release_keys[root.n_release_keys++]);
	root.release_threshold = 1;
	set_name(&ents[0], keys[0]->id);
	ents[0].text = sign_text(keys[0], index_text);
	path = write_exb(dir, 0, ents, 1);
	ck_assert_int_eq(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_verify(b, &root, NULL, &e), EXAI_EREFUSED);
	ck_assert_msg(strstr(e.msg, "root version 1 expired at 950 (the bundle was signed after "
				    "it: created 1000)"),
		      "%s", e.msg);
	exai_bundle_free(b);
	free(path);
	/* Not expired: the same bundle passes the signature stage. */
	root.expires = 5000;
	path = write_exb(dir, 1, ents, 1);
	ck_assert_int_eq(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_int_ne(exai_bundle_verify(b, &root, NULL, &e), EXAI_OK);
	ck_assert_uint_eq(b->valid_signatures, 1);
	ck_assert_msg(!strstr(e.msg, "expired") && !strstr(e.msg, "signatures:"), "%s", e.msg);
	exai_bundle_free(b);
	free(path);
	/* roots/3 with the trusted root at version 1: a gap. */
	snprintf(ents[1].name, sizeof(ents[1].name), "roots/3");
	ents[1].text = strdup("exai-root 1\n");
	{
		sig_entry two[2] = {ents[1], ents[0]};
		path = write_exb(dir, 2, two, 2);
	}
	ck_assert_int_eq(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_verify(b, &root, NULL, &e), EXAI_EVERIFY);
	ck_assert_msg(strstr(e.msg, "carries roots/3 but not roots/2"), "%s", e.msg);
	exai_bundle_free(b);
	free(path);
	for (int i = 0; i < 2; i++)
		free(ents[i].text);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sigcount");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, count_equals_distinct_listed_keys);
	tcase_add_test(tc, padding_plus_copies_is_refused);
	tcase_add_test(tc, expiry_without_a_clock_and_chain_gaps);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
