/*
 * json: small jansson helpers shared by every --json output.
 */
#include "exai/json.h"

#include <stdlib.h>

#include "exai/hash.h"

int exai_json_emit(json_t *obj, FILE *out)
{
	int rc;

	if (!obj)
		return -1;
	rc = json_dumpf(obj, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (rc == 0 && fputc('\n', out) == EOF)
		rc = -1;
	if (fflush(out) != 0)
		rc = -1;
	return rc;
}

json_t *exai_json_error(const exai_error *e)
{
	return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", exai_status_name(e->code),
			 "message", e->msg);
}

json_t *exai_json_hex(const uint8_t *data, size_t len)
{
	char *hex = malloc(2 * len + 1);
	json_t *j;

	if (!hex)
		return NULL;
	exai_hex_encode(data, len, hex);
	j = json_string(hex);
	free(hex);
	return j;
}

void exai_json_set(json_t *obj, const char *key, json_t *value)
{
	if (value)
		json_object_set_new(obj, key, value);
}
