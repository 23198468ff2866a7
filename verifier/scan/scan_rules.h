/*
 * scan_rules: the rules data file of the scan engine (YAML): the built-in checks, the rules
 * and the settings (caps, local names and networks), merged default + user.
 *
 * A finding's rule comes from the rules file: code implements "checks", the data file names
 * each check's rule id, severity, message and hint, and may disable it.
 */
#ifndef VF_SCAN_RULES_H
#define VF_SCAN_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "exai/error.h"
#include "report.h"
#include "scan_strv.h"

/* The built-in checks (anything that is not a plain pattern rule). */
typedef enum vf_check {
	VF_CHK_PATTERN = 0, /* triggers + optional regex, from the data file */
	VF_CHK_FILENAME,    /* the file name matches `files` globs */
	VF_CHK_NET_URL,
	VF_CHK_NET_HOST,
	VF_CHK_NET_IP,
	VF_CHK_ELF_IMPORTS,
	VF_CHK_K8S_IMAGE_REGISTRY,
	VF_CHK_K8S_IMAGE_DIGEST,
	VF_CHK_K8S_IMAGE_TAG,
	VF_CHK_K8S_IMAGE_NO_REGISTRY,
	VF_CHK_K8S_PULL_ALWAYS,
	VF_CHK_K8S_HOST_NETWORK,
	VF_CHK_K8S_SVC_LOADBALANCER,
	VF_CHK_K8S_SVC_EXTERNALNAME,
	VF_CHK_K8S_NETPOL_DEFAULT_DENY,
	VF_CHK_K8S_NETPOL_EGRESS_PUBLIC,
	VF_CHK_K8S_COREDNS_FORWARD,
	VF_CHK_K8S_SERVICE_ENTRY,
	VF_CHK_VALUES_TELEMETRY, /* a Helm value turning usage reporting / telemetry on */
	VF_CHK_ALLOW_EXPIRED,
	VF_CHK_INCOMPLETE,
	VF_CHK__COUNT
} vf_check;

/* Name used in the rules file's `check:` key; NULL past the end. */
const char *vf_check_name(vf_check c);

enum { VF_SCOPE_FILE = 0, VF_SCOPE_SCAN = 1 };

typedef struct vf_rule {
	char *id;
	vf_check check;
	vf_severity sev;
	char *description, *message, *hint;
	bool enabled;
	/* pattern rules */
	vf_strv triggers; /* literals; one must occur for the rule to be looked at */
	bool icase;	  /* triggers (and regex) ignore case */
	bool word;	  /* the match must not be inside a longer word/number */
	bool redact;	  /* evidence is redacted (secrets) */
	bool binary;	  /* also applies to strings inside binary files */
	bool key_body;	  /* the match must be followed by a PEM key body (vf_pem_has_body) */
	bool commands;	  /* triggers are shell commands: in a program (Python, JS ...) only a
			   * line that hands a command to a process counts */
	char *regex_src;
	/* regex_src compiled with re_flags: by the load that set it, again by vf_rules_finish()
	 * when the case flag changed since (or for a vendor rule's regex); has_re once finished
	 * (enabled rules only) */
	regex_t *re;
	int re_flags;
	bool has_re;
	/* vendor rules: endpoint hosts (the host or any name under it) and package identities
	 * ("@sentry/" + "*", "sentry-sdk", "import posthog"), each matched with boundaries so that
	 * no other name contains it; vf_rules_finish() makes them triggers and a regex. */
	vf_strv hosts, packages;
	/* When nonzero, the finding's span is the first of these regex groups that matched
	 * (not the whole match, which includes the boundary characters). */
	unsigned char span_group[2];
	vf_strv files;	  /* basename globs the rule applies to ("#!" = has a shebang) */
	vf_strv except;	  /* no finding when the matched line contains one of these */
	vf_strv unless;	  /* no finding when one of these is set (in the file / the package) */
	int unless_scope; /* VF_SCOPE_FILE or VF_SCOPE_SCAN (the package root, see vf_buf) */
	char *where;	  /* "file:line:col" of the rule's definition, for messages */
} vf_rule;

typedef struct vf_cidr {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	unsigned bits;	  /* prefix length over the 128-bit form */
} vf_cidr;

/* CIDRs of one list (local_cidrs over the rules files and the allow file). */
#define VF_CIDRS_MAX 65536

typedef struct vf_cidrs {
	vf_cidr *v;
	size_t n, cap;
} vf_cidrs;

typedef struct vf_settings {
	vf_strv local_suffixes;	     /* host == s or ends with "." s */
	vf_strv ignore_hosts;	     /* same matching: documentation names etc. */
	vf_strv allow_hosts;	     /* from the allow file */
	vf_strv ignore_url_prefixes; /* identifiers, not fetches (license/namespace URLs) */
	vf_strv public_tlds;	     /* bare host names are looked for with these TLDs */
	vf_strv url_schemes;
	vf_strv local_registries;
	vf_strv network_symbols;
	vf_strv skip_dirs;
	vf_cidrs local_cidrs;
	uint64_t max_file_size;
	uint64_t max_entry_size;
	uint64_t max_archive_bytes;
	uint64_t max_archive_entries;
	uint64_t max_archive_depth;
	uint64_t max_findings_per_file;
} vf_settings;

struct vf_lits;

typedef struct vf_rules {
	vf_rule *r;
	size_t n, cap;
	vf_settings set;
	int by_check[VF_CHK__COUNT]; /* index of the enabled rule for a built-in check, or -1 */
	struct vf_lits *lits;	     /* prefilter over every rule, built by vf_rules_finish() */
	struct vf_lits *lits_plain;  /* the same without rules limited by `files:` */
} vf_rules;

exai_status vf_rules_load(vf_rules *rs, const char *path, exai_error *e) EXAI_WUR;
exai_status vf_rules_load_buf(vf_rules *rs, const char *name, const void *buf, size_t len,
			      exai_error *e) EXAI_WUR;
/* Validates, compiles regexes, builds the prefilter. Call once after the last load. */
exai_status vf_rules_finish(vf_rules *rs, exai_error *e) EXAI_WUR;
struct vf_scan_allow;
/* What every mode that scans does: the shipped rules (next to the binary in a build tree,
 * under share/ when installed) unless @no_default, then each of @files, then the allow file
 * (its expiries judged against @now), then vf_rules_finish(). */
exai_status vf_rules_load_all(vf_rules *rs, bool no_default, const char *const *files, size_t n,
			      const char *allow_path, struct vf_scan_allow *allow, time_t now,
			      exai_error *e) EXAI_WUR;
void vf_rules_free(vf_rules *rs);
/* Appends @c to @cs. @cs unchanged on failure: EXAI_ETOOBIG when it holds VF_CIDRS_MAX
 * already, EXAI_ENOMEM; @e says which (callers add where). */
exai_status vf_cidrs_push(vf_cidrs *cs, const vf_cidr *c, exai_error *e) EXAI_WUR;
/* The enabled rule behind a built-in check, or NULL. */
const vf_rule *vf_rules_for(const vf_rules *rs, vf_check c);
/* Declares every enabled rule in the report. */
exai_status vf_rules_declare(const vf_rules *rs, vf_report *r, exai_error *e) EXAI_WUR;

#endif
