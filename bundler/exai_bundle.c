/*
 * exai-bundle: builds, signs and verifies offline update bundles. Front end: the command
 * table (exai/cli.h dispatches, each command parses its own options).
 */
#include <stdio.h>

#include "exb_cli.h"
#include "exai/cli.h"
#include "exai/secmem.h"

static const exai_cli_cmd cmds[] = {
    {"keygen", "make a key pair: --type release|root|site --out PREFIX", exb_keygen_help,
     exb_cmd_keygen, NULL},
    {"root", "manage the trust root: init, sign, show", NULL, NULL, &exb_root_tool},
    {"create", "build a bundle: SPEC.yaml --out BUNDLE [--recipient SITE.pub]... [--no-encrypt]",
     exb_create_help, exb_cmd_create, NULL},
    {"sign", "add one signature: BUNDLE --key RELEASE.key", exb_sign_help, exb_cmd_sign, NULL},
    {"inspect", "show what a bundle holds: BUNDLE [--key SITE.key] [--json]", exb_inspect_help,
     exb_cmd_inspect, NULL},
    {"verify", "full offline check: BUNDLE --root ROOT [--key SITE.key] [--json]", exb_verify_help,
     exb_cmd_verify, NULL},
    {"digest", "a file's component digest as a manifest records it: FILE... [--json]",
     exb_digest_help, exb_cmd_digest, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Options that may come before the command (and are handed to it). */
static const exai_cli_opt global[] = {{"json", false, 0}, {NULL, false, 0}};

static int prepare(const exai_cli_call *call)
{
	exai_error e;

	if (exai_init(&e) == EXAI_OK)
		return EXB_OK;
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	return EXB_USAGE;
}

static const exai_cli_tool tool = {
    .name = "exai-bundle",
    .usage = "usage: exai-bundle <command> [options]\n"
	     "       exai-bundle --version | --help | help COMMAND\n",
    .epilog = "BUNDLE is a .exb file or a bundle directory. Run 'exai-bundle <command> --help'\n"
	      "for a command's options.\n"
	      "Exit status: 0 success, 1 a check failed or was refused, 2 usage or setup error;\n"
	      "create interrupted by SIGINT/SIGTERM/SIGHUP: 130/143/129 (nothing left behind).\n",
    .cmds = cmds,
    .global = global,
    .version = true,
    .prepare = prepare,
};

int main(int argc, char **argv)
{
	return exai_cli_dispatch(&tool, argc, argv);
}
