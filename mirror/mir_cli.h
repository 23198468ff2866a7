/*
 * mir_cli: what exai-mirror's commands share (front-end code: prints, picks exit codes, never
 * exits itself). Exit codes: 0 done, 1 a check failed or was refused, 2 usage, config or setup
 * error (exai/cli.h).
 */
#ifndef MIR_CLI_H
#define MIR_CLI_H

#include <stdbool.h>

#include "exai/error.h"

/* Set by main when --json is anywhere on the command line. */
extern bool mir_json_errors;

/* "exai-mirror <cmd>: <message>" on stderr (and the JSON error document with --json); returns
 * EXAI_EXIT_USAGE. */
int mir_usage_error(const char *cmd, const char *fmt, ...) EXAI_PRINTF(2, 3);
/* The usage error for the option getopt_long just refused. */
int mir_bad_option(const char *cmd, char **argv);
/* Reports @e for @cmd on stderr (or as JSON on stdout with @json); returns @code. */
int mir_report(const char *cmd, const exai_error *e, bool json, int code);
/* 1 for a refusal or failed check (EREFUSED, EVERIFY, EFORMAT), 2 otherwise. */
int mir_exit_code(const exai_error *e);

/* Loads the config at @flag (or the default) and opens its store read-only; on failure
 * reports and returns the exit code (0 on success). */
struct mir_config;
struct sqlite3;
int mir_open_store(const char *cmd, const char *flag, bool json, struct mir_config **cfg,
		   struct sqlite3 **db);
/* The vkey path: @flag, else the config's log_key with ".key" replaced by ".vkey" (or
 * ".vkey" appended), malloc'ed. */
char *mir_vkey_path(const struct mir_config *c, const char *flag);

int mir_cmd_serve(int argc, char **argv);
int mir_cmd_keygen(int argc, char **argv);
int mir_cmd_prove(int argc, char **argv);
int mir_cmd_verify(int argc, char **argv);
int mir_cmd_query(int argc, char **argv);
int mir_cmd_stats(int argc, char **argv);

#endif
