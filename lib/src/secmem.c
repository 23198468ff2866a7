/*
 * secmem: libsodium initialisation, guarded secret memory, wiping, randomness.
 */
#include "exai/secmem.h"

#include <sodium.h>

#include "exai/hash.h"

exai_status exai_init(exai_error *e)
{
	if (sodium_init() < 0)
		return exai_error_set(e, EXAI_ECRYPTO, "libsodium failed to initialise");
	return exai_sha256_backend_init(e);
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
