/*
 * minisign: minisign-compatible Ed25519 public keys and signature files (verify side).
 *
 * Formats (https://jedisct1.github.io/minisign/), all lines LF-terminated:
 *   public key:  "untrusted comment: <text>\n" base64("Ed" || keyid[8] || pk[32]) "\n"
 *   signature:   "untrusted comment: <text>\n" base64(alg[2] || keyid[8] || sig[64]) "\n"
 *                "trusted comment: <text>\n"   base64(global_sig[64]) "\n"
 * alg "ED" signs BLAKE2b-512(message) (minisign's default since 0.10); "Ed" signs the message
 * itself (legacy). global_sig signs sig[64] || trusted comment text. Both are checked.
 * Key ids are shown as minisign shows them: 16 upper-case hex digits of the little-endian
 * 64-bit value of keyid[8].
 *
 * Parsing is strict and bounded: exact base64 lengths, known algorithms, no trailing data.
 * Signing lives in exai/sign.h (a separate library verify-only tools do not link).
 */
#ifndef EXAI_MINISIGN_H
#define EXAI_MINISIGN_H

#include <stdint.h>
#include <stddef.h>

#include "exai/error.h"

#define EXAI_KEYID_LEN		 8
#define EXAI_KEYID_STR		 17 /* 16 hex + NUL */
#define EXAI_ED25519_PK_LEN	 32
#define EXAI_ED25519_SIG_LEN	 64
#define EXAI_MINISIG_MAX	 16384 /* bound on a signature file */
#define EXAI_PUBKEY_MAX		 4096  /* bound on a public key file */
#define EXAI_TRUSTED_COMMENT_MAX 8192

typedef struct exai_pubkey {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t pk[EXAI_ED25519_PK_LEN];
} exai_pubkey;

typedef struct exai_minisig {
	char alg[3]; /* "ED" or "Ed" */
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t sig[EXAI_ED25519_SIG_LEN];
	char trusted_comment[EXAI_TRUSTED_COMMENT_MAX];
	uint8_t global_sig[EXAI_ED25519_SIG_LEN];
} exai_minisig;

/* Key id in minisign's display form (upper-case hex of the little-endian value). */
void exai_keyid_str(const uint8_t id[EXAI_KEYID_LEN], char out[EXAI_KEYID_STR]);
/* Parses the display form back (16 hex digits, either case). */
exai_status exai_keyid_parse(const char *s, uint8_t id[EXAI_KEYID_LEN], exai_error *e) EXAI_WUR;

/* Parses a public key file's contents (two lines). */
exai_status exai_pubkey_parse(const uint8_t *buf, size_t len, exai_pubkey *out,
			      exai_error *e) EXAI_WUR;
/* Reads and parses a public key file (bounded, O_NOFOLLOW). */
exai_status exai_pubkey_load(const char *path, exai_pubkey *out, exai_error *e) EXAI_WUR;
/* Parses just the base64 line ("RWQ..."). */
exai_status exai_pubkey_parse_b64(const char *b64, exai_pubkey *out, exai_error *e) EXAI_WUR;
/* The base64 line for @pk (malloc'ed), NULL on OOM. */
char *exai_pubkey_b64(const exai_pubkey *pk);
/* The whole public key file text (malloc'ed), NULL on OOM. */
char *exai_pubkey_file_text(const exai_pubkey *pk);

/* Parses a signature file (four lines). */
exai_status exai_minisig_parse(const uint8_t *buf, size_t len, exai_minisig *out,
			       exai_error *e) EXAI_WUR;
/* Verifies @sig by @pk over @msg: key id match, the signature, and the trusted comment's
 * global signature. EXAI_EVERIFY on any mismatch, naming the key id. */
exai_status exai_minisig_verify(const exai_minisig *sig, const exai_pubkey *pk, const uint8_t *msg,
				size_t len, exai_error *e) EXAI_WUR;

/* What a key-like file is, from its shape alone (never trusted, only for messages): the
 * second line's base64 blob by length and magic, and the role its comment names. Used when a
 * file fails to load as the kind a command needs, so the error says "X is a release public
 * key; signing needs its secret key (.key)" instead of a parser's complaint. */
typedef enum exai_keyfile_kind {
	EXAI_KF_UNKNOWN = 0,
	EXAI_KF_PUBLIC,	      /* minisign public key (release or root) */
	EXAI_KF_SECRET,	      /* minisign secret key */
	EXAI_KF_SITE_PUBLIC,  /* exai site public key */
	EXAI_KF_SITE_SECRET,  /* exai site secret key */
	EXAI_KF_SIGNATURE,    /* minisign signature */
	EXAI_KF_TRUST_ROOT,   /* an exai trust root */
	EXAI_KF_BUNDLE_INDEX, /* a bundle's index */
} exai_keyfile_kind;

/* The kind of @path, and in @what (size @cap) its description ("a release public key",
 * "a site secret key", "a trust root", ...). EXAI_KF_UNKNOWN (what = "") when it is none. */
exai_keyfile_kind exai_keyfile_sniff(const char *path, char *what, size_t cap);

#endif
