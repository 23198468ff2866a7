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

extern const char egress_apply_help[], egress_status_help[], egress_events_help[],
    egress_detach_help[];

int egress_cmd_apply(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_status(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_events(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_detach(const exai_cli_call *call, int argc, char **argv);

/* Option ids every command table shares (the globals). */
enum { EGRESS_O_JSON = 0, EGRESS_O_PIN_DIR = 1, EGRESS_O_FIRST_OWN = 10 };

/* What a command's argument parser returns when the command is to run (else: its exit code). */
#define EGRESS_RUN (-1)

/* The pin directory: --pin-dir, else $EXAI_EGRESS_PIN_DIR, else EGRESS_DEFAULT_PIN_DIR. */
const char *egress_pin_dir(const char *opt);

/* Reports @e ("<who>: <message>" on stderr; with @json the error document on stdout) and
 * returns @rc. */
int egress_fail(const exai_cli_call *call, bool json, const exai_error *e, int rc);

#endif
