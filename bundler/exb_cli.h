/*
 * exb_cli: helpers shared by the exai-bundle subcommands (front-end code: may print and decide
 * exit codes, never exits itself).
 *
 * Exit codes: 0 success, 1 the bundle or a signature failed a check (or a refusal),
 * 2 usage, configuration or environment error (bad flags, unreadable keys or roots).
 */
#ifndef EXB_CLI_H
#define EXB_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/cli.h"
#include "exai/error.h"
#include "exai/root.h"
#include "exai/sign.h"
#include "exai/sitekey.h"

enum { EXB_OK = 0, EXB_FAIL = 1, EXB_USAGE = 2 };

/* Prints "exai-bundle <cmd>: <message>" to stderr, or the JSON error object to stdout when
 * @json; returns @code. */
int exb_report(const char *cmd, const exai_error *e, bool json, int code);
/* Reads a password from the first line of @path (NULL: none). *out in guarded memory. */
exai_status exb_read_password(const char *path, char **out, exai_error *e) EXAI_WUR;
/* Loads a release/root secret key, with the password from @password_file if given, for a
 * job that needs a key of role @want: a key file that declares another role is refused
 * (EXAI_EREFUSED, naming the role found and the role needed), and so is a site key; a key
 * without a role (made by stock minisign) is accepted, with a note on stderr. @job says
 * what the key is for ("signing a bundle"). */
exai_status exb_load_seckey(const char *path, const char *password_file, exai_key_role want,
			    const char *job, exai_seckey **out, exai_error *e) EXAI_WUR;
/* Loads a site secret key (for decrypting); a release or root key file is refused with a
 * message naming its role. */
exai_status exb_load_site_key(const char *path, exai_site_key **out, exai_error *e) EXAI_WUR;
/* Refuses a key file (public or secret) that declares a role other than @want, naming both;
 * a key without a role (stock minisign) passes. @job as for exb_load_seckey. */
exai_status exb_check_key_role(const char *path, exai_key_role want, const char *job,
			       exai_error *e) EXAI_WUR;

/* SOURCE_DATE_EPOCH if set and valid, else the current time. */
uint64_t exb_now(void);
/* "2026-11-30T12:00:00Z" into @buf. */
void exb_format_time(uint64_t t, char *buf, size_t cap);

/* The commands (exai_bundle.c's table), each with its --help text. */
int exb_cmd_keygen(const exai_cli_call *call, int argc, char **argv);
int exb_cmd_create(const exai_cli_call *call, int argc, char **argv);
int exb_cmd_sign(const exai_cli_call *call, int argc, char **argv);
int exb_cmd_inspect(const exai_cli_call *call, int argc, char **argv);
int exb_cmd_verify(const exai_cli_call *call, int argc, char **argv);
int exb_cmd_digest(const exai_cli_call *call, int argc, char **argv);
extern const char exb_keygen_help[], exb_create_help[], exb_sign_help[], exb_inspect_help[],
    exb_verify_help[], exb_digest_help[];
/* root: init, sign and show, a command table of their own. */
extern const exai_cli_tool exb_root_tool;

#endif
