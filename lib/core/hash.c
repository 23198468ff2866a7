/*
 * hash: SHA-256 via one shared EVP_MD, plus hex/base64 codecs.
 */
#include "exai/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/progress.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

exai_status exai_sha256_backend_init(exai_error *e)
{
	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md)
		return exai_error_set(e, EXAI_ECRYPTO, "OpenSSL has no SHA-256");
	return EXAI_OK;
}

exai_status exai_sha256_init(exai_sha256 *h, exai_error *e)
{
	exai_status rc = exai_sha256_backend_init(e);
	EVP_MD_CTX *ctx;

	h->ctx = NULL;
	if (rc)
		return rc;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return exai_error_set(e, EXAI_ENOMEM, "sha256: out of memory");
	if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return exai_error_set(e, EXAI_ECRYPTO, "sha256: init failed");
	}
	h->ctx = ctx;
	return EXAI_OK;
}

void exai_sha256_update(exai_sha256 *h, const void *data, size_t len)
{
	/* EVP_DigestUpdate takes size_t; it cannot fail for SHA-256 once initialised. */
	(void)EVP_DigestUpdate(h->ctx, data, len);
}

void exai_sha256_final(exai_sha256 *h, uint8_t out[EXAI_SHA256_LEN])
{
	unsigned int n = 0;

	(void)EVP_DigestFinal_ex(h->ctx, out, &n);
	exai_sha256_free(h);
}

void exai_sha256_free(exai_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

exai_status exai_sha256_buf(const void *data, size_t len, uint8_t out[EXAI_SHA256_LEN],
			    exai_error *e)
{
	exai_sha256 h;
	exai_status rc = exai_sha256_init(&h, e);

	if (rc)
		return rc;
	exai_sha256_update(&h, data, len);
	exai_sha256_final(&h, out);
	return EXAI_OK;
}

exai_status exai_sha256_file(const char *path, uint64_t max, uint8_t out[EXAI_SHA256_LEN],
			     uint64_t *size_out, struct exai_progress *progress, exai_error *e)
{
	enum { BUF = 1 << 20 };
	exai_sha256 h = {0};
	uint8_t *buf = NULL;
	uint64_t total = 0;
	exai_status rc;
	int fd = -1;

	rc = exai_file_open_regular(path, O_RDONLY, 0, &fd, e);
	if (rc)
		return rc;
	buf = malloc(BUF);
	if (!buf) {
		rc = exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = exai_sha256_init(&h, e);
	if (rc)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, BUF);
		if (n < 0) {
			rc = exai_error_sys(e, EXAI_EIO, "%s: read at offset %llu", path,
					    (unsigned long long)total);
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s: over the limit of %llu bytes",
					    path, (unsigned long long)max);
			goto out;
		}
		exai_sha256_update(&h, buf, (size_t)n);
		if (progress)
			exai_progress_add(progress, (uint64_t)n);
	}
	exai_sha256_final(&h, out);
	if (size_out)
		*size_out = total;
out:
	exai_sha256_free(&h);
	free(buf);
	close(fd);
	return rc;
}

void exai_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

exai_status exai_hex_decode(const char *in, uint8_t *out, size_t len, exai_error *e)
{
	if (strlen(in) != 2 * len)
		return exai_error_set(e, EXAI_EFORMAT, "hex: expected %zu digits, got %zu", 2 * len,
				      strlen(in));
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return exai_error_set(e, EXAI_EFORMAT, "hex: bad digit at position %zu",
					      hi < 0 ? 2 * i : 2 * i + 1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return EXAI_OK;
}

char *exai_base64_encode(const uint8_t *in, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);

	if (!out)
		return NULL;
	sodium_bin2base64(out, n, in, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

exai_status exai_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap,
			       size_t *len_out, exai_error *e)
{
	const char *end = NULL;
	size_t n = 0;

	/* libsodium 1.0.18 decodes some bytes >= 0x80 as if they were base64 digits (found by
	 * fuzzing): check the alphabet ourselves first. */
	for (size_t i = 0; i < in_len; i++) {
		char c = in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return exai_error_set(e, EXAI_EFORMAT, "base64: invalid character at %zu",
					      i);
	}
	if (sodium_base642bin(out, cap, in, in_len, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + in_len)
		return exai_error_set(e, EXAI_EFORMAT, "base64: invalid or too long");
	*len_out = n;
	return EXAI_OK;
}

bool exai_memeq(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}
