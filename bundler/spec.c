/*
 * spec: strict loading of bundle spec files (libyaml via exai/yaml.h).
 */
#include "spec.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exb_cli.h"
#include "exai/text.h"
#include "exai/file.h"
#include "exai/yaml.h"

static exai_status name_field(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      char *out, exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, map, key, required, &s, e);

	if (rc || !s)
		return rc;
	if (!exai_name_valid(s))
		return exai_yaml_error(y, exai_yaml_get(y, map, key), e, EXAI_EFORMAT,
				       "'%s' must be 1-%d characters of A-Z a-z 0-9 . _ + - "
				       "starting with a letter or digit",
				       key, EXAI_NAME_MAX);
	strcpy(out, s);
	return EXAI_OK;
}

/* Component names and versions become directory names on the appliance: refuse the ones its
 * layout uses itself (exai_name_reserved). */
static exai_status not_reserved(exai_yaml *y, exai_ynode *map, const char *key, const char *v,
				exai_error *e)
{
	if (!exai_name_reserved(v))
		return EXAI_OK;
	return exai_yaml_error(y, exai_yaml_get(y, map, key), e, EXAI_EFORMAT,
			       "component %s '%s' is reserved: the appliance's install layout "
			       "uses 'current', 'a' and 'b' itself (any case)",
			       key, v);
}

static exai_status name_list(exai_yaml *y, exai_ynode *map, const char *key, size_t max,
			     char (*out)[EXAI_NAME_MAX + 1], size_t *n, exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc = exai_yaml_get_seq(y, map, key, false, &seq, e);

	if (rc || !seq)
		return rc;
	for (size_t i = 0; i < exai_yaml_seq_len(seq); i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(it);
		if (!s || !exai_name_valid(s))
			return exai_yaml_error(y, it, e, EXAI_EFORMAT, "bad %s entry", key);
		for (size_t j = 0; j < *n; j++)
			if (!strcmp(out[j], s))
				return exai_yaml_error(y, it, e, EXAI_EFORMAT, "'%s' listed twice",
						       s);
		if (*n == max)
			return exai_yaml_error(y, it, e, EXAI_EFORMAT, "more than %zu %s", max,
					       key);
		strcpy(out[(*n)++], s);
	}
	return EXAI_OK;
}

/* The path of a spec's @src relative to the spec's directory @base, as the user would write
 * it: "./src/app" next to "./spec.yaml" is "src/app", not "././src/app" (messages name it). */
static char *source_path(const char *base, const char *src)
{
	if (src[0] == '/')
		return strdup(src);
	while (src[0] == '.' && src[1] == '/') {
		src += 2;
		while (*src == '/')
			src++;
	}
	if (!*src)
		src = ".";
	if (!strcmp(base, "."))
		return strdup(src);
	if (!strcmp(src, "."))
		return strdup(base);
	return exai_path_join(base, src);
}

static exai_status load_component(exai_yaml *y, exai_ynode *n, const char *base,
				  exb_spec_component *c, exai_error *e)
{
	static const char *const keys[] = {"type",   "name",   "version",	 "source",
					   "target", "setuid", "world_writable", NULL};
	const char *type = NULL, *src = NULL, *target = NULL;
	struct stat st;
	exai_status rc;

	snprintf(c->where, sizeof(c->where), "%.256s:%lu:%lu", y->name, exai_yaml_line(n),
		 exai_yaml_col(n));
	if ((rc = exai_yaml_expect_map(y, n, "a component", e)) ||
	    (rc = exai_yaml_check_keys(y, n, keys, e)) ||
	    (rc = exai_yaml_get_str(y, n, "type", true, &type, e)))
		return rc;
	if (!exai_ctype_parse(type, &c->type))
		return exai_yaml_error(y, exai_yaml_get(y, n, "type"), e, EXAI_EFORMAT,
				       "unknown type '%s' (software, model, images, chart, policy, "
				       "rootfs, files)",
				       type);
	if ((rc = name_field(y, n, "name", true, c->name, e)) ||
	    (rc = name_field(y, n, "version", true, c->version, e)) ||
	    (rc = not_reserved(y, n, "name", c->name, e)) ||
	    (rc = not_reserved(y, n, "version", c->version, e)) ||
	    (rc = exai_yaml_get_str(y, n, "source", true, &src, e)) ||
	    (rc = exai_yaml_get_str(y, n, "target", false, &target, e)) ||
	    (rc = exai_yaml_get_bool(y, n, "setuid", false, &c->setuid, e)) ||
	    (rc = exai_yaml_get_bool(y, n, "world_writable", false, &c->world_writable, e)))
		return rc;
	c->source = source_path(base, src);
	if (!c->source)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (stat(c->source, &st) != 0)
		return exai_yaml_error(y, exai_yaml_get(y, n, "source"), e, EXAI_ENOENT,
				       "source %s: %s", c->source, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return exai_yaml_error(y, exai_yaml_get(y, n, "source"), e, EXAI_EUNSAFE,
				       "source %s is neither a directory nor a regular file",
				       c->source);
	c->is_dir = S_ISDIR(st.st_mode);
	if (c->type == EXAI_C_ROOTFS && c->is_dir)
		return exai_yaml_error(y, exai_yaml_get(y, n, "source"), e, EXAI_EFORMAT,
				       "a rootfs source must be an image file, not a directory");
	if (!target) {
		char *copy = strdup(c->source);
		target = c->is_dir || !copy ? c->name : basename(copy);
		snprintf(c->target, sizeof(c->target), "%s", target);
		free(copy);
		target = c->target;
	}
	if (!exai_relpath_valid(target))
		return exai_yaml_error(
		    y, exai_yaml_get(y, n, "target") ? exai_yaml_get(y, n, "target") : n, e,
		    EXAI_EFORMAT,
		    "target '%s' must be a relative path without '..' "
		    "(characters A-Z a-z 0-9 . _ + - @)",
		    target);
	if (target != c->target)
		strcpy(c->target, target);
	return EXAI_OK;
}

void exb_spec_free(exb_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].source);
	free(s->c);
	free(s);
}

static exai_status load_top(exai_yaml *y, exb_spec *s, uint64_t created, const char *base,
			    exai_error *e)
{
	static const char *const keys[] = {"channel",	      "sequence",	  "expires",
					   "expires_in_days", "min_root_version", "chunk_size",
					   "target",	      "components",	  NULL};
	static const char *const tkeys[] = {"classes", "sites", NULL};
	exai_ynode *root = exai_yaml_root(y), *target = NULL, *comps = NULL;
	const char *exp = NULL;
	uint64_t days = 0;
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the spec", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = name_field(y, root, "channel", true, s->channel, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "sequence", true, 0, UINT64_MAX, &s->sequence, e)) ||
	    (rc = exai_yaml_get_str(y, root, "expires", false, &exp, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "expires_in_days", false, 1, 36500, &days, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "min_root_version", false, 1, UINT64_MAX,
				    &s->min_root_version, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "chunk_size", false, EXAI_CHUNK_MIN, EXAI_CHUNK_MAX,
				    &s->chunk_size, e)))
		return rc;
	if (s->chunk_size & (s->chunk_size - 1))
		return exai_yaml_error(y, exai_yaml_get(y, root, "chunk_size"), e, EXAI_EFORMAT,
				       "chunk_size must be a power of two");
	if (!exp == !days)
		return exai_yaml_error(y, root, e, EXAI_EFORMAT,
				       "give exactly one of 'expires' and 'expires_in_days'");
	if (exp && !exai_parse_time(exp, &s->expires))
		return exai_yaml_error(y, exai_yaml_get(y, root, "expires"), e, EXAI_EFORMAT,
				       "expires: not unix seconds or YYYY-MM-DD[THH:MM:SSZ]");
	if (days)
		s->expires = created + days * 86400;
	if (s->expires <= created)
		return exai_yaml_error(y, exai_yaml_get(y, root, "expires"), e, EXAI_EFORMAT,
				       "expires is not after the creation time");
	target = exai_yaml_get(y, root, "target");
	if (!target)
		return exai_yaml_error(y, root, e, EXAI_EFORMAT, "missing required key 'target'");
	if ((rc = exai_yaml_expect_map(y, target, "target", e)) ||
	    (rc = exai_yaml_check_keys(y, target, tkeys, e)) ||
	    (rc = name_list(y, target, "classes", EXAI_INDEX_MAX_CLASSES, s->classes, &s->n_classes,
			    e)) ||
	    (rc = name_list(y, target, "sites", EXAI_INDEX_MAX_SITES, s->sites, &s->n_sites, e)))
		return rc;
	if (s->n_classes + s->n_sites == 0)
		return exai_yaml_error(y, target, e, EXAI_EFORMAT,
				       "target needs at least one class or site");
	if ((rc = exai_yaml_get_seq(y, root, "components", true, &comps, e)))
		return rc;
	if (exai_yaml_seq_len(comps) == 0 ||
	    exai_yaml_seq_len(comps) > EXAI_MANIFEST_MAX_COMPONENTS)
		return exai_yaml_error(y, comps, e, EXAI_EFORMAT, "components: 1 to %d entries",
				       EXAI_MANIFEST_MAX_COMPONENTS);
	s->c = calloc(exai_yaml_seq_len(comps), sizeof(*s->c));
	if (!s->c)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < exai_yaml_seq_len(comps); i++) {
		exai_ynode *n = exai_yaml_seq_at(y, comps, i);
		exb_spec_component *c = &s->c[s->n++];
		if ((rc = load_component(y, n, base, c, e)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (s->c[j].type == c->type && !strcmp(s->c[j].name, c->name))
				return exai_yaml_error(y, n, e, EXAI_EFORMAT,
						       "component %s/%s listed twice",
						       exai_ctype_name(c->type), c->name);
	}
	return EXAI_OK;
}

exai_status exb_spec_load(const char *path, uint64_t created, exb_spec **out, exai_error *e)
{
	exb_spec *s = calloc(1, sizeof(*s));
	char *copy = strdup(path);
	exai_yaml *y = NULL;
	exai_status rc;

	*out = NULL;
	if (!s || !copy) {
		free(s);
		free(copy);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	s->created = created;
	s->min_root_version = 1;
	s->chunk_size = EXAI_CHUNK_DEFAULT;
	rc = exai_yaml_load_file(path, EXAI_YAML_MAX_BYTES, EXAI_YAML_STRICT, &y, e);
	if (!rc)
		rc = load_top(y, s, created, dirname(copy), e);
	exai_yaml_free(y);
	free(copy);
	if (rc) {
		exb_spec_free(s);
		return rc;
	}
	*out = s;
	return EXAI_OK;
}
