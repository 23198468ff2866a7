/*
 * config: loading update.yaml with the library's strict YAML accessors.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "exai/cli.h"
#include "exai/file.h"
#include "exai/yaml.h"

#define CONFIG_MAX_BYTES (256u << 10)

const char *upd_config_path(const char *flag)
{
	return exai_cli_setting(flag, "EXAI_UPDATE_CONFIG", UPD_DEFAULT_CONFIG);
}

void upd_config_free(upd_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->state_dir);
	free(c->trust_root);
	free(c->site_key);
	free(c->class_name);
	free(c->site_id);
	for (int i = 0; i < EXAI_C_NTYPES; i++)
		free(c->dirs[i]);
	free(c->rootfs_slot[0]);
	free(c->rootfs_slot[1]);
	free(c->boot_selector);
	for (int i = 0; c->health_check[i]; i++)
		free(c->health_check[i]);
	for (int i = 0; c->policy_reload[i]; i++)
		free(c->policy_reload[i]);
	free(c->hook_user);
	for (int i = 0; c->hook_env[i]; i++)
		free(c->hook_env[i]);
	free(c->mirror_socket);
	free(c);
}

static exai_status get_name(exai_yaml *y, exai_ynode *map, const char *key, char **out,
			    exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, map, key, false, &s, e);

	if (rc || !s)
		return rc;
	if (!exai_name_valid(s))
		return exai_yaml_error(y, exai_yaml_get(y, map, key), e, EXAI_ECONFIG,
				       "'%s' must be a name of A-Z a-z 0-9 . _ + -", key);
	if (!(*out = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

/* A command: a sequence of strings (argv, no shell). */
static exai_status get_argv(exai_yaml *y, exai_ynode *map, const char *key, char **argv,
			    exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc = exai_yaml_get_seq(y, map, key, false, &seq, e);
	size_t n;

	if (rc || !seq)
		return rc;
	n = exai_yaml_seq_len(seq);
	if (n == 0 || n > UPD_MAX_ARGV)
		return exai_yaml_error(y, seq, e, EXAI_ECONFIG, "'%s' needs 1 to %d arguments", key,
				       UPD_MAX_ARGV);
	for (size_t i = 0; i < n; i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(it);
		if (!s || (i == 0 && s[0] != '/'))
			return exai_yaml_error(y, it, e, EXAI_ECONFIG,
					       "'%s': arguments are strings; the first is an "
					       "absolute program path",
					       key);
		if (!(argv[i] = strdup(s)))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	return EXAI_OK;
}

static exai_status load_install(exai_yaml *y, exai_ynode *root, upd_config *c, exai_error *e)
{
	static const char *const keys[] = {"software_dir", "models_dir", "models_keep",
					   "registry_dir", "chart_dir",	 "policy_dir",
					   "files_dir",	   NULL};
	exai_ynode *m = exai_yaml_get(y, root, "install");
	exai_status rc;

	if (!m)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG, "missing required key 'install'");
	if ((rc = exai_yaml_expect_map(y, m, "install", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)))
		return rc;
	/* The directory keys, shared with airgap-verifier host (exai/update_state.h). */
	for (size_t i = 0; i < EXAI_UPD_INSTALL_DIRS; i++)
		if ((rc = exai_yaml_get_abspath(y, m, exai_upd_install_dirs[i].key, false,
						&c->dirs[exai_upd_install_dirs[i].type], e)))
			return rc;
	return exai_yaml_get_u64(y, m, "models_keep", false, 2, 1000, &c->models_keep, e);
}

static exai_status load_rootfs(exai_yaml *y, exai_ynode *root, upd_config *c, exai_error *e)
{
	static const char *const keys[] = {"slot_a", "slot_b", "boot_selector", NULL};
	exai_ynode *m = exai_yaml_get(y, root, "rootfs");
	exai_status rc;

	if (!m)
		return EXAI_OK;
	if ((rc = exai_yaml_expect_map(y, m, "rootfs", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, m, "slot_a", true, &c->rootfs_slot[0], e)) ||
	    (rc = exai_yaml_get_abspath(y, m, "slot_b", true, &c->rootfs_slot[1], e)) ||
	    (rc = exai_yaml_get_abspath(y, m, "boot_selector", true, &c->boot_selector, e)))
		return rc;
	if (!strcmp(c->rootfs_slot[0], c->rootfs_slot[1]))
		return exai_yaml_error(y, m, e, EXAI_ECONFIG, "slot_a and slot_b are the same");
	return EXAI_OK;
}

/* hooks.user: a passwd name (letters, digits, . _ -; not starting with a digit or '-') or a
 * decimal uid; whether it exists is checked by the sandbox. */
static exai_status get_user(exai_yaml *y, exai_ynode *map, char **out, exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, map, "user", false, &s, e);
	size_t n, digits;

	if (rc || !s)
		return rc;
	n = strlen(s);
	digits = strspn(s, "0123456789");
	if (n == 0 || n > 32 || (digits && digits != n) || s[0] == '-' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return exai_yaml_error(y, exai_yaml_get(y, map, "user"), e, EXAI_ECONFIG,
				       "'user' must be a user name (A-Z a-z 0-9 . _ -) or a uid");
	if (!(*out = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

/* hooks.env: NAME: value pairs added to the fixed PATH and LANG. Names are [A-Z_][A-Z0-9_]*
 * (at most 64 bytes) and neither PATH, LANG nor anything the dynamic loader reads (LD_*);
 * values are printable ASCII, at most 1024 bytes. */
static exai_status get_env(exai_yaml *y, exai_ynode *hooks, upd_config *c, exai_error *e)
{
	exai_ynode *m = exai_yaml_get(y, hooks, "env");
	exai_status rc;
	size_t n;

	if (!m)
		return EXAI_OK;
	if ((rc = exai_yaml_expect_map(y, m, "hooks.env", e)))
		return rc;
	if ((n = exai_yaml_map_len(m)) > UPD_MAX_HOOK_ENV)
		return exai_yaml_error(y, m, e, EXAI_ECONFIG, "hooks.env: more than %d variables",
				       UPD_MAX_HOOK_ENV);
	for (size_t i = 0; i < n; i++) {
		exai_ynode *kn = exai_yaml_map_key(y, m, i), *vn = exai_yaml_map_value(y, m, i);
		const char *k = exai_yaml_scalar(kn), *v = exai_yaml_scalar(vn);
		size_t kl = k ? strlen(k) : 0, vl = v ? strlen(v) : 0;
		bool ok = kl > 0 && kl <= 64 && !(k[0] >= '0' && k[0] <= '9') &&
			  strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == kl &&
			  strcmp(k, "PATH") && strcmp(k, "LANG") && strncmp(k, "LD_", 3);

		if (!ok)
			return exai_yaml_error(
			    y, kn, e, EXAI_ECONFIG,
			    "hooks.env: a name is A-Z 0-9 _ (not first a digit), "
			    "at most 64 bytes, and not PATH, LANG or LD_*");
		if (!v || vl > 1024)
			return exai_yaml_error(
			    y, vn, e, EXAI_ECONFIG,
			    "hooks.env %s: the value must be a string of at most "
			    "1024 bytes",
			    k);
		for (size_t j = 0; j < vl; j++)
			if ((unsigned char)v[j] < 32 || (unsigned char)v[j] > 126)
				return exai_yaml_error(y, vn, e, EXAI_ECONFIG,
						       "hooks.env %s: the value must be printable "
						       "ASCII",
						       k);
		if (!(c->hook_env[i] = malloc(kl + vl + 2)))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		memcpy(c->hook_env[i], k, kl);
		c->hook_env[i][kl] = '=';
		memcpy(c->hook_env[i] + kl + 1, v, vl + 1);
	}
	return EXAI_OK;
}

static exai_status load_hooks(exai_yaml *y, exai_ynode *root, upd_config *c, exai_error *e)
{
	static const char *const keys[] = {"health_check", "policy_reload", "timeout",
					   "user",	   "env",	    NULL};
	exai_ynode *m = exai_yaml_get(y, root, "hooks");
	exai_status rc;

	if (!m)
		return EXAI_OK;
	if ((rc = exai_yaml_expect_map(y, m, "hooks", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = get_argv(y, m, "health_check", c->health_check, e)) ||
	    (rc = get_argv(y, m, "policy_reload", c->policy_reload, e)) ||
	    (rc = get_user(y, m, &c->hook_user, e)) || (rc = get_env(y, m, c, e)))
		return rc;
	return exai_yaml_get_u64(y, m, "timeout", false, 1, 3600, &c->hook_timeout, e);
}

static exai_status load_doc(exai_yaml *y, upd_config *c, exai_error *e)
{
	static const char *const keys[] = {
	    "state_dir", "trust_root", "site_key",	"identity",	    "install",
	    "rootfs",	 "hooks",      "mirror_socket", "max_unpack_ratio", "require_encryption",
	    NULL};
	static const char *const idkeys[] = {"class", "site", NULL};
	exai_ynode *root = exai_yaml_root(y), *id;
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the config", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "state_dir", true, &c->state_dir, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "trust_root", true, &c->trust_root, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "site_key", false, &c->site_key, e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "mirror_socket", false, &c->mirror_socket, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "max_unpack_ratio", false, 1, 1000000, &c->max_ratio,
				    e)) ||
	    (rc = exai_yaml_get_bool(y, root, "require_encryption", false, &c->require_encryption,
				     e)))
		return rc;
	id = exai_yaml_get(y, root, "identity");
	if (!id)
		return exai_yaml_error(y, root, e, EXAI_ECONFIG, "missing required key 'identity'");
	if ((rc = exai_yaml_expect_map(y, id, "identity", e)) ||
	    (rc = exai_yaml_check_keys(y, id, idkeys, e)) ||
	    (rc = get_name(y, id, "class", &c->class_name, e)) ||
	    (rc = get_name(y, id, "site", &c->site_id, e)))
		return rc;
	if (!c->class_name && !c->site_id)
		return exai_yaml_error(y, id, e, EXAI_ECONFIG,
				       "identity needs a class, a site or both");
	if ((rc = load_install(y, root, c, e)) || (rc = load_rootfs(y, root, c, e)) ||
	    (rc = load_hooks(y, root, c, e)))
		return rc;
	if (c->mirror_socket && strlen(c->mirror_socket) >= 108)
		return exai_yaml_error(y, exai_yaml_get(y, root, "mirror_socket"), e, EXAI_ECONFIG,
				       "mirror_socket: path longer than a unix socket allows");
	return EXAI_OK;
}

exai_status upd_config_load(const char *path, upd_config **out, exai_error *e)
{
	upd_config *c = calloc(1, sizeof(*c));
	exai_yaml *y = NULL;
	exai_status rc;

	*out = NULL;
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	c->models_keep = 2;
	c->hook_timeout = 60;
	c->max_ratio = 1000;
	rc = exai_yaml_load_file(path, CONFIG_MAX_BYTES, EXAI_YAML_STRICT, &y, e);
	if (rc) {
		if (rc != EXAI_ENOMEM)
			e->code = rc = EXAI_ECONFIG;
		exai_error_prefix(e, "config");
		goto fail;
	}
	if ((rc = load_doc(y, c, e))) {
		if (rc != EXAI_ENOMEM)
			e->code = rc = EXAI_ECONFIG;
		exai_error_prefix(e, "config");
		goto fail;
	}
	exai_yaml_free(y);
	*out = c;
	return EXAI_OK;
fail:
	exai_yaml_free(y);
	upd_config_free(c);
	return rc;
}
