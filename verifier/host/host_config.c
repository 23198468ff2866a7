/*
 * host_config: the host mode's config file (strict YAML, see verifier/host.yaml.example).
 *
 *   version: 1
 *   checks: [routes, listen, dns, ntp, egress, drift]   # default: all
 *   routes: {allow_default: false}
 *   listen: {allow_loopback: false, allow: ["tcp *:22", "udp [::1]:53"]}
 *   dns:    {allow: [10.20.0.53, "*.corp.example"]}     # beyond the built-in local ranges
 *   ntp:    {allow: [ntp.site.example]}
 *   egress: {pins: [/sys/fs/bpf/exai/egress4]}
 *   drift:  {update_config: /etc/exai/update.yaml}
 *
 * Unknown keys, wrong types and bad entries are errors naming file:line:col. The config is
 * written by site staff and trusted, but still bounded (size, list lengths).
 */
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "exai/yaml.h"
#include "host.h"

#define CONFIG_MAX (256u << 10)

void vf_host_config_init(vf_host_config *c)
{
	memset(c, 0, sizeof(*c));
	c->checks = VF_HC_ALL;
}

void vf_host_config_free(vf_host_config *c)
{
	free(c->listen);
	vf_host_allow_free(&c->dns);
	vf_host_allow_free(&c->ntp);
	vf_host_strv_free(c->pins, c->npins);
	free(c->update_config);
	memset(c, 0, sizeof(*c));
}

/* The optional mapping at @key, with only @keys allowed; NULL when absent. */
static exai_status section(exai_yaml *y, exai_ynode *root, const char *key, const char *const *keys,
			   exai_ynode **out, exai_error *e)
{
	exai_status rc;

	*out = exai_yaml_get(y, root, key);
	if (!*out)
		return EXAI_OK;
	if ((rc = exai_yaml_expect_map(y, *out, key, e)))
		return rc;
	return exai_yaml_check_keys(y, *out, keys, e);
}

/* Calls @fn on each string of the sequence at @key (absent: nothing). */
typedef exai_status (*item_fn)(exai_yaml *y, exai_ynode *n, const char *s, void *arg,
			       exai_error *e);
static exai_status each_str(exai_yaml *y, exai_ynode *map, const char *key, item_fn fn, void *arg,
			    exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc;
	size_t n;

	if (!map || (rc = exai_yaml_get_seq(y, map, key, false, &seq, e)) || !seq)
		return map ? rc : EXAI_OK;
	n = exai_yaml_seq_len(seq);
	if (n > VF_HOST_LIST_MAX)
		return exai_yaml_error(y, seq, e, EXAI_ECONFIG, "'%s': more than %u entries", key,
				       VF_HOST_LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(it);
		if (!s)
			return exai_yaml_error(y, it, e, EXAI_ECONFIG, "'%s': entries are strings",
					       key);
		if ((rc = fn(y, it, s, arg, e)))
			return rc;
	}
	return EXAI_OK;
}

static exai_status add_check(exai_yaml *y, exai_ynode *n, const char *s, void *arg, exai_error *e)
{
	static const char *const names[] = {"routes", "listen", "dns", "ntp", "egress", "drift"};
	unsigned *checks = arg;

	for (unsigned i = 0; i < 6; i++)
		if (!strcmp(s, names[i])) {
			*checks |= 1u << i;
			return EXAI_OK;
		}
	return exai_yaml_error(y, n, e, EXAI_ECONFIG,
			       "unknown check '%s' (routes, listen, dns, ntp, egress, drift)", s);
}

static exai_status add_listen(exai_yaml *y, exai_ynode *n, const char *s, void *arg, exai_error *e)
{
	vf_host_config *c = arg;
	vf_host_listen_rule r;

	if (!vf_host_listen_parse(s, &r))
		return exai_yaml_error(y, n, e, EXAI_ECONFIG,
				       "listener '%s': want 'tcp|udp|* ADDR:PORT' (ADDR an IPv4 "
				       "address, [IPv6] or *; PORT a number or *)",
				       s);
	if (EXAI_GROW(&c->listen, &c->caplisten, c->nlisten, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "listeners");
	c->listen[c->nlisten++] = r;
	return EXAI_OK;
}

static exai_status add_server(exai_yaml *y, exai_ynode *n, const char *s, void *arg, exai_error *e)
{
	bool oom;

	if (vf_host_allow_add(arg, s, &oom))
		return EXAI_OK;
	if (oom)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return exai_yaml_error(y, n, e, EXAI_ECONFIG,
			       "'%s' is not an address, CIDR, host name or *.domain", s);
}

static bool abs_path_ok(const char *s)
{
	size_t n = strlen(s);

	return s[0] == '/' && n < 1024 && !strstr(s, "/../") &&
	       !(n >= 3 && !strcmp(s + n - 3, "/.."));
}

static exai_status add_pin(exai_yaml *y, exai_ynode *n, const char *s, void *arg, exai_error *e)
{
	vf_host_config *c = arg;

	if (!abs_path_ok(s))
		return exai_yaml_error(y, n, e, EXAI_ECONFIG,
				       "pin '%s': an absolute path without '..'", s);
	if (EXAI_GROW(&c->pins, &c->cappins, c->npins, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "pins");
	if (!(c->pins[c->npins] = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	c->npins++;
	return EXAI_OK;
}

static exai_status load_doc(exai_yaml *y, vf_host_config *c, exai_error *e)
{
	static const char *const top[] = {"version", "checks", "routes", "listen", "dns",
					  "ntp",     "egress", "drift",	 NULL};
	static const char *const k_routes[] = {"allow_default", NULL};
	static const char *const k_listen[] = {"allow_loopback", "allow", NULL};
	static const char *const k_allow[] = {"allow", NULL};
	static const char *const k_egress[] = {"pins", NULL};
	static const char *const k_drift[] = {"update_config", NULL};
	exai_ynode *root = exai_yaml_root(y), *m, *chk;
	const char *s = NULL;
	uint64_t v;
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the host config", e)) ||
	    (rc = exai_yaml_check_keys(y, root, top, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "version", true, 1, 1, &v, e)))
		return rc;
	if ((chk = exai_yaml_get(y, root, "checks"))) {
		c->checks = 0;
		if ((rc = each_str(y, root, "checks", add_check, &c->checks, e)))
			return rc;
	}
	if ((rc = section(y, root, "routes", k_routes, &m, e)) ||
	    (m &&
	     (rc = exai_yaml_get_bool(y, m, "allow_default", false, &c->allow_default_route, e))) ||
	    (rc = section(y, root, "listen", k_listen, &m, e)) ||
	    (m && (rc = exai_yaml_get_bool(y, m, "allow_loopback", false, &c->listen_allow_loopback,
					   e))) ||
	    (rc = each_str(y, m, "allow", add_listen, c, e)) ||
	    (rc = section(y, root, "dns", k_allow, &m, e)) ||
	    (rc = each_str(y, m, "allow", add_server, &c->dns, e)) ||
	    (rc = section(y, root, "ntp", k_allow, &m, e)) ||
	    (rc = each_str(y, m, "allow", add_server, &c->ntp, e)) ||
	    (rc = section(y, root, "egress", k_egress, &m, e)) ||
	    (rc = each_str(y, m, "pins", add_pin, c, e)) ||
	    (rc = section(y, root, "drift", k_drift, &m, e)))
		return rc;
	if (m && (rc = exai_yaml_get_str(y, m, "update_config", false, &s, e)))
		return rc;
	if (s) {
		if (!abs_path_ok(s))
			return exai_yaml_error(y, exai_yaml_get(y, m, "update_config"), e,
					       EXAI_ECONFIG,
					       "update_config: an absolute path without '..'");
		if (!(c->update_config = strdup(s)))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		c->update_config_set = true;
	}
	return EXAI_OK;
}

exai_status vf_host_config_load_buf(vf_host_config *c, const char *name, const char *buf,
				    size_t len, exai_error *e)
{
	exai_yaml *y = NULL;
	exai_status rc =
	    len > CONFIG_MAX
		? exai_error_set(e, EXAI_ETOOBIG, "%s: over %u bytes", name, CONFIG_MAX)
		: exai_yaml_load_buf(name, buf, len, EXAI_YAML_STRICT, &y, e);

	if (!rc)
		rc = load_doc(y, c, e);
	exai_yaml_free(y);
	if (rc && rc != EXAI_ENOMEM)
		e->code = rc = EXAI_ECONFIG;
	return rc;
}

exai_status vf_host_config_load(vf_host_config *c, const char *path, exai_error *e)
{
	exai_yaml *y = NULL;
	exai_status rc = exai_yaml_load_file(path, CONFIG_MAX, EXAI_YAML_STRICT, &y, e);

	if (!rc)
		rc = load_doc(y, c, e);
	exai_yaml_free(y);
	if (rc && rc != EXAI_ENOMEM)
		e->code = rc = EXAI_ECONFIG;
	return rc;
}
