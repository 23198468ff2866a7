/*
 * exai_bundle_verify and exai_bundle_unlock (lib/bundle/bundle_verify.c), in the order of
 * docs/format.md section 8: the root chain, its expiry, the release threshold counted by
 * distinct keys, min-root-version, every entry's size and hash, the bundle's expiry; and the
 * verified flag, set only when all of it passed (stream and unlock refuse before it).
 *
 * Keys: the trusted root v1 has root key R0 (threshold 1) and release keys K0, K1, K2
 * (threshold 2). Its successor v2 has root keys R1, R2 (threshold 2) and release keys K2, K3
 * (threshold 1): K0 and K1 are rotated out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_builder.h"
#include "testutil.h"

static bb_keys K;
static exai_root *root1, *root2;
static char *root2_text, *dir;
static uint8_t comp_a[5000];

static void setup(void)
{
	bb_keys_init(&K);
	const exai_seckey *r0[] = {K.R[0]}, *rel1[] = {K.K[0], K.K[1], K.K[2]};
	const exai_seckey *r12[] = {K.R[1], K.R[2]}, *rel2[] = {K.K[2], K.K[3]};
	const exai_seckey *s2[] = {K.R[0], K.R[1], K.R[2]};

	root1 = bb_root(1, 100, 5000, r0, 1, 1, rel1, 3, 2, r0, 1, NULL);
	root2 = bb_root(2, 200, 0, r12, 2, 2, rel2, 2, 1, s2, 3, &root2_text);
	dir = tu_tempdir();
	for (size_t i = 0; i < sizeof(comp_a); i++)
		comp_a[i] = (uint8_t)(i * 31);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(root1);
	free(root2);
	free(root2_text);
	bb_keys_free(&K);
}

static bb_spec spec_signed_by(size_t n, const exai_seckey *const *signers)
{
	bb_spec s = {.n_comps = 1};

	s.comps[0] = (bb_comp){EXAI_C_FILES, "conf", comp_a, sizeof(comp_a)};
	s.n_signers = n;
	for (size_t i = 0; i < n; i++)
		s.signers[i] = signers[i];
	return s;
}

static int seq;

/* Writes @bb (.exb, or a directory when @as_dir), opens and verifies it. */
static exai_bundle *verify_bb(const bb_bundle *bb, bool as_dir, const exai_root *trusted,
			      uint64_t now, exai_status *rc, exai_error *e)
{
	char name[32], *p;
	exai_bundle *b;

	snprintf(name, sizeof(name), "b%d%s", seq++, as_dir ? "" : ".exb");
	p = as_dir ? bb_write_dir(bb, dir, name) : bb_write_exb(bb, dir, name);
	b = bb_open_verify(p, trusted, now, rc, e);
	ck_assert_msg(b, "open: %s", e->msg);
	free(p);
	return b;
}

/* Verifying @bb against @trusted at @now fails with @want; the flags stay down. */
static void refused(const bb_bundle *bb, const exai_root *trusted, uint64_t now, const char *want)
{
	for (int form = 0; form < 2; form++) {
		exai_status rc;
		exai_error e;
		exai_bundle *b = verify_bb(bb, form, trusted, now, &rc, &e);
		ck_assert_int_ne(rc, EXAI_OK);
		ck_assert_msg(strstr(e.msg, want), "wanted '%s', got: %s", want, e.msg);
		ck_assert(!b->verified);
		exai_bundle_free(b);
	}
}

static exai_bundle *passes(const bb_bundle *bb, const exai_root *trusted, uint64_t now)
{
	exai_status rc;
	exai_error e;
	exai_bundle *b = verify_bb(bb, false, trusted, now, &rc, &e);

	ck_assert_msg(rc == EXAI_OK, "%s", e.msg);
	ck_assert(b->verified && b->entries_checked);
	return b;
}

static void keyid(const exai_seckey *k, char out[EXAI_KEYID_STR])
{
	exai_keyid_str(k->id, out);
}

START_TEST(threshold_by_distinct_keys)
{
	char want[256], id0[EXAI_KEYID_STR], id1[EXAI_KEYID_STR], id3[EXAI_KEYID_STR];
	bb_bundle *bb;
	exai_bundle *b;

	keyid(K.K[0], id0);
	keyid(K.K[1], id1);
	keyid(K.K[3], id3);
	{ /* 2 of 2: met */
		const exai_seckey *s[] = {K.K[0], K.K[1]};
		bb_spec sp = spec_signed_by(2, s);
		bb = bb_build(&K, &sp);
		b = passes(bb, root1, 1500);
		ck_assert_uint_eq(b->valid_signatures, 2);
		ck_assert_uint_eq(b->n_signers, 2);
		ck_assert_int_eq(b->signers[0].state, EXAI_SIG_VALID);
		ck_assert_uint_eq(b->root->version, 1);
		exai_bundle_free(b);
		bb_free(bb);
	}
	{ /* all three listed keys: 3 counted */
		const exai_seckey *s[] = {K.K[2], K.K[0], K.K[1]};
		bb_spec sp = spec_signed_by(3, s);
		bb = bb_build(&K, &sp);
		b = passes(bb, root1, 0);
		ck_assert_uint_eq(b->valid_signatures, 3);
		exai_bundle_free(b);
		bb_free(bb);
	}
	{ /* one listed key: not met, the signer named */
		const exai_seckey *s[] = {K.K[0]};
		bb_spec sp = spec_signed_by(1, s);
		bb = bb_build(&K, &sp);
		snprintf(want, sizeof(want),
			 "signatures: 1 valid of the 2 required by root version 1: %s valid", id0);
		refused(bb, root1, 1500, want);
		bb_free(bb);
	}
	{ /* a listed key and one the root does not list */
		const exai_seckey *s[] = {K.K[0], K.K[3]};
		bb_spec sp = spec_signed_by(2, s);
		bb = bb_build(&K, &sp);
		snprintf(want, sizeof(want), "%s unknown key", id3);
		refused(bb, root1, 1500, want);
		refused(bb, root1, 1500, "1 valid of the 2 required");
		bb_free(bb);
	}
	{ /* K0's signature also filed under K1's id: the id is not signed, the key is */
		const exai_seckey *s[] = {K.K[0]};
		bb_spec sp = spec_signed_by(1, s);
		bb = bb_build(&K, &sp);
		char name[48];
		snprintf(name, sizeof(name), "sig/%s.minisig", id1);
		bb_entry *orig = &bb->ent[bb->n - 1];
		bb_add(bb, SIZE_MAX, name, orig->data, orig->len);
		snprintf(want, sizeof(want),
			 "%s bad signature (file name and signature key id differ)", id1);
		refused(bb, root1, 1500, want);
		snprintf(want, sizeof(want), "%s valid", id0);
		refused(bb, root1, 1500, want);
		refused(bb, root1, 1500,
			"signatures: 1 valid of the 2 required by root version 1: ");
		bb_free(bb);
	}
	{ /* no signature at all */
		bb_spec sp = spec_signed_by(0, NULL);
		bb = bb_build(&K, &sp);
		refused(bb, root1, 1500,
			"signatures: 0 valid of the 2 required by root version 1 (none)");
		bb_free(bb);
	}
}
END_TEST

/* A bundle carrying @n roots (text, version), signed by @signers. */
static bb_bundle *with_roots(size_t n, const char *const *texts, const uint64_t *versions,
			     size_t ns, const exai_seckey *const *signers, uint64_t min_root)
{
	bb_spec sp = spec_signed_by(ns, signers);

	sp.n_roots = n;
	for (size_t i = 0; i < n; i++) {
		sp.roots[i] = texts[i];
		sp.root_versions[i] = versions[i];
	}
	sp.min_root_version = min_root;
	return bb_build(&K, &sp);
}

START_TEST(root_chain)
{
	const exai_seckey *k3[] = {K.K[3]}, *k01[] = {K.K[0], K.K[1]};
	const exai_seckey *r12[] = {K.R[1], K.R[2]}, *rel2[] = {K.K[2], K.K[3]};
	const char *t[2];
	uint64_t v[2];
	bb_bundle *bb;
	exai_bundle *b;
	exai_root *eff = NULL;
	exai_error e;
	char *text;

	/* 1 -> 2, signed by the old root key and both new ones: v2's release keys count. */
	t[0] = root2_text;
	v[0] = 2;
	bb = with_roots(1, t, v, 1, k3, 2);
	b = passes(bb, root1, 1500);
	ck_assert_uint_eq(b->root->version, 2);
	ck_assert_uint_eq(b->valid_signatures, 1);
	ck_assert_int_eq(exai_bundle_effective_root(b, root1, &eff, &e), EXAI_OK);
	ck_assert_uint_eq(eff->version, 2);
	free(eff);
	/* A verifier already at v2 ignores roots/2 (at or below what it trusts). */
	exai_bundle_free(b);
	b = passes(bb, root2, 1500);
	ck_assert_uint_eq(b->root->version, 2);
	exai_bundle_free(b);
	bb_free(bb);

	/* Rotation revokes: K0 and K1 signed, but v2 lists neither. */
	bb = with_roots(1, t, v, 2, k01, 1);
	refused(bb, root1, 1500, "signatures: 0 valid of the 1 required by root version 2");
	bb_free(bb);

	/* v2 without the old root's signature, and without its own threshold. */
	{
		const exai_seckey *only_new[] = {K.R[1], K.R[2]}, *only_old[] = {K.R[0]};
		exai_root *r = bb_root(2, 200, 0, r12, 2, 2, rel2, 2, 1, only_new, 2, &text);
		free(r);
		t[0] = text;
		bb = with_roots(1, t, v, 1, k3, 1);
		refused(bb, root1, 1500,
			"root chain: roots/2: root version 2: 0 valid signature(s) by root keys "
			"of version 1, threshold is 1");
		bb_free(bb);
		free(text);
		r = bb_root(2, 200, 0, r12, 2, 2, rel2, 2, 1, only_old, 1, &text);
		free(r);
		t[0] = text;
		bb = with_roots(1, t, v, 1, k3, 1);
		refused(bb, root1, 1500,
			"root chain: roots/2: root version 2: 0 valid signature(s) of its own root "
			"keys, threshold is 2");
		bb_free(bb);
		free(text);
	}
	/* roots/2 holding a version 3 document. */
	{
		const exai_seckey *s[] = {K.R[0], K.R[1], K.R[2]};
		exai_root *r = bb_root(3, 300, 0, r12, 2, 2, rel2, 2, 1, s, 3, &text);
		free(r);
		t[0] = text;
		bb = with_roots(1, t, v, 1, k3, 1);
		refused(bb, root1, 1500,
			"root chain: roots/2: root version 3 cannot follow version 1");
		bb_free(bb);
		/* The same document as roots/3 alone: a gap, named. */
		v[0] = 3;
		bb = with_roots(1, t, v, 1, k3, 1);
		refused(bb, root1, 1500,
			"root chain: the bundle carries roots/3 but not roots/2 (a gap after root "
			"version 1; the chain is never skipped)");
		bb_free(bb);
		/* 1 -> 2 -> 3: v3 is signed by v2's root keys (threshold 2) and its own. */
		t[0] = root2_text;
		t[1] = text;
		v[0] = 2;
		v[1] = 3;
		bb = with_roots(2, t, v, 1, k3, 3);
		b = passes(bb, root1, 1500);
		ck_assert_uint_eq(b->root->version, 3);
		exai_bundle_free(b);
		bb_free(bb);
		free(text);
	}
	/* Rollback: a verifier at v2 given a bundle signed by v1's keys, carrying roots/1. */
	{
		const exai_seckey *r0[] = {K.R[0]}, *rel1[] = {K.K[0], K.K[1], K.K[2]};
		exai_root *r = bb_root(1, 100, 5000, r0, 1, 1, rel1, 3, 2, r0, 1, &text);
		free(r);
		t[0] = text;
		v[0] = 1;
		bb = with_roots(1, t, v, 2, k01, 1);
		refused(bb, root2, 1500, "signatures: 0 valid of the 1 required by root version 2");
		b = verify_bb(bb, false, root2, 1500, &(exai_status){0}, &e);
		ck_assert_uint_eq(b->root->version, 2);
		exai_bundle_free(b);
		bb_free(bb);
		free(text);
	}
}
END_TEST

START_TEST(expiry_against_now)
{
	const exai_seckey *s[] = {K.K[0], K.K[1]};
	bb_spec sp = spec_signed_by(2, s);
	bb_bundle *bb = bb_build(&K, &sp);
	exai_bundle *b;

	/* index: created 1000, expires 2000; root v1 expires 5000 */
	b = passes(bb, root1, 0); /* no clock: not judged */
	exai_bundle_free(b);
	b = passes(bb, root1, 2000);
	exai_bundle_free(b);
	refused(bb, root1, 2001, "bundle expired at 2000 (time now 2001)");
	refused(bb, root1, 5001, "root version 1 expired at 5000 (time now 5001)");
	bb_free(bb);
	/* A trusted root created after the effective root expired (a rollback to an old chain). */
	{
		const exai_seckey *r0[] = {K.R[0]}, *rel1[] = {K.K[0], K.K[1], K.K[2]};
		exai_root *late = bb_root(1, 6000, 0, r0, 1, 1, rel1, 3, 2, r0, 1, NULL);
		const exai_seckey *r12[] = {K.R[1], K.R[2]}, *rel2[] = {K.K[2], K.K[3]};
		const exai_seckey *sg[] = {K.R[0], K.R[1], K.R[2]}, *k3[] = {K.K[3]};
		char *text;
		exai_root *r = bb_root(2, 200, 5500, r12, 2, 2, rel2, 2, 1, sg, 3, &text);
		bb_spec s2 = spec_signed_by(1, k3);
		free(r);
		s2.n_roots = 1;
		s2.roots[0] = text;
		s2.root_versions[0] = 2;
		bb = bb_build(&K, &s2);
		refused(bb, late, 0,
			"root version 2 expired at 5500 (newest trusted time: a root's creation "
			"6000)");
		bb_free(bb);
		free(text);
		free(late);
	}
	/* The same through the chain: root 2 (created 6000) vouches for a time past root 3's
	 * expiry (5500), though neither the trusted root nor the bundle is that recent. */
	{
		const exai_seckey *r12[] = {K.R[1], K.R[2]}, *rel2[] = {K.K[2], K.K[3]};
		const exai_seckey *sg[] = {K.R[0], K.R[1], K.R[2]}, *k3[] = {K.K[3]};
		char *t2, *t3;
		exai_root *r = bb_root(2, 6000, 0, r12, 2, 2, rel2, 2, 1, sg, 3, &t2);
		free(r);
		r = bb_root(3, 200, 5500, r12, 2, 2, rel2, 2, 1, r12, 2, &t3);
		free(r);
		bb_spec s3 = spec_signed_by(1, k3);
		s3.n_roots = 2;
		s3.roots[0] = t2;
		s3.root_versions[0] = 2;
		s3.roots[1] = t3;
		s3.root_versions[1] = 3;
		bb = bb_build(&K, &s3);
		refused(bb, root1, 0,
			"root version 3 expired at 5500 (newest trusted time: a root's creation "
			"6000)");
		bb_free(bb);
		free(t2);
		free(t3);
	}
}
END_TEST

START_TEST(entries_named_on_mismatch)
{
	const exai_seckey *s[] = {K.K[0], K.K[1]};
	bb_spec sp = spec_signed_by(2, s);
	bb_bundle *bb;
	bb_entry *en;
	char want[160];

	sp.encrypted = true;
	static const char *const names[] = {"manifest", "keys", "chunks"};
	for (size_t i = 0; i < 3; i++) {
		bb = bb_build(&K, &sp);
		en = bb_find(bb, names[i]);
		en->data[en->len / 2] ^= 1;
		snprintf(want, sizeof(want), "%s: hash mismatch", names[i]);
		refused(bb, root1, 1500, want);
		bb_set(en, en->data, en->len - 1);
		snprintf(want, sizeof(want), "%s: %zu bytes, the signed index says %zu", names[i],
			 en->len, en->len + 1);
		refused(bb, root1, 1500, want);
		bb_remove(bb, names[i]);
		snprintf(want, sizeof(want), "%s: listed in the index but missing", names[i]);
		refused(bb, root1, 1500, want);
		bb_free(bb);
	}
	/* The payload: its size is checked here, its bytes when streamed. */
	bb = bb_build(&K, &sp);
	en = bb_find(bb, "payload");
	{
		uint8_t *longer = calloc(1, en->len + 8);
		memcpy(longer, en->data, en->len);
		bb_set(en, longer, en->len + 8);
		free(longer);
	}
	snprintf(want, sizeof(want),
		 "payload: %zu bytes, the signed index says %zu (truncated or padded)", en->len,
		 en->len - 8);
	refused(bb, root1, 1500, want);
	bb_remove(bb, "payload");
	refused(bb, root1, 1500, "payload: missing");
	bb_free(bb);
	/* A root entry the index does not list (at or below the trusted version). */
	bb = bb_build(&K, &sp);
	bb_add(bb, 1, "roots/1", "exai-root 1\n", 12);
	refused(bb, root1, 1500, "roots/1: not listed in the signed index (refused)");
	bb_free(bb);
}
END_TEST

START_TEST(min_root_version)
{
	const exai_seckey *s[] = {K.K[0], K.K[1]}, *k3[] = {K.K[3]};
	bb_spec sp = spec_signed_by(2, s);
	bb_bundle *bb;
	exai_bundle *b;
	const char *t[] = {root2_text};
	uint64_t v[] = {2};

	sp.min_root_version = 2;
	bb = bb_build(&K, &sp);
	refused(bb, root1, 1500,
		"bundle needs root version 2 or newer; the newest reachable root is version 1");
	bb_free(bb);
	bb = with_roots(1, t, v, 1, k3, 2);
	b = passes(bb, root1, 1500);
	exai_bundle_free(b);
	bb_free(bb);
	bb = with_roots(1, t, v, 1, k3, 3);
	refused(bb, root1, 1500,
		"bundle needs root version 3 or newer; the newest reachable root is version 2");
	bb_free(bb);
}
END_TEST

START_TEST(verified_only_when_everything_passed)
{
	const exai_seckey *s[] = {K.K[0], K.K[1]};
	bb_spec sp = spec_signed_by(2, s);
	bb_bundle *bb;
	exai_bundle *b = NULL;
	exai_verify_opts o = {.now = 1500};
	exai_error e;
	char *p;

	sp.encrypted = true;
	bb = bb_build(&K, &sp);
	p = bb_write_exb(bb, dir, "flag.exb");
	ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
	/* Opened, not verified: neither unlock nor stream. */
	ck_assert(!b->verified && !b->entries_checked);
	ck_assert_int_eq(exai_bundle_unlock(b, &K.S[0], &e), EXAI_EINTERNAL);
	ck_assert_str_eq(e.msg, "unlock before verify");
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_EINTERNAL);
	ck_assert_str_eq(e.msg, "stream before verify");
	/* Passes; then a failed re-verify (another root) takes the flags down again. */
	ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
	ck_assert(b->verified && b->entries_checked);
	ck_assert_int_ne(exai_bundle_verify(b, root2, &o, &e), EXAI_OK);
	ck_assert(!b->verified && !b->entries_checked);
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_EINTERNAL);
	/* Failing at the last step (expiry): the entries matched, but nothing is trusted. */
	o.now = 3000;
	ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_EREFUSED);
	ck_assert(!b->verified && b->entries_checked);
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_EINTERNAL);
	ck_assert_str_eq(e.msg, "stream before verify");
	/* check_entries alone (inspect): unlock works, stream still refuses. */
	exai_bundle_free(b);
	ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_check_entries(b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_unlock(b, &K.S[0], &e), EXAI_OK);
	ck_assert_ptr_nonnull(b->manifest);
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_EINTERNAL);
	exai_bundle_free(b);
	/* Unlock: no key, a key that is not a recipient, the right one. */
	o.now = 1500;
	ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_unlock(b, NULL, &e), EXAI_EINVAL);
	ck_assert_str_eq(e.msg, "bundle is encrypted: a site key is needed");
	ck_assert_int_eq(exai_bundle_unlock(b, &K.S[1], &e), EXAI_EREFUSED);
	ck_assert_str_eq(e.msg, "bundle is not encrypted to site key 5252525252525252");
	ck_assert_int_eq(exai_bundle_unlock(b, &K.S[0], &e), EXAI_OK);
	ck_assert_uint_eq(b->manifest->n, 1);
	ck_assert_uint_eq(b->manifest->c[0].size, sizeof(comp_a));
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_OK);
	exai_bundle_free(b);
	free(p);
	/* A recipient whose sealed box is for another key: named, and no key is kept. */
	{
		bb_entry *k = bb_find(bb, "keys");
		k->data[EXAI_KEYID_LEN + 40] ^= 1;
		bb_reseal(bb);
		p = bb_write_exb(bb, dir, "badbox.exb");
		ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
		ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
		ck_assert_int_eq(exai_bundle_unlock(b, &K.S[0], &e), EXAI_ECRYPTO);
		ck_assert_str_eq(e.msg, "keys: the data key for 5151515151515151 does not open");
		ck_assert_ptr_null(b->data_key);
		exai_bundle_free(b);
		free(p);
	}
	bb_free(bb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundle_verify");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, threshold_by_distinct_keys);
	tcase_add_test(tc, root_chain);
	tcase_add_test(tc, expiry_against_now);
	tcase_add_test(tc, entries_named_on_mismatch);
	tcase_add_test(tc, min_root_version);
	tcase_add_test(tc, verified_only_when_everything_passed);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
