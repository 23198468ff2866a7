/* libFuzzer harness: the bounded ELF reader (verifier/scan/scan_elf.c) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *names[] = {"socket", "connect", "getaddrinfo", "sendto", "SSL_connect"};
	vf_strv wanted = {.v = names, .n = sizeof(names) / sizeof(names[0])};
	char *out = NULL;
	uint64_t off = 0;
	exai_error e;

	if (vf_elf_net_imports(data, size, &wanted, &out, &off, &e) == EXAI_OK && out &&
	    (off > size || !out[0]))
		abort(); /* a result must point inside the input and name something */
	free(out);
	return 0;
}
