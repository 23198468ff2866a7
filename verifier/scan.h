/*
 * scan: the static mode of airgap-verifier. Shared types of its modules:
 *
 *   scan_rules.c   the rules data file (YAML): settings and rules, merged default + user
 *   scan_allow.c   the allow file: extra local hosts/CIDRs/registries, suppressions, expiry
 *   scan_lit.c     the multi-literal prefilter every text byte goes through once
 *   scan_net.c     URL / hostname / IP literal parsing and the "is it local" test
 *   scan_text.c    one buffer (a file or an archive entry): prefilter hits -> rule checks
 *   scan_elf.c     bounded ELF parser: imported network functions
 *   scan_k8s.c     Kubernetes (and values.yaml / compose) YAML checks
 *   scan_walk.c    paths, trees, the worker pool, dispatch by content type
 *   scan_archive.c tar / OCI / docker-save / zip / 7z archives: entries held and scanned
 *   scan_walker.c  the nested-archive walker (shared with bundle mode)
 *   scan_helm.c    Helm charts: `helm template` when available
 *   scan_group.c   package roots and duplicate files, for the report's grouping
 *   scan_baseline.c inline suppression comments and the baseline file
 *   scan_cmd.c     the command line front end
 *
 * A finding's rule comes from the rules file: code implements "checks", the data file names
 * each check's rule id, severity, message and hint, and may disable it.
 */
#ifndef VF_SCAN_H
#define VF_SCAN_H

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "exai/error.h"
#include "report.h"

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

typedef struct vf_strv {
	char **v;
	size_t n;
} vf_strv;

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
	regex_t re;
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

typedef struct vf_cidrs {
	vf_cidr *v;
	size_t n;
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
	size_t n;
	vf_settings set;
	int by_check[VF_CHK__COUNT]; /* index of the enabled rule for a built-in check, or -1 */
	struct vf_lits *lits;	     /* prefilter over every rule, built by vf_rules_finish() */
	struct vf_lits *lits_plain;  /* the same without rules limited by `files:` */
} vf_rules;

/* scan_rules.c */
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
/* The enabled rule behind a built-in check, or NULL. */
const vf_rule *vf_rules_for(const vf_rules *rs, vf_check c);
/* Declares every enabled rule in the report. */
exai_status vf_rules_declare(const vf_rules *rs, vf_report *r, exai_error *e) EXAI_WUR;
exai_status vf_strv_push(vf_strv *sv, const char *s) EXAI_WUR;
void vf_strv_free(vf_strv *sv);

/* scan_allow.c */
typedef struct vf_suppression {
	char *rule;	/* glob on the rule id */
	char *path;	/* glob on the location path (optional) */
	char *evidence; /* substring of the evidence (optional) */
	char *justification;
	char *expires; /* YYYY-MM-DD or NULL */
	bool expired;
	unsigned long line, col;
	uint64_t used; /* atomically counted */
} vf_suppression;

typedef struct vf_scan_allow {
	char *path;
	vf_suppression *s;
	size_t n;
} vf_scan_allow;

/* Loads an allow file; its hosts/cidrs/registries are appended to @set. @today is
 * "YYYY-MM-DD" (UTC). */
exai_status vf_scan_allow_load(vf_scan_allow *a, const char *path, vf_settings *set,
			       const char *today, exai_error *e) EXAI_WUR;
void vf_scan_allow_free(vf_scan_allow *a);
/* The live suppression matching @f (path relative to its scan root in @rel), or NULL. */
vf_suppression *vf_scan_allow_match(vf_scan_allow *a, const vf_finding *f, const char *rel);

/* scan_net.c */
exai_status vf_net_cidr_parse(const char *s, vf_cidr *out) EXAI_WUR;
bool vf_net_cidrs_contain(const vf_cidrs *cs, const uint8_t addr[16]);
/* Parses an IPv4 or IPv6 literal (exactly @len bytes) into the 128-bit form. */
bool vf_net_ip_parse(const char *s, size_t len, uint8_t out[16]);
/* Host name or IP literal (no port, no brackets) is local: loopback, private, link-local,
 * local suffixes, allowed hosts, or a single label. Ignored hosts count as local too. */
bool vf_net_host_is_local(const vf_settings *set, const char *host, size_t len);
/* Case-insensitive: @host equals @suffix or ends with "." @suffix. */
bool vf_net_host_has_suffix(const char *host, size_t len, const char *suffix);

/* scan_elf.c: the imported (undefined, dynamic) symbols of an ELF image that are in
 * @wanted, as a malloc'ed ", "-joined list in *out (NULL if none). Bounded and strict:
 * a malformed image is EXAI_EFORMAT with the offending offset. *dynsym_off gets the offset
 * of the symbol table used. */
exai_status vf_elf_net_imports(const uint8_t *p, size_t n, const vf_strv *wanted, char **out,
			       uint64_t *dynsym_off, exai_error *e) EXAI_WUR;
bool vf_is_elf(const uint8_t *p, size_t n);

/* The state of one scan, shared by the workers. */
typedef struct vf_scan {
	vf_rules *rules;
	vf_scan_allow *allow;
	vf_report *report;
	pthread_mutex_t lock;
	struct vf_seen *seen; /* (rule, package root): an `unless` marker (scope scan) was set */
	size_t nseen, capseen;
	unsigned next_root; /* package root ids handed out so far */
	struct vf_held *held;
	size_t nheld, capheld;
	struct vf_k8s_state *k8s;
	unsigned threads;
	bool helm_render;     /* run `helm template` when helm is on PATH (default true) */
	const char *helm_bin; /* resolved helm path or NULL */
	uint64_t files, bytes, yaml_errors, skipped;
	exai_status fatal; /* first internal error (OOM); the scan stops */
	exai_error fatal_err;
} vf_scan;

/* A buffer to scan: a file on disk, an archive entry, or rendered Helm output. */
typedef struct vf_buf {
	const char *path; /* display path ("img.tar!layer!usr/bin/x") */
	const char *rel;  /* path relative to its scan root, for allow globs */
	const char *base; /* file name */
	const uint8_t *p;
	size_t n;
	unsigned depth; /* archive nesting */
	/* The package the buffer belongs to: the nearest directory holding one of
	 * vf_package_root_markers (package.json, pyproject.toml, Chart.yaml, DEBIAN/control,
	 * ...), else the path given on the command line; everything inside a top-level archive is
	 * the archive's. An id from vf_scan_new_root(); 0 = one shared root (callers that do not
	 * know). */
	unsigned root;
} vf_buf;

exai_status vf_scan_init(vf_scan *s, vf_rules *rules, vf_scan_allow *allow, vf_report *report,
			 exai_error *e) EXAI_WUR;
void vf_scan_fini(vf_scan *s);
/* Scans each path (file, directory, archive) with the worker pool. Paths that cannot be read
 * at all are errors (EXAI_ENOENT, ...); problems inside them are scan.incomplete findings. */
exai_status vf_scan_paths(vf_scan *s, char *const *paths, size_t n, exai_error *e) EXAI_WUR;
/* Scans one buffer (any content type; archives recurse). Thread-safe. */
void vf_scan_buffer(vf_scan *s, const vf_buf *b);
/* Ends the scan: scan-wide rules (held findings, namespaces without default deny, expired
 * suppressions) are resolved and added to the report. */
exai_status vf_scan_finish(vf_scan *s, exai_error *e) EXAI_WUR;

/* Adds a finding (suppression applied, strings copied). Thread-safe. */
void vf_scan_emit(vf_scan *s, const vf_rule *rule, const vf_buf *b, uint64_t line, uint64_t col,
		  uint64_t off, const char *evidence, const char *message);
/* The same at severity @sev instead of the rule's (a finding in a comment or a document). */
void vf_scan_emit_sev(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b,
		      uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		      const char *message);
/* Holds a finding of a rule with scan-scoped `unless` markers until vf_scan_finish(), which
 * reports it unless a marker of the rule was set in the same package root (b->root). */
void vf_scan_hold(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b, uint64_t line,
		  uint64_t col, uint64_t off, const char *evidence, const char *message);
/* Records that rule @rule's `unless` marker is set in package root @root. Thread-safe. */
void vf_scan_marker_set(vf_scan *s, size_t rule, unsigned root);
/* A new package root id (never 0). Thread-safe. */
unsigned vf_scan_new_root(vf_scan *s);
/* A note in the report header. Thread-safe. */
void vf_scan_note(vf_scan *s, const char *note);
/* A scan.incomplete finding (something could not be read fully). */
void vf_scan_incomplete(vf_scan *s, const vf_buf *b, uint64_t off, const char *what);
/* Records an internal failure (OOM); the scan reports it as an error. */
void vf_scan_fail(vf_scan *s, const exai_error *e);

/* scan_text.c: text / binary-string rules over one buffer. */
void vf_scan_text(vf_scan *s, const vf_buf *b, bool binary);
/* scan_k8s.c */
void vf_scan_k8s(vf_scan *s, const vf_buf *b);
exai_status vf_k8s_state_new(struct vf_k8s_state **out, exai_error *e) EXAI_WUR;
void vf_k8s_state_free(struct vf_k8s_state *k);
void vf_k8s_finish(vf_scan *s);
bool vf_k8s_is_workload(const char *kind, size_t len);
/* Records that namespace @ns runs workloads (first location kept) or, with @denied, has a
 * default-deny egress policy. */
void vf_k8s_ns_mark(vf_scan *s, const vf_buf *b, const char *ns, uint64_t line, uint64_t col,
		    bool denied);
/* scan_k8s_fast.c: handles one plain block-style document textually (image checks and
 * namespace bookkeeping) and returns true, or returns false (having done nothing) when the
 * document needs a real YAML parse. @first_line: its first line in the buffer. The caller
 * sends documents holding any of vf_k8s_hard_words to libyaml without asking. */
extern const char *const vf_k8s_hard_words[];
bool vf_k8s_fast_doc(vf_scan *s, const vf_buf *b, const uint8_t *p, size_t n, uint64_t first_line,
		     uint64_t *emitted);
/* Image reference checks on one reference; returns the number of findings. */
unsigned vf_k8s_check_image(vf_scan *s, const vf_buf *b, const char *ref, uint64_t line,
			    uint64_t col);
/* scan_archive.c: walks the archive held at b->p, b->n (scan_walker.h) and scans its
 * entries. */
void vf_scan_archive_mem(vf_scan *s, const vf_buf *b);
/* scan_helm.c */
bool vf_is_chart_dir(const char *dir);
/* The full path of an executable @name on $PATH (malloc'ed), or NULL. */
char *vf_find_on_path(const char *name);
void vf_scan_helm_chart(vf_scan *s, const char *dir, const char *display, unsigned root);

/* scan_group.c: vf_report_group()'s callbacks. The context holds the scan PATHs (@roots,
 * borrowed) and a cache of directory answers; keys stay valid until it is freed. */
typedef struct vf_group_ctx vf_group_ctx;
vf_group_ctx *vf_group_ctx_new(char *const *roots, size_t nroots);
void vf_group_ctx_free(vf_group_ctx *g);
bool vf_group_ctx_oom(const vf_group_ctx *g);
const char *vf_group_key(const char *path, void *ctx);
bool vf_group_is_dup(const char *path, void *ctx);

/* scan_baseline.c: inline `airgap-verifier:allow RULE reason` comments on a finding's line
 * or the line before (true, with the reason in @reason, when one with a reason allows
 * @rule_id), and the baseline file. */
bool vf_inline_allow(const vf_buf *b, uint64_t line, uint64_t off, const char *rule_id,
		     char *reason, size_t cap);
typedef struct vf_baseline vf_baseline;
/* Strict, bounded reader; a bad file is EXAI_EFORMAT / EXAI_ETOOBIG naming file and line. */
exai_status vf_baseline_load(const char *file, vf_baseline **out, exai_error *e) EXAI_WUR;
/* The same from @len bytes at @buf (@file names it in errors). */
exai_status vf_baseline_parse(const char *file, const uint8_t *buf, size_t len, vf_baseline **out,
			      exai_error *e) EXAI_WUR;
void vf_baseline_free(vf_baseline *b);
/* Writes every unsuppressed finding of @r (rule, path, evidence hash), replacing @path
 * atomically. */
exai_status vf_baseline_write(const vf_report *r, const char *path, exai_error *e) EXAI_WUR;
/* Suppresses each unsuppressed finding that matches an unused entry ("baseline FILE");
 * *matched gets how many, *stale how many entries matched nothing. */
exai_status vf_baseline_apply(vf_baseline *b, vf_report *r, size_t *matched, size_t *stale,
			      exai_error *e) EXAI_WUR;

/* Glob on a file name (fnmatch, no special '/' handling); "#!" matches a shebang. */
bool vf_files_match(const vf_strv *globs, const char *base, const uint8_t *p, size_t n);

/* Files whose directory is a package root (scan_group.c): grouping of identical evidence and
 * the scope of off switches (one item's switch never silences another's) use the same list. */
extern const char *const vf_package_root_markers[];

#endif
