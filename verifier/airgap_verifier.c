/*
 * airgap-verifier: proves that nothing phones home. Front end: the command table of the four
 * modes (exai/cli.h dispatches, each mode parses its own options).
 */
#include <stdio.h>

#include "commands.h"
#include "report.h"
#include "scan_lit.h"
#include "exai/cli.h"
#include "exai/secmem.h"

static const exai_cli_cmd cmds[] = {
    {"scan", "PATH...: static scan of files, trees, tar/OCI archives and charts", vf_scan_help,
     vf_cmd_scan, NULL},
    {"run", "-- CMD ARGS...: run CMD with no route out; report every lookup and attempt",
     vf_run_help, vf_cmd_run, NULL},
    {"host", "check the live host (routes, sockets, resolvers, drift)", vf_host_help, vf_cmd_host,
     NULL},
    {"bundle", "MEDIA: verify a bundle offline, then scan its contents", vf_bundle_help,
     vf_cmd_bundle, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Options that may come before the mode (and are handed to it). */
static const exai_cli_opt global[] = {{"json", false, 0}, {NULL, false, 0}};

static int prepare(const exai_cli_call *call)
{
	exai_error e;

	/* scan does its own (vf_cmd_scan): it uses no libsodium state and needs SHA-256 for
	 * some runs only, so an empty or small scan does not pay OpenSSL's start (about 1 ms) */
	if (call->cmd->run == vf_cmd_scan)
		return 0;
	if (exai_init(&e) == EXAI_OK)
		return 0;
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	return 2;
}

static const exai_cli_tool tool = {
    .name = "airgap-verifier",
    .usage = "usage: airgap-verifier <command> [options]\n"
	     "       airgap-verifier --version | --help | help COMMAND\n",
    .epilog = "Run 'airgap-verifier <command> --help' for a command's options.\n"
	      "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime "
	      "error.\n",
    .cmds = cmds,
    .global = global,
    .version = true,
    .prepare = prepare,
};

int main(int argc, char **argv)
{
	/* Setup errors of every mode (vf_fail, vf_usage_error) are JSON too with --json. */
	vf_json_errors = exai_cli_json_requested(argc, argv);
	/* the shipped rules' prefilter plans, made at build time (checked before use) */
	vf_lits_use_plans(vf_lits_shipped_plans, vf_lits_shipped_nplans);
	return exai_cli_dispatch(&tool, argc, argv);
}
