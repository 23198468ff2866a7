/*
 * airgap-verifier: proves that nothing phones home. Front end: dispatches to a mode.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "report.h"
#include "exai/cli.h"
#include "exai/secmem.h"
#include "exai/version.h"

static void usage(FILE *out)
{
	fputs("usage: airgap-verifier <command> [options]\n"
	      "       airgap-verifier --version | --help\n"
	      "\n"
	      "commands:\n"
	      "  scan PATH...        static scan of files, trees, tar/OCI archives and charts\n"
	      "  run -- CMD ARGS...  run CMD with no route out; report every lookup and attempt\n"
	      "  host                check the live host (routes, sockets, resolvers, drift)\n"
	      "  bundle MEDIA        verify a bundle offline, then scan its contents\n"
	      "\n"
	      "Run 'airgap-verifier <command> --help' for a command's options.\n"
	      "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error.\n",
	      out);
}

int main(int argc, char **argv)
{
	exai_error e;
	const char *cmd;

	vf_json_errors = exai_cli_json_requested(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		exai_version_print(stdout, "airgap-verifier");
		return 0;
	}
	if (exai_init(&e) != EXAI_OK) {
		fprintf(stderr, "airgap-verifier: %s\n", e.msg);
		return 2;
	}
	if (!strcmp(cmd, "scan"))
		return vf_cmd_scan(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return vf_cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "host"))
		return vf_cmd_host(argc - 1, argv + 1);
	if (!strcmp(cmd, "bundle"))
		return vf_cmd_bundle(argc - 1, argv + 1);
	return exai_cli_usage("airgap-verifier", vf_json_errors,
			      "see 'airgap-verifier --help' for the commands", "unknown %s '%s'",
			      cmd[0] == '-' ? "option" : "command", cmd);
}
