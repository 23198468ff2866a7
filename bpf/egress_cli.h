/*
 * egress_cli: what the exai-egress commands share: their entry points and help texts, the
 * global options (--pin-dir, --json) and reporting an error as text and, with --json, as a
 * JSON document.
 */
#ifndef EXAI_EGRESS_CLI_H
#define EXAI_EGRESS_CLI_H

#include <stdbool.h>

#include "exai/cli.h"
#include "exai/error.h"
#include "sigcheck.h"

extern const char egress_apply_help[], egress_reload_help[], egress_run_help[],
    egress_status_help[], egress_events_help[], egress_detach_help[];

int egress_cmd_apply(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_reload(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_run(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_status(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_events(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_detach(const exai_cli_call *call, int argc, char **argv);

/* Option ids every command table shares (the globals). */
enum { EGRESS_O_JSON = 0, EGRESS_O_PIN_DIR = 1, EGRESS_O_FIRST_OWN = 10 };

/* What a command's argument parser returns when the command is to run (else: its exit code). */
#define EGRESS_RUN (-1)

/* The pin directory: --pin-dir, else $EXAI_EGRESS_PIN_DIR, else EGRESS_DEFAULT_PIN_DIR. */
const char *egress_pin_dir(const char *opt);

/* What apply (and reload, which names a directory instead) puts in force. */
typedef struct egress_apply_args {
	const char *policy;
	const char *pin_dir;
	const char *root;
	const char *sigs[EGRESS_MAX_SIGS];
	size_t nsigs;
	bool json, unsigned_ok;
	bool adopt_only;  /* reload: refuse when nothing is pinned yet */
	char *run_cgroup; /* run: the one workload's cgroup is written here, nothing printed */
	size_t run_cgroup_size;
	int mode; /* EGRESS_MODE_*, -1: the policy's */
} egress_apply_args;

/* Reads, verifies, parses, compiles and installs @a->policy (cmd_apply.c): the exit code. */
int egress_apply_run(const egress_apply_args *a, const exai_cli_call *call);

/* Reports @e ("<who>: <message>" on stderr; with @json the error document on stdout) and
 * returns @rc. */
int egress_fail(const exai_cli_call *call, bool json, const exai_error *e, int rc);

#endif
