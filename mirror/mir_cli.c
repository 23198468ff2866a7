/*
 * mir_cli: usage errors and error reports for exai-mirror's commands. See mir_cli.h.
 */
#include "mir_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "exai/cli.h"
#include "exai/json.h"

bool mir_json_errors;

int mir_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512], who[64], hint[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(who, sizeof(who), "exai-mirror %s", cmd);
	snprintf(hint, sizeof(hint), "see 'exai-mirror %s --help'", cmd);
	return exai_cli_usage(who, mir_json_errors, hint, "%s", msg);
}

int mir_bad_option(const char *cmd, char **argv)
{
	return mir_usage_error(cmd, "unknown option '%s', or it needs a value", argv[optind - 1]);
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
