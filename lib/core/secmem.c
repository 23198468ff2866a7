/*
 * secmem: libsodium initialisation, guarded secret memory, wiping, randomness.
 */
#include "exai/secmem.h"

#include <sodium.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "exai/hash.h"

exai_status exai_init(exai_error *e)
{
	if (sodium_init() < 0)
		return exai_error_set(e, EXAI_ECRYPTO, "libsodium failed to initialise");
	return exai_sha256_backend_init(e);
}

void *exai_bigbuf_alloc(size_t len)
{
	const size_t huge = (size_t)2 << 20;
	void *p = NULL;

	if (len < huge)
		return malloc(len);
	len = (len + huge - 1) / huge * huge;
	if (posix_memalign(&p, huge, len) != 0)
		return NULL;
	(void)madvise(p, len, MADV_HUGEPAGE); /* a hint: without THP these stay small pages */
	return p;
}

void *exai_secmem_alloc(size_t len)
{
	return sodium_malloc(len);
}

void exai_secmem_free(void *p)
{
	if (p)
		sodium_free(p);
}

void exai_wipe(void *p, size_t len)
{
	if (p && len)
		sodium_memzero(p, len);
}

void exai_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}
