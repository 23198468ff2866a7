/*
 * yaml: loading human-written YAML (specs, configs, trust roots, rules) with libyaml, and strict
 * typed accessors whose errors carry "file:line:column".
 *
 * A loaded document is a libyaml node graph. Strict mode (the default for our own formats)
 * refuses aliases (so a 1 KiB file cannot expand into a billion nodes or a cycle), duplicate
 * keys, and nesting deeper than EXAI_YAML_MAX_DEPTH. Lenient mode (for scanning third-party
 * Kubernetes YAML) accepts aliases; walkers there must bound their depth.
 */
#ifndef EXAI_YAML_H
#define EXAI_YAML_H

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "exai/error.h"
#include "exai/text.h" /* exai_parse_u64 for scalar parsing */

#define EXAI_YAML_MAX_DEPTH 64
#define EXAI_YAML_MAX_BYTES (4u << 20)

typedef struct exai_yaml {
	yaml_document_t doc;
	char *name; /* file name used in messages */
	bool loaded;
} exai_yaml;

typedef yaml_node_t exai_ynode;

enum { EXAI_YAML_STRICT = 0, EXAI_YAML_LENIENT = 1 };

/* Loads the first document of a file of at most @max bytes. *out is freed with
 * exai_yaml_free(). An empty document is an error. */
exai_status exai_yaml_load_file(const char *path, size_t max, int mode, exai_yaml **out,
				exai_error *e) EXAI_WUR;
exai_status exai_yaml_load_buf(const char *name, const void *buf, size_t len, int mode,
			       exai_yaml **out, exai_error *e) EXAI_WUR;
/* exai_yaml_load_buf with the caller's bound @max instead of EXAI_YAML_MAX_BYTES, for a
 * format that documents a larger one (exai-egress policies): @len over @max is refused
 * (EXAI_ETOOBIG) before anything is parsed. A document's memory grows with its bytes (about
 * 200 bytes a node): choose @max with that in mind. */
exai_status exai_yaml_load_buf_max(const char *name, const void *buf, size_t len, size_t max,
				   int mode, exai_yaml **out, exai_error *e) EXAI_WUR;
void exai_yaml_free(exai_yaml *y);

/* Calls @fn once per document of a multi-document stream (lenient mode). Stops at the first
 * non-zero return of @fn and returns it. A parse error is reported with file:line:column. */
typedef exai_status (*exai_yaml_doc_fn)(exai_yaml *y, void *arg, exai_error *e);
exai_status exai_yaml_each_doc(const char *name, const void *buf, size_t len, exai_yaml_doc_fn fn,
			       void *arg, exai_error *e) EXAI_WUR;

exai_ynode *exai_yaml_root(exai_yaml *y);
/* Sets @e to "<file>:<line>:<col>: <message>" at node @n (1-based); returns @code. */
exai_status exai_yaml_error(const exai_yaml *y, const exai_ynode *n, exai_error *e,
			    exai_status code, const char *fmt, ...) EXAI_PRINTF(5, 6);
unsigned long exai_yaml_line(const exai_ynode *n);
unsigned long exai_yaml_col(const exai_ynode *n);

bool exai_yaml_is_map(const exai_ynode *n);
bool exai_yaml_is_seq(const exai_ynode *n);
bool exai_yaml_is_scalar(const exai_ynode *n);
/* The scalar's text (NUL-terminated by libyaml), or NULL if @n is not a scalar. */
const char *exai_yaml_scalar(const exai_ynode *n);

/* Map access; NULL if absent or @map is not a map. */
exai_ynode *exai_yaml_get(exai_yaml *y, exai_ynode *map, const char *key);
size_t exai_yaml_map_len(const exai_ynode *map);
exai_ynode *exai_yaml_map_key(exai_yaml *y, exai_ynode *map, size_t i);
exai_ynode *exai_yaml_map_value(exai_yaml *y, exai_ynode *map, size_t i);
size_t exai_yaml_seq_len(const exai_ynode *seq);
exai_ynode *exai_yaml_seq_at(exai_yaml *y, exai_ynode *seq, size_t i);

/* Refuses a key of @map that is not in the NULL-terminated @allowed list (error at the key). */
exai_status exai_yaml_check_keys(exai_yaml *y, exai_ynode *map, const char *const *allowed,
				 exai_error *e) EXAI_WUR;
/* Requires @n to be a mapping, naming @what in the error. */
exai_status exai_yaml_expect_map(exai_yaml *y, exai_ynode *n, const char *what,
				 exai_error *e) EXAI_WUR;

/* Typed getters. With @required false an absent key leaves *out untouched and returns OK.
 * A present key of the wrong type or out of range is an error at the value's location. */
exai_status exai_yaml_get_str(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      const char **out, exai_error *e) EXAI_WUR;
/* An absolute path without '..' (exai_abspath_valid) at @key, copied into *out (malloc'ed;
 * left NULL when absent and not required). Every tool's config paths go through this one
 * check, so exai-update and a reader of its config never disagree on what a path is. */
exai_status exai_yaml_get_abspath(exai_yaml *y, exai_ynode *map, const char *key, bool required,
				  char **out, exai_error *e) EXAI_WUR;
exai_status exai_yaml_get_u64(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      uint64_t min, uint64_t max, uint64_t *out, exai_error *e) EXAI_WUR;
exai_status exai_yaml_get_bool(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			       bool *out, exai_error *e) EXAI_WUR;
/* A sequence (or absent: NULL when not required). */
exai_status exai_yaml_get_seq(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      exai_ynode **out, exai_error *e) EXAI_WUR;

#endif
