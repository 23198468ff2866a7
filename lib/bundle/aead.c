/*
 * aead: AES-256-GCM through OpenSSL EVP, with our nonce and associated-data layout.
 */
#include "exai/aead.h"

#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static EVP_CIPHER *gcm;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
	gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void make_nonce(uint8_t nonce[12], uint32_t domain, uint64_t counter)
{
	nonce[0] = (uint8_t)(domain >> 24);
	nonce[1] = (uint8_t)(domain >> 16);
	nonce[2] = (uint8_t)(domain >> 8);
	nonce[3] = (uint8_t)domain;
	be64(nonce + 4, counter);
}

/* One AES-256-GCM operation; @enc 1 = seal, 0 = open. */
static exai_status gcm_op(int enc, const uint8_t *key, const uint8_t nonce[12], const uint8_t *ad,
			  size_t ad_len, const uint8_t *in, size_t len, uint8_t *out, exai_error *e)
{
	EVP_CIPHER_CTX *ctx = NULL;
	size_t body = enc ? len : len - EXAI_TAG_LEN;
	exai_status rc = EXAI_ECRYPTO;
	int n = 0;

	pthread_once(&gcm_once, gcm_fetch);
	if (!gcm)
		return exai_error_set(e, EXAI_ECRYPTO, "OpenSSL has no AES-256-GCM");
	if ((!enc && len < EXAI_TAG_LEN) || body > INT_MAX || ad_len > INT_MAX)
		return exai_error_set(e, EXAI_EFORMAT, "AEAD input of %zu bytes out of range", len);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (EVP_CipherInit_ex2(ctx, gcm, key, nonce, enc, NULL) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) {
		exai_error_set(e, rc, "AES-GCM init failed");
		goto out;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, EXAI_TAG_LEN,
					(void *)(in + body)) != 1) {
		exai_error_set(e, rc, "AES-GCM tag setup failed");
		goto out;
	}
	if (EVP_CipherUpdate(ctx, out, &n, in, (int)body) != 1) {
		exai_error_set(e, rc, "AES-GCM failed");
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1) {
		memset(out, 0, body);
		rc = exai_error_set(e, EXAI_EVERIFY, "decryption failed (authentication tag)");
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, EXAI_TAG_LEN, out + body) != 1) {
		exai_error_set(e, rc, "AES-GCM tag failed");
		goto out;
	}
	rc = EXAI_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static size_t chunk_ad(uint8_t ad[64], const uint8_t bundle_id[32], uint64_t index, uint64_t count)
{
	memcpy(ad, "exai-chunk-v1", 13);
	memcpy(ad + 13, bundle_id, 32);
	be64(ad + 45, index);
	be64(ad + 53, count);
	return 61;
}

exai_status exai_chunk_seal(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			    uint64_t index, uint64_t count, const uint8_t *in, size_t len,
			    uint8_t *out, exai_error *e)
{
	uint8_t nonce[12], ad[64];
	size_t n = chunk_ad(ad, bundle_id, index, count);

	make_nonce(nonce, 0, index);
	return gcm_op(1, key, nonce, ad, n, in, len, out, e);
}

exai_status exai_chunk_open(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			    uint64_t index, uint64_t count, const uint8_t *in, size_t len,
			    uint8_t *out, exai_error *e)
{
	uint8_t nonce[12], ad[64];
	size_t n = chunk_ad(ad, bundle_id, index, count);

	make_nonce(nonce, 0, index);
	return gcm_op(0, key, nonce, ad, n, in, len, out, e);
}

exai_status exai_manifest_seal(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			       const uint8_t *in, size_t len, uint8_t *out, exai_error *e)
{
	uint8_t nonce[12], ad[48];

	memcpy(ad, "exai-manifest-v1", 16);
	memcpy(ad + 16, bundle_id, 32);
	make_nonce(nonce, 1, 0);
	return gcm_op(1, key, nonce, ad, sizeof(ad), in, len, out, e);
}

exai_status exai_manifest_open(const uint8_t key[EXAI_DATA_KEY_LEN], const uint8_t bundle_id[32],
			       const uint8_t *in, size_t len, uint8_t *out, exai_error *e)
{
	uint8_t nonce[12], ad[48];

	memcpy(ad, "exai-manifest-v1", 16);
	memcpy(ad + 16, bundle_id, 32);
	make_nonce(nonce, 1, 0);
	return gcm_op(0, key, nonce, ad, sizeof(ad), in, len, out, e);
}
