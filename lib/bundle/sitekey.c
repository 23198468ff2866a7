/*
 * sitekey: X25519 site key files.
 */
#include "exai/sitekey.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/secmem.h"

#define SITE_FILE_MAX 4096

/* Reads a two-line key file and decodes line 2 into @blob of exactly @len bytes with @tag. */
static exai_status load_blob(const char *path, const char *tag, uint8_t *blob, size_t len,
			     exai_error *e)
{
	uint8_t *buf = NULL;
	size_t n = 0, got = 0;
	const char *l2, *end;
	exai_status rc = exai_file_read_bounded(path, SITE_FILE_MAX, &buf, &n, e);

	if (rc)
		return rc;
	rc = EXAI_EFORMAT;
	l2 = memchr(buf, '\n', n);
	if (strncmp((char *)buf, "untrusted comment: ", 19) != 0 || !l2) {
		exai_error_set(e, rc, "%s: not an exai site key file", path);
		goto out;
	}
	l2++;
	end = memchr(l2, '\n', n - (size_t)(l2 - (char *)buf));
	if (!end)
		end = (char *)buf + n;
	if ((end < (char *)buf + n && (size_t)(end + 1 - (char *)buf) != n) ||
	    exai_base64_decode(l2, (size_t)(end - l2), blob, len, &got, NULL) != EXAI_OK ||
	    got != len || memcmp(blob, tag, 2) != 0) {
		/* Name what the file is and which site key half is needed, never the magic. */
		char what[64];
		const char *need =
		    !strcmp(tag, "Xs") ? "a site public key (.pub)" : "a site secret key (.key)";
		if (exai_keyfile_sniff(path, what, sizeof(what)) != EXAI_KF_UNKNOWN)
			exai_error_set(e, rc, "%s is %s; this needs %s", path, what, need);
		else
			exai_error_set(e, rc, "%s: malformed site key (this needs %s)", path, need);
		goto out;
	}
	rc = EXAI_OK;
out:
	sodium_memzero(buf, n);
	free(buf);
	return rc;
}

exai_status exai_site_pub_load(const char *path, exai_site_pub *out, exai_error *e)
{
	uint8_t blob[2 + EXAI_KEYID_LEN + EXAI_X25519_LEN];
	exai_status rc = load_blob(path, "Xs", blob, sizeof(blob), e);

	if (rc)
		return rc;
	memcpy(out->id, blob + 2, EXAI_KEYID_LEN);
	memcpy(out->pk, blob + 2 + EXAI_KEYID_LEN, EXAI_X25519_LEN);
	return EXAI_OK;
}

exai_status exai_site_key_load(const char *path, exai_site_key **out, exai_error *e)
{
	enum { LEN = 2 + EXAI_KEYID_LEN + 2 * EXAI_X25519_LEN };
	uint8_t *blob = exai_secmem_alloc(LEN);
	exai_site_key *k = exai_secmem_alloc(sizeof(*k));
	uint8_t check[EXAI_X25519_LEN];
	exai_status rc;

	*out = NULL;
	if (!blob || !k) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto out;
	}
	rc = load_blob(path, "XS", blob, LEN, e);
	if (!rc) /* a secret key indeed: is it kept private? */
		rc = exai_file_secret_mode_ok(path, e);
	if (rc)
		goto out;
	memcpy(k->id, blob + 2, EXAI_KEYID_LEN);
	memcpy(k->sk, blob + 2 + EXAI_KEYID_LEN, EXAI_X25519_LEN);
	memcpy(k->pk, blob + 2 + EXAI_KEYID_LEN + EXAI_X25519_LEN, EXAI_X25519_LEN);
	crypto_scalarmult_base(check, k->sk);
	if (sodium_memcmp(check, k->pk, EXAI_X25519_LEN) != 0) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: secret and public halves do not match",
				    path);
		goto out;
	}
	*out = k;
	k = NULL;
out:
	exai_secmem_free(blob);
	exai_secmem_free(k);
	return rc;
}

void exai_site_key_free(exai_site_key *k)
{
	exai_secmem_free(k);
}

static char *key_text(const char *what, const uint8_t *id, const char *tag, const uint8_t *a,
		      const uint8_t *b)
{
	uint8_t *blob = exai_secmem_alloc(2 + EXAI_KEYID_LEN + 2 * EXAI_X25519_LEN);
	size_t len = 2 + EXAI_KEYID_LEN + EXAI_X25519_LEN + (b ? EXAI_X25519_LEN : 0);
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = exai_secmem_alloc(n), *text = NULL;
	char idstr[EXAI_KEYID_STR];

	if (blob && b64) {
		memcpy(blob, tag, 2);
		memcpy(blob + 2, id, EXAI_KEYID_LEN);
		memcpy(blob + 2 + EXAI_KEYID_LEN, a, EXAI_X25519_LEN);
		if (b)
			memcpy(blob + 2 + EXAI_KEYID_LEN + EXAI_X25519_LEN, b, EXAI_X25519_LEN);
		sodium_bin2base64(b64, n, blob, len, sodium_base64_VARIANT_ORIGINAL);
		exai_keyid_str(id, idstr);
		text = exai_secmem_alloc(n + 96);
		if (text)
			snprintf(text, n + 96, "untrusted comment: exai site %s key %s\n%s\n", what,
				 idstr, b64);
	}
	exai_secmem_free(blob);
	exai_secmem_free(b64);
	return text;
}

exai_status exai_site_keygen(const char *pub_path, const char *key_path, exai_site_pub *pub_out,
			     exai_error *e)
{
	exai_site_key *k = exai_secmem_alloc(sizeof(*k));
	char *pub = NULL, *sec = NULL;
	exai_status rc;

	if (!k)
		return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	randombytes_buf(k->id, EXAI_KEYID_LEN);
	crypto_box_keypair(k->pk, k->sk);
	pub = key_text("public", k->id, "Xs", k->pk, NULL);
	sec = key_text("secret", k->id, "XS", k->sk, k->pk);
	if (!pub || !sec) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto out;
	}
	rc = exai_write_new_file(key_path, sec, 0600, e);
	if (rc)
		goto out;
	rc = exai_write_new_file(pub_path, pub, 0644, e);
	if (rc) {
		remove(key_path);
		goto out;
	}
	if (pub_out) {
		memcpy(pub_out->id, k->id, EXAI_KEYID_LEN);
		memcpy(pub_out->pk, k->pk, EXAI_X25519_LEN);
	}
out:
	exai_secmem_free(pub);
	exai_secmem_free(sec);
	exai_secmem_free(k);
	return rc;
}
