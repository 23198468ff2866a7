/*
 * sign: minisign-compatible key generation, secret key files and signatures.
 *
 * Invariant: every copy of secret key bytes outside sodium_malloc memory is wiped before the
 * function returns, on every path.
 */
#include "exai/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/secmem.h"
#include "exai/text.h"

#define SK_BLOB_LEN	 (2 + 2 + 2 + 32 + 8 + 8 + EXAI_KEYID_LEN + 64 + 32)
#define SK_SECRET_OFF	 (2 + 2 + 2 + 32 + 8 + 8)
#define SK_SECRET_LEN	 (EXAI_KEYID_LEN + 64 + 32)
#define SK_FILE_MAX	 4096
#define KDF_MEMLIMIT_MAX (2ull << 30)
#define KDF_OPSLIMIT_MAX (1ull << 30)

static const char *const role_names[] = {"unknown", "release", "root", "site"};

const char *exai_key_role_name(exai_key_role r)
{
	return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) ? role_names[r] : "unknown";
}

void exai_key_comment(exai_key_role role, const char *what, char *buf, size_t cap)
{
	if (role == EXAI_KEY_ROLE_RELEASE || role == EXAI_KEY_ROLE_ROOT)
		snprintf(buf, cap, "exai %s key, minisign %s", role_names[role], what);
	else
		snprintf(buf, cap, "minisign %s", what);
}

/* The role named by a comment line's text @c (@n bytes, after "untrusted comment: "). */
static exai_key_role comment_role(const char *c, size_t n)
{
	static const struct {
		const char *prefix;
		exai_key_role role;
	} known[] = {
	    {"exai release key,", EXAI_KEY_ROLE_RELEASE},
	    {"exai root key,", EXAI_KEY_ROLE_ROOT},
	    {"exai site ", EXAI_KEY_ROLE_SITE},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t l = strlen(known[i].prefix);
		if (n >= l && !memcmp(c, known[i].prefix, l))
			return known[i].role;
	}
	return EXAI_KEY_ROLE_UNKNOWN;
}

exai_status exai_keyfile_role(const char *path, exai_key_role *out, exai_error *e)
{
	uint8_t *buf = NULL, blob[256];
	const char *l2, *end;
	size_t len = 0, n = 0;
	exai_status rc = exai_file_read_bounded(path, SK_FILE_MAX, &buf, &len, e);

	*out = EXAI_KEY_ROLE_UNKNOWN;
	if (rc)
		return rc;
	l2 = memchr(buf, '\n', len);
	if (len > 19 && !strncmp((char *)buf, "untrusted comment: ", 19) && l2) {
		*out = comment_role((const char *)buf + 19, (size_t)(l2 - ((char *)buf + 19)));
		l2++;
		end = memchr(l2, '\n', len - (size_t)(l2 - (char *)buf));
		if (!end)
			end = (char *)buf + len;
		/* A site key file is recognised by its blob even with another comment. */
		if (*out == EXAI_KEY_ROLE_UNKNOWN &&
		    exai_base64_decode(l2, (size_t)(end - l2), blob, sizeof(blob), &n, NULL) ==
			EXAI_OK &&
		    n >= 2 && (!memcmp(blob, "XS", 2) || !memcmp(blob, "Xs", 2)))
			*out = EXAI_KEY_ROLE_SITE;
		sodium_memzero(blob, sizeof(blob));
	}
	sodium_memzero(buf, len);
	free(buf);
	return EXAI_OK;
}

exai_status exai_seckey_generate(exai_seckey **out, exai_error *e)
{
	exai_seckey *sk = exai_secmem_alloc(sizeof(*sk));

	*out = NULL;
	if (!sk)
		return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	crypto_sign_keypair(sk->pk, sk->sk);
	randombytes_buf(sk->id, sizeof(sk->id));
	sk->role = EXAI_KEY_ROLE_UNKNOWN;
	*out = sk;
	return EXAI_OK;
}

void exai_seckey_free(exai_seckey *sk)
{
	exai_secmem_free(sk);
}

void exai_seckey_public(const exai_seckey *sk, exai_pubkey *pk)
{
	memcpy(pk->id, sk->id, EXAI_KEYID_LEN);
	memcpy(pk->pk, sk->pk, EXAI_ED25519_PK_LEN);
}

static void le64_store(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le64_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void compute_chk(const uint8_t *id, const uint8_t *sk, uint8_t chk[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"Ed", 2);
	crypto_generichash_update(&st, id, EXAI_KEYID_LEN);
	crypto_generichash_update(&st, sk, 64);
	crypto_generichash_final(&st, chk, 32);
	sodium_memzero(&st, sizeof(st));
}

/* XORs the secret part of @blob with the scrypt stream for @password. */
static exai_status kdf_xor(uint8_t *blob, const char *password, exai_error *e)
{
	uint8_t *stream = exai_secmem_alloc(SK_SECRET_LEN);
	uint64_t ops = le64_load(blob + 38), mem = le64_load(blob + 46);
	exai_status rc = EXAI_OK;

	if (!stream)
		return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	if (ops > KDF_OPSLIMIT_MAX || mem > KDF_MEMLIMIT_MAX) {
		rc = exai_error_set(e, EXAI_EFORMAT, "secret key: KDF limits out of range");
		goto out;
	}
	if (crypto_pwhash_scryptsalsa208sha256(stream, SK_SECRET_LEN, password, strlen(password),
					       blob + 6, ops, (size_t)mem) != 0) {
		rc = exai_error_set(e, EXAI_ENOMEM, "secret key: scrypt failed (out of memory?)");
		goto out;
	}
	for (size_t i = 0; i < SK_SECRET_LEN; i++)
		blob[SK_SECRET_OFF + i] ^= stream[i];
out:
	exai_secmem_free(stream);
	return rc;
}

exai_status exai_seckey_write(const char *path, const exai_seckey *sk, const char *password,
			      exai_kdf_strength kdf, exai_error *e)
{
	uint8_t *blob = exai_secmem_alloc(SK_BLOB_LEN);
	char *b64 = NULL, *text = NULL, comment[96];
	bool enc = password && *password;
	exai_status rc = EXAI_OK;
	size_t n;

	if (!blob)
		return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	memset(blob, 0, SK_BLOB_LEN);
	memcpy(blob, "Ed", 2);
	memcpy(blob + 2, enc ? "Sc" : "\0\0", 2);
	memcpy(blob + 4, "B2", 2);
	if (enc) {
		randombytes_buf(blob + 6, 32);
		le64_store(blob + 38,
			   kdf == EXAI_KDF_SENSITIVE
			       ? crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE
			       : crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_INTERACTIVE);
		le64_store(blob + 46,
			   kdf == EXAI_KDF_SENSITIVE
			       ? crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE
			       : crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_INTERACTIVE);
	}
	memcpy(blob + SK_SECRET_OFF, sk->id, EXAI_KEYID_LEN);
	memcpy(blob + SK_SECRET_OFF + EXAI_KEYID_LEN, sk->sk, 64);
	compute_chk(sk->id, sk->sk, blob + SK_SECRET_OFF + EXAI_KEYID_LEN + 64);
	if (enc && (rc = kdf_xor(blob, password, e)))
		goto out;
	n = sodium_base64_ENCODED_LEN(SK_BLOB_LEN, sodium_base64_VARIANT_ORIGINAL);
	b64 = exai_secmem_alloc(n);
	text = exai_secmem_alloc(n + 128);
	if (!b64 || !text) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto out;
	}
	sodium_bin2base64(b64, n, blob, SK_BLOB_LEN, sodium_base64_VARIANT_ORIGINAL);
	exai_key_comment(sk->role, enc ? "encrypted secret key" : "secret key", comment,
			 sizeof(comment));
	snprintf(text, n + 128, "untrusted comment: %s\n%s\n", comment, b64);
	rc = exai_write_new_file(path, text, 0600, e);
out:
	exai_secmem_free(blob);
	exai_secmem_free(b64);
	exai_secmem_free(text);
	return rc;
}

exai_status exai_seckey_file_encrypted(const char *path, bool *out, exai_error *e)
{
	uint8_t *buf = NULL, *blob = NULL;
	const char *line2, *end;
	size_t len = 0, n = 0;
	exai_status rc;

	*out = false;
	if ((rc = exai_file_read_bounded(path, SK_FILE_MAX, &buf, &len, e)))
		return rc;
	if (!(blob = exai_secmem_alloc(SK_BLOB_LEN))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto out;
	}
	line2 = memchr(buf, '\n', len);
	if (line2) {
		line2++;
		end = memchr(line2, '\n', len - (size_t)(line2 - (char *)buf));
		if (!end)
			end = (char *)buf + len;
		/* Malformed files are not "encrypted": exai_seckey_load names what is wrong. */
		if (exai_base64_decode(line2, (size_t)(end - line2), blob, SK_BLOB_LEN, &n, NULL) ==
			EXAI_OK &&
		    n == SK_BLOB_LEN && !memcmp(blob, "Ed", 2) && !memcmp(blob + 2, "Sc", 2))
			*out = true;
	}
out:
	exai_secmem_free(blob);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

exai_status exai_seckey_load(const char *path, const char *password, exai_seckey **out,
			     exai_error *e)
{
	uint8_t *buf = NULL, *blob = NULL;
	uint8_t chk[32];
	exai_seckey *sk = NULL;
	const char *line2, *end;
	size_t len = 0, n = 0;
	exai_status rc;

	*out = NULL;
	rc = exai_file_read_bounded(path, SK_FILE_MAX, &buf, &len, e);
	if (rc)
		return rc;
	blob = exai_secmem_alloc(SK_BLOB_LEN);
	sk = exai_secmem_alloc(sizeof(*sk));
	if (!blob || !sk) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto out;
	}
	line2 = memchr(buf, '\n', len);
	rc = EXAI_EFORMAT;
	if (strncmp((char *)buf, "untrusted comment: ", 19) != 0 || !line2) {
		exai_error_set(e, rc, "%s: not a minisign secret key file", path);
		goto out;
	}
	line2++;
	end = memchr(line2, '\n', len - (size_t)(line2 - (char *)buf));
	if (!end)
		end = (char *)buf + len;
	if ((end < (char *)buf + len && (size_t)(end + 1 - (char *)buf) != len) ||
	    exai_base64_decode(line2, (size_t)(end - line2), blob, SK_BLOB_LEN, &n, NULL) !=
		EXAI_OK ||
	    n != SK_BLOB_LEN) {
		char what[64];
		if (exai_keyfile_sniff(path, what, sizeof(what)) != EXAI_KF_UNKNOWN)
			exai_error_set(e, rc,
				       "%s is %s, not a secret signing key: give the .key file of "
				       "a release or root key pair",
				       path, what);
		else
			exai_error_set(e, rc, "%s: malformed secret key", path);
		goto out;
	}
	if (memcmp(blob, "Ed", 2) != 0 || memcmp(blob + 4, "B2", 2) != 0) {
		exai_error_set(e, rc, "%s: unsupported secret key algorithm", path);
		goto out;
	}
	if (memcmp(blob + 2, "Sc", 2) == 0) {
		if (!password || !*password) {
			exai_error_set(e, EXAI_EINVAL,
				       "%s: the key is password-protected; give --password-file",
				       path);
			rc = EXAI_EINVAL;
			goto out;
		}
		if ((rc = kdf_xor(blob, password, e)))
			goto out;
	} else if (memcmp(blob + 2, "\0\0", 2) != 0) {
		exai_error_set(e, rc, "%s: unsupported key derivation", path);
		goto out;
	}
	memcpy(sk->id, blob + SK_SECRET_OFF, EXAI_KEYID_LEN);
	memcpy(sk->sk, blob + SK_SECRET_OFF + EXAI_KEYID_LEN, 64);
	compute_chk(sk->id, sk->sk, chk);
	if (memcmp(blob + 2, "\0\0", 2) == 0 &&
	    sodium_is_zero(blob + SK_SECRET_OFF + EXAI_KEYID_LEN + 64, 32)) {
		/* minisign 0.11 -W writes no checksum for a key stored in the clear: check the
		 * key itself instead (its public half must be the one its seed gives). */
		uint8_t pk[crypto_sign_PUBLICKEYBYTES], skx[crypto_sign_SECRETKEYBYTES];
		bool good;
		crypto_sign_seed_keypair(pk, skx, sk->sk);
		good = sodium_memcmp(skx, sk->sk, sizeof(skx)) == 0;
		sodium_memzero(skx, sizeof(skx));
		sodium_memzero(pk, sizeof(pk));
		if (good)
			memcpy(chk, blob + SK_SECRET_OFF + EXAI_KEYID_LEN + 64, 32);
	}
	if (sodium_memcmp(chk, blob + SK_SECRET_OFF + EXAI_KEYID_LEN + 64, 32) != 0) {
		if (memcmp(blob + 2, "Sc", 2) == 0)
			rc = exai_error_set(
			    e, EXAI_EVERIFY,
			    "wrong password for %s (the key checksum does not match)", path);
		else
			rc = exai_error_set(e, EXAI_EVERIFY,
					    "%s: corrupt secret key (checksum does not match)",
					    path);
		goto out;
	}
	if ((rc = exai_file_secret_mode_ok(path, e))) /* a secret key indeed: is it kept private? */
		goto out;
	crypto_sign_ed25519_sk_to_pk(sk->pk, sk->sk);
	sk->role = comment_role((const char *)buf + 19, (size_t)(line2 - 1 - ((char *)buf + 19)));
	*out = sk;
	sk = NULL;
	rc = EXAI_OK;
out:
	sodium_memzero(chk, sizeof(chk));
	if (buf)
		sodium_memzero(buf, len);
	free(buf);
	exai_secmem_free(blob);
	exai_seckey_free(sk);
	return rc;
}

void exai_ed25519_sign(const exai_seckey *sk, const uint8_t *msg, size_t len,
		       uint8_t sig[EXAI_ED25519_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, sk->sk);
}

exai_status exai_minisig_sign(const exai_seckey *sk, const uint8_t *msg, size_t len,
			      const char *trusted_comment, char **out_text, exai_error *e)
{
	uint8_t prehash[crypto_generichash_BYTES_MAX];
	uint8_t blob[2 + EXAI_KEYID_LEN + EXAI_ED25519_SIG_LEN];
	uint8_t global[EXAI_ED25519_SIG_LEN];
	char tc[EXAI_TRUSTED_COMMENT_MAX];
	char *b64sig = NULL, *b64global = NULL, *text = NULL;
	uint8_t *gmsg = NULL;
	char id[EXAI_KEYID_STR];
	size_t tl;
	exai_status rc = EXAI_OK;

	*out_text = NULL;
	if (trusted_comment) {
		if (strlen(trusted_comment) >= sizeof(tc) || strchr(trusted_comment, '\n'))
			return exai_error_set(e, EXAI_EINVAL,
					      "trusted comment too long or multi-line");
		snprintf(tc, sizeof(tc), "%s", trusted_comment);
	} else {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		uint64_t t = (uint64_t)time(NULL);
		if (sde)
			(void)exai_parse_u64(sde, &t);
		snprintf(tc, sizeof(tc), "timestamp:%llu", (unsigned long long)t);
	}
	tl = strlen(tc);
	crypto_generichash(prehash, sizeof(prehash), msg, len, NULL, 0);
	memcpy(blob, "ED", 2);
	memcpy(blob + 2, sk->id, EXAI_KEYID_LEN);
	crypto_sign_detached(blob + 2 + EXAI_KEYID_LEN, NULL, prehash, sizeof(prehash), sk->sk);
	gmsg = malloc(EXAI_ED25519_SIG_LEN + tl);
	if (!gmsg)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	memcpy(gmsg, blob + 2 + EXAI_KEYID_LEN, EXAI_ED25519_SIG_LEN);
	memcpy(gmsg + EXAI_ED25519_SIG_LEN, tc, tl);
	crypto_sign_detached(global, NULL, gmsg, EXAI_ED25519_SIG_LEN + tl, sk->sk);
	b64sig = exai_base64_encode(blob, sizeof(blob));
	b64global = exai_base64_encode(global, sizeof(global));
	exai_keyid_str(sk->id, id);
	if (!b64sig || !b64global ||
	    asprintf(&text,
		     "untrusted comment: signature from minisign secret key %s\n%s\n"
		     "trusted comment: %s\n%s\n",
		     id, b64sig, tc, b64global) < 0) {
		text = NULL;
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	*out_text = text;
	free(gmsg);
	free(b64sig);
	free(b64global);
	return rc;
}
