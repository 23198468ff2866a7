/*
 * fuzz_sha: differential fuzzing of exai_sha256_multi (hand-written SHA-NI kernels) against
 * OpenSSL. The first byte picks how many buffers (1-4); each following pair of bytes gives one
 * buffer's length (mod what is left); the buffers are consecutive slices of the rest. Every
 * digest must equal exai_sha256_buf's, or the harness aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exai/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *bufs[EXAI_SHA256_MULTI_MAX];
	size_t lens[EXAI_SHA256_MULTI_MAX];
	uint8_t got[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN], want[EXAI_SHA256_LEN];
	exai_error e;

	if (size < 1)
		return 0;
	size_t n = (size_t)(data[0] % EXAI_SHA256_MULTI_MAX) + 1;
	size_t hdr = 1 + 2 * n;
	if (size < hdr)
		return 0;
	const uint8_t *p = data + hdr;
	size_t left = size - hdr;
	for (size_t i = 0; i < n; i++) {
		size_t want_len = (size_t)data[1 + 2 * i] << 8 | data[2 + 2 * i];
		lens[i] = i == n - 1 ? left : want_len % (left + 1);
		bufs[i] = p;
		p += lens[i];
		left -= lens[i];
	}
	if (exai_sha256_multi(n, bufs, lens, got, &e) != EXAI_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (exai_sha256_buf(bufs[i], lens[i], want, &e) != EXAI_OK ||
		    memcmp(want, got[i], EXAI_SHA256_LEN) != 0)
			abort();
	}
	return 0;
}
