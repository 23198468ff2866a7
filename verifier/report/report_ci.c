/*
 * report_ci: the two formats CI dashboards read, JUnit XML and SARIF 2.1.0.
 *
 * JUnit: one <testcase> per finding (rule x location; a grouped finding is one testcase), so
 * Jenkins and GitLab count failures the way the JSON report counts findings. A finding at or
 * above --fail-on is a <failure>, a suppressed one is <skipped>, one below --fail-on passes
 * with its text in <system-out>. Every declared rule without a finding is one passing
 * testcase, so a dashboard shows what was checked. The suite carries the run's start
 * (timestamp, UTC) and its duration (time).
 *
 * SARIF: file locations are relative references against a uriBaseId: SCANROOT (the working
 * directory the verifier ran in) for paths under it, FSROOT ("file:///") for the rest, both
 * defined in run.originalUriBaseIds. A path is normalised lexically ("." and ".." resolved)
 * before it is made relative, so no URI holds a ".." segment or a scheme. Logical findings
 * (run mode's addresses and DNS names) are logicalLocations, never artifact URIs.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exai/hash.h"
#include "report_int.h"

#ifndef VF_VERSION
#define VF_VERSION "0.0.0"
#endif

#define SARIF_SCHEMA                                                                             \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0." \
	"json"

/* ---- sarif 2.1.0 (streamed) ---- */

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

/* Writes the bytes [s, s+n) percent-encoded for a URI path: unreserved characters, sub-delims
 * (our archive separator '!' among them), '@' and '/' stay; ':' is encoded so a first segment
 * never reads as a scheme, and a "." or ".." segment (an archive entry's name) has its dots
 * encoded so no consumer resolves it. */
static void uri_put(FILE *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 0 || s[i - 1] == '/') {
			size_t len = strcspn(s + i, "/");
			len = len < n - i ? len : n - i;
			if ((len == 1 && c == '.') || (len == 2 && c == '.' && s[i + 1] == '.')) {
				for (size_t k = 0; k < len; k++)
					fputs("%2E", o);
				i += len - 1;
				continue;
			}
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=@/", c))
			fputc(c, o);
		else
			fprintf(o, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
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

/* The SCANROOT directory: the working directory, normalised (NULL if unknown). */
static char *scan_root(void)
{
	char *cwd = getcwd(NULL, 0);

	if (cwd && cwd[0] == '/')
		path_normalise(cwd);
	else {
		free(cwd);
		cwd = NULL;
	}
	return cwd;
}

/* Writes the artifactLocation of file path @path: "uri" relative to SCANROOT when the path
 * is under @root, else to FSROOT. The part after the first '!' (inside an archive) is kept
 * as it is (encoded). */
static void sarif_artifact(FILE *o, const char *path, const char *root)
{
	size_t fs_len = strcspn(path, "!"), rl = root ? strlen(root) : 0, cap = rl + fs_len + 3;
	char *abs = malloc(cap);
	const char *rel = path, *base = "SCANROOT";

	if (abs && (path[0] == '/' || root)) {
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
	} else {
		fs_len = 0; /* no root known (or out of memory): the path as given, encoded */
	}
	fputs("{\"uri\": \"", o);
	uri_put(o, rel, strlen(rel));
	if (fs_len)
		uri_put(o, path + fs_len, strlen(path + fs_len));
	fprintf(o, "\", \"uriBaseId\": \"%s\"}", base);
	free(abs);
}

static void sarif_region(FILE *o, uint64_t line, uint64_t col, uint64_t off)
{
	if (line && col)
		fprintf(o, ", \"region\": {\"startLine\": %llu, \"startColumn\": %llu}",
			(unsigned long long)line, (unsigned long long)col);
	else if (line)
		fprintf(o, ", \"region\": {\"startLine\": %llu}", (unsigned long long)line);
	else
		fprintf(o, ", \"region\": {\"byteOffset\": %llu}", (unsigned long long)off);
}

static void sarif_locations(FILE *o, const vf_finding *f, const char *root)
{
	if (!f->path || (f->logical && strcmp(f->path, "-") == 0))
		return;
	if (f->logical) {
		fputs(", \"locations\": [{\"logicalLocations\": [{", o);
		vf_jkey(o, "name", f->path, false);
		fputs(", \"kind\": \"resource\"}]}]", o);
		return;
	}
	fputs(", \"locations\": [", o);
	for (size_t k = 0; k <= f->nlocs; k++) {
		vf_loc l = k ? f->locs[k - 1] : (vf_loc){f->path, f->line, f->column, f->offset};
		fputs(k ? ", {\"physicalLocation\": {\"artifactLocation\": "
			: "{\"physicalLocation\": {\"artifactLocation\": ",
		      o);
		sarif_artifact(o, l.path, root);
		sarif_region(o, l.line, l.column, l.offset);
		fputs("}}", o);
	}
	fputc(']', o);
}

/* partialFingerprints: SHA-256 of rule, path and evidence (no line: an edit above a finding
 * keeps its fingerprint, as a baseline entry keeps its match). Omitted if hashing fails. */
static void sarif_fingerprint(FILE *o, const vf_finding *f)
{
	const char *parts[3] = {f->rule_id, f->path ? f->path : "", f->evidence ? f->evidence : ""};
	uint8_t d[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];
	exai_sha256 h;
	exai_error e;

	if (exai_sha256_init(&h, &e))
		return;
	for (int i = 0; i < 3; i++)
		exai_sha256_update(&h, parts[i], strlen(parts[i]) + 1); /* NUL-separated */
	exai_sha256_final(&h, d);
	exai_hex_encode(d, sizeof(d), hex);
	fprintf(o, ", \"partialFingerprints\": {\"airgapVerifier/v1\": \"%s\"}", hex);
}

static void sarif_result(FILE *o, const vf_finding *f, size_t rule_idx, const char *root)
{
	fputs("{", o);
	vf_jkey(o, "ruleId", f->rule_id, false);
	fprintf(o, ", \"ruleIndex\": %zu, \"level\": \"%s\", \"message\": {\"text\": ", rule_idx,
		sarif_level(f->severity));
	/* message + " Fix: " + hint, escaped in one string */
	fputc('"', o);
	for (int part = 0; part < 2; part++) {
		const char *s = part ? f->hint : f->message;
		if (!s)
			continue;
		if (part)
			fputs(" Fix: ", o);
		vf_jesc(o, s);
	}
	fputs("\"}", o);
	sarif_locations(o, f, root);
	if (f->count > 1)
		fprintf(o, ", \"occurrenceCount\": %llu", (unsigned long long)f->count);
	sarif_fingerprint(o, f);
	fputs(", \"properties\": {", o);
	vf_jkey(o, "severity", vf_severity_name(f->severity), false);
	if (f->evidence)
		vf_jkey(o, "evidence", f->evidence, true);
	if (f->hint)
		vf_jkey(o, "hint", f->hint, true);
	if (f->logical && f->path)
		vf_jkey(o, "endpoint", f->path, true);
	fputc('}', o);
	if (f->suppressed) {
		fputs(", \"suppressions\": [{\"kind\": \"external\", \"status\": \"accepted\", ",
		      o);
		vf_jkey(o, "justification", f->suppress_reason ? f->suppress_reason : "", false);
		fputs("}]", o);
	}
	fputc('}', o);
}

static void sarif_bases(FILE *o, const char *root)
{
	fputs("      \"originalUriBaseIds\": {\"SCANROOT\": {", o);
	if (root) {
		fputs("\"uri\": \"file://", o);
		uri_put(o, root, strlen(root));
		fputs(strcmp(root, "/") ? "/\", " : "\", ", o);
	}
	fputs("\"description\": {\"text\": \"the directory airgap-verifier ran in\"}}, "
	      "\"FSROOT\": {\"uri\": \"file:///\", \"description\": {\"text\": \"the file system "
	      "root, for paths outside SCANROOT\"}}},\n",
	      o);
}

void vf_write_sarif(const vf_report *r, const rule_view *t, size_t nrules, FILE *o)
{
	char *root = scan_root();

	fputs("{\n  \"version\": \"2.1.0\",\n  \"$schema\": \"" SARIF_SCHEMA "\",\n"
	      "  \"runs\": [\n    {\n      \"tool\": {\"driver\": {\"name\": \"airgap-verifier\", "
	      "\"version\": ",
	      o);
	vf_jstr(o, VF_VERSION);
	fputs(", \"fullName\": \"airgap-verifier ", o);
	vf_jesc(o, r->mode);
	fputs("\", \"rules\": [", o);
	for (size_t i = 0; i < nrules; i++) {
		fputs(i ? ",\n        {" : "\n        {", o);
		vf_jkey(o, "id", t[i].id, false);
		fputs(", \"shortDescription\": {", o);
		vf_jkey(o, "text", t[i].desc, false);
		fprintf(o,
			"}, \"defaultConfiguration\": {\"level\": \"%s\"}, \"properties\": "
			"{\"severity\": \"%s\", \"security-severity\": \"%s\", \"tags\": "
			"[\"security\"]}}",
			sarif_level(t[i].sev), vf_severity_name(t[i].sev),
			sarif_security_severity(t[i].sev));
	}
	fputs(nrules ? "\n      ]}},\n" : "]}},\n", o);
	sarif_bases(o, root);
	fputs("      \"invocations\": [{\"executionSuccessful\": true, "
	      "\"toolExecutionNotifications\": [",
	      o);
	for (size_t i = 0; i < r->nnotes; i++) {
		fputs(i ? ", {\"level\": \"note\", \"message\": {"
			: "{\"level\": \"note\", "
			  "\"message\": {",
		      o);
		vf_jkey(o, "text", r->notes[i], false);
		fputs("}}", o);
	}
	fputs("]}],\n      \"properties\": {", o);
	vf_jkey(o, "mode", r->mode, false);
	fputs("},\n      \"results\": [", o);
	for (size_t i = 0; i < r->nf; i++) {
		fputs(i ? ",\n        " : "\n        ", o);
		sarif_result(o, &r->f[i], vf_report_rule_index(t, nrules, r->f[i].rule_id), root);
	}
	fputs(r->nf ? "\n      ]\n    }\n  ]\n}\n" : "]\n    }\n  ]\n}\n", o);
	free(root);
}

/* ---- junit ---- */

/* XML-escapes @s (already free of control characters) for text and attribute values. */
static void xml_put(const char *s, FILE *out)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static void xml_loc(const char *path, uint64_t line, uint64_t col, uint64_t off, bool logical,
		    FILE *out)
{
	xml_put(path ? path : "-", out);
	if (line && col)
		fprintf(out, ":%llu:%llu", (unsigned long long)line, (unsigned long long)col);
	else if (line)
		fprintf(out, ":%llu", (unsigned long long)line);
	else if (path && !logical && off)
		fprintf(out, " (offset %llu)", (unsigned long long)off);
}

static void junit_finding_text(const vf_finding *f, FILE *out)
{
	uint64_t n = vf_report_finding_count(f);

	xml_loc(f->path, f->line, f->column, f->offset, f->logical, out);
	fprintf(out, ": %s: ", vf_severity_name(f->severity));
	xml_put(f->message, out);
	if (f->evidence) {
		fputs("&#10;  evidence: ", out);
		xml_put(f->evidence, out);
	}
	if (n > 1) {
		fprintf(out, "&#10;  seen %llu times; also at:", (unsigned long long)n);
		for (size_t i = 0; i < f->nlocs; i++) {
			fputs(i ? ", " : " ", out);
			xml_loc(f->locs[i].path, f->locs[i].line, f->locs[i].column,
				f->locs[i].offset, false, out);
		}
		if (n > 1 + f->nlocs)
			fprintf(out, " (and %llu more)", (unsigned long long)(n - 1 - f->nlocs));
	}
	if (f->hint) {
		fputs("&#10;  fix: ", out);
		xml_put(f->hint, out);
	}
	if (f->suppressed) {
		fputs("&#10;  suppressed: ", out);
		xml_put(f->suppress_reason, out);
	}
	fputs("&#10;", out);
}

static void junit_case_open(const vf_report *r, FILE *out)
{
	fputs("    <testcase classname=\"airgap-verifier.", out);
	xml_put(r->mode, out);
	fputs("\" name=\"", out);
}

static bool same_place(const vf_finding *a, const vf_finding *b)
{
	return !strcmp(a->rule_id, b->rule_id) && a->line == b->line && a->column == b->column &&
	       a->offset == b->offset &&
	       (a->path == b->path || (a->path && b->path && !strcmp(a->path, b->path)));
}

/* @i: the finding's index, so that two findings of one rule at one place (a sorted report
 * keeps them next to each other) get distinct names: the evidence is added. */
static void junit_finding(const vf_report *r, size_t i, FILE *out)
{
	const vf_finding *f = &r->f[i];

	junit_case_open(r, out);
	xml_put(f->rule_id, out);
	fputs(" at ", out);
	xml_loc(f->path, f->line, f->column, f->offset, f->logical, out);
	if ((i > 0 && same_place(f, &r->f[i - 1])) ||
	    (i + 1 < r->nf && same_place(f, &r->f[i + 1]))) {
		fputs(": ", out);
		xml_put(f->evidence ? f->evidence : f->message, out);
	}
	fputc('"', out);
	if (f->path && !f->logical) {
		fputs(" file=\"", out);
		xml_put(f->path, out);
		fputc('"', out);
		if (f->line)
			fprintf(out, " line=\"%llu\"", (unsigned long long)f->line);
	}
	fputs(" time=\"0\">\n", out);
	if (f->suppressed) {
		fputs("      <skipped message=\"suppressed: ", out);
		xml_put(f->suppress_reason, out);
		fputs("\"/>\n      <system-out>", out);
		junit_finding_text(f, out);
		fputs("</system-out>\n", out);
	} else if (vf_report_fails(r, f)) {
		fprintf(out, "      <failure type=\"%s\" message=\"",
			vf_severity_name(f->severity));
		xml_put(f->message, out);
		fputs("\">", out);
		junit_finding_text(f, out);
		fputs("</failure>\n", out);
	} else {
		fputs("      <system-out>", out);
		junit_finding_text(f, out);
		fputs("</system-out>\n", out);
	}
	fputs("    </testcase>\n", out);
}

void vf_write_junit(const vf_report *r, const rule_view *t, size_t nrules, FILE *out)
{
	size_t tests = r->nf, failed = 0, skipped = 0;
	struct timespec now;
	double secs;
	char stamp[32];
	struct tm tm;

	for (size_t i = 0; i < nrules; i++)
		tests += t[i].fails + t[i].others == 0;
	for (size_t i = 0; i < r->nf; i++) {
		skipped += r->f[i].suppressed;
		failed += vf_report_fails(r, &r->f[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - r->mono0.tv_sec) + (now.tv_nsec - r->mono0.tv_nsec) / 1e9;
	if (secs < 0)
		secs = 0;
	/* JUnit's schema: ISO 8601 without a zone; the value is UTC. */
	if (!gmtime_r(&r->started, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(stamp, sizeof(stamp), "1970-01-01T00:00:00");
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out,
		"<testsuites name=\"airgap-verifier\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"0\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
		tests, failed, skipped, secs, stamp);
	fputs("  <testsuite name=\"airgap-verifier ", out);
	xml_put(r->mode, out);
	fprintf(out,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\" "
		"timestamp=\"%s\">\n",
		tests, failed, skipped, secs, stamp);
	if (r->nnotes) {
		fputs("    <properties>\n", out);
		for (size_t i = 0; i < r->nnotes; i++) {
			fputs("      <property name=\"note\" value=\"", out);
			xml_put(r->notes[i], out);
			fputs("\"/>\n", out);
		}
		fputs("    </properties>\n", out);
	}
	for (size_t i = 0; i < r->nf; i++)
		junit_finding(r, i, out);
	/* Rules that found nothing pass: the dashboard shows what was checked. */
	for (size_t i = 0; i < nrules; i++) {
		if (t[i].fails + t[i].others)
			continue;
		junit_case_open(r, out);
		xml_put(t[i].id, out);
		fputs("\" time=\"0\"/>\n", out);
	}
	fputs("  </testsuite>\n</testsuites>\n", out);
}
