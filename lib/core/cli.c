/*
 * cli: usage errors as every tool reports them (exai/cli.h).
 */
#include "exai/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exai/json.h"

bool exai_cli_json_requested(int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--json"))
			return true;
	}
	return false;
}

int exai_cli_usage(const char *who, bool json, const char *hint, const char *fmt, ...)
{
	exai_error e = {.code = EXAI_EINVAL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", who, e.msg);
	if (hint)
		fprintf(stderr, "(%s)\n", hint);
	if (json)
		exai_json_emit(exai_json_error(&e), stdout);
	return EXAI_EXIT_USAGE;
}
