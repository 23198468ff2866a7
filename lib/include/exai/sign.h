/*
 * sign: Ed25519 key generation, minisign secret key files, and signing. Linked only by tools
 * that sign (exai-bundle, exai-mirror); verify-only tools link libexai alone.
 *
 * Secret key file (minisign-compatible, two lines):
 *   "untrusted comment: <text>\n"
 *   base64("Ed" || kdf[2] || "B2" || salt[32] || opslimit_le[8] || memlimit_le[8] ||
 *          keyid[8] || sk[64] || chk[32]) "\n"
 * kdf "Sc": keyid||sk||chk is XORed with scrypt(password, salt, opslimit, memlimit);
 * kdf "\0\0": stored in the clear (minisign -W). chk = BLAKE2b-256("Ed" || keyid || sk).
 * Secret material lives in sodium_malloc memory and is wiped on free.
 */
#ifndef EXAI_SIGN_H
#define EXAI_SIGN_H

#include <stdbool.h>

#include "exai/minisign.h"

typedef struct exai_seckey {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t sk[64]; /* libsodium Ed25519 secret key (seed || pk) */
	uint8_t pk[EXAI_ED25519_PK_LEN];
} exai_seckey;

typedef enum exai_kdf_strength {
	EXAI_KDF_SENSITIVE = 0, /* minisign's default: 1 GiB, slow */
	EXAI_KDF_INTERACTIVE	/* 16 MiB, fast: for tests and low-memory machines */
} exai_kdf_strength;

/* New random key pair (in guarded memory); *out freed with exai_seckey_free(). */
exai_status exai_seckey_generate(exai_seckey **out, exai_error *e) EXAI_WUR;
void exai_seckey_free(exai_seckey *sk);
void exai_seckey_public(const exai_seckey *sk, exai_pubkey *pk);

/* Writes the secret key file with O_EXCL|O_NOFOLLOW, mode 0600. @password NULL or "" = none. */
exai_status exai_seckey_write(const char *path, const exai_seckey *sk, const char *password,
			      exai_kdf_strength kdf, exai_error *e) EXAI_WUR;
/* Loads a secret key file; @password is needed iff the file is encrypted. A wrong password is
 * reported as such (the checksum does not match). */
exai_status exai_seckey_load(const char *path, const char *password, exai_seckey **out,
			     exai_error *e) EXAI_WUR;

/* Signs @msg (prehashed "ED") and returns the signature file text (malloc'ed).
 * @trusted_comment NULL = "timestamp:<SOURCE_DATE_EPOCH or now>". */
exai_status exai_minisig_sign(const exai_seckey *sk, const uint8_t *msg, size_t len,
			      const char *trusted_comment, char **out_text, exai_error *e) EXAI_WUR;

/* Raw Ed25519 detached signature (for trust-root documents). */
void exai_ed25519_sign(const exai_seckey *sk, const uint8_t *msg, size_t len,
		       uint8_t sig[EXAI_ED25519_SIG_LEN]);

#endif
