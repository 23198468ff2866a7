/*
 * minisign: strict parsing and verification of minisign public keys and signatures.
 *
 * Every line is length-checked before decoding; decoded blobs must have the exact size of
 * their structure. Nothing is trusted until exai_minisig_verify() has returned EXAI_OK.
 */
#include "exai/minisign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/hash.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX	 "trusted comment: "
#define COMMENT_MAX	 1024

void exai_keyid_str(const uint8_t id[EXAI_KEYID_LEN], char out[EXAI_KEYID_STR])
{
	static const char digits[] = "0123456789ABCDEF";

	/* Little-endian value printed most significant first: bytes in reverse order. */
	for (int i = 0; i < EXAI_KEYID_LEN; i++) {
		uint8_t b = id[EXAI_KEYID_LEN - 1 - i];
		out[2 * i] = digits[b >> 4];
		out[2 * i + 1] = digits[b & 15];
	}
	out[16] = '\0';
}

exai_status exai_keyid_parse(const char *s, uint8_t id[EXAI_KEYID_LEN], exai_error *e)
{
	uint8_t be[EXAI_KEYID_LEN];
	exai_status rc = exai_hex_decode(s, be, sizeof(be), e);

	if (rc)
		return exai_error_prefix(e, "key id '%.20s'", s);
	for (int i = 0; i < EXAI_KEYID_LEN; i++)
		id[i] = be[EXAI_KEYID_LEN - 1 - i];
	return EXAI_OK;
}

/* Splits @buf into at most @max LF-terminated lines (each without its LF); a missing final
 * LF is tolerated (minisign writes one; editors may drop it). CR before LF is refused. */
static exai_status split_lines(const uint8_t *buf, size_t len, const char *what, char **lines,
			       size_t *n, size_t max, char *store, size_t store_cap, exai_error *e)
{
	size_t pos = 0, used = 0;

	*n = 0;
	if (len >= store_cap)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: too large", what);
	if (memchr(buf, '\0', len))
		return exai_error_set(e, EXAI_EFORMAT, "%s: contains a NUL byte", what);
	while (pos < len) {
		const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		if (*n == max)
			return exai_error_set(e, EXAI_EFORMAT, "%s: more than %zu lines", what,
					      max);
		if (l && buf[pos + l - 1] == '\r')
			return exai_error_set(e, EXAI_EFORMAT, "%s: line %zu: CR line ending", what,
					      *n + 1);
		memcpy(store + used, buf + pos, l);
		store[used + l] = '\0';
		lines[(*n)++] = store + used;
		used += l + 1;
		pos += l + 1;
	}
	return EXAI_OK;
}

static exai_status decode_exact(const char *b64, uint8_t *out, size_t want, const char *what,
				exai_error *e)
{
	size_t n = 0;

	if (exai_base64_decode(b64, strlen(b64), out, want, &n, e) != EXAI_OK || n != want)
		return exai_error_set(e, EXAI_EFORMAT, "%s: not a base64 blob of %zu bytes", what,
				      want);
	return EXAI_OK;
}

exai_status exai_pubkey_parse_b64(const char *b64, exai_pubkey *out, exai_error *e)
{
	uint8_t blob[2 + EXAI_KEYID_LEN + EXAI_ED25519_PK_LEN];
	exai_status rc = decode_exact(b64, blob, sizeof(blob), "public key", e);

	if (rc)
		return rc;
	if (memcmp(blob, "Ed", 2) != 0)
		return exai_error_set(e, EXAI_EFORMAT, "public key: unsupported algorithm");
	memcpy(out->id, blob + 2, EXAI_KEYID_LEN);
	memcpy(out->pk, blob + 2 + EXAI_KEYID_LEN, EXAI_ED25519_PK_LEN);
	return EXAI_OK;
}

exai_status exai_pubkey_parse(const uint8_t *buf, size_t len, exai_pubkey *out, exai_error *e)
{
	char store[EXAI_PUBKEY_MAX + 1];
	char *lines[2];
	size_t n;
	exai_status rc;

	rc = split_lines(buf, len, "public key", lines, &n, 2, store, sizeof(store), e);
	if (rc)
		return rc;
	if (n != 2 || strncmp(lines[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0 ||
	    strlen(lines[0]) > strlen(UNTRUSTED_PREFIX) + COMMENT_MAX)
		return exai_error_set(e, EXAI_EFORMAT,
				      "public key: expected an 'untrusted comment:' line and a "
				      "key line");
	return exai_pubkey_parse_b64(lines[1], out, e);
}

exai_status exai_pubkey_load(const char *path, exai_pubkey *out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc = exai_file_read_bounded(path, EXAI_PUBKEY_MAX, &buf, &len, e);

	if (rc)
		return rc;
	rc = exai_pubkey_parse(buf, len, out, e);
	free(buf);
	if (rc) {
		char what[64];
		exai_keyfile_kind k = exai_keyfile_sniff(path, what, sizeof(what));
		if (k != EXAI_KF_UNKNOWN && k != EXAI_KF_PUBLIC)
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s is %s; this needs a public key (the .pub of a "
					      "release or root key pair)",
					      path, what);
		exai_error_prefix(e, "%s", path);
	}
	return rc;
}

char *exai_pubkey_b64(const exai_pubkey *pk)
{
	uint8_t blob[2 + EXAI_KEYID_LEN + EXAI_ED25519_PK_LEN];

	memcpy(blob, "Ed", 2);
	memcpy(blob + 2, pk->id, EXAI_KEYID_LEN);
	memcpy(blob + 2 + EXAI_KEYID_LEN, pk->pk, EXAI_ED25519_PK_LEN);
	return exai_base64_encode(blob, sizeof(blob));
}

char *exai_pubkey_file_text(const exai_pubkey *pk)
{
	char id[EXAI_KEYID_STR];
	char *b64 = exai_pubkey_b64(pk);
	char *out = NULL;

	if (!b64)
		return NULL;
	exai_keyid_str(pk->id, id);
	if (asprintf(&out, UNTRUSTED_PREFIX "minisign public key %s\n%s\n", id, b64) < 0)
		out = NULL;
	free(b64);
	return out;
}

exai_status exai_minisig_parse(const uint8_t *buf, size_t len, exai_minisig *out, exai_error *e)
{
	uint8_t blob[2 + EXAI_KEYID_LEN + EXAI_ED25519_SIG_LEN];
	char *store = malloc(EXAI_MINISIG_MAX + 1);
	char *lines[4];
	size_t n, tl;
	exai_status rc;

	if (!store)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = split_lines(buf, len, "signature", lines, &n, 4, store, EXAI_MINISIG_MAX + 1, e);
	if (rc)
		goto out;
	rc = EXAI_EFORMAT;
	if (n != 4) {
		exai_error_set(e, rc, "signature: expected 4 lines, found %zu", n);
		goto out;
	}
	if (strncmp(lines[0], UNTRUSTED_PREFIX, strlen(UNTRUSTED_PREFIX)) != 0 ||
	    strlen(lines[0]) > strlen(UNTRUSTED_PREFIX) + COMMENT_MAX) {
		exai_error_set(e, rc, "signature: line 1: expected 'untrusted comment: ...'");
		goto out;
	}
	if ((rc = decode_exact(lines[1], blob, sizeof(blob), "signature: line 2", e)))
		goto out;
	rc = EXAI_EFORMAT;
	if (memcmp(blob, "ED", 2) != 0 && memcmp(blob, "Ed", 2) != 0) {
		exai_error_set(e, rc, "signature: unsupported algorithm '%c%c'", blob[0], blob[1]);
		goto out;
	}
	if (strncmp(lines[2], TRUSTED_PREFIX, strlen(TRUSTED_PREFIX)) != 0) {
		exai_error_set(e, rc, "signature: line 3: expected 'trusted comment: ...'");
		goto out;
	}
	tl = strlen(lines[2]) - strlen(TRUSTED_PREFIX);
	if (tl >= sizeof(out->trusted_comment)) {
		exai_error_set(e, rc, "signature: trusted comment too long");
		goto out;
	}
	if ((rc = decode_exact(lines[3], out->global_sig, sizeof(out->global_sig),
			       "signature: line 4", e)))
		goto out;
	memcpy(out->alg, blob, 2);
	out->alg[2] = '\0';
	memcpy(out->id, blob + 2, EXAI_KEYID_LEN);
	memcpy(out->sig, blob + 2 + EXAI_KEYID_LEN, EXAI_ED25519_SIG_LEN);
	memcpy(out->trusted_comment, lines[2] + strlen(TRUSTED_PREFIX), tl + 1);
	rc = EXAI_OK;
out:
	free(store);
	return rc;
}

exai_status exai_minisig_verify(const exai_minisig *sig, const exai_pubkey *pk, const uint8_t *msg,
				size_t len, exai_error *e)
{
	char id[EXAI_KEYID_STR];
	uint8_t prehash[crypto_generichash_BYTES_MAX];
	size_t tl = strlen(sig->trusted_comment);
	uint8_t *global = NULL;
	int bad;

	exai_keyid_str(sig->id, id);
	if (memcmp(sig->id, pk->id, EXAI_KEYID_LEN) != 0)
		return exai_error_set(e, EXAI_EVERIFY, "signature by key %s, not by the given key",
				      id);
	if (strcmp(sig->alg, "ED") == 0) {
		crypto_generichash(prehash, sizeof(prehash), msg, len, NULL, 0);
		bad = crypto_sign_verify_detached(sig->sig, prehash, sizeof(prehash), pk->pk);
	} else {
		bad = crypto_sign_verify_detached(sig->sig, msg, len, pk->pk);
	}
	if (bad)
		return exai_error_set(e, EXAI_EVERIFY, "key %s: signature does not match", id);
	global = malloc(EXAI_ED25519_SIG_LEN + tl);
	if (!global)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	memcpy(global, sig->sig, EXAI_ED25519_SIG_LEN);
	memcpy(global + EXAI_ED25519_SIG_LEN, sig->trusted_comment, tl);
	bad =
	    crypto_sign_verify_detached(sig->global_sig, global, EXAI_ED25519_SIG_LEN + tl, pk->pk);
	free(global);
	if (bad)
		return exai_error_set(e, EXAI_EVERIFY,
				      "key %s: trusted comment signature does not match", id);
	return EXAI_OK;
}

exai_keyfile_kind exai_keyfile_sniff(const char *path, char *what, size_t cap)
{
	uint8_t *buf = NULL, blob[160];
	size_t len = 0, got = 0;
	exai_error e;
	exai_keyfile_kind k = EXAI_KF_UNKNOWN;
	const char *role = "", *desc = "";

	if (cap)
		what[0] = '\0';
	if (exai_file_read_bounded(path, EXAI_PUBKEY_MAX, &buf, &len, &e))
		return k;
	char *t = (char *)buf, *l2 = memchr(t, '\n', len), *end;
	if (len >= 17 && !memcmp(t, "exai-root ", 10)) {
		k = EXAI_KF_TRUST_ROOT, desc = "a trust root";
	} else if (len >= 17 && !memcmp(t, "exai-bundle-index", 17)) {
		k = EXAI_KF_BUNDLE_INDEX, desc = "a bundle index";
	} else if (l2 && len >= 19 && !memcmp(t, "untrusted comment: ", 19)) {
		size_t clen = (size_t)(l2 - t);
		l2++;
		end = memchr(l2, '\n', len - (size_t)(l2 - t));
		if (!end)
			end = t + len;
		/* The role the comment names; each word compared only within the comment line
		 * (fuzz_config found a read past the buffer when "release" was tried at the last
		 * four bytes). */
		for (size_t i = 19; i < clen && !*role; i++) {
			if (clen - i >= 7 && !memcmp(t + i, "release", 7))
				role = "release ";
			else if (clen - i >= 4 && !memcmp(t + i, "root", 4))
				role = "root ";
		}
		if (exai_base64_decode(l2, (size_t)(end - l2), blob, sizeof(blob), &got, NULL) ==
		    EXAI_OK) {
			if (got == 42 && !memcmp(blob, "Ed", 2))
				k = EXAI_KF_PUBLIC, desc = "public key";
			else if (got == 158 && !memcmp(blob, "Ed", 2))
				k = EXAI_KF_SECRET, desc = "secret key";
			else if (got == 74 && (!memcmp(blob, "Ed", 2) || !memcmp(blob, "ED", 2)))
				k = EXAI_KF_SIGNATURE, desc = "a minisign signature", role = "";
			else if (got >= 2 && !memcmp(blob, "Xs", 2))
				k = EXAI_KF_SITE_PUBLIC, desc = "a site public key", role = "";
			else if (got >= 2 && !memcmp(blob, "XS", 2))
				k = EXAI_KF_SITE_SECRET, desc = "a site secret key", role = "";
		}
	}
	if (cap && k != EXAI_KF_UNKNOWN) {
		if (k == EXAI_KF_PUBLIC || k == EXAI_KF_SECRET)
			snprintf(what, cap, "a %s%s", *role ? role : "minisign ", desc);
		else
			snprintf(what, cap, "%s", desc);
	}
	sodium_memzero(buf, len);
	free(buf);
	return k;
}
