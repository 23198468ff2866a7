/*
 * cli: error reporting, passwords, key loading and time parsing for exai-bundle.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exai/file.h"
#include "exai/json.h"
#include "exai/secmem.h"
#include "exai/text.h"

int exb_report(const char *cmd, const exai_error *e, bool json, int code)
{
	if (json)
		exai_json_emit(exai_json_error(e), stdout);
	else
		fprintf(stderr, "exai-bundle %s: %s\n", cmd, e->msg);
	return code;
}

int exb_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "exai-bundle %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'exai-bundle %s --help')\n", cmd);
	return EXB_USAGE;
}

exai_status exb_read_password(const char *path, char **out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	exai_status rc;

	*out = NULL;
	if (!path)
		return EXAI_OK;
	rc = exai_file_read_bounded(path, 4096, &buf, &len, e);
	if (rc)
		return exai_error_prefix(e, "password file");
	while (n < len && buf[n] != '\n' && buf[n] != '\r')
		n++;
	*out = exai_secmem_alloc(n + 1);
	if (*out) {
		memcpy(*out, buf, n);
		(*out)[n] = '\0';
	} else {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	}
	exai_wipe(buf, len);
	free(buf);
	if (!rc && n == 0) {
		exai_secmem_free(*out);
		*out = NULL;
		rc = exai_error_set(e, EXAI_EINVAL, "%s: empty password", path);
	}
	return rc;
}

exai_status exb_load_seckey(const char *path, const char *password_file, exai_seckey **out,
			    exai_error *e)
{
	char *pw = NULL;
	exai_status rc = exb_read_password(password_file, &pw, e);

	if (rc)
		return rc;
	rc = exai_seckey_load(path, pw, out, e);
	exai_secmem_free(pw);
	return rc;
}

uint64_t exb_now(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t t;

	if (sde && exai_parse_u64(sde, &t))
		return t;
	return (uint64_t)time(NULL);
}

void exb_format_time(uint64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%llu", (unsigned long long)t);
}
