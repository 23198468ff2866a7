/*
 * hash: streaming SHA-256 through OpenSSL EVP (SHA-NI where the CPU has it), hex and base64.
 *
 * The EVP_MD is fetched once per process and shared; a context is cheap to create per stream.
 */
#ifndef EXAI_HASH_H
#define EXAI_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define EXAI_SHA256_LEN 32
#define EXAI_SHA256_HEX 65 /* 64 hex digits + NUL */

struct exai_progress;

typedef struct exai_sha256 {
	void *ctx; /* EVP_MD_CTX */
} exai_sha256;

/* Fetches the SHA-256 implementation once; called by exai_init(). Thread-safe. */
exai_status exai_sha256_backend_init(exai_error *e) EXAI_WUR;

exai_status exai_sha256_init(exai_sha256 *h, exai_error *e) EXAI_WUR;
void exai_sha256_update(exai_sha256 *h, const void *data, size_t len);
/* Writes the digest and frees the context. */
void exai_sha256_final(exai_sha256 *h, uint8_t out[EXAI_SHA256_LEN]);
/* Frees a context without producing a digest; NULL-safe. */
void exai_sha256_free(exai_sha256 *h);

/* One-shot digest of a buffer. */
exai_status exai_sha256_buf(const void *data, size_t len, uint8_t out[EXAI_SHA256_LEN],
			    exai_error *e) EXAI_WUR;

/* Most buffers exai_sha256_multi() takes at once. */
#define EXAI_SHA256_MULTI_MAX 4

/* SHA-256 of @n (0..EXAI_SHA256_MULTI_MAX) independent buffers at once: out[i] is the digest
 * of data[i] (len[i] bytes). With the x86 SHA extensions the messages are hashed interleaved
 * (about 1.8x one stream's speed for four); otherwise one after another through OpenSSL. */
exai_status exai_sha256_multi(size_t n, const uint8_t *const data[], const size_t len[],
			      uint8_t out[][EXAI_SHA256_LEN], exai_error *e) EXAI_WUR;
/* How many buffers are worth handing exai_sha256_multi() at once: EXAI_SHA256_MULTI_MAX with
 * the SHA extensions, 1 without. */
unsigned exai_sha256_multi_width(void);

/* Digest of a regular file (O_NOFOLLOW), refusing more than @max bytes; reports bytes read to
 * @progress if not NULL; *size_out gets the length. */
exai_status exai_sha256_file(const char *path, uint64_t max, uint8_t out[EXAI_SHA256_LEN],
			     uint64_t *size_out, struct exai_progress *progress,
			     exai_error *e) EXAI_WUR;

/* Lower-case hex; @out must hold 2*len+1 bytes. */
void exai_hex_encode(const uint8_t *in, size_t len, char *out);
/* Strict: exactly 2*@len hex digits (either case), nothing else. */
exai_status exai_hex_decode(const char *in, uint8_t *out, size_t len, exai_error *e) EXAI_WUR;

/* Standard base64 with padding. Returns malloc'ed string or NULL on OOM. */
char *exai_base64_encode(const uint8_t *in, size_t len);
/* Strict standard base64 (padding required, no whitespace); *len_out is the decoded length,
 * which must fit in @cap. */
exai_status exai_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
			       size_t *len_out, exai_error *e) EXAI_WUR;

/* Constant-time compare. */
bool exai_memeq(const void *a, const void *b, size_t len);

#endif
