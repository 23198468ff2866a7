/*
 * cmd_keygen: `exai-mirror keygen [--config FILE] [--vkey FILE]`. Makes the log's signing key
 * at the config's log_key (0600, never over an existing file) for the config's origin, and
 * the verifier key in signed-note vkey form at --vkey (default: log_key with ".key" replaced
 * by ".vkey", or ".vkey" appended), then prints the vkey line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/file.h"
#include "mir_cli.h"
#include "note.h"

static const char keygen_usage[] =
    "usage: exai-mirror keygen [--config FILE] [--vkey FILE]\n"
    "  Makes the log key (the config's log_key) and its verifier key (vkey).\n";

int mir_cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"vkey", required_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *config = NULL, *vkey = NULL;
	char *vpath = NULL;
	mir_config *cfg = NULL;
	mir_vkey vk;
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_error e;
	int c, code = EXAI_EXIT_OK;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			vkey = optarg;
			break;
		case 'h':
			fputs(keygen_usage, stdout);
			return EXAI_EXIT_OK;
		default:
			return mir_bad_option("keygen", argv);
		}
	}
	if (optind < argc)
		return mir_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
	if (mir_config_load(mir_config_path(config), &cfg, &e) ||
	    (!(vpath = mir_vkey_path(cfg, vkey)) &&
	     exai_error_set(&e, EXAI_ENOMEM, "out of memory")) ||
	    mir_key_generate(cfg->origin, cfg->log_key, vpath, &e) ||
	    mir_vkey_load(vpath, &vk, &e)) {
		code = mir_report("keygen", &e, false, EXAI_EXIT_USAGE);
		goto out;
	}
	if (exai_file_read_bounded(vpath, 1024, &buf, &len, &e)) {
		code = mir_report("keygen", &e, false, EXAI_EXIT_USAGE);
		goto out;
	}
	printf("log key:      %s\nverifier key: %s\n%s", cfg->log_key, vpath, (const char *)buf);
out:
	free(buf);
	free(vpath);
	mir_config_free(cfg);
	return code;
}
