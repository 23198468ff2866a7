/*
 * The airgap-verifier subcommands (airgap_verifier.c's command table, exai/cli.h). Each takes
 * the arguments after its own name (argv[0] is the subcommand name) and returns the process
 * exit code: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error. Each has
 * its --help text.
 */
#ifndef VF_COMMANDS_H
#define VF_COMMANDS_H

#include "exai/cli.h"

int vf_cmd_scan(const exai_cli_call *call, int argc, char **argv);
int vf_cmd_run(const exai_cli_call *call, int argc, char **argv);
int vf_cmd_host(const exai_cli_call *call, int argc, char **argv);
int vf_cmd_bundle(const exai_cli_call *call, int argc, char **argv);
extern const char vf_scan_help[], vf_run_help[], vf_host_help[], vf_bundle_help[];

#endif
