/*
 * cmd_keygen: `exai-mirror keygen [--config FILE] [--vkey FILE]`. Makes the log's signing key
 * at the config's log_key (0600, never over an existing file) for the config's origin, and
 * the verifier key in signed-note vkey form at --vkey (default: log_key with ".key" replaced
 * by ".vkey", or ".vkey" appended), then prints the vkey line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/file.h"
#include "mir_cli.h"
#include "note.h"

const char mir_keygen_help[] =
    "usage: exai-mirror keygen [--config FILE] [--vkey FILE] [--json]\n"
    "\n"
    "Makes the log key (the config's log_key, 0600, never over an existing file) and its\n"
    "verifier key in signed-note vkey form (--vkey, default: log_key with .key replaced\n"
    "by .vkey). --json: errors as a JSON document on stdout.\n";

enum { O_VKEY = MIR_O_FIRST };

int mir_cmd_keygen(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    MIR_GLOBAL_OPTS, {"vkey", true, O_VKEY}, {NULL, false, 0}};
	const char *vkey = NULL, *v;
	char *vpath = NULL;
	mir_config *cfg = NULL;
	mir_common c = {0};
	exai_cli_parser p;
	mir_vkey vk;
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_error e;
	int id, code = EXAI_EXIT_OK;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		if (id == O_VKEY)
			vkey = v;
		else if (!mir_common_opt(&c, id, v))
			return exai_cli_exit(id);
	}
	if (mir_config_load(mir_config_path(c.config), &cfg, &e) ||
	    (!(vpath = mir_vkey_path(cfg, vkey)) &&
	     exai_error_set(&e, EXAI_ENOMEM, "out of memory")) ||
	    mir_key_generate(cfg->origin, cfg->log_key, vpath, &e) ||
	    mir_vkey_load(vpath, &vk, &e)) {
		code = mir_report("keygen", &e, c.json, EXAI_EXIT_USAGE);
		goto out;
	}
	if (exai_file_read_bounded(vpath, 1024, &buf, &len, &e)) {
		code = mir_report("keygen", &e, c.json, EXAI_EXIT_USAGE);
		goto out;
	}
	printf("log key:      %s\nverifier key: %s\n%s", cfg->log_key, vpath, (const char *)buf);
out:
	free(buf);
	free(vpath);
	mir_config_free(cfg);
	return code;
}
