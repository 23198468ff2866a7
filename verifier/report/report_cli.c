/*
 * report_cli: the front-end helpers every airgap-verifier mode shares for what is not a
 * report: usage errors and setup or runtime failures, on stderr and, with --json, as the
 * JSON error document of exai/cli.h on stdout.
 */
#include <stdarg.h>
#include <stdio.h>

#include "exai/cli.h"
#include "exai/json.h"
#include "report.h"

bool vf_json_errors;

int vf_usage_error(const char *mode, const char *fmt, ...)
{
	char who[64], hint[96], msg[EXAI_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(who, sizeof(who), "airgap-verifier %s", mode);
	snprintf(hint, sizeof(hint), "see 'airgap-verifier %s --help'", mode);
	return exai_cli_usage(who, vf_json_errors, hint, "%s", msg);
}

int vf_fail(const char *mode, const exai_error *e)
{
	fprintf(stderr, "airgap-verifier %s: %s\n", mode, e->msg);
	if (vf_json_errors)
		exai_json_emit(exai_json_error(e), stdout);
	return 2;
}
