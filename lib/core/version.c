/*
 * version: the --version text of every tool (exai/version.h).
 */
#include "exai/version.h"

#include <openssl/crypto.h>
#include <sodium.h>

#ifndef EXAI_VERSION
#error "EXAI_VERSION must be defined by the build (lib/CMakeLists.txt)"
#endif

const char *exai_version(void)
{
	return EXAI_VERSION;
}

void exai_version_print(FILE *out, const char *tool)
{
	fprintf(out, "%s %s\n", tool, EXAI_VERSION);
	/* exai/index.h EXAI_FORMAT_*: the versions every reader reads */
	fprintf(out, "bundle format: 1 and 2\n");
#ifdef EXAI_TESTING
	fprintf(out, "build: test build (EXAI_TESTING: fault-injection hooks compiled in)\n");
#else
	fprintf(out, "build: release (no test hooks)\n");
#endif
#ifdef __clang__
	fprintf(out, "compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
	fprintf(out, "compiler: gcc %s\n", __VERSION__);
#endif
	fprintf(out, "libsodium: %s\n", sodium_version_string());
	fprintf(out, "openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
}
