/*
 * mir_cli: what exai-mirror's commands share (front-end code: prints, picks exit codes, never
 * exits itself). Exit codes: 0 done, 1 a check failed or was refused, 2 usage, config or setup
 * error (exai/cli.h). Options are parsed by the shared CLI layer (exai_cli_next): every
 * command's table starts with the global --config and --json (MIR_O_CONFIG, MIR_O_JSON),
 * which may also come before the command.
 */
#ifndef MIR_CLI_H
#define MIR_CLI_H

#include <stdbool.h>

#include "exai/cli.h"
#include "exai/error.h"

/* Option ids every command shares; a command's own start at MIR_O_FIRST. */
enum { MIR_O_CONFIG, MIR_O_JSON, MIR_O_FIRST };
#define MIR_GLOBAL_OPTS                   \
	{"config", true, MIR_O_CONFIG},   \
	{                                 \
		"json", false, MIR_O_JSON \
	}
/* The options that may come before the command: --config FILE, --json. */
extern const exai_cli_opt mir_global_opts[];

/* What the global options set. */
typedef struct mir_common {
	const char *config; /* --config, or NULL */
	bool json;	    /* --json */
} mir_common;

/* Handles @id if it is a global option (true), else returns false. */
bool mir_common_opt(mir_common *c, int id, const char *value);
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

/* The commands (exai_cli_cmd.run) and their help texts. */
int mir_cmd_serve(const exai_cli_call *call, int argc, char **argv);
int mir_cmd_keygen(const exai_cli_call *call, int argc, char **argv);
int mir_cmd_prove(const exai_cli_call *call, int argc, char **argv);
int mir_cmd_verify(const exai_cli_call *call, int argc, char **argv);
int mir_cmd_query(const exai_cli_call *call, int argc, char **argv);
int mir_cmd_stats(const exai_cli_call *call, int argc, char **argv);
extern const char mir_serve_help[], mir_keygen_help[], mir_prove_help[], mir_verify_help[],
    mir_query_help[], mir_stats_help[];

#endif
