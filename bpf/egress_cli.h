/*
 * egress_cli: what the exai-egress commands share: their entry points and help texts, the
 * global options (--pin-dir, --json) and reporting an error as text and, with --json, as a
 * JSON document.
 */
#ifndef EXAI_EGRESS_CLI_H
#define EXAI_EGRESS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/cli.h"
#include "exai/error.h"
#include "sigcheck.h"

extern const char egress_apply_help[], egress_reload_help[], egress_run_help[],
    egress_status_help[], egress_events_help[], egress_detach_help[], egress_serve_help[],
    egress_init_help[];

int egress_cmd_apply(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_reload(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_run(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_status(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_events(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_detach(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_serve(const exai_cli_call *call, int argc, char **argv);
int egress_cmd_init(const exai_cli_call *call, int argc, char **argv);

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
	const char *state_dir; /* the ratchet record's directory (NULL: egress_state_dir's) */
	const char *root;
	const char *sigs[EGRESS_MAX_SIGS];
	size_t nsigs;
	bool json, unsigned_ok;
	bool adopt_only;  /* reload: refuse when nothing is pinned yet */
	char *run_cgroup; /* run: the one workload's cgroup is written here, nothing printed */
	size_t run_cgroup_size;
	int mode; /* EGRESS_MODE_*, -1: the policy's */
} egress_apply_args;

/* What an apply put in force. */
typedef struct egress_apply_result {
	uint32_t generation;
	int mode;
	size_t nworkloads, nrules;
	char signers[256]; /* key ids counted ("" when unsigned) */
	uint64_t sequence; /* the ratchet after the apply (signed; unsigned: left at 0) */
} egress_apply_result;

/* Reads, verifies, parses, compiles and installs @a->policy (cmd_apply.c), printing nothing:
 * the exit code, with @e set when it is not 0 (2: the policy file cannot be read, or a
 * signed policy meets a ratchet record that is missing or damaged). A signed policy is
 * checked against the ratchet record (ratchet.h) and the pinned state, and the record is
 * raised before the policy is swapped in; --unsigned neither reads nor moves it. */
int egress_apply_do(const egress_apply_args *a, egress_apply_result *r, exai_error *e);

/* "policy FILE in force: generation N, mode M, ..." for @r (cut at @cap). */
void egress_apply_summary(const egress_apply_args *a, const egress_apply_result *r, char *out,
			  size_t cap);

/* egress_apply_do, then the report (or the error) on stdout/stderr: the exit code. */
int egress_apply_run(const egress_apply_args *a, const exai_cli_call *call);

/* The files of a policy directory: DIR/policy.yaml and DIR/NAME.minisig (sorted), put into
 * @a (its policy, sigs and nsigs), their paths kept in @p. EXAI_ENOENT/EXAI_EIO for a
 * directory that cannot be read, EXAI_ETOOBIG for more than EGRESS_MAX_SIGS signatures,
 * EXAI_EREFUSED for none when @need_sigs. */
typedef struct egress_reload_paths {
	char policy[4096];
	char sigs[EGRESS_MAX_SIGS][4096];
} egress_reload_paths;
exai_status egress_reload_find(const char *dir, bool need_sigs, egress_apply_args *a,
			       egress_reload_paths *p, exai_error *e) EXAI_WUR;

/* Reports @e ("<who>: <message>" on stderr; with @json the error document on stdout) and
 * returns @rc. */
int egress_fail(const exai_cli_call *call, bool json, const exai_error *e, int rc);

#endif
