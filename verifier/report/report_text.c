/*
 * report_text: the human format (--format text, the default). A summary line, the notes, then
 * one block per finding: "PATH:LINE:COL: SEVERITY [RULE] MESSAGE" and indented evidence,
 * grouping, fix and suppression lines. Report strings are sanitised, so nothing scanned can
 * reach the terminal as an escape sequence.
 */
#include <stdio.h>

#include "report_int.h"

static void text_loc(const char *path, uint64_t line, uint64_t column, uint64_t offset, FILE *out)
{
	fputs(path ? path : "-", out);
	if (line) {
		fprintf(out, ":%llu", (unsigned long long)line);
		if (column)
			fprintf(out, ":%llu", (unsigned long long)column);
	} else if (path && offset) {
		/* A byte offset only where it locates something (a binary, an archive entry); a
		 * finding at an address (run mode) or about a whole file or bundle has none. */
		fprintf(out, " (offset %llu)", (unsigned long long)offset);
	}
}

static void text_put(const char *s, FILE *out)
{
	fputs(s, out);
}

static void text_location(const vf_finding *f, FILE *out)
{
	text_loc(f->path, f->line, f->column, f->offset, out);
}

/* "    seen 12 times; also at: a:1:2, b:3 (and 9 more)" for a grouped finding. */
static void text_group(const vf_finding *f, FILE *out)
{
	uint64_t n = vf_report_finding_count(f);

	if (n < 2)
		return;
	fprintf(out, "    seen %llu times; also at: ", (unsigned long long)n);
	for (size_t i = 0; i < f->nlocs; i++) {
		if (i)
			fputs(", ", out);
		text_loc(f->locs[i].path, f->locs[i].line, f->locs[i].column, f->locs[i].offset,
			 out);
	}
	if (n > 1 + f->nlocs)
		fprintf(out, "%s(and %llu more)", f->nlocs ? " " : "",
			(unsigned long long)(n - 1 - f->nlocs));
	fputc('\n', out);
}

void vf_write_text(const vf_report *r, FILE *out)
{
	size_t by[VF_SEV_CRITICAL + 1] = {0}, total = 0;

	for (size_t i = 0; i < r->nf; i++)
		if (!r->f[i].suppressed) {
			by[r->f[i].severity]++;
			total++;
		}
	fprintf(out,
		"airgap-verifier %s: %zu finding%s (%zu critical, %zu high, %zu medium, %zu low, "
		"%zu info), %zu suppressed\n",
		r->mode, total, total == 1 ? "" : "s", by[VF_SEV_CRITICAL], by[VF_SEV_HIGH],
		by[VF_SEV_MEDIUM], by[VF_SEV_LOW], by[VF_SEV_INFO], vf_report_count_suppressed(r));
	for (size_t i = 0; i < r->nnotes; i++)
		fprintf(out, "note: %s\n", r->notes[i]);
	for (size_t i = 0; i < r->nf; i++) {
		const vf_finding *f = &r->f[i];
		fputc('\n', out);
		text_location(f, out);
		fprintf(out, ": %s [%s] %s\n", vf_severity_name(f->severity), f->rule_id,
			f->message);
		if (f->evidence)
			fprintf(out, "    evidence: %s\n", f->evidence);
		if (f->attributed) {
			fputs("    processes: ", out);
			vf_report_procs_write(f, out, text_put);
			fputc('\n', out);
		}
		text_group(f, out);
		if (f->hint)
			fprintf(out, "    fix: %s\n", f->hint);
		if (f->suppressed)
			fprintf(out, "    suppressed: %s\n",
				f->suppress_reason ? f->suppress_reason : "(no reason)");
	}
}
