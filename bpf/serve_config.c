/*
 * serve_config.c: loading egress.yaml with the library's strict YAML accessors
 * (serve_config.h).
 */
#include "serve_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "exai/cli.h"
#include "exai/file.h"
#include "exai/yaml.h"
#include "ratchet.h"

#define CONFIG_MAX_BYTES (256u << 10)

const char *egress_config_path(const char *opt)
{
	return exai_cli_setting(opt, "EXAI_EGRESS_CONFIG", EGRESS_DEFAULT_CONFIG);
}

void egress_serve_config_free(egress_serve_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->trust_root);
	for (size_t i = 0; i < c->npolicy_dirs; i++)
		free(c->policy_dirs[i]);
	free(c->spool_dir);
	free(c->state_dir);
	free(c->mirror_socket);
	free(c->journal_socket);
	free(c->control_socket);
	free(c);
}

bool egress_serve_uid_allowed(const egress_serve_config *c, uint32_t uid)
{
	for (size_t i = 0; i < c->nallow_uids; i++)
		if (c->allow_uids[i] == uid)
			return true;
	return false;
}

/* An absolute socket path at @key of @map into *@out (kept when absent and not required). */
static exai_status get_socket(exai_yaml *y, exai_ynode *map, const char *key, bool required,
			      char **out, exai_error *e)
{
	char *p = NULL;
	exai_status rc = exai_yaml_get_abspath(y, map, key, required, &p, e);

	if (rc || !p)
		return rc;
	if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		free(p);
		return exai_yaml_error(y, exai_yaml_get(y, map, key), e, EXAI_ECONFIG,
				       "%s: longer than a unix socket path allows", key);
	}
	free(*out);
	*out = p;
	return EXAI_OK;
}

static exai_status load_spool(exai_yaml *y, exai_ynode *root, egress_serve_config *c, exai_error *e)
{
	static const char *const keys[] = {"dir", "max_events", "max_bytes", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "spool");
	exai_status rc;

	if (!m)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG, "missing required key 'spool'");
	if ((rc = exai_yaml_expect_map(y, m, "spool", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, m, "dir", true, &c->spool_dir, e)) ||
	    (rc = exai_yaml_get_u64(y, m, "max_events", false, 1, 100000000, &c->spool_max_events,
				    e)))
		return rc;
	return exai_yaml_get_u64(y, m, "max_bytes", false, 4096, (uint64_t)1 << 40,
				 &c->spool_max_bytes, e);
}

static exai_status get_mode(exai_yaml *y, exai_ynode *m, egress_serve_config *c, exai_error *e)
{
	const char *mode = NULL;
	char *end = NULL;
	unsigned long v;
	exai_status rc = exai_yaml_get_str(y, m, "mode", false, &mode, e);

	if (rc || !mode)
		return rc;
	v = strtoul(mode, &end, 8);
	if (!*mode || *end || strlen(mode) > 4 || v > 0777 || mode[0] == '-' || mode[0] == '+')
		return exai_yaml_error(y, exai_yaml_get(y, m, "mode"), e, EXAI_ECONFIG,
				       "control.mode must be an octal mode such as \"0660\"");
	c->control_mode = (mode_t)v;
	return EXAI_OK;
}

static exai_status load_uids(exai_yaml *y, exai_ynode *m, egress_serve_config *c, exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc;

	if ((rc = exai_yaml_get_seq(y, m, "allow_uids", true, &seq, e)))
		return rc;
	c->nallow_uids = exai_yaml_seq_len(seq);
	if (c->nallow_uids == 0 || c->nallow_uids > EGRESS_MAX_ALLOW_UIDS)
		return exai_yaml_error(y, seq, e, EXAI_ECONFIG, "control.allow_uids: 1 to %d uids",
				       EGRESS_MAX_ALLOW_UIDS);
	for (size_t i = 0; i < c->nallow_uids; i++) {
		exai_ynode *n = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(n);
		uint64_t v = 0;

		if (!s || !exai_parse_u64(s, &v) || v >= UINT32_MAX)
			return exai_yaml_error(y, n, e, EXAI_ECONFIG,
					       "control.allow_uids: a uid (0 to %u)",
					       UINT32_MAX - 1);
		c->allow_uids[i] = (uint32_t)v;
	}
	return EXAI_OK;
}

static exai_status load_control(exai_yaml *y, exai_ynode *root, egress_serve_config *c,
				exai_error *e)
{
	static const char *const keys[] = {"socket", "mode", "allow_uids", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "control");
	exai_status rc;

	if (!m)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG,
				       "missing required key 'control' (its allow_uids say who "
				       "may ask for a reload)");
	if ((rc = exai_yaml_expect_map(y, m, "control", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = get_socket(y, m, "socket", false, &c->control_socket, e)) ||
	    (rc = get_mode(y, m, c, e)))
		return rc;
	return load_uids(y, m, c, e);
}

static exai_status load_dirs(exai_yaml *y, exai_ynode *root, egress_serve_config *c, exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc;

	if ((rc = exai_yaml_get_seq(y, root, "policy_dirs", true, &seq, e)))
		return rc;
	if (exai_yaml_seq_len(seq) == 0 || exai_yaml_seq_len(seq) > EGRESS_MAX_POLICY_DIRS)
		return exai_yaml_error(y, seq, e, EXAI_ECONFIG, "policy_dirs: 1 to %d directories",
				       EGRESS_MAX_POLICY_DIRS);
	for (size_t i = 0; i < exai_yaml_seq_len(seq); i++) {
		exai_ynode *n = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(n);

		if (!s || !exai_abspath_valid(s) || strlen(s) >= 4096)
			return exai_yaml_error(y, n, e, EXAI_ECONFIG,
					       "policy_dirs: an absolute path without '..'");
		if (!(c->policy_dirs[i] = strdup(s)))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		c->npolicy_dirs = i + 1;
	}
	return EXAI_OK;
}

/* state_dir, when given, replaces the default (an absolute path without ".."). */
static exai_status get_state_dir(exai_yaml *y, exai_ynode *root, egress_serve_config *c,
				 exai_error *e)
{
	char *p = NULL;
	exai_status rc = exai_yaml_get_abspath(y, root, "state_dir", false, &p, e);

	if (rc || !p)
		return rc;
	free(c->state_dir);
	c->state_dir = p;
	return EXAI_OK;
}

static exai_status load_doc(exai_yaml *y, egress_serve_config *c, exai_error *e)
{
	static const char *const keys[] = {"trust_root", "allow_unsigned", "policy_dirs",
					   "spool",	 "mirror_socket",  "journal_socket",
					   "control",	 "state_dir",	   NULL};
	exai_ynode *root = exai_yaml_root(y);
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the config", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "trust_root", false, &c->trust_root, e)) ||
	    (rc = exai_yaml_get_bool(y, root, "allow_unsigned", false, &c->allow_unsigned, e)) ||
	    (rc = load_dirs(y, root, c, e)) || (rc = load_spool(y, root, c, e)) ||
	    (rc = get_socket(y, root, "mirror_socket", false, &c->mirror_socket, e)) ||
	    (rc = get_socket(y, root, "journal_socket", false, &c->journal_socket, e)) ||
	    (rc = load_control(y, root, c, e)) || (rc = get_state_dir(y, root, c, e)))
		return rc;
	if (!c->trust_root && !c->allow_unsigned)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG,
				       "missing required key 'trust_root' (reloads are checked "
				       "against it; allow_unsigned: true is for development only)");
	return EXAI_OK;
}

exai_status egress_serve_config_load(const char *path, egress_serve_config **out, exai_error *e)
{
	egress_serve_config *c = calloc(1, sizeof(*c));
	exai_yaml *y = NULL;
	exai_status rc;

	*out = NULL;
	if (!c || !(c->path = strdup(path)) ||
	    !(c->journal_socket = strdup(EGRESS_DEFAULT_JOURNAL)) ||
	    !(c->control_socket = strdup(EGRESS_DEFAULT_SOCKET)) ||
	    !(c->state_dir = strdup(EGRESS_DEFAULT_STATE_DIR))) {
		egress_serve_config_free(c);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	c->spool_max_events = 100000;
	c->spool_max_bytes = 64u << 20;
	c->control_mode = 0600;
	if ((rc = exai_yaml_load_file(path, CONFIG_MAX_BYTES, EXAI_YAML_STRICT, &y, e)) ||
	    (rc = load_doc(y, c, e))) {
		if (rc != EXAI_ENOMEM && rc != EXAI_ENOENT)
			e->code = rc = EXAI_ECONFIG;
		exai_error_prefix(e, "config");
		exai_yaml_free(y);
		egress_serve_config_free(c);
		return rc;
	}
	exai_yaml_free(y);
	*out = c;
	return EXAI_OK;
}
