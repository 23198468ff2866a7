/*
 * mir_cli: usage errors and error reports for exai-mirror's commands. See mir_cli.h.
 */
#include "mir_cli.h"

#include <stdio.h>

#include "exai/cli.h"
#include "exai/json.h"
#include "config.h"
#include "store.h"
#include <stdlib.h>
#include <string.h>

const exai_cli_opt mir_global_opts[] = {MIR_GLOBAL_OPTS, {NULL, false, 0}};

bool mir_common_opt(mir_common *c, int id, const char *value)
{
	if (id == MIR_O_CONFIG)
		c->config = value;
	else if (id == MIR_O_JSON)
		c->json = true;
	else
		return false;
	return true;
}

int mir_exit_code(const exai_error *e)
{
	switch (e->code) {
	case EXAI_EREFUSED:
	case EXAI_EVERIFY:
	case EXAI_EFORMAT:
		return EXAI_EXIT_FAIL;
	default:
		return EXAI_EXIT_USAGE;
	}
}

int mir_report(const char *cmd, const exai_error *e, bool json, int code)
{
	fprintf(stderr, "exai-mirror %s: %s\n", cmd, e->msg);
	if (json)
		exai_json_emit(exai_json_error(e), stdout);
	return code;
}

int mir_open_store(const char *cmd, const char *flag, bool json, mir_config **cfg, sqlite3 **db)
{
	exai_error e;
	char *path = NULL;
	int code = EXAI_EXIT_OK;

	*db = NULL;
	if (mir_config_load(mir_config_path(flag), cfg, &e))
		return mir_report(cmd, &e, json, EXAI_EXIT_USAGE);
	if (!(path = mir_config_db_path(*cfg))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		code = mir_report(cmd, &e, json, EXAI_EXIT_USAGE);
	} else if (mir_store_open_ro(path, db, &e)) {
		code = mir_report(cmd, &e, json, e.code == EXAI_EREFUSED ? 1 : 2);
	}
	free(path);
	if (code) {
		mir_config_free(*cfg);
		*cfg = NULL;
	}
	return code;
}

char *mir_vkey_path(const mir_config *c, const char *flag)
{
	size_t n = strlen(c->log_key);
	char *out;

	if (flag)
		return strdup(flag);
	if (!(out = malloc(n + 6)))
		return NULL;
	memcpy(out, c->log_key, n + 1);
	if (n > 4 && !strcmp(c->log_key + n - 4, ".key"))
		out[n - 4] = '\0';
	strcat(out, ".vkey");
	return out;
}
