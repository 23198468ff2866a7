/*
 * config: loading mirror.yaml with the library's strict YAML accessors. See config.h.
 *
 * Invariants after a successful load: every path is absolute without "..", the socket path
 * fits a sockaddr_un, class and tenant names are exai names of at most MIR_NAME_MAX bytes and
 * distinct, and class "audit" exists (exai-update's events land there).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "exai/cli.h"
#include "exai/file.h"
#include "exai/text.h"
#include "exai/yaml.h"

#define CONFIG_MAX_BYTES (256u << 10)

const char *mir_config_path(const char *flag)
{
	return exai_cli_setting(flag, "EXAI_MIRROR_CONFIG", MIR_DEFAULT_CONFIG);
}

void mir_config_free(mir_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->log_key);
	free(c->origin);
	free(c->socket_path);
	free(c);
}

char *mir_config_db_path(const mir_config *c)
{
	return exai_path_join(c->state_dir, "mirror.db");
}

char *mir_config_cp_path(const mir_config *c)
{
	return exai_path_join(c->state_dir, "checkpoint");
}

const mir_class *mir_config_class(const mir_config *c, const char *name)
{
	for (size_t i = 0; i < c->nclasses; i++)
		if (!strcmp(c->classes[i].name, name))
			return &c->classes[i];
	return NULL;
}

const char *mir_config_tenant(const mir_config *c, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < c->ntenants; i++)
		if (!c->tenants[i].by_gid && c->tenants[i].id == uid)
			return c->tenants[i].name;
	for (size_t i = 0; i < c->ntenants; i++)
		if (c->tenants[i].by_gid && c->tenants[i].id == gid)
			return c->tenants[i].name;
	return NULL;
}

/* A class or tenant name from scalar node @n into @out. */
static exai_status get_name(exai_yaml *y, exai_ynode *n, const char *what, char *out, exai_error *e)
{
	const char *s = exai_yaml_scalar(n);

	if (!s || strlen(s) > MIR_NAME_MAX || !exai_name_valid(s))
		return exai_yaml_error(
		    y, n, e, EXAI_ECONFIG,
		    "%s must be a name of A-Z a-z 0-9 . _ + - (at most %d bytes)", what,
		    MIR_NAME_MAX);
	memcpy(out, s, strlen(s) + 1);
	return EXAI_OK;
}

/* The origin: printable ASCII without spaces or '+' (it is also the signed-note key name). */
static exai_status get_origin(exai_yaml *y, exai_ynode *root, mir_config *c, exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, root, "origin", true, &s, e);
	size_t n;

	if (rc)
		return rc;
	n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '+')
			n = 0;
	if (n == 0 || n > 255)
		return exai_yaml_error(y, exai_yaml_get(y, root, "origin"), e, EXAI_ECONFIG,
				       "'origin' must be 1 to 255 printable ASCII characters "
				       "without spaces or '+' (e.g. example.com/mirror)");
	if (!(c->origin = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

static exai_status load_socket(exai_yaml *y, exai_ynode *root, mir_config *c, exai_error *e)
{
	static const char *const keys[] = {"path", "mode", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "socket"), *mn;
	const char *mode = NULL;
	char *end = NULL;
	unsigned long v;
	exai_status rc;

	if (!m)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG, "missing required key 'socket'");
	if ((rc = exai_yaml_expect_map(y, m, "socket", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, m, "path", true, &c->socket_path, e)) ||
	    (rc = exai_yaml_get_str(y, m, "mode", false, &mode, e)))
		return rc;
	if (strlen(c->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return exai_yaml_error(y, exai_yaml_get(y, m, "path"), e, EXAI_ECONFIG,
				       "socket.path: longer than a unix socket path allows");
	if (!mode)
		return EXAI_OK;
	mn = exai_yaml_get(y, m, "mode");
	v = strtoul(mode, &end, 8);
	if (!*mode || *end || strlen(mode) > 4 || v > 0777 || mode[0] == '-' || mode[0] == '+')
		return exai_yaml_error(y, mn, e, EXAI_ECONFIG,
				       "socket.mode must be an octal mode such as \"0660\"");
	c->socket_mode = (mode_t)v;
	return EXAI_OK;
}

static exai_status load_limits(exai_yaml *y, exai_ynode *root, mir_config *c, exai_error *e)
{
	static const char *const keys[] = {"max_line_bytes", "max_batch", "queue_bytes",
					   "min_free_bytes", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "limits");
	exai_status rc;

	if (!m)
		return EXAI_OK;
	if ((rc = exai_yaml_expect_map(y, m, "limits", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = exai_yaml_get_u64(y, m, "max_line_bytes", false, 256, 1u << 20, &c->max_line,
				    e)) ||
	    (rc = exai_yaml_get_u64(y, m, "max_batch", false, 1, 65536, &c->max_batch, e)) ||
	    (rc = exai_yaml_get_u64(y, m, "min_free_bytes", false, 0, (uint64_t)1 << 50,
				    &c->min_free_bytes, e)))
		return rc;
	return exai_yaml_get_u64(y, m, "queue_bytes", false, 1u << 16, (uint64_t)1 << 34,
				 &c->queue_bytes, e);
}

static exai_status load_classes(exai_yaml *y, exai_ynode *root, mir_config *c, exai_error *e)
{
	static const char *const keys[] = {"retention_days", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "classes");
	exai_status rc;

	if (!m)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG, "missing required key 'classes'");
	if ((rc = exai_yaml_expect_map(y, m, "classes", e)))
		return rc;
	c->nclasses = exai_yaml_map_len(m);
	if (c->nclasses == 0 || c->nclasses > MIR_MAX_CLASSES)
		return exai_yaml_error(y, m, e, EXAI_ECONFIG, "classes: 1 to %d classes",
				       MIR_MAX_CLASSES);
	for (size_t i = 0; i < c->nclasses; i++) {
		exai_ynode *kn = exai_yaml_map_key(y, m, i), *vn = exai_yaml_map_value(y, m, i);
		mir_class *k = &c->classes[i];

		if ((rc = get_name(y, kn, "a class name", k->name, e)) ||
		    (rc = exai_yaml_expect_map(y, vn, k->name, e)) ||
		    (rc = exai_yaml_check_keys(y, vn, keys, e)) ||
		    (rc = exai_yaml_get_u64(y, vn, "retention_days", true, 0, 36500,
					    &k->retention_days, e)))
			return rc;
	}
	if (!mir_config_class(c, "audit"))
		return exai_yaml_error(y, m, e, EXAI_ECONFIG,
				       "classes: class 'audit' is required (exai-update's events "
				       "land there)");
	if (mir_config_class(c, "audit")->retention_days == 0)
		return exai_yaml_error(
		    y, m, e, EXAI_ECONFIG,
		    "classes: class 'audit' must be stored (retention_days >= 1)");
	return EXAI_OK;
}

static exai_status load_tenant(exai_yaml *y, exai_ynode *n, mir_tenant *t, exai_error *e)
{
	static const char *const keys[] = {"uid", "gid", "tenant", NULL};
	exai_ynode *name;
	uint64_t id = 0;
	exai_status rc;
	bool has_uid, has_gid;

	if ((rc = exai_yaml_expect_map(y, n, "a tenants entry", e)) ||
	    (rc = exai_yaml_check_keys(y, n, keys, e)))
		return rc;
	has_uid = exai_yaml_get(y, n, "uid") != NULL;
	has_gid = exai_yaml_get(y, n, "gid") != NULL;
	if (has_uid == has_gid)
		return exai_yaml_error(y, n, e, EXAI_ECONFIG,
				       "a tenants entry names exactly one of uid and gid");
	if ((rc =
		 exai_yaml_get_u64(y, n, has_uid ? "uid" : "gid", true, 0, UINT32_MAX - 1, &id, e)))
		return rc;
	if (!(name = exai_yaml_get(y, n, "tenant")))
		return exai_yaml_error(y, n, e, EXAI_ECONFIG, "a tenants entry needs 'tenant'");
	t->by_gid = has_gid;
	t->id = (uint32_t)id;
	return get_name(y, name, "tenant", t->name, e);
}

static exai_status load_tenants(exai_yaml *y, exai_ynode *root, mir_config *c, exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc;

	if ((rc = exai_yaml_get_seq(y, root, "tenants", true, &seq, e)))
		return rc;
	c->ntenants = exai_yaml_seq_len(seq);
	if (c->ntenants == 0 || c->ntenants > MIR_MAX_TENANTS)
		return exai_yaml_error(y, seq, e, EXAI_ECONFIG, "tenants: 1 to %d entries",
				       MIR_MAX_TENANTS);
	for (size_t i = 0; i < c->ntenants; i++) {
		exai_ynode *n = exai_yaml_seq_at(y, seq, i);
		if ((rc = load_tenant(y, n, &c->tenants[i], e)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (c->tenants[j].by_gid == c->tenants[i].by_gid &&
			    c->tenants[j].id == c->tenants[i].id)
				return exai_yaml_error(
				    y, n, e, EXAI_ECONFIG, "tenants: %s %u is mapped twice",
				    c->tenants[i].by_gid ? "gid" : "uid", c->tenants[i].id);
	}
	return EXAI_OK;
}

static exai_status load_doc(exai_yaml *y, mir_config *c, exai_error *e)
{
	static const char *const keys[] = {"state_dir",
					   "log_key",
					   "origin",
					   "socket",
					   "limits",
					   "classes",
					   "tenants",
					   "checkpoint_interval_ms",
					   "retention_check_s",
					   NULL};
	exai_ynode *root = exai_yaml_root(y);
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the config", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "state_dir", true, &c->state_dir, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "log_key", true, &c->log_key, e)) ||
	    (rc = get_origin(y, root, c, e)) || (rc = load_socket(y, root, c, e)) ||
	    (rc = load_limits(y, root, c, e)) || (rc = load_classes(y, root, c, e)) ||
	    (rc = load_tenants(y, root, c, e)))
		return rc;
	if ((rc = exai_yaml_get_u64(y, root, "checkpoint_interval_ms", false, 10, 1000,
				    &c->checkpoint_ms, e)))
		return rc;
	return exai_yaml_get_u64(y, root, "retention_check_s", false, 1, 86400,
				 &c->retention_check_s, e);
}

exai_status mir_config_load(const char *path, mir_config **out, exai_error *e)
{
	mir_config *c = calloc(1, sizeof(*c));
	exai_yaml *y = NULL;
	exai_status rc;

	*out = NULL;
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	c->socket_mode = 0660;
	c->max_line = 65536;
	c->max_batch = 512;
	c->queue_bytes = 64u << 20;
	c->min_free_bytes = 64u << 20;
	c->checkpoint_ms = 1000;
	c->retention_check_s = 3600;
	if ((rc = exai_yaml_load_file(path, CONFIG_MAX_BYTES, EXAI_YAML_STRICT, &y, e)) ||
	    (rc = load_doc(y, c, e))) {
		if (rc != EXAI_ENOMEM)
			e->code = rc = EXAI_ECONFIG;
		exai_error_prefix(e, "config");
		exai_yaml_free(y);
		mir_config_free(c);
		return rc;
	}
	exai_yaml_free(y);
	*out = c;
	return EXAI_OK;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* The names of the settings that differ between @a and @b, except the tenants. */
static void list_changed(const mir_config *a, const mir_config *b, char *out, size_t cap)
{
	const struct {
		const char *name;
		bool differs;
	} f[] = {
	    {"state_dir", str_differs(a->state_dir, b->state_dir)},
	    {"log_key", str_differs(a->log_key, b->log_key)},
	    {"origin", str_differs(a->origin, b->origin)},
	    {"socket",
	     str_differs(a->socket_path, b->socket_path) || a->socket_mode != b->socket_mode},
	    {"limits", a->max_line != b->max_line || a->max_batch != b->max_batch ||
			   a->queue_bytes != b->queue_bytes ||
			   a->min_free_bytes != b->min_free_bytes},
	    {"classes", a->nclasses != b->nclasses ||
			    memcmp(a->classes, b->classes, a->nclasses * sizeof(a->classes[0]))},
	    {"checkpoint_interval_ms", a->checkpoint_ms != b->checkpoint_ms},
	    {"retention_check_s", a->retention_check_s != b->retention_check_s},
	};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && n < cap; i++)
		if (f[i].differs)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", f[i].name);
}

exai_status mir_config_reload(mir_config *c, char *changed, size_t cap, exai_error *e)
{
	mir_config *n = NULL;
	exai_status rc;

	changed[0] = '\0';
	if ((rc = mir_config_load(c->path, &n, e)))
		return rc;
	list_changed(c, n, changed, cap);
	memcpy(c->tenants, n->tenants, sizeof(c->tenants));
	c->ntenants = n->ntenants;
	mir_config_free(n);
	return EXAI_OK;
}
