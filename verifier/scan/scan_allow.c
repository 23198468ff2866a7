/*
 * scan_allow: the allow file. Site-specific knowledge that makes findings go away, each piece
 * written down with a reason:
 *
 *   version: 1
 *   hosts: [registry.site.example, "*.corp.example"]   # also local
 *   cidrs: [100.64.0.0/10]                             # also local
 *   registries: [harbor.site.example:5000]             # local image registries
 *   suppressions:
 *     - rule: net.url.public        # glob on the rule id (required)
 *       path: "docs/[a-z]*"        # glob on the path (relative to the scan root, or as shown)
 *       evidence: "example"         # substring of the evidence
 *       justification: "docs only"  # required, non-empty
 *       expires: 2027-01-31         # optional; after it the entry suppresses nothing and is
 *                                   # itself a finding (allow.expired)
 *
 * Suppressed findings stay in the report, marked, so an auditor sees them.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "exai/yaml.h"
#include "scan_allow.h"
#include "scan_net.h"

#define ALLOW_MAX_BYTES (4u << 20)
#define ALLOW_MAX	100000

void vf_scan_allow_free(vf_scan_allow *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->s[i].rule);
		free(a->s[i].path);
		free(a->s[i].evidence);
		free(a->s[i].justification);
		free(a->s[i].expires);
	}
	free(a->s);
	free(a->path);
	memset(a, 0, sizeof(*a));
}

static bool valid_date(const char *d)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int m, day;

	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
			return false;
	m = (d[5] - '0') * 10 + (d[6] - '0');
	day = (d[8] - '0') * 10 + (d[9] - '0');
	return m >= 1 && m <= 12 && day >= 1 && day <= mdays[m - 1];
}

static exai_status dup_opt(exai_yaml *y, exai_ynode *m, const char *key, bool required, char **out,
			   exai_error *e)
{
	const char *s = NULL;
	exai_status rc = exai_yaml_get_str(y, m, key, required, &s, e);

	if (rc || !s)
		return rc;
	if (!*s)
		return exai_yaml_error(y, exai_yaml_get(y, m, key), e, EXAI_EFORMAT,
				       "'%s' must not be empty", key);
	if (!(*out = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

static exai_status load_one(vf_scan_allow *a, exai_yaml *y, exai_ynode *m, const char *today,
			    exai_error *e)
{
	static const char *const keys[] = {"rule",	    "path",    "evidence",
					   "justification", "expires", NULL};
	vf_suppression *sp;
	exai_status rc;

	if ((rc = exai_yaml_expect_map(y, m, "a suppression", e)) ||
	    (rc = exai_yaml_check_keys(y, m, keys, e)))
		return rc;
	if (a->n >= ALLOW_MAX)
		return exai_yaml_error(y, m, e, EXAI_ETOOBIG, "more than %d suppressions",
				       ALLOW_MAX);
	if ((rc = EXAI_GROW(&a->s, &a->cap, a->n, 1, ALLOW_MAX, e)))
		return exai_error_prefix(e, "%s:%lu:%lu: suppressions", y->name, exai_yaml_line(m),
					 exai_yaml_col(m));
	sp = &a->s[a->n++];
	memset(sp, 0, sizeof(*sp));
	sp->line = exai_yaml_line(m);
	sp->col = exai_yaml_col(m);
	if ((rc = dup_opt(y, m, "rule", true, &sp->rule, e)) ||
	    (rc = dup_opt(y, m, "path", false, &sp->path, e)) ||
	    (rc = dup_opt(y, m, "evidence", false, &sp->evidence, e)) ||
	    (rc = dup_opt(y, m, "justification", true, &sp->justification, e)) ||
	    (rc = dup_opt(y, m, "expires", false, &sp->expires, e)))
		return rc;
	if (sp->expires && !valid_date(sp->expires))
		return exai_yaml_error(y, exai_yaml_get(y, m, "expires"), e, EXAI_EFORMAT,
				       "expires must be a date YYYY-MM-DD");
	sp->expired = sp->expires && strcmp(sp->expires, today) < 0;
	return EXAI_OK;
}

static exai_status load_list(exai_yaml *y, exai_ynode *root, const char *key, vf_strv *sv,
			     vf_cidrs *cs, exai_error *e)
{
	exai_ynode *seq = NULL;
	exai_status rc = exai_yaml_get_seq(y, root, key, false, &seq, e);

	for (size_t i = 0; !rc && seq && i < exai_yaml_seq_len(seq); i++) {
		exai_ynode *it = exai_yaml_seq_at(y, seq, i);
		const char *s = exai_yaml_scalar(it);
		if (!s || !*s)
			return exai_yaml_error(y, it, e, EXAI_EFORMAT,
					       "'%s' entries must be strings", key);
		if (cs) {
			vf_cidr c;
			if (vf_net_cidr_parse(s, &c))
				return exai_yaml_error(y, it, e, EXAI_EFORMAT, "not a CIDR: '%s'",
						       s);
			rc = vf_cidrs_push(cs, &c, e);
		} else {
			rc = vf_strv_push(sv, s, e);
		}
		if (rc)
			return exai_error_prefix(e, "%s:%lu:%lu: '%s'", y->name, exai_yaml_line(it),
						 exai_yaml_col(it), key);
	}
	return rc;
}

exai_status vf_scan_allow_load(vf_scan_allow *a, const char *path, vf_settings *set,
			       const char *today, exai_error *e)
{
	static const char *const keys[] = {"version",	 "hosts",	 "cidrs",
					   "registries", "suppressions", NULL};
	exai_yaml *y = NULL;
	exai_ynode *root, *seq = NULL;
	uint64_t version;
	exai_status rc;

	memset(a, 0, sizeof(*a));
	if (!(a->path = strdup(path)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = exai_yaml_load_file(path, ALLOW_MAX_BYTES, EXAI_YAML_STRICT, &y, e)))
		return exai_error_prefix(e, "allow file");
	root = exai_yaml_root(y);
	if ((rc = exai_yaml_expect_map(y, root, "the allow file", e)) ||
	    (rc = exai_yaml_check_keys(y, root, keys, e)) ||
	    (rc = exai_yaml_get_u64(y, root, "version", true, 1, 1, &version, e)) ||
	    (rc = load_list(y, root, "hosts", &set->allow_hosts, NULL, e)) ||
	    (rc = load_list(y, root, "cidrs", NULL, &set->local_cidrs, e)) ||
	    (rc = load_list(y, root, "registries", &set->local_registries, NULL, e)) ||
	    (rc = exai_yaml_get_seq(y, root, "suppressions", false, &seq, e)))
		goto out;
	for (size_t i = 0; seq && i < exai_yaml_seq_len(seq) && !rc; i++)
		rc = load_one(a, y, exai_yaml_seq_at(y, seq, i), today, e);
out:
	exai_yaml_free(y);
	return rc;
}

vf_suppression *vf_scan_allow_match(vf_scan_allow *a, const vf_finding *f, const char *rel)
{
	for (size_t i = 0; i < a->n; i++) {
		vf_suppression *sp = &a->s[i];
		if (sp->expired || fnmatch(sp->rule, f->rule_id, 0) != 0)
			continue;
		if (sp->path && !(f->path && fnmatch(sp->path, f->path, 0) == 0) &&
		    !(rel && fnmatch(sp->path, rel, 0) == 0))
			continue;
		if (sp->evidence && !(f->evidence && strstr(f->evidence, sp->evidence)))
			continue;
		__atomic_add_fetch(&sp->used, 1, __ATOMIC_RELAXED);
		return sp;
	}
	return NULL;
}
