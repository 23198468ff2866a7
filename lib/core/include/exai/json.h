/*
 * json: --json output for every tool (jansson). One JSON document per command on stdout, with
 * keys in a stable order, so scripts and auditors can parse it.
 */
#ifndef EXAI_JSON_H
#define EXAI_JSON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "exai/error.h"

/* Writes @obj (reference stolen) and a newline to @out; returns 0 or -1 on write failure. */
int exai_json_emit(json_t *obj, FILE *out);

/* {"ok": false, "error": {"code": "EVERIFY", "message": "..."}} */
json_t *exai_json_error(const exai_error *e);

/* A JSON string of lower-case hex. */
json_t *exai_json_hex(const uint8_t *data, size_t len);

/* Sets @key on @obj, stealing @value; ignores a NULL value (allocation failure). */
void exai_json_set(json_t *obj, const char *key, json_t *value);

#endif
