/*
 * scan_rules: the rules data file.
 *
 *   version: 1
 *   settings: { local_suffixes: [...], max_file_size: N, ... }
 *   rules:
 *     - id: telemetry.sentry
 *       severity: high
 *       triggers: [sentry.io, sentry_sdk]
 *       ...
 *
 * Files load in order (the shipped default, then --rules files). A later file extends list
 * settings, replaces number settings, adds new rules and overrides the given fields of rules
 * with an id already known (so `{id: x, enabled: false}` turns a rule off). Loading is strict:
 * unknown keys, wrong types and bad values are errors at "file:line:col". After the last load
 * vf_rules_finish() validates the merged set, compiles regexes and builds the prefilter.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/yaml.h"
#include "scan_allow.h"
#include "scan_net.h"
#include "scan_rules.h"
#include "scan_lit.h"

#define RULES_MAX_BYTES (4u << 20)
#define RULES_MAX	4096

static const char *const check_names[VF_CHK__COUNT] = {
    [VF_CHK_PATTERN] = "pattern",
    [VF_CHK_FILENAME] = "filename",
    [VF_CHK_NET_URL] = "net.url",
    [VF_CHK_NET_HOST] = "net.host",
    [VF_CHK_NET_IP] = "net.ip",
    [VF_CHK_ELF_IMPORTS] = "elf.imports",
    [VF_CHK_K8S_IMAGE_REGISTRY] = "k8s.image.registry",
    [VF_CHK_K8S_IMAGE_DIGEST] = "k8s.image.digest",
    [VF_CHK_K8S_IMAGE_TAG] = "k8s.image.tag",
    [VF_CHK_K8S_IMAGE_NO_REGISTRY] = "k8s.image.no_registry",
    [VF_CHK_K8S_PULL_ALWAYS] = "k8s.pull_policy",
    [VF_CHK_K8S_HOST_NETWORK] = "k8s.host_network",
    [VF_CHK_K8S_SVC_LOADBALANCER] = "k8s.service.loadbalancer",
    [VF_CHK_K8S_SVC_EXTERNALNAME] = "k8s.service.externalname",
    [VF_CHK_K8S_NETPOL_DEFAULT_DENY] = "k8s.netpol.default_deny",
    [VF_CHK_K8S_NETPOL_EGRESS_PUBLIC] = "k8s.netpol.egress_public",
    [VF_CHK_K8S_COREDNS_FORWARD] = "k8s.coredns.forward",
    [VF_CHK_K8S_SERVICE_ENTRY] = "k8s.istio.service_entry",
    [VF_CHK_VALUES_TELEMETRY] = "helm.values.telemetry",
    [VF_CHK_ALLOW_EXPIRED] = "allow.expired",
    [VF_CHK_INCOMPLETE] = "scan.incomplete",
};

const char *vf_check_name(vf_check c)
{
	return (unsigned)c < VF_CHK__COUNT ? check_names[c] : NULL;
}

/* Frees @r's compiled regex, if any. */
static void re_drop(vf_rule *r)
{
	if (r->re) {
		regfree(r->re);
		free(r->re);
	}
	r->re = NULL;
	r->has_re = false;
}

/* Compiles @src with @flags into @r (replacing what it had). False when it does not
 * compile or there is no memory (@r then has no regex). */
static bool re_set(vf_rule *r, const char *src, int flags)
{
	regex_t *re = malloc(sizeof(*re));

	re_drop(r);
	if (!re || regcomp(re, src, flags) != 0) {
		free(re);
		return false;
	}
	r->re = re;
	r->re_flags = flags;
	return true;
}

static void rule_free(vf_rule *r)
{
	free(r->id);
	free(r->description);
	free(r->message);
	free(r->hint);
	free(r->regex_src);
	free(r->where);
	re_drop(r);
	vf_strv_free(&r->triggers);
	vf_strv_free(&r->hosts);
	vf_strv_free(&r->packages);
	vf_strv_free(&r->files);
	vf_strv_free(&r->except);
	vf_strv_free(&r->unless);
}

void vf_rules_free(vf_rules *rs)
{
	vf_settings *st = &rs->set;

	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->r[i]);
	free(rs->r);
	vf_strv_free(&st->local_suffixes);
	vf_strv_free(&st->ignore_hosts);
	vf_strv_free(&st->allow_hosts);
	vf_strv_free(&st->ignore_url_prefixes);
	vf_strv_free(&st->public_tlds);
	vf_strv_free(&st->url_schemes);
	vf_strv_free(&st->local_registries);
	vf_strv_free(&st->network_symbols);
	vf_strv_free(&st->skip_dirs);
	free(st->local_cidrs.v);
	vf_lits_free(rs->lits);
	vf_lits_free(rs->lits_plain);
	memset(rs, 0, sizeof(*rs));
}

/* Appends every scalar of the sequence @seq to @sv; @what names it in errors. */
static exai_status load_strv(exai_yaml *y, exai_ynode *seq, const char *what, vf_strv *sv,
			     exai_error *e)
{
	if (!exai_yaml_is_seq(seq))
		return exai_yaml_error(y, seq, e, EXAI_EFORMAT, "'%s' must be a list of strings",
				       what);
	for (size_t i = 0; i < exai_yaml_seq_len(seq); i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(it);
		if (!s || !*s)
			return exai_yaml_error(y, it, e, EXAI_EFORMAT,
					       "'%s' entries must be non-empty strings", what);
		if (strlen(s) > 1024)
			return exai_yaml_error(y, it, e, EXAI_EFORMAT,
					       "'%s' entry longer than 1024 bytes", what);
		if (vf_strv_push(sv, s, e))
			return exai_error_prefix(e, "%s:%lu:%lu: '%s'", y->name, exai_yaml_line(it),
						 exai_yaml_col(it), what);
	}
	return EXAI_OK;
}

exai_status vf_cidrs_push(vf_cidrs *cs, const vf_cidr *c, exai_error *e)
{
	exai_status rc;

	if ((rc = EXAI_GROW(&cs->v, &cs->cap, cs->n, 1, VF_CIDRS_MAX, e)))
		return rc;
	cs->v[cs->n++] = *c;
	return EXAI_OK;
}

static exai_status load_cidrs(exai_yaml *y, exai_ynode *seq, vf_cidrs *cs, exai_error *e)
{
	if (!exai_yaml_is_seq(seq))
		return exai_yaml_error(y, seq, e, EXAI_EFORMAT, "'local_cidrs' must be a list");
	for (size_t i = 0; i < exai_yaml_seq_len(seq); i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		vf_cidr c;
		if (!exai_yaml_scalar(it) || vf_net_cidr_parse(exai_yaml_scalar(it), &c))
			return exai_yaml_error(y, it, e, EXAI_EFORMAT,
					       "not a CIDR (want 10.0.0.0/8 or fd00::/8)");
		if (vf_cidrs_push(cs, &c, e))
			return exai_error_prefix(e, "%s:%lu:%lu: 'local_cidrs'", y->name,
						 exai_yaml_line(it), exai_yaml_col(it));
	}
	return EXAI_OK;
}

static exai_status load_settings(vf_rules *rs, exai_yaml *y, exai_ynode *m, exai_error *e)
{
	static const char *const keys[] = {"local_suffixes",	    "ignore_hosts",
					   "ignore_url_prefixes",   "public_tlds",
					   "url_schemes",	    "local_registries",
					   "network_symbols",	    "skip_dirs",
					   "local_cidrs",	    "max_file_size",
					   "max_entry_size",	    "max_archive_bytes",
					   "max_archive_entries",   "max_archive_depth",
					   "max_findings_per_file", NULL};
	struct {
		const char *key;
		vf_strv *sv;
	} lists[] = {{"local_suffixes", &rs->set.local_suffixes},
		     {"ignore_hosts", &rs->set.ignore_hosts},
		     {"ignore_url_prefixes", &rs->set.ignore_url_prefixes},
		     {"public_tlds", &rs->set.public_tlds},
		     {"url_schemes", &rs->set.url_schemes},
		     {"local_registries", &rs->set.local_registries},
		     {"network_symbols", &rs->set.network_symbols},
		     {"skip_dirs", &rs->set.skip_dirs}};
	struct {
		const char *key;
		uint64_t *v, min, max;
	} nums[] = {{"max_file_size", &rs->set.max_file_size, 1, UINT64_MAX},
		    {"max_entry_size", &rs->set.max_entry_size, 1, (uint64_t)1 << 34},
		    {"max_archive_bytes", &rs->set.max_archive_bytes, 1, UINT64_MAX},
		    {"max_archive_entries", &rs->set.max_archive_entries, 1, UINT64_MAX},
		    {"max_archive_depth", &rs->set.max_archive_depth, 0, 16},
		    {"max_findings_per_file", &rs->set.max_findings_per_file, 1, 1000000}};
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, m, "settings", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)))
		return rc;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		exai_ynode *n = exai_yaml_get(y, m, lists[i].key);
		if (n && (rc = load_strv(y, n, lists[i].key, lists[i].sv, e)))
			return rc;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if ((rc = exai_yaml_get_u64(y, m, nums[i].key, false, nums[i].min, nums[i].max,
					    nums[i].v, e)))
			return rc;
	if (exai_yaml_get(y, m, "local_cidrs"))
		return load_cidrs(y, exai_yaml_get(y, m, "local_cidrs"), &rs->set.local_cidrs, e);
	return EXAI_OK;
}

static exai_status set_str(char **dst, const char *s, exai_error *e)
{
	char *c = strdup(s);

	if (!c)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	return EXAI_OK;
}

static exai_status get_str_field(exai_yaml *y, exai_ynode *m, const char *key, char **dst,
				 exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, m, key, false, &s, e);

	if (rc || !s)
		return rc;
	if (strlen(s) > 4096)
		return exai_yaml_error(y, exai_yaml_get(y, m, key), e, EXAI_EFORMAT,
				       "'%s' longer than 4096 bytes", key);
	return set_str(dst, s, e);
}

/* A list field given in an override replaces the earlier list. */
static exai_status get_list_field(exai_yaml *y, exai_ynode *m, const char *key, vf_strv *sv,
				  exai_error *e)
{
	exai_ynode *n = exai_yaml_get(y, m, key);

	if (!n)
		return EXAI_OK;
	vf_strv_free(sv);
	return load_strv(y, n, key, sv, e);
}

static exai_status get_check(exai_yaml *y, exai_ynode *m, vf_rule *r, exai_error *e)
{
	exai_ynode *n = exai_yaml_get(y, m, "check");
	const char *s = exai_yaml_scalar(n);

	if (!n)
		return EXAI_OK;
	for (unsigned c = 0; s && c < VF_CHK__COUNT; c++)
		if (strcmp(s, check_names[c]) == 0) {
			r->check = (vf_check)c;
			return EXAI_OK;
		}
	return exai_yaml_error(y, n, e, EXAI_EFORMAT, "unknown check '%s'", s ? s : "?");
}

static exai_status get_severity(exai_yaml *y, exai_ynode *m, vf_rule *r, exai_error *e)
{
	exai_ynode *n = exai_yaml_get(y, m, "severity");

	if (!n)
		return EXAI_OK;
	if (!vf_severity_parse(exai_yaml_scalar(n), &r->sev))
		return exai_yaml_error(y, n, e, EXAI_EFORMAT,
				       "severity must be info, low, medium, high or critical");
	return EXAI_OK;
}

static exai_status get_scope(exai_yaml *y, exai_ynode *m, vf_rule *r, exai_error *e)
{
	exai_ynode *n = exai_yaml_get(y, m, "unless_scope");
	const char *s = exai_yaml_scalar(n);

	if (!n)
		return EXAI_OK;
	if (s && strcmp(s, "file") == 0)
		r->unless_scope = VF_SCOPE_FILE;
	else if (s && strcmp(s, "scan") == 0)
		r->unless_scope = VF_SCOPE_SCAN;
	else
		return exai_yaml_error(y, n, e, EXAI_EFORMAT, "unless_scope must be file or scan");
	return EXAI_OK;
}

/* ---- vendor rules: hosts and packages ---- */

static bool host_entry_ok(const char *h)
{
	size_t n = strlen(h);

	return n >= 4 && n <= 253 && strchr(h, '.') && h[0] != '.' && h[n - 1] != '.' &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

static bool package_entry_ok(const char *p)
{
	size_t n = strlen(p), star = strcspn(p, "*");

	return n >= 2 && n <= 200 && star >= 2 && (star == n || star == n - 1) &&
	       strspn(
		   p,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@/._:='\" *-") ==
		   n;
}

/* Appends @s to @b (of capacity @cap) with the ERE specials among our characters escaped;
 * a trailing '*' becomes "one or more name characters". False when it does not fit. */
static bool re_put(char *b, size_t cap, size_t *len, const char *s, bool glob)
{
	for (; *s; s++) {
		const char *piece;
		char one[3] = {0};
		if (glob && *s == '*')
			piece = "[A-Za-z0-9._-]+";
		else if (*s == '.')
			piece = "\\.";
		else
			piece = (one[0] = *s, one);
		if (*len + strlen(piece) >= cap)
			return false;
		memcpy(b + *len, piece, strlen(piece));
		*len += strlen(piece);
	}
	b[*len] = '\0';
	return true;
}

/* Appends regex syntax @s as it is. */
static bool re_raw(char *b, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= cap)
		return false;
	memcpy(b + *len, s, n + 1);
	*len += n;
	return true;
}

/* hosts: the name or any name under it, not inside a longer name ("mysentry.io" is not
 * "sentry.io"; "sentry.io.evil.zz" is not either). packages: not inside a longer package
 * name or path ("not-sentry-sdk-helper", "@acme/sentry-sdk" are not "sentry-sdk"). */
static exai_status vendor_regex(vf_rule *r, exai_error *e)
{
	size_t cap = 64, len = 0;
	char *b;

	for (size_t i = 0; i < r->hosts.n; i++)
		cap += 2 * strlen(r->hosts.v[i]) + 2;
	for (size_t i = 0; i < r->packages.n; i++)
		cap += 2 * strlen(r->packages.v[i]) + 20;
	cap += 200;
	if (!(b = malloc(cap)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	b[0] = '\0';
	if (r->hosts.n) {
		len = (size_t)snprintf(b, cap, "(^|[^A-Za-z0-9.-])(([A-Za-z0-9-]+\\.)*(");
		for (size_t i = 0; i < r->hosts.n; i++)
			if ((i && !re_raw(b, cap, &len, "|")) ||
			    !re_put(b, cap, &len, r->hosts.v[i], false))
				goto small;
		if (!re_raw(b, cap, &len, "))(\\.?([^A-Za-z0-9.-]|$))"))
			goto small;
		r->span_group[0] = 2; /* the host with its subdomain labels */
	}
	if (r->packages.n) {
		if ((len && !re_raw(b, cap, &len, "|")) ||
		    !re_raw(b, cap, &len, "(^|[^A-Za-z0-9_.@/-])("))
			goto small;
		for (size_t i = 0; i < r->packages.n; i++)
			if ((i && !re_raw(b, cap, &len, "|")) ||
			    !re_put(b, cap, &len, r->packages.v[i], true))
				goto small;
		if (!re_raw(b, cap, &len, ")([^A-Za-z0-9_-]|$)"))
			goto small;
		/* after the host part's 6 groups: boundary, package, boundary */
		r->span_group[r->hosts.n ? 1 : 0] = r->hosts.n ? 8 : 2;
	}
	free(r->regex_src);
	r->regex_src = b;
	return EXAI_OK;
small:
	free(b);
	return exai_error_set(e, EXAI_EINTERNAL, "rule '%s': vendor regex does not fit", r->id);
}

/* Each host and each package's literal part (before a '*') becomes a trigger. */
static exai_status vendor_triggers(vf_rule *r, exai_error *e)
{
	exai_status rc;

	for (size_t i = 0; i < r->hosts.n; i++)
		if (vf_strv_push(&r->triggers, r->hosts.v[i], e))
			return exai_error_prefix(e, "rule '%s': triggers", r->id);
	for (size_t i = 0; i < r->packages.n; i++) {
		char *lit = strndup(r->packages.v[i], strcspn(r->packages.v[i], "*"));
		if (!lit)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		rc = vf_strv_push(&r->triggers, lit, e);
		free(lit);
		if (rc)
			return exai_error_prefix(e, "rule '%s': triggers", r->id);
	}
	return EXAI_OK;
}

/* Fills (or overrides) @r from the mapping @m. */
static exai_status load_rule_fields(exai_yaml *y, exai_ynode *m, vf_rule *r, exai_error *e)
{
	exai_status rc;
	const char *re = NULL;

	if ((rc = get_check(y, m, r, e)) || (rc = get_severity(y, m, r, e)) ||
	    (rc = get_scope(y, m, r, e)) ||
	    (rc = get_str_field(y, m, "description", &r->description, e)) ||
	    (rc = get_str_field(y, m, "message", &r->message, e)) ||
	    (rc = get_str_field(y, m, "hint", &r->hint, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "enabled", false, &r->enabled, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "ignore_case", false, &r->icase, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "word", false, &r->word, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "redact", false, &r->redact, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "binary", false, &r->binary, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "key_body", false, &r->key_body, e)) ||
	    (rc = exai_yaml_get_bool(y, m, "commands", false, &r->commands, e)) ||
	    (rc = get_list_field(y, m, "triggers", &r->triggers, e)) ||
	    (rc = get_list_field(y, m, "hosts", &r->hosts, e)) ||
	    (rc = get_list_field(y, m, "packages", &r->packages, e)) ||
	    (rc = get_list_field(y, m, "files", &r->files, e)) ||
	    (rc = get_list_field(y, m, "except", &r->except, e)) ||
	    (rc = get_list_field(y, m, "unless", &r->unless, e)) ||
	    (rc = exai_yaml_get_str(y, m, "regex", false, &re, e)))
		return rc;
	if (re) {
		/* Compiled now to report a bad regex at its own line:col, and kept:
		 * vf_rules_finish() compiles it again only if the case flag changed since. */
		if (!re_set(r, re, REG_EXTENDED | (r->icase ? REG_ICASE : 0)))
			return exai_yaml_error(y, exai_yaml_get(y, m, "regex"), e, EXAI_EFORMAT,
					       "invalid regular expression");
		if ((rc = set_str(&r->regex_src, re, e)))
			return rc;
	}
	for (size_t i = 0; i < r->triggers.n; i++)
		if (strlen(r->triggers.v[i]) < 2)
			return exai_yaml_error(y, exai_yaml_get(y, m, "triggers"), e, EXAI_EFORMAT,
					       "triggers must be at least 2 bytes long");
	for (size_t i = 0; i < r->hosts.n; i++)
		if (!host_entry_ok(r->hosts.v[i]))
			return exai_yaml_error(y, exai_yaml_get(y, m, "hosts"), e, EXAI_EFORMAT,
					       "host '%s': want a DNS name (a-z, 0-9, '-', '.')",
					       r->hosts.v[i]);
	for (size_t i = 0; i < r->packages.n; i++)
		if (!package_entry_ok(r->packages.v[i]))
			return exai_yaml_error(
			    y, exai_yaml_get(y, m, "packages"), e, EXAI_EFORMAT,
			    "package '%s': want [A-Za-z0-9@/._:='\" -], a '*' only at the end, and "
			    "2 bytes before it",
			    r->packages.v[i]);
	return EXAI_OK;
}

static exai_status load_rule(vf_rules *rs, exai_yaml *y, exai_ynode *m, exai_error *e)
{
	static const char *const keys[] = {
	    "id",	"check",       "severity", "description", "message",	  "hint",
	    "enabled",	"ignore_case", "word",	   "redact",	  "binary",	  "triggers",
	    "regex",	"files",       "except",   "unless",	  "unless_scope", "hosts",
	    "packages", "key_body",    "commands", NULL};
	const char *id = NULL;
	vf_rule *r = NULL, fresh = {0};
	char where[512];
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, m, "a rule", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)) ||
	    (rc = exai_yaml_get_str(y, m, "id", true, &id, e)))
		return rc;
	if (!*id || strlen(id) > 128 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(id))
		return exai_yaml_error(y, exai_yaml_get(y, m, "id"), e, EXAI_EFORMAT,
				       "rule id must be 1-128 of [a-z0-9._-]");
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].id, id) == 0)
			r = &rs->r[i];
	snprintf(where, sizeof(where), "%s:%lu:%lu", y->name, exai_yaml_line(m), exai_yaml_col(m));
	if (!r) {
		if (rs->n >= RULES_MAX)
			return exai_yaml_error(y, m, e, EXAI_ETOOBIG, "more than %d rules",
					       RULES_MAX);
		if (!exai_yaml_get(y, m, "severity"))
			return exai_yaml_error(y, m, e, EXAI_EFORMAT,
					       "new rule '%s' needs a severity", id);
		if ((rc = EXAI_GROW(&rs->r, &rs->cap, rs->n, 1, RULES_MAX, e)))
			return exai_error_prefix(e, "%s: rule '%s'", where, id);
		fresh.enabled = true;
		fresh.binary = false;
		fresh.unless_scope = VF_SCOPE_FILE;
		if (!(fresh.id = strdup(id)))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		rs->r[rs->n++] = fresh;
		r = &rs->r[rs->n - 1];
	}
	if ((rc = set_str(&r->where, where, e)))
		return rc;
	return load_rule_fields(y, m, r, e);
}

static exai_status load_doc(vf_rules *rs, exai_yaml *y, exai_error *e)
{
	static const char *const keys[] = {"version", "settings", "rules", NULL};
	exai_ynode *root = exai_yaml_root(y), *seq = NULL;
	uint64_t version = 0;
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, root, "the rules file", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "version", true, 1, 1, &version, e)))
		return rc;
	if (exai_yaml_get(y, root, "settings") &&
	    (rc = load_settings(rs, y, exai_yaml_get(y, root, "settings"), e)))
		return rc;
	if ((rc = exai_yaml_get_seq(y, root, "rules", false, &seq, e)))
		return rc;
	for (size_t i = 0; seq && i < exai_yaml_seq_len(seq); i++)
		if ((rc = load_rule(rs, y, exai_yaml_seq_at(y, seq, i), e)))
			return rc;
	return EXAI_OK;
}

exai_status vf_rules_load_buf(vf_rules *rs, const char *name, const void *buf, size_t len,
			      exai_error *e)
{
	exai_yaml *y = NULL;
	exai_status rc = exai_yaml_load_buf(name, buf, len, EXAI_YAML_STRICT, &y, e);

	if (rc)
		return rc;
	rc = load_doc(rs, y, e);
	exai_yaml_free(y);
	return rc;
}

exai_status vf_rules_load(vf_rules *rs, const char *path, exai_error *e)
{
	exai_yaml *y = NULL;
	exai_status rc = exai_yaml_load_file(path, RULES_MAX_BYTES, EXAI_YAML_STRICT, &y, e);

	if (rc)
		return exai_error_prefix(e, "rules");
	rc = load_doc(rs, y, e);
	exai_yaml_free(y);
	return rc;
}

static void default_settings(vf_settings *st)
{
	if (!st->max_file_size)
		st->max_file_size = (uint64_t)1 << 30;
	if (!st->max_entry_size)
		st->max_entry_size = (uint64_t)256 << 20;
	if (!st->max_archive_bytes)
		st->max_archive_bytes = (uint64_t)64 << 30;
	if (!st->max_archive_entries)
		st->max_archive_entries = 1000000;
	if (!st->max_findings_per_file)
		st->max_findings_per_file = 200;
}

static exai_status finish_rule(vf_rules *rs, size_t i, exai_error *e)
{
	vf_rule *r = &rs->r[i];

	if (!r->message && !(r->message = strdup(r->description ? r->description : r->id)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (!r->enabled)
		return EXAI_OK;
	if (r->hosts.n || r->packages.n) {
		exai_status rc;
		if (r->check != VF_CHK_PATTERN || r->regex_src)
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s: rule '%s': hosts/packages make a pattern rule's "
					      "regex; they cannot go with check or regex",
					      r->where, r->id);
		if ((rc = vendor_triggers(r, e)) || (rc = vendor_regex(r, e)))
			return rc;
	}
	if (r->check == VF_CHK_PATTERN && r->triggers.n == 0)
		return exai_error_set(e, EXAI_EFORMAT, "%s: rule '%s' has no triggers", r->where,
				      r->id);
	if (r->check == VF_CHK_FILENAME && r->files.n == 0)
		return exai_error_set(e, EXAI_EFORMAT, "%s: filename rule '%s' has no files",
				      r->where, r->id);
	if (r->check > VF_CHK_FILENAME) {
		if (rs->by_check[r->check] >= 0)
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s: rule '%s': check '%s' is already rule '%s'",
					      r->where, r->id, check_names[r->check],
					      rs->r[rs->by_check[r->check]].id);
		rs->by_check[r->check] = (int)i;
	}
	if (r->regex_src) {
		int flags = REG_EXTENDED | (r->icase ? REG_ICASE : 0);
		if ((!r->re || r->re_flags != flags) && !re_set(r, r->regex_src, flags))
			return exai_error_set(e, EXAI_EFORMAT, "%s: rule '%s': invalid regex",
					      r->where, r->id);
		r->has_re = true;
	}
	return EXAI_OK;
}

/* Content that was not scanned completely is always a finding: the scan.incomplete check can
 * be given another id, severity or message, never turned off (a suppression in the allow
 * file, with its justification, is the way to accept one). Without any rule for it (rules
 * files with --no-default-rules), the built-in one is added. */
static exai_status ensure_incomplete_rule(vf_rules *rs, exai_error *e)
{
	static const char builtin[] =
	    "version: 1\n"
	    "rules:\n"
	    "  - id: scan.incomplete\n"
	    "    check: scan.incomplete\n"
	    "    severity: high\n"
	    "    description: content that could not be scanned completely\n"
	    "    message: not scanned completely\n"
	    "    hint: raise the limit in the rules settings, or unpack/repair the content and "
	    "scan again\n";
	bool found = false;

	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].check != VF_CHK_INCOMPLETE)
			continue;
		if (!rs->r[i].enabled)
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s: rule '%s': the scan.incomplete check cannot be "
					      "disabled (content not scanned must be a finding; "
					      "suppress a reviewed one in the allow file)",
					      rs->r[i].where ? rs->r[i].where : "rules",
					      rs->r[i].id);
		found = true;
	}
	if (found)
		return EXAI_OK;
	return vf_rules_load_buf(rs, "built-in scan.incomplete rule", builtin, sizeof(builtin) - 1,
				 e);
}

exai_status vf_rules_finish(vf_rules *rs, exai_error *e)
{
	exai_status rc;

	for (unsigned c = 0; c < VF_CHK__COUNT; c++)
		rs->by_check[c] = -1;
	if ((rc = ensure_incomplete_rule(rs, e)))
		return rc;
	default_settings(&rs->set);
	for (size_t i = 0; i < rs->n; i++)
		if ((rc = finish_rule(rs, i, e)))
			return rc;
	if ((rc = vf_lits_build(rs, true, &rs->lits, e)))
		return rc;
	return vf_lits_build(rs, false, &rs->lits_plain, e);
}

const vf_rule *vf_rules_for(const vf_rules *rs, vf_check c)
{
	if ((unsigned)c >= VF_CHK__COUNT || c <= VF_CHK_FILENAME || rs->by_check[c] < 0)
		return NULL;
	return &rs->r[rs->by_check[c]];
}

exai_status vf_rules_declare(const vf_rules *rs, vf_report *r, exai_error *e)
{
	exai_status rc;

	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].enabled &&
		    (rc = vf_report_rule(
			 r, rs->r[i].id, rs->r[i].sev,
			 rs->r[i].description ? rs->r[i].description : rs->r[i].message, e)))
			return rc;
	return EXAI_OK;
}

/* The shipped rules: next to the binary in a build tree, or under share/ when installed. */
static exai_status default_rules_path(char **out, exai_error *e)
{
	static const char *const rel[] = {"rules/default.yaml",
					  "../share/exai/airgap-verifier/default.yaml"};
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return exai_error_sys(e, EXAI_ECONFIG, "/proc/self/exe");
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char *p = exai_path_join(exe, rel[i]);
		if (p && access(p, R_OK) == 0) {
			*out = p;
			return EXAI_OK;
		}
		free(p);
	}
	return exai_error_set(e, EXAI_ECONFIG,
			      "default rules not found in %s/rules/ or "
			      "%s/../share/exai/airgap-verifier/ (use --rules FILE)",
			      exe, exe);
}

exai_status vf_rules_load_all(vf_rules *rs, bool no_default, const char *const *files, size_t n,
			      const char *allow_path, vf_scan_allow *allow, time_t now,
			      exai_error *e)
{
	char *def = NULL, today[16];
	struct tm tm;
	exai_status rc = EXAI_OK;

	if (!no_default) {
		if ((rc = default_rules_path(&def, e)))
			return rc;
		rc = vf_rules_load(rs, def, e);
		free(def);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = vf_rules_load(rs, files[i], e);
	if (!rc && allow_path) {
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		rc = vf_scan_allow_load(allow, allow_path, &rs->set, today, e);
	}
	if (!rc)
		rc = vf_rules_finish(rs, e);
	return rc;
}
