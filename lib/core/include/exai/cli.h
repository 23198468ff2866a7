/*
 * cli: the contract every tool's command line keeps (README, "Exit codes and errors").
 *   exit 0  done (verified, applied, clean)
 *   exit 1  a check failed or was refused (nothing changed)
 *   exit 2  usage or setup error (bad option, missing file, bad config)
 *   (a tool documents its codes above 2: exai-update 3 and 4, signals 128+N)
 * A usage error is one line on stderr, "<tool> <command>: <what is wrong>", and with --json
 * anywhere on the command line also one JSON document on stdout:
 *   {"ok":false,"error":{"code":"EINVAL","message":"<what is wrong>"}}
 * tests/cli/cli_conformance.sh holds every tool to it.
 */
#ifndef EXAI_CLI_H
#define EXAI_CLI_H

#include <stdbool.h>

#include "exai/error.h"

enum { EXAI_EXIT_OK = 0, EXAI_EXIT_FAIL = 1, EXAI_EXIT_USAGE = 2 };

/* Whether "--json" is one of the arguments (before "--", which ends the tool's own options). */
bool exai_cli_json_requested(int argc, char *const argv[]);

/* Prints the usage error "@who: <message>" (and "(@hint)" on its own line when given) to
 * stderr, with @json also the JSON error document on stdout; returns EXAI_EXIT_USAGE. */
int exai_cli_usage(const char *who, bool json, const char *hint, const char *fmt, ...)
    EXAI_PRINTF(4, 5);

#endif
