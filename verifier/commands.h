/*
 * The airgap-verifier subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns the process exit code:
 * 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error.
 */
#ifndef VF_COMMANDS_H
#define VF_COMMANDS_H

int vf_cmd_scan(int argc, char **argv);
int vf_cmd_run(int argc, char **argv);
int vf_cmd_host(int argc, char **argv);
int vf_cmd_bundle(int argc, char **argv);

#endif
