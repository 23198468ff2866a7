/*
 * sitekey: X25519 site keys. A bundle's data key is wrapped to each recipient site's public
 * key with a libsodium sealed box; the site's secret key unwraps it.
 *
 * Files (two lines each, like minisign keys, key id shown the same way):
 *   public: "untrusted comment: exai site public key <KEYID>\n" base64("Xs" || id[8] || pk[32])
 *   secret: "untrusted comment: exai site secret key <KEYID>\n" base64("XS" || id[8] || sk[32]
 *           || pk[32]); mode 0600; loaded into guarded memory.
 */
#ifndef EXAI_SITEKEY_H
#define EXAI_SITEKEY_H

#include <stdint.h>

#include "exai/minisign.h"

#define EXAI_X25519_LEN 32

typedef struct exai_site_pub {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t pk[EXAI_X25519_LEN];
} exai_site_pub;

typedef struct exai_site_key {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t sk[EXAI_X25519_LEN];
	uint8_t pk[EXAI_X25519_LEN];
} exai_site_key;

exai_status exai_site_pub_load(const char *path, exai_site_pub *out, exai_error *e) EXAI_WUR;
/* *out is in guarded memory; free with exai_site_key_free(). */
exai_status exai_site_key_load(const char *path, exai_site_key **out, exai_error *e) EXAI_WUR;
void exai_site_key_free(exai_site_key *k);

/* Generates a key pair and writes PREFIX.pub and PREFIX.key (O_EXCL, 0600 for the key). */
exai_status exai_site_keygen(const char *pub_path, const char *key_path, exai_site_pub *pub_out,
			     exai_error *e) EXAI_WUR;

#endif
