/*
 * aead: AES-256-GCM (OpenSSL, AES-NI) for payload chunks and the manifest.
 *
 * Nonce (12 bytes) = domain (4 bytes, big-endian) || counter (8 bytes, big-endian);
 * domain 0 = payload chunk (counter = chunk number), domain 1 = manifest (counter 0).
 * Associated data binds each ciphertext to its bundle and place:
 *   chunk:    "exai-chunk-v1" || bundle-id[32] || u64be(chunk number) || u64be(chunk count)
 *   manifest: "exai-manifest-v1" || bundle-id[32]
 * so chunks cannot be reordered, dropped, or spliced in from another bundle. The data key is
 * random per bundle, so the counter nonces never repeat under one key.
 */
#ifndef EXAI_AEAD_H
#define EXAI_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define EXAI_DATA_KEY_LEN 32
#define EXAI_TAG_LEN	  16

/* @out gets @len + EXAI_TAG_LEN bytes; @out may be @in (sealed in place). */
exai_status exai_chunk_seal(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			    uint64_t index, uint64_t count, const uint8_t *in, size_t len,
			    uint8_t *out, exai_error *e) EXAI_WUR;
/* @in is @len bytes including the tag; @out gets @len - EXAI_TAG_LEN bytes. EXAI_EVERIFY if
 * the tag does not match; @out must then be discarded (it is zeroed). */
exai_status exai_chunk_open(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			    uint64_t index, uint64_t count, const uint8_t *in, size_t len,
			    uint8_t *out, exai_error *e) EXAI_WUR;
exai_status exai_manifest_seal(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			       const uint8_t *in, size_t len, uint8_t *out, exai_error *e) EXAI_WUR;
exai_status exai_manifest_open(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			       const uint8_t *in, size_t len, uint8_t *out, exai_error *e) EXAI_WUR;

#endif
