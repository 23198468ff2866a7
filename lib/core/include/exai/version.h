/*
 * version: what every tool prints for --version. The first line is "<tool> <version>"; the
 * next lines say what an auditor needs to know about the binary: the bundle format it reads,
 * whether it holds test hooks (EXAI_TESTING), the compiler and the crypto libraries.
 */
#ifndef EXAI_VERSION_H
#define EXAI_VERSION_H

#include <stdio.h>

/* The project version, e.g. "0.1.0" (CMake's project version). */
const char *exai_version(void);

/* Prints the --version text for @tool to @out. */
void exai_version_print(FILE *out, const char *tool);

#endif
