/*
 * yaml: libyaml document loading with strict checks and located, typed accessors.
 *
 * Invariants after a strict load: no node is referenced twice (no aliases, hence no cycles),
 * no mapping has a duplicate scalar key, and no path from the root is deeper than
 * EXAI_YAML_MAX_DEPTH. Every error message starts with "file:line:column: ".
 */
#include "exai/yaml.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/text.h"

static exai_status parser_error(const char *name, yaml_parser_t *p, exai_error *e)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory parsing YAML", name);
	return exai_error_set(e, EXAI_EFORMAT, "%s:%lu:%lu: YAML %s%s%s", name,
			      (unsigned long)m->line + 1, (unsigned long)m->column + 1,
			      p->problem ? p->problem : "syntax error", p->context ? " " : "",
			      p->context ? p->context : "");
}

exai_ynode *exai_yaml_root(exai_yaml *y)
{
	return yaml_document_get_root_node(&y->doc);
}

unsigned long exai_yaml_line(const exai_ynode *n)
{
	return n ? (unsigned long)n->start_mark.line + 1 : 0;
}

unsigned long exai_yaml_col(const exai_ynode *n)
{
	return n ? (unsigned long)n->start_mark.column + 1 : 0;
}

exai_status exai_yaml_error(const exai_yaml *y, const exai_ynode *n, exai_error *e,
			    exai_status code, const char *fmt, ...)
{
	char msg[EXAI_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return exai_error_set(e, code, "%s:%lu:%lu: %s", y->name, exai_yaml_line(n),
			      exai_yaml_col(n), msg);
}

bool exai_yaml_is_map(const exai_ynode *n)
{
	return n && n->type == YAML_MAPPING_NODE;
}

bool exai_yaml_is_seq(const exai_ynode *n)
{
	return n && n->type == YAML_SEQUENCE_NODE;
}

bool exai_yaml_is_scalar(const exai_ynode *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

const char *exai_yaml_scalar(const exai_ynode *n)
{
	return exai_yaml_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

size_t exai_yaml_map_len(const exai_ynode *map)
{
	if (!exai_yaml_is_map(map))
		return 0;
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

exai_ynode *exai_yaml_map_key(exai_yaml *y, exai_ynode *map, size_t i)
{
	if (i >= exai_yaml_map_len(map))
		return NULL;
	return yaml_document_get_node(&y->doc, map->data.mapping.pairs.start[i].key);
}

exai_ynode *exai_yaml_map_value(exai_yaml *y, exai_ynode *map, size_t i)
{
	if (i >= exai_yaml_map_len(map))
		return NULL;
	return yaml_document_get_node(&y->doc, map->data.mapping.pairs.start[i].value);
}

size_t exai_yaml_seq_len(const exai_ynode *seq)
{
	if (!exai_yaml_is_seq(seq))
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

exai_ynode *exai_yaml_seq_at(exai_yaml *y, exai_ynode *seq, size_t i)
{
	if (i >= exai_yaml_seq_len(seq))
		return NULL;
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

exai_ynode *exai_yaml_get(exai_yaml *y, exai_ynode *map, const char *key)
{
	size_t n = exai_yaml_map_len(map);

	for (size_t i = 0; i < n; i++) {
		const char *k = exai_yaml_scalar(exai_yaml_map_key(y, map, i));
		if (k && strcmp(k, key) == 0)
			return exai_yaml_map_value(y, map, i);
	}
	return NULL;
}

/* Strict checks: each node referenced at most once, depth bounded, keys unique scalars. */
static exai_status strict_check(exai_yaml *y, exai_error *e)
{
	size_t count = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
	unsigned char *refs = calloc(count + 1, 1);
	unsigned short *depth = calloc(count + 1, sizeof(*depth));
	exai_status rc = EXAI_OK;

	if (!refs || !depth) {
		rc = exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", y->name);
		goto out;
	}
	/* libyaml numbers nodes in creation order; a parent is created before its children, so
	 * one forward pass assigns every child its parent's depth + 1. */
	depth[1] = 1;
	for (size_t id = 1; id <= count && !rc; id++) {
		exai_ynode *n = &y->doc.nodes.start[id - 1];
		size_t kids = n->type == YAML_SEQUENCE_NODE  ? exai_yaml_seq_len(n)
			      : n->type == YAML_MAPPING_NODE ? 2 * exai_yaml_map_len(n)
							     : 0;
		if (depth[id] > EXAI_YAML_MAX_DEPTH) {
			rc = exai_yaml_error(y, n, e, EXAI_EFORMAT, "nested deeper than %d levels",
					     EXAI_YAML_MAX_DEPTH);
			break;
		}
		for (size_t k = 0; k < kids; k++) {
			int child;
			if (n->type == YAML_SEQUENCE_NODE)
				child = n->data.sequence.items.start[k];
			else if (k % 2 == 0)
				child = n->data.mapping.pairs.start[k / 2].key;
			else
				child = n->data.mapping.pairs.start[k / 2].value;
			if (child < 1 || (size_t)child > count || refs[child]++ ||
			    (size_t)child <= id) {
				rc = exai_yaml_error(y, &y->doc.nodes.start[child - 1], e,
						     EXAI_EFORMAT,
						     "aliases and anchors are not allowed here");
				break;
			}
			depth[child] = (unsigned short)(depth[id] + 1);
		}
		if (!rc && n->type == YAML_MAPPING_NODE) {
			size_t m = exai_yaml_map_len(n);
			for (size_t i = 0; i < m && !rc; i++) {
				exai_ynode *ki = exai_yaml_map_key(y, n, i);
				if (!exai_yaml_is_scalar(ki)) {
					rc = exai_yaml_error(y, ki, e, EXAI_EFORMAT,
							     "mapping keys must be plain strings");
					break;
				}
				for (size_t j = 0; j < i; j++) {
					const char *kj =
					    exai_yaml_scalar(exai_yaml_map_key(y, n, j));
					if (strcmp(kj, exai_yaml_scalar(ki)) == 0) {
						rc = exai_yaml_error(y, ki, e, EXAI_EFORMAT,
								     "duplicate key '%s'",
								     exai_yaml_scalar(ki));
						break;
					}
				}
			}
		}
	}
out:
	free(refs);
	free(depth);
	return rc;
}

void exai_yaml_free(exai_yaml *y)
{
	if (!y)
		return;
	if (y->loaded)
		yaml_document_delete(&y->doc);
	free(y->name);
	free(y);
}

static exai_status load_one(yaml_parser_t *p, const char *name, exai_yaml **out, bool *end,
			    exai_error *e)
{
	exai_yaml *y = calloc(1, sizeof(*y));

	*out = NULL;
	*end = false;
	if (!y || !(y->name = strdup(name))) {
		free(y);
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", name);
	}
	if (!yaml_parser_load(p, &y->doc)) {
		exai_status rc = parser_error(name, p, e);
		exai_yaml_free(y);
		return rc;
	}
	y->loaded = true;
	if (!exai_yaml_root(y)) {
		*end = true;
		exai_yaml_free(y);
		return EXAI_OK;
	}
	*out = y;
	return EXAI_OK;
}

exai_status exai_yaml_load_buf(const char *name, const void *buf, size_t len, int mode,
			       exai_yaml **out, exai_error *e)
{
	return exai_yaml_load_buf_max(name, buf, len, EXAI_YAML_MAX_BYTES, mode, out, e);
}

exai_status exai_yaml_load_buf_max(const char *name, const void *buf, size_t len, size_t max,
				   int mode, exai_yaml **out, exai_error *e)
{
	yaml_parser_t p;
	exai_status rc;
	bool end;

	*out = NULL;
	if (len > max)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: %zu bytes, over the YAML limit of %zu",
				      name, len, max);
	if (!yaml_parser_initialize(&p))
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&p, buf, len);
	rc = load_one(&p, name, out, &end, e);
	yaml_parser_delete(&p);
	if (rc)
		return rc;
	if (end)
		return exai_error_set(e, EXAI_EFORMAT, "%s:1:1: empty YAML document", name);
	if (mode == EXAI_YAML_STRICT) {
		rc = strict_check(*out, e);
		if (rc) {
			exai_yaml_free(*out);
			*out = NULL;
		}
	}
	return rc;
}

exai_status exai_yaml_load_file(const char *path, size_t max, int mode, exai_yaml **out,
				exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc;

	*out = NULL;
	rc = exai_file_read_bounded(path, max, &buf, &len, e);
	if (rc)
		return rc;
	rc = exai_yaml_load_buf(path, buf, len, mode, out, e);
	free(buf);
	return rc;
}

exai_status exai_yaml_each_doc(const char *name, const void *buf, size_t len, exai_yaml_doc_fn fn,
			       void *arg, exai_error *e)
{
	yaml_parser_t p;
	exai_status rc = EXAI_OK;

	if (!yaml_parser_initialize(&p))
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", name);
	yaml_parser_set_input_string(&p, buf, len);
	for (;;) {
		exai_yaml *y = NULL;
		bool end = false;

		rc = load_one(&p, name, &y, &end, e);
		if (rc || end)
			break;
		rc = fn(y, arg, e);
		exai_yaml_free(y);
		if (rc)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

exai_status exai_yaml_check_keys(exai_yaml *y, exai_ynode *map, const char *const *allowed,
				 exai_error *e)
{
	size_t n = exai_yaml_map_len(map);

	for (size_t i = 0; i < n; i++) {
		exai_ynode *kn = exai_yaml_map_key(y, map, i);
		const char *k = exai_yaml_scalar(kn);
		bool ok = false;

		for (const char *const *a = allowed; k && *a; a++)
			if (strcmp(*a, k) == 0)
				ok = true;
		if (!ok) {
			const char *near = exai_suggest(k, allowed, 2);
			return exai_yaml_error(y, kn, e, EXAI_EFORMAT, "unknown key '%s'%s%s%s",
					       k ? k : "?", near ? " (did you mean '" : "",
					       near ? near : "", near ? "'?)" : "");
		}
	}
	return EXAI_OK;
}

exai_status exai_yaml_expect_map(exai_yaml *y, exai_ynode *n, const char *what, exai_error *e)
{
	if (!exai_yaml_is_map(n))
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "%s must be a mapping", what);
	return EXAI_OK;
}

static exai_status get_node(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			    exai_ynode **out, exai_error *e)
{
	*out = exai_yaml_get(y, map, key);
	if (!*out && required)
		return exai_yaml_error(y, map, e, EXAI_EFORMAT, "missing required key '%s'", key);
	return EXAI_OK;
}

exai_status exai_yaml_get_str(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      const char **out, exai_error *e)
{
	exai_ynode *n;
	exai_status rc = get_node(y, map, key, required, &n, e);

	if (rc || !n)
		return rc;
	if (!exai_yaml_is_scalar(n))
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "'%s' must be a string", key);
	*out = exai_yaml_scalar(n);
	return EXAI_OK;
}

exai_status exai_yaml_get_abspath(exai_yaml *y, exai_ynode *map, const char *key, bool required,
				  char **out, exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, map, key, required, &s, e);

	if (rc || !s)
		return rc;
	if (!exai_abspath_valid(s))
		return exai_yaml_error(
		    y, exai_yaml_get(y, map, key), e, EXAI_ECONFIG,
		    "'%s' must be an absolute path without '..' (at most %d bytes)", key,
		    EXAI_ABSPATH_MAX);
	if (!(*out = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

exai_status exai_yaml_get_u64(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      uint64_t min, uint64_t max, uint64_t *out, exai_error *e)
{
	exai_ynode *n;
	uint64_t v;
	exai_status rc = get_node(y, map, key, required, &n, e);

	if (rc || !n)
		return rc;
	if (!exai_parse_u64(exai_yaml_scalar(n), &v))
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "'%s' must be an unsigned integer",
				       key);
	if (v < min || v > max)
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "'%s' must be between %llu and %llu",
				       key, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return EXAI_OK;
}

exai_status exai_yaml_get_bool(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			       bool *out, exai_error *e)
{
	exai_ynode *n;
	const char *s;
	exai_status rc = get_node(y, map, key, required, &n, e);

	if (rc || !n)
		return rc;
	s = exai_yaml_scalar(n);
	if (s && strcmp(s, "true") == 0)
		*out = true;
	else if (s && strcmp(s, "false") == 0)
		*out = false;
	else
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "'%s' must be true or false", key);
	return EXAI_OK;
}

exai_status exai_yaml_get_seq(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      exai_ynode **out, exai_error *e)
{
	exai_ynode *n;
	exai_status rc = get_node(y, map, key, required, &n, e);

	if (rc)
		return rc;
	*out = NULL;
	if (!n)
		return EXAI_OK;
	if (!exai_yaml_is_seq(n))
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "'%s' must be a list", key);
	*out = n;
	return EXAI_OK;
}
