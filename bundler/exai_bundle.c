/*
 * exai-bundle: builds, signs and verifies offline update bundles. Front end.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "exb_cli.h"
#include "exai/cli.h"
#include "exai/secmem.h"
#include "exai/version.h"

static void usage(FILE *out)
{
	fputs("usage: exai-bundle <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  keygen --type release|root|site --out PREFIX   make a key pair\n"
	      "  root init|sign|show ...                         manage the trust root\n"
	      "  create SPEC.yaml --out BUNDLE [--recipient SITE.pub]... [--no-encrypt]\n"
	      "  sign BUNDLE --key RELEASE.key                   add one signature\n"
	      "  inspect BUNDLE [--key SITE.key] [--json]        show what a bundle holds\n"
	      "  verify BUNDLE --root ROOT [--key SITE.key] [--json]   full offline check\n"
	      "\n"
	      "BUNDLE is a .exb file or a bundle directory. Run 'exai-bundle <command> --help'\n"
	      "for a command's options.\n"
	      "Exit status: 0 success, 1 a check failed or was refused, 2 usage or setup error;\n"
	      "create interrupted by SIGINT/SIGTERM/SIGHUP: 130/143/129 (nothing left behind).\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"keygen", exb_cmd_keygen}, {"root", exb_cmd_root},	      {"create", exb_cmd_create},
	    {"sign", exb_cmd_sign},	{"inspect", exb_cmd_inspect}, {"verify", exb_cmd_verify},
	};
	exai_error e;

	opterr = 0; /* each command names a refused option itself (exb_bad_option) */
	exb_json_errors = exai_cli_json_requested(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXB_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXB_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		exai_version_print(stdout, "exai-bundle");
		return EXB_OK;
	}
	if (exai_init(&e) != EXAI_OK) {
		fprintf(stderr, "exai-bundle: %s\n", e.msg);
		return EXB_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return exai_cli_usage("exai-bundle", exb_json_errors,
			      "see 'exai-bundle --help' for the commands", "unknown %s '%s'",
			      argv[1][0] == '-' ? "option" : "command", argv[1]);
}
