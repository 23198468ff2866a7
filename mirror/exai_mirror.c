/*
 * exai-mirror: the site's local audit and telemetry mirror. Front end: picks the command.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "exai/cli.h"
#include "exai/secmem.h"
#include "exai/version.h"
#include "mir_cli.h"

static void usage(FILE *out)
{
	fputs("usage: exai-mirror <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve [--config FILE]       run the daemon (ingest socket, store, checkpoints)\n"
	      "  keygen [--config FILE] [--vkey FILE]   make the log key and its vkey\n"
	      "  prove --index N [--size S] | --from A --to B   inclusion or consistency proof\n"
	      "  verify [--vkey FILE] [--json]           recompute and check the whole log\n"
	      "  query [--class C] [--tenant X] [--since T] [--until T] [--limit N] [--json]\n"
	      "  stats [--json]                          counts, refusals, last checkpoint\n"
	      "\n"
	      "The config is --config FILE, else $EXAI_MIRROR_CONFIG, else /etc/exai/mirror.yaml.\n"
	      "Exit status: 0 success, 1 a check failed or was refused, 2 usage or setup error.\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"serve", mir_cmd_serve},	{"keygen", mir_cmd_keygen}, {"prove", mir_cmd_prove},
	    {"verify", mir_cmd_verify}, {"query", mir_cmd_query},   {"stats", mir_cmd_stats},
	};
	exai_error e;

	opterr = 0;
	mir_json_errors = exai_cli_json_requested(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXAI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXAI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		exai_version_print(stdout, "exai-mirror");
		return EXAI_EXIT_OK;
	}
	if (exai_init(&e) != EXAI_OK) {
		fprintf(stderr, "exai-mirror: %s\n", e.msg);
		return EXAI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	return exai_cli_usage("exai-mirror", mir_json_errors, "see 'exai-mirror --help'",
			      "unknown command '%s'", argv[1]);
}
