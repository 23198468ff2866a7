/*
 * fuzz_report: libFuzzer harness for the JSON report writer (verifier/report/report_json.c),
 * whose findings are written by hand rather than dumped by jansson.
 *
 * Input: NUL-separated fields. The first byte's bits pick a finding's shape (suppressed,
 * attributed, path-less, a grouped second location); the fields are its path, evidence,
 * message, hint, suppression reason, a process name, a note and a rule description, any
 * bytes at all (report.c sanitises them).
 *
 * Checked: no crash, leak or undefined behaviour; the JSON document parses, and jansson's dump
 * of it parsed back is the same bytes (the direct writer escapes and separates as jansson).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFIELDS 8

static void check(const vf_report *r)
{
	char *doc = NULL, *again;
	size_t n = 0;
	FILE *f = open_memstream(&doc, &n);
	exai_error e;
	json_t *j;

	if (!f)
		return;
	if (vf_report_write(r, VF_FMT_JSON, f, &e) != EXAI_OK) {
		fclose(f);
		free(doc);
		return; /* out of memory: nothing to compare */
	}
	fclose(f);
	if (!(j = json_loadb(doc, n, JSON_REJECT_DUPLICATES, NULL)))
		abort();
	if (!(again = json_dumps(j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)))
		abort();
	if (n != strlen(again) + 1 || memcmp(doc, again, n - 1) != 0 || doc[n - 1] != '\n')
		abort();
	free(again);
	json_decref(j);
	free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *field[NFIELDS] = {0};
	unsigned shape = size ? data[0] : 0;
	vf_report *r;
	exai_error e;
	size_t k = 0;

	if (size < 1 || size > 65536 || !(buf = malloc(size + 1)))
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (char *p = buf; k < NFIELDS && p <= buf + size - 1; p += strlen(p) + 1)
		field[k++] = p;
	for (; k < NFIELDS; k++)
		field[k] = "";
	if (!(r = vf_report_new("scan"))) {
		free(buf);
		return 0;
	}
	{
		vf_proc procs[2] = {{.pid = 3, .host_pid = 4711, .comm = field[5]},
				    {.pid = 0, .host_pid = 4712, .comm = field[0]}};
		vf_finding f = {.rule_id = "net.url.public",
				.severity = (vf_severity)(shape >> 5 & 3),
				.path = (shape & 4) ? NULL : field[0],
				.line = shape,
				.column = size,
				.offset = (uint64_t)size << 20,
				.evidence = field[1],
				.message = field[2],
				.hint = field[3],
				.suppressed = shape & 1,
				.suppress_reason = field[4],
				.attributed = shape & 2,
				.procs = procs,
				.nprocs = (shape & 2) ? 2 : 0,
				.procs_more = shape & 16};
		if (vf_report_add(r, &f, &e) || vf_report_note(r, field[6], &e) ||
		    vf_report_rule(r, "net.url.public", VF_SEV_HIGH, field[7], &e))
			goto out;
		if (shape & 8) { /* the same evidence elsewhere: grouped as a second location */
			f.path = field[7];
			if (vf_report_add(r, &f, &e) || vf_report_group(r, 8, NULL, NULL, NULL, &e))
				goto out;
		}
	}
	check(r);
out:
	vf_report_free(r);
	free(buf);
	return 0;
}
