/*
 * report_sarif: SARIF 2.1.0 (--format sarif), the format code-scanning dashboards read.
 *
 * File locations are relative references against a uriBaseId: SCANROOT (the working
 * directory the verifier ran in) for paths under it, FSROOT ("file:///") for the rest, both
 * defined in run.originalUriBaseIds. A path is normalised lexically ("." and ".." resolved)
 * before it is made relative, so no URI holds a ".." segment or a scheme. Logical findings
 * (run mode's addresses and DNS names) are logicalLocations, never artifact URIs.
 *
 * Built with report_json.c's building blocks: the frame (version, $schema, the run's tool,
 * bases, invocations) as small trees, the results streamed one tree each. A failed allocation
 * (a URI buffer included) fails the document, it never loses a location.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/hash.h"
#include "report_int.h"

#define SARIF_SCHEMA                                                                             \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0." \
	"json"

static const char *sarif_level(vf_severity s)
{
	return s >= VF_SEV_HIGH ? "error" : s == VF_SEV_MEDIUM ? "warning" : "note";
}

/* GitHub code scanning reads this to rank security results. */
static const char *sarif_security_severity(vf_severity s)
{
	static const char *const v[] = {"0.0", "3.0", "5.5", "8.0", "9.5"};
	return v[s];
}

/* ---- URIs ---- */

/* Percent-encodes the bytes [s, s+n) for a URI path into @dst (room for 3n bytes); returns the
 * length written. Unreserved characters, sub-delims (our archive separator '!' among them),
 * '@' and '/' stay; ':' is encoded so a first segment never reads as a scheme, and a "." or
 * ".." segment (an archive entry's name) has its dots encoded so no consumer resolves it. */
static size_t uri_encode(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 0 || s[i - 1] == '/') {
			size_t len = strcspn(s + i, "/");
			len = len < n - i ? len : n - i;
			if ((len == 1 && c == '.') || (len == 2 && c == '.' && s[i + 1] == '.')) {
				for (size_t k = 0; k < len; k++)
					memcpy(dst + o + 3 * k, "%2E", 3);
				o += 3 * len;
				i += len - 1;
				continue;
			}
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=@/", c)) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	return o;
}

/* A JSON string of @prefix, then [s, s+n) and [t, t+m) percent-encoded, then @suffix. NULL on
 * allocation failure. */
static json_t *uri_json(const char *prefix, const char *s, size_t n, const char *t, size_t m,
			const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), o;
	char *buf;
	json_t *j;

	if (n > (SIZE_MAX - pl - sl) / 3 || m > (SIZE_MAX - pl - sl) / 3 - n)
		return NULL;
	if (!(buf = malloc(pl + 3 * (n + m) + sl)))
		return NULL;
	memcpy(buf, prefix, pl);
	o = pl + uri_encode(buf + pl, s, n);
	o += uri_encode(buf + o, t, m);
	memcpy(buf + o, suffix, sl);
	j = json_stringn_nocheck(buf, o + sl);
	free(buf);
	return j;
}

/* Lexically normalises the absolute path @abs in place: "//", "/./" and "/x/../" collapse
 * (".." at the root stays at the root). */
static void path_normalise(char *abs)
{
	char *out = abs, *p = abs;

	while (*p) {
		char *seg;
		size_t len;
		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > abs && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == abs)
		*out++ = '/';
	*out = '\0';
}

/* The SCANROOT directory into *@root: the working directory, normalised, or NULL if it is
 * unknown (removed, not absolute). False only when memory ran out. */
static bool scan_root(char **root)
{
	char *cwd = getcwd(NULL, 0);

	*root = NULL;
	if (!cwd)
		return errno != ENOMEM;
	if (cwd[0] != '/') {
		free(cwd);
		return true;
	}
	path_normalise(cwd);
	*root = cwd;
	return true;
}

/* The artifactLocation of file path @path: "uri" relative to SCANROOT when the path is under
 * @root, else to FSROOT. The part after the first '!' (inside an archive) is kept as it is
 * (encoded). With no root known, a relative path is given as it is (encoded). */
static json_t *sarif_artifact(const char *path, const char *root)
{
	size_t fs_len = strcspn(path, "!"), rl = root ? strlen(root) : 0;
	const char *rel = path, *base = "SCANROOT", *tail = "";
	char *abs = NULL;
	json_t *j;

	if (path[0] == '/' || root) {
		size_t cap = rl + fs_len + 3;
		if (!(abs = malloc(cap)))
			return NULL;
		if (path[0] == '/')
			snprintf(abs, cap, "%.*s", (int)fs_len, path);
		else
			snprintf(abs, cap, "%s/%.*s", root, (int)fs_len, path);
		path_normalise(abs);
		base = "FSROOT";
		rel = abs + 1;
		if (root && strcmp(root, "/") == 0) {
			base = "SCANROOT";
		} else if (root && strncmp(abs, root, rl) == 0 && abs[rl] == '/') {
			base = "SCANROOT";
			rel = abs + rl + 1;
		}
		tail = path + fs_len;
	}
	j = json_object();
	j = vf_jbuilt(j,
		      vf_jset(j, "uri", uri_json("", rel, strlen(rel), tail, strlen(tail), "")) &&
			  vf_jset(j, "uriBaseId", vf_jtext(base)));
	free(abs);
	return j;
}

/* ---- results ---- */

static json_t *sarif_region(uint64_t line, uint64_t col, uint64_t off)
{
	json_t *j = json_object();

	if (line && col)
		return vf_jbuilt(j, vf_jset(j, "startLine", vf_ju64(line)) &&
					vf_jset(j, "startColumn", vf_ju64(col)));
	if (line)
		return vf_jbuilt(j, vf_jset(j, "startLine", vf_ju64(line)));
	return vf_jbuilt(j, vf_jset(j, "byteOffset", vf_ju64(off)));
}

static json_t *sarif_physical(const vf_loc *l, const char *root)
{
	json_t *phys = json_object(), *j;

	phys = vf_jbuilt(phys,
			 vf_jset(phys, "artifactLocation", sarif_artifact(l->path, root)) &&
			     vf_jset(phys, "region", sarif_region(l->line, l->column, l->offset)));
	j = json_object();
	return vf_jbuilt(j, vf_jset(j, "physicalLocation", phys));
}

/* "locations": a logical location for an endpoint, else the finding's own file location and
 * its grouped ones. Nothing (*out NULL, true) for a finding without a place. */
static bool sarif_locations(const vf_finding *f, const char *root, json_t **out)
{
	json_t *a;
	bool ok;

	*out = NULL;
	if (!f->path || (f->logical && strcmp(f->path, "-") == 0))
		return true;
	if (f->logical) {
		*out = json_pack("[{s:[{s:s, s:s}]}]", "logicalLocations", "name", f->path, "kind",
				 "resource");
		return *out != NULL;
	}
	a = json_array();
	ok = vf_jpush(a, sarif_physical(&(vf_loc){f->path, f->line, f->column, f->offset}, root));
	for (size_t k = 0; ok && k < f->nlocs; k++)
		ok = vf_jpush(a, sarif_physical(&f->locs[k], root));
	*out = vf_jbuilt(a, ok);
	return ok;
}

/* partialFingerprints: SHA-256 of rule, path and evidence (no line: an edit above a finding
 * keeps its fingerprint, as a baseline entry keeps its match). Omitted (*out NULL, true) if
 * hashing fails. */
static bool sarif_fingerprint(const vf_finding *f, json_t **out)
{
	const char *parts[3] = {f->rule_id, f->path ? f->path : "", f->evidence ? f->evidence : ""};
	uint8_t d[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];
	exai_sha256 h;
	exai_error e;

	*out = NULL;
	if (exai_sha256_init(&h, &e))
		return true;
	for (int i = 0; i < 3; i++)
		exai_sha256_update(&h, parts[i], strlen(parts[i]) + 1); /* NUL-separated */
	exai_sha256_final(&h, d);
	exai_hex_encode(d, sizeof(d), hex);
	*out = json_pack("{s:s}", "airgapVerifier/v1", hex);
	return *out != NULL;
}

/* message + " Fix: " + hint, in one string */
static json_t *sarif_message(const vf_finding *f)
{
	json_t *text =
	    f->hint ? json_sprintf("%s Fix: %s", f->message, f->hint) : vf_jtext(f->message);
	json_t *j = json_object();

	return vf_jbuilt(j, vf_jset(j, "text", text));
}

static json_t *sarif_properties(const vf_finding *f)
{
	json_t *j = json_object();
	bool ok = vf_jset(j, "severity", vf_jtext(vf_severity_name(f->severity)));

	ok = ok && (!f->evidence || vf_jset(j, "evidence", vf_jtext(f->evidence)));
	ok = ok && (!f->hint || vf_jset(j, "hint", vf_jtext(f->hint)));
	ok = ok && (!(f->logical && f->path) || vf_jset(j, "endpoint", vf_jtext(f->path)));
	ok = ok && (!f->attributed || vf_jset(j, "processes", vf_json_procs(f)));
	ok = ok && (!f->procs_more || vf_jset(j, "processes_not_listed", vf_ju64(f->procs_more)));
	return vf_jbuilt(j, ok);
}

static json_t *sarif_result(const vf_finding *f, size_t rule_idx, const char *root)
{
	json_t *j = json_object(), *locs = NULL, *fp = NULL;
	bool ok = vf_jset(j, "ruleId", vf_jtext(f->rule_id)) &&
		  vf_jset(j, "ruleIndex", vf_ju64(rule_idx)) &&
		  vf_jset(j, "level", vf_jtext(sarif_level(f->severity))) &&
		  vf_jset(j, "message", sarif_message(f)) && sarif_locations(f, root, &locs) &&
		  (!locs || vf_jset(j, "locations", locs));

	ok = ok && (f->count <= 1 || vf_jset(j, "occurrenceCount", vf_ju64(f->count)));
	ok = ok && sarif_fingerprint(f, &fp) && (!fp || vf_jset(j, "partialFingerprints", fp));
	ok = ok && vf_jset(j, "properties", sarif_properties(f));
	if (ok && f->suppressed)
		ok = vf_jset(j, "suppressions",
			     json_pack("[{s:s, s:s, s:s}]", "kind", "external", "status",
				       "accepted", "justification",
				       f->suppress_reason ? f->suppress_reason : ""));
	return vf_jbuilt(j, ok);
}

/* ---- the run ---- */

static json_t *sarif_rule(const rule_view *v)
{
	return json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s, s:[s]}}", "id", v->id,
			 "shortDescription", "text", v->desc, "defaultConfiguration", "level",
			 sarif_level(v->sev), "properties", "severity", vf_severity_name(v->sev),
			 "security-severity", sarif_security_severity(v->sev), "tags", "security");
}

static json_t *sarif_rules(const rule_view *t, size_t nrules)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < nrules; i++)
		ok = vf_jpush(a, sarif_rule(&t[i]));
	return vf_jbuilt(a, ok);
}

static json_t *sarif_tool(const vf_report *r, const rule_view *t, size_t nrules)
{
	json_t *driver = json_object(), *tool;

	driver = vf_jbuilt(
	    driver, vf_jset(driver, "name", vf_jtext("airgap-verifier")) &&
			vf_jset(driver, "version", vf_jtext(VF_VERSION)) &&
			vf_jset(driver, "fullName", json_sprintf("airgap-verifier %s", r->mode)) &&
			vf_jset(driver, "rules", sarif_rules(t, nrules)));
	tool = json_object();
	return vf_jbuilt(tool, vf_jset(tool, "driver", driver));
}

/* SCANROOT: the working directory as a file URI (with the trailing '/' a base needs), left out
 * when it is unknown. */
static json_t *sarif_scanroot(const char *root)
{
	json_t *j = json_object();
	bool ok = j != NULL;

	if (root)
		ok = vf_jset(
		    j, "uri",
		    uri_json("file://", root, strlen(root), "", 0, strcmp(root, "/") ? "/" : ""));
	return vf_jbuilt(
	    j, ok && vf_jset(j, "description",
			     json_pack("{s:s}", "text", "the directory airgap-verifier ran in")));
}

static json_t *sarif_bases(const char *root)
{
	json_t *j = json_object();

	return vf_jbuilt(
	    j, vf_jset(j, "SCANROOT", sarif_scanroot(root)) &&
		   vf_jset(j, "FSROOT",
			   json_pack("{s:s, s:{s:s}}", "uri", "file:///", "description", "text",
				     "the file system root, for paths outside SCANROOT")));
}

static json_t *sarif_notes(const vf_report *r)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < r->nnotes; i++)
		ok = vf_jpush(a, json_pack("{s:s, s:{s:s}}", "level", "note", "message", "text",
					   r->notes[i]));
	return vf_jbuilt(a, ok);
}

static json_t *sarif_invocations(const vf_report *r)
{
	json_t *inv = json_object(), *a;

	inv = vf_jbuilt(inv, vf_jset(inv, "executionSuccessful", json_true()) &&
				 vf_jset(inv, "toolExecutionNotifications", sarif_notes(r)));
	a = json_array();
	return vf_jbuilt(a, vf_jpush(a, inv));
}

/* What the streamed parts of the document read. */
typedef struct sarif_ctx {
	const vf_report *r;
	const rule_view *t;
	size_t nrules;
	const char *root;
} sarif_ctx;

/* vf_jwrite_fn: result @i, built, dumped and released */
static bool sarif_put_result(const void *ctx, size_t i, vf_jout *o)
{
	const sarif_ctx *c = ctx;
	const vf_finding *f = &c->r->f[i];

	return vf_jput(sarif_result(f, vf_report_rule_index(c->t, c->nrules, f->rule_id), c->root),
		       o);
}

/* vf_jwrite_fn: the results array, streamed */
static bool sarif_put_results(const void *ctx, size_t i, vf_jout *o)
{
	(void)i;
	return vf_jstream_array(o, ((const sarif_ctx *)ctx)->r->nf, sarif_put_result, ctx);
}

/* vf_jwrite_fn: the run: every member but "results" (the last one, streamed after them) */
static bool sarif_put_run(const void *ctx, size_t i, vf_jout *o)
{
	const sarif_ctx *c = ctx;
	json_t *run = json_object();

	(void)i;
	run =
	    vf_jbuilt(run, vf_jset(run, "tool", sarif_tool(c->r, c->t, c->nrules)) &&
			       vf_jset(run, "originalUriBaseIds", sarif_bases(c->root)) &&
			       vf_jset(run, "invocations", sarif_invocations(c->r)) &&
			       vf_jset(run, "properties", json_pack("{s:s}", "mode", c->r->mode)));
	return vf_jstream_object(o, run, "results", sarif_put_results, ctx);
}

/* vf_jwrite_fn: "runs", an array of the one run */
static bool sarif_put_runs(const void *ctx, size_t i, vf_jout *o)
{
	(void)i;
	return vf_jstream_array(o, 1, sarif_put_run, ctx);
}

static bool sarif_put_doc(const sarif_ctx *c, vf_jout *o)
{
	json_t *doc = json_object();

	doc = vf_jbuilt(doc, vf_jset(doc, "version", vf_jtext("2.1.0")) &&
				 vf_jset(doc, "$schema", vf_jtext(SARIF_SCHEMA)));
	return vf_jstream_object(o, doc, "runs", sarif_put_runs, c);
}

exai_status vf_write_sarif(const vf_report *r, const rule_view *t, size_t nrules, FILE *o,
			   exai_error *e)
{
	vf_jout out = {.f = o};
	char *root = NULL;
	exai_status rc;

	if ((rc = vf_json_numbers_fit(r, e)))
		return rc;
	if (!scan_root(&root))
		return exai_error_set(e, EXAI_ENOMEM, "report: sarif: out of memory");
	rc = vf_json_end(sarif_put_doc(&(sarif_ctx){r, t, nrules, root}, &out), &out, "sarif", e);
	free(root);
	return rc;
}
