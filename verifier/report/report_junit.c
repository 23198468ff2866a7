/*
 * report_junit: JUnit XML (--format junit), the format CI dashboards count tests in.
 *
 * One <testcase> per finding (rule x location; a grouped finding is one testcase), so Jenkins
 * and GitLab count failures the way the JSON report counts findings. A finding at or above
 * --fail-on is a <failure>, a suppressed one is <skipped>, one below --fail-on passes with its
 * text in <system-out>. Every declared rule without a finding is one passing testcase, so a
 * dashboard shows what was checked. The suite carries the run's start (timestamp, UTC) and its
 * duration (time). Written straight to the stream; report strings are sanitised (no control
 * characters), so the XML escaper below only has the five reserved characters to handle.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report_int.h"

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
	if (f->attributed) {
		fputs("&#10;  processes: ", out);
		vf_report_procs_write(f, out, xml_put);
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
