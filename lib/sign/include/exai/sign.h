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

/* What a key is for. exai-bundle keygen writes it into the key files' comment line:
 *   "untrusted comment: exai <role> key, minisign [encrypted ]secret key"
 *   "untrusted comment: exai <role> key, minisign public key <KEYID>"
 * (stock minisign ignores the comment). Keys made by minisign itself carry no role (UNKNOWN).
 * The comment is not signed: the role guards against using the wrong key by mistake; what
 * a key may sign is decided by the trust root that lists it. */
typedef enum exai_key_role {
	EXAI_KEY_ROLE_UNKNOWN = 0,
	EXAI_KEY_ROLE_RELEASE,
	EXAI_KEY_ROLE_ROOT,
	EXAI_KEY_ROLE_SITE
} exai_key_role;

typedef struct exai_seckey {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t sk[64]; /* libsodium Ed25519 secret key (seed || pk) */
	uint8_t pk[EXAI_ED25519_PK_LEN];
	exai_key_role role; /* from the file's comment; written by exai_seckey_write */
} exai_seckey;

/* "release", "root", "site" or "unknown". */
const char *exai_key_role_name(exai_key_role r);
/* The role a key file (secret or public; minisign or site) declares, from its comment line,
 * or for a site key from its blob tag; EXAI_KEY_ROLE_UNKNOWN for a minisign key without one.
 * Reads at most 4 KiB; errors only when the file cannot be read. */
exai_status exai_keyfile_role(const char *path, exai_key_role *out, exai_error *e) EXAI_WUR;
/* The comment line text (without "untrusted comment: ") for a key of @role; @what is
 * "secret key", "encrypted secret key" or "public key". Into @buf (at least 96 bytes). */
void exai_key_comment(exai_key_role role, const char *what, char *buf, size_t cap);

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
/* *out = whether the secret key file at @path is password-protected (kdf "Sc"). A file that
 * does not parse is reported as not encrypted (exai_seckey_load then says what is wrong);
 * errors only when the file cannot be read. */
exai_status exai_seckey_file_encrypted(const char *path, bool *out, exai_error *e) EXAI_WUR;
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
